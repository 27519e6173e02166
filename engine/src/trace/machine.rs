//! The trace numbered as the machine runs the transaction (spec §1): its begin (§8.1), every
//! frame boundary (§6, §7) and its end (§8.2) in their places among the recorded instructions.
//!
//! A [`Trace`] numbers revm's instructions, their micro-steps and halting steps, and leaves
//! each frame boundary as one step it cannot prove. [`MachineTrace`] adds the rest from the
//! same recording, without recording more: when it is built ([`Trace::machine`]) it walks the
//! transaction's boundaries once, in order. The begin runs from the signed envelope; each
//! later boundary runs from the state before its instruction (which the recording gives): the
//! prover ([`BoundaryRun`]) makes the boundary steps — a call's opening, input and entry, an
//! ending step and its output, the exit and the copy into the caller's window, the
//! transaction's end and deletions — until the recording takes over (the callee's first
//! instruction, the caller's next one) or the final state is reached. There the prover's
//! state must be the recording's, commitment for commitment: a disagreement is
//! [`Error::TraceDiverged`], never a trace that would lose a game. The walk keeps, per
//! boundary, its step count; per frame, what its entry step gave it (the checkpoint, the
//! return window, the caller chain and the caller frame, spec §4.2, §6.1); and the
//! transaction's accumulators after each boundary (§4.4) — everything a frame's state holds
//! beyond the recording. It hashes once per boundary step, never per in-frame step.
//!
//! A query inside a boundary runs the prover again from the boundary's start; any other
//! query is the recording's, with those fields filled in.

use super::{FrameParts, Trace, TraceWorld, empty_frame, halted, numbering::Numbering};
use crate::{
    Error, Result,
    machine::{
        AccumulatorItems, BlockContext, BoundaryRun, Checkpoint, Contexts, Family, FrameExit,
        FrameSnapshot, HeldFrame, MachineState, MicroRun, OPCODES, Pending, Status, StepWitness,
        TxAccumulators, World,
    },
};
use alloy_primitives::{B256, Bytes};
use std::collections::HashMap;

/// What a transaction's begin step reads beside the recording (spec §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBeginInput {
    /// The signed EIP-2718 envelope, as the batch carries it.
    pub envelope: Bytes,
    /// The block the transaction runs in.
    pub block: BlockContext,
    /// The gas used by the block's earlier transactions.
    pub block_gas_used: u64,
}

/// The steps of one boundary instruction: the opening or halting step and the boundary steps
/// after it.
#[derive(Clone, Copy, Debug)]
struct Group {
    instruction: u64,
    steps: u64,
    /// `Some(success)` when the instruction is a halting step (STOP, an exceptional halt): the
    /// boundary steps start at its exit.
    halt: Option<bool>,
}

/// What a frame's entry step gave it (spec §6.1 step 6, §6.4, §8.1).
#[derive(Clone, Debug)]
struct Entry {
    checkpoint: Checkpoint,
    /// The accumulators at the entry (the preimage of the checkpoint's).
    accumulators: TxAccumulators,
    return_window: (u32, u32),
    /// The caller chain while the frame is current.
    callers: (u16, B256),
    /// The caller as the entry pushed it, with the chain below it (`None` for the top frame).
    caller: Option<(HeldFrame, B256)>,
}

/// The trace of one transaction with every step of the machine numbered and provable: see
/// the module docs. States are `S_0 … S_n`, `S_0` the begin state (spec §8.1) and `S_n` the
/// final state (§8.2).
#[derive(Debug)]
pub struct MachineTrace {
    trace: Trace,
    begin: TxBeginInput,
    /// The begin's steps: `S_begin_steps` is the top frame's first state (or the final state
    /// when no frame ran).
    begin_steps: u64,
    /// The instructions' steps, boundaries included.
    numbering: Numbering,
    groups: Vec<Group>,
    /// By frame ([`Trace::frames`] index).
    entries: Vec<Option<Entry>>,
    /// `(instruction, accumulators, items)`: the accumulators from that instruction on.
    accumulators: Vec<(u64, TxAccumulators, AccumulatorItems)>,
    final_state: MachineState,
    /// The world the boundaries run on: the recorded world's nodes and every node the
    /// boundary steps wrote (a root the machine reached that revm's journal never shows, such
    /// as a checkpoint taken between two writes of one instruction, stays readable).
    world: World,
}

