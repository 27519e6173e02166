//! The recording inspector: runs alongside revm over one transaction and keeps checkpoints
//! and per-instruction deltas in raw form, never a hash.

use super::{
    LogEvent, Trace, TraceWorld,
    context::{access_list, contexts},
    numbering::machine_steps,
    world::{JournalFollower, WorldLog, pre_world},
};
use crate::{
    Result,
    machine::{Family, FrameKind, OPCODES, Status, WordTree, memory_write},
};
use alloy_primitives::{Address, B256, Bytes, Log, U256};
use revm::{
    Inspector,
    context::ContextTr,
    database::CacheState,
    inspector::JournalExt,
    interpreter::{
        CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, CreateScheme,
        InstructionResult, Interpreter,
        interpreter_types::{InputsTr, Jumps, LoopControl, MemoryTr, ReturnData, RuntimeFlag},
    },
};
use std::sync::{Arc, OnceLock};

/// Instructions between two checkpoints of one frame segment. A checkpoint holds the stack
/// but no memory (memory is rebuilt from the frame's writes), so it costs a few hundred bytes.
const CHECKPOINT_EVERY: u64 = 4096;

/// A stack budget for checkpoints: at most this many bytes copied per instruction, amortized
/// (a deep stack is checkpointed less often).
const CHECKPOINT_BYTES_PER_STEP: u64 = 8;

/// What one instruction left behind in its frame, packed in 32 bits: the gas it cost (bits
/// 0–29; [`Delta::BIG_COST`] when the cost is in [`Trace::big_costs`]), whether it grew the
/// memory (bit 30; the new size is the next entry of [`Trace::memory_sizes`]) and whether it
/// wrote memory (bit 31; the next entry of [`Trace::writes`]).
///
/// Only the exceptions are stored ([`Exception`]): an instruction that cost what its opcode
/// cost the first time it ran ([`Trace::costs`]) and neither grew nor wrote memory leaves no
/// record. Everything else is derived from the code and the replayed stack (see [`Effect`]):
/// the next `pc` (jump targets are the popped operands), the items popped, the pushed values
/// of PUSHn, DUPn and SWAPn, and the values of the pure opcodes (arithmetic, comparison,
/// bitwise: recomputed from their operands by [`crate::machine::pure`]). Only the other
/// values an instruction computes are stored, in [`Trace::pushed`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delta(pub(crate) u32);

impl Delta {
    /// The cost field's escape value.
    pub(crate) const BIG_COST: u32 = (1 << 30) - 1;
    const GREW: u32 = 1 << 30;
    const WROTE: u32 = 1 << 31;

    pub(crate) fn cost(self) -> u32 {
        self.0 & Self::BIG_COST
    }

    pub(crate) fn grew(self) -> bool {
        self.0 & Self::GREW != 0
    }

    pub(crate) fn wrote(self) -> bool {
        self.0 & Self::WROTE != 0
    }
}

/// The [`Delta`] of an instruction that has one to tell ([`Trace::exceptions`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exception {
    /// The instruction index.
    pub(crate) instruction: u64,
    pub(crate) delta: Delta,
}

/// [`Trace::costs`] entry of an opcode that never ran.
pub(crate) const UNSEEN: u32 = u32::MAX;

/// The recorder's fast test per opcode: the gas cost that needs no record, or `u64::MAX` (no
/// cost matches) for an opcode not seen yet or with [`HOT`] flags.
#[derive(Debug)]
struct FastCosts([u64; 256]);

impl Default for FastCosts {
    fn default() -> Self {
        Self([u64::MAX; 256])
    }
}
/// How an instruction changes its frame's stack and `pc` while it runs (what happens between
/// instructions, a callee's run and the return, starts a new segment with a checkpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// PUSH0..PUSH32: pushes its immediate (`n` bytes).
    Push(u8),
    /// DUPn.
    Dup(u8),
    /// SWAPn.
    Swap(u8),
    /// JUMP: pops the target and goes there.
    Jump,
    /// JUMPI: pops target and condition, goes to the target if the condition is not zero.
    Jumpi,
    /// Pops `pop` items and pushes `push` (0 or 1) computed values: recomputed from the
    /// operands for a [`Family::Pure`] opcode, else stored in the trace.
    Compute { pop: u8, push: u8 },
}

