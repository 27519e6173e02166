//! The world as the machine commits to it (spec §2.4): the Ethereum state trie with its
//! storage tries, the EIP-2929 warm sets and EIP-1153 transient storage, all secure
//! Merkle-Patricia tries. The key and value encodings here are shared by the executor (which
//! verifies against roots alone) and the prover's [`World`] (which holds every node).

use super::TrieWitness;
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The value a warm set stores for a member.
pub const WARM: &[u8] = &[0x01];

/// Key of `address` in the state trie and the warm-address set: `H(address)`.
pub fn address_key(address: Address) -> B256 {
    keccak256(address)
}

/// Key of `slot` in a storage trie: `H(slot)`.
pub fn slot_key(slot: U256) -> B256 {
    keccak256(B256::from(slot))
}

/// Key of `(address, slot)` in the warm-slot set and transient storage: `H(address ‖ slot)`.
pub fn pair_key(address: Address, slot: U256) -> B256 {
    let mut buf = [0u8; 52];
    buf[..20].copy_from_slice(address.as_slice());
    buf[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    keccak256(buf)
}

/// A storage or transient value as the trie stores it: `rlp(value)`, `None` for zero
/// (zero values are absent).
pub fn word_value(value: U256) -> Option<Vec<u8>> {
    (!value.is_zero()).then(|| alloy_rlp::encode(value))
}

/// Decodes a stored word (`None` is zero).
///
/// # Errors
///
/// [`Error::MalformedTrieNode`] when the value is not the RLP of a word.
pub fn decode_word(value: Option<Bytes>) -> Result<U256> {
    match value {
        None => Ok(U256::ZERO),
        Some(bytes) => U256::decode(&mut &bytes[..])
            .map_err(|_| Error::MalformedTrieNode("a stored value is not the RLP of a word")),
    }
}

/// Decodes an account (`None` when absent).
///
/// # Errors
///
/// [`Error::MalformedTrieNode`] when the value is not an account's RLP.
pub fn decode_account(value: Option<Bytes>) -> Result<Option<TrieAccount>> {
    value
        .map(|bytes| {
            TrieAccount::decode(&mut &bytes[..])
                .map_err(|_| Error::MalformedTrieNode("a state-trie value is not an account"))
        })
        .transpose()
}

/// Whether an account is empty in the sense of EIP-161: no code, zero nonce and balance.
pub fn is_empty(account: &TrieAccount) -> bool {
    account.nonce == 0 && account.balance.is_zero() && account.code_hash == KECCAK_EMPTY
}

/// Whether `address` is warm by rule and never in the warm-address set: the precompiles
/// `0x01…0x0a` (EIP-2929) and the block's coinbase (EIP-3651).
pub fn warm_by_rule(address: Address, coinbase: Address) -> bool {
    let index = U256::from_be_slice(address.as_slice());
    address == coinbase || (U256::from(1) <= index && index <= U256::from(10))
}

/// The roots of the machine's world tries at one point of execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorldRoots {
    /// The Ethereum state root.
    pub state_root: B256,
    /// EIP-2929 warm addresses.
    pub warm_addresses: B256,
    /// EIP-2929 warm storage slots.
    pub warm_slots: B256,
    /// EIP-1153 transient storage.
    pub transient: B256,
    /// EIP-6780: the accounts created in the transaction (a set keyed like `warm_addresses`).
    pub created: B256,
}

impl WorldRoots {
    /// Every trie empty.
    pub const EMPTY: Self = Self {
        state_root: EMPTY_ROOT_HASH,
        warm_addresses: EMPTY_ROOT_HASH,
        warm_slots: EMPTY_ROOT_HASH,
        transient: EMPTY_ROOT_HASH,
        created: EMPTY_ROOT_HASH,
    };
}

/// Reads and writes of the world tries through a node source: the executor's side, over a
/// witness, and the prover's, over its full store. Every operation is a function of the roots
/// it is given and the nodes, nothing else.
#[derive(Debug)]
pub struct Tries<'a> {
    /// Where nodes come from.
    pub nodes: &'a TrieWitness,
}

