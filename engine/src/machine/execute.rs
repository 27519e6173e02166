//! The one-step executor (spec §5): `execute(pre, witness) -> post`, verifying every witness
//! element against the pre-state commitment before using it.
//!
//! This version runs every opcode whose effects stay inside the current frame: arithmetic,
//! comparison and bitwise operations, the stack operations, jumps, `PC`, `GAS`, memory
//! (MLOAD, MSTORE, MSTORE8, MSIZE), the frame's own environment (ADDRESS, CALLER,
//! CALLVALUE, CALLDATALOAD, CALLDATASIZE, CODESIZE, RETURNDATASIZE), the transaction and block
//! contexts (spec §4.4), the world (accounts, storage, transient storage; spec §5.2–5.3), the
//! instructions over unbounded data as an opening step and micro-steps (KECCAK256,
//! CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY, LOG0–LOG4; spec §5.5, in
//! `micro.rs`), STOP,
//! and every exceptional halt (spec §5.4): the halting step leaves a pending frame exit (spec
//! §4.5) for the exit step of Engine II. Every other step is [`Error::UnsupportedStep`], never
//! a pass.

use super::{
    AccessItem, BLOB_HASHES_DEPTH, BLOCK_HASHES_DEPTH, BlockContext, CODE_TREE_DEPTH, Checkpoint,
    CodeChunk, Family, Frame, FrameExit, LeafWitness, MachineState, MerkleProof, OPCODES, Pending,
    PendingKind, TrieWitness, Tries, TxAccumulators, TxContext, WORD_TREE_DEPTH, address_key,
    code::leaf, is_empty, is_jumpdest_in_chunk, memory_cost, opcode::immediate_len, pair_key,
    warm_by_rule,
};
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, I256, U256, keccak256};
use alloy_trie::{KECCAK_EMPTY, TrieAccount};

/// The most items a stack holds.
const STACK_LIMIT: u16 = 1024;

/// One word of a word tree with its proof (the index is the proof's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordWitness {
    /// The word.
    pub word: B256,
    /// Its proof; for the second word of a two-word write, against the root after the first.
    pub proof: MerkleProof,
}

/// Everything one step reads beyond the pre-state commitment (spec §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepWitness {
    /// The pre-state header; must hash to the pre-state commitment.
    pub state: MachineState,
    /// The current frame; must hash to `state.frame_hash`.
    pub frame: Frame,
    /// The code chunk(s) holding the opcode and its immediate, then the jump target's chunk
    /// for a taken jump.
    pub code: Vec<CodeChunk>,
    /// `h_{n-m}`: the stack hash below the popped operands.
    pub stack_rest: B256,
    /// The popped operands, bottom-most first (the top of the stack is last).
    pub stack: Vec<U256>,
    /// Memory words read or written, in access order (a sponge micro-step: the words its
    /// block covers; a copy micro-step: the destination word).
    pub memory: Vec<WordWitness>,
    /// Calldata words read, in access order.
    pub calldata: Vec<WordWitness>,
    /// The block context, for the opcodes that read it; must hash to `state.block_hash`.
    pub block: Option<BlockContext>,
    /// The transaction context, for the opcodes that read it; must hash to `state.tx_hash`.
    pub tx: Option<TxContext>,
    /// The block-hash (BLOCKHASH) or versioned-hash (BLOBHASH) leaf read, with its proof.
    pub leaf: Option<LeafWitness>,
    /// Trie nodes for every world read and write of the step (state, storage, warm sets,
    /// transient storage), looked up by hash (spec §2.4).
    pub tries: TrieWitness,
    /// The whole code of the account EXTCODESIZE or EXTCODECOPY reads, checked against its
    /// code hash (none needed for code hash `H("")`).
    pub account_code: Option<Bytes>,
    /// The pending micro-operation; must hash to `state.pending_hash` (micro-steps only).
    pub pending: Option<Pending>,
    /// A copy micro-step's source words from a word-tree source, in index order, with proofs
    /// against the copy's source root (spec §5.5).
    pub source: Vec<WordWitness>,
    /// A copy micro-step's source chunks from a code-tree source, in index order.
    pub source_code: Vec<CodeChunk>,
    /// A buffer copy's destination word (a call's input, a frame's output) with its proof
    /// against the buffer's root (spec §6).
    pub buffer: Option<WordWitness>,
    /// The exit step's caller frame, popped from the caller chain (spec §6.2).
    pub caller_frame: Option<Frame>,
    /// The caller chain's accumulator below `caller_frame` (exit step).
    pub callers_rest: B256,
    /// The exiting frame's checkpoint, restored when it failed (spec §4.3, §6.2).
    pub checkpoint: Option<Checkpoint>,
    /// The transaction's accumulators, for the steps that touch accounts or selfdestruct;
    /// must hash to `state.accumulators` (spec §4.4).
    pub accumulators: Option<TxAccumulators>,
    /// A buffer carried whole, checked against its word-tree root: a precompile call's input
    /// (entry step, spec §7), a create's init code (entry step, §6.4: at most 49,152 bytes),
    /// or the code a create frame deposits (exit step, §6.4: at most 24,576 bytes); the
    /// transaction's signed envelope (begin step, §8.1: at most 131,072 bytes, checked against
    /// its hash).
    pub data: Option<Bytes>,
    /// An access-list step's item (spec §8.1) and the access chain's rest after it.
    pub access: Option<(AccessItem, B256)>,
    /// A deletion step's item (spec §8.2): the address popped from the end of a transaction
    /// accumulator's chain, with the chain's accumulator below it.
    pub popped: Option<(B256, Address)>,
}

