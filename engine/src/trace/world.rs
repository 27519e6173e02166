//! The world behind a trace (spec §2.4): revm's journal followed cheaply while the transaction
//! runs, the machine's world tries rebuilt from it on demand.
//!
//! revm appends one journal entry per change (account warmed, storage changed, balance
//! moved, ...) and truncates the journal when a frame reverts. [`JournalFollower`] looks at the
//! journal's length before each instruction (one comparison) and, when it changed, turns the
//! new entries into [`WorldOp`]s carrying the values revm holds then — no hashing. A
//! truncation is recorded as a restore of the roots at the longest journal length still valid.
//! [`WorldLog::replay`] later applies the ops to a [`World`] and yields its roots at every
//! change; the world's store keeps every node version, so any of those roots stays provable.

use crate::{
    AccountLeaf, Result,
    machine::{Contexts, StepWitness, World, WorldRoots, execute, warm_by_rule},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use revm::{
    context::{ContextTr, JournalTr},
    context_interface::journaled_state::entry::JournalEntry,
    database::CacheState,
    inspector::JournalExt,
    primitives::KECCAK_EMPTY,
};
use std::{collections::HashMap, ops::Range};

/// One change to the world, with the value revm held when it was followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WorldOp {
    /// EIP-2929: an address became warm (addresses warm by rule are never recorded).
    WarmAddress(Address),
    /// EIP-2929: a storage slot became warm.
    WarmSlot(Address, U256),
    /// EIP-1153: a transient slot's new value.
    Transient(Address, U256, U256),
    /// A storage slot's new value.
    Storage(Address, U256, U256),
    /// EIP-6780: an account was created in the transaction (joins the `created` set).
    Created(Address),
    /// An account's fields as revm holds them (`created`: its storage starts empty).
    Account { address: Address, nonce: u64, balance: U256, code_hash: B256, created: bool },
}

/// A change of the journal seen before an instruction: first restore the roots the journal
/// had at an earlier length (a frame reverted), then apply some ops.
#[derive(Clone, Debug)]
pub(crate) struct WorldSync {
    /// The instruction the change is seen before (its pre-state holds it).
    pub(crate) instruction: u64,
    /// Restore the roots after sync number `k` (`None`: the roots the transaction began with).
    pub(crate) restore: Option<Option<u32>>,
    /// The ops to apply, in [`WorldLog::ops`].
    pub(crate) ops: Range<u32>,
}

/// Everything the trace keeps of the world: the pre-state's tries, the transaction's
/// warm-ups, and the followed changes.
#[derive(Debug, Default)]
pub(crate) struct WorldLog {
    pub(crate) ops: Vec<WorldOp>,
    pub(crate) syncs: Vec<WorldSync>,
    /// Code by hash (pre-state contracts and code revm loaded or deployed), for witnesses.
    pub(crate) codes: HashMap<B256, Bytes>,
}

/// Follows revm's journal for a [`WorldLog`].
#[derive(Debug, Default)]
pub(crate) struct JournalFollower {
    coinbase: Address,
    /// Journal entries followed.
    applied: usize,
    /// `(journal length, sync index)` at every length followed, increasing.
    history: Vec<(usize, Option<u32>)>,
}

impl JournalFollower {
    /// A follower for a transaction whose block's coinbase is `coinbase` (warm by rule).
    pub(crate) fn new(coinbase: Address) -> Self {
        Self { coinbase, applied: 0, history: vec![(0, None)] }
    }

    /// The journal's length changed since the last sync (one comparison; call before each
    /// instruction).
    #[inline]
    pub(crate) fn changed<CTX: ContextTr<Journal: JournalExt>>(&self, context: &CTX) -> bool {
        context.journal_ref().journal().len() != self.applied
    }