impl Tries<'_> {
    /// The account at `address` in the state trie with `root`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingProofNode`] / [`Error::MalformedTrieNode`] from the trie.
    pub fn account(&self, root: B256, address: Address) -> Result<Option<TrieAccount>> {
        decode_account(self.nodes.get(root, address_key(address))?)
    }

    /// The storage value of `slot` of `address` in the world with state root `root` (zero
    /// when the account or the slot is absent).
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn storage(&self, root: B256, address: Address, slot: U256) -> Result<U256> {
        let Some(account) = self.account(root, address)? else { return Ok(U256::ZERO) };
        decode_word(self.nodes.get(account.storage_root, slot_key(slot))?)
    }

    /// The state root after setting `slot` of `address` (which must exist) to `value`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`]; [`Error::BadWitness`] when the account does not exist.
    pub fn set_storage(
        &self,
        root: B256,
        address: Address,
        slot: U256,
        value: U256,
    ) -> Result<B256> {
        let mut account = self
            .account(root, address)?
            .ok_or(Error::BadWitness("a storage write to an account that does not exist"))?;
        account.storage_root =
            self.nodes.set(account.storage_root, slot_key(slot), word_value(value).as_deref())?;
        self.nodes.set(root, address_key(address), Some(&alloy_rlp::encode(account)))
    }

    /// Whether `key` is in the set with `root`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn contains(&self, root: B256, key: B256) -> Result<bool> {
        Ok(self.nodes.get(root, key)?.is_some())
    }

    /// The root of the set with `root` after inserting `key`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn insert(&self, root: B256, key: B256) -> Result<B256> {
        self.nodes.set(root, key, Some(WARM))
    }

    /// The transient value at `(address, slot)`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn transient(&self, root: B256, address: Address, slot: U256) -> Result<U256> {
        decode_word(self.nodes.get(root, pair_key(address, slot))?)
    }

    /// The transient root after setting `(address, slot)` to `value`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn set_transient(
        &self,
        root: B256,
        address: Address,
        slot: U256,
        value: U256,
    ) -> Result<B256> {
        self.nodes.set(root, pair_key(address, slot), word_value(value).as_deref())
    }
}

/// The prover's world: every node of every world trie it passed through, and the current
/// roots. Old roots stay provable, so restoring a checkpoint is restoring four hashes.
#[derive(Clone, Debug)]
pub struct World {
    store: TrieWitness,
    /// The current roots.
    pub roots: WorldRoots,
}

impl Default for World {
    fn default() -> Self {
        Self { store: TrieWitness::default(), roots: WorldRoots::EMPTY }
    }
}

impl World {
    /// The world holding `accounts` (address, account fields, storage), with empty warm sets
    /// and transient storage.
    ///
    /// # Errors
    ///
    /// None for well-formed input; trie errors cannot occur on a store built here.
    pub fn new<S>(
        accounts: impl IntoIterator<Item = (Address, crate::AccountLeaf<S>)>,
    ) -> Result<Self>
    where
        S: IntoIterator<Item = (U256, U256)>,
    {
        let mut world = Self::default();
        for (address, leaf) in accounts {
            let mut storage_root = EMPTY_ROOT_HASH;
            for (slot, value) in leaf.storage {
                if let Some(value) = word_value(value) {
                    storage_root = world.store.apply(storage_root, slot_key(slot), Some(&value))?;
                }
            }
            let account = TrieAccount {
                nonce: leaf.nonce,
                balance: leaf.balance,
                storage_root,
                code_hash: leaf.code_hash,
            };
            world.put_account(address, Some(account))?;
        }
        Ok(world)
    }

    /// The same world whose further writes go to a layer of their own (the store is shared,
    /// not copied): a tentative run over the world (see [`TrieWitness::overlay`]).
    pub fn overlay(&self) -> Self {
        Self { store: self.store.overlay(), roots: self.roots }
    }

    /// Keeps the nodes `other` (an overlay of this world, or of one this world's nodes
    /// include) wrote: every root it reached stays readable here (see
    /// [`TrieWitness::absorb`]). The current roots are unchanged.
    pub fn absorb(&mut self, other: Self) {
        self.store.absorb(other.store);
    }

