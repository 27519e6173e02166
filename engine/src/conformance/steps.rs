//! Step conformance: every step revm executes is checked against the one-step executor.
//!
//! [`StepChecker`] is a revm inspector that keeps each live frame as a [`FrameSnapshot`] whose
//! commitments it maintains incrementally (the stack's hash chain, the memory word tree). At
//! each step of a frame it first settles the frame's previous step — the executor's predicted
//! post-state commitment must equal the commitment of the state revm reached — then builds the
//! witness of the new step and runs the executor on it. A step the executor does not run is
//! counted as unsupported under its kind, never as passing.
//!
//! An instruction over unbounded data (KECCAK256, the copies, LOG0–LOG4) is several machine
//! steps (spec §5.5): the checker runs the executor on its opening step, then on each
//! micro-step, whose witness the prover ([`MicroRun`]) builds from its own model of the
//! pending state, each fed the executor's previous output as its pre-state; the commitment
//! after the last micro-step is settled against revm's state like any other post-state, and
//! every micro-step counts as checked only when it matches. EXTCODECOPY's opening step reads
//! the world as well (an account access and the account's code): like the world steps, it is
//! checked only when the world is, and the prover opens it over the tracked world.
//!
//! A step that ends its frame (STOP, an exceptional halt) leaves a pending frame exit; it is
//! settled when revm ends the frame, against revm's outcome (success for STOP, an error for a
//! halt).
//!
//! Frame boundaries (spec §6) are checked as chains (`boundary.rs`): at a CALL-family or
//! CREATE opcode the prover ([`BoundaryRun`]) builds the opening step, the input (init-code)
//! micro-steps and the entry step over the tracked world, the executor runs each on its
//! previous output, and the state after the entry is settled at the callee's first
//! instruction against the frame revm started (or, for a call or create that ends at entry —
//! no code, too deep, too little balance, a nonce at its limit, a collision —, at the caller's
//! next instruction); a create frame's exit deposits its code. RETURN, REVERT and SELFDESTRUCT run their ending step,
//! output micro-steps, the exit step and the copy into the caller's return window; after STOP
//! or a halt, the exit step runs once revm has ended the frame. The caller's state after the
//! exit is settled at its next instruction, so every boundary step counts as checked only
//! when revm's state agrees. Boundary steps are always checked, sampled or not.
//!
//! Scope: the check covers each frame's own state, the caller chain, the frames' checkpoints,
//! the block and transaction contexts (spec §4.4), read from revm's context, the log chain,
//! kept per transaction from the logs revm emits, and — when the checker is given the
//! pre-state ([`StepChecker::with_pre_state`]) — the world: state root, warm sets, transient
//! storage (kept by replaying revm's journal, see `world.rs`) and the refund counter (revm's
//! per-frame refunds summed over the live frames) and the `created` set (from revm's
//! account-created journal entries). The top frame's end runs the transaction's end steps
//! (spec §8.2) to the final state, whose state root, status and gas used must equal revm's
//! committed result ([`StepChecker::finish`]).
//!
//! The transaction's begin (spec §8.1), when the checker is given the signed envelope
//! ([`StepChecker::with_envelope`]): from the begin state over the pre-state, the prover runs
//! the begin step, the access-list steps and the entry step, the executor each on its previous
//! output; the state after the entry is settled at the top frame's first instruction against
//! revm's. When revm runs no frame, the chain must end where revm did: an invalid transaction
//! (revm rejected it) with the state unchanged, or — a callee without code, a precompile, a
//! creation's collision — a final state checked like any other.

use super::{
    boundary::{Begun, Counts, Final, Stopped, drive, drive_begin},
    world::WorldTracker,
};
use crate::Result;
use crate::machine::{
    AccumulatorItems, BlockContext, BoundaryRun, Bytes32Tree, Chain, Checkpoint, CodeTree,
    Contexts, Family, FrameExit, FrameKind, FrameSnapshot, HeldFrame, MachineState, MicroRun,
    MicroStepKind, OPCODES, Pending, PendingKind, Stack, Status, TxAccumulators, WordTree, World,
    WorldView, execute, execute_to_state, hash_pair, log_item, reads_world,
};
use crate::trace::world::{prove_world, world_contexts};
use alloy_primitives::{B256, Bytes, Log, U256, keccak256};
use revm::{
    Inspector,
    bytecode::opcode::OPCODE_INFO,
    context::ContextTr,
    database::CacheState,
    inspector::JournalExt,
    interpreter::{
        CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, CreateScheme,
        InstructionResult, Interpreter,
        interpreter_types::{InputsTr, Jumps, ReturnData, RuntimeFlag},
    },
};
use std::{collections::BTreeMap, collections::HashMap, sync::Arc};

/// Which steps to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepSelection {
    /// Every step.
    All,
    /// Every `n`-th step, plus the first occurrence of every opcode in each case, so a sample
    /// still covers every opcode present.
    Sample(u64),
}

/// What a step check found, per case or summed over cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Steps revm executed.
    pub steps: u64,
    /// Machine steps executed by the one-step executor and compared with revm: an instruction
    /// run as micro-steps (spec §5.5) counts its opening step and each micro-step, so this may
    /// exceed [`StepReport::steps`].
    pub checked: u64,
    /// Steps whose post-state differed from revm's (each described), at most
    /// [`StepReport::MAX_LISTED`] listed per case.
    pub mismatches: Vec<String>,
    /// How many mismatches there were in all.
    pub mismatch_count: u64,
    /// Steps the executor does not run yet, by kind (`SLOAD`, `CALL`, `exceptional halt`, ...).
    pub unsupported: BTreeMap<String, u64>,
    /// Steps checked, by opcode name; the micro-steps after an opening step under
    /// `NAME/kind` (`KECCAK256/absorb`, `KECCAK256/pad`, `CALLDATACOPY/word`, ...), so the
    /// counts sum to [`StepReport::checked`].
    pub checked_by_opcode: BTreeMap<String, u64>,
}

impl StepReport {
    /// The most mismatches listed per case.
    pub const MAX_LISTED: usize = 5;

    /// Unsupported steps in all.
    pub fn unsupported_count(&self) -> u64 {
        self.unsupported.values().sum()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Self) {
        self.steps += other.steps;
        self.checked += other.checked;
        self.mismatch_count += other.mismatch_count;
        self.mismatches.extend(other.mismatches);
        for (kind, n) in other.unsupported {
            *self.unsupported.entry(kind).or_default() += n;
        }
        for (kind, n) in other.checked_by_opcode {
            *self.checked_by_opcode.entry(kind).or_default() += n;
        }
    }

    fn mismatch(&mut self, what: String) {
        self.mismatch_count += 1;
        if self.mismatches.len() < Self::MAX_LISTED {
            self.mismatches.push(what);
        }
    }
}