impl StepWitness {
    /// The witness of a step that reads nothing beyond `state` and `frame`: every other part
    /// empty, for the prover to fill with what the step reads.
    pub fn new(state: MachineState, frame: Frame) -> Self {
        Self {
            state,
            frame,
            code: Vec::new(),
            stack_rest: B256::ZERO,
            stack: Vec::new(),
            memory: Vec::new(),
            calldata: Vec::new(),
            block: None,
            tx: None,
            leaf: None,
            tries: TrieWitness::default(),
            account_code: None,
            pending: None,
            source: Vec::new(),
            source_code: Vec::new(),
            buffer: None,
            caller_frame: None,
            callers_rest: B256::ZERO,
            checkpoint: None,
            accumulators: None,
            data: None,
            access: None,
            popped: None,
        }
    }
}

/// Executes one step: the commitment to the post-state, from the commitment to the pre-state
/// and a witness.
///
/// # Errors
///
/// [`Error::BadWitness`] when any part of the witness fails to verify against `pre` (the step
/// is then unprovable with this witness, never mis-executed); [`Error::UnsupportedStep`] for
/// steps this version does not execute.
pub fn execute(pre: B256, witness: &StepWitness) -> Result<B256> {
    execute_to_state(pre, witness).map(|post| post.commitment())
}

/// [`execute`], returning the post-state's header (whose commitment [`execute`] returns).
///
/// # Errors
///
/// As [`execute`].
pub fn execute_to_state(pre: B256, witness: &StepWitness) -> Result<MachineState> {
    let state = &witness.state;
    if state.commitment() != pre {
        return Err(Error::BadWitness("the state does not hash to the pre-state commitment"));
    }
    if state.status.is_final() {
        return Ok(*state); // a final state steps to itself (spec §1)
    }
    // Outside frames (the transaction's begin before its entry step, spec §8.1, and its
    // end's deletion steps, §8.2) `frame_hash` is zero and the witness's frame is ignored.
    let framed = state.frame_hash != B256::ZERO;
    if framed && state.frame_hash != witness.frame.hash() {
        return Err(Error::BadWitness("the frame does not hash to the state's frame hash"));
    }
    if !framed && !matches!(state.pending_kind, PendingKind::TxBegin | PendingKind::TxEnd) {
        return Err(Error::BadWitness(
            "a state outside frames must be at the transaction's begin or end",
        ));
    }
    let mut step = Step::new(witness)?;
    let outcome = if state.pending_kind == PendingKind::None {
        step.run()
    } else {
        step.micro_step().map(|()| None) // spec §5.5
    };
    let exit = match outcome {
        Ok(None) => None,
        Ok(Some(exit)) => Some(exit),
        Err(Stop::Halt) => {
            // An exceptional halt consumes all of the frame's gas and changes nothing else
            // in it or in the world; the exit step restores the checkpoint (spec §5.4, §6.2).
            step.header = *state;
            step.frame = witness.frame;
            step.frame.gas = 0;
            Some(FrameExit::empty(false))
        }
        Err(Stop::Fail(e)) => return Err(e),
    };
    let mut post = step.header;
    post.frame_hash = if step.outside_frame { B256::ZERO } else { step.frame.hash() };
    if let Some(exit) = exit {
        post.pending_kind = PendingKind::FrameExit;
        post.pending_hash = exit.hash();
    }
    Ok(post)
}

