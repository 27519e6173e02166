//! The transaction's begin (spec §8.1): the **begin step**, which carries the signed EIP-2718
//! envelope whole, decodes it, recovers the sender, validates the transaction against the
//! block and the sender's account and charges the gas up front (or ends the transaction as
//! `Invalid`, the state unchanged); the **access-list steps**, one per EIP-2930 address or
//! storage key; and the **entry step**, which starts the top frame (a call's, or a creation's
//! init frame) — or, for a call into an account without code or into a precompile, ends the
//! transaction at once as its end step would (§8.2).
//!
//! The decoding and validation ([`TxPlan`]) are shared by the executor and the prover: revm,
//! which validates and charges the same transaction independently, is the oracle both are
//! checked against.

use super::{
    BlockContext, Bytes32Tree, CodeTree, Frame, FrameKind, Pending, PendingKind, StackCommitment,
    Status, TrieWitness, TxContext, WARM, WordTree, address_key,
    context::append_address,
    execute::{Step, StepResult, Stop, bad},
    frames::{IDENTITY, MAX_INIT_CODE_SIZE, identity_cost, is_precompile, precompile},
    is_empty, pair_key, warm_by_rule,
};
use alloy_consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::{Decodable2718, Encodable2718, Typed2718};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The largest envelope a transaction may have, in bytes: 128 KiB, geth's `txMaxSize` (a
/// transaction over it is invalid; the begin step carries the envelope whole, spec §8.1, §9).
pub const MAX_ENVELOPE_SIZE: u32 = 131_072;
/// Every transaction's base cost (`G_transaction`).
pub(crate) const TX_BASE_GAS: u64 = 21_000;
/// A creation transaction's extra cost (`G_txcreate`).
pub(crate) const TX_CREATE_GAS: u64 = 32_000;
/// Per zero byte of data (`G_txdatazero`).
pub(crate) const TX_DATA_ZERO_GAS: u64 = 4;
/// Per non-zero byte of data (`G_txdatanonzero`, EIP-2028).
pub(crate) const TX_DATA_NONZERO_GAS: u64 = 16;
/// Per access-list address (EIP-2930).
pub(crate) const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// Per access-list storage key (EIP-2930).
pub(crate) const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;
/// Per init-code word of a creation transaction (EIP-3860).
pub(crate) const INIT_CODE_WORD_GAS: u64 = 2;
/// Blob gas per blob (EIP-4844 `GAS_PER_BLOB`).
pub(crate) const GAS_PER_BLOB: u64 = 131_072;
/// The most blobs a Cancun transaction carries (EIP-4844 `MAX_BLOB_GAS_PER_BLOCK /
/// GAS_PER_BLOB`).
pub(crate) const MAX_BLOBS_PER_TX: usize = 6;
/// The version byte of a KZG versioned hash (EIP-4844).
pub(crate) const VERSIONED_HASH_VERSION_KZG: u8 = 0x01;

/// One item of the EIP-2930 access list as the access-list steps warm it: an address, or an
/// `(address, storage key)` pair. 53 bytes encoded, `u8 (0 address, 1 storage key) ‖ address ‖
/// slot b32` (slot zero for an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccessItem {
    /// The account.
    pub address: Address,
    /// The storage key, for a storage-key item.
    pub slot: Option<U256>,
}

impl AccessItem {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 53;

    /// The encoding (spec §8.1).
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[0] = u8::from(self.slot.is_some());
        out[1..21].copy_from_slice(self.address.as_slice());
        out[21..].copy_from_slice(&self.slot.unwrap_or_default().to_be_bytes::<32>());
        out
    }

    /// The chain link `H(encode(self) ‖ rest)`: the list is committed from its last item back,
    /// `head_n = 0^32`, `head_i = H(encode(item_i) ‖ head_{i+1})`, so the steps pop it from the
    /// front in order.
    pub fn link(&self, rest: &B256) -> B256 {
        let mut buf = [0u8; Self::ENCODED_LEN + 32];
        buf[..Self::ENCODED_LEN].copy_from_slice(&self.encode());
        buf[Self::ENCODED_LEN..].copy_from_slice(rest.as_slice());
        keccak256(buf)
    }
}