    /// Records the journal's changes since the last sync into `log`, as seen before
    /// `instruction`.
    pub(crate) fn sync<CTX: ContextTr<Journal: JournalExt>>(
        &mut self,
        context: &mut CTX,
        instruction: u64,
        log: &mut WorldLog,
    ) {
        let len = context.journal_ref().journal().len();
        let mut restore = None;
        if len < self.applied {
            // A frame reverted: back to the longest length still valid, then forward.
            while self.history.last().is_some_and(|(at, _)| *at > len) {
                self.history.pop();
            }
            let (at, sync) = self.history.last().copied().unwrap_or((0, None));
            restore = Some(sync);
            self.applied = at;
        }
        let start = log.ops.len() as u32;
        for index in self.applied..len {
            let entry = context.journal_ref().journal()[index].clone();
            self.follow(context, &entry, log);
        }
        self.applied = len;
        if restore.is_none() && log.ops.len() as u32 == start {
            return;
        }
        log.syncs.push(WorldSync { instruction, restore, ops: start..log.ops.len() as u32 });
        self.history.push((len, Some(log.syncs.len() as u32 - 1)));
    }

    fn follow<CTX: ContextTr<Journal: JournalExt>>(
        &self,
        context: &mut CTX,
        entry: &JournalEntry,
        log: &mut WorldLog,
    ) {
        let account = |context: &mut CTX, log: &mut WorldLog, address: Address, created| {
            let Some(account) = context.journal_ref().evm_state().get(&address) else { return };
            let info = &account.info;
            if let Some(code) = &info.code
                && info.code_hash != KECCAK_EMPTY
            {
                log.codes.entry(info.code_hash).or_insert_with(|| code.original_bytes());
            }
            log.ops.push(WorldOp::Account {
                address,
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
                created,
            });
        };
        match entry {
            JournalEntry::AccountWarmed { address } if !warm_by_rule(*address, self.coinbase) => {
                log.ops.push(WorldOp::WarmAddress(*address));
            }
            JournalEntry::StorageWarmed { key, address } => {
                log.ops.push(WorldOp::WarmSlot(*address, *key));
            }
            JournalEntry::TransientStorageChange { key, address, .. } => {
                let value = context.journal_mut().tload(*address, *key);
                log.ops.push(WorldOp::Transient(*address, *key, value));
            }
            JournalEntry::StorageChanged { key, address, .. } => {
                let value = context
                    .journal_ref()
                    .evm_state()
                    .get(address)
                    .and_then(|account| account.storage.get(key))
                    .map(|slot| slot.present_value)
                    .unwrap_or_default();
                account(context, log, *address, false);
                log.ops.push(WorldOp::Storage(*address, *key, value));
            }
            JournalEntry::AccountCreated { address, .. } => {
                account(context, log, *address, true);
                log.ops.push(WorldOp::Created(*address));
            }
            JournalEntry::BalanceTransfer { from, to, .. } => {
                account(context, log, *from, false);
                account(context, log, *to, false);
            }
            JournalEntry::AccountDestroyed { address, target, .. } => {
                account(context, log, *address, false);
                account(context, log, *target, false);
            }
            JournalEntry::BalanceChange { address, .. }
            | JournalEntry::NonceChange { address, .. }
            | JournalEntry::NonceBump { address }
            | JournalEntry::CodeChange { address, .. } => account(context, log, *address, false),
            _ => {} // touches (EIP-161 acts at transaction end) and warm-by-rule accounts
        }
    }
}

/// The world of a pre-state (before the transaction: no warm sets yet), with the code of
/// its contracts by hash.
///
/// # Errors
///
/// None for a well-formed pre-state (the tries are built here).
pub(crate) fn pre_world(pre: &CacheState) -> Result<(World, HashMap<B256, Bytes>)> {
    let world = World::new(pre.trie_account().into_iter().map(|(address, account)| {
        let leaf = AccountLeaf {
            nonce: account.info.nonce,
            balance: account.info.balance,
            code_hash: account.info.code_hash,
            storage: account.storage.iter().map(|(k, v)| (*k, *v)),
        };
        (address, leaf)
    }))?;
    let mut codes: HashMap<B256, Bytes> =
        pre.contracts.iter().map(|(hash, code)| (*hash, code.original_bytes())).collect();
    for account in pre.accounts.values().filter_map(|cached| cached.account.as_ref()) {
        if let Some(code) = &account.info.code {
            codes.entry(account.info.code_hash).or_insert_with(|| code.original_bytes());
        }
    }
    Ok((world, codes))
}