/// The executor's prediction for a frame's step, settled at the frame's next step or end.
#[derive(Clone, Copy, Debug)]
enum Prediction {
    /// The post-state commitment the executor computed, after `micro` micro-steps (counted
    /// by [`MicroStepKind`]: absorb, pad, word) following the opening step, and the boundary
    /// steps of `boundary` (spec §6).
    Post { commitment: B256, opcode: u8, pc: u32, micro: [u64; 3], boundary: Counts },
    /// The executor ended the frame (STOP or an exceptional halt): revm must end it here,
    /// with success iff `success`.
    Exit { commitment: B256, opcode: u8, pc: u32, success: bool },
    /// The transaction's begin steps (spec §8.1) entered the top frame: its first state.
    Begun { commitment: B256, boundary: Counts },
    /// The executor left the frame through its exit step (the prediction for where it went
    /// sits on the caller): revm must end the frame here.
    Left { opcode: u8, pc: u32 },
    /// The top frame ended with RETURN, REVERT or SELFDESTRUCT: revm must end it here with
    /// this success, gas left and output (its exit is the transaction's end).
    /// (For a creation, revm's end is after the code deposit: only the final state, checked by
    /// [`StepChecker::finish`], compares.) `last` is the final state the end steps reached.
    Ended {
        opcode: u8,
        pc: u32,
        success: bool,
        gas: u64,
        output: Bytes32Tree,
        boundary: Counts,
        create: bool,
        last: Final,
    },
}

/// How revm ended a frame: success or not, and the gas left.
#[derive(Clone, Copy, Debug)]
struct FrameEnd {
    success: bool,
    gas: u64,
    /// The output's word-tree commitment (spec §2.1).
    output: Bytes32Tree,
}

impl FrameEnd {
    fn of(result: InstructionResult, gas: u64, output: &[u8]) -> Self {
        let tree = WordTree::from_bytes(output).unwrap_or_else(|_| WordTree::empty());
        let output = Bytes32Tree { len: output.len() as u32, root: tree.root() };
        Self { success: result.is_ok(), gas, output }
    }
}

/// A callee the executor entered at a call's entry step, waiting for revm to start it.
#[derive(Clone, Debug)]
struct Entering {
    commitment: B256,
    opcode: u8,
    pc: u32,
    boundary: Counts,
    callee: HeldFrame,
    callers: (u16, B256),
    caller: (HeldFrame, B256),
}

#[derive(Debug)]
struct LiveFrame {
    snapshot: FrameSnapshot,
    /// The opcode of the frame's previous step, which bounds what it changed.
    last_opcode: Option<u8>,
    /// The memory region `(start, len)` in bytes the previous step may have written.
    last_write: Option<(u64, u64)>,
    /// Whether the snapshot was brought up to revm's state at the previous step (else the
    /// next sync compares everything).
    synced: bool,
    /// A call or create ran since the last sync, so the return data may have changed.
    call_since_sync: bool,
    returndata: Bytes,
    prediction: Option<Prediction>,
    /// The frame's code is past the machine's bound: its steps are all unsupported.
    oversized_code: bool,
    /// The refund counter when the frame started (its callers' refunds so far), in gas.
    refund_base: i64,
    /// revm's refund of this frame at its last step (its own and its finished callees').
    refunded: i64,
    /// What the frame restores when it fails (spec §4.3) and the accumulators it entered
    /// with.
    checkpoint: Checkpoint,
    entry_accumulators: TxAccumulators,
    /// The caller chain while this frame is current: `(depth, accumulator)`.
    callers: (u16, B256),
    /// The caller as the entry step pushed it, with the chain below it (`None` for the top
    /// frame, and for callees whose entry was not checked: their exits are not run).
    caller: Option<(HeldFrame, B256)>,
}

/// The inspector that checks steps as revm executes them; see the module docs.
#[derive(Debug)]
pub struct StepChecker {
    selection: StepSelection,
    frames: Vec<LiveFrame>,
    /// Frame count at each CALL/CREATE, to pop the callee (if one ran) at its end.
    calls: Vec<usize>,
    next_kind: Option<FrameKind>,
    codes: HashMap<B256, Arc<CodeTree>>,
    /// Recent calldata trees: deep recursions pass the same (large) calldata down, and a
    /// byte comparison is far cheaper than rebuilding the tree.
    calldatas: Vec<(Bytes, Arc<WordTree>)>,
    seen: [bool; 256],
    /// The block and transaction contexts, read from revm when the top frame starts.
    contexts: Option<Contexts>,
    /// The world, when the pre-state is known.
    world: Option<WorldTracker>,
    /// The transaction's log chain (spec §2.5), from the logs revm emitted.
    logs: Chain,
    /// The log chain at each CALL/CREATE, restored when the callee fails.
    log_checkpoints: Vec<Chain>,
    /// The transaction's accumulators (spec §4.4), as the boundary steps left them.
    accumulators: TxAccumulators,
    /// The items of `accumulators`' chains.
    items: AccumulatorItems,
    /// A callee the executor entered, for revm's next frame.
    entering: Option<Entering>,
    /// The transaction creates a contract: its frame is a create frame.
    top_is_create: bool,
    /// The transaction's checkpoint, taken when revm began its frame.
    top_checkpoint: Option<Checkpoint>,
    /// The final state the executor reached at the transaction's end, once settled against
    /// revm's end of the top frame; checked against revm's outcome by [`Self::finish`].
    last: Option<Final>,
    /// The top frame ended (its end was settled, whether or not the end steps ran).
    top_ended: bool,
    /// The transaction's begin to check (spec §8.1), until its chain runs.
    begin: Option<BeginInput>,
    /// The top frame's first state as the begin steps reached it, until settled.
    begun: Option<Box<(MachineState, crate::machine::Frame)>>,
    report: StepReport,
}

/// A transaction's begin, to check: its envelope, its block and the world before it.
#[derive(Debug)]
struct BeginInput {
    envelope: Bytes,
    block: BlockContext,
    block_gas_used: u64,
    world: World,
}

/// What revm reported for the transaction, to check the final state against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// The state root after the transaction, its deletions included.
    pub state_root: B256,
    /// The receipt's status.
    pub success: bool,
    /// The gas used, the refund deducted.
    pub gas_used: u64,
}

impl StepChecker {
    /// A checker for one transaction.
    pub fn new(selection: StepSelection) -> Self {
        Self {
            selection,
            frames: Vec::new(),
            calls: Vec::new(),
            next_kind: None,
            codes: HashMap::new(),
            calldatas: Vec::new(),
            seen: [false; 256],
            contexts: None,
            world: None,
            logs: Chain::default(),
            log_checkpoints: Vec::new(),
            accumulators: TxAccumulators::default(),
            items: AccumulatorItems::default(),
            entering: None,
            top_is_create: false,
            top_checkpoint: None,
            last: None,
            top_ended: false,
            begin: None,
            begun: None,
            report: StepReport::default(),
        }
    }

