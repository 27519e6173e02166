//! The recording inspector: runs alongside revm over one transaction and keeps checkpoints
//! and per-instruction deltas in raw form, never a hash.

use super::{Trace, numbering::machine_steps};
use crate::machine::{FrameKind, OPCODES, Status};
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

/// What one instruction left behind in its frame: the post-state's `pc` and gas, the stack
/// items it popped and pushed (the pushed values are in [`Trace::pushed`], in order), the
/// memory size after it, and the memory bytes it wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delta {
    /// Gas left after the instruction.
    pub(crate) gas: u64,
    /// `pc` after the instruction.
    pub(crate) pc: u32,
    /// Memory size after the instruction, in 32-byte words.
    pub(crate) memory_words: u32,
    /// Stack items popped.
    pub(crate) pop: u16,
    /// Stack items pushed.
    pub(crate) push: u16,
    /// Whether the instruction wrote memory (the next entry of [`Trace::writes`]).
    pub(crate) write: bool,
}

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
    stack_len: usize,
    opcode: u8,
    write: Option<(u64, u64)>,
    checkpoint: Option<Checkpoint>,
}

/// The recording inspector: attach it to a revm EVM for one transaction, then call
/// [`TraceRecorder::finish`] for the [`Trace`].
///
/// Per instruction it stores a [`Delta`]-sized record (24 bytes), the pushed stack values
/// (32 bytes each) and the bytes written to memory; at each frame entry, after each return
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
    open: Option<Open>,
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

/// The memory region `(offset, len)` in bytes that an in-frame instruction writes, from its
/// operands (stack top last); `None` for instructions that write no memory. CALL's return
/// window is written when the caller resumes, which starts a new segment.
#[inline]
fn memory_write(opcode: u8, stack: &[U256]) -> Option<(u64, u64)> {
    let arg = |k: usize| {
        let value = *stack.get(stack.len().checked_sub(1 + k)?)?;
        Some(u64::try_from(value).unwrap_or(u64::MAX))
    };
    match opcode {
        0x52 => Some((arg(0)?, 32)),
        0x53 => Some((arg(0)?, 1)),
        0x37 | 0x39 | 0x3e | 0x5e => Some((arg(0)?, arg(2)?)),
        0x3c => Some((arg(1)?, arg(3)?)),
        _ => None,
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
        let stack = interp.stack.data();
        let instruction = self.instructions();
        self.trace.numbering.record(instruction, machine_steps(opcode, stack));
        let write = memory_write(opcode, stack);
        let checkpoint = match self.live.last() {
            Some(frame) if instruction >= frame.next_checkpoint => {
                Some(self.checkpoint(interp, frame.id))
            }
            _ => None,
        };
        self.open = Some(Open { stack_len: stack.len(), opcode, write, checkpoint });
    }

    #[inline]
    fn step_end(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        let Some(open) = self.open.take() else { return };
        let stack = interp.stack.data();
        let inputs = usize::from(OPCODES[open.opcode as usize].inputs);
        let keep = open.stack_len.saturating_sub(inputs).min(stack.len());
        let trace = &mut self.trace;
        trace.pushed.extend_from_slice(&stack[keep..]);
        let memory_size = interp.memory.size();
        let mut wrote = false;
        if let Some((offset, len)) = open.write
            && len > 0
            && offset < memory_size as u64
        {
            let end = offset.saturating_add(len).min(memory_size as u64);
            let memory = interp.memory.context_memory();
            let start = trace.bytes.len() as u64;
            trace.bytes.extend_from_slice(&memory[offset as usize..end as usize]);
            trace.writes.push(Write { offset, start, len: end - offset });
            wrote = true;
        }
        if let Some(checkpoint) = open.checkpoint {
            let size = (checkpoint.memory.len() + 32 * checkpoint.stack.len()) as u64;
            if let Some(frame) = self.live.last_mut() {
                frame.next_checkpoint =
                    checkpoint.instruction + CHECKPOINT_EVERY.max(size / CHECKPOINT_BYTES_PER_STEP);
            }
            trace.checkpoints.push(checkpoint);
        }
        trace.deltas.push(Delta {
            gas: interp.gas.remaining(),
            pc: interp.bytecode.pc() as u32,
            memory_words: (memory_size / 32) as u32,
            pop: (open.stack_len - keep) as u16,
            push: (stack.len() - keep) as u16,
            write: wrote,
        });
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