    /// Reads through the store.
    pub fn tries(&self) -> Tries<'_> {
        Tries { nodes: &self.store }
    }

    /// The store, to cut minimal witnesses from.
    pub fn store(&self) -> &TrieWitness {
        &self.store
    }

    /// The account at `address` now.
    ///
    /// # Errors
    ///
    /// Trie errors, which a store built by [`World`] does not produce.
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        self.tries().account(self.roots.state_root, address)
    }

    /// Writes (or with `None` deletes) the account at `address`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn put_account(&mut self, address: Address, account: Option<TrieAccount>) -> Result<()> {
        let value = account.map(alloy_rlp::encode);
        self.roots.state_root =
            self.store.apply(self.roots.state_root, address_key(address), value.as_deref())?;
        Ok(())
    }

    /// Sets `slot` of `address` to `value`; the account must exist.
    ///
    /// # Errors
    ///
    /// [`Error::BadWitness`] when the account does not exist; trie errors as above.
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) -> Result<()> {
        let mut account = self
            .account(address)?
            .ok_or(Error::BadWitness("a storage write to an account that does not exist"))?;
        account.storage_root =
            self.store.apply(account.storage_root, slot_key(slot), word_value(value).as_deref())?;
        self.put_account(address, Some(account))
    }

    /// Adds `address` to the warm-address set.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn warm_address(&mut self, address: Address) -> Result<()> {
        self.roots.warm_addresses =
            self.store.apply(self.roots.warm_addresses, address_key(address), Some(WARM))?;
        Ok(())
    }

    /// Adds `address` to the set of accounts created in the transaction (EIP-6780).
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn mark_created(&mut self, address: Address) -> Result<()> {
        self.roots.created =
            self.store.apply(self.roots.created, address_key(address), Some(WARM))?;
        Ok(())
    }

    /// Adds `(address, slot)` to the warm-slot set.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn warm_slot(&mut self, address: Address, slot: U256) -> Result<()> {
        self.roots.warm_slots =
            self.store.apply(self.roots.warm_slots, pair_key(address, slot), Some(WARM))?;
        Ok(())
    }

    /// Sets transient `(address, slot)` to `value`.
    ///
    /// # Errors
    ///
    /// As [`Self::account`].
    pub fn set_transient(&mut self, address: Address, slot: U256, value: U256) -> Result<()> {
        self.roots.transient = self.store.apply(
            self.roots.transient,
            pair_key(address, slot),
            word_value(value).as_deref(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountLeaf;
    use alloy_primitives::address;

    fn leaf(balance: u64, storage: Vec<(u64, u64)>) -> AccountLeaf<Vec<(U256, U256)>> {
        AccountLeaf {
            nonce: 1,
            balance: U256::from(balance),
            code_hash: KECCAK_EMPTY,
            storage: storage.into_iter().map(|(k, v)| (U256::from(k), U256::from(v))).collect(),
        }
    }

    /// The world's state root is the Ethereum state root of the same accounts, before and
    /// after storage writes, and the executor's view (over a minimal witness) agrees.
    #[test]
    fn state_root_matches_the_reference_and_the_executor_view() {
        let a = address!("0x1000000000000000000000000000000000000001");
        let b = address!("0x2000000000000000000000000000000000000002");
        let accounts = || vec![(a, leaf(5, vec![(1, 7), (2, 0)])), (b, leaf(9, vec![]))];
        let mut world = World::new(accounts()).expect("world");
        assert_eq!(world.roots.state_root, crate::state_root(accounts()));

        let before = world.roots.state_root;
        let witness = world.store().minimal_for_get(before, address_key(a)).expect("account proof");
        let account = Tries { nodes: &witness }.account(before, a).expect("read");
        assert_eq!(account.map(|a| a.balance), Some(U256::from(5)));

        world.set_storage(a, U256::from(3), U256::from(11)).expect("write");
        world.set_storage(a, U256::from(1), U256::ZERO).expect("delete");
        let expected = crate::state_root(vec![(a, leaf(5, vec![(3, 11)])), (b, leaf(9, vec![]))]);
        assert_eq!(world.roots.state_root, expected);
        // The executor computes the same root from the pre-root and the store's nodes.
        let tries = world.tries();
        let mid = tries.set_storage(before, a, U256::from(3), U256::from(11)).expect("set");
        assert_eq!(tries.set_storage(mid, a, U256::from(1), U256::ZERO).expect("set"), expected);
        assert_eq!(tries.storage(before, a, U256::from(1)).expect("read"), U256::from(7));
        assert_eq!(tries.storage(expected, a, U256::from(1)).expect("read"), U256::ZERO);
    }

    #[test]
    fn warm_sets_and_transient_storage() {
        let a = address!("0x1000000000000000000000000000000000000001");
        let mut world = World::default();
        world.warm_address(a).expect("warm");
        world.warm_slot(a, U256::from(1)).expect("warm");
        world.set_transient(a, U256::from(1), U256::from(9)).expect("tstore");
        let tries = world.tries();
        assert!(tries.contains(world.roots.warm_addresses, address_key(a)).expect("read"));
        assert!(!tries.contains(world.roots.warm_slots, pair_key(a, U256::from(2))).expect("read"));
        assert_eq!(
            tries.transient(world.roots.transient, a, U256::from(1)).expect("read"),
            U256::from(9)
        );
        world.set_transient(a, U256::from(1), U256::ZERO).expect("clear");
        assert_eq!(world.roots.transient, EMPTY_ROOT_HASH);
        assert!(warm_by_rule(
            address!("0x000000000000000000000000000000000000000a"),
            Address::ZERO
        ));
        assert!(!warm_by_rule(
            address!("0x000000000000000000000000000000000000000b"),
            Address::ZERO
        ));
        assert!(!warm_by_rule(Address::ZERO, a));
    }
}
