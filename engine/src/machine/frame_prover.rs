//! The prover's side of frame boundaries (spec §6): from the machine held in full (the frame
//! and its callers as snapshots, the world store, the contexts and accumulators), the witness
//! of each boundary step and the state after it. The prover computes every post-state from
//! its own data; the executor only checks.

use super::{
    BlockContext, Bytes32Tree, Checkpoint, CodeTree, CopyDest, CopySource, CopyState, FrameExit,
    FrameKind, FrameSnapshot, MachineState, MicroRun, OPCODES, Pending, PendingKind, Stack, Status,
    StepWitness, TxAccumulators, TxContext, TxEnd, WORD_TREE_DEPTH, WordTree, WordWitness, World,
    address_key,
    context::append_address,
    execute,
    frames::{
        CALL_DEPTH_LIMIT, CALL_STIPEND, CALL_VALUE_GAS, CODE_DEPOSIT_BYTE_GAS,
        COLD_ACCOUNT_SURCHARGE, CREATE2_HASH_WORD_GAS, IDENTITY, INIT_CODE_WORD_GAS, MAX_CODE_SIZE,
        MAX_INIT_CODE_SIZE, NEW_ACCOUNT_GAS, SELFDESTRUCT_COLD_GAS, created_address, is_precompile,
        precompile,
    },
    hash_pair, is_empty, memory_cost,
    pending::{BufferCopy, CallPending, CreatePending},
    tx::settle_fees,
    warm_by_rule,
};
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use std::{collections::HashMap, sync::Arc};

/// One frame of the machine as the prover holds it: its snapshot and the checkpoint it was
/// entered with (the preimage of the frame's `checkpoint` hash).
#[derive(Clone, Debug)]
pub struct HeldFrame {
    /// The frame.
    pub snapshot: FrameSnapshot,
    /// What a failure of this frame restores.
    pub checkpoint: Checkpoint,
    /// The preimage of `checkpoint.accumulators`.
    pub accumulators: TxAccumulators,
}

/// The machine held in full around frame boundaries.
#[derive(Clone, Debug)]
pub struct BoundaryRun<'c> {
    /// The header (`frame_hash` is recomputed from `frame`; the world roots are `world`'s).
    pub state: MachineState,
    /// The current frame.
    pub frame: HeldFrame,
    /// The caller frames held in full, outermost first, each with the caller chain's
    /// accumulator below it (an exit pops the last; the frames below them need not be held).
    pub callers: Vec<(HeldFrame, B256)>,
    /// The caller chain below the held callers: `(depth, accumulator)`.
    pub base: (u16, B256),
    /// The world, at the header's roots.
    pub world: World,
    /// Account code by code hash.
    pub codes: &'c HashMap<B256, Bytes>,
    /// The block context (its coinbase is warm by rule).
    pub block: BlockContext,
    /// The transaction's accumulators (the header's `accumulators` is their hash).
    pub accumulators: TxAccumulators,
    /// The operation in progress.
    pub pending: Option<Pending>,
    /// The buffer being filled by a call's input or a frame's output copy.
    pub(super) buffer: WordTree,
    /// The transaction context (the end step reads it).
    pub tx: Option<TxContext>,
    /// The items of `accumulators`' chains (the deletion steps pop them).
    pub items: AccumulatorItems,
    /// The state has no frame: before the transaction's entry step (spec §8.1) or after its
    /// end (§8.2).
    pub ended: bool,
    /// The transaction being begun (spec §8.1): its envelope and, after the begin step, its
    /// plan with the access chain's head after each item.
    pub(super) begin: Option<BeginState>,
}

/// The prover's side of a transaction's begin.
#[derive(Clone, Debug)]
pub(super) struct BeginState {
    pub(super) envelope: Bytes,
    pub(super) plan: Option<(super::TxPlan, Vec<B256>)>,
}

/// The items of the transaction accumulators' chains, in order, each with the chain's
/// accumulator below it (spec §4.4, §2.5): what the chains commit to, which the prover needs
/// to pop them at the transaction's end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccumulatorItems {
    /// EIP-161 candidates, in the order they were touched.
    pub touched: Vec<(B256, Address)>,
    /// EIP-6780 deletions, in the order they self-destructed.
    pub selfdestructs: Vec<(B256, Address)>,
}

impl AccumulatorItems {
    /// Drops the items past `acc`'s counts (a checkpoint restored: chains only grow).
    pub fn truncate_to(&mut self, acc: &TxAccumulators) {
        self.touched.truncate(acc.touched.count as usize);
        self.selfdestructs.truncate(acc.selfdestructs.count as usize);
    }
}

fn unsupported(opcode: u8, reason: &'static str) -> Error {
    Error::UnsupportedStep { opcode, reason }
}