/// The [`Effect`] of every opcode. Calls and creates push nothing while they run (the result
/// is pushed on return); an opcode that halts ends its frame, so its effect is never replayed.
pub(crate) const EFFECTS: [Effect; 256] = {
    let mut t = [Effect::Compute { pop: 0, push: 0 }; 256];
    let mut op = 0;
    while op < 256 {
        let info = OPCODES[op];
        t[op] = Effect::Compute { pop: info.inputs, push: info.outputs };
        op += 1;
    }
    let mut n = 0;
    while n <= 32 {
        t[0x5f + n] = Effect::Push(n as u8);
        n += 1;
    }
    let mut n = 1;
    while n <= 16 {
        t[0x7f + n] = Effect::Dup(n as u8);
        t[0x8f + n] = Effect::Swap(n as u8);
        n += 1;
    }
    t[0x56] = Effect::Jump;
    t[0x57] = Effect::Jumpi;
    let calls = [0xf0, 0xf1, 0xf2, 0xf4, 0xf5, 0xfa];
    let mut k = 0;
    while k < calls.len() {
        t[calls[k]] = Effect::Compute { pop: OPCODES[calls[k]].inputs, push: 0 };
        k += 1;
    }
    t
};

/// Whether replay recomputes an opcode's pushed value from its operands (a pure opcode).
pub(crate) const DERIVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut op = 0;
    while op < 256 {
        t[op] = matches!(OPCODES[op].family, Family::Pure);
        op += 1;
    }
    t
};

/// [`HOT`] flag: the opcode's pushed value is stored (computed, and derivable neither from
/// the code nor from the stack).
const STORES_OUTPUT: u8 = 1;
/// [`HOT`] flag: the opcode may grow memory.
const MAY_GROW: u8 = 2;
/// [`HOT`] flag: the opcode may write memory ([`memory_write`]).
const WRITES: u8 = 4;
/// [`HOT`] flag: the opcode may change revm's journal or the refund counter (any opcode
/// outside the pure, stack, control and memory families): look at both before the next
/// instruction.
const SYNCS: u8 = 8;
/// [`HOT`] flag: the opcode may make more than one machine step ([`machine_steps`]).
const MULTI: u8 = 16;
/// [`HOT`] flag: a frame-boundary opcode (spec §6): its instruction index is recorded, for
/// the boundary steps [`super::MachineTrace`] numbers there.
const BOUNDARY: u8 = 32;
/// The [`HOT`] flags with work when the opcode starts (the others: when it is done).
const OPENS: u8 = WRITES | MULTI | BOUNDARY;

/// The bytes MLOAD, MSTORE and MSTORE8 touch from the offset on top of the stack (`None` for
/// other opcodes): their memory growth follows from it, to `⌈(offset + width) / 32⌉` words.
pub(crate) fn fixed_access(opcode: u8) -> Option<u64> {
    match opcode {
        0x51 | 0x52 => Some(32),
        0x53 => Some(1),
        _ => None,
    }
}

/// What the recorder must look at around each opcode, beyond its gas cost: one table lookup
/// per instruction, and nothing more for the common ones (stack, control, pure opcodes).
const HOT: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut op = 0;
    while op < 256 {
        if matches!(EFFECTS[op], Effect::Compute { push: 1, .. }) && !DERIVED[op] {
            t[op] |= STORES_OUTPUT;
        }
        if !matches!(
            OPCODES[op].family,
            Family::Pure | Family::Stack | Family::Control | Family::Memory
        ) {
            t[op] |= SYNCS;
        }
        if matches!(op, 0x20 | 0x37 | 0x39 | 0x3c | 0x3e | 0x5e | 0xa0..=0xa4) {
            t[op] |= MULTI;
        }
        if matches!(OPCODES[op].family, Family::Boundary) {
            t[op] |= BOUNDARY;
        }
        op += 1;
    }
    // Every opcode that touches memory (Cancun) but MLOAD, MSTORE and MSTORE8 (replay derives
    // their growth, see [`fixed_access`]): copies, KECCAK256, LOGn, calls and creates (argument
    // and return windows), RETURN and REVERT.
    let grow = [
        0x20, 0x37, 0x39, 0x3c, 0x3e, 0x5e, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xf0, 0xf1, 0xf2, 0xf3,
        0xf4, 0xf5, 0xfa, 0xfd,
    ];
    let mut k = 0;
    while k < grow.len() {
        t[grow[k]] |= MAY_GROW;
        k += 1;
    }
    let writes = [0x37, 0x39, 0x3c, 0x3e, 0x52, 0x53, 0x5e];
    let mut k = 0;
    while k < writes.len() {
        t[writes[k]] |= WRITES;
        k += 1;
    }
    t
};

