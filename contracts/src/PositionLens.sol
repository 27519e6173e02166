// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibPosition, Position} from "./lib/LibPosition.sol";

/// @title  PositionLens
/// @notice Read-only view of the game's position arithmetic, so that off-chain tools (and the
///         Rust differential tests) ask the L1 code itself how it reads a position.
/// @dev    Stateless; every function is `pure`. Reverts with `LibPosition.InvalidPosition`
///         on a position that cannot exist.
contract PositionLens {
    /// @notice The generalized index of the position at `depth`, `indexAtDepth`.
    function wrap(uint8 depth, uint128 indexAtDepth) external pure returns (uint128) {
        return Position.unwrap(LibPosition.wrap(depth, indexAtDepth));
    }

    /// @notice Depth and index at depth of `position`.
    function unwrap(uint128 position) external pure returns (uint8 depth, uint128 indexAtDepth) {
        Position p = _checked(position);
        return (LibPosition.depth(p), LibPosition.indexAtDepth(p));
    }

    /// @notice The positions of an attack on and a defence of `position`.
    function moves(uint128 position) external pure returns (uint128 attack, uint128 defend) {
        Position p = _checked(position);
        if (LibPosition.depth(p) >= LibPosition.MAX_DEPTH) {
            revert LibPosition.InvalidPosition(LibPosition.depth(p), LibPosition.indexAtDepth(p));
        }
        return (Position.unwrap(LibPosition.attack(p)), Position.unwrap(LibPosition.defend(p)));
    }

    /// @notice The trace index that a claim at `position` commits to, in a tree of `maxDepth`.
    function traceIndex(uint128 position, uint8 maxDepth) external pure returns (uint128) {
        Position p = _checked(position);
        if (LibPosition.depth(p) > maxDepth || maxDepth > LibPosition.MAX_DEPTH) {
            revert LibPosition.InvalidPosition(LibPosition.depth(p), LibPosition.indexAtDepth(p));
        }
        return LibPosition.traceIndex(p, maxDepth);
    }

    function _checked(uint128 position) private pure returns (Position p) {
        p = Position.wrap(position);
        if (position == 0 || LibPosition.depth(p) > LibPosition.MAX_DEPTH) {
            revert LibPosition.InvalidPosition(0, position);
        }
    }
}