/// Where a walk through a boundary's steps stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// A frame was entered: the callee's (or the top frame's) first instruction is next.
    Entered,
    /// The frame that is current continues at its next instruction.
    Resumed,
    /// The final state.
    Final,
}

/// The prover inside one boundary, before one of its steps.
struct Cursor<'t> {
    run: BoundaryRun<'t>,
    /// The copy into the caller's return window, once the exit opened it.
    micro: Option<MicroRun>,
    /// The depth the boundary started at: a deeper one has entered a callee.
    depth: u16,
    /// The next step is the boundary's opening step (pending nothing, yet not done).
    opening: bool,
    /// The transaction's begin: it ends when the top frame is entered.
    begin: bool,
}

impl Cursor<'_> {
    fn ended(&self) -> Option<Ended> {
        if let Some(micro) = &self.micro {
            return micro.is_done().then_some(Ended::Resumed);
        }
        if self.run.state.status.is_final() {
            return Some(Ended::Final);
        }
        if self.begin {
            return (!self.run.ended).then_some(Ended::Entered);
        }
        if self.run.depth() > self.depth {
            return Some(Ended::Entered);
        }
        (self.run.pending.is_none() && !self.opening).then_some(Ended::Resumed)
    }

    /// The witness of the boundary's next step, the cursor advanced past it; `None` at the
    /// boundary's end.
    fn step(&mut self) -> Result<Option<StepWitness>> {
        if self.ended().is_some() {
            return Ok(None);
        }
        if self.micro.is_none() && matches!(self.run.pending, Some(Pending::Copy(_))) {
            self.micro = self.run.into_micro()?;
        }
        if let Some(micro) = &mut self.micro {
            return Ok(micro.next_step()?.map(|(witness, _)| witness));
        }
        self.opening = false;
        self.run.next_step()?.map(Some).ok_or(Error::UnsupportedStep {
            opcode: 0,
            reason: "the prover has no boundary step to run",
        })
    }

    /// Runs `n` steps.
    fn advance(&mut self, n: u64) -> Result<()> {
        for _ in 0..n {
            if self.step()?.is_none() {
                return Err(Error::UnsupportedStep {
                    opcode: 0,
                    reason: "the boundary has fewer steps than numbered",
                });
            }
        }
        Ok(())
    }

    fn header(&self) -> Result<MachineState> {
        match &self.micro {
            Some(micro) => micro.header(),
            None => self.run.header(),
        }
    }
}

/// Where a machine state lies.
#[allow(clippy::large_enum_variant)] // built once per query, never stored
enum At<'t> {
    Final,
    /// The pre-state of a recorded instruction (in-frame, or a halting step).
    InFrame {
        instruction: u64,
        state: MachineState,
        snapshot: FrameSnapshot,
        opcode: u8,
    },
    /// Inside a micro-stepped instruction.
    Micro(Box<MicroRun>),
    /// Inside a boundary (or at its opening step).
    Boundary(Box<Cursor<'t>>),
}

fn diverged(instruction: u64, reason: impl Into<String>) -> Error {
    Error::TraceDiverged { instruction, reason: reason.into() }
}