pub(super) fn unsupported(opcode: u8, reason: &'static str) -> Error {
    Error::UnsupportedStep { opcode, reason }
}

/// Why a step did not reach an ordinary post-state.
pub(super) enum Stop {
    /// An exceptional halt (spec §5.4): a step with a defined post-state.
    Halt,
    /// A bad witness or an unsupported step: no post-state.
    Fail(Error),
}

impl Stop {
    pub(super) fn unsupported(opcode: u8, reason: &'static str) -> Self {
        Self::Fail(unsupported(opcode, reason))
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Self::Fail(e)
    }
}

pub(super) type StepResult<T> = std::result::Result<T, Stop>;

pub(super) fn bad(what: &'static str) -> Stop {
    Stop::Fail(Error::BadWitness(what))
}

/// Whether `opcode` writes state, which a static frame forbids (EIP-214); CALL only with a
/// non-zero value (`value` is its third operand).
fn writes_state(opcode: u8, value: impl FnOnce() -> U256) -> bool {
    match opcode {
        0x55 | 0x5d | 0xa0..=0xa4 | 0xf0 | 0xf5 | 0xff => true,
        0xf1 => !value().is_zero(),
        _ => false,
    }
}

pub(super) struct Step<'a> {
    pub(super) witness: &'a StepWitness,
    /// The post-state header as the step builds it (its `frame_hash` is set last).
    pub(super) header: MachineState,
    pub(super) frame: Frame,
    pub(super) opcode: u8,
    /// The post-state has no frame (the transaction's end, spec §8.2).
    pub(super) outside_frame: bool,
}

impl<'a> Step<'a> {
    /// Verifies every code chunk of the witness once, against the code root.
    fn new(witness: &'a StepWitness) -> Result<Self> {
        for chunk in &witness.code {
            let leaf = leaf(&chunk.bytes, chunk.push_prefix);
            if chunk.proof.index != u64::from(chunk.index)
                || !chunk.proof.verifies(CODE_TREE_DEPTH, leaf, witness.frame.code_root)
            {
                return Err(Error::BadWitness(
                    "a code chunk does not verify against the code root",
                ));
            }
        }
        let outside_frame = witness.state.frame_hash == B256::ZERO;
        Ok(Self { witness, header: witness.state, frame: witness.frame, opcode: 0, outside_frame })
    }

