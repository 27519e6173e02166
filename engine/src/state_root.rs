//! Ethereum Merkle-Patricia commitments of a post-state: the state root, account storage
//! roots and the logs hash.
//!
//! Sources: Yellow Paper §4.1 (world state), Appendix D (modified Merkle-Patricia trie);
//! EIP-161 (empty accounts are not in the trie once deleted — callers pass only accounts
//! that exist). The trie is built by `alloy-trie`'s hash builder from sorted leaves.

use alloy_primitives::{Address, B256, Log, U256, keccak256};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount};

/// One account as the state trie sees it: nonce, balance, code hash and the account's storage.
///
/// The storage is any iterator of `(slot, value)`; zero values are not in the trie (an SSTORE
/// of zero deletes the slot) and are skipped.
#[derive(Clone, Copy, Debug)]
pub struct AccountLeaf<S> {
    /// The account's nonce.
    pub nonce: u64,
    /// The account's balance, in wei.
    pub balance: U256,
    /// `keccak256` of the account's code (`KECCAK_EMPTY` for no code).
    pub code_hash: B256,
    /// The account's storage as `(slot, value)` pairs, in any order.
    pub storage: S,
}

/// The root of an account's storage trie: keys `keccak256(slot)`, values `rlp(value)`;
/// zero values are skipped.
///
/// The empty storage has root `EMPTY_ROOT_HASH` (`keccak256(rlp(""))`).
pub fn storage_root(storage: impl IntoIterator<Item = (U256, U256)>) -> B256 {
    let mut leaves: Vec<(B256, U256)> = storage
        .into_iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(B256::from(slot)), value))
        .collect();
    leaves.sort_unstable_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), &alloy_rlp::encode_fixed_size(&value));
    }
    builder.root()
}

/// The state root of a world state: the trie of `keccak256(address) -> rlp([nonce, balance,
/// storage_root, code_hash])` over every account passed in.
///
/// Pass exactly the accounts that exist: accounts deleted by SELFDESTRUCT or by EIP-161
/// touched-empty clearing must not be passed.
pub fn state_root<S>(accounts: impl IntoIterator<Item = (Address, AccountLeaf<S>)>) -> B256
where
    S: IntoIterator<Item = (U256, U256)>,
{
    let mut leaves: Vec<(B256, TrieAccount)> = accounts
        .into_iter()
        .map(|(address, account)| {
            let leaf = TrieAccount {
                nonce: account.nonce,
                balance: account.balance,
                storage_root: storage_root(account.storage),
                code_hash: account.code_hash,
            };
            (keccak256(address), leaf)
        })
        .collect();
    leaves.sort_unstable_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default();
    let mut rlp = Vec::with_capacity(110);
    for (key, account) in leaves {
        rlp.clear();
        alloy_rlp::Encodable::encode(&account, &mut rlp);
        builder.add_leaf(Nibbles::unpack(key), &rlp);
    }
    builder.root()
}

/// The logs hash of the Ethereum state tests: `keccak256(rlp([log, ...]))`, each log
/// `rlp([address, [topic, ...], data])`.
pub fn logs_hash(logs: &[Log]) -> B256 {
    let mut out = Vec::with_capacity(alloy_rlp::list_length(logs));
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;
    use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};

    #[test]
    fn empty_storage_and_state_have_the_empty_root() {
        assert_eq!(storage_root([]), EMPTY_ROOT_HASH);
        assert_eq!(storage_root([(U256::from(1), U256::ZERO)]), EMPTY_ROOT_HASH);
        assert_eq!(
            state_root(Vec::<(Address, AccountLeaf<Vec<(U256, U256)>>)>::new()),
            EMPTY_ROOT_HASH
        );
    }

    #[test]
    fn empty_logs_hash_is_keccak_of_empty_list() {
        // keccak256(0xc0), the `logs` of every state test without logs.
        assert_eq!(
            logs_hash(&[]),
            b256!("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")
        );
    }

    #[test]
    fn state_root_matches_a_known_genesis() {
        // A single funded EOA: the pre-state of many canonical tests
        // (0xa94f...ebf0b with 10^18 wei) has this root.
        let account = AccountLeaf {
            nonce: 0,
            balance: U256::from(1_000_000_000_000_000_000u128),
            code_hash: KECCAK_EMPTY,
            storage: Vec::<(U256, U256)>::new(),
        };
        let address = alloy_primitives::address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b");
        let balance = account.balance;
        let root = state_root([(address, account)]);
        // Independently: one leaf, so the root is keccak(rlp(leaf node)).
        let mut value = Vec::new();
        alloy_rlp::Encodable::encode(
            &TrieAccount {
                nonce: 0,
                balance,
                storage_root: EMPTY_ROOT_HASH,
                code_hash: KECCAK_EMPTY,
            },
            &mut value,
        );
        let mut path = vec![0x20]; // leaf, even-length path
        path.extend_from_slice(keccak256(address).as_slice());
        let mut node = Vec::new();
        alloy_rlp::encode_list::<&[u8], [u8]>(&[&path[..], &value[..]], &mut node);
        assert_eq!(root, keccak256(&node));
    }
}