impl Trace {
    /// The trace with every step of the machine (spec §1): the transaction's begin from
    /// `begin`, its frame boundaries and its end, each provable; see [`MachineTrace`].
    ///
    /// # Errors
    ///
    /// [`Error::MachineTraceNeeds`] when the recorder was not given the pre-state
    /// ([`super::TraceRecorder::with_pre_state`]) or revm ran the transaction in another block
    /// than `begin.block`; [`Error::TraceDiverged`] when the prover's boundary steps do not
    /// land where revm went (a defect, reported rather than traced); trie errors, which a
    /// recorded world does not produce.
    pub fn machine(self, begin: TxBeginInput) -> Result<MachineTrace> {
        let Some(world) = &self.world else {
            return Err(Error::MachineTraceNeeds("the pre-state (TraceRecorder::with_pre_state)"));
        };
        if self.contexts.as_ref().is_some_and(|c| c.block != begin.block) {
            return Err(Error::MachineTraceNeeds("the block revm ran the transaction in"));
        }
        let coinbase = begin.block.coinbase;
        let replay_world = match world.replay(coinbase) {
            Ok(replay) => replay.world.clone(),
            // No frame ran: the begin alone needs the pre-state.
            Err(_) if self.frames.is_empty() => world.pre.clone(),
            Err(e) => return Err(e),
        };
        let mut machine = MachineTrace {
            world: replay_world,
            begin_steps: 0,
            numbering: Numbering::default(),
            groups: Vec::new(),
            entries: vec![None; self.frames.len()],
            accumulators: Vec::new(),
            final_state: super::header(Status::Invalid, B256::ZERO, (0, B256::ZERO)),
            begin,
            trace: Trace::default(),
        };
        let mut walk = Walk { trace: &self, world, machine: &mut machine, final_state: None };
        walk.run()?;
        machine.trace = self;
        Ok(machine)
    }
}

/// The walk through the boundaries, filling a [`MachineTrace`] in order.
struct Walk<'t, 'm> {
    trace: &'t Trace,
    world: &'t TraceWorld,
    machine: &'m mut MachineTrace,
    final_state: Option<MachineState>,
}

impl Walk<'_, '_> {
    fn run(&mut self) -> Result<()> {
        let trace = self.trace;
        let instructions = trace.instructions;
        let mut cursor = begin_cursor(self.world, &self.machine.begin)?;
        let (steps, ended) = count(&mut cursor)?;
        self.machine.begin_steps = steps;
        self.settle(&cursor, ended, None)?;
        self.machine.world.absorb(cursor.run.world);

        // Every boundary instruction, in order: the boundary opcodes and the halting steps.
        let halts: HashMap<u64, bool> = trace.halts.iter().copied().collect();
        let mut at: Vec<u64> = trace.boundaries.iter().chain(halts.keys()).copied().collect();
        at.sort_unstable();
        at.dedup();
        for instruction in at {
            let halt = halts.get(&instruction).copied();
            let (steps, ended, cursor) =
                group_cursor(trace, self.world, self.machine, instruction, halt)
                    .and_then(|mut cursor| {
                        let (steps, ended) = count(&mut cursor)?;
                        Ok((steps, ended, cursor))
                    })
                    .map_err(|e| match e {
                        Error::TraceDiverged { .. } => e,
                        e => diverged(
                            instruction,
                            format!("the prover's boundary steps failed: {e}"),
                        ),
                    })?;
            let steps = steps + u64::from(halt.is_some());
            self.machine.groups.push(Group { instruction, steps, halt });
            self.settle(&cursor, ended, Some(instruction))?;
            self.machine.world.absorb(cursor.run.world);
        }
        self.machine.final_state = self
            .final_state
            .ok_or_else(|| diverged(instructions, "the transaction's end was not reached"))?;
        let counts: Vec<(u64, u64)> =
            self.machine.groups.iter().map(|g| (g.instruction, g.steps)).collect();
        self.machine.numbering = trace.numbering.with_counts(&counts);
        Ok(())
    }

