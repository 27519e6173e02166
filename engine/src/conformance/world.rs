//! The step checker's world: the machine's world tries (spec §2.4) kept equal to revm's
//! journaled state by following revm's journal ([`crate::trace`]'s follower), never by
//! rehashing the state. The checker applies each change as soon as it sees it; the trace
//! records the same changes and applies them on demand.

use crate::{
    Result,
    machine::{World, WorldRoots},
    trace::world::{JournalFollower, WorldLog, apply_sync, begin, pre_world},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use revm::{context::ContextTr, database::CacheState, inspector::JournalExt};
use std::collections::HashMap;

/// The world as of some point of revm's journal.
#[derive(Debug)]
pub(crate) struct WorldTracker {
    pub(crate) world: World,
    /// The state root before the transaction (proves original storage values).
    pub(crate) start_state_root: B256,
    follower: JournalFollower,
    log: WorldLog,
    /// The roots the transaction began with (after its access-list warm-up).
    begin: WorldRoots,
    /// The roots after each sync of `log`.
    roots: Vec<WorldRoots>,
}

impl WorldTracker {
    /// The world of a pre-state (before the transaction: no warm sets yet).
    pub(crate) fn new(pre: &CacheState) -> Result<Self> {
        let (world, codes) = pre_world(pre)?;
        Ok(Self {
            start_state_root: world.roots.state_root,
            begin: world.roots,
            world,
            follower: JournalFollower::default(),
            log: WorldLog { codes, ..WorldLog::default() },
            roots: Vec::new(),
        })
    }

    /// Code by hash, for EXTCODESIZE and EXTCODECOPY witnesses.
    pub(crate) fn codes(&self) -> &HashMap<B256, Bytes> {
        &self.log.codes
    }

    /// At transaction begin: the warm sets the transaction starts with beyond what revm
    /// journals (EIP-2930 access list; origin and target come as journal entries).
    pub(crate) fn begin(
        &mut self,
        coinbase: Address,
        access_list: &[(Address, Vec<U256>)],
    ) -> Result<()> {
        begin(&mut self.world, coinbase, access_list)?;
        self.follower = JournalFollower::new(coinbase);
        self.begin = self.world.roots;
        Ok(())
    }

    /// Brings the world up to revm's journal.
    pub(crate) fn sync<CTX>(&mut self, context: &mut CTX) -> Result<()>
    where
        CTX: ContextTr<Journal: JournalExt>,
    {
        if !self.follower.changed(context) {
            return Ok(());
        }
        let first = self.log.syncs.len();
        self.follower.sync(context, 0, &mut self.log);
        for sync in &self.log.syncs[first..] {
            apply_sync(&mut self.world, &self.log, sync, self.begin, &self.roots)?;
            self.roots.push(self.world.roots);
        }
        Ok(())
    }
}