/// Memory bytes written by one instruction: `len` bytes at `offset`, stored in
/// [`Trace::bytes`] from `start`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Write {
    pub(crate) offset: u64,
    pub(crate) start: u64,
    pub(crate) len: u64,
}

/// A frame's state before an instruction, raw: restored and replayed forward to answer a
/// query.
///
/// It holds no memory bytes. The frame's memory is its writes since its entry (memory starts
/// empty): those of the frame's own instructions, and at a checkpoint after a return, the
/// callee's output copied into the return window ([`Checkpoint::entry_write`]). The memory
/// word tree at a checkpoint is built on first use from the nearest earlier checkpoint of the
/// frame whose tree is built, with only the writes in between ([`Trace::checkpoint_memory`]),
/// and kept: trees share every unchanged node chunk, so nearby checkpoints cost little.
#[derive(Clone, Debug)]
pub(crate) struct Checkpoint {
    /// The instruction index this is the pre-state of.
    pub(crate) instruction: u64,
    /// The frame ([`Trace::frames`] index).
    pub(crate) frame: u32,
    pub(crate) pc: u32,
    pub(crate) gas: u64,
    pub(crate) stack: Vec<U256>,
    /// The memory size in bytes.
    pub(crate) memory_len: u64,
    pub(crate) returndata: Bytes,
    /// Where this instruction's pushed values and writes start.
    pub(crate) pushed_at: usize,
    pub(crate) writes_at: usize,
    pub(crate) sizes_at: usize,
    pub(crate) big_costs_at: usize,
    pub(crate) exceptions_at: usize,
    /// The frame's previous checkpoint ([`Trace::checkpoints`] index); `None` at its entry.
    pub(crate) prev: Option<u32>,
    /// The frame's own writes since `prev` are `prev.writes_at..prev_writes_end` (the end of
    /// `prev`'s segment when this checkpoint starts a new one), then `entry_write`.
    pub(crate) prev_writes_end: usize,
    /// After a return to this frame: its return window as it stands (the callee's output
    /// copied in), a write into [`Trace::bytes`].
    pub(crate) entry_write: Option<Write>,
    /// The memory word tree, built on first use.
    pub(crate) memory: OnceLock<WordTree>,
    /// The return data word tree, built on first use.
    pub(crate) returndata_tree: OnceLock<Arc<WordTree>>,
}

/// A frame entered during the transaction: its fixed fields.
#[derive(Debug)]
pub(crate) struct FrameRecord {
    pub(crate) kind: FrameKind,
    pub(crate) is_static: bool,
    pub(crate) address: Address,
    pub(crate) caller: Address,
    pub(crate) value: U256,
    /// [`Trace::codes`] index.
    pub(crate) code: u32,
    pub(crate) calldata: Bytes,
    pub(crate) return_window: (u32, u32),
    /// The calling frame and the instruction (a CALL or CREATE of it) that entered this one;
    /// `None` for the transaction's top frame.
    pub(crate) parent: Option<(u32, u64)>,
    /// Memoized caller chain `(count, acc)` (spec §2.5).
    pub(crate) callers: OnceLock<(u16, alloy_primitives::B256)>,
    /// Memoized calldata word tree.
    pub(crate) calldata_tree: OnceLock<std::sync::Arc<crate::machine::WordTree>>,
}