/// At transaction begin: the warm sets the transaction starts with beyond what revm journals
/// (EIP-2930 access list; origin and target come as journal entries).
///
/// # Errors
///
/// Trie errors, which a store built by [`World`] does not produce.
pub(crate) fn begin(
    world: &mut World,
    coinbase: Address,
    access_list: &[(Address, Vec<U256>)],
) -> Result<()> {
    for (address, slots) in access_list {
        if !warm_by_rule(*address, coinbase) {
            world.warm_address(*address)?;
        }
        for slot in slots {
            world.warm_slot(*address, *slot)?;
        }
    }
    Ok(())
}

/// Applies one op to `world`. An account revm holds empty that is not in the trie stays out
/// of it (EIP-161: touching does not create); a created account starts with empty storage.
///
/// # Errors
///
/// Trie errors, which a store built by [`World`] does not produce.
pub(crate) fn apply(world: &mut World, op: &WorldOp) -> Result<()> {
    match op {
        WorldOp::WarmAddress(address) => world.warm_address(*address),
        WorldOp::WarmSlot(address, slot) => world.warm_slot(*address, *slot),
        WorldOp::Transient(address, slot, value) => world.set_transient(*address, *slot, *value),
        WorldOp::Created(address) => world.mark_created(*address),
        WorldOp::Storage(address, slot, value) => world.set_storage(*address, *slot, *value),
        WorldOp::Account { address, nonce, balance, code_hash, created } => {
            let existing = world.account(*address)?;
            let storage_root = match (&existing, created) {
                (Some(existing), false) => existing.storage_root,
                _ => EMPTY_ROOT_HASH,
            };
            let updated = TrieAccount {
                nonce: *nonce,
                balance: *balance,
                storage_root,
                code_hash: *code_hash,
            };
            if existing.is_none() && !created && crate::machine::is_empty(&updated) {
                return Ok(());
            }
            if existing.as_ref() != Some(&updated) {
                world.put_account(*address, Some(updated))?;
            }
            Ok(())
        }
    }
}

/// Applies sync `sync` of `log` to `world`; `roots` holds the roots after each earlier sync
/// and `begin` the roots the transaction began with.
///
/// # Errors
///
/// Trie errors, which a store built by [`World`] does not produce.
pub(crate) fn apply_sync(
    world: &mut World,
    log: &WorldLog,
    sync: &WorldSync,
    begin: WorldRoots,
    roots: &[WorldRoots],
) -> Result<()> {
    if let Some(restore) = sync.restore {
        world.roots = match restore {
            Some(k) => roots[k as usize],
            None => begin,
        };
    }
    for op in &log.ops[sync.ops.start as usize..sync.ops.end as usize] {
        apply(world, op)?;
    }
    Ok(())
}

/// Completes `witness` (of a step whose pre-state commitment is `pre`) with the world nodes
/// and the code it reads: the prover runs the executor once over a recording view of the
/// whole store and keeps what it read (spec §5.2, trie witnesses).
pub(crate) fn prove_world(
    world: &World,
    codes: &HashMap<B256, Bytes>,
    pre: B256,
    opcode: u8,
    witness: &mut StepWitness,
) {
    // EXTCODESIZE reads the code; EXTCODECOPY only when it copies something (its length is
    // the bottom operand).
    let reads_code = match opcode {
        0x3b => true,
        0x3c => witness.stack.first().is_some_and(|len| !len.is_zero()),
        _ => false,
    };
    if reads_code && let Some(address) = witness.stack.last() {
        let address = Address::from_word(B256::from(*address));
        if let Ok(Some(account)) = world.account(address) {
            witness.account_code = codes.get(&account.code_hash).cloned();
        }
    }
    witness.tries = world.store().recording();
    let _ = execute(pre, witness);
    witness.tries = witness.tries.recorded();
}

/// Completes the contexts of a world step's witness: the block context (its coinbase is warm
/// by rule) for account accesses, the transaction context (`start_state_root`) for SSTORE.
pub(crate) fn world_contexts(contexts: &Contexts, opcode: u8, witness: &mut StepWitness) {
    match opcode {
        0x31 | 0x3b | 0x3c | 0x3f | 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa | 0xff => {
            witness.block = Some(contexts.block);
        }
        0x55 => witness.tx = Some(contexts.tx),
        _ => {}
    }
}
