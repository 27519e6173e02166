//! The prover's side of the transaction's begin (spec §8.1): the begin state `S_0` of a
//! transaction and the witnesses of its begin, access-list and entry steps, computed from the
//! machine held in full ([`BoundaryRun`]).

use super::{
    AccessChain, BlockContext, Chain, CodeTree, ForkId, FrameKind, FrameSnapshot, HeldFrame,
    MachineState, Pending, PendingKind, Stack, Status, TxAccumulators, TxBegin, TxPlan, WordTree,
    World,
    frame_prover::{BeginState, BoundaryRun},
    frames::{IDENTITY, identity_cost, is_precompile, precompile},
    is_empty,
};
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use std::{collections::HashMap, sync::Arc};

fn unsupported(reason: &'static str) -> Error {
    Error::UnsupportedStep { opcode: 0, reason }
}

fn or_empty(account: Option<TrieAccount>) -> TrieAccount {
    account.unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

/// A frame that is not there (the state before the entry step has none; spec §8.1).
fn no_frame() -> HeldFrame {
    HeldFrame {
        snapshot: FrameSnapshot {
            kind: FrameKind::Transaction,
            is_static: false,
            address: Address::ZERO,
            caller: Address::ZERO,
            value: U256::ZERO,
            code: Arc::new(CodeTree::empty()),
            pc: 0,
            gas: 0,
            stack: Stack::default(),
            memory: WordTree::empty(),
            calldata: Arc::new(WordTree::empty()),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: B256::ZERO,
        },
        checkpoint: super::Checkpoint {
            state_root: B256::ZERO,
            warm_addresses: B256::ZERO,
            warm_slots: B256::ZERO,
            transient: B256::ZERO,
            created: B256::ZERO,
            refund: 0,
            logs: Chain::default(),
            accumulators: B256::ZERO,
        },
        accumulators: TxAccumulators::default(),
    }
}

impl<'c> BoundaryRun<'c> {
    /// The begin state `S_0` (spec §8.1) of the transaction with the signed EIP-2718
    /// `envelope`, in `block` after `block_gas_used` gas of earlier transactions, on `world`
    /// (the state before the transaction; its warm sets, transient storage and created set
    /// must be empty).
    pub fn begin(
        world: World,
        codes: &'c HashMap<B256, Bytes>,
        block: BlockContext,
        envelope: Bytes,
        block_gas_used: u64,
    ) -> Self {
        let pending = TxBegin::new(&envelope, block_gas_used);
        let state = MachineState {
            fork: ForkId::Cancun,
            status: Status::Running,
            pending_kind: PendingKind::TxBegin,
            pending_hash: B256::ZERO, // the header is rebuilt from `pending`
            block_hash: block.hash(),
            tx_hash: B256::ZERO,
            state_root: world.roots.state_root,
            warm_addresses: world.roots.warm_addresses,
            warm_slots: world.roots.warm_slots,
            transient: world.roots.transient,
            created: world.roots.created,
            refund: 0,
            logs: Chain::default(),
            frame_hash: B256::ZERO,
            callers: (0, B256::ZERO),
            accumulators: TxAccumulators::default().hash(),
        };
        let mut run = Self::new(
            state,
            no_frame(),
            Vec::new(),
            world,
            codes,
            block,
            TxAccumulators::default(),
        );
        run.pending = Some(Pending::TxBegin(pending));
        run.ended = true;
        run.begin = Some(BeginState { envelope, plan: None });
        run
    }

    /// The witness of a begin, access-list or entry step, and the machine advanced past it.
    pub(super) fn begin_step(
        &mut self,
        begin: &TxBegin,
        witness: &mut super::StepWitness,
    ) -> Result<()> {
        let state = self.begin.clone().ok_or_else(|| unsupported("no transaction to begin"))?;
        let Some(entry) = begin.entry else {
            witness.data = Some(state.envelope.clone());
            self.cut_tries(witness)?;
            return self.begin_transaction(begin, &state.envelope);
        };
        let (plan, heads) = state.plan.ok_or_else(|| unsupported("no plan of the transaction"))?;
        if entry.access.count > 0 {
            let k = plan.access.len() - entry.access.count as usize;
            witness.access = Some((plan.access[k], heads[k + 1]));
            self.cut_tries(witness)?;
            let item = plan.access[k];
            match item.slot {
                None => {
                    self.warm(item.address)?;
                }
                Some(slot) => self.world.warm_slot(item.address, slot)?,
            }
            let access = AccessChain { count: entry.access.count - 1, head: heads[k + 1] };
            let entry = super::TxEntry { access, ..entry };
            self.pending = Some(Pending::TxBegin(TxBegin { entry: Some(entry), ..*begin }));
            return Ok(());
        }
        let tx = self.tx.ok_or_else(|| unsupported("no transaction context"))?;
        witness.tx = Some(tx);
        if let Some(to) = plan.to
            && let Some(account) = self.world.account(to)?
        {
            witness.account_code = self.codes.get(&account.code_hash).cloned();
        }
        let carries_data = match plan.to {
            None => true,
            Some(to) => is_precompile(to) && to != IDENTITY,
        };
        if carries_data {
            witness.data = Some(plan.data.clone());
        }
        self.cut_tries(witness)?;
        self.enter_transaction(&plan, entry.gas)
    }

    /// The begin step (the executor's `Step::begin_transaction`).
    fn begin_transaction(&mut self, begin: &TxBegin, envelope: &[u8]) -> Result<()> {
        let plan = TxPlan::decode(envelope, &self.block, begin.block_gas_used);
        let sender = match &plan {
            Some(plan) => self.world.account(plan.sender)?,
            None => None,
        };
        let Some(plan) = plan.filter(|plan| plan.admits(sender.as_ref())) else {
            self.state.status = Status::Invalid;
            self.pending = None;
            return Ok(());
        };
        let start = self.world.roots.state_root;
        if let Some(account) = plan.charged(sender) {
            self.world.put_account(plan.sender, Some(account))?;
        }
        self.warm(plan.sender)?;
        if let Some(to) = plan.to {
            self.warm(to)?;
        }
        let tx = plan.context(start)?;
        self.state.tx_hash = tx.hash();
        self.tx = Some(tx);
        let entry = plan.entry()?;
        let mut heads = vec![B256::ZERO; plan.access.len() + 1];
        for k in (0..plan.access.len()).rev() {
            heads[k] = plan.access[k].link(&heads[k + 1]);
        }
        self.pending = Some(Pending::TxBegin(TxBegin { entry: Some(entry), ..*begin }));
        if let Some(state) = &mut self.begin {
            state.plan = Some((plan, heads));
        }
        Ok(())
    }

    /// The entry step (the executor's `Step::enter_transaction`).
    fn enter_transaction(&mut self, plan: &TxPlan, gas: u64) -> Result<()> {
        let tx = self.tx.ok_or_else(|| unsupported("no transaction context"))?;
        let origin = plan.sender;
        let sender = or_empty(self.world.account(origin)?);
        if sender.balance < plan.value {
            return self.settle(false, gas, &tx);
        }
        let Some(to) = plan.to else { return self.enter_creation(plan, sender, gas) };
        let checkpoint = self.checkpoint_now();
        let accumulators = self.accumulators;
        let receiver = self.world.account(to)?;
        if !plan.value.is_zero() && origin != to {
            let debited = TrieAccount { balance: sender.balance - plan.value, ..sender };
            self.world.put_account(origin, Some(debited))?;
            let mut account = or_empty(self.world.account(to)?);
            account.balance += plan.value;
            self.world.put_account(to, Some(account))?;
        } else if plan.value.is_zero() && receiver.as_ref().is_some_and(is_empty) {
            self.touch(to);
        }
        if is_precompile(to) {
            let (success, left) = if to == IDENTITY {
                let cost = identity_cost(plan.data.len() as u32);
                (cost <= gas, gas.saturating_sub(cost))
            } else {
                let (success, left, _) = precompile(to, &plan.data, gas)
                    .ok_or_else(|| unsupported("not a Cancun precompile"))?;
                (success, left)
            };
            if !success {
                self.restore(&checkpoint, accumulators);
            }
            return self.settle(success, if success { left } else { 0 }, &tx);
        }
        let code = match receiver.map(|a| a.code_hash).filter(|h| *h != KECCAK_EMPTY) {
            None => Bytes::new(),
            Some(hash) => self
                .codes
                .get(&hash)
                .cloned()
                .ok_or_else(|| unsupported("the prover lacks the callee's code"))?,
        };
        if code.is_empty() {
            return self.settle(true, gas, &tx);
        }
        let snapshot = FrameSnapshot {
            kind: FrameKind::Transaction,
            is_static: false,
            address: to,
            caller: origin,
            value: plan.value,
            code: Arc::new(CodeTree::new(&code)?),
            pc: 0,
            gas,
            stack: Stack::new(&[]),
            memory: WordTree::empty(),
            calldata: Arc::new(WordTree::from_bytes(&plan.data)?),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: checkpoint.hash(),
        };
        self.start_top_frame(HeldFrame { snapshot, checkpoint, accumulators });
        Ok(())
    }

    /// A creation transaction's entry.
    fn enter_creation(&mut self, plan: &TxPlan, sender: TrieAccount, gas: u64) -> Result<()> {
        let tx = self.tx.ok_or_else(|| unsupported("no transaction context"))?;
        let kind = FrameKind::Create;
        match self.create_account(kind, plan.sender, sender, plan.value, None, &plan.data, gas)? {
            Some(frame) => self.start_top_frame(frame),
            None => self.settle(false, 0, &tx)?,
        }
        Ok(())
    }

    fn start_top_frame(&mut self, frame: HeldFrame) {
        self.frame = frame;
        self.ended = false;
        self.pending = None;
    }
}
