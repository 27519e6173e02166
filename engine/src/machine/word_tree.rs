//! Word trees (spec §2.1): memory, calldata, return data and copy buffers as a fixed-depth
//! binary Merkle tree of 32-byte words whose leaves are the words themselves.

use super::{FixedMerkleTree, MerkleProof};
use crate::Result;
use alloy_primitives::B256;
use std::collections::HashMap;

/// The depth of every word tree: 2^22 words (128 MiB), beyond what any gas limit can expand
/// memory to (spec §2.1).
pub const WORD_TREE_DEPTH: u8 = 22;

/// A byte string committed as `(root, len)`: words past `len` are zero, so growing `len`
/// (memory expansion) never changes the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordTree {
    tree: FixedMerkleTree,
    len: u64,
}

impl WordTree {
    /// The empty string: root `Z_22`, length 0.
    pub fn empty() -> Self {
        Self::from_bytes(&[]).expect("the empty string fits every tree")
    }

    /// The tree of `bytes`, zero-padded to a whole word.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] when `bytes` is longer than 2^22 words.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let words = bytes
            .chunks(32)
            .map(|chunk| {
                let mut word = B256::ZERO;
                word[..chunk.len()].copy_from_slice(chunk);
                word
            })
            .collect();
        Ok(Self {
            tree: FixedMerkleTree::new(WORD_TREE_DEPTH, B256::ZERO, words)?,
            len: bytes.len() as u64,
        })
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The length in bytes (for memory: the size, a multiple of 32).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The word at word index `index` (zero past the end).
    pub fn word(&self, index: u64) -> B256 {
        self.tree.leaf(index)
    }

    /// The proof of the word at `index`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] when `index ≥ 2^22`.
    pub fn proof(&self, index: u64) -> Result<MerkleProof> {
        self.tree.proof(index)
    }

    /// Sets the length to at least `len` bytes (memory expansion); the root is unchanged.
    pub fn expand(&mut self, len: u64) {
        self.len = self.len.max(len);
    }

    /// Makes the string equal to `bytes` where they differ (memory as revm holds it): rewrites
    /// only the words that changed, and grows the length to `bytes.len()` (it never shrinks).
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] past 2^22 words.
    pub fn sync(&mut self, bytes: &[u8]) -> Result<()> {
        self.sync_range(bytes, 0, bytes.len() as u64)
    }

    /// Like [`WordTree::sync`], comparing only the words that overlap bytes
    /// `[start, start + len)` (the region a step may have written).
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] past 2^22 words.
    pub fn sync_range(&mut self, bytes: &[u8], start: u64, len: u64) -> Result<()> {
        let end = start.saturating_add(len).min(bytes.len() as u64);
        let (first, last) = (start / 32, end.div_ceil(32));
        for index in first..last {
            let at = (index * 32) as usize;
            let chunk = &bytes[at..(at + 32).min(bytes.len())];
            let mut word = B256::ZERO;
            word[..chunk.len()].copy_from_slice(chunk);
            if self.word(index) != word {
                self.tree.set_leaf(index, word)?;
            }
        }
        self.expand(bytes.len() as u64);
        Ok(())
    }

    /// Writes `data` at byte `offset`, expanding the length to cover it.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] when the write reaches past 2^22 words.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut position = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let index = position / 32;
            let start = (position % 32) as usize;
            let n = rest.len().min(32 - start);
            let mut word = self.word(index);
            word[start..start + n].copy_from_slice(&rest[..n]);
            self.tree.set_leaf(index, word)?;
            position += n as u64;
            rest = &rest[n..];
        }
        self.expand(offset + data.len() as u64);
        Ok(())
    }

    /// Applies `writes` (byte offset and data), in order, like [`WordTree::write`] one after
    /// the other, but rehashes each changed word's path once: a batch of writes over a few
    /// words costs about what their distinct paths cost.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] when a write reaches past 2^22 words.
    pub fn write_all<'a>(
        &mut self,
        writes: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<()> {
        let mut words: HashMap<u64, B256> = HashMap::new();
        let mut end = 0u64;
        for (offset, data) in writes {
            let mut position = offset;
            let mut rest = data;
            while !rest.is_empty() {
                let index = position / 32;
                let start = (position % 32) as usize;
                let n = rest.len().min(32 - start);
                let word = words.entry(index).or_insert_with(|| self.tree.leaf(index));
                word[start..start + n].copy_from_slice(&rest[..n]);
                position += n as u64;
                rest = &rest[n..];
            }
            end = end.max(offset.saturating_add(data.len() as u64));
        }
        let mut leaves: Vec<(u64, B256)> = words.into_iter().collect();
        leaves.sort_unstable_by_key(|(index, _)| *index);
        self.tree.set_leaves(&leaves)?;
        self.expand(end);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_keeps_the_root_and_writes_match_a_fresh_tree() {
        let mut memory = WordTree::empty();
        let empty_root = memory.root();
        memory.expand(96);
        assert_eq!(memory.root(), empty_root);
        assert_eq!(memory.len(), 96);

        memory.write(30, &[1, 2, 3, 4]).unwrap(); // straddles words 0 and 1
        let mut bytes = vec![0u8; 96];
        bytes[30..34].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(memory, WordTree::from_bytes(&bytes).unwrap());
        let mut batched = WordTree::empty();
        batched.write_all([(40, &[9u8; 40][..]), (30, &[1, 2, 3, 4][..]), (0, &[][..])]).unwrap();
        let mut one_by_one = WordTree::empty();
        one_by_one.write(40, &[9u8; 40]).unwrap();
        one_by_one.write(30, &[1, 2, 3, 4]).unwrap();
        assert_eq!(batched, one_by_one);
        assert_eq!(batched.len(), 80);
        let proof = memory.proof(1).unwrap();
        assert!(proof.verifies(WORD_TREE_DEPTH, memory.word(1), memory.root()));
        assert_eq!(proof.siblings.len(), WORD_TREE_DEPTH as usize);
    }
}