    /// Chunk `index` of the frame's code (verified in [`Step::new`]).
    fn chunk(&self, index: u32) -> StepResult<&'a CodeChunk> {
        self.witness
            .code
            .iter()
            .find(|c| c.index == index)
            .ok_or(bad("a code chunk the step reads is missing"))
    }

    /// The code byte at `pc` (zero at or past the code size, spec §5.1).
    fn code_byte(&self, pc: u64) -> StepResult<u8> {
        if pc >= u64::from(self.frame.code_size) {
            return Ok(0);
        }
        Ok(self.chunk((pc / 32) as u32)?.bytes[(pc % 32) as usize])
    }

    pub(super) fn charge(&mut self, gas: u64) -> StepResult<()> {
        self.frame.gas = self.frame.gas.checked_sub(gas).ok_or(Stop::Halt)?;
        Ok(())
    }

    /// Operand `k` counted from the top (0 is the top).
    pub(super) fn arg(&self, k: usize) -> U256 {
        let items = &self.witness.stack;
        items[items.len() - 1 - k]
    }

    /// Runs the step on `self.frame`; `Some` when the frame ends (STOP).
    fn run(&mut self) -> StepResult<Option<FrameExit>> {
        let pc = u64::from(self.frame.pc);
        self.opcode = self.code_byte(pc)?;
        let opcode = self.opcode;
        let info = OPCODES[opcode as usize];
        if info.family == Family::Invalid {
            return Err(Stop::Halt);
        }
        let (inputs, outputs) = (u16::from(info.inputs), u16::from(info.outputs));
        if self.frame.stack.size < inputs || self.frame.stack.size - inputs + outputs > STACK_LIMIT
        {
            return Err(Stop::Halt); // stack underflow or overflow
        }
        if self.witness.stack.len() != usize::from(inputs) {
            return Err(bad("the stack witness has the wrong number of operands"));
        }
        let base = self
            .frame
            .stack
            .pop(self.witness.stack_rest, &self.witness.stack)
            .ok_or(bad("the stack witness does not hash to the stack commitment"))?;
        if self.frame.is_static && writes_state(opcode, || self.arg(2)) {
            return Err(Stop::Halt); // EIP-214
        }
        self.charge(info.static_gas)?;

        let mut next_pc = pc + 1;
        let mut exit = None;
        let pushed: Vec<U256> = match info.family {
            Family::Pure => vec![self.pure()?],
            Family::Stack => self.stack_op(&mut next_pc)?,
            Family::Control => self.control(&mut next_pc)?,
            Family::Memory => self.memory()?,
            Family::Frame => vec![self.frame_field()?],
            Family::Context => vec![self.context()?],
            Family::World => self.world()?,
            Family::Exit => return Ok(Some(FrameExit::empty(true))),
            Family::Boundary => {
                // A pending call or output, or the frame's end: `pc` stays (spec §6).
                next_pc = pc;
                exit = self.boundary()?;
                vec![]
            }
            Family::Micro => self.open_micro(&mut next_pc)?,
            Family::Invalid => return Err(Stop::Halt),
        };
        self.frame.stack = pushed.into_iter().fold(base, |stack, item| stack.push(item));
        self.frame.pc = u32::try_from(next_pc).map_err(|_| Stop::Halt)?;
        Ok(exit)
    }

    /// The block context of the witness, checked against the header.
    pub(super) fn block(&self) -> StepResult<BlockContext> {
        let block = self.witness.block.ok_or(bad("the block context is missing"))?;
        if block.hash() != self.witness.state.block_hash {
            return Err(bad("the block context does not hash to the header's block hash"));
        }
        Ok(block)
    }

    /// The transaction context of the witness, checked against the header.
    pub(super) fn tx(&self) -> StepResult<TxContext> {
        let tx = self.witness.tx.ok_or(bad("the transaction context is missing"))?;
        if tx.hash() != self.witness.state.tx_hash {
            return Err(bad("the transaction context does not hash to the header's tx hash"));
        }
        Ok(tx)
    }

    /// Leaf `index` of the context tree of `depth` with `root`, from the witness.
    fn context_leaf(&self, depth: u8, index: u64, root: B256) -> StepResult<B256> {
        let leaf = self.witness.leaf.as_ref().ok_or(bad("the context leaf is missing"))?;
        if leaf.proof.index != index || !leaf.proof.verifies(depth, leaf.leaf, root) {
            return Err(bad("the context leaf does not verify against its tree"));
        }
        Ok(leaf.leaf)
    }

    /// ORIGIN, GASPRICE, BLOCKHASH, COINBASE … BLOBBASEFEE (spec §4.4, §5.2).
    fn context(&mut self) -> StepResult<U256> {
        let word = |b: B256| U256::from_be_bytes(b.0);
        let address = |a: alloy_primitives::Address| U256::from_be_slice(a.as_slice());
        Ok(match self.opcode {
            0x32 => address(self.tx()?.origin),
            0x3a => self.tx()?.gas_price,
            0x40 => {
                let block = self.block()?;
                match block.history_index(self.arg(0)) {
                    Some(k) => {
                        word(self.context_leaf(BLOCK_HASHES_DEPTH, k, block.block_hashes)?)
                    }
                    None => U256::ZERO,
                }
            }
            0x41 => address(self.block()?.coinbase),
            0x42 => U256::from(self.block()?.timestamp),
            0x43 => U256::from(self.block()?.number),
            0x44 => word(self.block()?.prevrandao),
            0x45 => U256::from(self.block()?.gas_limit),
            0x46 => U256::from(self.block()?.chain_id),
            0x48 => self.block()?.base_fee,
            0x49 => {
                let tx = self.tx()?;
                match u64::try_from(self.arg(0)) {
                    Ok(i) if i < u64::from(tx.blob_count) => {
                        word(self.context_leaf(BLOB_HASHES_DEPTH, i, tx.blob_hashes)?)
                    }
                    _ => U256::ZERO,
                }
            }
            0x4a => self.block()?.blob_base_fee,
            other => return Err(Stop::unsupported(other, "not a context opcode")),
        })
    }

    fn pure(&mut self) -> StepResult<U256> {
        let count = self.witness.stack.len();
        let args = [0, 1, 2].map(|k| if k < count { self.arg(k) } else { U256::ZERO });
        if self.opcode == 0x0a {
            let exponent_bytes = (args[1].bit_len() as u64).div_ceil(8);
            self.charge(50 * exponent_bytes)?;
        }
        pure(self.opcode, args).ok_or(Stop::unsupported(self.opcode, "not a pure opcode"))
    }

    fn stack_op(&mut self, next_pc: &mut u64) -> StepResult<Vec<U256>> {
        let opcode = self.opcode;
        let items = &self.witness.stack;
        Ok(match opcode {
            0x50 => vec![],
            0x5f => vec![U256::ZERO],
            0x60..=0x7f => {
                let n = immediate_len(opcode);
                let start = *next_pc;
                let mut bytes = [0u8; 32];
                for (k, byte) in bytes[32 - n..].iter_mut().enumerate() {
                    *byte = self.code_byte(start + k as u64)?;
                }
                *next_pc = start + n as u64;
                vec![U256::from_be_bytes(bytes)]
            }
            0x80..=0x8f => {
                // DUPn: the n items come back, then a copy of the deepest of them.
                let mut out = items.clone();
                out.push(items[0]);
                out
            }
            0x90..=0x9f => {
                // SWAPn: the (n+1)-th and the top exchange places.
                let mut out = items.clone();
                let last = out.len() - 1;
                out.swap(0, last);
                out
            }
            other => return Err(Stop::unsupported(other, "not a stack opcode")),
        })
    }

    fn control(&mut self, next_pc: &mut u64) -> StepResult<Vec<U256>> {
        Ok(match self.opcode {
            0x56 => {
                *next_pc = self.jump_target(self.arg(0))?;
                vec![]
            }
            0x57 => {
                if !self.arg(1).is_zero() {
                    *next_pc = self.jump_target(self.arg(0))?;
                }
                vec![]
            }
            0x58 => vec![U256::from(self.frame.pc)],
            0x5a => vec![U256::from(self.frame.gas)],
            0x5b => vec![],
            other => return Err(Stop::unsupported(other, "not a control opcode")),
        })
    }

    /// A valid jump destination, proven by its code chunk (spec §2.2), or a halt.
    fn jump_target(&self, target: U256) -> StepResult<u64> {
        let size = u64::from(self.frame.code_size);
        let Ok(target) = u64::try_from(target) else { return Err(Stop::Halt) };
        if target >= size {
            return Err(Stop::Halt);
        }
        let chunk = self.chunk((target / 32) as u32)?;
        if !is_jumpdest_in_chunk(&chunk.bytes, chunk.push_prefix, (target % 32) as u8) {
            return Err(Stop::Halt);
        }
        Ok(target)
    }

    /// Charges the expansion of memory to cover `[offset, offset + len)` (len > 0) and
    /// returns the offset; a range past 2^32 bytes costs more gas than exists: a halt.
    pub(super) fn expand(&mut self, offset: U256, len: u64) -> StepResult<u64> {
        let offset = u64::try_from(offset).ok().filter(|o| *o <= u64::from(u32::MAX));
        let Some(offset) = offset else { return Err(Stop::Halt) };
        let words = (offset + len).div_ceil(32);
        if words > 1 << WORD_TREE_DEPTH {
            // Past the machine's memory bound (spec §2.1): out of gas at any real gas limit.
            return Err(Stop::Halt);
        }
        let current = u64::from(self.frame.memory.len);
        if words > current {
            self.charge(memory_cost(words) - memory_cost(current))?;
            self.frame.memory.len = u32::try_from(words).map_err(|_| Stop::Halt)?;
        }
        Ok(offset)
    }

    /// The memory words covering `[offset, offset + len)`, verified in access order against
    /// the memory root; writes apply through `write`, each next proof against the new root.
    pub(super) fn memory_words(
        &mut self,
        offset: u64,
        len: u64,
        write: Option<&[u8]>,
    ) -> StepResult<Vec<u8>> {
        let first = offset / 32;
        let last = (offset + len - 1) / 32;
        let count = (last - first + 1) as usize;
        let words = &self.witness.memory;
        if words.len() != count {
            return Err(bad("the memory witness has the wrong number of words"));
        }
        let mut bytes = Vec::with_capacity(count * 32);
        for (k, w) in words.iter().enumerate() {
            if w.proof.index != first + k as u64
                || !w.proof.verifies(WORD_TREE_DEPTH, w.word, self.frame.memory.root)
            {
                return Err(bad("a memory word does not verify against the root"));
            }
            bytes.extend_from_slice(w.word.as_slice());
            if let Some(data) = write {
                let start = (offset % 32) as usize;
                let mut word = w.word;
                for (i, byte) in word.iter_mut().enumerate() {
                    let at = (k * 32 + i).wrapping_sub(start);
                    if k * 32 + i >= start && at < data.len() {
                        *byte = data[at];
                    }
                }
                self.frame.memory.root = w.proof.root(word);
            }
        }
        let start = (offset % 32) as usize;
        Ok(bytes[start..start + len as usize].to_vec())
    }

    fn memory(&mut self) -> StepResult<Vec<U256>> {
        Ok(match self.opcode {
            0x51 => {
                let offset = self.expand(self.arg(0), 32)?;
                let bytes = self.memory_words(offset, 32, None)?;
                vec![U256::from_be_slice(&bytes)]
            }
            0x52 => {
                let offset = self.expand(self.arg(0), 32)?;
                let value = self.arg(1).to_be_bytes::<32>();
                self.memory_words(offset, 32, Some(&value))?;
                vec![]
            }
            0x53 => {
                let offset = self.expand(self.arg(0), 1)?;
                let value = [self.arg(1).byte(0)];
                self.memory_words(offset, 1, Some(&value))?;
                vec![]
            }
            0x59 => vec![U256::from(u64::from(self.frame.memory.len) * 32)],
            other => return Err(Stop::unsupported(other, "not a memory opcode")),
        })
    }

    fn frame_field(&mut self) -> StepResult<U256> {
        let frame = self.frame;
        Ok(match self.opcode {
            0x30 => U256::from_be_slice(frame.address.as_slice()),
            0x33 => U256::from_be_slice(frame.caller.as_slice()),
            0x34 => frame.value,
            0x35 => self.calldata_word(self.arg(0))?,
            0x36 => U256::from(frame.calldata.len),
            0x38 => U256::from(frame.code_size),
            0x3d => U256::from(frame.returndata.len),
            other => return Err(Stop::unsupported(other, "not a frame opcode")),
        })
    }

    /// CALLDATALOAD: 32 bytes from `offset`, zero past the end (one or two proven words).
    fn calldata_word(&self, offset: U256) -> StepResult<U256> {
        let len = u64::from(self.frame.calldata.len);
        let offset = match u64::try_from(offset) {
            Ok(offset) if offset < len => offset,
            _ => return Ok(U256::ZERO),
        };
        let first = offset / 32;
        let count = if offset % 32 == 0 { 1 } else { 2 };
        let words = &self.witness.calldata;
        if words.len() != count {
            return Err(bad("the calldata witness has the wrong number of words"));
        }
        let mut bytes = Vec::with_capacity(64);
        for (k, w) in words.iter().enumerate() {
            if w.proof.index != first + k as u64
                || !w.proof.verifies(WORD_TREE_DEPTH, w.word, self.frame.calldata.root)
            {
                return Err(bad("a calldata word does not verify against the root"));
            }
            bytes.extend_from_slice(w.word.as_slice());
        }
        let start = (offset % 32) as usize;
        Ok(U256::from_be_slice(&bytes[start..start + 32]))
    }

    pub(super) fn tries(&self) -> Tries<'a> {
        Tries { nodes: &self.witness.tries }
    }

    /// Charges the EIP-2929 account access (100 warm, 2,600 cold) and warms `address`.
    pub(super) fn access_account(&mut self, address: Address) -> StepResult<()> {
        let coinbase = self.block()?.coinbase;
        let key = address_key(address);
        let warm = warm_by_rule(address, coinbase)
            || self.tries().contains(self.header.warm_addresses, key)?;
        self.charge(if warm { 100 } else { 2600 })?;
        if !warm {
            self.header.warm_addresses = self.tries().insert(self.header.warm_addresses, key)?;
        }
        Ok(())
    }

    /// BALANCE, SELFBALANCE, EXTCODESIZE, EXTCODEHASH, SLOAD, SSTORE, TLOAD, TSTORE
    /// (spec §5.2, §5.3).
    fn world(&mut self) -> StepResult<Vec<U256>> {
        let to_address = |word: U256| Address::from_word(B256::from(word));
        let me = self.frame.address;
        let root = self.header.state_root;
        Ok(match self.opcode {
            0x31 => {
                let address = to_address(self.arg(0));
                self.access_account(address)?;
                let account = self.tries().account(root, address)?;
                vec![account.map(|a| a.balance).unwrap_or_default()]
            }
            0x47 => {
                let account = self.tries().account(root, me)?;
                vec![account.map(|a| a.balance).unwrap_or_default()]
            }
            0x3b | 0x3f => {
                let address = to_address(self.arg(0));
                self.access_account(address)?;
                let account = self.tries().account(root, address)?;
                let Some(account) = account.filter(|a| !is_empty(a)) else {
                    return Ok(vec![U256::ZERO]);
                };
                if self.opcode == 0x3f {
                    vec![U256::from_be_bytes(account.code_hash.0)]
                } else {
                    vec![U256::from(self.code_of(&account)?.len())]
                }
            }
            0x54 => {
                let slot = self.arg(0);
                self.access_slot(slot)?;
                vec![self.tries().storage(root, me, slot)?]
            }
            0x55 => {
                self.sstore(self.arg(0), self.arg(1))?;
                vec![]
            }
            0x5c => vec![self.tries().transient(self.header.transient, me, self.arg(0))?],
            0x5d => {
                self.header.transient = self.tries().set_transient(
                    self.header.transient,
                    me,
                    self.arg(0),
                    self.arg(1),
                )?;
                vec![]
            }
            other => return Err(Stop::unsupported(other, "not a world opcode")),
        })
    }

    /// The code of `account` (spec §5.2): empty for code hash `H("")`, else the witness's
    /// whole code, checked against the code hash.
    pub(super) fn code_of(&self, account: &TrieAccount) -> StepResult<&'a [u8]> {
        if account.code_hash == KECCAK_EMPTY {
            return Ok(&[]);
        }
        let code =
            self.witness.account_code.as_ref().ok_or(bad("the account's code is missing"))?;
        if keccak256(code) != account.code_hash {
            return Err(bad("the code does not hash to the account's code hash"));
        }
        Ok(code)
    }

    /// Warms storage `slot` of the frame's account; whether it was cold. SLOAD charges 100
    /// warm and 2,100 cold (EIP-2929).
    fn access_slot(&mut self, slot: U256) -> StepResult<bool> {
        let key = pair_key(self.frame.address, slot);
        let cold = !self.tries().contains(self.header.warm_slots, key)?;
        if self.opcode == 0x54 {
            self.charge(if cold { 2100 } else { 100 })?;
        }
        if cold {
            self.header.warm_slots = self.tries().insert(self.header.warm_slots, key)?;
        }
        Ok(cold)
    }

    /// SSTORE: EIP-2200 as amended by EIP-2929 and EIP-3529 (spec §5.3).
    fn sstore(&mut self, slot: U256, new: U256) -> StepResult<()> {
        if self.frame.gas <= 2300 {
            return Err(Stop::Halt); // EIP-2200: the call stipend cannot store
        }
        let me = self.frame.address;
        let tx = self.tx()?;
        let current = self.tries().storage(self.header.state_root, me, slot)?;
        let original = self.tries().storage(tx.start_state_root, me, slot)?;
        let cold = self.access_slot(slot)?;
        let mut cost = if cold { 2100 } else { 0 };
        cost += if new == current {
            100
        } else if original == current {
            if original.is_zero() { 20_000 } else { 2_900 }
        } else {
            100
        };
        self.charge(cost)?;

        // EIP-3529 refunds: clearing a slot earns 4,800; restoring the original value earns
        // back what its first write cost beyond a warm read.
        let mut refund = i128::from(self.header.refund);
        if new != current {
            if original == current {
                if !original.is_zero() && new.is_zero() {
                    refund += 4_800;
                }
            } else {
                if !original.is_zero() {
                    if current.is_zero() {
                        refund -= 4_800;
                    } else if new.is_zero() {
                        refund += 4_800;
                    }
                }
                if original == new {
                    refund += if original.is_zero() { 19_900 } else { 2_800 };
                }
            }
            self.header.state_root =
                self.tries().set_storage(self.header.state_root, me, slot, new)?;
        }
        self.header.refund = u64::try_from(refund)
            .map_err(|_| Stop::Fail(Error::BadWitness("the refund counter would go below zero")))?;
        Ok(())
    }
}