#[derive(Debug)]
struct LiveFrame {
    id: u32,
    /// The frame's last checkpoint.
    last_checkpoint: Option<u32>,
    /// While a call or create of this frame runs: the writes recorded when it began, and the
    /// return window its output is copied to.
    paused: Option<(usize, (u64, u64))>,
    /// The refund counter when the frame started (its callers' refunds so far), in gas.
    refund_base: i64,
}

impl LiveFrame {
    fn new(id: u32, refund_base: i64) -> Self {
        Self { id, last_checkpoint: None, paused: None, refund_base }
    }
}

/// The instruction started last, until its post-state is recorded: in the next `step` (the
/// interpreter is then as the instruction left it), or in `step_end` when it ends the
/// interpreter's loop (a call, a create, a return or a halt), so most instructions cost one
/// hook.
#[derive(Debug, Default)]
struct Open {
    /// Whether an instruction is open.
    open: bool,
    /// Whether the journal and the refund counter may have changed since they were last
    /// looked at (after a [`SYNCS`] opcode, and when a frame starts or resumes).
    sync: bool,
    opcode: u8,
    /// Gas left before it.
    gas: u64,
    /// The memory region it may write (set only for [`WRITES`] opcodes).
    write: Option<(u64, u64)>,
    /// The checkpoint of its pre-state, when one is due.
    checkpoint: Option<Box<Checkpoint>>,
    /// The current frame's memory size in bytes before it.
    memory_size: usize,
}

/// The recording inspector: attach it to a revm EVM for one transaction, then call
/// [`TraceRecorder::finish`] for the [`Trace`].
///
/// Per instruction it stores a 16-byte [`Exception`] only when the gas cost differs from the
/// opcode's usual one or memory was written or grown by a copy or call, the value it pushed if
/// it computed one that replay cannot recompute (32 bytes) and the bytes it wrote to memory;
/// most instructions take one hook call and store nothing. At each frame entry, after each
/// return to a frame, and then every few thousand instructions it stores a raw checkpoint of
/// the current frame (no memory). It computes no hash.
///
/// # Examples
///
/// ```
/// use refute_engine::trace::TraceRecorder;
/// use revm::{
///     Context, InspectEvm, MainBuilder, MainContext,
///     context::TxEnv, database::{CacheDB, EmptyDB}, primitives::{Address, TxKind},
///     state::{AccountInfo, Bytecode},
/// };
///
/// let to = Address::with_last_byte(0xaa);
/// let mut db = CacheDB::new(EmptyDB::default());
/// // PUSH1 2 PUSH1 3 ADD STOP
/// let code = Bytecode::new_raw(vec![0x60, 0x02, 0x60, 0x03, 0x01, 0x00].into());
/// db.insert_account_info(to, AccountInfo::default().with_code(code));
/// let mut evm = Context::mainnet().with_db(db).build_mainnet_with_inspector(TraceRecorder::new());
/// let tx = TxEnv::builder().kind(TxKind::Call(to)).gas_limit(100_000).build().unwrap();
/// evm.inspect_tx(tx).unwrap();
/// let trace = std::mem::take(&mut evm.inspector).finish();
/// // Four instructions; STOP is the halting step and the frame's exit step (spec §5.4).
/// assert_eq!(trace.len(), 5);
/// let pre = trace.commitment(2).unwrap();
/// let post = refute_engine::machine::execute(pre, &trace.witness(2).unwrap()).unwrap();
/// assert_eq!(post, trace.commitment(3).unwrap());
/// ```
#[derive(Debug, Default)]
pub struct TraceRecorder {
    trace: Trace,
    live: Vec<LiveFrame>,
    /// Live-frame count at each CALL/CREATE, to pop the callee (if one ran) at its end.
    calls: Vec<usize>,
    next_kind: Option<(FrameKind, (u32, u32))>,
    open: Open,
    /// Instructions started (the index of the next one).
    instruction: u64,
    /// The costs that need no record, for the fast path of `step`.
    fast: FastCosts,
    /// Instruction index at which the current frame's next checkpoint is due; 0 forces one
    /// (segment start).
    next_checkpoint: u64,
    /// Follows revm's journal, when the world is tracked.
    follower: Option<JournalFollower>,
    /// The refund counter last recorded, in gas.
    refund: i64,
    /// The number of logs at each CALL/CREATE, restored when the callee fails.
    log_counts: Vec<u64>,
    logs: u64,
}

