//! The step machine of `docs/spec/step-machine.md` (version 0.1): its primitive commitments
//! first (§2). Section numbers in the docs below refer to that document.

mod abi;
mod code;
mod context;
mod execute;
mod frame_prover;
mod frames;
mod memo;
mod merkle;
mod micro;
mod micro_prover;
mod mpt;
mod opcode;
mod pending;
mod snapshot;
mod sponge;
mod stack;
mod state;
mod tx;
mod tx_begin;
mod tx_begin_prover;
mod word_tree;
mod world;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod micro_tests;
#[cfg(test)]
mod tx_begin_tests;
#[cfg(test)]
mod world_steps;

pub use abi::{
    CHUNK_ITEM_LEN, SECTIONS, Section, WITNESS_ABI_VERSION, WITNESS_FIXED_LEN, WORD_ITEM_LEN,
};
pub use code::{
    CODE_TREE_DEPTH, CodeChunk, CodeTree, MAX_CODE_SIZE, is_jumpdest_in_chunk, push_data_prefixes,
};
pub use context::{
    BLOB_HASHES_DEPTH, BLOCK_HASHES_DEPTH, BlockContext, Contexts, FrameExit, LeafWitness,
    TxAccumulators, TxContext, TxEnd,
};
pub(crate) use execute::pure;
pub use execute::{StepWitness, WordWitness, execute, execute_to_state};
pub use frame_prover::{AccumulatorItems, BoundaryRun, HeldFrame};
pub use merkle::{FixedMerkleTree, MerkleProof};
pub use micro_prover::{MicroRun, MicroStepKind, WorldView};
pub use mpt::TrieWitness;
pub(crate) use opcode::memory_write;
pub use opcode::{Family, OPCODES, OpInfo, memory_cost, reads_world};
pub use pending::{
    BufferCopy, CallPending, CopyDest, CopySource, CopyState, CreatePending, Pending,
    SPONGE_SOURCE_MEMORY, SpongePurpose, SpongeState, log_item,
};
pub use snapshot::{FrameSnapshot, Stack};
pub use sponge::{KECCAK_RATE, Sponge};
pub use stack::StackCommitment;
pub use state::{
    Bytes32Tree, Chain, Checkpoint, ForkId, Frame, FrameKind, MachineState, PendingKind,
    SPEC_VERSION, Status,
};
pub use tx_begin::{
    AccessChain, AccessItem, MAX_ENVELOPE_SIZE, TxBegin, TxEntry, TxPlan, decode_envelope,
};
pub use word_tree::{WORD_TREE_DEPTH, WordTree};
pub use world::{
    Tries, WARM, World, WorldRoots, address_key, decode_account, decode_word, is_empty, pair_key,
    slot_key, warm_by_rule, word_value,
};

use alloy_primitives::{B256, keccak256};

/// `H(left ‖ right)`: the node hash of every binary tree of the machine.
#[inline]
pub(crate) fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}