    /// Records where the boundary at `instruction` (`None`: the begin) ended, and checks the
    /// prover's state there against the recording's.
    fn settle(
        &mut self,
        cursor: &Cursor<'_>,
        ended: Ended,
        instruction: Option<u64>,
    ) -> Result<()> {
        let trace = self.trace;
        let next = instruction.map_or(0, |i| i + 1);
        let header = cursor.header()?;
        if self.final_state.is_some() {
            return Err(diverged(next, "a boundary after the transaction's end"));
        }
        match ended {
            Ended::Final => {
                if next != trace.instructions {
                    return Err(diverged(next, "the machine ended the transaction, revm went on"));
                }
                self.final_state = Some(header);
                return Ok(());
            }
            Ended::Entered => {
                let callee = match instruction {
                    None => (!trace.frames.is_empty()).then_some(0),
                    Some(call) => {
                        trace.frames.iter().position(|f| f.parent.is_some_and(|(_, at)| at == call))
                    }
                };
                let callee = callee.ok_or_else(|| {
                    diverged(next, "the machine entered a frame revm did not run")
                })?;
                let run = &cursor.run;
                self.machine.entries[callee] = Some(Entry {
                    checkpoint: run.frame.checkpoint,
                    accumulators: run.frame.accumulators,
                    return_window: run.frame.snapshot.return_window,
                    callers: header.callers,
                    caller: if instruction.is_some() { run.callers.last().cloned() } else { None },
                });
            }
            Ended::Resumed => {}
        }
        if next >= trace.instructions {
            return Err(diverged(next, "revm ended the transaction, the machine went on"));
        }
        let run = &cursor.run;
        self.machine.accumulators.push((next, run.accumulators, run.items.clone()));
        let (state, _, _) = self.machine.in_frame(trace, next)?;
        if state.commitment() != header.commitment() {
            let mut fields = state.differing_fields(&header);
            if fields.is_empty() {
                fields.push("frame");
            }
            return Err(diverged(
                next,
                format!(
                    "after the boundary steps the machine's state differs from revm's ({})",
                    fields.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// Runs a boundary to its end: its step count and how it ended.
fn count(cursor: &mut Cursor<'_>) -> Result<(u64, Ended)> {
    let mut steps = 0;
    loop {
        if let Some(ended) = cursor.ended() {
            return Ok((steps, ended));
        }
        if cursor.step()?.is_none() {
            return Err(Error::UnsupportedStep { opcode: 0, reason: "a boundary without an end" });
        }
        steps += 1;
    }
}

/// The prover at the transaction's begin state.
fn begin_cursor<'t>(world: &'t TraceWorld, begin: &TxBeginInput) -> Result<Cursor<'t>> {
    let run = BoundaryRun::begin(
        world.pre.overlay(),
        &world.log.codes,
        begin.block,
        begin.envelope.clone(),
        begin.block_gas_used,
    );
    Ok(Cursor { run, micro: None, depth: 0, opening: false, begin: true })
}

/// The prover at the boundary of `instruction`: before its opening step, or for a halting
/// step (`halt`), after it.
fn group_cursor<'t>(
    trace: &'t Trace,
    world: &'t TraceWorld,
    machine: &MachineTrace,
    instruction: u64,
    halt: Option<bool>,
) -> Result<Cursor<'t>> {
    let (mut state, mut snapshot, _) = machine.in_frame(trace, instruction)?;
    if let Some(success) = halt {
        (state, snapshot) = halted(state, snapshot, success)?;
    }
    let frame = trace.raw_frame_of(instruction)?;
    let entry = machine.entry(frame, instruction)?;
    let (accumulators, items) = machine.accumulators_at(instruction);
    let contexts = trace.contexts()?;
    let replay = world.replay(contexts.block.coinbase)?;
    let mut tries = machine.world.overlay();
    tries.roots = replay.roots_at(&world.log, instruction);
    let held =
        HeldFrame { snapshot, checkpoint: entry.checkpoint, accumulators: entry.accumulators };
    let mut run = BoundaryRun::new(
        state,
        held,
        entry.caller.iter().cloned().collect(),
        tries,
        &world.log.codes,
        contexts.block,
        accumulators,
    );
    run.base = match &entry.caller {
        Some((_, below)) => (entry.callers.0.saturating_sub(1), *below),
        None => entry.callers,
    };
    run.items = items.clone();
    run.tx = Some(contexts.tx);
    if let Some(success) = halt {
        run.pending = Some(Pending::Exit(FrameExit::empty(success)));
    }
    let depth = run.depth();
    Ok(Cursor { run, micro: None, depth, opening: halt.is_none(), begin: false })
}

impl Trace {
    fn contexts(&self) -> Result<&Contexts> {
        self.contexts.as_deref().ok_or(Error::MachineTraceNeeds("a frame revm ran"))
    }

    /// The frame ([`Trace::frames`] index) `instruction` runs in.
    fn raw_frame_of(&self, instruction: u64) -> Result<u32> {
        let at = self.checkpoints.partition_point(|c| c.instruction <= instruction);
        at.checked_sub(1)
            .map(|k| self.checkpoints[k].frame)
            .ok_or_else(|| diverged(instruction, "an instruction before any frame"))
    }
}

impl MachineTrace {
    /// The number of machine steps `n`: states are `S_0 … S_n`.
    pub fn len(&self) -> u64 {
        self.begin_steps + self.numbering.machine_index(self.trace.instructions)
    }

    /// Whether the trace has no step (never: the begin step is always one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The final state's status (spec §4.6): `Succeeded`, `Failed` or `Invalid`.
    pub fn status(&self) -> Status {
        self.final_state.status
    }

    /// The final state `S_n`: its state root is the state after the transaction.
    pub fn final_state(&self) -> &MachineState {
        &self.final_state
    }

    /// The steps of the transaction's begin (spec §8.1): the begin step, one per access-list
    /// item, the entry step.
    pub fn begin_steps(&self) -> u64 {
        self.begin_steps
    }

    /// The step index of revm instruction `instruction` (counted over every frame in
    /// execution order): its first step, whose pre-state is the instruction's.
    pub fn instruction_step(&self, instruction: u64) -> u64 {
        self.begin_steps + self.numbering.machine_index(instruction)
    }

    /// The step ranges made by the prover rather than the recording: the begin's, then each
    /// boundary instruction's (its opening or halting step and the boundary steps after it),
    /// in order.
    pub fn boundaries(&self) -> impl Iterator<Item = std::ops::Range<u64>> + '_ {
        let begin = std::iter::once(0..self.begin_steps);
        begin.chain(self.groups.iter().map(|g| {
            let first = self.instruction_step(g.instruction);
            first..first + g.steps
        }))
    }

    /// The recording.
    pub fn recording(&self) -> &Trace {
        &self.trace
    }

    /// The commitment to `S_i`, `H(encode(MachineState))` (spec §3), 32 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::TraceIndexOutOfRange`] when `i > len`; [`Error::CodeTooLarge`] when a frame's
    /// code exceeds the machine's bound (spec §2.2); trie errors, which a recorded world
    /// does not produce.
    pub fn commitment(&self, i: u64) -> Result<B256> {
        Ok(self.state(i)?.commitment())
    }

    /// The header of `S_i`.
    ///
    /// # Errors
    ///
    /// As [`MachineTrace::commitment`].
    pub fn state(&self, i: u64) -> Result<MachineState> {
        match self.locate(i)? {
            At::Final => Ok(self.final_state),
            At::InFrame { state, .. } => Ok(state),
            At::Micro(run) => run.header(),
            At::Boundary(cursor) => cursor.header(),
        }
    }

    /// The witness of step `i` (`i < len`): what the executor needs to compute `S_{i+1}` from
    /// the commitment to `S_i` ([`crate::machine::execute`]). Past the final state (padding,
    /// spec §1) it is the final header with an empty frame, which the executor maps to
    /// itself.
    ///
    /// # Errors
    ///
    /// As [`MachineTrace::commitment`].
    pub fn witness(&self, i: u64) -> Result<StepWitness> {
        let over = || Error::UnsupportedStep { opcode: 0, reason: "past the last micro-step" };
        match self.locate(i)? {
            At::Final => Ok(StepWitness::new(self.final_state, empty_frame())),
            At::InFrame { instruction, state, snapshot, opcode } => {
                let accumulators = self.accumulators_at(instruction).0;
                self.trace.in_frame_witness(state, &snapshot, opcode, Some(accumulators))
            }
            At::Micro(mut run) => Ok(run.next_step()?.ok_or_else(over)?.0),
            At::Boundary(mut cursor) => cursor.step()?.ok_or_else(over),
        }
    }

    fn locate(&self, i: u64) -> Result<At<'_>> {
        let len = self.len();
        if i > len {
            return Err(Error::TraceIndexOutOfRange { index: i, len });
        }
        let world = self.trace.world.as_deref().ok_or(Error::MachineTraceNeeds("the pre-state"))?;
        if i < self.begin_steps {
            let mut cursor = begin_cursor(world, &self.begin)?;
            cursor.advance(i)?;
            return Ok(At::Boundary(Box::new(cursor)));
        }
        let position = self.numbering.position(i - self.begin_steps);
        let instruction = position.instruction;
        if instruction >= self.trace.instructions {
            return Ok(At::Final);
        }
        if let Ok(k) = self.groups.binary_search_by_key(&instruction, |g| g.instruction) {
            let group = self.groups[k];
            let halting = u64::from(group.halt.is_some());
            if position.micro >= halting {
                let mut cursor = group_cursor(&self.trace, world, self, instruction, group.halt)?;
                cursor.advance(position.micro - halting)?;
                return Ok(At::Boundary(Box::new(cursor)));
            }
        }
        let (state, snapshot, opcode) = self.in_frame(&self.trace, instruction)?;
        if position.micro == 0 {
            return Ok(At::InFrame { instruction, state, snapshot, opcode });
        }
        if OPCODES[opcode as usize].family != Family::Micro {
            return Err(Error::UnsupportedStep { opcode, reason: "a step the numbering lacks" });
        }
        let run = self.trace.micro_run(&snapshot, state, position.micro)?;
        Ok(At::Micro(Box::new(run)))
    }

