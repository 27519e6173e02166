//! Code trees (spec §2.2): a frame's code as a depth-12 Merkle tree of 32-byte chunks, each
//! leaf `H(chunk ‖ u8(p))` where `p` counts the chunk's leading bytes that are immediate data of
//! a PUSH begun in an earlier chunk (EIP-2926's first-instruction offset). `p` makes JUMPDEST
//! validity decidable from one chunk.

use super::{FixedMerkleTree, MerkleProof, opcode::immediate_len};
use crate::{Error, Result};
use alloy_primitives::{B256, keccak256};

/// The depth of every code tree: 2^12 chunks.
pub const CODE_TREE_DEPTH: u8 = 12;

/// The longest code the machine holds: 2^12 chunks of 32 bytes (131,072 bytes).
pub const MAX_CODE_SIZE: usize = 32 << CODE_TREE_DEPTH;

const JUMPDEST: u8 = 0x5b;

/// `p_j` for every chunk `j < ⌈len/32⌉` of `code`.
pub fn push_data_prefixes(code: &[u8]) -> Vec<u8> {
    let chunks = code.len().div_ceil(32);
    let mut prefixes = Vec::with_capacity(chunks);
    let mut next = 0usize; // start of the next instruction
    for j in 0..chunks {
        let start = 32 * j;
        while next < start {
            next += 1 + immediate_len(code[next]);
        }
        prefixes.push((next - start).min(32) as u8);
    }
    prefixes
}

/// Whether the byte at `offset` of a chunk with prefix `p` is a JUMPDEST instruction (not
/// PUSH data): scanning from `p`, instructions land exactly on `offset`, and the byte is 0x5b.
/// The caller checks that the target is below the code size.
pub fn is_jumpdest_in_chunk(chunk: &[u8; 32], p: u8, offset: u8) -> bool {
    let (mut i, offset) = (p as usize, offset as usize);
    if offset >= 32 {
        return false;
    }
    while i < offset {
        i += 1 + immediate_len(chunk[i]);
    }
    i == offset && chunk[offset] == JUMPDEST
}

/// One 32-byte chunk of code with its push-data prefix and its proof against the code root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChunk {
    /// The chunk's index (`pc / 32`).
    pub index: u32,
    /// The chunk's bytes, zero past the code's end.
    pub bytes: [u8; 32],
    /// `p_j`: leading bytes that are PUSH data of an earlier chunk's instruction.
    pub push_prefix: u8,
    /// The proof of `H(bytes ‖ push_prefix)` at `index`.
    pub proof: MerkleProof,
}

/// A frame's code with its commitment `(code_root, code_size, code_hash)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeTree {
    code: Vec<u8>,
    prefixes: Vec<u8>,
    tree: FixedMerkleTree,
    hash: B256,
}

impl CodeTree {
    /// The tree of `code`.
    ///
    /// # Errors
    ///
    /// [`Error::CodeTooLarge`] for code over [`MAX_CODE_SIZE`] bytes.
    pub fn new(code: &[u8]) -> Result<Self> {
        if code.len() > MAX_CODE_SIZE {
            return Err(Error::CodeTooLarge { size: code.len() });
        }
        let prefixes = push_data_prefixes(code);
        let leaves = prefixes.iter().enumerate().map(|(j, p)| leaf(&chunk(code, j), *p)).collect();
        let tree = FixedMerkleTree::new(CODE_TREE_DEPTH, leaf(&[0; 32], 0), leaves)?;
        Ok(Self { code: code.to_vec(), prefixes, tree, hash: keccak256(code) })
    }

    /// The tree of empty code (accounts without code).
    pub fn empty() -> Self {
        Self::new(&[]).expect("empty code is within every bound")
    }

    /// `code_root`.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// `code_size` in bytes.
    pub fn size(&self) -> usize {
        self.code.len()
    }

    /// `code_hash = H(code)`, as in the account.
    pub fn code_hash(&self) -> B256 {
        self.hash
    }

