//! Fixed-depth binary Merkle trees (spec §2.1, §2.2): node = `H(left ‖ right)`, leaves given
//! as 32-byte values, absent leaves equal to a per-tree zero leaf, so the tree is sparse and a
//! tree of any depth costs only what its occupied prefix costs.

use super::{hash_pair, memo::proof_root_memo};
use crate::{Error, Result};
use alloy_primitives::B256;
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

/// Levels at least this wide are hashed in parallel (rayon's pool): a memory of megabytes is
/// tens of thousands of hashes.
const PARALLEL_LEAVES: usize = 8192;

/// Nodes per shared chunk of a level (2 KiB). A clone shares every chunk with its original
/// until one of them writes it, so trees that differ in a few leaves (the lazy trace's memory
/// at nearby steps) cost only the chunks on the changed paths, and cloning a tree of megabytes
/// copies no node.
const CHUNK: usize = 64;

/// `zeros[k]`, the root of an all-zero subtree of height `k` for `k ≤ depth`, computed once
/// per (depth, zero leaf) in the process: trees are created per frame and per buffer, and
/// rehashing 22 zero levels each time would dominate.
fn zero_hashes(depth: u8, zero_leaf: B256) -> Arc<[B256]> {
    type Cache = Mutex<HashMap<(u8, B256), Arc<[B256]>>>;
    static CACHE: LazyLock<Cache> = LazyLock::new(Cache::default);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .entry((depth, zero_leaf))
        .or_insert_with(|| {
            let mut zeros = Vec::with_capacity(depth as usize + 1);
            zeros.push(zero_leaf);
            for k in 0..depth as usize {
                zeros.push(hash_pair(&zeros[k], &zeros[k]));
            }
            zeros.into()
        })
        .clone()
}

/// A binary Merkle tree of fixed `depth` over `2^depth` leaves, of which only a prefix is
/// stored; every leaf past it is the tree's zero leaf. Two trees are equal when they commit to
/// the same leaves (same depth and root), however much of the zero tail each stores.
#[derive(Clone, Debug)]
pub struct FixedMerkleTree {
    /// `zeros[k]` is the root of an all-zero subtree of height `k`.
    zeros: Arc<[B256]>,
    /// `levels[0]` are the stored leaves; `levels[k]` the nodes of height `k` over them.
    levels: Vec<Level>,
}

/// One level's stored prefix, in copy-on-write chunks of [`CHUNK`] nodes (every chunk full but
/// the last).
#[derive(Clone, Debug, Default)]
struct Level {
    len: usize,
    chunks: Vec<Arc<Vec<B256>>>,
}

impl Level {
    fn from_vec(nodes: Vec<B256>) -> Self {
        let len = nodes.len();
        let chunks = match len {
            0 => Vec::new(),
            1..=CHUNK => vec![Arc::new(nodes)],
            _ => nodes.chunks(CHUNK).map(|chunk| Arc::new(chunk.to_vec())).collect(),
        };
        Self { len, chunks }
    }

    fn get(&self, index: usize) -> Option<B256> {
        (index < self.len).then(|| self.chunks[index / CHUNK][index % CHUNK])
    }

    /// Sets a stored node (`index < len`), copying its chunk if it is shared.
    fn set(&mut self, index: usize, node: B256) {
        Arc::make_mut(&mut self.chunks[index / CHUNK])[index % CHUNK] = node;
    }

    /// Grows the stored prefix to `len` nodes with `fill`.
    fn grow(&mut self, len: usize, fill: B256) {
        while self.len < len {
            if self.len.is_multiple_of(CHUNK) {
                self.chunks.push(Arc::new(Vec::with_capacity(CHUNK.min(len - self.len))));
            }
            let Some(last) = self.chunks.last_mut() else { return };
            let chunk = Arc::make_mut(last);
            let n = (len - self.len).min(CHUNK - chunk.len());
            chunk.resize(chunk.len() + n, fill);
            self.len += n;
        }
    }
}

/// The siblings of one leaf, from the leaf's level up (`depth` hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleProof {
    /// The leaf's index.
    pub index: u64,
    /// `siblings[k]` is the sibling at height `k`.
    pub siblings: Vec<B256>,
}

impl MerkleProof {
    /// The root that `leaf` at this proof's index implies.
    pub fn root(&self, leaf: B256) -> B256 {
        proof_root_memo(leaf, self.index, &self.siblings, || {
            let mut node = leaf;
            for (height, sibling) in self.siblings.iter().enumerate() {
                node = if (self.index >> height) & 1 == 0 {
                    hash_pair(&node, sibling)
                } else {
                    hash_pair(sibling, &node)
                };
            }
            node
        })
    }

