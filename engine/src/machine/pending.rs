//! Pending micro-operations (spec §4.5): the state an instruction over unbounded data carries
//! from one micro-step to the next, committed in the header as `pending_kind ‖ pending_hash`
//! with `pending_hash = H(encode(Pending))`.

use super::{FrameExit, FrameKind, PendingKind, Sponge, TxBegin, TxEnd, WordTree};
use alloy_primitives::{Address, B256, U256, keccak256};

/// Where a keccak sponge reads its input (spec §4.5).
pub const SPONGE_SOURCE_MEMORY: u8 = 0;

/// What a finished sponge's digest is for (spec §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SpongePurpose {
    /// KECCAK256: the digest is pushed onto the stack.
    Push = 0,
    /// LOGn: the digest is the log's `data_hash`; the log item is appended to the log chain.
    LogData = 1,
}

/// A keccak sponge over a range of memory, between micro-steps (spec §4.5, §5.5): 210 bytes
/// encoded, `lanes (25 × u64 big-endian) ‖ source u8 ‖ offset u32 ‖ remaining u32 ‖
/// purpose u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpongeState {
    /// The keccak-f[1600] state after the blocks absorbed so far.
    pub sponge: Sponge,
    /// Where the input is read: [`SPONGE_SOURCE_MEMORY`] (the only source in this version).
    pub source: u8,
    /// The byte offset of the next unabsorbed input byte.
    pub offset: u32,
    /// Input bytes not yet absorbed.
    pub remaining: u32,
    /// What the digest is for.
    pub purpose: SpongePurpose,
}

impl SpongeState {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 210;

    /// The encoding (spec §4.5).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(&self.sponge.encode());
        out.push(self.source);
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.remaining.to_be_bytes());
        out.push(self.purpose as u8);
        out
    }
}

/// The source of a copy (spec §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CopySource {
    /// Memory as it was at the opening step (MCOPY): reads are proven against the snapshot
    /// root, so overlapping ranges copy as if through a buffer.
    Memory = 0,
    /// The frame's calldata (CALLDATACOPY).
    Calldata = 1,
    /// The frame's return data (RETURNDATACOPY).
    Returndata = 2,
    /// The frame's code tree (CODECOPY): chunks with code-tree proofs.
    Code = 3,
    /// Another account's code tree (EXTCODECOPY): chunks with code-tree proofs against the
    /// root the opening step computed from the account's code (spec §5.2).
    ExtCode = 4,
}

/// The destination of a copy (spec §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CopyDest {
    /// The frame's memory (the only destination in this version).
    Memory = 0,
    /// A new calldata buffer (calls, spec §6.1).
    Calldata = 1,
    /// A new return-data buffer (RETURN/REVERT, spec §6.2).
    Returndata = 2,
    /// The code deposit buffer (creates, spec §6.2).
    CodeDeposit = 3,
}

/// A copy between word trees, between micro-steps (spec §4.5, §5.5): 50 bytes encoded,
/// `source u8 ‖ source_root b32 ‖ source_len u32 ‖ source_offset u32 ‖ dest u8 ‖
/// dest_offset u32 ‖ remaining u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CopyState {
    /// Where bytes are read.
    pub source: CopySource,
    /// The source's root when the copy began (for code: the code root).
    pub source_root: B256,
    /// The source's length in bytes (for memory: the size after the opening's expansion).
    pub source_len: u32,
    /// The next source byte, clamped at the opening to at most `source_len` (every byte at
    /// or past `source_len` reads as zero, so the clamp changes nothing that is read).
    pub source_offset: u32,
    /// Where bytes are written.
    pub dest: CopyDest,
    /// The next destination byte.
    pub dest_offset: u32,
    /// Bytes not yet copied (never zero while pending).
    pub remaining: u32,
}

impl CopyState {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 50;

    /// The encoding (spec §4.5).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(self.source as u8);
        out.extend_from_slice(self.source_root.as_slice());
        out.extend_from_slice(&self.source_len.to_be_bytes());
        out.extend_from_slice(&self.source_offset.to_be_bytes());
        out.push(self.dest as u8);
        out.extend_from_slice(&self.dest_offset.to_be_bytes());
        out.extend_from_slice(&self.remaining.to_be_bytes());
        out
    }
}

/// A copy of a memory range into a fresh word tree, word by word from its start (spec §4.5,
/// §6): a call's input (the callee's calldata) or a frame's output (its return data). 44 bytes
/// encoded, `offset u32 ‖ len u32 ‖ copied u32 ‖ root b32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferCopy {
    /// The memory offset of the range's first byte.
    pub offset: u32,
    /// The range's length in bytes.
    pub len: u32,
    /// Bytes copied so far, a multiple of 32 below `len` or `len` itself.
    pub copied: u32,
    /// The buffer's word-tree root (spec §2.1) after the words copied so far.
    pub root: B256,
}

impl BufferCopy {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 44;

    /// A copy of `len` bytes from memory `offset` that has not started.
    pub fn new(offset: u32, len: u32) -> Self {
        Self { offset, len, copied: 0, root: WordTree::empty().root() }
    }

