//! The step checker's world: the machine's world tries (spec §2.4) kept equal to revm's
//! journaled state by replaying revm's journal entries, never by rehashing the state.
//!
//! revm appends one entry per change (account warmed, storage changed, balance moved, ...)
//! and truncates the journal when a frame reverts. The tracker applies new entries with the
//! current values from revm's state, and remembers its roots at every journal length it
//! reached; a truncation restores the roots of the longest length still valid and replays the
//! rest. The store keeps every node, so a restore is four hashes.

use crate::{
    AccountLeaf, Result,
    machine::{World, WorldRoots, warm_by_rule},
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
use std::collections::HashMap;

/// The world as of some point of revm's journal.
#[derive(Debug)]
pub(crate) struct WorldTracker {
    pub(crate) world: World,
    /// The state root before the transaction (proves original storage values).
    pub(crate) start_state_root: B256,
    /// Code by hash, for EXTCODESIZE and EXTCODECOPY witnesses.
    pub(crate) codes: HashMap<B256, Bytes>,
    coinbase: Address,
    /// Journal entries applied.
    applied: usize,
    /// `(journal length, roots)` at every length applied, increasing.
    history: Vec<(usize, WorldRoots)>,
}

impl WorldTracker {
    /// The world of a pre-state (before the transaction: no warm sets yet).
    pub(crate) fn new(pre: &CacheState) -> Result<Self> {
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
        Ok(Self {
            start_state_root: world.roots.state_root,
            world,
            codes,
            coinbase: Address::ZERO,
            applied: 0,
            history: Vec::new(),
        })
    }

    /// At transaction begin: the warm sets the transaction starts with beyond what revm
    /// journals (EIP-2930 access list; origin and target come as journal entries).
    pub(crate) fn begin(
        &mut self,
        coinbase: Address,
        access_list: impl IntoIterator<Item = (Address, Vec<U256>)>,
    ) -> Result<()> {
        self.coinbase = coinbase;
        for (address, slots) in access_list {
            if !warm_by_rule(address, coinbase) {
                self.world.warm_address(address)?;
            }
            for slot in slots {
                self.world.warm_slot(address, slot)?;
            }
        }
        self.history = vec![(0, self.world.roots)];
        Ok(())
    }

    /// Brings the world up to revm's journal.
    pub(crate) fn sync<CTX>(&mut self, context: &mut CTX) -> Result<()>
    where
        CTX: ContextTr<Journal: JournalExt>,
    {
        let len = context.journal_ref().journal().len();
        if len < self.applied {
            // A frame reverted: back to the longest length still valid, then forward.
            while self.history.last().is_some_and(|(at, _)| *at > len) {
                self.history.pop();
            }
            let (at, roots) = self.history.last().copied().unwrap_or((0, self.world.roots));
            self.world.roots = roots;
            self.applied = at;
        }
        if len == self.applied {
            return Ok(());
        }
        for index in self.applied..len {
            let entry = context.journal_ref().journal()[index].clone();
            self.apply(context, &entry)?;
        }
        self.applied = len;
        self.history.push((len, self.world.roots));
        Ok(())
    }

    fn apply<CTX>(&mut self, context: &mut CTX, entry: &JournalEntry) -> Result<()>
    where
        CTX: ContextTr<Journal: JournalExt>,
    {
        match entry {
            JournalEntry::AccountWarmed { address } if !warm_by_rule(*address, self.coinbase) => {
                self.world.warm_address(*address)?;
            }
            JournalEntry::StorageWarmed { key, address } => {
                self.world.warm_slot(*address, *key)?;
            }
            JournalEntry::TransientStorageChange { key, address, .. } => {
                let value = context.journal_mut().tload(*address, *key);
                self.world.set_transient(*address, *key, value)?;
            }
            JournalEntry::StorageChanged { key, address, .. } => {
                let value = context
                    .journal_ref()
                    .evm_state()
                    .get(address)
                    .and_then(|account| account.storage.get(key))
                    .map(|slot| slot.present_value)
                    .unwrap_or_default();
                self.account(context, *address, false)?;
                self.world.set_storage(*address, *key, value)?;
            }
            JournalEntry::AccountCreated { address, .. } => {
                self.account(context, *address, true)?;
            }
            JournalEntry::BalanceTransfer { from, to, .. } => {
                self.account(context, *from, false)?;
                self.account(context, *to, false)?;
            }
            JournalEntry::AccountDestroyed { address, target, .. } => {
                self.account(context, *address, false)?;
                self.account(context, *target, false)?;
            }
            JournalEntry::BalanceChange { address, .. }
            | JournalEntry::NonceChange { address, .. }
            | JournalEntry::NonceBump { address }
            | JournalEntry::CodeChange { address, .. } => {
                self.account(context, *address, false)?;
            }
            _ => {} // touches (EIP-161 acts at transaction end) and warm-by-rule accounts
        }
        Ok(())
    }

    /// Writes `address`'s fields as revm holds them now. An account revm holds empty that is
    /// not in the trie stays out of it (EIP-161: touching does not create); a created
    /// account starts with empty storage.
    fn account<CTX>(&mut self, context: &mut CTX, address: Address, created: bool) -> Result<()>
    where
        CTX: ContextTr<Journal: JournalExt>,
    {
        let Some(account) = context.journal_ref().evm_state().get(&address) else {
            return Ok(());
        };
        let info = &account.info;
        if let Some(code) = &info.code
            && info.code_hash != KECCAK_EMPTY
        {
            self.codes.entry(info.code_hash).or_insert_with(|| code.original_bytes());
        }
        let existing = self.world.account(address)?;
        let storage_root = match (&existing, created) {
            (Some(existing), false) => existing.storage_root,
            _ => EMPTY_ROOT_HASH,
        };
        let updated = TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root,
            code_hash: info.code_hash,
        };
        if existing.is_none() && !created && crate::machine::is_empty(&updated) {
            return Ok(());
        }
        if existing.as_ref() != Some(&updated) {
            self.world.put_account(address, Some(updated))?;
        }
        Ok(())
    }
}