/// The value a [`Family::Pure`] opcode pushes, from its operands `args` (`args[k]` is operand
/// `k` from the top, zero when the opcode takes fewer); `None` for any other opcode. EXP's
/// dynamic gas is the caller's. Shared by the executor and the lazy trace's replay, so both
/// compute the same values.
pub(crate) fn pure(opcode: u8, args: [U256; 3]) -> Option<U256> {
    let [a, b, c] = args;
    let signed = |x: U256| I256::from_raw(x);
    Some(match opcode {
        0x01 => a.wrapping_add(b),
        0x02 => a.wrapping_mul(b),
        0x03 => a.wrapping_sub(b),
        0x04 => a.checked_div(b).unwrap_or_default(),
        0x05 => {
            if b.is_zero() {
                U256::ZERO
            } else {
                signed(a).wrapping_div(signed(b)).into_raw()
            }
        }
        0x06 => a.checked_rem(b).unwrap_or_default(),
        0x07 => {
            if b.is_zero() {
                U256::ZERO
            } else {
                signed(a).wrapping_rem(signed(b)).into_raw()
            }
        }
        0x08 => a.add_mod(b, c),
        0x09 => a.mul_mod(b, c),
        0x0a => a.wrapping_pow(b),
        0x0b => {
            // SIGNEXTEND(b = a here: byte index, x = b here: value)
            let (index, x) = (a, b);
            if index < U256::from(31) {
                let bit = index.to::<usize>() * 8 + 7;
                let mask = (U256::from(1) << bit) - U256::from(1);
                if x.bit(bit) { x | !mask } else { x & mask }
            } else {
                x
            }
        }
        0x10 => U256::from(a < b),
        0x11 => U256::from(a > b),
        0x12 => U256::from(signed(a) < signed(b)),
        0x13 => U256::from(signed(a) > signed(b)),
        0x14 => U256::from(a == b),
        0x15 => U256::from(a.is_zero()),
        0x16 => a & b,
        0x17 => a | b,
        0x18 => a ^ b,
        0x19 => !a,
        0x1a => {
            if a < U256::from(32) {
                U256::from(b.byte(31 - a.to::<usize>()))
            } else {
                U256::ZERO
            }
        }
        0x1b => {
            if a < U256::from(256) {
                b << a.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        0x1c => {
            if a < U256::from(256) {
                b >> a.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        0x1d => {
            let shift = if a < U256::from(256) { a.to::<usize>() } else { 256 };
            let value = signed(b);
            if shift >= 255 {
                if value.is_negative() { U256::MAX } else { U256::ZERO }
            } else {
                value.asr(shift).into_raw()
            }
        }
        _ => return None,
    })
}
