//! The lazy trace (spec §1): one transaction recorded cheaply as it runs, and the commitment
//! to any machine state `S_i`, or the witness of any step `i`, built on demand.
//!
//! [`TraceRecorder`] is a revm inspector that keeps, per instruction, only what the code and
//! the replayed stack cannot give back (its gas cost when it differs from its opcode's usual
//! one, the value it computed, the memory size if a copy or call grew it, the bytes it wrote;
//! `pc`, pops and PUSH/DUP/SWAP values are derived on replay, and so are the values of pure
//! opcodes and the memory growth of MLOAD/MSTORE/MSTORE8) and, at each frame entry, after
//! each return to a frame and then every few thousand instructions, a raw checkpoint of the
//! frame (stack items, `pc`, gas, memory size, return data; code and calldata are shared with
//! the frame's record; memory is the frame's writes). It hashes nothing.
//!
//! [`Trace::commitment`] and [`Trace::witness`] restore the nearest checkpoint at or before
//! the step, replay the deltas up to it in raw form, then build the frame's commitments once
//! (a [`FrameSnapshot`]: stack hash chain, memory word tree; the code tree and calldata tree
//! are built once per trace and shared). The memory word tree of a checkpoint is built on
//! first use, from the nearest earlier checkpoint of the frame already built, and kept; a
//! query clones it (the trees share node chunks, so a clone copies no node) and applies the
//! writes replayed since the checkpoint, rehashing only their paths. So the first query in a
//! region of the trace hashes the memory once; later ones hash a few thousand nodes.
//!
//! ## The header
//!
//! The header ([`MachineState`]) of each instruction's pre-state holds:
//!
//! - `status` (`Running` before the last step; `Succeeded`/`Failed` from the top frame's
//!   outcome in the final state, `Invalid` when no frame ran), `frame_hash` (the current frame,
//!   zero in the final state), and `callers`: the depth and hash chain
//!   `acc_k = H(acc_{k-1} ‖ H(encode(Frame)))` over the caller frames, outermost first, each
//!   frame as it stood while the callee ran (spec §6.1: `pc` past the CALL/CREATE, its
//!   operands popped, the forwarded gas deducted, memory expanded for both windows);
//! - `block_hash` and `tx_hash`: the contexts (spec §4.4), read from revm once, when the top
//!   frame starts ([`context::contexts`]);
//! - `state_root`, `warm_addresses`, `warm_slots`, `transient`, `created` (spec §2.4), when
//!   the recorder was given the pre-state ([`TraceRecorder::with_pre_state`]; zero otherwise): before each
//!   instruction the recorder compares revm's journal length with the last one seen and, when
//!   it changed, copies the new entries as [`world`] ops with the values revm holds (a
//!   truncation — a reverted frame — is recorded as a restore). The first query that needs
//!   the world replays the ops once into the prover's world store, which keeps every node
//!   version, so any earlier root stays provable;
//! - `refund`: revm's refund counter summed over the live frames, recorded where it changes;
//! - `logs`: the log chain (spec §2.5), from the logs revm emits (dropped with a failed
//!   frame), hashed on first use.
//!
//! `accumulators` are the empty ones, and in the frame `checkpoint` is zero: they are read
//! only by frame-entry and exit steps, and [`MachineTrace`] fills them in (with the caller
//! chain as spec §6.1 defines it: each caller with `pc` on its CALL or CREATE). `return_window` is the caller's output
//! window for calls (`(0, 0)` for creates and the top frame).
//!
//! ## Numbering
//!
//! Instructions are revm's, counted over every frame in execution order; each makes one or
//! more machine steps, decided by [`machine_steps`] when it starts and amended when it ends
//! its frame (the mapping is sparse: only multi-step instructions are recorded).
//!
//! - KECCAK256, the copies and LOGn are an opening step and their micro-steps (spec §5.5):
//!   a state inside is rebuilt by the prover ([`MicroRun`]) from the instruction's pre-state.
//! - STOP and an exceptional halt are the halting step and the frame's exit step (§5.4): the
//!   state between them is the pre-state with the frame exit pending (gas 0 for a halt). The
//!   exit step's witness is Engine II's ([`Error::UnsupportedStep`] here).
//! - CALL, CREATE and their kinds, RETURN, REVERT and SELFDESTRUCT are one step each in this
//!   version (their opening, copy, entry and exit steps are Engine II's, spec §6): a CALL's
//!   post-state is the callee's first state, and the post-state of a frame's last instruction
//!   is its caller's state after the return (or the final state).
//!
//! Transaction begin and end (§8) are not in this numbering: `S_0` is the top frame's first
//! state and the final state carries only the status. [`Trace::machine`] turns the recording
//! into a [`MachineTrace`], numbered as the machine runs: the begin, every frame boundary and
//! the end in their places, every step provable, and the header's accumulators, the frames'
//! checkpoints and the caller chain as the spec defines them (§4, §6.1).