impl TraceRecorder {
    /// A recorder for one transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tracks the world too (state root, warm sets, transient storage; spec §2.4), starting
    /// from `pre`, the state before the transaction. The pre-state's tries are built here,
    /// once; while the transaction runs the recorder only copies revm's journal entries, and
    /// the trace rebuilds the world's roots from them on its first query.
    ///
    /// # Errors
    ///
    /// None for a well-formed pre-state.
    pub fn with_pre_state(mut self, pre: &CacheState) -> Result<Self> {
        let (world, codes) = pre_world(pre)?;
        self.trace.world = Some(Box::new(TraceWorld {
            start_state_root: world.roots.state_root,
            pre: world,
            access_list: Vec::new(),
            log: WorldLog { codes, ..WorldLog::default() },
            replay: std::sync::OnceLock::new(),
        }));
        Ok(self)
    }

    /// The trace, after the transaction ran.
    pub fn finish(mut self) -> Trace {
        self.trace.instructions = self.instruction;
        self.trace
    }

    fn instructions(&self) -> u64 {
        self.instruction
    }

    /// Opens a checkpoint of the current frame before the instruction about to run (pushed
    /// once it completes, in `step_end`). Off the hot path: once per segment start and every
    /// [`CHECKPOINT_EVERY`] instructions.
    #[cold]
    #[inline(never)]
    fn open_checkpoint(&mut self, interp: &Interpreter) {
        let Some(frame) = self.live.last() else {
            self.next_checkpoint = u64::MAX;
            return;
        };
        let memory_len = interp.memory.size();
        let trace = &mut self.trace;
        let writes_at = trace.writes.len();
        let (prev_writes_end, entry_write) = match frame.paused {
            Some((writes_end, (offset, len))) => {
                let end = offset.saturating_add(len).min(memory_len as u64);
                let write = (offset < end).then(|| {
                    let memory = interp.memory.context_memory();
                    let start = trace.bytes.len() as u64;
                    trace.bytes.extend_from_slice(&memory[offset as usize..end as usize]);
                    Write { offset, start, len: end - offset }
                });
                (writes_end, write)
            }
            None => (writes_at, None),
        };
        self.open.memory_size = memory_len;
        self.open.checkpoint = Some(Box::new(Checkpoint {
            instruction: self.instruction,
            frame: frame.id,
            pc: interp.bytecode.pc() as u32,
            gas: interp.gas.remaining(),
            stack: interp.stack.data().to_vec(),
            memory_len: memory_len as u64,
            returndata: interp.return_data.buffer().clone(),
            pushed_at: self.trace.pushed.len(),
            writes_at,
            sizes_at: self.trace.memory_sizes.len(),
            big_costs_at: self.trace.big_costs.len(),
            exceptions_at: self.trace.exceptions.len(),
            prev: frame.last_checkpoint,
            prev_writes_end,
            entry_write,
            memory: OnceLock::new(),
            returndata_tree: OnceLock::new(),
        }));
    }

    /// Pushes the open checkpoint, its instruction done.
    #[cold]
    #[inline(never)]
    fn push_checkpoint(&mut self, checkpoint: Box<Checkpoint>) {
        let size = 32 * checkpoint.stack.len() as u64;
        self.next_checkpoint =
            checkpoint.instruction + CHECKPOINT_EVERY.max(size / CHECKPOINT_BYTES_PER_STEP);
        if let Some(frame) = self.live.last_mut() {
            frame.last_checkpoint = Some(self.trace.checkpoints.len() as u32);
            frame.paused = None;
        }
        self.trace.checkpoints.push(*checkpoint);
    }

    /// The current frame starts a call or create whose output is copied to `window` (offset
    /// and length in bytes; empty for creates).
    fn pause(&mut self, window: (u64, u64)) {
        let writes = self.trace.writes.len();
        if let Some(frame) = self.live.last_mut() {
            frame.paused = Some((writes, window));
        }
    }