    /// Checks the transaction's begin too (spec §8.1): from the begin state of the signed
    /// EIP-2718 `envelope` in `block` (the first of its block), the begin, access-list and
    /// entry steps must reach revm's first state of the top frame — or, when revm runs no
    /// frame, its outcome (an invalid transaction: the state unchanged). `block_gas_used` is
    /// the gas the block's earlier transactions used. Call after [`Self::with_pre_state`];
    /// without a pre-state nothing is checked. An envelope that could not be built (`Err`, the
    /// reason) is counted as unsupported.
    pub fn with_envelope(
        mut self,
        envelope: std::result::Result<Bytes, String>,
        block: BlockContext,
        block_gas_used: u64,
    ) -> Self {
        match (envelope, &self.world) {
            (Ok(envelope), Some(tracker)) => {
                let world = tracker.world.overlay();
                self.begin = Some(BeginInput { envelope, block, block_gas_used, world });
            }
            (Err(why), Some(_)) => {
                let kind = format!("transaction without an envelope: {why}");
                *self.report.unsupported.entry(kind).or_default() += 1;
            }
            (_, None) => {}
        }
        self
    }

    /// Runs the transaction's begin chain, once.
    fn run_begin(&mut self) -> Option<Result<std::result::Result<(Begun, Counts), String>>> {
        let input = self.begin.take()?;
        let codes = self.world.as_ref()?.codes();
        let mut run = BoundaryRun::begin(
            input.world,
            codes,
            input.block,
            input.envelope,
            input.block_gas_used,
        );
        let mut counts = Counts::default();
        Some(drive_begin(&mut run, &mut counts).map(|r| r.map(|begun| (begun, counts))))
    }

    /// The transaction's begin when revm started its top frame: the prediction of the frame's
    /// first state, and the frame as the entry step made it (its checkpoint is the spec's,
    /// §8.1: revm warms the callee after its own checkpoint, a difference no outcome shows).
    fn begin_prediction(&mut self) -> Option<(Prediction, HeldFrame)> {
        match self.run_begin()? {
            Ok(Ok((
                Begun::Entered { commitment, header, accumulators, items, frame },
                boundary,
            ))) => {
                self.accumulators = accumulators;
                self.items = items;
                self.begun = Some(header);
                Some((Prediction::Begun { commitment, boundary }, *frame))
            }
            Ok(Ok((begun, _))) => {
                self.report.mismatch(format!(
                    "transaction begin: revm ran the top frame, the executor did not enter it \
                     ({})",
                    if matches!(begun, Begun::Invalid { .. }) { "invalid" } else { "no frame" }
                ));
                None
            }
            Ok(Err(why)) => {
                self.report.mismatch(format!("transaction begin: {why}"));
                None
            }
            Err(e) => {
                let kind = format!("transaction begin: {e}");
                *self.report.unsupported.entry(kind).or_default() += 1;
                None
            }
        }
    }

    /// The transaction's begin when revm ran no frame (`outcome`: its result, `None` when it
    /// rejected the transaction): the executor must find the transaction invalid with the
    /// state unchanged, or end it at its entry step (the final state is then checked against
    /// `outcome` by [`Self::finish`]).
    fn begin_without_frame(&mut self, outcome: Option<TxOutcome>) {
        let start = self.world.as_ref().map(|t| t.start_state_root);
        match self.run_begin() {
            None => {}
            Some(Ok(Ok((Begun::Invalid { state_root }, counts)))) if outcome.is_none() => {
                if Some(state_root) == start {
                    self.pass_transaction(counts);
                } else {
                    self.report.mismatch(
                        "transaction begin: an invalid transaction changed the state".into(),
                    );
                }
            }
            Some(Ok(Ok((Begun::Ended(last), counts)))) if outcome.is_some() => {
                self.pass_transaction(counts);
                self.last = Some(last);
                self.top_ended = true;
            }
            Some(Ok(Ok((begun, _)))) => self.report.mismatch(format!(
                "transaction begin: revm {} the transaction, the executor {}",
                if outcome.is_some() { "ran" } else { "rejected" },
                match begun {
                    Begun::Invalid { .. } => "found it invalid",
                    Begun::Entered { .. } => "entered a top frame",
                    Begun::Ended(_) => "ran it",
                }
            )),
            Some(Ok(Err(why))) => self.report.mismatch(format!("transaction begin: {why}")),
            Some(Err(e)) => {
                let kind = format!("transaction begin: {e}");
                *self.report.unsupported.entry(kind).or_default() += 1;
            }
        }
    }

    /// Counts the transaction's begin steps as checked, under `transaction/<kind>`.
    fn pass_transaction(&mut self, counts: Counts) {
        for (kind, n) in counts.named().into_iter().filter(|(_, n)| *n > 0) {
            *self.report.checked_by_opcode.entry(format!("transaction/{kind}")).or_default() += n;
        }
        self.report.checked += counts.total();
    }

    /// Checks the world too (state root, warm sets, transient storage, refunds), starting
    /// from `pre`, the state before the transaction.
    ///
    /// # Errors
    ///
    /// None for a well-formed pre-state (the world's tries are built here).
    pub fn with_pre_state(mut self, pre: &CacheState) -> Result<Self> {
        self.world = Some(WorldTracker::new(pre)?);
        Ok(self)
    }

    /// The report, after the transaction ran (settles any frame still open). With revm's
    /// `outcome`, the executor's final state (spec §8.2) must have its state root, status and
    /// gas used; a transaction whose end the executor did not reach is counted as
    /// unsupported.
    pub fn finish(mut self, outcome: Option<TxOutcome>) -> StepReport {
        while let Some(frame) = self.frames.pop() {
            self.settle_end(frame, None);
        }
        if self.begin.is_some() {
            // No frame ran: the begin chain has not run yet.
            self.begin_without_frame(outcome);
        }
        let Some(outcome) = outcome else { return self.report };
        match self.last {
            Some(last) => {
                let got = TxOutcome {
                    state_root: last.state_root,
                    success: last.end.success,
                    gas_used: last.end.gas_used,
                };
                if got != outcome {
                    self.report.mismatch(format!(
                        "transaction end: the executor's final state ({got:?}) differs from \
                         revm's ({outcome:?})"
                    ));
                }
            }
            None if self.world.is_some() && !self.top_ended => {
                // No frame ran (a transfer, a call to an account without code or to a
                // precompile): the transaction's begin and end are spec §8 steps.
                let kind = "transaction without a frame (spec §8)".to_owned();
                *self.report.unsupported.entry(kind).or_default() += 1;
            }
            None if self.world.is_some() && self.selection == StepSelection::All => {
                // Every step checked, yet the end was not reached: say so (a sample need not
                // check the top frame's last step).
                let kind = "transaction end not reached".to_owned();
                *self.report.unsupported.entry(kind).or_default() += 1;
            }
            None => {}
        }
        self.report
    }