fn or_empty(account: Option<TrieAccount>) -> TrieAccount {
    account.unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

impl<'c> BoundaryRun<'c> {
    /// The machine at `frame` with `callers` below it; the header's world roots, `created`
    /// and accumulators are taken from `state` and must agree with `world` and
    /// `accumulators`.
    pub fn new(
        state: MachineState,
        frame: HeldFrame,
        callers: Vec<(HeldFrame, B256)>,
        world: World,
        codes: &'c HashMap<B256, Bytes>,
        block: BlockContext,
        accumulators: TxAccumulators,
    ) -> Self {
        Self {
            state,
            frame,
            callers,
            base: (0, B256::ZERO),
            world,
            codes,
            block,
            accumulators,
            pending: None,
            buffer: WordTree::empty(),
            tx: None,
            items: AccumulatorItems::default(),
            ended: false,
            begin: None,
        }
    }

    /// Appends `address` to the touched chain.
    pub(super) fn touch(&mut self, address: Address) {
        let below = self.accumulators.touched.acc;
        self.accumulators.touched = append_address(self.accumulators.touched, address);
        self.items.touched.push((below, address));
    }

    /// The header of the current state.
    ///
    /// # Errors
    ///
    /// As [`FrameSnapshot::frame`].
    pub fn header(&self) -> Result<MachineState> {
        let roots = self.world.roots;
        let (kind, hash) = match &self.pending {
            Some(pending) => (pending.kind(), pending.hash()),
            None => (PendingKind::None, B256::ZERO),
        };
        Ok(MachineState {
            pending_kind: kind,
            pending_hash: hash,
            state_root: roots.state_root,
            warm_addresses: roots.warm_addresses,
            warm_slots: roots.warm_slots,
            transient: roots.transient,
            created: roots.created,
            frame_hash: if self.ended { B256::ZERO } else { self.frame.snapshot.frame()?.hash() },
            callers: (self.depth(), self.chain()),
            accumulators: self.accumulators.hash(),
            ..self.state
        })
    }

    /// The number of caller frames.
    pub fn depth(&self) -> u16 {
        self.base.0 + self.callers.len() as u16
    }

    /// The caller chain's accumulator.
    fn chain(&self) -> B256 {
        self.callers.last().map_or(self.base.1, |(frame, below)| {
            hash_pair(below, &frame.snapshot.frame().map(|f| f.hash()).unwrap_or_default())
        })
    }

    /// The commitment to the current state.
    ///
    /// # Errors
    ///
    /// As [`FrameSnapshot::frame`].
    pub fn commitment(&self) -> Result<B256> {
        Ok(self.header()?.commitment())
    }

    /// The checkpoint a frame entered now would restore.
    pub(super) fn checkpoint_now(&self) -> Checkpoint {
        let roots = self.world.roots;
        Checkpoint {
            state_root: roots.state_root,
            warm_addresses: roots.warm_addresses,
            warm_slots: roots.warm_slots,
            transient: roots.transient,
            created: roots.created,
            refund: self.state.refund,
            logs: self.state.logs,
            accumulators: self.accumulators.hash(),
        }
    }

    /// The witness skeleton of the next step: header, frame, pending, contexts, accumulators.
    pub(super) fn skeleton(&self) -> Result<StepWitness> {
        let mut witness = StepWitness::new(self.header()?, self.frame.snapshot.frame()?);
        witness.pending.clone_from(&self.pending);
        witness.block = Some(self.block);
        witness.accumulators = Some(self.accumulators);
        Ok(witness)
    }

    /// Cuts the witness's trie nodes to what the executor reads: one run over a recording view
    /// of the store.
    pub(super) fn cut_tries(&self, witness: &mut StepWitness) -> Result<()> {
        witness.tries = self.world.store().recording();
        let pre = witness.state.commitment();
        execute(pre, witness)?;
        witness.tries = witness.tries.recorded();
        Ok(())
    }

    /// The witness of the next boundary step and the machine advanced past it; `None` when the
    /// next step is not a boundary step (an in-frame opcode, or a pending in-frame copy: see
    /// [`BoundaryRun::into_micro`]).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedStep`] for the top frame's exit and halting openings (the
    /// executor's halting step covers those); trie errors when the world lacks
    /// a node; [`Error::TreeOverflow`] past the trees' bounds.
    pub fn next_step(&mut self) -> Result<Option<StepWitness>> {
        let mut witness = self.skeleton()?;
        match self.pending.clone() {
            None => {
                let snapshot = &self.frame.snapshot;
                let opcode = snapshot.code_byte(snapshot.pc as usize);
                if OPCODES[opcode as usize].family != super::Family::Boundary {
                    return Ok(None);
                }
                let base = snapshot.witness(witness.state)?;
                witness = StepWitness {
                    block: witness.block,
                    accumulators: witness.accumulators,
                    ..base
                };
                self.cut_tries(&mut witness)?;
                self.open(opcode)?;
            }
            Some(Pending::Call(call)) if !call.input.is_done() => {
                self.buffer_word(call.input, &mut witness)?;
                let input = self.advance_buffer(call.input)?;
                self.pending = Some(Pending::Call(CallPending { input, ..call }));
            }
            Some(Pending::Call(call)) => {
                if let Some(account) = self.world.account(call.code_address)? {
                    witness.account_code = self.codes.get(&account.code_hash).cloned();
                }
                if is_precompile(call.code_address) && call.code_address != IDENTITY {
                    witness.data = Some(self.buffer_bytes(call.input.len).into());
                }
                self.cut_tries(&mut witness)?;
                self.enter(&call)?;
            }
            Some(Pending::Create(create)) if !create.input.is_done() => {
                self.buffer_word(create.input, &mut witness)?;
                let input = self.advance_buffer(create.input)?;
                self.pending = Some(Pending::Create(CreatePending { input, ..create }));
            }
            Some(Pending::Create(create)) => {
                witness.data = Some(self.buffer_bytes(create.input.len).into());
                self.cut_tries(&mut witness)?;
                self.enter_create(&create)?;
            }
            Some(Pending::Output { success, copy }) => {
                self.buffer_word(copy, &mut witness)?;
                let copy = self.advance_buffer(copy)?;
                self.pending = Some(if copy.is_done() {
                    let output = Bytes32Tree { len: copy.len, root: copy.root };
                    Pending::Exit(FrameExit { success, output })
                } else {
                    Pending::Output { success, copy }
                });
            }
            Some(Pending::Exit(exit)) if self.depth() == 0 => {
                let tx = self.tx.ok_or_else(|| unsupported(0, "no transaction context"))?;
                witness.tx = Some(tx);
                witness.checkpoint = Some(self.frame.checkpoint);
                let creating =
                    matches!(self.frame.snapshot.kind, FrameKind::Create | FrameKind::Create2);
                if creating && exit.success && exit.output.len as usize <= MAX_CODE_SIZE {
                    witness.data = Some(self.buffer_bytes(exit.output.len).into());
                }
                let top_accumulators = self.frame.accumulators;
                if !self.end_transaction(&exit, &tx)? {
                    // A failure restores the checkpoint: its accumulators are the ones read.
                    witness.accumulators = Some(top_accumulators);
                }
                self.cut_tries(&mut witness)?;
            }
            Some(Pending::TxBegin(begin)) => self.begin_step(&begin, &mut witness)?,
            Some(Pending::TxEnd(end)) if !self.state.status.is_final() => {
                let selfdestructed = !self.items.selfdestructs.is_empty();
                let list =
                    if selfdestructed { &self.items.selfdestructs } else { &self.items.touched };
                let popped =
                    *list.last().ok_or_else(|| unsupported(0, "no accumulator item to pop"))?;
                witness.popped = Some(popped);
                self.cut_tries(&mut witness)?;
                self.delete(selfdestructed, end)?;
            }
            Some(Pending::Exit(exit)) => {
                let Some((caller, below)) = self.callers.last() else {
                    return Err(unsupported(
                        0,
                        if self.depth() == 0 {
                            "the top frame's exit: transaction end (spec §8.2)"
                        } else {
                            "the exit of a frame whose entry was not run"
                        },
                    ));
                };
                witness.caller_frame = Some(caller.snapshot.frame()?);
                witness.callers_rest = *below;
                witness.checkpoint = Some(self.frame.checkpoint);
                let creating =
                    matches!(self.frame.snapshot.kind, FrameKind::Create | FrameKind::Create2);
                if creating && exit.success && exit.output.len as usize <= MAX_CODE_SIZE {
                    witness.data = Some(self.buffer_bytes(exit.output.len).into());
                    self.cut_tries(&mut witness)?;
                }
                self.exit(&exit)?;
            }
            Some(_) => return Ok(None),
        }
        Ok(Some(witness))
    }

    /// A pending in-frame copy (the output's copy into the caller's return window) as a
    /// [`MicroRun`]; `None` when none is pending.
    ///
    /// # Errors
    ///
    /// As [`BoundaryRun::header`].
    pub fn into_micro(&self) -> Result<Option<MicroRun>> {
        match &self.pending {
            Some(pending @ Pending::Copy(_)) => Ok(Some(MicroRun::resume(
                self.header()?,
                self.frame.snapshot.clone(),
                pending.clone(),
            ))),
            _ => Ok(None),
        }
    }

    /// The buffer word the next copy micro-step writes, and the memory words it reads.
    fn buffer_word(&self, copy: BufferCopy, witness: &mut StepWitness) -> Result<()> {
        let n = u64::from((copy.len - copy.copied).min(32));
        let from = u64::from(copy.offset) + u64::from(copy.copied);
        let memory = &self.frame.snapshot.memory;
        for index in from / 32..=(from + n - 1) / 32 {
            witness
                .memory
                .push(WordWitness { word: memory.word(index), proof: memory.proof(index)? });
        }
        let index = u64::from(copy.copied / 32);
        witness.buffer =
            Some(WordWitness { word: self.buffer.word(index), proof: self.buffer.proof(index)? });
        Ok(())
    }

    /// Copies the next word into the buffer.
    fn advance_buffer(&mut self, copy: BufferCopy) -> Result<BufferCopy> {
        let n = (copy.len - copy.copied).min(32);
        let from = u64::from(copy.offset) + u64::from(copy.copied);
        let mut word = [0u8; 32];
        let memory = &self.frame.snapshot.memory;
        for k in 0..u64::from(n) {
            let at = from + k;
            word[k as usize] = memory.word(at / 32)[(at % 32) as usize];
        }
        self.buffer.write(u64::from(copy.copied), &word[..n as usize])?;
        Ok(BufferCopy { copied: copy.copied + n, root: self.buffer.root(), ..copy })
    }

    /// Charges `gas` to the current frame; `Err` (unsupported: the halting step covers it)
    /// when it runs out.
    fn charge(&mut self, opcode: u8, gas: u64) -> Result<()> {
        let frame = &mut self.frame.snapshot;
        frame.gas =
            frame.gas.checked_sub(gas).ok_or_else(|| unsupported(opcode, "exceptional halt"))?;
        Ok(())
    }

    /// Expands memory over `[offset, offset + len)` (`len > 0`), charging it.
    fn expand(&mut self, opcode: u8, offset: U256, len: u64) -> Result<u64> {
        let offset = u64::try_from(offset)
            .ok()
            .filter(|o| *o <= u64::from(u32::MAX))
            .ok_or_else(|| unsupported(opcode, "exceptional halt"))?;
        let words = (offset + len).div_ceil(32);
        if words > 1 << WORD_TREE_DEPTH {
            return Err(unsupported(opcode, "exceptional halt"));
        }
        let current = self.frame.snapshot.memory.len() / 32;
        if words > current {
            self.charge(opcode, memory_cost(words) - memory_cost(current))?;
            self.frame.snapshot.memory.expand(words * 32);
        }
        Ok(offset)
    }

    /// Warms `address`; whether it was cold.
    pub(super) fn warm(&mut self, address: Address) -> Result<bool> {
        if warm_by_rule(address, self.block.coinbase)
            || self.world.tries().contains(self.world.roots.warm_addresses, address_key(address))?
        {
            return Ok(false);
        }
        self.world.warm_address(address)?;
        Ok(true)
    }

    /// The opening step of a boundary opcode (the executor's `Step::boundary`).
    fn open(&mut self, opcode: u8) -> Result<()> {
        let info = OPCODES[opcode as usize];
        let items = self.frame.snapshot.stack.items().to_vec();
        let inputs = usize::from(info.inputs);
        let base = items
            .len()
            .checked_sub(inputs)
            .ok_or_else(|| unsupported(opcode, "exceptional halt"))?;
        let arg = |k: usize| items[items.len() - 1 - k];
        let length = |v: U256| {
            u32::try_from(v).map(u64::from).map_err(|_| unsupported(opcode, "exceptional halt"))
        };
        let kind = match opcode {
            0xf1 => FrameKind::Call,
            0xf2 => FrameKind::CallCode,
            0xf4 => FrameKind::DelegateCall,
            0xfa => FrameKind::StaticCall,
            _ => FrameKind::Transaction,
        };
        let is_static = self.frame.snapshot.is_static;
        let writes = matches!(opcode, 0xf0 | 0xf5 | 0xff);
        if is_static && (writes || (kind == FrameKind::Call && !arg(2).is_zero())) {
            return Err(unsupported(opcode, "exceptional halt"));
        }
        self.charge(opcode, info.static_gas)?;
        self.frame.snapshot.stack.sync(&items[..base]);
        match opcode {
            0xf3 | 0xfd => {
                let success = opcode == 0xf3;
                let len = length(arg(1))?;
                if len == 0 {
                    self.pending = Some(Pending::Exit(FrameExit::empty(success)));
                } else {
                    let offset = self.expand(opcode, arg(0), len)?;
                    self.buffer = WordTree::empty();
                    let copy = BufferCopy::new(offset as u32, len as u32);
                    self.pending = Some(Pending::Output { success, copy });
                }
            }
            0xff => self.selfdestruct(Address::from_word(B256::from(arg(0))))?,
            0xf0 | 0xf5 => {
                let create2 = opcode == 0xf5;
                let len = length(arg(2))?;
                let mut offset = 0;
                if len > 0 {
                    if len > MAX_INIT_CODE_SIZE {
                        return Err(unsupported(opcode, "exceptional halt"));
                    }
                    let words = len.div_ceil(32);
                    self.charge(opcode, INIT_CODE_WORD_GAS * words)?;
                    offset = self.expand(opcode, arg(1), len)?;
                    if create2 {
                        self.charge(opcode, CREATE2_HASH_WORD_GAS * words)?;
                    }
                }
                let left = self.frame.snapshot.gas;
                let gas = left - left / 64;
                self.charge(opcode, gas)?;
                self.buffer = WordTree::empty();
                self.pending = Some(Pending::Create(CreatePending {
                    kind: if create2 { FrameKind::Create2 } else { FrameKind::Create },
                    value: arg(0),
                    salt: if create2 { B256::from(arg(3)) } else { B256::ZERO },
                    gas,
                    input: BufferCopy::new(offset as u32, len as u32),
                }));
            }
            _ => {
                let has_value = matches!(kind, FrameKind::Call | FrameKind::CallCode);
                let to = Address::from_word(B256::from(arg(1)));
                let value = if has_value { arg(2) } else { U256::ZERO };
                let first = if has_value { 3 } else { 2 };
                let in_len = length(arg(first + 1))?;
                let in_offset =
                    if in_len > 0 { self.expand(opcode, arg(first), in_len)? } else { 0 };
                let out_len = length(arg(first + 3))?;
                let out_offset =
                    if out_len > 0 { self.expand(opcode, arg(first + 2), out_len)? } else { 0 };
                if !value.is_zero() {
                    self.charge(opcode, CALL_VALUE_GAS)?;
                }
                if self.warm(to)? {
                    self.charge(opcode, COLD_ACCOUNT_SURCHARGE)?;
                }
                if kind == FrameKind::Call
                    && !value.is_zero()
                    && self.world.account(to)?.as_ref().is_none_or(is_empty)
                {
                    self.charge(opcode, NEW_ACCOUNT_GAS)?;
                }
                let left = self.frame.snapshot.gas;
                let gas = u64::try_from(arg(0)).unwrap_or(u64::MAX).min(left - left / 64);
                self.charge(opcode, gas)?;
                let me = self.frame.snapshot.address;
                let delegate = kind == FrameKind::DelegateCall;
                self.buffer = WordTree::empty();
                self.pending = Some(Pending::Call(CallPending {
                    kind,
                    is_static: is_static || kind == FrameKind::StaticCall,
                    target: if matches!(kind, FrameKind::Call | FrameKind::StaticCall) {
                        to
                    } else {
                        me
                    },
                    caller: if delegate { self.frame.snapshot.caller } else { me },
                    code_address: to,
                    value: if delegate { self.frame.snapshot.value } else { value },
                    transfer: !delegate,
                    gas: gas + if value.is_zero() { 0 } else { CALL_STIPEND },
                    return_window: (out_offset as u32, out_len as u32),
                    input: BufferCopy::new(in_offset as u32, in_len as u32),
                }));
            }
        }
        Ok(())
    }

    /// SELFDESTRUCT's effects (the executor's `Step::selfdestruct`); the frame ends.
    fn selfdestruct(&mut self, beneficiary: Address) -> Result<()> {
        let me = self.frame.snapshot.address;
        let cold = self.warm(beneficiary)?;
        let mine = or_empty(self.world.account(me)?);
        let theirs = self.world.account(beneficiary)?;
        let mut cost = if cold { SELFDESTRUCT_COLD_GAS } else { 0 };
        if !mine.balance.is_zero() && theirs.as_ref().is_none_or(is_empty) {
            cost += NEW_ACCOUNT_GAS;
        }
        self.charge(0xff, cost)?;
        let created = self.world.tries().contains(self.world.roots.created, address_key(me))?;
        if beneficiary != me {
            if !mine.balance.is_zero() {
                let mut account = or_empty(theirs);
                account.balance += mine.balance;
                self.world.put_account(beneficiary, Some(account))?;
                self.world.put_account(me, Some(TrieAccount { balance: U256::ZERO, ..mine }))?;
            } else if theirs.as_ref().is_some_and(is_empty) {
                self.touch(beneficiary);
            }
        } else if created && !mine.balance.is_zero() {
            self.world.put_account(me, Some(TrieAccount { balance: U256::ZERO, ..mine }))?;
        }
        if created {
            let below = self.accumulators.selfdestructs.acc;
            self.accumulators.selfdestructs = append_address(self.accumulators.selfdestructs, me);
            self.items.selfdestructs.push((below, me));
        }
        self.pending = Some(Pending::Exit(FrameExit::empty(true)));
        Ok(())
    }

    /// Restores `checkpoint` (with its accumulators' preimage).
    pub(super) fn restore(&mut self, c: &Checkpoint, accumulators: TxAccumulators) {
        self.world.roots.state_root = c.state_root;
        self.world.roots.warm_addresses = c.warm_addresses;
        self.world.roots.warm_slots = c.warm_slots;
        self.world.roots.transient = c.transient;
        self.world.roots.created = c.created;
        self.state.refund = c.refund;
        self.state.logs = c.logs;
        self.accumulators = accumulators;
        self.items.truncate_to(&accumulators);
    }

    /// The current frame resumes after a call (the executor's `Step::resume_caller`).
    fn resume(&mut self, window: (u32, u32), pushed: U256, gas: u64, output: WordTree) {
        let frame = &mut self.frame.snapshot;
        frame.gas += gas;
        let mut items = frame.stack.items().to_vec();
        items.push(pushed);
        frame.stack.sync_above(&items, items.len() - 1);
        let root = output.root();
        let len = output.len() as u32;
        frame.returndata = Arc::new(output);
        let n = len.min(window.1);
        if n == 0 {
            frame.pc += 1;
            self.pending = None;
        } else {
            self.pending = Some(Pending::Copy(CopyState {
                source: CopySource::Returndata,
                source_root: root,
                source_len: len,
                source_offset: 0,
                dest: CopyDest::Memory,
                dest_offset: window.0,
                remaining: n,
            }));
        }
    }

    /// The bytes of the buffer being filled (its first `len`).
    fn buffer_bytes(&self, len: u32) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(len as usize);
        for index in 0..u64::from(len).div_ceil(32) {
            bytes.extend_from_slice(self.buffer.word(index).as_slice());
        }
        bytes.truncate(len as usize);
        bytes
    }

    /// Ends a call or create without a new frame: `pushed` pushed, `gas` returned.
    fn end_early(&mut self, gas: u64, pushed: U256) {
        let frame = &mut self.frame.snapshot;
        frame.gas += gas;
        frame.returndata = Arc::new(WordTree::empty());
        let mut items = frame.stack.items().to_vec();
        items.push(pushed);
        frame.stack.sync_above(&items, items.len() - 1);
        frame.pc += 1;
        self.pending = None;
    }

    fn end_call_early(&mut self, call: &CallPending, success: bool) {
        self.end_early(call.gas, U256::from(u8::from(success)));
    }

    /// Makes `callee` current, the current frame pushed onto the caller chain.
    fn push_frame(&mut self, callee: HeldFrame) {
        let below = self.chain();
        let caller = std::mem::replace(&mut self.frame, callee);
        self.callers.push((caller, below));
        self.pending = None;
    }

    /// The entry step of CREATE and CREATE2 (the executor's `Step::enter_create`).
    fn enter_create(&mut self, create: &CreatePending) -> Result<()> {
        if self.depth() >= CALL_DEPTH_LIMIT {
            self.end_early(create.gas, U256::ZERO);
            return Ok(());
        }
        let me = self.frame.snapshot.address;
        let creator = or_empty(self.world.account(me)?);
        if creator.balance < create.value || creator.nonce == u64::MAX {
            self.end_early(create.gas, U256::ZERO);
            return Ok(());
        }
        let init = self.buffer_bytes(create.input.len);
        let salt = (create.kind == FrameKind::Create2).then_some(create.salt);
        match self.create_account(
            create.kind,
            me,
            creator,
            create.value,
            salt,
            &init,
            create.gas,
        )? {
            Some(callee) => {
                self.buffer = WordTree::empty();
                self.push_frame(callee);
            }
            None => self.end_early(0, U256::ZERO),
        }
        Ok(())
    }

    /// The part of a create's entry shared by CREATE, CREATE2 and a creation transaction (the
    /// executor's `Step::create_account`): the init frame with `gas`, or `None` on a collision.
    #[expect(clippy::too_many_arguments, reason = "the create's parameters, each used once")]
    pub(super) fn create_account(
        &mut self,
        kind: FrameKind,
        creator: Address,
        account: TrieAccount,
        value: U256,
        salt: Option<B256>,
        init: &[u8],
        gas: u64,
    ) -> Result<Option<HeldFrame>> {
        let address = created_address(creator, account.nonce, salt, init);
        let bumped = TrieAccount { nonce: account.nonce + 1, ..account };
        self.world.put_account(creator, Some(bumped))?;
        self.warm(address)?;
        let checkpoint = self.checkpoint_now();
        let accumulators = self.accumulators;
        let target = or_empty(self.world.account(address)?);
        if target.code_hash != KECCAK_EMPTY
            || target.nonce != 0
            || target.storage_root != EMPTY_ROOT_HASH
        {
            return Ok(None);
        }
        let balance = target.balance + value;
        self.world.put_account(address, Some(TrieAccount { nonce: 1, balance, ..target }))?;
        if !value.is_zero() {
            let balance = bumped.balance - value;
            self.world.put_account(creator, Some(TrieAccount { balance, ..bumped }))?;
        }
        self.world.mark_created(address)?;
        let snapshot = FrameSnapshot {
            kind,
            is_static: false,
            address,
            caller: creator,
            value,
            code: Arc::new(CodeTree::new(init)?),
            pc: 0,
            gas,
            stack: Stack::new(&[]),
            memory: WordTree::empty(),
            calldata: Arc::new(WordTree::empty()),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: checkpoint.hash(),
        };
        Ok(Some(HeldFrame { snapshot, checkpoint, accumulators }))
    }

    /// The entry step (the executor's `Step::enter`).
    fn enter(&mut self, call: &CallPending) -> Result<()> {
        if self.depth() >= CALL_DEPTH_LIMIT {
            self.end_call_early(call, false);
            return Ok(());
        }
        let checkpoint = self.checkpoint_now();
        let accumulators_at_entry = self.accumulators;
        let code_account = self.world.account(call.code_address)?;
        if call.transfer {
            let from = self.frame.snapshot.address;
            let sender = or_empty(self.world.account(from)?);
            if sender.balance < call.value {
                self.end_call_early(call, false);
                return Ok(());
            }
            let receiver = self.world.account(call.target)?;
            if !call.value.is_zero() && from != call.target {
                self.world.put_account(
                    from,
                    Some(TrieAccount { balance: sender.balance - call.value, ..sender }),
                )?;
                let mut account = or_empty(self.world.account(call.target)?);
                account.balance += call.value;
                self.world.put_account(call.target, Some(account))?;
            } else if call.value.is_zero() && receiver.as_ref().is_some_and(is_empty) {
                self.touch(call.target);
            }
        }
        if is_precompile(call.code_address) {
            let input = self.buffer_bytes(call.input.len);
            let (success, left, output) = precompile(call.code_address, &input, call.gas)
                .ok_or_else(|| unsupported(0xf1, "not a Cancun precompile"))?;
            if !success {
                self.restore(&checkpoint, accumulators_at_entry);
            }
            let output = WordTree::from_bytes(&output)?;
            self.resume(call.return_window, U256::from(u8::from(success)), left, output);
            return Ok(());
        }
        let code = match code_account.map(|a| a.code_hash).filter(|h| *h != KECCAK_EMPTY) {
            None => Bytes::new(),
            Some(hash) => self
                .codes
                .get(&hash)
                .cloned()
                .ok_or_else(|| unsupported(0xf1, "the prover lacks the callee's code"))?,
        };
        if code.is_empty() {
            self.end_call_early(call, true);
            return Ok(());
        }
        let callee = FrameSnapshot {
            kind: call.kind,
            is_static: call.is_static,
            address: call.target,
            caller: call.caller,
            value: call.value,
            code: Arc::new(CodeTree::new(&code)?),
            pc: 0,
            gas: call.gas,
            stack: Stack::new(&[]),
            memory: WordTree::empty(),
            calldata: Arc::new(std::mem::replace(&mut self.buffer, WordTree::empty())),
            returndata: Arc::new(WordTree::empty()),
            return_window: call.return_window,
            checkpoint: checkpoint.hash(),
        };
        self.push_frame(HeldFrame {
            snapshot: callee,
            checkpoint,
            accumulators: accumulators_at_entry,
        });
        Ok(())
    }

    /// The end step (the executor's `Step::end_transaction`); whether the transaction
    /// succeeded.
    fn end_transaction(&mut self, exit: &FrameExit, tx: &TxContext) -> Result<bool> {
        let top = self.frame.clone();
        let snapshot = &top.snapshot;
        let output = if exit.output.len == 0 {
            WordTree::empty()
        } else {
            std::mem::replace(&mut self.buffer, WordTree::empty())
        };
        let mut success = exit.success;
        let mut left = snapshot.gas;
        if success && matches!(snapshot.kind, FrameKind::Create | FrameKind::Create2) {
            match self.deposit_code(&output, exit.output.len) {
                Some(code) if CODE_DEPOSIT_BYTE_GAS * code.len() as u64 <= left => {
                    left -= CODE_DEPOSIT_BYTE_GAS * code.len() as u64;
                    let account = self
                        .world
                        .account(snapshot.address)?
                        .ok_or_else(|| unsupported(0xf0, "the created account is missing"))?;
                    let code_hash = alloy_primitives::keccak256(&code);
                    self.world.put_account(
                        snapshot.address,
                        Some(TrieAccount { code_hash, ..account }),
                    )?;
                }
                _ => (success, left) = (false, 0),
            }
        }
        if !success {
            self.restore(&top.checkpoint, top.accumulators);
        }
        self.settle(success, left, tx)?;
        Ok(success)
    }

    /// The fee settlement ending a transaction that ran (the executor's
    /// `Step::settle_transaction`).
    pub(super) fn settle(&mut self, success: bool, left: u64, tx: &TxContext) -> Result<()> {
        let (gas_used, back, reward) =
            settle_fees(tx.gas_limit, left, self.state.refund, tx.gas_price, self.block.base_fee)
                .ok_or_else(|| unsupported(0, "the top frame's gas or the fees are out of range"))?;
        let origin = or_empty(self.world.account(tx.origin)?);
        self.world.put_account(
            tx.origin,
            Some(TrieAccount { balance: origin.balance + back, ..origin }),
        )?;
        let coinbase = self.world.account(self.block.coinbase)?;
        if !reward.is_zero() {
            let account = or_empty(coinbase);
            let balance = account.balance + reward;
            self.world
                .put_account(self.block.coinbase, Some(TrieAccount { balance, ..account }))?;
        } else if coinbase.as_ref().is_some_and(is_empty) {
            self.touch(self.block.coinbase);
        }
        self.ended = true;
        self.conclude(TxEnd { success, gas_used });
        Ok(())
    }

    /// A deletion step (the executor's `Step::deletion_step`): pops the last selfdestruct or,
    /// when none is left, the last touched account.
    fn delete(&mut self, selfdestructed: bool, end: TxEnd) -> Result<()> {
        let (chain, list) = if selfdestructed {
            (&mut self.accumulators.selfdestructs, &mut self.items.selfdestructs)
        } else {
            (&mut self.accumulators.touched, &mut self.items.touched)
        };
        let (rest, address) =
            list.pop().ok_or_else(|| unsupported(0, "no accumulator item to pop"))?;
        *chain = super::Chain { count: chain.count - 1, acc: rest };
        let account = self.world.account(address)?;
        if account.as_ref().is_some_and(|a| selfdestructed || is_empty(a)) {
            self.world.put_account(address, None)?;
        }
        self.conclude(end);
        Ok(())
    }

    /// Leaves `end` pending; final once both chains are empty (the executor's
    /// `Step::conclude`).
    fn conclude(&mut self, end: TxEnd) {
        self.pending = Some(Pending::TxEnd(end));
        if self.accumulators.touched.count == 0 && self.accumulators.selfdestructs.count == 0 {
            self.state.status = if end.success { Status::Succeeded } else { Status::Failed };
        }
    }

    /// The exit step (the executor's `Step::exit`).
    fn exit(&mut self, exit: &FrameExit) -> Result<()> {
        let (caller, _) = self.callers.pop().ok_or_else(|| unsupported(0, "transaction end"))?;
        let callee = std::mem::replace(&mut self.frame, caller);
        let snapshot = &callee.snapshot;
        let output = if exit.output.len == 0 {
            WordTree::empty()
        } else {
            std::mem::replace(&mut self.buffer, WordTree::empty())
        };
        if !matches!(snapshot.kind, FrameKind::Create | FrameKind::Create2) {
            if !exit.success {
                self.restore(&callee.checkpoint, callee.accumulators);
            }
            let flag = U256::from(u8::from(exit.success));
            self.resume(snapshot.return_window, flag, snapshot.gas, output);
            return Ok(());
        }
        // A create frame (spec §6.4): deposit the code, or fail.
        let code = self.deposit_code(&output, exit.output.len);
        let deposited = match code {
            Some(code)
                if exit.success && CODE_DEPOSIT_BYTE_GAS * code.len() as u64 <= snapshot.gas =>
            {
                let account = self
                    .world
                    .account(snapshot.address)?
                    .ok_or_else(|| unsupported(0xf0, "the created account is missing"))?;
                let code_hash = alloy_primitives::keccak256(&code);
                self.world
                    .put_account(snapshot.address, Some(TrieAccount { code_hash, ..account }))?;
                Some(snapshot.gas - CODE_DEPOSIT_BYTE_GAS * code.len() as u64)
            }
            _ => None,
        };
        match deposited {
            Some(left) => {
                let address = U256::from_be_slice(snapshot.address.as_slice());
                self.resume((0, 0), address, left, WordTree::empty());
            }
            None => {
                // REVERT keeps its gas and output; a halt has neither; a failed deposit
                // consumes the gas.
                self.restore(&callee.checkpoint, callee.accumulators);
                let (left, returned) =
                    if exit.success { (0, WordTree::empty()) } else { (snapshot.gas, output) };
                self.resume((0, 0), U256::ZERO, left, returned);
            }
        }
        Ok(())
    }

    /// The code a create frame's `output` (of `len` bytes) deposits when it may (EIP-170's
    /// size, EIP-3541's first byte); `None` when it may not.
    fn deposit_code(&self, output: &WordTree, len: u32) -> Option<Vec<u8>> {
        if len as usize > MAX_CODE_SIZE {
            return None;
        }
        let mut code = Vec::with_capacity(len as usize);
        for index in 0..u64::from(len).div_ceil(32) {
            code.extend_from_slice(output.word(index).as_slice());
        }
        code.truncate(len as usize);
        (code.first() != Some(&0xef)).then_some(code)
    }
}
