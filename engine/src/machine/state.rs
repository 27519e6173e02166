//! The machine state and its commitment (spec §3, §4): byte layouts shared with the Solidity
//! verifier. The commitment to a state is `H(encode(MachineState))`; sub-structures are
//! committed by the hash of their encoding.

use super::{StackCommitment, memo::keccak256_memo};
use alloy_primitives::{Address, B256, U256, keccak256};

/// The spec's major version, the first byte of every committed state (spec §4.1).
pub const SPEC_VERSION: u8 = 1;

/// The VM status byte (spec §4.6), shared with Solidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// The transaction is in progress.
    Running = 0,
    /// Final: the transaction ended with receipt status 1.
    Succeeded = 1,
    /// Final: the transaction ended with receipt status 0 (revert or exceptional halt of the
    /// top frame).
    Failed = 2,
    /// Final: the transaction was invalid; the state is the pre-transaction state.
    Invalid = 3,
}

impl Status {
    /// Whether the trace has ended (`step` is then the identity, spec §1).
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Running)
    }
}

/// The fork byte (spec §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ForkId {
    /// Shanghai.
    Shanghai = 1,
    /// Cancun, the fork of spec version 0.1.
    Cancun = 4,
}

/// The kind of a micro-operation in progress (spec §4.1, §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PendingKind {
    /// No micro-operation: the next step is an opcode or boundary step.
    None = 0,
    /// A keccak sponge (KECCAK256, log data).
    Keccak = 1,
    /// A copy between word trees.
    Copy = 2,
    /// A log waiting for its data hash.
    Log = 3,
    /// Transaction begin (spec §8.1).
    TxBegin = 16,
    /// A frame ended and waits for its exit step (spec §4.5, §6.2).
    FrameExit = 17,
    /// A call between its opening step and its entry step: the callee's input is being
    /// copied into its calldata buffer (spec §6.1).
    Call = 18,
    /// RETURN or REVERT copying its output into the return buffer (spec §6.2).
    Output = 19,
    /// CREATE or CREATE2 between its opening step and its entry step: the init code is being
    /// copied into its buffer (spec §6.4).
    Create = 20,
    /// The transaction's end (spec §8.2): the fees are settled, the EIP-6780 and EIP-161
    /// deletions are being made; in a final state, the receipt's status and gas used.
    TxEnd = 21,
}

/// The kind of a frame (spec §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// CALL.
    Call = 0,
    /// CALLCODE.
    CallCode = 1,
    /// DELEGATECALL.
    DelegateCall = 2,
    /// STATICCALL.
    StaticCall = 3,
    /// CREATE.
    Create = 4,
    /// CREATE2.
    Create2 = 5,
    /// The transaction's top frame.
    Transaction = 6,
}

/// A byte string committed as a word tree: `len ‖ root` (spec §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bytes32Tree {
    /// Length in bytes (for memory: in words, see [`Frame::memory`]).
    pub len: u32,
    /// The word-tree root.
    pub root: B256,
}

/// A hash chain: `count ‖ acc` (spec §2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chain {
    /// Items appended.
    pub count: u32,
    /// The accumulator.
    pub acc: B256,
}

/// The current call frame (spec §4.2), 336 bytes encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// How the frame was entered.
    pub kind: FrameKind,
    /// Inside a STATICCALL.
    pub is_static: bool,
    /// The executing account (`ADDRESS`).
    pub address: Address,
    /// `CALLER`.
    pub caller: Address,
    /// `CALLVALUE`, in wei.
    pub value: U256,
    /// The code tree root (spec §2.2).
    pub code_root: B256,
    /// The code size in bytes.
    pub code_size: u32,
    /// `H(code)`.
    pub code_hash: B256,
    /// The program counter.
    pub pc: u32,
    /// Gas left in this frame.
    pub gas: u64,
    /// The stack commitment.
    pub stack: StackCommitment,
    /// Memory: `len` is the size in 32-byte words (`MSIZE / 32`).
    pub memory: Bytes32Tree,
    /// Calldata, `len` in bytes.
    pub calldata: Bytes32Tree,
    /// The last callee's output, `len` in bytes.
    pub returndata: Bytes32Tree,
    /// Where the caller wants this frame's output: (offset, size) in the caller's memory.
    pub return_window: (u32, u32),
    /// `H(encode(Checkpoint))` at frame entry.
    pub checkpoint: B256,
}

impl Frame {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 336;