    /// The header around a frame: the contexts, and world-state fields at zero (see the module
    /// docs).
    fn header(&self, frame_hash: B256) -> MachineState {
        let refund = self.frames.last().map(|f| f.refund_base + f.refunded).unwrap_or(0);
        let callers = self.frames.last().map_or((0, B256::ZERO), |f| f.callers);
        self.header_with(frame_hash, refund, callers)
    }

    /// [`Self::header`] with the refund counter and caller chain given (for a frame already
    /// popped).
    fn header_with(&self, frame_hash: B256, refund: i64, callers: (u16, B256)) -> MachineState {
        let mut state = header(frame_hash, self.logs);
        state.callers = callers;
        state.accumulators = self.accumulators.hash();
        if let Some(contexts) = &self.contexts {
            state.block_hash = contexts.block.hash();
            state.tx_hash = contexts.tx.hash();
        }
        if let Some(tracker) = &self.world {
            let roots = tracker.world.roots;
            state.state_root = roots.state_root;
            state.warm_addresses = roots.warm_addresses;
            state.warm_slots = roots.warm_slots;
            state.transient = roots.transient;
            state.created = roots.created;
            state.refund = u64::try_from(refund).unwrap_or_default();
        }
        state
    }

    /// The prover's world for EXTCODECOPY's opening step, when the world is checked.
    fn world_view(&self) -> Option<WorldView<'_>> {
        let (tracker, contexts) = (self.world.as_ref()?, self.contexts.as_ref()?);
        Some(WorldView {
            nodes: tracker.world.store(),
            coinbase: contexts.block.coinbase,
            codes: tracker.codes(),
        })
    }

    /// Completes `witness` with the world nodes (and code) the step reads: the prover runs
    /// the executor once over a recording view of its whole store and keeps what it read.
    fn world_witness(&self, pre: B256, opcode: u8, witness: &mut crate::machine::StepWitness) {
        let Some(tracker) = &self.world else { return };
        if let Some(contexts) = &self.contexts {
            world_contexts(contexts, opcode, witness);
        }
        prove_world(&tracker.world, tracker.codes(), pre, opcode, witness);
    }

    fn selected(&mut self, opcode: u8) -> bool {
        let first = !std::mem::replace(&mut self.seen[opcode as usize], true);
        match self.selection {
            StepSelection::All => true,
            StepSelection::Sample(n) => first || self.report.steps.is_multiple_of(n.max(1)),
        }
    }

    /// A frame ended (`end` is how, when revm said): a predicted exit must match it, and a
    /// predicted post-state is a mismatch (revm left the frame where the executor continued).
    fn settle_end(&mut self, frame: LiveFrame, end: Option<FrameEnd>) {
        if frame.callers.0 == 0 && frame.caller.is_none() {
            self.top_ended = true;
        }
        match frame.prediction {
            Some(Prediction::Begun { .. }) => self.report.mismatch(
                "transaction begin: revm ended the top frame before its first step".into(),
            ),
            Some(Prediction::Post { opcode, pc, .. }) => self.report.mismatch(format!(
                "{} at pc {pc}: revm ended the frame, the executor continued",
                name(opcode)
            )),
            Some(Prediction::Exit { commitment, opcode, pc, success }) => {
                // The exit's post-state as revm left the frame: the step's pre-state with
                // revm's gas (all of it consumed by a halt), and the pending exit.
                let exited = end.filter(|end| end.success == success).map(|end| {
                    let mut snapshot = frame.snapshot.clone();
                    snapshot.gas = if end.success { end.gas } else { 0 };
                    snapshot
                });
                let actual = exited.as_ref().and_then(|snapshot| {
                    let refund = frame.refund_base + frame.refunded;
                    let mut state =
                        self.header_with(snapshot.frame().ok()?.hash(), refund, frame.callers);
                    state.pending_kind = PendingKind::FrameExit;
                    state.pending_hash = FrameExit::empty(success).hash();
                    Some(state)
                });
                if actual.map(|state| state.commitment()) == Some(commitment) {
                    self.pass(opcode, [0; 3], Counts::default());
                    if let (Some(snapshot), Some(state)) = (exited, actual) {
                        self.run_exit(&frame, snapshot, state, success, opcode, pc);
                    }
                } else {
                    self.report.mismatch(format!(
                        "{} at pc {pc}: the executor's frame exit (success {success}) differs \
                         from revm's end of the frame ({end:?})",
                        name(opcode)
                    ));
                }
            }
            Some(Prediction::Left { opcode, pc }) if end.is_none() => {
                self.report.mismatch(format!(
                    "{} at pc {pc}: the executor left the frame, revm did not end it",
                    name(opcode)
                ));
            }
            Some(Prediction::Left { .. }) => {}
            Some(Prediction::Ended {
                opcode,
                pc,
                success,
                gas,
                output,
                boundary,
                create,
                last,
            }) => {
                let agrees = end.is_some_and(|end| {
                    create || (end.success == success && end.gas == gas && end.output == output)
                });
                if agrees {
                    self.pass(opcode, [0; 3], boundary);
                    self.last = Some(last);
                } else {
                    self.report.mismatch(format!(
                        "{} at pc {pc}: the executor's end of the transaction's frame (success \
                         {success}, gas {gas}, output {} bytes) differs from revm's ({end:?})",
                        name(opcode),
                        output.len
                    ));
                }
            }
            None => {}
        }
    }

    /// The exit step after STOP or a halt in a callee whose entry was checked, and the
    /// caller's state after it, predicted on the caller (now the innermost live frame).
    fn run_exit(
        &mut self,
        frame: &LiveFrame,
        snapshot: FrameSnapshot,
        state: MachineState,
        success: bool,
        opcode: u8,
        pc: u32,
    ) {
        let top = frame.callers == (0, B256::ZERO) && frame.caller.is_none();
        if frame.caller.is_none() && !top {
            return; // a frame whose entry was not checked
        }
        let held = HeldFrame {
            snapshot,
            checkpoint: frame.checkpoint,
            accumulators: frame.entry_accumulators,
        };
        let caller = frame.caller.clone();
        let outcome =
            self.boundary_run_of(held, caller, frame.callers, state).and_then(|mut run| {
                run.pending = Some(Pending::Exit(FrameExit::empty(success)));
                let mut counts = Counts::default();
                let stopped = drive(&mut run, state.commitment(), false, &mut counts)?;
                Ok(stopped.map(|stopped| (stopped, counts)))
            });
        match outcome {
            Ok(Ok((Stopped::TopEnded { last, .. }, boundary))) if top => {
                self.pass(opcode, [0; 3], boundary);
                self.last = Some(last);
            }
            Ok(Ok((Stopped::Resumed { commitment, accumulators, items }, boundary))) => {
                self.accumulators = accumulators;
                self.items = items;
                if let Some(caller) = self.frames.last_mut() {
                    caller.prediction =
                        Some(Prediction::Post { commitment, opcode, pc, micro: [0; 3], boundary });
                }
            }
            Ok(Ok(_)) => self.report.mismatch(format!(
                "{} at pc {pc}: the exit did not return to the caller",
                name(opcode)
            )),
            Ok(Err(why)) => {
                self.report.mismatch(format!("{} at pc {pc}: exit: {why}", name(opcode)))
            }
            Err(e) => {
                let kind = format!("{} exit: {e}", name(opcode));
                *self.report.unsupported.entry(kind).or_default() += 1;
            }
        }
    }

    /// Reads the contexts from revm and starts following its journal (the block's coinbase is
    /// warm by rule: the follower must know it before its first sync), once, before the first
    /// frame starts.
    fn start_transaction<CTX: ContextTr<Journal: JournalExt>>(&mut self, context: &mut CTX) {
        if self.contexts.is_some() {
            return;
        }
        let start_state_root = self.world.as_ref().map_or(B256::ZERO, |t| t.start_state_root);
        let contexts = crate::trace::context::contexts(context, start_state_root);
        if let Some(tracker) = &mut self.world {
            let access_list = crate::trace::context::access_list(context);
            if tracker.begin(contexts.block.coinbase, &access_list).is_err() {
                self.world = None; // cannot happen: the store was built here
            }
        }
        self.contexts = Some(contexts);
    }

    /// Brings the world up to revm's journal. Called at each checked or settled step and at
    /// each frame's end: a frame's revert truncates the journal, and a sync before the
    /// caller appends again is what lets the follower see the truncation (between two
    /// sparse syncs a revert followed by new entries would look like growth).
    fn sync_world<CTX: ContextTr<Journal: JournalExt>>(&mut self, context: &mut CTX) {
        if let Some(tracker) = &mut self.world
            && tracker.sync(context).is_err()
        {
            self.world = None; // cannot happen: every node the store needs, it made
            self.report.mismatch("the world could not follow revm's journal".into());
        }
    }

    /// The checkpoint a frame entered now restores (spec §4.3).
    fn checkpoint_now(&self) -> Checkpoint {
        let state = self.header(B256::ZERO);
        Checkpoint {
            state_root: state.state_root,
            warm_addresses: state.warm_addresses,
            warm_slots: state.warm_slots,
            transient: state.transient,
            created: state.created,
            refund: state.refund,
            logs: state.logs,
            accumulators: state.accumulators,
        }
    }

    /// A creation transaction's checkpoint: the world now with the sender's nonce bumped and
    /// the new address warm (written into the world's store, the roots then put back: the
    /// journal brings the same changes when revm makes them).
    fn creation_checkpoint(&mut self, sender: alloy_primitives::Address) -> Option<Checkpoint> {
        let tracker = self.world.as_mut()?;
        let saved = tracker.world.roots;
        let mut account = tracker.world.account(sender).ok()??;
        let address = sender.create(account.nonce);
        account.nonce += 1;
        tracker.world.put_account(sender, Some(account)).ok()?;
        let coinbase = self.contexts.as_ref().map(|c| c.block.coinbase);
        if coinbase.is_none_or(|c| !crate::machine::warm_by_rule(address, c)) {
            tracker.world.warm_address(address).ok()?;
        }
        let roots = tracker.world.roots;
        tracker.world.roots = saved;
        let mut checkpoint = self.checkpoint_now();
        checkpoint.state_root = roots.state_root;
        checkpoint.warm_addresses = roots.warm_addresses;
        Some(checkpoint)
    }

    /// The prover's machine at `frame`'s current state `pre` (spec §6).
    fn boundary_run(&self, frame: &LiveFrame, pre: MachineState) -> Result<BoundaryRun<'_>> {
        let held = HeldFrame {
            snapshot: frame.snapshot.clone(),
            checkpoint: frame.checkpoint,
            accumulators: frame.entry_accumulators,
        };
        self.boundary_run_of(held, frame.caller.clone(), frame.callers, pre)
    }

    fn boundary_run_of(
        &self,
        held: HeldFrame,
        caller: Option<(HeldFrame, B256)>,
        callers: (u16, B256),
        state: MachineState,
    ) -> Result<BoundaryRun<'_>> {
        static NO_CODES: std::sync::OnceLock<HashMap<B256, Bytes>> = std::sync::OnceLock::new();
        let (world, codes) = match &self.world {
            Some(tracker) => (tracker.world.overlay(), tracker.codes()),
            None => {
                let mut world = crate::machine::World::default();
                world.roots.state_root = state.state_root;
                world.roots.warm_addresses = state.warm_addresses;
                world.roots.warm_slots = state.warm_slots;
                world.roots.transient = state.transient;
                world.roots.created = state.created;
                (world, NO_CODES.get_or_init(HashMap::new))
            }
        };
        let block = self
            .contexts
            .as_ref()
            .map(|c| c.block)
            .ok_or(crate::Error::UnsupportedStep { opcode: 0, reason: "no block context" })?;
        let base = match &caller {
            Some((_, below)) => (callers.0.saturating_sub(1), *below),
            None => callers,
        };
        let mut run = BoundaryRun::new(
            state,
            held,
            caller.into_iter().collect(),
            world,
            codes,
            block,
            self.accumulators,
        );
        run.base = base;
        run.items = self.items.clone();
        run.tx = self.contexts.as_ref().map(|c| c.tx);
        Ok(run)
    }

    /// Where a chain of boundary steps started at `opcode` stopped, as a prediction for the
    /// frame that is current (or, after an exit, for its caller).
    fn stopped(
        &mut self,
        opcode: u8,
        pc: u32,
        stopped: Stopped,
        boundary: Counts,
    ) -> Option<Prediction> {
        match stopped {
            Stopped::Resumed { commitment, accumulators, items } => {
                self.accumulators = accumulators;
                self.items = items;
                let post = Prediction::Post { commitment, opcode, pc, micro: [0; 3], boundary };
                if matches!(opcode, 0xf3 | 0xfd | 0xff) {
                    // The frame exited into its caller: the prediction is the caller's.
                    let n = self.frames.len();
                    if let Some(caller) = n.checked_sub(2).and_then(|k| self.frames.get_mut(k)) {
                        caller.prediction = Some(post);
                    }
                    Some(Prediction::Left { opcode, pc })
                } else {
                    Some(post)
                }
            }
            Stopped::Entered(entered) => {
                let super::boundary::Entered {
                    commitment,
                    accumulators,
                    items,
                    callee,
                    callers,
                    caller,
                } = *entered;
                self.accumulators = accumulators;
                self.items = items;
                self.entering =
                    Some(Entering { commitment, opcode, pc, boundary, callee, callers, caller });
                None
            }
            Stopped::TopEnded { success, gas, output, last } => Some(Prediction::Ended {
                opcode,
                pc,
                success,
                gas,
                output,
                boundary,
                create: self.top_is_create,
                last,
            }),
        }
    }

    fn pass(&mut self, opcode: u8, micro: [u64; 3], boundary: Counts) {
        let by_opcode = &mut self.report.checked_by_opcode;
        // A chain that starts at an exit (after STOP or a halt) counts only its boundary
        // steps: the opcode step was counted when the frame's end was settled.
        let opcode_step = u64::from(boundary.opening > 0 || boundary.total() == 0);
        if opcode_step > 0 {
            *by_opcode.entry(name(opcode)).or_default() += 1;
        }
        for (kind, n) in MICRO_KINDS.iter().zip(micro).filter(|(_, n)| *n > 0) {
            let key = format!("{}/{}", name(opcode), kind.name());
            *by_opcode.entry(key).or_default() += n;
        }
        for (kind, n) in boundary.named().into_iter().filter(|(_, n)| *n > 0) {
            *by_opcode.entry(format!("{}/{kind}", name(opcode))).or_default() += n;
        }
        self.report.checked +=
            opcode_step + micro.iter().sum::<u64>() + boundary.total() - boundary.opening;
    }

    fn end_frame(&mut self, end: FrameEnd) {
        if let Some(entering) = self.entering.take() {
            self.report.mismatch(format!(
                "{} at pc {}: the executor entered a callee revm did not run",
                name(entering.opcode),
                entering.pc
            ));
        }
        let checkpoint = self.log_checkpoints.pop();
        if let Some(depth) = self.calls.pop() {
            self.next_kind = None;
            let mut end = Some(end);
            while self.frames.len() > depth {
                if let Some(frame) = self.frames.pop() {
                    // Only the innermost frame still open is the one revm ended; its last step
                    // is settled against the logs it had, before a failure drops them.
                    self.settle_end(frame, end.take());
                }
            }
        }
        if let Some(logs) = checkpoint
            && !end.success
        {
            self.logs = logs;
        }
    }
}