    /// A call or create began or ended: the current frame's next instruction starts a new
    /// segment (its state changed between instructions).
    fn segment_break(&mut self) {
        self.next_checkpoint = 0;
        self.open.sync = true;
    }

    /// A call or create ended with `result`. When it ran a frame, that frame's last
    /// instruction ended it: STOP or an exceptional halt is a halting step and an exit step
    /// (spec §5.4); RETURN, REVERT and SELFDESTRUCT that complete are Engine II's (one step
    /// here).
    fn end_frame(&mut self, result: InstructionResult) {
        let Some(depth) = self.calls.pop() else { return };
        let log_count = self.log_counts.pop();
        self.next_kind = None;
        // revm reports a top frame's STOP as `Return`: the opcode tells STOP from RETURN. A
        // halt after RETURN may be a create's code deposit failing, which is the exit step's.
        let opcode = self.open.opcode;
        let stopped = opcode == 0x00 && result.is_ok();
        if self.live.len() > depth
            && let Some(last) = self.instructions().checked_sub(1)
            && (stopped || result.is_halt() && opcode != 0xf3)
        {
            self.trace.numbering.amend_last(last, 2);
            self.trace.halts.push((last, stopped));
        }
        self.live.truncate(depth);
        self.segment_break();
        if let Some(count) = log_count
            && !result.is_ok()
            && count != self.logs
        {
            self.logs = count;
            let at = self.instructions();
            self.trace.log_events.push((at, LogEvent::Truncate(count)));
        }
        if self.calls.is_empty() {
            self.trace.status = if result.is_ok() { Status::Succeeded } else { Status::Failed };
        }
    }

    /// Records the open instruction's post-state, which `interp` shows: its gas cost when it
    /// is not its opcode's usual one, and for [`HOT`] opcodes the stored output, memory growth
    /// and written bytes.
    fn close(&mut self, interp: &Interpreter) {
        let open = &mut self.open;
        open.open = false;
        let trace = &mut self.trace;
        let cost = open.gas.saturating_sub(interp.gas.remaining());
        let opcode = open.opcode as usize;
        let hot = HOT[opcode];
        let mut flags = 0;
        if hot & (STORES_OUTPUT | MAY_GROW | WRITES) != 0 {
            flags = memory_and_output(open, trace, interp, hot);
        }
        open.sync |= hot & SYNCS != 0;
        if trace.costs[opcode] == UNSEEN && cost < u64::from(Delta::BIG_COST) {
            trace.costs[opcode] = cost as u32;
            if hot == 0 {
                self.fast.0[opcode] = cost;
            }
        }
        let usual = trace.costs[opcode];
        if usual == UNSEEN || cost != u64::from(usual) || flags != 0 {
            let delta = if cost < u64::from(Delta::BIG_COST) {
                cost as u32
            } else {
                trace.big_costs.push(cost);
                Delta::BIG_COST
            };
            let instruction = self.instruction - 1;
            trace.exceptions.push(Exception { instruction, delta: Delta(delta | flags) });
        }
        if let Some(checkpoint) = self.open.checkpoint.take() {
            self.push_checkpoint(checkpoint);
        }
    }

    /// [`TraceRecorder::close`] for an instruction that ended the interpreter's loop.
    #[cold]
    #[inline(never)]
    fn close_last(&mut self, interp: &Interpreter) {
        if self.open.open {
            self.close(interp);
        }
        self.segment_break();
    }

    /// Looks at revm's journal and the refund counter before `instruction`, recording what
    /// changed since the last look.
    #[cold]
    #[inline(never)]
    fn sync<CTX: ContextTr<Journal: JournalExt>>(
        &mut self,
        interp: &Interpreter,
        context: &mut CTX,
        instruction: u64,
    ) {
        self.open.sync = false;
        if let Some(follower) = &mut self.follower
            && follower.changed(context)
            && let Some(world) = &mut self.trace.world
        {
            follower.sync(context, instruction, &mut world.log);
        }
        if let Some(frame) = self.live.last() {
            let refund = frame.refund_base + interp.gas.refunded();
            if refund != self.refund {
                self.refund = refund;
                self.trace.refunds.push((instruction, refund));
            }
        }
    }