    /// The names of the fields in which `self` and `other` differ (for diagnostics).
    pub fn differing_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($($field:ident),*) => {$(if self.$field != other.$field { out.push(stringify!($field)); })*};
        }
        cmp!(kind, is_static, address, caller, value, code_root, code_size, code_hash, pc, gas);
        cmp!(stack, memory, calldata, returndata, return_window, checkpoint);
        out
    }

    /// The encoding: the fields in order, fixed-width, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(self.kind as u8);
        out.push(u8::from(self.is_static));
        out.extend_from_slice(self.address.as_slice());
        out.extend_from_slice(self.caller.as_slice());
        out.extend_from_slice(&self.value.to_be_bytes::<32>());
        out.extend_from_slice(self.code_root.as_slice());
        out.extend_from_slice(&self.code_size.to_be_bytes());
        out.extend_from_slice(self.code_hash.as_slice());
        out.extend_from_slice(&self.pc.to_be_bytes());
        out.extend_from_slice(&self.gas.to_be_bytes());
        out.extend_from_slice(&self.stack.size.to_be_bytes());
        out.extend_from_slice(self.stack.hash.as_slice());
        for tree in [self.memory, self.calldata, self.returndata] {
            out.extend_from_slice(&tree.len.to_be_bytes());
            out.extend_from_slice(tree.root.as_slice());
        }
        out.extend_from_slice(&self.return_window.0.to_be_bytes());
        out.extend_from_slice(&self.return_window.1.to_be_bytes());
        out.extend_from_slice(self.checkpoint.as_slice());
        out
    }

    /// `H(encode(self))`.
    pub fn hash(&self) -> B256 {
        keccak256_memo(&self.encode())
    }
}

/// What a revert restores (spec §4.3), 236 bytes encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The world state root.
    pub state_root: B256,
    /// EIP-2929 warm addresses trie root.
    pub warm_addresses: B256,
    /// EIP-2929 warm slots trie root.
    pub warm_slots: B256,
    /// EIP-1153 transient storage trie root.
    pub transient: B256,
    /// EIP-6780 created-in-transaction trie root.
    pub created: B256,
    /// The refund counter, in gas.
    pub refund: u64,
    /// The log chain.
    pub logs: Chain,
    /// `H(encode(TxAccumulators))`.
    pub accumulators: B256,
}

impl Checkpoint {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 236;

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        for root in
            [self.state_root, self.warm_addresses, self.warm_slots, self.transient, self.created]
        {
            out.extend_from_slice(root.as_slice());
        }
        out.extend_from_slice(&self.refund.to_be_bytes());
        out.extend_from_slice(&self.logs.count.to_be_bytes());
        out.extend_from_slice(self.logs.acc.as_slice());
        out.extend_from_slice(self.accumulators.as_slice());
        out
    }

    /// `H(encode(self))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The machine state header (spec §4.1), 402 bytes encoded. Its hash is the commitment a
/// claim in the game's lower level makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MachineState {
    /// The fork.
    pub fork: ForkId,
    /// The VM status.
    pub status: Status,
    /// The micro-operation in progress.
    pub pending_kind: PendingKind,
    /// `H(encode(Pending))`, zero when none.
    pub pending_hash: B256,
    /// `H(encode(BlockContext))`.
    pub block_hash: B256,
    /// `H(encode(TxContext))`.
    pub tx_hash: B256,
    /// The world state root.
    pub state_root: B256,
    /// EIP-2929 warm addresses trie root.
    pub warm_addresses: B256,
    /// EIP-2929 warm slots trie root.
    pub warm_slots: B256,
    /// EIP-1153 transient storage trie root.
    pub transient: B256,
    /// EIP-6780 created-in-transaction trie root.
    pub created: B256,
    /// The refund counter, in gas.
    pub refund: u64,
    /// The log chain.
    pub logs: Chain,
    /// `H(encode(Frame))` of the current frame, zero outside frames.
    pub frame_hash: B256,
    /// The caller chain: `count` is the depth, `acc` the hash chain of caller frames.
    pub callers: (u16, B256),
    /// `H(encode(TxAccumulators))`.
    pub accumulators: B256,
}

impl MachineState {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 402;