/// Brings `frame`'s snapshot up to revm's state: incrementally after a synced previous step
/// (only the items it popped, only the memory it may have written), else by comparing all.
fn sync(frame: &mut LiveFrame, interp: &Interpreter) {
    let snapshot = &mut frame.snapshot;
    snapshot.pc = interp.bytecode.pc() as u32;
    snapshot.gas = interp.gas.remaining();
    let memory = interp.memory.context_memory();
    let synced = match (frame.synced, frame.last_opcode) {
        (true, Some(op)) => {
            let popped = usize::from(OPCODES[op as usize].inputs);
            let unchanged = snapshot.stack.items().len().saturating_sub(popped);
            snapshot.stack.sync_above(interp.stack.data(), unchanged);
            let (start, len) = frame.last_write.unwrap_or((0, 0));
            snapshot.memory.sync_range(&memory, start, len)
        }
        _ => {
            snapshot.stack.sync(interp.stack.data());
            snapshot.memory.sync(&memory)
        }
    };
    drop(memory);
    if synced.is_err() {
        return; // memory past 2^22 words cannot happen with any real gas limit
    }
    let returndata = interp.return_data.buffer();
    if std::mem::take(&mut frame.call_since_sync) && *returndata != frame.returndata {
        let tree = if returndata.len() == frame.returndata.len() {
            let mut tree = WordTree::clone(&snapshot.returndata);
            tree.sync(returndata).map(|()| tree)
        } else {
            WordTree::from_bytes(returndata)
        };
        frame.returndata = returndata.clone();
        snapshot.returndata = Arc::new(tree.unwrap_or_else(|_| WordTree::empty()));
    }
}