    /// `step` for everything off its fast path: closes the open instruction ([`Self::close`])
    /// and opens this one, looking at the journal and the refund counter when they may have
    /// changed, recording its machine step count, the memory it may write, and a checkpoint
    /// when one is due.
    #[inline(never)]
    fn step_slow<CTX: ContextTr<Journal: JournalExt>>(
        &mut self,
        interp: &Interpreter,
        context: &mut CTX,
    ) {
        if self.open.open {
            self.close(interp);
        }
        let opcode = interp.bytecode.opcode();
        let instruction = self.instruction;
        if self.open.sync {
            self.sync(interp, context, instruction);
        }
        let hot = HOT[opcode as usize];
        let open = &mut self.open;
        open.open = true;
        open.opcode = opcode;
        open.gas = interp.gas.remaining();
        if hot & BOUNDARY != 0 {
            self.trace.boundaries.push(instruction);
        }
        if hot & (WRITES | MULTI) != 0 {
            let stack = interp.stack.data();
            if hot & MULTI != 0 {
                self.trace.numbering.record(instruction, machine_steps(opcode, stack));
            }
            if hot & WRITES != 0 {
                open.write = memory_write(opcode, stack);
            }
        }
        if instruction >= self.next_checkpoint {
            self.open_checkpoint(interp);
        }
        self.instruction = instruction + 1;
    }

    /// At the top frame's start: the contexts and the world's warm-up.
    fn begin<CTX: ContextTr>(&mut self, context: &mut CTX) {
        let start = self.trace.world.as_ref().map_or(B256::ZERO, |w| w.start_state_root);
        let contexts = contexts(context, start);
        if let Some(world) = &mut self.trace.world {
            world.access_list = access_list(context);
            self.follower = Some(JournalFollower::new(contexts.block.coinbase));
        }
        self.trace.contexts = Some(Box::new(contexts));
    }
}

impl<CTX: ContextTr<Journal: JournalExt>> Inspector<CTX> for TraceRecorder {
    fn initialize_interp(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        if self.trace.contexts.is_none() {
            self.begin(context);
        }
        let code = interp.bytecode.original_byte_slice();
        let trace = &mut self.trace;
        let code = match trace.codes.iter().position(|c| c.bytes.as_ref() == code) {
            Some(index) => index as u32,
            None => {
                trace.codes.push(super::CodeEntry::new(Bytes::copy_from_slice(code)));
                (trace.codes.len() - 1) as u32
            }
        };
        let (kind, return_window) = if self.live.is_empty() {
            // The top frame: a creation transaction's is a create frame (spec §6.4).
            match self.next_kind.take() {
                Some((FrameKind::Create, _)) => (FrameKind::Create, (0, 0)),
                _ => (FrameKind::Transaction, (0, 0)),
            }
        } else {
            self.next_kind.take().unwrap_or((FrameKind::Call, (0, 0)))
        };
        let parent = self.live.last().map(|p| (p.id, self.instruction.saturating_sub(1)));
        trace.frames.push(FrameRecord {
            kind,
            is_static: interp.runtime_flag.is_static(),
            address: interp.input.target_address(),
            caller: interp.input.caller_address(),
            value: interp.input.call_value(),
            code,
            calldata: interp.input.input().bytes(context),
            return_window,
            parent,
            callers: OnceLock::new(),
            calldata_tree: OnceLock::new(),
        });
        let id = (trace.frames.len() - 1) as u32;
        self.live.push(LiveFrame::new(id, self.refund));
        self.segment_break();
    }