mod chunked;
pub mod context;
mod machine;
mod numbering;
mod recorder;
pub(crate) mod world;

pub use machine::{MachineTrace, TxBeginInput};
pub use numbering::machine_steps;
pub use recorder::TraceRecorder;

use crate::{
    Error, Result,
    machine::{
        Bytes32Tree, Chain, CodeTree, Contexts, Family, ForkId, Frame, FrameExit, FrameKind,
        FrameSnapshot, MachineState, MicroRun, OPCODES, PendingKind, Stack, StackCommitment,
        Status, StepWitness, WordTree, World, WorldRoots, WorldView, hash_pair, log_item,
        reads_world,
    },
};
use alloy_primitives::{Address, B256, Bytes, Log, U256, keccak256};
use chunked::ChunkedVec;
use numbering::Numbering;
use recorder::{
    Checkpoint, DERIVED, Delta, EFFECTS, Effect, Exception, FrameRecord, UNSEEN, Write,
    fixed_access,
};
use std::sync::{Arc, OnceLock};
use world::{WorldLog, apply_sync};

/// The header around a frame (see the module docs for which fields are real).
pub fn header(status: Status, frame_hash: B256, callers: (u16, B256)) -> MachineState {
    MachineState {
        fork: ForkId::Cancun,
        status,
        pending_kind: PendingKind::None,
        pending_hash: B256::ZERO,
        block_hash: B256::ZERO,
        tx_hash: B256::ZERO,
        state_root: B256::ZERO,
        warm_addresses: B256::ZERO,
        warm_slots: B256::ZERO,
        transient: B256::ZERO,
        created: alloy_trie::EMPTY_ROOT_HASH,
        refund: 0,
        logs: Chain::default(),
        frame_hash,
        callers,
        accumulators: crate::machine::TxAccumulators::default().hash(),
    }
}

/// A change of the log chain (spec §2.5), effective from an instruction's pre-state on.
#[derive(Clone, Debug)]
pub(crate) enum LogEvent {
    /// A log emitted by LOGn (the chain holds it after the instruction).
    Append(Log),
    /// A failed frame's logs dropped: back to the first `n` logs.
    Truncate(u64),
}

/// The world behind a trace (see [`world`]): the pre-state's tries and the recorded changes;
/// their roots at every change are rebuilt on the first query that needs them.
#[derive(Debug)]
pub(crate) struct TraceWorld {
    pub(crate) pre: World,
    pub(crate) start_state_root: B256,
    /// The EIP-2930 access list, warmed at transaction begin.
    pub(crate) access_list: Vec<(Address, Vec<U256>)>,
    pub(crate) log: WorldLog,
    pub(crate) replay: OnceLock<std::result::Result<WorldReplay, String>>,
}

/// The world replayed: every node version, and the roots after each recorded change.
#[derive(Debug)]
pub(crate) struct WorldReplay {
    world: World,
    begin: WorldRoots,
    roots: Vec<WorldRoots>,
}

impl TraceWorld {
    fn replay(&self, coinbase: Address) -> Result<&WorldReplay> {
        self.replay
            .get_or_init(|| self.build_replay(coinbase).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::WorldReplay(e.clone()))
    }

    fn build_replay(&self, coinbase: Address) -> Result<WorldReplay> {
        let mut world = self.pre.clone();
        world::begin(&mut world, coinbase, &self.access_list)?;
        let begin = world.roots;
        let mut roots = Vec::with_capacity(self.log.syncs.len());
        for sync in &self.log.syncs {
            apply_sync(&mut world, &self.log, sync, begin, &roots)?;
            roots.push(world.roots);
        }
        Ok(WorldReplay { world, begin, roots })
    }
}

impl WorldReplay {
    /// The roots in the pre-state of `instruction`.
    fn roots_at(&self, log: &WorldLog, instruction: u64) -> WorldRoots {
        match log.syncs.partition_point(|s| s.instruction <= instruction).checked_sub(1) {
            Some(k) => self.roots[k],
            None => self.begin,
        }
    }
}

/// Where a machine state lies in the recording.
#[allow(clippy::large_enum_variant)] // built once per query, never stored
enum Located {
    /// The final state (or past it).
    Final,
    /// The pre-state of an instruction (its opening step, for a micro-stepped one).
    Instruction { state: MachineState, snapshot: FrameSnapshot, opcode: u8 },
    /// After a halting step: the frame exit pending (spec §5.4); the next step is the exit.
    Halted { state: MachineState, opcode: u8 },
    /// Inside a micro-stepped instruction, before micro-step `k ≥ 1`.
    Micro { run: Box<MicroRun>, opcode: u8 },
}

/// One distinct code of the transaction, with its tree built on first use.
#[derive(Debug)]
struct CodeEntry {
    bytes: Bytes,
    tree: OnceLock<Result<Arc<CodeTree>, usize>>,
}

impl CodeEntry {
    fn new(bytes: Bytes) -> Self {
        Self { bytes, tree: OnceLock::new() }
    }