/// The header around a frame: the log chain, and fixed world-state fields (see the module
/// docs).
fn header(frame_hash: B256, logs: Chain) -> MachineState {
    MachineState { logs, ..crate::trace::header(Status::Running, frame_hash, (0, B256::ZERO)) }
}

/// The memory region `(start, len)` in bytes a step of `opcode` with this stack may write
/// (for calls: the return window, written when the caller resumes); `None` for steps that
/// write no memory. Regions past 2^64 are clamped: such a step runs out of gas first.
fn memory_write(opcode: u8, stack: &[U256]) -> Option<(u64, u64)> {
    let arg = |k: usize| {
        let value = *stack.get(stack.len().checked_sub(1 + k)?)?;
        Some(u64::try_from(value).unwrap_or(u64::MAX))
    };
    match opcode {
        0xf1 | 0xf2 => Some((arg(5)?, arg(6)?)),
        0xf4 | 0xfa => Some((arg(4)?, arg(5)?)),
        _ => crate::machine::memory_write(opcode, stack),
    }
}

/// The micro-step kinds in the order [`Prediction::Post`] counts them.
const MICRO_KINDS: [MicroStepKind; 3] =
    [MicroStepKind::Absorb, MicroStepKind::Pad, MicroStepKind::Word];

/// Runs the micro-steps after an opening step whose executor post-state is `post`: the prover
/// builds each witness from its own model (EXTCODECOPY's opening also from `world`), the
/// executor runs it on its previous output.
/// Returns the commitment after the last micro-step and the micro-steps run by kind, or why
/// the chain broke (a mismatch).
fn run_micro_steps(
    snapshot: &FrameSnapshot,
    pre: MachineState,
    post: B256,
    world: Option<WorldView<'_>>,
) -> crate::Result<Result<(B256, [u64; 3]), String>> {
    // The executor ran the opening step: a prover that cannot follow is a mismatch, never a
    // halt or an unsupported step.
    let mut run = match MicroRun::open(snapshot, pre, world) {
        Ok(run) => run,
        Err(e) => return Ok(Err(format!("the prover cannot open the instruction: {e}"))),
    };
    if run.commitment()? != post {
        return Ok(Err(
            "the prover's state after the opening step differs from the executor's".into()
        ));
    }
    let (mut commitment, mut micro) = (post, [0u64; 3]);
    loop {
        let (witness, kind) = match run.next_step() {
            Ok(Some(step)) => step,
            Ok(None) => break,
            Err(e) => return Ok(Err(format!("the prover cannot build a micro-step: {e}"))),
        };
        let k = MICRO_KINDS.iter().position(|m| *m == kind).unwrap_or_default();
        if witness.state.commitment() != commitment {
            return Ok(Err(format!(
                "micro-step {}: the prover's pre-state differs from the executor's post-state",
                micro.iter().sum::<u64>() + 1
            )));
        }
        commitment = match execute(commitment, &witness) {
            Ok(next) => next,
            Err(e) => {
                let n = micro.iter().sum::<u64>() + 1;
                return Ok(Err(format!("micro-step {n}: the executor failed: {e}")));
            }
        };
        micro[k] += 1;
    }
    if run.commitment()? != commitment {
        return Ok(Err("the prover's final state differs from the executor's".into()));
    }
    Ok(Ok((commitment, micro)))
}

fn name(opcode: u8) -> String {
    OPCODE_INFO[opcode as usize]
        .map(|info| info.name().to_owned())
        .unwrap_or_else(|| format!("0x{opcode:02x}"))
}