    /// The fast path: the previous instruction cost its opcode's usual gas and has no [`HOT`]
    /// flags, this one has no work when it starts ([`OPENS`]), and no checkpoint is due (always
    /// one at a segment start).
    #[inline(always)]
    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        let opcode = interp.bytecode.opcode();
        let gas = interp.gas.remaining();
        let open = &mut self.open;
        if open.gas.wrapping_sub(gas) == self.fast.0[open.opcode as usize]
            && HOT[opcode as usize] & OPENS == 0
            && self.instruction < self.next_checkpoint
        {
            open.opcode = opcode;
            open.gas = gas;
            self.instruction += 1;
        } else {
            self.step_slow(interp, context);
        }
    }

    #[inline(always)]
    fn step_end(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        if interp.bytecode.is_end() {
            self.close_last(interp);
        }
    }

    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.segment_break();
        self.calls.push(self.live.len());
        self.log_counts.push(self.logs);
        let kind = match inputs.scheme {
            CallScheme::Call => FrameKind::Call,
            CallScheme::CallCode => FrameKind::CallCode,
            CallScheme::DelegateCall => FrameKind::DelegateCall,
            CallScheme::StaticCall => FrameKind::StaticCall,
        };
        let window = &inputs.return_memory_offset;
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        self.next_kind = Some((kind, (clamp(window.start), clamp(window.len()))));
        self.pause((window.start as u64, window.len() as u64));
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.end_frame(outcome.result.result);
    }

    fn create(&mut self, _context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.segment_break();
        self.calls.push(self.live.len());
        self.log_counts.push(self.logs);
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => FrameKind::Create2,
            _ => FrameKind::Create,
        };
        self.next_kind = Some((kind, (0, 0)));
        self.pause((0, 0));
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.end_frame(outcome.result.result);
    }

    fn log(&mut self, _context: &mut CTX, log: Log) {
        // Seen during the LOG instruction (started, so counted): the chain holds it from the
        // next state on.
        self.logs += 1;
        let at = self.instructions();
        self.trace.log_events.push((at, LogEvent::Append(log)));
    }
}

/// The rarer half of [`TraceRecorder::close`], for opcodes with [`HOT`] flags: the stored output, memory
/// growth and written bytes. Returns the delta's flags.
#[inline]
fn memory_and_output(open: &mut Open, trace: &mut Trace, interp: &Interpreter, hot: u8) -> u32 {
    let mut flags = 0;
    if hot & STORES_OUTPUT != 0
        && let Some(top) = interp.stack.data().last()
    {
        trace.pushed.push(*top);
    }
    let memory_size = interp.memory.size();
    if hot & MAY_GROW != 0 && memory_size != open.memory_size {
        open.memory_size = memory_size;
        trace.memory_sizes.push((memory_size / 32) as u32);
        flags |= Delta::GREW;
    }
    if hot & WRITES != 0
        && let Some((offset, len)) = open.write.take()
        && len > 0
        && offset < memory_size as u64
    {
        let end = offset.saturating_add(len).min(memory_size as u64);
        let memory = interp.memory.context_memory();
        let start = trace.bytes.len() as u64;
        trace.bytes.extend_from_slice(&memory[offset as usize..end as usize]);
        trace.writes.push(Write { offset, start, len: end - offset });
        flags |= Delta::WROTE;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `step` asks [`machine_steps`] only for [`MULTI`] opcodes: every other opcode is one
    /// machine step whatever the stack.
    #[test]
    fn only_multi_opcodes_make_several_machine_steps() {
        let stacks = [
            vec![],
            vec![U256::from(1); 4],
            vec![U256::from(5000); 4],
            vec![U256::from(u32::MAX); 4],
            vec![U256::MAX; 4],
        ];
        for opcode in 0..=255u8 {
            if HOT[opcode as usize] & MULTI == 0 {
                for stack in &stacks {
                    assert_eq!(machine_steps(opcode, stack), 1, "opcode {opcode:#04x}");
                }
            }
        }
    }

    /// Replay derives the growth of exactly the memory opcodes without [`MAY_GROW`], and
    /// every opcode that may change the journal or the refund counter is looked after.
    #[test]
    fn hot_flags_cover_memory_growth_and_the_world() {
        for opcode in 0..=255u8 {
            let hot = HOT[opcode as usize];
            if fixed_access(opcode).is_some() {
                assert_eq!(hot & MAY_GROW, 0, "opcode {opcode:#04x}");
            }
            if matches!(OPCODES[opcode as usize].family, Family::World | Family::Boundary) {
                assert_ne!(hot & SYNCS, 0, "opcode {opcode:#04x}");
            }
        }
        assert!([0x51, 0x52, 0x53].iter().all(|&op| fixed_access(op).is_some()));
        assert_ne!(HOT[0x55] & SYNCS, 0);
    }
}