/// The access list still to warm: `count ‖ head` (spec §8.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccessChain {
    /// Items left.
    pub count: u32,
    /// The head link of the items left (`0^32` when none).
    pub head: B256,
}

impl AccessChain {
    /// The chain over `items`, in order.
    pub fn of(items: &[AccessItem]) -> Self {
        let head = items.iter().rev().fold(B256::ZERO, |rest, item| item.link(&rest));
        Self { count: items.len() as u32, head }
    }
}

/// What the begin step leaves for the access-list and entry steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxEntry {
    /// The callee; `None` for a creation.
    pub to: Option<Address>,
    /// The value in wei.
    pub value: U256,
    /// The top frame's gas: the gas limit less the intrinsic gas.
    pub gas: u64,
    /// The data (calldata, or a creation's init code) as a word tree (spec §2.1).
    pub data: Bytes32Tree,
    /// The access-list items not warmed yet.
    pub access: AccessChain,
}

/// The transaction's begin in progress (`pending_kind = 16`, spec §8.1). 178 bytes encoded,
/// `phase u8 (0 before the begin step, 1 after) ‖ envelope_hash b32 ‖ envelope_len u32 ‖
/// block_gas_used u64 ‖ create u8 ‖ to address ‖ value u256 ‖ gas u64 ‖ data (u32 ‖ b32) ‖
/// access (u32 ‖ b32)`, the fields after `block_gas_used` zero in phase 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxBegin {
    /// `keccak256` of the signed EIP-2718 envelope (the transaction hash).
    pub envelope_hash: B256,
    /// The envelope's length in bytes.
    pub envelope_len: u32,
    /// Gas used by the block's earlier transactions.
    pub block_gas_used: u64,
    /// Set by the begin step.
    pub entry: Option<TxEntry>,
}

impl TxBegin {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 178;

    /// The pending state before the begin step of a transaction with `envelope`.
    pub fn new(envelope: &[u8], block_gas_used: u64) -> Self {
        Self {
            envelope_hash: keccak256(envelope),
            envelope_len: u32::try_from(envelope.len()).unwrap_or(u32::MAX),
            block_gas_used,
            entry: None,
        }
    }

    /// The encoding (spec §8.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(u8::from(self.entry.is_some()));
        out.extend_from_slice(self.envelope_hash.as_slice());
        out.extend_from_slice(&self.envelope_len.to_be_bytes());
        out.extend_from_slice(&self.block_gas_used.to_be_bytes());
        let entry = self.entry.unwrap_or(TxEntry {
            to: Some(Address::ZERO),
            value: U256::ZERO,
            gas: 0,
            data: Bytes32Tree { len: 0, root: B256::ZERO },
            access: AccessChain::default(),
        });
        out.push(u8::from(entry.to.is_none()));
        out.extend_from_slice(entry.to.unwrap_or_default().as_slice());
        out.extend_from_slice(&entry.value.to_be_bytes::<32>());
        out.extend_from_slice(&entry.gas.to_be_bytes());
        out.extend_from_slice(&entry.data.len.to_be_bytes());
        out.extend_from_slice(entry.data.root.as_slice());
        out.extend_from_slice(&entry.access.count.to_be_bytes());
        out.extend_from_slice(entry.access.head.as_slice());
        out
    }
}