impl<CTX: ContextTr<Journal: JournalExt>> Inspector<CTX> for StepChecker {
    fn initialize_interp(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.start_transaction(context);
        let refund_base = self.frames.last().map(|f| f.refund_base + f.refunded).unwrap_or(0);
        let code = interp.bytecode.original_byte_slice();
        let code_hash = keccak256(code);
        let tree = match self.codes.get(&code_hash) {
            Some(tree) => Some(tree.clone()),
            None => CodeTree::new(code).ok().map(Arc::new),
        };
        let oversized_code = tree.is_none();
        let tree = tree.unwrap_or_else(|| Arc::new(CodeTree::empty()));
        self.codes.insert(code_hash, tree.clone());
        let input = interp.input.input().bytes(context);
        let calldata = match self.calldatas.iter().find(|(bytes, _)| *bytes == input) {
            Some((_, tree)) => tree.clone(),
            None => {
                // Loops call with calldata that differs in a word or two: update a recent
                // tree of the same length instead of hashing every word again.
                let similar = self.calldatas.iter().rev().find(|(b, _)| b.len() == input.len());
                let tree = match similar {
                    Some((_, tree)) => {
                        let mut tree = WordTree::clone(tree);
                        tree.sync(&input).map(|()| tree)
                    }
                    None => WordTree::from_bytes(&input),
                };
                let tree = Arc::new(tree.unwrap_or_else(|_| WordTree::empty()));
                if self.calldatas.len() == 8 {
                    self.calldatas.remove(0);
                }
                self.calldatas.push((input, tree.clone()));
                tree
            }
        };
        let kind = if interp.input.depth() == 0 {
            // A creation transaction's frame is a create frame (spec §6.4).
            if self.top_is_create { FrameKind::Create } else { FrameKind::Transaction }
        } else {
            self.next_kind.take().unwrap_or(FrameKind::Call)
        };
        let snapshot = FrameSnapshot {
            kind,
            is_static: interp.runtime_flag.is_static(),
            address: interp.input.target_address(),
            caller: interp.input.caller_address(),
            value: interp.input.call_value(),
            code: tree,
            pc: 0,
            gas: interp.gas.remaining(),
            stack: Stack::default(),
            memory: WordTree::empty(),
            calldata,
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: B256::ZERO,
        };
        let mut snapshot = snapshot;
        let parent_callers = self.frames.last().map(|f| f.callers);
        let (checkpoint, entry_accumulators, callers, caller, prediction) =
            match (parent_callers, self.entering.take()) {
                // The callee the executor entered: its header fields and the prediction of its
                // first state, settled at its first step.
                (Some(_), Some(entering)) => {
                    snapshot.return_window = entering.callee.snapshot.return_window;
                    snapshot.checkpoint = entering.callee.snapshot.checkpoint;
                    let prediction = Prediction::Post {
                        commitment: entering.commitment,
                        opcode: entering.opcode,
                        pc: entering.pc,
                        micro: [0; 3],
                        boundary: entering.boundary,
                    };
                    (
                        entering.callee.checkpoint,
                        entering.callee.accumulators,
                        entering.callers,
                        Some(entering.caller),
                        Some(prediction),
                    )
                }
                // A frame whose entry was not checked (its caller's step was not followed, e.g.
                // code past the machine's bound): consistent header fields, no
                // exit check.
                (Some((depth, _)), None) => {
                    let checkpoint = self.checkpoint_now();
                    snapshot.checkpoint = checkpoint.hash();
                    (checkpoint, self.accumulators, (depth + 1, B256::ZERO), None, None)
                }
                // The transaction's frame: its checkpoint was taken when revm began it.
                (None, _) => {
                    let mut checkpoint =
                        self.top_checkpoint.take().unwrap_or_else(|| self.checkpoint_now());
                    let mut accumulators = self.accumulators;
                    let prediction = self.begin_prediction().map(|(prediction, frame)| {
                        (checkpoint, accumulators) = (frame.checkpoint, frame.accumulators);
                        prediction
                    });
                    snapshot.checkpoint = checkpoint.hash();
                    (checkpoint, accumulators, (0, B256::ZERO), None, prediction)
                }
            };
        self.frames.push(LiveFrame {
            snapshot,
            last_opcode: None,
            last_write: None,
            synced: false,
            call_since_sync: false,
            returndata: Bytes::new(),
            prediction,
            oversized_code,
            refund_base,
            refunded: 0,
            checkpoint,
            entry_accumulators,
            callers,
            caller,
        });
    }

    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.report.steps += 1;
        let Some(frame) = self.frames.last() else { return };
        let opcode = frame.snapshot.code_byte(interp.bytecode.pc());
        let (oversized_code, settling) = (frame.oversized_code, frame.prediction.is_some());
        let family = OPCODES[opcode as usize].family;
        if oversized_code {
            *self.report.unsupported.entry("code over 131072 bytes".into()).or_default() += 1;
        } else if reads_world(opcode) && self.world.is_none() {
            *self.report.unsupported.entry(name(opcode)).or_default() += 1;
        }
        let followed = !oversized_code && (!reads_world(opcode) || self.world.is_some());
        // Boundary steps are always checked: the callee's header and its exit need them.
        let check = followed && (self.selected(opcode) || family == Family::Boundary);

        let Some(frame) = self.frames.last_mut() else { return };
        // Bring the frame's snapshot up to revm's state only when a step is settled or
        // checked here: a sample skips the commitments of every other step.
        frame.refunded = interp.gas.refunded();
        if settling || check {
            sync(frame, interp);
            self.sync_world(context);
        }
        let Some(frame) = self.frames.last_mut() else { return };
        frame.synced = settling || check;
        frame.last_opcode = Some(opcode);
        frame.last_write = memory_write(opcode, interp.stack.data());
        if matches!(opcode, 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa) {
            frame.call_since_sync = true;
        }