    /// Whether every byte has been copied.
    pub const fn is_done(&self) -> bool {
        self.copied >= self.len
    }

    /// The encoding (spec §4.5).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.len.to_be_bytes());
        out.extend_from_slice(&self.copied.to_be_bytes());
        out.extend_from_slice(self.root.as_slice());
        out
    }
}

/// A call between its opening step and its entry step (`pending_kind = 18`, spec §6.1): the
/// callee frame's parameters and the copy of its input. 155 bytes encoded, `kind u8 ‖
/// is_static u8 ‖ target address ‖ caller address ‖ code_address address ‖ value u256 ‖
/// transfer u8 ‖ gas u64 ‖ window_offset u32 ‖ window_size u32 ‖ input (BufferCopy)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallPending {
    /// CALL, CALLCODE, DELEGATECALL or STATICCALL.
    pub kind: FrameKind,
    /// The callee's static flag (EIP-214): the caller's, or set by STATICCALL.
    pub is_static: bool,
    /// The callee's `ADDRESS`: `to` for CALL and STATICCALL, the caller's address for
    /// CALLCODE and DELEGATECALL.
    pub target: Address,
    /// The callee's `CALLER`: the caller's address, or the caller's caller for DELEGATECALL.
    pub caller: Address,
    /// The account whose code runs (`to`).
    pub code_address: Address,
    /// The callee's `CALLVALUE` in wei (DELEGATECALL: the caller's, nothing moves).
    pub value: U256,
    /// Whether `value` moves from the caller's address to `target` at entry (CALL, CALLCODE,
    /// STATICCALL with value 0, which still touches the target; not DELEGATECALL).
    pub transfer: bool,
    /// The callee's gas, the stipend included.
    pub gas: u64,
    /// Where the caller wants the output: (memory offset, size in bytes).
    pub return_window: (u32, u32),
    /// The callee's calldata, copied from the caller's memory.
    pub input: BufferCopy,
}

impl CallPending {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 155;

    /// The encoding (spec §4.5).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(self.kind as u8);
        out.push(u8::from(self.is_static));
        for address in [self.target, self.caller, self.code_address] {
            out.extend_from_slice(address.as_slice());
        }
        out.extend_from_slice(&self.value.to_be_bytes::<32>());
        out.push(u8::from(self.transfer));
        out.extend_from_slice(&self.gas.to_be_bytes());
        out.extend_from_slice(&self.return_window.0.to_be_bytes());
        out.extend_from_slice(&self.return_window.1.to_be_bytes());
        out.extend_from_slice(&self.input.encode());
        out
    }
}

/// CREATE or CREATE2 between its opening step and its entry step (`pending_kind = 20`, spec
/// §6.4): the new frame's parameters and the copy of its init code. 117 bytes encoded, `kind
/// u8 ‖ value u256 ‖ salt b32 ‖ gas u64 ‖ input (BufferCopy)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CreatePending {
    /// [`FrameKind::Create`] or [`FrameKind::Create2`].
    pub kind: FrameKind,
    /// The endowment in wei, moved from the creator to the new account at entry.
    pub value: U256,
    /// CREATE2's salt (EIP-1014); zero for CREATE.
    pub salt: B256,
    /// The new frame's gas: all but one 64th of what the creator had left (EIP-150).
    pub gas: u64,
    /// The init code, copied from the creator's memory.
    pub input: BufferCopy,
}

impl CreatePending {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 117;

    /// The encoding (spec §4.5).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.value.to_be_bytes::<32>());
        out.extend_from_slice(self.salt.as_slice());
        out.extend_from_slice(&self.gas.to_be_bytes());
        out.extend_from_slice(&self.input.encode());
        out
    }
}

/// A micro-operation in progress (spec §4.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pending {
    /// KECCAK256's sponge (`pending_kind = 1`, purpose [`SpongePurpose::Push`]).
    Keccak(SpongeState),
    /// A copy (`pending_kind = 2`).
    Copy(CopyState),
    /// LOGn waiting for its data hash (`pending_kind = 3`): the topics, and the sponge over
    /// the data (purpose [`SpongePurpose::LogData`]). 339 bytes encoded, `topic count u8 ‖
    /// 4 × b32 topics (unused ones zero) ‖ sponge (210 bytes)`.
    Log {
        /// The topics, at most four.
        topics: Vec<B256>,
        /// The sponge over the log data.
        data: SpongeState,
    },
    /// A call waiting for its entry step, its input being copied (`pending_kind = 18`).
    Call(CallPending),
    /// CREATE or CREATE2 waiting for its entry step, its init code being copied
    /// (`pending_kind = 20`).
    Create(CreatePending),
    /// RETURN (`success`) or REVERT copying its output (`pending_kind = 19`): 45 bytes
    /// encoded, `success u8 ‖ BufferCopy`.
    Output {
        /// 1 for RETURN, 0 for REVERT.
        success: bool,
        /// The output's copy into the return buffer.
        copy: BufferCopy,
    },
    /// A frame that ended, waiting for its exit step (`pending_kind = 17`).
    Exit(FrameExit),
    /// The transaction's begin: before its begin step, its access list being warmed, or
    /// before its entry step (`pending_kind = 16`, spec §8.1).
    TxBegin(TxBegin),
    /// The transaction's end: its deletions in progress, or (in a final state) its outcome
    /// (`pending_kind = 21`).
    TxEnd(TxEnd),
}