/// A transaction decoded from its envelope and checked against the block (spec §8.1 begin
/// step, everything but the sender's account): what the begin step charges and leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxPlan {
    /// The sender, recovered from the signature.
    pub sender: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// The callee; `None` for a creation.
    pub to: Option<Address>,
    /// The value in wei.
    pub value: U256,
    /// The gas limit.
    pub gas_limit: u64,
    /// The intrinsic gas.
    pub intrinsic: u64,
    /// The effective gas price in wei (EIP-1559: `min(max_fee, base_fee + priority_fee)`).
    pub gas_price: U256,
    /// The most the sender may spend in wei: `gas_limit × max_fee + value + blob_gas ×
    /// max_fee_per_blob_gas`; its balance must cover it.
    pub max_spend: U256,
    /// What the begin step takes from the sender in wei: `gas_limit × gas_price + blob_gas ×
    /// blob_base_fee` (the blob fee is burnt, EIP-4844).
    pub charge: U256,
    /// The data: calldata, or a creation's init code.
    pub data: Bytes,
    /// The EIP-4844 versioned hashes.
    pub blob_hashes: Vec<B256>,
    /// The access list, flattened in order.
    pub access: Vec<AccessItem>,
}

/// Decodes a transaction as the begin step does (spec §8.1), before anything that depends on
/// the block or the state: at most [`MAX_ENVELOPE_SIZE`] bytes, exactly one EIP-2718 envelope of
/// a Cancun type (0–3) that is the canonical encoding of what it decodes to (which rules out the
/// EIP-4844 network form with its sidecar and any lenient decoding), and a signature that
/// recovers its sender (EIP-2: `s ≤ n/2`).
///
/// # Errors
///
/// Why the envelope is invalid, in words (a batch's replay reports it for the skipped
/// transaction).
pub fn decode_envelope(envelope: &[u8]) -> std::result::Result<(TxEnvelope, Address), String> {
    if envelope.len() > MAX_ENVELOPE_SIZE as usize {
        return Err(format!("envelope of {} bytes over {MAX_ENVELOPE_SIZE}", envelope.len()));
    }
    let tx = TxEnvelope::decode_2718_exact(envelope).map_err(|e| format!("undecodable: {e}"))?;
    if tx.ty() > 3 {
        return Err(format!("type {} is not a Cancun transaction", tx.ty())); // EIP-7702 and later
    }
    if tx.encoded_2718() != envelope {
        return Err("not the canonical encoding".to_owned());
    }
    let sender = tx.recover_signer().map_err(|e| format!("bad signature: {e}"))?;
    Ok((tx, sender))
}