    fn tree(&self) -> Result<Arc<CodeTree>> {
        self.tree
            .get_or_init(|| CodeTree::new(&self.bytes).map(Arc::new).map_err(|_| self.bytes.len()))
            .clone()
            .map_err(|size| Error::CodeTooLarge { size })
    }
}

/// A frame's state before an instruction: raw but for memory and return data, held as word
/// trees (shared with the checkpoint's where unchanged).
#[derive(Clone, Debug)]
struct RawFrame {
    frame: u32,
    pc: u32,
    gas: u64,
    stack: Vec<U256>,
    memory: WordTree,
    returndata: Arc<WordTree>,
}

/// The trace of one transaction, recorded by a [`TraceRecorder`]; see the module docs.
///
/// Queries take `&self` and may run from several threads; the code, calldata and caller-chain
/// commitments they share are built once, on first use.
#[derive(Debug)]
pub struct Trace {
    frames: Vec<FrameRecord>,
    codes: Vec<CodeEntry>,
    /// The number of revm instructions recorded.
    instructions: u64,
    /// The gas each opcode cost the first time it ran ([`UNSEEN`] if it never ran, or first
    /// cost more than [`Delta::BIG_COST`]): an instruction with no [`Exception`] cost this.
    costs: [u32; 256],
    /// The deltas of the instructions that did not cost their opcode's usual gas, or grew or
    /// wrote memory, by instruction.
    exceptions: ChunkedVec<Exception>,
    pushed: ChunkedVec<U256>,
    writes: ChunkedVec<Write>,
    bytes: Vec<u8>,
    memory_sizes: Vec<u32>,
    big_costs: Vec<u64>,
    checkpoints: Vec<Checkpoint>,
    numbering: Numbering,
    status: Status,
    /// The block and transaction contexts, read when the top frame started.
    contexts: Option<Box<Contexts>>,
    /// The world, when the recorder was given the pre-state.
    world: Option<Box<TraceWorld>>,
    /// `(instruction, refund counter)` wherever the counter changed, by instruction.
    refunds: Vec<(u64, i64)>,
    /// `(instruction, change)` of the log chain, by instruction.
    log_events: Vec<(u64, LogEvent)>,
    /// The log chain after each of `log_events`, built on first use.
    log_chains: OnceLock<Vec<Chain>>,
    /// `(instruction, success)` of every instruction that halted its frame (STOP: success),
    /// by instruction.
    halts: Vec<(u64, bool)>,
    /// The instructions of frame-boundary opcodes (spec §6), in order.
    boundaries: Vec<u64>,
}

impl Default for Trace {
    fn default() -> Self {
        Self {
            frames: Vec::new(),
            codes: Vec::new(),
            instructions: 0,
            costs: [UNSEEN; 256],
            exceptions: ChunkedVec::default(),
            pushed: ChunkedVec::default(),
            writes: ChunkedVec::default(),
            bytes: Vec::new(),
            memory_sizes: Vec::new(),
            big_costs: Vec::new(),
            checkpoints: Vec::new(),
            numbering: Numbering::default(),
            status: Status::Invalid,
            contexts: None,
            world: None,
            refunds: Vec::new(),
            log_events: Vec::new(),
            log_chains: OnceLock::new(),
            halts: Vec::new(),
            boundaries: Vec::new(),
        }
    }
}

impl Trace {
    /// The number of machine steps `n`: states are `S_0 … S_n`.
    pub fn len(&self) -> u64 {
        self.numbering.machine_index(self.instructions)
    }

    /// The step index of revm instruction `instruction` of the transaction (counted over
    /// every frame in execution order): its first machine step, whose pre-state is the
    /// instruction's; the instruction count gives `len`.
    pub fn instruction_step(&self, instruction: u64) -> u64 {
        self.numbering.machine_index(instruction)
    }

    /// The number of revm instructions recorded.
    pub fn instructions(&self) -> u64 {
        self.instructions
    }

    /// Whether the trace has no step (the transaction ran no code).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The final state's status: `Succeeded` or `Failed` by the top frame's outcome, `Invalid`
    /// when no frame ran (revm rejected the transaction).
    pub fn status(&self) -> Status {
        self.status
    }

    /// Frames entered (with code), the top frame included.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Bytes held by the recording (exceptions, pushed values, written bytes, checkpoints), for
    /// measuring its cost.
    pub fn recorded_bytes(&self) -> usize {
        use std::mem::size_of;
        self.exceptions.len() * size_of::<Exception>()
            + self.pushed.len() * 32
            + self.writes.len() * size_of::<Write>()
            + self.bytes.len()
            + self.memory_sizes.len() * 4
            + self.big_costs.len() * 8
            + self
                .checkpoints
                .iter()
                .map(|c| size_of::<Checkpoint>() + c.stack.len() * 32)
                .sum::<usize>()
    }

