// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A claim's place in the dispute game tree, as a generalized index:
///         `2^depth + indexAtDepth`, with the root at `1`.
/// @dev    Mirrors `refute_engine::game::Position` bit for bit (see docs/spec/game.md).
///         Fits depths up to 126, so `Position` always fits in 128 bits.
type Position is uint128;

/// @notice Position arithmetic of the bisection game.
/// @dev    Attack on `p` moves to `2p` (the left child: the disputed half is the left one);
///         defend on `p` moves to `2(p + 1)` (the left child of the right sibling: the
///         claim at `p` is agreed, the dispute lies to its right).
library LibPosition {
    /// @notice The deepest depth a position may have.
    uint8 internal constant MAX_DEPTH = 126;

    /// @notice `indexAtDepth` does not fit in `depth` bits, or `depth` exceeds `MAX_DEPTH`.
    error InvalidPosition(uint8 depth, uint128 indexAtDepth);

    /// @notice The position at depth `depth_` and index `index_` (0-based from the left).
    function wrap(uint8 depth_, uint128 index_) internal pure returns (Position) {
        if (depth_ > MAX_DEPTH || index_ >> depth_ != 0) {
            revert InvalidPosition(depth_, index_);
        }
        return Position.wrap((uint128(1) << depth_) | index_);
    }

    /// @notice The depth of `p`: the index of its most significant set bit.
    function depth(Position p) internal pure returns (uint8 depth_) {
        uint256 x = Position.unwrap(p);
        // Binary search for the most significant bit; x > 0 for every valid position.
        if (x >> 64 != 0) {
            x >>= 64;
            depth_ += 64;
        }
        if (x >> 32 != 0) {
            x >>= 32;
            depth_ += 32;
        }
        if (x >> 16 != 0) {
            x >>= 16;
            depth_ += 16;
        }
        if (x >> 8 != 0) {
            x >>= 8;
            depth_ += 8;
        }
        if (x >> 4 != 0) {
            x >>= 4;
            depth_ += 4;
        }
        if (x >> 2 != 0) {
            x >>= 2;
            depth_ += 2;
        }
        if (x >> 1 != 0) depth_ += 1;
    }

    /// @notice The 0-based index of `p` among the positions at its depth.
    function indexAtDepth(Position p) internal pure returns (uint128) {
        return Position.unwrap(p) ^ (uint128(1) << depth(p));
    }

    /// @notice The parent of `p` (the claim `p` responds to). The root's parent is 0.
    function parent(Position p) internal pure returns (Position) {
        return Position.wrap(Position.unwrap(p) >> 1);
    }

    /// @notice The position of an attack on `p`: `2p`.
    function attack(Position p) internal pure returns (Position) {
        return Position.wrap(Position.unwrap(p) << 1);
    }

    /// @notice The position of a defence of `p`: `2(p + 1)`.
    /// @dev    The right-most position at a depth (all ones: the root, or a position no move
    ///         can reach) commits to the last trace index and has no right sibling to defend
    ///         into; it reverts with `InvalidPosition`.
    function defend(Position p) internal pure returns (Position) {
        uint128 x = Position.unwrap(p);
        if (x & (x + 1) == 0) revert InvalidPosition(depth(p), indexAtDepth(p));
        return Position.wrap((x + 1) << 1);
    }

    /// @notice The deepest, right-most position under `p` at `maxDepth`.
    /// @dev    A claim at `p` commits to the state at this leaf's trace index.
    function rightIndex(Position p, uint8 maxDepth) internal pure returns (Position) {
        uint8 remaining = maxDepth - depth(p);
        return Position.wrap((Position.unwrap(p) << remaining) | ((uint128(1) << remaining) - 1));
    }

    /// @notice The trace index that a claim at `p` commits to, in a tree of `maxDepth`.
    function traceIndex(Position p, uint8 maxDepth) internal pure returns (uint128) {
        return indexAtDepth(rightIndex(p, maxDepth));
    }
}
