//! Positions in the game tree as generalized indices.
//!
//! A claim's position is `2^depth + index_at_depth`; the root claim is at `1`. An attack on
//! `p` moves to `2p` (the left child: the claimant says the disputed half lies left), a
//! defence of `p` to `2(p + 1)` (the left child of `p`'s right sibling: `p` is agreed and the
//! dispute lies right of it). A claim at `p` commits to the state at the trace index of the
//! deepest right-most leaf under `p`. Mirrors `contracts/src/lib/LibPosition.sol`; source:
//! the Optimism fault dispute game's position scheme; the rules are `docs/spec/game.md` §2.

use crate::{Error, Result};
use std::fmt;

/// A position in the game tree: the generalized index `2^depth + index_at_depth`.
///
/// Valid positions are non-zero and have depth at most [`Position::MAX_DEPTH`] (126), so they
/// fit in 128 bits, the width the contracts store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(u128);

impl Position {
    /// The deepest depth a position may have.
    pub const MAX_DEPTH: u8 = 126;

    /// The root claim's position, `1`.
    pub const ROOT: Self = Self(1);

    /// The position at `depth` and `index_at_depth` (0-based from the left).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPosition`] when `depth` exceeds [`Self::MAX_DEPTH`] or
    /// `index_at_depth >= 2^depth`.
    pub fn new(depth: u8, index_at_depth: u128) -> Result<Self> {
        if depth > Self::MAX_DEPTH || index_at_depth >> depth != 0 {
            return Err(Error::InvalidPosition { depth, index_at_depth });
        }
        Ok(Self((1 << depth) | index_at_depth))
    }

    /// The position with generalized index `index`, as stored on L1.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPosition`] for `0` and for indices deeper than [`Self::MAX_DEPTH`].
    pub fn from_generalized_index(index: u128) -> Result<Self> {
        if index == 0 || index.ilog2() > u32::from(Self::MAX_DEPTH) {
            return Err(Error::InvalidPosition { depth: 0, index_at_depth: index });
        }
        Ok(Self(index))
    }

    /// The generalized index, as stored on L1.
    pub const fn generalized_index(self) -> u128 {
        self.0
    }

    /// The depth: the index of the most significant set bit.
    pub const fn depth(self) -> u8 {
        self.0.ilog2() as u8
    }

    /// The 0-based index among the positions at this depth.
    pub const fn index_at_depth(self) -> u128 {
        self.0 ^ (1 << self.depth())
    }

    /// The parent (the claim this one responds to), or `None` for the root.
    pub const fn parent(self) -> Option<Self> {
        if self.0 == 1 { None } else { Some(Self(self.0 >> 1)) }
    }

    /// The position of an attack on this one, `2p`, or `None` at [`Self::MAX_DEPTH`].
    pub const fn attack(self) -> Option<Self> {
        if self.depth() >= Self::MAX_DEPTH { None } else { Some(Self(self.0 << 1)) }
    }

    /// The position of a defence of this one, `2(p + 1)`, or `None` at [`Self::MAX_DEPTH`]
    /// and for the right-most position of a depth (the root among them), which has no right
    /// sibling to defend into.
    pub const fn defend(self) -> Option<Self> {
        if self.depth() >= Self::MAX_DEPTH || self.0 & (self.0 + 1) == 0 {
            None
        } else {
            Some(Self((self.0 + 1) << 1))
        }
    }

    /// The deepest right-most position under this one in a tree of `max_depth`, or `None`
    /// when this position is deeper than `max_depth` or `max_depth` exceeds
    /// [`Self::MAX_DEPTH`].
    pub const fn right_index(self, max_depth: u8) -> Option<Self> {
        if max_depth > Self::MAX_DEPTH || self.depth() > max_depth {
            return None;
        }
        let remaining = max_depth - self.depth();
        Some(Self((self.0 << remaining) | ((1 << remaining) - 1)))
    }

    /// The position of a move on this one: [`Self::attack`] when `is_attack`, else
    /// [`Self::defend`].
    pub const fn move_to(self, is_attack: bool) -> Option<Self> {
        if is_attack { self.attack() } else { self.defend() }
    }

    /// The ancestor of this position at `depth` (the position itself at its own depth), or
    /// `None` when `depth` is deeper than this position.
    pub const fn ancestor_at_depth(self, depth: u8) -> Option<Self> {
        if depth > self.depth() { None } else { Some(Self(self.0 >> (self.depth() - depth))) }
    }

    /// The highest position committing to the same trace index as this one, in any tree
    /// deep enough to hold it: this position with its trailing one bits shifted out (a right
    /// child commits to its parent's trace index), stopping at the root (spec `game.md`
    /// §2.3). Claims other than the root sit at even positions (every move goes to a left
    /// child), so the claim committing to a trace index on a path is found at this position.
    pub const fn trace_ancestor(self) -> Self {
        let ones = self.0.trailing_ones();
        let depth = self.depth() as u32;
        let shift = if ones < depth { ones } else { depth };
        Self(self.0 >> shift)
    }

    /// The trace index of this position within its lower-level subgame (spec `game.md`
    /// §2.2): for a position below `split_depth`, its [`Self::trace_index`] in a tree of
    /// `max_depth` modulo the lower level's width `2^(max_depth - split_depth - 1)`. `None`
    /// at or above the split depth, when `max_depth <= split_depth`, or when this position is
    /// deeper than `max_depth`.
    pub const fn lower_trace_index(self, split_depth: u8, max_depth: u8) -> Option<u128> {
        if self.depth() <= split_depth || max_depth <= split_depth {
            return None;
        }
        match self.trace_index(max_depth) {
            Some(index) => Some(index & ((1u128 << (max_depth - split_depth - 1)) - 1)),
            None => None,
        }
    }