    /// Whether `leaf` at this proof's index is a leaf of the tree of `depth` with `root`.
    ///
    /// The proof must have exactly `depth` siblings and an index below `2^depth`: a shorter
    /// proof would pass an inner node off as a leaf, which is how a forged word would verify.
    pub fn verifies(&self, depth: u8, leaf: B256, root: B256) -> bool {
        self.siblings.len() == usize::from(depth)
            && u128::from(self.index) >> depth == 0
            && self.root(leaf) == root
    }
}

impl PartialEq for FixedMerkleTree {
    fn eq(&self, other: &Self) -> bool {
        self.depth() == other.depth() && self.root() == other.root()
    }
}

impl Eq for FixedMerkleTree {}

impl FixedMerkleTree {
    /// A tree of `depth` whose leaves are `leaves` followed by `zero_leaf`s.
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] when there are more than `2^depth` leaves.
    pub fn new(depth: u8, zero_leaf: B256, leaves: Vec<B256>) -> Result<Self> {
        let capacity = 1u128 << depth;
        if leaves.len() as u128 > capacity {
            return Err(Error::TreeOverflow { depth, leaves: leaves.len() as u64 });
        }
        let zeros = zero_hashes(depth, zero_leaf);
        let levels = build_levels(&zeros, leaves).into_iter().map(Level::from_vec).collect();
        Ok(Self { zeros, levels })
    }

    /// The tree's depth.
    pub fn depth(&self) -> u8 {
        (self.zeros.len() - 1) as u8
    }

    /// The root.
    pub fn root(&self) -> B256 {
        let depth = self.depth() as usize;
        self.levels.get(depth).and_then(|level| level.get(0)).unwrap_or(self.zeros[depth])
    }

    /// The leaf at `index` (the zero leaf past the stored prefix).
    pub fn leaf(&self, index: u64) -> B256 {
        self.node(0, index)
    }

    /// The proof of the leaf at `index`.
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] when `index ≥ 2^depth`.
    pub fn proof(&self, index: u64) -> Result<MerkleProof> {
        self.check_index(index)?;
        let siblings = (0..self.depth() as usize)
            .map(|height| self.node(height, (index >> height) ^ 1))
            .collect();
        Ok(MerkleProof { index, siblings })
    }

    /// Sets the leaf at `index`, growing the stored prefix with zero leaves as needed, and
    /// updates the path to the root.
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] when `index ≥ 2^depth`.
    pub fn set_leaf(&mut self, index: u64, leaf: B256) -> Result<()> {
        self.set_leaves(&[(index, leaf)])
    }

    /// Sets several leaves, `(index, leaf)` by increasing index (a repeated index keeps its
    /// last leaf), and rehashes each node above them once (wide levels in parallel).
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] when an index is `≥ 2^depth`; nothing is changed then.
    pub fn set_leaves(&mut self, leaves: &[(u64, B256)]) -> Result<()> {
        if !leaves.is_sorted_by_key(|(index, _)| *index) {
            let mut sorted = leaves.to_vec();
            sorted.sort_by_key(|(index, _)| *index);
            return self.set_leaves(&sorted);
        }
        let Some(&(last, _)) = leaves.last() else { return Ok(()) };
        self.check_index(last)?;
        let depth = self.depth() as usize;
        if self.levels.len() <= depth {
            self.levels.resize(depth + 1, Level::default());
        }
        // Grow every level to cover the paths; the new nodes are zero subtrees, which is what
        // they were implicitly.
        let last = last as usize;
        for (height, level) in self.levels.iter_mut().enumerate() {
            level.grow((last >> height) + 1, self.zeros[height]);
        }
        let mut dirty = Vec::with_capacity(leaves.len());
        for &(index, leaf) in leaves {
            self.levels[0].set(index as usize, leaf);
            dirty.push(index as usize);
        }
        dirty.dedup();
        for height in 1..=depth {
            dirty.dedup_by_key(|index| *index >> 1);
            for index in &mut dirty {
                *index >>= 1;
            }
            let below = &self.levels[height - 1];
            let (zero, zero_above) = (self.zeros[height - 1], self.zeros[height]);
            let node = |index: &usize| {
                let left = below.get(index << 1).unwrap_or(zero);
                let right = below.get((index << 1) | 1).unwrap_or(zero);
                if left == zero && right == zero { zero_above } else { hash_pair(&left, &right) }
            };
            let nodes: Vec<B256> = if dirty.len() >= PARALLEL_LEAVES {
                use rayon::prelude::*;
                dirty.par_iter().map(node).collect()
            } else {
                dirty.iter().map(node).collect()
            };
            let level = &mut self.levels[height];
            for (index, node) in dirty.iter().zip(nodes) {
                level.set(*index, node);
            }
        }
        Ok(())
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if u128::from(index) >= 1u128 << self.depth() {
            return Err(Error::TreeOverflow { depth: self.depth(), leaves: index + 1 });
        }
        Ok(())
    }

    /// The node of height `height` at `index` (zero subtree past the stored prefix).
    fn node(&self, height: usize, index: u64) -> B256 {
        self.levels
            .get(height)
            .and_then(|level| level.get(index as usize))
            .unwrap_or(self.zeros[height])
    }
}