    /// Chunk `j` with its prefix `p_j` and proof: the fetch and jump witness of spec §5.1.
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] when `j ≥ 2^12`.
    pub fn chunk(&self, j: u32) -> Result<CodeChunk> {
        let proof = self.tree.proof(u64::from(j))?;
        let push_prefix = self.prefixes.get(j as usize).copied().unwrap_or(0);
        Ok(CodeChunk { index: j, bytes: chunk(&self.code, j as usize), push_prefix, proof })
    }

    /// The code byte at `pc`: STOP (0) at or past the end.
    pub fn byte(&self, pc: usize) -> u8 {
        self.code.get(pc).copied().unwrap_or(0)
    }

    /// Whether `target` is a valid jump destination.
    pub fn is_valid_jump(&self, target: usize) -> bool {
        target < self.code.len()
            && is_jumpdest_in_chunk(
                &chunk(&self.code, target / 32),
                self.prefixes[target / 32],
                (target % 32) as u8,
            )
    }
}

/// The code-tree leaf `H(chunk ‖ u8(p))`.
pub(crate) fn leaf(chunk: &[u8; 32], p: u8) -> B256 {
    let mut buf = [0u8; 33];
    buf[..32].copy_from_slice(chunk);
    buf[32] = p;
    keccak256(buf)
}

fn chunk(code: &[u8], j: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    let start = (32 * j).min(code.len());
    let end = (start + 32).min(code.len());
    out[..end - start].copy_from_slice(&code[start..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use revm::bytecode::Bytecode;

    /// Code biased towards PUSHes and JUMPDESTs, the bytes that decide jump validity.
    fn code() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![Just(JUMPDEST), 0x60u8..=0x7f, any::<u8>()];
        proptest::collection::vec(byte, 0..300)
    }

    proptest! {
        /// The one-chunk JUMPDEST check agrees with revm's whole-code jump table everywhere.
        #[test]
        fn jumpdest_validity_matches_revm(code in code()) {
            let tree = CodeTree::new(&code).unwrap();
            let revm = Bytecode::new_legacy(code.clone().into());
            let table = revm.legacy_jump_table().unwrap();
            for target in 0..code.len() + 40 {
                prop_assert_eq!(tree.is_valid_jump(target), table.is_valid(target), "target {}", target);
            }
        }

        /// Every chunk's fetch witness verifies against the code root.
        #[test]
        fn chunk_proofs_verify(code in code()) {
            let tree = CodeTree::new(&code).unwrap();
            for j in 0..code.len().div_ceil(32) as u32 + 1 {
                let c = tree.chunk(j).unwrap();
                prop_assert!(c.proof.verifies(CODE_TREE_DEPTH, leaf(&c.bytes, c.push_prefix), tree.root()));
                prop_assert!(!c.proof.verifies(CODE_TREE_DEPTH, leaf(&c.bytes, c.push_prefix ^ 1), tree.root()));
            }
        }
    }

    #[test]
    fn push_data_crossing_a_chunk_boundary() {
        // PUSH32 at byte 30: its immediate covers bytes 31..63, so chunk 1 starts with 31 bytes
        // of push data, and a 0x5b at byte 40 is data, not a JUMPDEST.
        let mut code = vec![0x00; 70];
        code[30] = 0x7f;
        code[40] = JUMPDEST;
        code[63] = JUMPDEST;
        assert_eq!(push_data_prefixes(&code), vec![0, 31, 0]);
        let tree = CodeTree::new(&code).unwrap();
        assert!(!tree.is_valid_jump(40));
        assert!(tree.is_valid_jump(63));
    }

    #[test]
    fn oversized_code_is_rejected() {
        assert!(matches!(
            CodeTree::new(&vec![0; MAX_CODE_SIZE + 1]),
            Err(Error::CodeTooLarge { size }) if size == MAX_CODE_SIZE + 1
        ));
    }
}
