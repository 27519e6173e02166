// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {LibPosition, Position} from "../src/lib/LibPosition.sol";
import {PositionLens} from "../src/PositionLens.sol";

contract LibPositionTest is TestBase {
    PositionLens internal lens;

    function setUp() public {
        lens = new PositionLens();
    }

    /// Known values from the game's definition: root 1; attack 2p; defend 2(p+1).
    function test_knownPositions() public pure {
        Position root = LibPosition.wrap(0, 0);
        assertEq(Position.unwrap(root), 1, "root");
        assertEq(Position.unwrap(LibPosition.attack(root)), 2, "attack root");
        Position p = LibPosition.wrap(2, 1); // 5
        assertEq(Position.unwrap(p), 5, "wrap(2,1)");
        assertEq(Position.unwrap(LibPosition.attack(p)), 10, "attack 5");
        assertEq(Position.unwrap(LibPosition.defend(p)), 12, "defend 5");
        assertEq(Position.unwrap(LibPosition.parent(p)), 2, "parent 5");
        // Max depth 4: the root commits to the last trace index (15), position 5 to leaf 23 - 16.
        assertEq(LibPosition.traceIndex(root, 4), 15, "trace index of root");
        assertEq(LibPosition.traceIndex(p, 4), 7, "trace index of 5");
    }

    function test_defendRightMostReverts() public {
        vm.expectRevert(abi.encodeWithSelector(LibPosition.InvalidPosition.selector, 0, 0));
        lens.moves(1);
    }

    function test_wrapRejectsIndexOutsideDepth() public {
        vm.expectRevert(abi.encodeWithSelector(LibPosition.InvalidPosition.selector, 3, 8));
        lens.wrap(3, 8);
    }

    /// wrap and (depth, indexAtDepth) round-trip for every valid pair.
    function testFuzz_wrapRoundTrip(uint8 depth, uint128 index) public pure {
        depth = uint8(bound(depth, 0, LibPosition.MAX_DEPTH));
        index = depth == 0 ? 0 : uint128(bound(index, 0, (uint256(1) << depth) - 1));
        Position p = LibPosition.wrap(depth, index);
        assertEq(LibPosition.depth(p), depth, "depth");
        assertEq(LibPosition.indexAtDepth(p), index, "indexAtDepth");
    }

    /// Moves go one level down, and their parents are where they came from.
    function testFuzz_movesAreChildren(uint8 depth, uint128 index) public pure {
        depth = uint8(bound(depth, 1, LibPosition.MAX_DEPTH - 1));
        index = uint128(bound(index, 0, (uint256(1) << depth) - 2)); // not the right-most
        Position p = LibPosition.wrap(depth, index);
        Position a = LibPosition.attack(p);
        Position d = LibPosition.defend(p);
        assertEq(LibPosition.depth(a), depth + 1, "attack depth");
        assertEq(LibPosition.depth(d), depth + 1, "defend depth");
        assertEq(Position.unwrap(LibPosition.parent(a)), Position.unwrap(p), "attack parent");
        assertEq(Position.unwrap(LibPosition.parent(d)), Position.unwrap(p) + 1, "defend parent");
        // An attack commits before p's trace index, a defence after it.
        uint8 maxDepth = LibPosition.MAX_DEPTH;
        assertTrue(
            LibPosition.traceIndex(a, maxDepth) < LibPosition.traceIndex(p, maxDepth), "attack"
        );
        assertTrue(
            LibPosition.traceIndex(d, maxDepth) > LibPosition.traceIndex(p, maxDepth), "defend"
        );
    }
}