    /// The commitment to `S_i`, the machine state before step `i` (`i = len` is the final
    /// state): `H(encode(MachineState))`, 32 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::TraceIndexOutOfRange`] when `i > len`; [`Error::CodeTooLarge`] when the
    /// frame's code exceeds the machine's bound; trie errors, which a world built by the
    /// recorder does not produce.
    pub fn commitment(&self, i: u64) -> Result<B256> {
        Ok(match self.locate(i)? {
            Located::Final => self.final_header().commitment(),
            Located::Instruction { state, .. } | Located::Halted { state, .. } => {
                state.commitment()
            }
            Located::Micro { run, .. } => run.commitment()?,
        })
    }

    /// The witness of step `i` (`i < len`): the header and frame of `S_i` with everything the
    /// step reads (see [`FrameSnapshot::witness`]; contexts, trie nodes and account code for
    /// context and world steps; the pending operation and its proofs for a micro-step). For
    /// `i ≥ len` (padding past the final state, spec §1) the witness is the final header with
    /// an empty frame, which the executor maps to itself.
    ///
    /// # Errors
    ///
    /// As for [`Trace::commitment`]; [`Error::UnsupportedStep`] for a frame's exit step
    /// (spec §6.2, Engine II).
    pub fn witness(&self, i: u64) -> Result<StepWitness> {
        match self.locate(i)? {
            Located::Final => Ok(StepWitness::new(self.final_header(), empty_frame())),
            Located::Instruction { state, snapshot, opcode } => {
                if OPCODES[opcode as usize].family == Family::Boundary {
                    return Err(Error::UnsupportedStep {
                        opcode,
                        reason: "frame entry and exit are traced by MachineTrace (Trace::machine)",
                    });
                }
                self.in_frame_witness(state, &snapshot, opcode, None)
            }
            Located::Halted { opcode, .. } => {
                Err(Error::UnsupportedStep { opcode, reason: "a frame's exit step (Engine II)" })
            }
            Located::Micro { mut run, opcode } => match run.next_step()? {
                Some((witness, _)) => Ok(witness),
                None => Err(Error::UnsupportedStep { opcode, reason: "past the last micro-step" }),
            },
        }
    }

    /// The header of `S_i` and, unless it is the final state, its frame.
    ///
    /// # Errors
    ///
    /// As for [`Trace::commitment`].
    pub fn state(&self, i: u64) -> Result<(MachineState, Option<Frame>)> {
        Ok(match self.locate(i)? {
            Located::Final => (self.final_header(), None),
            Located::Instruction { state, snapshot, .. } => (state, Some(snapshot.frame()?)),
            Located::Halted { state, .. } => (state, None),
            Located::Micro { run, .. } => (run.header()?, Some(run.frame().frame()?)),
        })
    }

    fn final_header(&self) -> MachineState {
        header(self.status, B256::ZERO, (0, B256::ZERO))
    }

    /// The header fields of the pre-state of `instruction` beyond its frame and callers:
    /// contexts, world roots, refund counter and log chain.
    fn header_at(
        &self,
        instruction: u64,
        frame_hash: B256,
        callers: (u16, B256),
    ) -> Result<MachineState> {
        let mut state = header(Status::Running, frame_hash, callers);
        if let Some(contexts) = &self.contexts {
            state.block_hash = contexts.block.hash();
            state.tx_hash = contexts.tx.hash();
            if let Some(world) = &self.world {
                let roots =
                    world.replay(contexts.block.coinbase)?.roots_at(&world.log, instruction);
                state.state_root = roots.state_root;
                state.warm_addresses = roots.warm_addresses;
                state.warm_slots = roots.warm_slots;
                state.transient = roots.transient;
                state.created = roots.created;
            }
        }
        let at = self.refunds.partition_point(|(i, _)| *i <= instruction);
        let refund = at.checked_sub(1).map_or(0, |k| self.refunds[k].1);
        state.refund = u64::try_from(refund).unwrap_or_default();
        let at = self.log_events.partition_point(|(i, _)| *i <= instruction);
        if let Some(k) = at.checked_sub(1) {
            state.logs = self.log_chains()[k];
        }
        Ok(state)
    }

    /// The log chain after each log event.
    fn log_chains(&self) -> &[Chain] {
        self.log_chains.get_or_init(|| {
            let mut chains = vec![Chain::default()];
            let mut after = Vec::with_capacity(self.log_events.len());
            for (_, event) in &self.log_events {
                match event {
                    LogEvent::Append(log) => {
                        let last = *chains.last().unwrap_or(&Chain::default());
                        let item = log_item(&log.address, log.topics(), keccak256(&log.data.data));
                        chains.push(Chain {
                            count: last.count + 1,
                            acc: hash_pair(&last.acc, &item),
                        });
                    }
                    LogEvent::Truncate(n) => chains.truncate(*n as usize + 1),
                }
                after.push(*chains.last().unwrap_or(&Chain::default()));
            }
            after
        })
    }