    /// The trace index a claim at this position commits to in a tree of `max_depth`: the
    /// index at depth of [`Self::right_index`].
    pub const fn trace_index(self, max_depth: u8) -> Option<u128> {
        match self.right_index(max_depth) {
            Some(leaf) => Some(leaf.index_at_depth()),
            None => None,
        }
    }
}

/// `depth:index` followed by the generalized index, e.g. `2:1 (5)`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({})", self.depth(), self.index_at_depth(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_positions() {
        let p = Position::new(2, 1).unwrap();
        assert_eq!(p.generalized_index(), 5);
        assert_eq!(p.attack().unwrap().generalized_index(), 10);
        assert_eq!(p.defend().unwrap().generalized_index(), 12);
        assert_eq!(p.parent().unwrap().generalized_index(), 2);
        assert_eq!(Position::ROOT.trace_index(4), Some(15));
        assert_eq!(p.trace_index(4), Some(7));
        assert_eq!(Position::ROOT.defend(), None);
        assert_eq!(Position::ROOT.parent(), None);
        assert!(Position::new(3, 8).is_err());
        assert!(Position::from_generalized_index(0).is_err());
    }

    fn valid_position() -> impl Strategy<Value = Position> {
        (0..=Position::MAX_DEPTH)
            .prop_flat_map(|depth| (Just(depth), 0..(1u128 << depth)))
            .prop_map(|(depth, index)| Position::new(depth, index).unwrap())
    }

    proptest! {
        #[test]
        fn new_round_trips(p in valid_position()) {
            prop_assert_eq!(Position::new(p.depth(), p.index_at_depth()).unwrap(), p);
            prop_assert_eq!(Position::from_generalized_index(p.generalized_index()).unwrap(), p);
        }

        #[test]
        fn trace_ancestor_commits_to_the_same_trace_index(p in valid_position()) {
            let ancestor = p.trace_ancestor();
            let max_depth = Position::MAX_DEPTH;
            prop_assert_eq!(ancestor.trace_index(max_depth), p.trace_index(max_depth));
            prop_assert_eq!(ancestor.ancestor_at_depth(ancestor.depth()), Some(ancestor));
            prop_assert_eq!(p.ancestor_at_depth(ancestor.depth()), Some(ancestor));
            // The highest such position: its parent commits elsewhere (or it is the root).
            if let Some(parent) = ancestor.parent() {
                prop_assert_ne!(parent.trace_index(max_depth), p.trace_index(max_depth));
            }
            prop_assert!(ancestor == Position::ROOT || ancestor.generalized_index() % 2 == 0);
        }

        #[test]
        fn depth_arithmetic_round_trips(p in valid_position(), up in 0u8..=Position::MAX_DEPTH) {
            let up = up.min(p.depth());
            let ancestor = p.ancestor_at_depth(p.depth() - up).unwrap();
            prop_assert_eq!(ancestor.depth(), p.depth() - up);
            let mut walked = p;
            for _ in 0..up {
                walked = walked.parent().unwrap();
            }
            prop_assert_eq!(walked, ancestor);
            prop_assert_eq!(p.ancestor_at_depth(p.depth() + 1), None);
            if let Some(a) = p.move_to(true) {
                prop_assert_eq!(Some(a), p.attack());
                prop_assert_eq!(a.ancestor_at_depth(p.depth()), Some(p));
            }
            if let Some(d) = p.move_to(false) {
                prop_assert_eq!(Some(d), p.defend());
                // A defence lands under the right sibling, whose left boundary is `p`.
                prop_assert_eq!(
                    Position::from_generalized_index(d.generalized_index() - 1)
                        .unwrap()
                        .trace_ancestor(),
                    p.trace_ancestor()
                );
            }
        }

        #[test]
        fn lower_trace_index_is_relative_to_the_split(
            (split, extra) in (0u8..60, 1u8..60),
            index in any::<u128>(),
            lower_depth in 0u8..60,
        ) {
            let max_depth = split + extra;
            let depth = split + 1 + lower_depth.min(extra - 1);
            let index = index & ((1u128 << depth) - 1);
            let p = Position::new(depth, index).unwrap();
            let width = 1u128 << (max_depth - split - 1);
            let t = p.lower_trace_index(split, max_depth).unwrap();
            prop_assert!(t < width);
            // The lower root (depth split + 1) commits to the last leaf of its level.
            let root = p.ancestor_at_depth(split + 1).unwrap();
            prop_assert_eq!(root.lower_trace_index(split, max_depth), Some(width - 1));
            // Leaves under the same lower root are numbered 0..width left to right.
            let leaf = p.right_index(max_depth).unwrap();
            let first = root.generalized_index() << (max_depth - split - 1);
            prop_assert_eq!(leaf.generalized_index() - first, t);
            prop_assert_eq!(p.ancestor_at_depth(split).unwrap().lower_trace_index(split, max_depth), None);
        }

        #[test]
        fn moves_are_children_left_and_right_of_the_trace_index(p in valid_position()) {
            let max_depth = Position::MAX_DEPTH;
            if let Some(a) = p.attack() {
                prop_assert_eq!(a.parent(), Some(p));
                prop_assert!(a.trace_index(max_depth) < p.trace_index(max_depth));
            }
            if let Some(d) = p.defend() {
                prop_assert_eq!(d.depth(), p.depth() + 1);
                prop_assert!(d.trace_index(max_depth) > p.trace_index(max_depth));
            }
        }
    }
}