    /// The names of the fields in which `self` and `other` differ (for diagnostics).
    pub fn differing_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($($field:ident),*) => {$(if self.$field != other.$field { out.push(stringify!($field)); })*};
        }
        cmp!(fork, status, pending_kind, pending_hash, block_hash, tx_hash, state_root);
        cmp!(warm_addresses, warm_slots, transient, created, refund, logs, frame_hash, callers);
        cmp!(accumulators);
        out
    }

    /// The encoding, starting with [`SPEC_VERSION`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(&[
            SPEC_VERSION,
            self.fork as u8,
            self.status as u8,
            self.pending_kind as u8,
        ]);
        for hash in [
            self.pending_hash,
            self.block_hash,
            self.tx_hash,
            self.state_root,
            self.warm_addresses,
            self.warm_slots,
            self.transient,
            self.created,
        ] {
            out.extend_from_slice(hash.as_slice());
        }
        out.extend_from_slice(&self.refund.to_be_bytes());
        out.extend_from_slice(&self.logs.count.to_be_bytes());
        out.extend_from_slice(self.logs.acc.as_slice());
        out.extend_from_slice(self.frame_hash.as_slice());
        out.extend_from_slice(&self.callers.0.to_be_bytes());
        out.extend_from_slice(self.callers.1.as_slice());
        out.extend_from_slice(self.accumulators.as_slice());
        out
    }

    /// The commitment: `H(encode(self))`.
    pub fn commitment(&self) -> B256 {
        keccak256_memo(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{CodeTree, WordTree};
    use alloy_primitives::{U256, address};

    /// A fixed small program's first state: `PUSH1 2 PUSH1 3 ADD` at pc 0 in the top frame.
    fn sample() -> (MachineState, Frame, Checkpoint) {
        let code = CodeTree::new(&[0x60, 0x02, 0x60, 0x03, 0x01, 0x00]).unwrap();
        let empty = WordTree::empty().root();
        let checkpoint = Checkpoint {
            state_root: alloy_trie::EMPTY_ROOT_HASH,
            warm_addresses: alloy_trie::EMPTY_ROOT_HASH,
            warm_slots: alloy_trie::EMPTY_ROOT_HASH,
            transient: alloy_trie::EMPTY_ROOT_HASH,
            created: alloy_trie::EMPTY_ROOT_HASH,
            refund: 0,
            logs: Chain::default(),
            accumulators: B256::ZERO,
        };
        let frame = Frame {
            kind: FrameKind::Transaction,
            is_static: false,
            address: address!("0x1000000000000000000000000000000000000001"),
            caller: address!("0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b"),
            value: U256::ZERO,
            code_root: code.root(),
            code_size: code.size() as u32,
            code_hash: code.code_hash(),
            pc: 0,
            gas: 79_000,
            stack: StackCommitment::EMPTY,
            memory: Bytes32Tree { len: 0, root: empty },
            calldata: Bytes32Tree { len: 0, root: empty },
            returndata: Bytes32Tree { len: 0, root: empty },
            return_window: (0, 0),
            checkpoint: checkpoint.hash(),
        };
        let state = MachineState {
            fork: ForkId::Cancun,
            status: Status::Running,
            pending_kind: PendingKind::None,
            pending_hash: B256::ZERO,
            block_hash: B256::repeat_byte(0xbb),
            tx_hash: B256::repeat_byte(0xcc),
            state_root: checkpoint.state_root,
            warm_addresses: checkpoint.warm_addresses,
            warm_slots: checkpoint.warm_slots,
            transient: checkpoint.transient,
            created: checkpoint.created,
            refund: 0,
            logs: Chain::default(),
            frame_hash: frame.hash(),
            callers: (0, B256::ZERO),
            accumulators: B256::ZERO,
        };
        (state, frame, checkpoint)
    }

    #[test]
    fn encodings_have_the_spec_sizes() {
        let (state, frame, checkpoint) = sample();
        assert_eq!(state.encode().len(), MachineState::ENCODED_LEN);
        assert_eq!(frame.encode().len(), Frame::ENCODED_LEN);
        assert_eq!(checkpoint.encode().len(), Checkpoint::ENCODED_LEN);
        assert_eq!(state.encode()[0], SPEC_VERSION);
    }

    /// The commitment of a small fixed program's first state. A change here is a change of
    /// the spec's byte layouts (and so of the Solidity verifier): review it as such.
    #[test]
    fn commitment_of_a_small_fixed_program() {
        let (state, frame, checkpoint) = sample();
        insta::assert_snapshot!(format!(
            "state:      {}\nframe:      {}\ncheckpoint: {}\nencoded state: 0x{}",
            state.commitment(),
            frame.hash(),
            checkpoint.hash(),
            alloy_primitives::hex::encode(state.encode()),
        ));
    }
}