    /// Finds `S_i` in the recording and rebuilds what it needs.
    fn locate(&self, i: u64) -> Result<Located> {
        let len = self.len();
        if i > len {
            return Err(Error::TraceIndexOutOfRange { index: i, len });
        }
        let position = self.numbering.position(i);
        let instruction = position.instruction;
        if instruction >= self.instructions {
            return Ok(Located::Final);
        }
        let (state, snapshot, opcode) = self.in_frame(instruction, |frame| {
            Ok(FrameParts {
                checkpoint: B256::ZERO,
                return_window: self.frames[frame as usize].return_window,
                callers: self.callers(frame)?,
                accumulators: crate::machine::TxAccumulators::default().hash(),
            })
        })?;
        if position.micro == 0 {
            return Ok(Located::Instruction { state, snapshot, opcode });
        }
        let halt = self.halts.binary_search_by_key(&instruction, |(i, _)| *i);
        if let Ok(k) = halt {
            let state = halted(state, snapshot, self.halts[k].1)?.0;
            return Ok(Located::Halted { state, opcode });
        }
        let run = self.micro_run(&snapshot, state, position.micro)?;
        Ok(Located::Micro { run: Box::new(run), opcode })
    }

    /// The state before `instruction` in its frame: the header (contexts, world roots, refund
    /// counter, log chain, and `parts` of the instruction's frame), the frame and the opcode.
    fn in_frame(
        &self,
        instruction: u64,
        parts: impl FnOnce(u32) -> Result<FrameParts>,
    ) -> Result<(MachineState, FrameSnapshot, u8)> {
        let raw = self.raw_before(instruction)?;
        let parts = parts(raw.frame)?;
        let mut snapshot = self.frame_snapshot(raw)?;
        snapshot.checkpoint = parts.checkpoint;
        snapshot.return_window = parts.return_window;
        let mut state = self.header_at(instruction, snapshot.frame()?.hash(), parts.callers)?;
        state.accumulators = parts.accumulators;
        let opcode = snapshot.code_byte(snapshot.pc as usize);
        Ok((state, snapshot, opcode))
    }

    /// The micro-stepped instruction at `snapshot`, opened from its pre-state `state`, before
    /// its micro-step `micro ≥ 1`.
    fn micro_run(
        &self,
        snapshot: &FrameSnapshot,
        state: MachineState,
        micro: u64,
    ) -> Result<MicroRun> {
        let opcode = snapshot.code_byte(snapshot.pc as usize);
        let world = match (&self.world, &self.contexts) {
            (Some(world), Some(contexts)) => {
                let replay = world.replay(contexts.block.coinbase)?;
                Some(WorldView {
                    nodes: replay.world.store(),
                    coinbase: contexts.block.coinbase,
                    codes: &world.log.codes,
                })
            }
            _ => None,
        };
        let mut run = MicroRun::open(snapshot, state, world)?;
        for _ in 1..micro {
            if run.next_step()?.is_none() {
                break;
            }
        }
        if run.is_done() {
            return Err(Error::UnsupportedStep {
                opcode,
                reason: "the recorded micro-step count differs from the prover's",
            });
        }
        Ok(run)
    }

    /// The witness of the in-frame step at `snapshot` from `state`: the frame's items the
    /// step reads, the contexts, and the world's nodes and code for a world step;
    /// `accumulators` for a frame-boundary opcode (its opening may read them).
    fn in_frame_witness(
        &self,
        state: MachineState,
        snapshot: &FrameSnapshot,
        opcode: u8,
        accumulators: Option<crate::machine::TxAccumulators>,
    ) -> Result<StepWitness> {
        let mut witness = snapshot.witness(state)?;
        if let Some(contexts) = &self.contexts {
            contexts.complete(opcode, &mut witness)?;
        }
        if OPCODES[opcode as usize].family == Family::Boundary {
            witness.accumulators = accumulators;
        }
        if reads_world(opcode)
            && let (Some(world), Some(contexts)) = (&self.world, &self.contexts)
        {
            world::world_contexts(contexts, opcode, &mut witness);
            let replay = world.replay(contexts.block.coinbase)?;
            let pre = state.commitment();
            world::prove_world(&replay.world, &world.log.codes, pre, opcode, &mut witness);
        }
        Ok(witness)
    }

    /// The raw frame state before `instruction`.
    fn raw_before(&self, instruction: u64) -> Result<RawFrame> {
        let at = self.checkpoints.partition_point(|c| c.instruction <= instruction) - 1;
        self.replay(at, instruction)
    }

    /// The raw state of `instruction`'s frame right after it ran, before anything between
    /// instructions (a callee's run, the return) touched it.
    fn raw_after(&self, instruction: u64) -> Result<RawFrame> {
        let at = self.checkpoints.partition_point(|c| c.instruction <= instruction) - 1;
        self.replay(at, instruction + 1)
    }