/// The levels of a tree over `leaves`, from the leaves up to the last non-empty level (the
/// root's when there is any leaf).
fn build_levels(zeros: &[B256], leaves: Vec<B256>) -> Vec<Vec<B256>> {
    let depth = zeros.len() - 1;
    let mut levels = vec![leaves];
    let mut h = 0;
    while h < depth && !levels[h].is_empty() {
        let below = &levels[h];
        let (zero, zero_above) = (zeros[h], zeros[h + 1]);
        // A pair of zero subtrees is the zero subtree above: no hash (memory is mostly zeros
        // in places).
        let node = |pair: &[B256]| {
            let right = pair.get(1).unwrap_or(&zero);
            if pair[0] == zero && *right == zero { zero_above } else { hash_pair(&pair[0], right) }
        };
        let above: Vec<B256> = if below.len() >= PARALLEL_LEAVES {
            use rayon::prelude::*;
            below.par_chunks(2).map(node).collect()
        } else {
            below.chunks(2).map(node).collect()
        };
        levels.push(above);
        h += 1;
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_root(depth: u8, zero: B256, leaves: &[B256]) -> B256 {
        let mut level: Vec<B256> =
            (0..1u64 << depth).map(|i| leaves.get(i as usize).copied().unwrap_or(zero)).collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
        }
        level[0]
    }

    fn leaf(i: u8) -> B256 {
        B256::with_last_byte(i)
    }

    #[test]
    fn empty_tree_root_is_the_zero_subtree() {
        let tree = FixedMerkleTree::new(4, B256::ZERO, vec![]).unwrap();
        assert_eq!(tree.root(), naive_root(4, B256::ZERO, &[]));
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(FixedMerkleTree::new(2, B256::ZERO, vec![B256::ZERO; 5]).is_err());
        let tree = FixedMerkleTree::new(2, B256::ZERO, vec![]).unwrap();
        assert!(tree.proof(4).is_err());
    }

    /// An inner node with the proof of its subtree does not pass as a leaf.
    #[test]
    fn short_proofs_do_not_verify() {
        let tree = FixedMerkleTree::new(4, B256::ZERO, (0..16).map(leaf).collect()).unwrap();
        let full = tree.proof(5).unwrap();
        let inner = tree.node(1, 2);
        let short = MerkleProof { index: 2, siblings: full.siblings[1..].to_vec() };
        assert_eq!(short.root(inner), tree.root());
        assert!(!short.verifies(4, inner, tree.root()));
        assert!(full.verifies(4, tree.leaf(5), tree.root()));
        let wide = MerkleProof { index: 5 + 16, ..full };
        assert!(!wide.verifies(4, tree.leaf(5), tree.root()));
    }

    proptest! {
        #[test]
        fn roots_proofs_and_updates_match_a_naive_tree(
            depth in 0u8..7,
            leaves in proptest::collection::vec(any::<u8>(), 0..64),
            updates in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..8),
        ) {
            let capacity = 1usize << depth;
            let mut leaves: Vec<B256> = leaves.into_iter().take(capacity).map(leaf).collect();
            let zero = B256::repeat_byte(0xee);
            let mut tree = FixedMerkleTree::new(depth, zero, leaves.clone()).unwrap();
            prop_assert_eq!(tree.root(), naive_root(depth, zero, &leaves));
            for (index, value) in updates {
                let index = index as usize % capacity;
                if leaves.len() <= index { leaves.resize(index + 1, zero); }
                leaves[index] = leaf(value);
                tree.set_leaf(index as u64, leaf(value)).unwrap();
                prop_assert_eq!(tree.root(), naive_root(depth, zero, &leaves));
            }
            let batch: Vec<(u64, B256)> =
                leaves.iter().enumerate().rev().map(|(i, l)| (i as u64, *l)).collect();
            let mut batched = FixedMerkleTree::new(depth, zero, vec![]).unwrap();
            batched.set_leaves(&batch).unwrap();
            prop_assert_eq!(batched.root(), tree.root());
            for index in 0..capacity as u64 {
                let proof = tree.proof(index).unwrap();
                prop_assert!(proof.verifies(depth, tree.leaf(index), tree.root()));
                prop_assert!(!proof.verifies(depth, B256::repeat_byte(0xab), tree.root()) || tree.leaf(index) == B256::repeat_byte(0xab));
            }
        }
    }
}
