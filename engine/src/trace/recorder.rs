//! The recording inspector: runs alongside revm over one transaction and keeps checkpoints
//! and per-instruction deltas in raw form, never a hash.

use super::{Trace, numbering::machine_steps};
use crate::machine::{FrameKind, OPCODES, Status, memory_write};
use alloy_primitives::{Address, Bytes, U256};
use revm::{
    Inspector,
    context::ContextTr,
    interpreter::{
        CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, CreateScheme,
        Interpreter,
        interpreter_types::{InputsTr, Jumps, MemoryTr, ReturnData, RuntimeFlag},
    },
};
use std::sync::OnceLock;

/// Fewest instructions between two checkpoints of one frame segment.
const CHECKPOINT_EVERY: u64 = 4096;

/// A checkpoint costs at most this many bytes copied per instruction, amortized: a frame
/// with a large memory is checkpointed less often.
const CHECKPOINT_BYTES_PER_STEP: u64 = 8;

/// What one instruction left behind in its frame, packed in 32 bits: the gas it cost (bits
/// 0–29; [`Delta::BIG_COST`] when the cost is in [`Trace::big_costs`]), whether it grew the
/// memory (bit 30; the new size is the next entry of [`Trace::memory_sizes`]) and whether it
/// wrote memory (bit 31; the next entry of [`Trace::writes`]).
///
/// Everything else is derived from the code and the replayed stack (see [`Effect`]): the next
/// `pc` (jump targets are the popped operands), the items popped, and the pushed values of
/// PUSHn, DUPn and SWAPn. Only the values an instruction computes are stored, in
/// [`Trace::pushed`].
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
    /// Pops `pop` items and pushes `push` (0 or 1) computed values, stored in the trace.
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