    /// Restores checkpoint `at` and applies the deltas of its instructions up to `end`
    /// (exclusive).
    fn replay(&self, at: usize, end: u64) -> Result<RawFrame> {
        let c = &self.checkpoints[at];
        let (mut pc, mut gas, mut stack) = (c.pc, c.gas, c.stack.clone());
        let mut memory_len = c.memory_len;
        let code = &self.codes[self.frames[c.frame as usize].code as usize].bytes;
        let (mut pushed, mut writes) = (c.pushed_at, c.writes_at);
        let (mut sizes, mut big_costs) = (c.sizes_at, c.big_costs_at);
        let mut exceptions = c.exceptions_at;
        for instruction in c.instruction..end {
            let at_pc = pc as usize;
            let opcode = code.get(at_pc).copied().unwrap_or(0);
            let delta = match self.exceptions.get(exceptions) {
                Some(e) if e.instruction == instruction => {
                    exceptions += 1;
                    e.delta
                }
                // Every opcode recorded without an exception ran before, so its cost is seen.
                _ => Delta(self.costs[opcode as usize] % UNSEEN),
            };
            let mut next = at_pc + 1;
            if let Some(width) = fixed_access(opcode)
                && let Some(offset) = stack.last().and_then(|o| u64::try_from(*o).ok())
            {
                memory_len = memory_len.max(offset.saturating_add(width).div_ceil(32) * 32);
            }
            match EFFECTS[opcode as usize] {
                Effect::Push(n) => {
                    let n = usize::from(n);
                    let mut word = [0u8; 32];
                    let imm = code.get(at_pc + 1..).unwrap_or_default();
                    let avail = imm.len().min(n);
                    word[32 - n..32 - n + avail].copy_from_slice(&imm[..avail]);
                    stack.push(U256::from_be_bytes(word));
                    next += n;
                }
                Effect::Dup(n) => stack.push(stack[stack.len() - usize::from(n)]),
                Effect::Swap(n) => {
                    let top = stack.len() - 1;
                    stack.swap(top, top - usize::from(n));
                }
                Effect::Jump => {
                    next = stack
                        .pop()
                        .map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX));
                }
                Effect::Jumpi => {
                    let target = stack.pop().unwrap_or_default();
                    if !stack.pop().unwrap_or_default().is_zero() {
                        next = usize::try_from(target).unwrap_or(usize::MAX);
                    }
                }
                Effect::Compute { pop, push } => {
                    let base = stack.len() - usize::from(pop);
                    let value = match push {
                        0 => None,
                        _ if DERIVED[opcode as usize] => {
                            let operands = &stack[base..];
                            let arg = |k: usize| {
                                operands
                                    .len()
                                    .checked_sub(1 + k)
                                    .map_or(U256::ZERO, |i| operands[i])
                            };
                            crate::machine::pure(opcode, [arg(0), arg(1), arg(2)])
                        }
                        _ => {
                            pushed += 1;
                            Some(self.pushed[pushed - 1])
                        }
                    };
                    stack.truncate(base);
                    stack.extend(value);
                }
            }
            pc = next as u32;
            let cost = match delta.cost() {
                Delta::BIG_COST => {
                    big_costs += 1;
                    self.big_costs[big_costs - 1]
                }
                cost => u64::from(cost),
            };
            gas -= cost;
            if delta.grew() {
                memory_len = u64::from(self.memory_sizes[sizes]) * 32;
                sizes += 1;
            }
            if delta.wrote() {
                writes += 1;
            }
        }
        let mut memory = self.checkpoint_memory(at)?;
        memory.write_all(self.writes(c.writes_at..writes))?;
        memory.expand(memory_len);
        let returndata = match c.returndata_tree.get() {
            Some(tree) => tree.clone(),
            None => {
                let tree = Arc::new(WordTree::from_bytes(&c.returndata)?);
                c.returndata_tree.get_or_init(|| tree).clone()
            }
        };
        Ok(RawFrame { frame: c.frame, pc, gas, stack, memory, returndata })
    }

    /// The recorded writes `range`, as (offset, bytes).
    fn writes(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = (u64, &[u8])> {
        self.writes.range(range).map(|w| self.write(w))
    }

    fn write(&self, w: &Write) -> (u64, &[u8]) {
        (w.offset, &self.bytes[w.start as usize..(w.start + w.len) as usize])
    }

    /// The memory word tree of checkpoint `at`, memoized: built from the nearest earlier
    /// checkpoint of the same frame whose tree is built (or from the empty memory at the
    /// frame's entry) with only the frame's writes in between, each changed word's path
    /// rehashed once.
    fn checkpoint_memory(&self, at: usize) -> Result<WordTree> {
        let target = &self.checkpoints[at];
        if let Some(tree) = target.memory.get() {
            return Ok(tree.clone());
        }
        let mut path = Vec::new();
        let mut k = at;
        let mut tree = loop {
            let c = &self.checkpoints[k];
            if let Some(tree) = c.memory.get() {
                break tree.clone();
            }
            path.push(k);
            match c.prev {
                Some(prev) => k = prev as usize,
                None => break WordTree::empty(),
            }
        };
        let frame_writes = |k: usize| {
            let c = &self.checkpoints[k];
            let from = c.prev.map_or(c.prev_writes_end, |p| self.checkpoints[p as usize].writes_at);
            self.writes(from..c.prev_writes_end).chain(c.entry_write.iter().map(|w| self.write(w)))
        };
        let count: usize = path.iter().map(|&k| frame_writes(k).count()).sum();
        if count.saturating_mul(4) > (target.memory_len / 32) as usize {
            // Most of the memory changed since the nearest tree: write the frame's memory from
            // its entry in raw form and hash it once (wide levels in parallel).
            if path.last() != Some(&k) {
                path.push(k);
            }
            while let Some(prev) = self.checkpoints[k].prev {
                k = prev as usize;
                path.push(k);
            }
            let mut bytes = vec![0u8; target.memory_len as usize];
            for (offset, data) in path.iter().rev().flat_map(|&k| frame_writes(k)) {
                let end = offset as usize + data.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[offset as usize..end].copy_from_slice(data);
            }
            tree = WordTree::from_bytes(&bytes)?;
        } else {
            tree.write_all(path.iter().rev().flat_map(|&k| frame_writes(k)))?;
        }
        tree.expand(target.memory_len);
        Ok(target.memory.get_or_init(|| tree).clone())
    }

    /// The caller chain `(count, acc)` of `frame` (spec §2.5), memoized per frame. Walks up to
    /// the nearest ancestor already known, then down, so deep recursions do not recurse here.
    fn callers(&self, frame: u32) -> Result<(u16, B256)> {
        let mut path = Vec::new();
        let mut at = frame;
        let mut chain = loop {
            let record = &self.frames[at as usize];
            if let Some(chain) = record.callers.get() {
                break *chain;
            }
            match record.parent {
                None => {
                    let _ = record.callers.set((0, B256::ZERO));
                    break (0, B256::ZERO);
                }
                Some((parent, _)) => {
                    path.push(at);
                    at = parent;
                }
            }
        };
        for child in path.into_iter().rev() {
            let Some((_, call)) = self.frames[child as usize].parent else { continue };
            let caller = self.frame_snapshot(self.raw_after(call)?)?.frame()?.hash();
            chain = (chain.0 + 1, crate::machine::hash_pair(&chain.1, &caller));
            let _ = self.frames[child as usize].callers.set(chain);
        }
        Ok(chain)
    }

    /// The frame snapshot of a raw frame state: hashes its stack and memory once.
    fn frame_snapshot(&self, raw: RawFrame) -> Result<FrameSnapshot> {
        let record = &self.frames[raw.frame as usize];
        let code = self.codes[record.code as usize].tree()?;
        let calldata = match record.calldata_tree.get() {
            Some(tree) => tree.clone(),
            None => {
                let tree = Arc::new(WordTree::from_bytes(&record.calldata)?);
                record.calldata_tree.get_or_init(|| tree).clone()
            }
        };
        Ok(FrameSnapshot {
            kind: record.kind,
            is_static: record.is_static,
            address: record.address,
            caller: record.caller,
            value: record.value,
            code,
            pc: raw.pc,
            gas: raw.gas,
            stack: Stack::new(&raw.stack),
            memory: raw.memory,
            calldata,
            returndata: raw.returndata,
            return_window: record.return_window,
            checkpoint: B256::ZERO,
        })
    }
}