impl TxPlan {
    /// Decodes `envelope` and checks what does not depend on the state (spec §8.1): the
    /// envelope's size, canonical EIP-2718 encoding of a Cancun type (0–3) with nothing after
    /// it, the signature (EIP-2: `s ≤ n/2`), the chain id (EIP-155; a legacy transaction may
    /// omit it), the fees against the base fee (EIP-1559), the gas limit against what the
    /// block has left, EIP-3860's init-code limit, the nonce below `2^64 − 1` (EIP-2681), the
    /// blobs (EIP-4844: one to six, version `0x01`, `max_fee_per_blob_gas ≥ blob_base_fee`)
    /// and the intrinsic gas. `None` when the transaction is invalid.
    pub fn decode(envelope: &[u8], block: &BlockContext, block_gas_used: u64) -> Option<Self> {
        let (tx, sender) = decode_envelope(envelope).ok()?;
        match tx.chain_id() {
            Some(id) if id != block.chain_id => return None,
            None if tx.ty() != 0 => return None,
            _ => {}
        }
        let base_fee = u128::try_from(block.base_fee).ok()?;
        let max_fee = tx.max_fee_per_gas();
        if max_fee < base_fee {
            return None;
        }
        if let Some(priority) = tx.max_priority_fee_per_gas()
            && priority > max_fee
        {
            return None;
        }
        let gas_limit = tx.gas_limit();
        if gas_limit > block.gas_limit.saturating_sub(block_gas_used) {
            return None;
        }
        let data = tx.input().clone();
        let to = tx.to();
        if to.is_none() && data.len() as u64 > MAX_INIT_CODE_SIZE {
            return None;
        }
        if tx.nonce() == u64::MAX {
            return None;
        }
        let blob_hashes = tx.blob_versioned_hashes().map(<[B256]>::to_vec).unwrap_or_default();
        let mut blob_fee = U256::ZERO;
        let mut max_blob_fee = U256::ZERO;
        if tx.ty() == 3 {
            let max_per_blob_gas = U256::from(tx.max_fee_per_blob_gas().unwrap_or_default());
            if blob_hashes.is_empty()
                || blob_hashes.len() > MAX_BLOBS_PER_TX
                || blob_hashes.iter().any(|h| h[0] != VERSIONED_HASH_VERSION_KZG)
                || max_per_blob_gas < block.blob_base_fee
            {
                return None;
            }
            let blob_gas = U256::from(GAS_PER_BLOB * blob_hashes.len() as u64);
            blob_fee = blob_gas * block.blob_base_fee;
            max_blob_fee = blob_gas * max_per_blob_gas;
        }
        let access: Vec<AccessItem> = tx
            .access_list()
            .map(|list| {
                list.iter()
                    .flat_map(|item| {
                        std::iter::once(AccessItem { address: item.address, slot: None }).chain(
                            item.storage_keys.iter().map(|key| AccessItem {
                                address: item.address,
                                slot: Some(U256::from_be_bytes(key.0)),
                            }),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let intrinsic = intrinsic_gas(&data, to.is_none(), &access);
        if intrinsic > gas_limit {
            return None;
        }
        // revm bounds `gas_limit × max_fee` by 2^128 (an overflow is invalid).
        let max_gas_fee = u128::from(gas_limit).checked_mul(max_fee)?;
        let gas_price = U256::from(match tx.max_priority_fee_per_gas() {
            Some(priority) => max_fee.min(base_fee.saturating_add(priority)),
            None => max_fee,
        });
        let value = tx.value();
        Some(Self {
            sender,
            nonce: tx.nonce(),
            to,
            value,
            gas_limit,
            intrinsic,
            gas_price,
            max_spend: U256::from(max_gas_fee).checked_add(value)?.checked_add(max_blob_fee)?,
            charge: U256::from(gas_limit) * gas_price + blob_fee,
            data,
            blob_hashes,
            access,
        })
    }

    /// Whether the sender's account admits the transaction (spec §8.1): no code (EIP-3607),
    /// the transaction's nonce, and a balance covering [`Self::max_spend`]. An absent account
    /// reads as empty.
    pub fn admits(&self, sender: Option<&TrieAccount>) -> bool {
        let (nonce, balance, code_hash) =
            sender.map_or((0, U256::ZERO, KECCAK_EMPTY), |a| (a.nonce, a.balance, a.code_hash));
        code_hash == KECCAK_EMPTY && nonce == self.nonce && balance >= self.max_spend
    }

    /// The sender's account after the charge: the balance less [`Self::charge`], the nonce
    /// bumped for a call (a creation's is bumped by its entry, §6.4). `None` when nothing
    /// changes (a free creation), so an absent sender is not written.
    pub fn charged(&self, sender: Option<TrieAccount>) -> Option<TrieAccount> {
        if self.charge.is_zero() && self.to.is_none() {
            return None;
        }
        let account = or_empty(sender);
        Some(TrieAccount {
            balance: account.balance - self.charge,
            nonce: account.nonce + u64::from(self.to.is_some()),
            ..account
        })
    }

    /// The transaction context (spec §4.4), with `start_state_root` the state root before the
    /// charge.
    ///
    /// # Errors
    ///
    /// None for a plan [`Self::decode`] returned (at most six blobs).
    pub fn context(&self, start_state_root: B256) -> crate::Result<TxContext> {
        Ok(TxContext {
            origin: self.sender,
            gas_price: self.gas_price,
            gas_limit: self.gas_limit,
            blob_count: self.blob_hashes.len() as u8,
            blob_hashes: TxContext::blob_tree(self.blob_hashes.clone())?.root(),
            start_state_root,
        })
    }

    /// What the begin step leaves pending for the access-list and entry steps.
    ///
    /// # Errors
    ///
    /// None for a plan [`Self::decode`] returned (its data fits a word tree).
    pub fn entry(&self) -> crate::Result<TxEntry> {
        let tree = WordTree::from_bytes(&self.data)?;
        Ok(TxEntry {
            to: self.to,
            value: self.value,
            gas: self.gas_limit - self.intrinsic,
            data: Bytes32Tree { len: self.data.len() as u32, root: tree.root() },
            access: AccessChain::of(&self.access),
        })
    }
}

/// The intrinsic gas of a Cancun transaction: 21,000, plus 32,000 and 2 per init-code word
/// for a creation (EIP-3860), 4 per zero and 16 per other byte of data (EIP-2028), 2,400 per
/// access-list address and 1,900 per storage key (EIP-2930).
pub(crate) fn intrinsic_gas(data: &[u8], create: bool, access: &[AccessItem]) -> u64 {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let others = data.len() as u64 - zeros;
    let mut gas = TX_BASE_GAS + TX_DATA_ZERO_GAS * zeros + TX_DATA_NONZERO_GAS * others;
    if create {
        gas += TX_CREATE_GAS + INIT_CODE_WORD_GAS * (data.len() as u64).div_ceil(32);
    }
    for item in access {
        gas +=
            if item.slot.is_some() { ACCESS_LIST_STORAGE_KEY_GAS } else { ACCESS_LIST_ADDRESS_GAS };
    }
    gas
}

fn or_empty(account: Option<TrieAccount>) -> TrieAccount {
    account.unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

/// Inserts `key` into the set trie at `root` through `nodes` (so a later read of the same step
/// sees it).
fn insert(nodes: &mut TrieWitness, root: B256, key: B256) -> crate::Result<B256> {
    nodes.apply(root, key, Some(WARM))
}

impl<'a> Step<'a> {
    /// A step while the transaction's begin is pending (spec §8.1): the begin step, an
    /// access-list step, or the entry step.
    pub(super) fn tx_begin_step(&mut self, begin: &TxBegin) -> StepResult<()> {
        if !self.outside_frame {
            return Err(bad("a transaction begin inside a frame"));
        }
        match begin.entry {
            None => self.begin_transaction(begin),
            Some(entry) if entry.access.count > 0 => self.access_step(begin, entry),
            Some(entry) => self.enter_transaction(entry),
        }
    }

    fn set_begin(&mut self, begin: TxBegin) {
        let pending = Pending::TxBegin(begin);
        self.header.pending_kind = PendingKind::TxBegin;
        self.header.pending_hash = pending.hash();
    }

    /// The begin step: the witness carries the envelope whole (checked against its hash and
    /// length); an invalid transaction (decoding, signature, block checks: [`TxPlan::decode`];
    /// the sender's account: [`TxPlan::admits`]) makes the state final with status `Invalid`
    /// and nothing else changed. A valid one is charged ([`TxPlan::charged`]), its sender and
    /// callee are warmed (EIP-2929), the transaction context is set, and its access list is
    /// left to warm.
    fn begin_transaction(&mut self, begin: &TxBegin) -> StepResult<()> {
        let block = self.block()?;
        let plan = if begin.envelope_len > MAX_ENVELOPE_SIZE {
            None // too large to carry: invalid without the envelope
        } else {
            let envelope = self.witness.data.as_ref().ok_or(bad("the envelope is missing"))?;
            if envelope.len() != begin.envelope_len as usize
                || keccak256(envelope) != begin.envelope_hash
            {
                return Err(bad("the envelope does not match the transaction's hash"));
            }
            TxPlan::decode(envelope, &block, begin.block_gas_used)
        };
        let root = self.header.state_root;
        let sender = match &plan {
            Some(plan) => self.tries().account(root, plan.sender)?,
            None => None,
        };
        let Some(plan) = plan.filter(|plan| plan.admits(sender.as_ref())) else {
            self.header.status = Status::Invalid;
            self.header.pending_kind = PendingKind::None;
            self.header.pending_hash = B256::ZERO;
            return Ok(());
        };
        let mut nodes = self.witness.tries.overlay();
        if let Some(account) = plan.charged(sender) {
            self.header.state_root =
                nodes.apply(root, address_key(plan.sender), Some(&alloy_rlp::encode(account)))?;
        }
        let mut warm = self.header.warm_addresses;
        for address in std::iter::once(plan.sender).chain(plan.to) {
            if !warm_by_rule(address, block.coinbase) {
                warm = insert(&mut nodes, warm, address_key(address))?;
            }
        }
        self.header.warm_addresses = warm;
        self.header.tx_hash = plan.context(root).map_err(Stop::Fail)?.hash();
        let entry = plan.entry().map_err(Stop::Fail)?;
        self.set_begin(TxBegin { entry: Some(entry), ..*begin });
        Ok(())
    }

    /// An access-list step (EIP-2930): pops the next item (the witness carries it and the
    /// chain's rest) and warms it; addresses warm by rule are not inserted (spec §2.4).
    fn access_step(&mut self, begin: &TxBegin, mut entry: TxEntry) -> StepResult<()> {
        let (item, rest) = self.witness.access.ok_or(bad("the access-list item is missing"))?;
        if item.link(&rest) != entry.access.head {
            return Err(bad("the access-list item does not match the chain"));
        }
        entry.access = AccessChain { count: entry.access.count - 1, head: rest };
        if entry.access.count == 0 && rest != B256::ZERO {
            return Err(bad("the access-list chain does not end with its count"));
        }
        match item.slot {
            None => {
                let coinbase = self.block()?.coinbase;
                if !warm_by_rule(item.address, coinbase) {
                    let root = self.header.warm_addresses;
                    self.header.warm_addresses =
                        self.tries().insert(root, address_key(item.address))?;
                }
            }
            Some(slot) => {
                let root = self.header.warm_slots;
                self.header.warm_slots = self.tries().insert(root, pair_key(item.address, slot))?;
            }
        }
        self.set_begin(TxBegin { entry: Some(entry), ..*begin });
        Ok(())
    }

    /// The entry step (spec §8.1): a call takes the checkpoint, moves the value (an empty
    /// callee of a zero-value call is touched, EIP-161) and starts the top frame with the
    /// callee's code (carried by the witness) and the data as calldata — or, for a callee
    /// without code, succeeds at once, and for a precompile runs it (§7) — ending the
    /// transaction in this step (§8.2) when there is no frame. A creation bumps the sender's
    /// nonce, derives and warms the address, takes the checkpoint, fails on a collision
    /// (EIP-684/EIP-7610, all gas used), else creates the account (nonce 1, the value) and
    /// starts the init frame with the init code the witness carries.
    fn enter_transaction(&mut self, entry: TxEntry) -> StepResult<()> {
        let tx = self.tx()?;
        let before = self.accumulators()?;
        let mut acc = before;
        let checkpoint = self.checkpoint_now();
        let origin = tx.origin;
        let mut nodes = self.witness.tries.overlay();
        let mut root = self.header.state_root;
        let sender = or_empty(super::Tries { nodes: &nodes }.account(root, origin)?);
        if sender.balance < entry.value {
            // Unreachable after the begin step's balance check; a defined failure all the same.
            return self.settle_transaction(false, entry.gas, acc, &mut nodes);
        }
        let Some(to) = entry.to else {
            return self.enter_creation(entry, sender, nodes);
        };
        let receiver = super::Tries { nodes: &nodes }.account(root, to)?;
        if !entry.value.is_zero() && origin != to {
            let debited = TrieAccount { balance: sender.balance - entry.value, ..sender };
            root = nodes.apply(root, address_key(origin), Some(&alloy_rlp::encode(debited)))?;
            let mut account = or_empty(super::Tries { nodes: &nodes }.account(root, to)?);
            account.balance =
                account.balance.checked_add(entry.value).ok_or(bad("balance overflow"))?;
            root = nodes.apply(root, address_key(to), Some(&alloy_rlp::encode(account)))?;
        } else if entry.value.is_zero() && receiver.as_ref().is_some_and(is_empty) {
            acc.touched = append_address(acc.touched, to);
        }
        self.header.state_root = root;
        self.header.accumulators = acc.hash();
        if is_precompile(to) {
            let (success, left) = if to == IDENTITY {
                let cost = identity_cost(entry.data.len);
                (cost <= entry.gas, entry.gas.saturating_sub(cost))
            } else {
                let input = self.carried(
                    entry.data,
                    "the precompile input does not match the transaction's data",
                )?;
                let (success, left, _) = precompile(to, input, entry.gas)
                    .ok_or(Stop::unsupported(0, "not a Cancun precompile"))?;
                (success, left)
            };
            let left = if success { left } else { 0 };
            if !success {
                // The checkpoint was taken at this step's start: its accumulators are the
                // pre-state's.
                self.restore(&checkpoint);
                acc = before;
            }
            return self.settle_transaction(success, left, acc, &mut nodes);
        }
        let code = match &receiver {
            Some(account) => self.code_of(account)?,
            None => &[],
        };
        if code.is_empty() {
            return self.settle_transaction(true, entry.gas, acc, &mut nodes);
        }
        let tree = CodeTree::new(code).map_err(Stop::Fail)?;
        let empty = Bytes32Tree { len: 0, root: WordTree::empty().root() };
        self.start_top_frame(Frame {
            kind: FrameKind::Transaction,
            is_static: false,
            address: to,
            caller: origin,
            value: entry.value,
            code_root: tree.root(),
            code_size: tree.size() as u32,
            code_hash: tree.code_hash(),
            pc: 0,
            gas: entry.gas,
            stack: StackCommitment::EMPTY,
            memory: empty,
            calldata: entry.data,
            returndata: empty,
            return_window: (0, 0),
            checkpoint: checkpoint.hash(),
        });
        Ok(())
    }

    /// A creation transaction's entry (see [`Self::enter_transaction`]).
    fn enter_creation(
        &mut self,
        entry: TxEntry,
        sender: TrieAccount,
        mut nodes: TrieWitness,
    ) -> StepResult<()> {
        let origin = self.tx()?.origin;
        let acc = self.accumulators()?;
        let init =
            self.carried(entry.data, "the init code does not match the transaction's data")?;
        let kind = FrameKind::Create;
        match self.create_account(kind, origin, sender, entry.value, None, init, &mut nodes)? {
            Some(frame) => self.start_top_frame(Frame { gas: entry.gas, ..frame }),
            None => return self.settle_transaction(false, 0, acc, &mut nodes),
        }
        Ok(())
    }

    /// The data the witness carries whole, checked against its word tree (`mismatch` is the
    /// error when it differs).
    fn carried(&self, tree: Bytes32Tree, mismatch: &'static str) -> StepResult<&'a [u8]> {
        let data = self.witness.data.as_ref().map_or(&[][..], |data| &data[..]);
        let root = WordTree::from_bytes(data).map_err(Stop::Fail)?.root();
        if data.len() != tree.len as usize || root != tree.root {
            return Err(bad(mismatch));
        }
        Ok(data)
    }

    /// Makes `frame` the transaction's top frame: the caller chain stays empty.
    fn start_top_frame(&mut self, frame: Frame) {
        self.frame = frame;
        self.outside_frame = false;
        self.header.pending_kind = PendingKind::None;
        self.header.pending_hash = B256::ZERO;
    }
}