/// Whether an opcode's pushed value is stored (computed, not derivable from the code or the
/// stack).
const STORES_OUTPUT: [bool; 256] = {
    let mut t = [false; 256];
    let mut op = 0;
    while op < 256 {
        t[op] = matches!(EFFECTS[op], Effect::Compute { push: 1, .. });
        op += 1;
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

/// A frame's state before an instruction, in full and raw: restored and replayed forward to
/// answer a query.
#[derive(Clone, Debug)]
pub(crate) struct Checkpoint {
    /// The instruction index this is the pre-state of.
    pub(crate) instruction: u64,
    /// The frame ([`Trace::frames`] index).
    pub(crate) frame: u32,
    pub(crate) pc: u32,
    pub(crate) gas: u64,
    pub(crate) stack: Vec<U256>,
    pub(crate) memory: Vec<u8>,
    pub(crate) returndata: Bytes,
    /// Where this instruction's pushed values and writes start.
    pub(crate) pushed_at: usize,
    pub(crate) writes_at: usize,
    pub(crate) sizes_at: usize,
    pub(crate) big_costs_at: usize,
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
    /// Instruction index at which the next checkpoint is due; 0 forces one (segment start).
    next_checkpoint: u64,
}

/// The instruction between `step` and `step_end`.
#[derive(Debug, Default)]
struct Open {
    /// Whether an instruction is open.
    open: bool,
    opcode: u8,
    /// Gas left before it.
    gas: u64,
    /// The memory region it may write.
    write: Option<(u64, u64)>,
    /// The checkpoint of its pre-state, when one is due.
    checkpoint: Option<Box<Checkpoint>>,
    /// The current frame's memory size in bytes before it.
    memory_size: usize,
}

/// The recording inspector: attach it to a revm EVM for one transaction, then call
/// [`TraceRecorder::finish`] for the [`Trace`].
///
/// Per instruction it stores 4 bytes (gas cost and flags), the value it pushed if it computed
/// one (32 bytes) and the bytes it wrote to memory; at each frame entry, after each return
/// to a frame, and then every few thousand instructions (fewer for a large memory) it stores a
/// raw checkpoint of the current frame. It computes no hash.
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
/// assert_eq!(trace.len(), 4);
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
}

impl TraceRecorder {
    /// A recorder for one transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The trace, after the transaction ran.
    pub fn finish(self) -> Trace {
        self.trace
    }

    fn instructions(&self) -> u64 {
        self.trace.deltas.len() as u64
    }

    fn checkpoint(&self, interp: &Interpreter, frame: u32) -> Checkpoint {
        Checkpoint {
            instruction: self.instructions(),
            frame,
            pc: interp.bytecode.pc() as u32,
            gas: interp.gas.remaining(),
            stack: interp.stack.data().to_vec(),
            memory: interp.memory.context_memory().to_vec(),
            returndata: interp.return_data.buffer().clone(),
            pushed_at: self.trace.pushed.len(),
            writes_at: self.trace.writes.len(),
            sizes_at: self.trace.memory_sizes.len(),
            big_costs_at: self.trace.big_costs.len(),
        }
    }

    /// A call or create began or ended: the current frame's next instruction starts a new
    /// segment (its state changed between instructions).
    fn segment_break(&mut self) {
        if let Some(frame) = self.live.last_mut() {
            frame.next_checkpoint = 0;
        }
    }

    fn end_frame(&mut self, success: bool) {
        let Some(depth) = self.calls.pop() else { return };
        self.next_kind = None;
        self.live.truncate(depth);
        self.segment_break();
        if self.calls.is_empty() {
            self.trace.status = if success { Status::Succeeded } else { Status::Failed };
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for TraceRecorder {
    fn initialize_interp(&mut self, interp: &mut Interpreter, context: &mut CTX) {
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
            (FrameKind::Transaction, (0, 0))
        } else {
            self.next_kind.take().unwrap_or((FrameKind::Call, (0, 0)))
        };
        let parent =
            self.live.last().map(|p| (p.id, (trace.deltas.len() as u64).saturating_sub(1)));
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
        self.live.push(LiveFrame { id, next_checkpoint: 0 });
    }

    #[inline]
    fn step(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        let opcode = interp.bytecode.opcode();
        let instruction = self.instructions();
        let stack = interp.stack.data();
        self.trace.numbering.record(instruction, machine_steps(opcode, stack));
        let open = &mut self.open;
        open.open = true;
        open.opcode = opcode;
        open.gas = interp.gas.remaining();
        open.write = memory_write(opcode, stack);
        if let Some(frame) = self.live.last()
            && instruction >= frame.next_checkpoint
        {
            let checkpoint = self.checkpoint(interp, frame.id);
            self.open.memory_size = checkpoint.memory.len();
            self.open.checkpoint = Some(Box::new(checkpoint));
        }
    }

    #[inline]
    fn step_end(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        if !std::mem::take(&mut self.open.open) {
            return;
        }
        let open = &mut self.open;
        let trace = &mut self.trace;
        if STORES_OUTPUT[open.opcode as usize]
            && let Some(top) = interp.stack.data().last()
        {
            trace.pushed.push(*top);
        }
        let cost = open.gas.saturating_sub(interp.gas.remaining());
        let mut delta = if cost < u64::from(Delta::BIG_COST) {
            cost as u32
        } else {
            trace.big_costs.push(cost);
            Delta::BIG_COST
        };
        let memory_size = interp.memory.size();
        if memory_size != open.memory_size {
            open.memory_size = memory_size;
            trace.memory_sizes.push((memory_size / 32) as u32);
            delta |= Delta::GREW;
        }
        if let Some((offset, len)) = open.write.take()
            && len > 0
            && offset < memory_size as u64
        {
            let end = offset.saturating_add(len).min(memory_size as u64);
            let memory = interp.memory.context_memory();
            let start = trace.bytes.len() as u64;
            trace.bytes.extend_from_slice(&memory[offset as usize..end as usize]);
            trace.writes.push(Write { offset, start, len: end - offset });
            delta |= Delta::WROTE;
        }
        trace.deltas.push(Delta(delta));
        if let Some(checkpoint) = open.checkpoint.take() {
            let size = (checkpoint.memory.len() + 32 * checkpoint.stack.len()) as u64;
            if let Some(frame) = self.live.last_mut() {
                frame.next_checkpoint =
                    checkpoint.instruction + CHECKPOINT_EVERY.max(size / CHECKPOINT_BYTES_PER_STEP);
            }
            trace.checkpoints.push(*checkpoint);
        }
    }

    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.segment_break();
        self.calls.push(self.live.len());
        let kind = match inputs.scheme {
            CallScheme::Call => FrameKind::Call,
            CallScheme::CallCode => FrameKind::CallCode,
            CallScheme::DelegateCall => FrameKind::DelegateCall,
            CallScheme::StaticCall => FrameKind::StaticCall,
        };
        let window = &inputs.return_memory_offset;
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        self.next_kind = Some((kind, (clamp(window.start), clamp(window.len()))));
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.end_frame(outcome.result.result.is_ok());
    }

    fn create(&mut self, _context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.segment_break();
        self.calls.push(self.live.len());
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => FrameKind::Create2,
            _ => FrameKind::Create,
        };
        self.next_kind = Some((kind, (0, 0)));
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.end_frame(outcome.result.result.is_ok());
    }
}