/// What a frame's state holds beyond the recording: its `checkpoint` hash and return window
/// (spec §4.2), its caller chain and the transaction's accumulators (§4.1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameParts {
    pub(crate) checkpoint: B256,
    pub(crate) return_window: (u32, u32),
    pub(crate) callers: (u16, B256),
    pub(crate) accumulators: B256,
}

/// A halting step's post-state (spec §4.5, §5.4): the frame as before it (gas 0 for an
/// exceptional halt) and the frame exit pending, nothing else changed; and that frame.
fn halted(
    state: MachineState,
    mut snapshot: FrameSnapshot,
    success: bool,
) -> Result<(MachineState, FrameSnapshot)> {
    if !success {
        snapshot.gas = 0;
    }
    let state = MachineState {
        frame_hash: snapshot.frame()?.hash(),
        pending_kind: PendingKind::FrameExit,
        pending_hash: FrameExit::empty(success).hash(),
        ..state
    };
    Ok((state, snapshot))
}

/// The frame of a witness past the final state: never read (the executor returns a final
/// state unchanged before looking at the frame).
fn empty_frame() -> Frame {
    let empty = Bytes32Tree { len: 0, root: B256::ZERO };
    Frame {
        kind: FrameKind::Transaction,
        is_static: false,
        address: Address::ZERO,
        caller: Address::ZERO,
        value: U256::ZERO,
        code_root: B256::ZERO,
        code_size: 0,
        code_hash: B256::ZERO,
        pc: 0,
        gas: 0,
        stack: StackCommitment::EMPTY,
        memory: empty,
        calldata: empty,
        returndata: empty,
        return_window: (0, 0),
        checkpoint: B256::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Family, OPCODES, execute};
    use revm::{
        Context, InspectEvm, MainBuilder, MainContext,
        context::TxEnv,
        database::{CacheDB, EmptyDB},
        primitives::TxKind,
        state::{AccountInfo, Bytecode},
    };

    const CALLER: Address = Address::with_last_byte(0xaa);
    const CALLEE: Address = Address::with_last_byte(0xbb);

    /// The caller: 40 calls whose 32-byte output lands in a window straddling two memory words,
    /// each after an MSTORE, then 700 iterations of MSTORE and MLOAD with no call (a long
    /// segment, several checkpoints).
    fn caller_code() -> Vec<u8> {
        let mut code = vec![0x61, 0x00, 40]; // PUSH2 40
        let loop1 = code.len() as u8;
        code.extend([0x5b, 0x80, 0x80, 0x02, 0x81, 0x60, 0x05, 0x1b, 0x52]); // mem[i*32] = i*i
        code.extend([0x60, 0x20, 0x81, 0x60, 0x05, 0x1b, 0x60, 0x10, 0x01]); // 32, i*32+16
        code.extend([0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x73]); // 0, 0, 0, PUSH20 callee
        code.extend(CALLEE.as_slice());
        code.extend([0x5a, 0xf1, 0x50]); // GAS CALL POP
        code.extend([0x60, 0x01, 0x90, 0x03, 0x80, 0x61, 0x00, loop1, 0x57, 0x50]); // i-1, loop
        code.extend([0x61, 0x02, 0xbc]); // PUSH2 700
        let loop2 = code.len() as u8;
        code.extend([0x5b, 0x80, 0x80, 0x02, 0x81, 0x60, 0x05, 0x1b, 0x52]); // mem[i*32] = i*i
        code.extend([0x80, 0x60, 0x07, 0x16, 0x60, 0x05, 0x1b, 0x51, 0x50]); // MLOAD((i&7)*32)
        code.extend([0x60, 0x01, 0x90, 0x03, 0x80, 0x61, 0x00, loop2, 0x57, 0x00]); // i-1, loop
        code
    }

    fn record() -> Trace {
        let mut db = CacheDB::new(EmptyDB::default());
        let callee = vec![0x5a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]; // return GAS
        let info = |code: Vec<u8>| AccountInfo::default().with_code(Bytecode::new_raw(code.into()));
        db.insert_account_info(CALLER, info(caller_code()));
        db.insert_account_info(CALLEE, info(callee));
        let mut evm =
            Context::mainnet().with_db(db).build_mainnet_with_inspector(TraceRecorder::new());
        let tx = TxEnv::builder().kind(TxKind::Call(CALLER)).gas_limit(10_000_000).build();
        evm.inspect_tx(tx.expect("a valid transaction")).expect("runs");
        std::mem::take(&mut evm.inspector).finish()
    }

    /// The opcode a witness's step runs.
    fn opcode(witness: &StepWitness) -> u8 {
        let pc = witness.frame.pc;
        let chunk = witness.code.iter().find(|chunk| chunk.index == pc / 32);
        chunk.map_or(0, |chunk| chunk.bytes[(pc % 32) as usize])
    }

    /// Memoized memory trees are built from whichever checkpoint was built before: queries
    /// backwards, scattered, and from several threads at once give the in-order commitments,
    /// and the steps the executor runs land on the next one.
    #[test]
    fn queries_in_any_order_and_from_several_threads_agree() {
        let trace = record();
        let len = trace.len();
        assert_eq!(trace.status(), Status::Succeeded);
        assert_eq!(trace.frame_count(), 41);
        assert!(len > 3 * 4096, "{len} steps");
        let in_order: Vec<B256> = (0..=len).map(|i| trace.commitment(i).expect("state")).collect();

        let backwards = record();
        for i in (0..=len).rev().step_by(5) {
            assert_eq!(backwards.commitment(i).expect("state"), in_order[i as usize], "S_{i}");
        }

        let scattered = record();
        let (in_order, scattered) = (&in_order, &scattered);
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                scope.spawn(move || {
                    let mut x = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(thread + 1);
                    for _ in 0..400 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let i = x % (len + 1);
                        assert_eq!(scattered.commitment(i).expect("state"), in_order[i as usize]);
                        if i == len {
                            continue;
                        }
                        let witness = match scattered.witness(i) {
                            Err(Error::UnsupportedStep { opcode, .. })
                                if OPCODES[opcode as usize].family == Family::Boundary =>
                            {
                                continue; // frame boundaries are not traced yet
                            }
                            witness => witness.expect("witness"),
                        };
                        let family = OPCODES[opcode(&witness) as usize].family;
                        if matches!(
                            family,
                            Family::Pure | Family::Stack | Family::Control | Family::Memory
                        ) {
                            let post = execute(in_order[i as usize], &witness).expect("executes");
                            assert_eq!(post, in_order[i as usize + 1], "step {i}");
                        }
                    }
                });
            }
        });
    }
}