        // Settle the previous step of this frame against the state revm reached.
        // (Only then is the frame hashed: an unchecked step in a sample costs no hash.)
        let prediction = frame.prediction.take();
        let actual = prediction.is_some().then(|| frame.snapshot.frame().map(|f| f.hash()));
        if let (Some(prediction), Some(actual)) = (prediction, actual) {
            let actual = actual.map(|hash| self.header(hash).commitment());
            match prediction {
                Prediction::Post { commitment, opcode, pc, micro, boundary } => {
                    if actual.ok() == Some(commitment) {
                        self.pass(opcode, micro, boundary);
                    } else {
                        let after = match micro.iter().sum::<u64>() + boundary.total() {
                            0 => String::new(),
                            n => format!(" after {n} micro- and boundary steps"),
                        };
                        self.report.mismatch(format!(
                            "{} at pc {pc}: the executor's post-state{after} differs from revm's",
                            name(opcode)
                        ));
                    }
                }
                Prediction::Begun { commitment, boundary } => {
                    let begun = self.begun.take();
                    if actual.ok() == Some(commitment) {
                        self.pass_transaction(boundary);
                    } else {
                        let frame = self.frames.last().and_then(|f| f.snapshot.frame().ok());
                        let fields = match (begun, frame) {
                            (Some(begun), Some(frame)) => {
                                let header = self.header(frame.hash());
                                let mut fields = begun.0.differing_fields(&header);
                                fields.extend(begun.1.differing_fields(&frame));
                                fields.join(", ")
                            }
                            _ => String::new(),
                        };
                        self.report.mismatch(format!(
                            "transaction begin: the executor's top frame differs from revm's \
                             first state ({fields})"
                        ));
                    }
                }
                Prediction::Exit { opcode, pc, .. }
                | Prediction::Left { opcode, pc }
                | Prediction::Ended { opcode, pc, .. } => self.report.mismatch(format!(
                    "{} at pc {pc}: the executor ended the frame, revm continued",
                    name(opcode)
                )),
            }
        }
        if !check {
            return;
        }

        let Some(frame) = self.frames.last() else { return };
        let snapshot = &frame.snapshot;
        let pc = snapshot.pc;
        let outcome = snapshot.frame().and_then(|f| {
            let pre = self.header(f.hash());
            let mut witness = snapshot.witness(pre)?;
            if let Some(contexts) = &self.contexts {
                contexts.complete(opcode, &mut witness)?;
            }
            if family == Family::Boundary {
                witness.accumulators = Some(self.accumulators);
            }
            if reads_world(opcode) {
                self.world_witness(pre.commitment(), opcode, &mut witness);
            }
            let post_state = execute_to_state(pre.commitment(), &witness)?;
            let post = post_state.commitment();
            // Whether the step ended the frame: the post-state is the pre-state with a pending
            // exit (STOP: gas as it was; a halt: gas zero).
            let exit_with = |success: bool| {
                let mut exited = witness.frame;
                if !success {
                    exited.gas = 0;
                }
                let mut state = pre;
                state.frame_hash = exited.hash();
                state.pending_kind = PendingKind::FrameExit;
                state.pending_hash = FrameExit::empty(success).hash();
                state.commitment()
            };
            let exit = [false, true].into_iter().find(|&success| {
                post_state.pending_kind == PendingKind::FrameExit && exit_with(success) == post
            });
            Ok(match exit {
                Some(success) => Ok(Outcome::Exit(post, success)),
                None if family == Family::Micro => {
                    run_micro_steps(snapshot, pre, post, self.world_view())?
                        .map(|(post, micro)| Outcome::Post(post, micro))
                }
                None if family == Family::Boundary => {
                    let mut run = self.boundary_run(frame, pre)?;
                    let mut counts = Counts::default();
                    drive(&mut run, pre.commitment(), true, &mut counts)?.and_then(|stopped| {
                        // The executor's own opening (over the checker's witness) agrees with
                        // the prover's, checked as the chain's first step.
                        if counts.opening != 1 {
                            return Err("the prover did not run the opening step".into());
                        }
                        Ok(Outcome::Boundary(Box::new(stopped), counts))
                    })
                }
                None => Ok(Outcome::Post(post, [0; 3])),
            })
        });
        let prediction = match outcome {
            Ok(Ok(Outcome::Post(commitment, micro))) => Some(Prediction::Post {
                commitment,
                opcode,
                pc,
                micro,
                boundary: Counts::default(),
            }),
            Ok(Ok(Outcome::Exit(commitment, success))) => {
                Some(Prediction::Exit { commitment, opcode, pc, success })
            }
            Ok(Ok(Outcome::Boundary(stopped, boundary))) => {
                self.stopped(opcode, pc, *stopped, boundary)
            }
            Ok(Err(why)) => {
                self.report.mismatch(format!("{} at pc {pc}: {why}", name(opcode)));
                None
            }
            Err(crate::Error::UnsupportedStep { reason, .. }) if family == Family::Boundary => {
                let kind = format!("{}: {reason}", name(opcode));
                *self.report.unsupported.entry(kind).or_default() += 1;
                None
            }
            Err(e) => {
                self.report
                    .mismatch(format!("{} at pc {pc}: the executor failed: {e}", name(opcode)));
                None
            }
        };
        if let Some(frame) = self.frames.last_mut() {
            frame.prediction = prediction;
        }
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if self.frames.is_empty() {
            // The transaction's checkpoint: after the fee and the nonce, before the value
            // moves (spec §8.1).
            self.start_transaction(context);
            self.sync_world(context);
            self.top_checkpoint = Some(self.checkpoint_now());
        }
        self.calls.push(self.frames.len());
        self.log_checkpoints.push(self.logs);
        self.next_kind = Some(match inputs.scheme {
            CallScheme::Call => FrameKind::Call,
            CallScheme::CallCode => FrameKind::CallCode,
            CallScheme::DelegateCall => FrameKind::DelegateCall,
            CallScheme::StaticCall => FrameKind::StaticCall,
        });
        None
    }

    fn call_end(&mut self, context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        let result = &outcome.result;
        self.end_frame(FrameEnd::of(result.result, result.gas.remaining(), &result.output));
        // After the frame's end is settled (against the world it ended in): revm has already
        // reverted a failed frame's journal entries.
        self.sync_world(context);
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        if self.frames.is_empty() {
            self.top_is_create = true;
            // The transaction's checkpoint: as a create frame's (spec §6.4), after the
            // sender's nonce bump and the new address's warm-up, which revm makes next.
            self.start_transaction(context);
            self.sync_world(context);
            self.top_checkpoint = self.creation_checkpoint(inputs.caller());
        }
        self.calls.push(self.frames.len());
        self.log_checkpoints.push(self.logs);
        self.next_kind = Some(match inputs.scheme() {
            CreateScheme::Create2 { .. } => FrameKind::Create2,
            _ => FrameKind::Create,
        });
        None
    }

    fn create_end(
        &mut self,
        context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        let result = &outcome.result;
        self.end_frame(FrameEnd::of(result.result, result.gas.remaining(), &result.output));
        // After the frame's end is settled (against the world it ended in): revm has already
        // reverted a failed frame's journal entries.
        self.sync_world(context);
    }

    fn log(&mut self, _context: &mut CTX, log: Log) {
        let item = log_item(&log.address, log.topics(), keccak256(&log.data.data));
        self.logs = Chain { count: self.logs.count + 1, acc: hash_pair(&self.logs.acc, &item) };
    }
}

/// What the executor did at a checked step.
enum Outcome {
    /// A post-state in the frame (after micro-steps, if any).
    Post(B256, [u64; 3]),
    /// The frame ended (STOP or an exceptional halt) with this success.
    Exit(B256, bool),
    /// A chain of boundary steps (spec §6) and where it stopped.
    Boundary(Box<Stopped>, Counts),
}