    /// The state before `instruction` in its frame, with what the boundaries gave the frame.
    /// `trace` is the recording (passed while the walk builds `self`).
    fn in_frame(
        &self,
        trace: &Trace,
        instruction: u64,
    ) -> Result<(MachineState, FrameSnapshot, u8)> {
        trace.in_frame(instruction, |frame| {
            let entry = self.entry(frame, instruction)?;
            Ok(FrameParts {
                checkpoint: entry.checkpoint.hash(),
                return_window: entry.return_window,
                callers: entry.callers,
                accumulators: self.accumulators_at(instruction).0.hash(),
            })
        })
    }

    fn entry(&self, frame: u32, instruction: u64) -> Result<&Entry> {
        self.entries
            .get(frame as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| diverged(instruction, "revm ran a frame the machine did not enter"))
    }

    /// The accumulators and their items in the pre-state of `instruction`.
    fn accumulators_at(&self, instruction: u64) -> (TxAccumulators, &AccumulatorItems) {
        static EMPTY: AccumulatorItems =
            AccumulatorItems { touched: Vec::new(), selfdestructs: Vec::new() };
        let at = self.accumulators.partition_point(|(i, _, _)| *i <= instruction);
        match at.checked_sub(1) {
            Some(k) => (self.accumulators[k].1, &self.accumulators[k].2),
            None => (TxAccumulators::default(), &EMPTY),
        }
    }
}