impl Pending {
    /// The most topics a log has.
    pub const MAX_TOPICS: usize = 4;

    /// The header's `pending_kind` for this operation.
    pub const fn kind(&self) -> PendingKind {
        match self {
            Self::Keccak(_) => PendingKind::Keccak,
            Self::Copy(_) => PendingKind::Copy,
            Self::Log { .. } => PendingKind::Log,
            Self::Call(_) => PendingKind::Call,
            Self::Create(_) => PendingKind::Create,
            Self::Output { .. } => PendingKind::Output,
            Self::Exit(_) => PendingKind::FrameExit,
            Self::TxBegin(_) => PendingKind::TxBegin,
            Self::TxEnd(_) => PendingKind::TxEnd,
        }
    }

    /// The encoding (spec §4.5). Topics past the fourth are not encoded: a [`Pending::Log`]
    /// with more is malformed, and the executor rejects it before hashing.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Keccak(sponge) => sponge.encode(),
            Self::Copy(copy) => copy.encode(),
            Self::Log { topics, data } => {
                let mut out =
                    Vec::with_capacity(1 + 32 * Self::MAX_TOPICS + SpongeState::ENCODED_LEN);
                out.push(topics.len().min(Self::MAX_TOPICS) as u8);
                for k in 0..Self::MAX_TOPICS {
                    out.extend_from_slice(topics.get(k).unwrap_or(&B256::ZERO).as_slice());
                }
                out.extend_from_slice(&data.encode());
                out
            }
            Self::Call(call) => call.encode(),
            Self::Create(create) => create.encode(),
            Self::Output { success, copy } => {
                let mut out = Vec::with_capacity(1 + BufferCopy::ENCODED_LEN);
                out.push(u8::from(*success));
                out.extend_from_slice(&copy.encode());
                out
            }
            Self::Exit(exit) => exit.encode(),
            Self::TxBegin(begin) => begin.encode(),
            Self::TxEnd(end) => end.encode(),
        }
    }

    /// `H(encode(self))`, the header's `pending_hash`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The log chain's item for a log (spec §2.5): `H(address ‖ u8(topic count) ‖ topics ‖
/// data_hash)`.
pub fn log_item(address: &alloy_primitives::Address, topics: &[B256], data_hash: B256) -> B256 {
    let mut buf = Vec::with_capacity(20 + 1 + 32 * topics.len() + 32);
    buf.extend_from_slice(address.as_slice());
    buf.push(topics.len() as u8);
    for topic in topics {
        buf.extend_from_slice(topic.as_slice());
    }
    buf.extend_from_slice(data_hash.as_slice());
    keccak256(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_have_the_spec_sizes() {
        let data = SpongeState {
            sponge: Sponge::new(),
            source: SPONGE_SOURCE_MEMORY,
            offset: 1,
            remaining: 2,
            purpose: SpongePurpose::LogData,
        };
        let copy = CopyState {
            source: CopySource::Calldata,
            source_root: B256::repeat_byte(1),
            source_len: 3,
            source_offset: 4,
            dest: CopyDest::Memory,
            dest_offset: 5,
            remaining: 6,
        };
        assert_eq!(Pending::Keccak(data).encode().len(), SpongeState::ENCODED_LEN);
        assert_eq!(Pending::Copy(copy).encode().len(), CopyState::ENCODED_LEN);
        let log = Pending::Log { topics: vec![B256::repeat_byte(7)], data };
        assert_eq!(log.encode().len(), 339);
        assert_eq!(log.kind(), PendingKind::Log);
        let input = BufferCopy::new(7, 8);
        let call = CallPending {
            kind: FrameKind::Call,
            is_static: false,
            target: Address::repeat_byte(1),
            caller: Address::repeat_byte(2),
            code_address: Address::repeat_byte(3),
            value: U256::from(9),
            transfer: true,
            gas: 10,
            return_window: (11, 12),
            input,
        };
        assert_eq!(Pending::Call(call).encode().len(), CallPending::ENCODED_LEN);
        let create = CreatePending {
            kind: FrameKind::Create2,
            value: U256::from(13),
            salt: B256::repeat_byte(14),
            gas: 15,
            input,
        };
        assert_eq!(Pending::Create(create).encode().len(), CreatePending::ENCODED_LEN);
        assert_eq!(Pending::Create(create).kind(), PendingKind::Create);
        let output = Pending::Output { success: true, copy: input };
        assert_eq!(output.encode().len(), 45);
        assert_eq!(Pending::Exit(FrameExit::empty(true)).encode().len(), FrameExit::ENCODED_LEN);
    }
}
