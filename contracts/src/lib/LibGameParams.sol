// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GameParams} from "./Types.sol";
import {LibPosition} from "./LibPosition.sol";
import {InvalidParams} from "./Errors.sol";

/// @notice The rules of a game's parameters (docs/spec/game.md §1, §4.4): validation and bonds.
///         Mirrors `refute_engine::game::GameParams::{validate, bond}`.
library LibGameParams {
    /// @notice Basis points in one (10_000 = 1x).
    uint256 internal constant BPS = 10_000;

    /// @notice Reverts `InvalidParams` naming the broken invariant of §1.1: `1 <= splitDepth <
    ///         maxDepth < 126`; every extension below the maximum clock duration;
    ///         `bondGrowthBps` in `10_000..=100_000`; every bond up to `maxDepth` below 2^128.
    function validate(GameParams memory p) internal pure {
        if (p.splitDepth == 0 || p.splitDepth >= p.maxDepth) {
            revert InvalidParams("need 1 <= split_depth < max_depth");
        }
        if (p.maxDepth >= LibPosition.MAX_DEPTH) revert InvalidParams("need max_depth < 126");
        uint64 max = p.maxClockDuration;
        // L1 only: the game stores durations in 32 bits (136 years).
        if (max > type(uint32).max) {
            revert InvalidParams("max_clock_duration must fit 32 bits on L1");
        }
        if (p.clockExtension >= max || p.splitClockExtension >= max || p.stepClockExtension >= max)
        {
            revert InvalidParams("every clock extension must be below the maximum clock duration");
        }
        if (p.bondGrowthBps < 10_000 || p.bondGrowthBps > 100_000) {
            revert InvalidParams("need 10_000 <= bond_growth_bps <= 100_000");
        }
        if (!_fits(p.baseBond, p.bondGrowthBps, p.maxDepth)) {
            revert InvalidParams("the bond at max_depth overflows 128 bits");
        }
    }

    /// @notice The bond of a claim at `depth`, in wei (§4.4): `b(0) = baseBond`,
    ///         `b(d + 1) = floor(b(d) * bondGrowthBps / 10_000)`, each product exact. Reverts
    ///         `InvalidParams` past `maxDepth` (a step posts no bond).
    function bond(GameParams memory p, uint8 depth) internal pure returns (uint256) {
        if (depth > p.maxDepth) revert InvalidParams("no bond past max_depth");
        return bondAt(p.baseBond, p.bondGrowthBps, depth);
    }

    /// @notice `bond` without the depth check, for validated parameters: every product fits
    ///         128 bits, so 256-bit arithmetic is exact.
    function bondAt(uint256 baseBond, uint256 growthBps, uint8 depth)
        internal
        pure
        returns (uint256 b)
    {
        b = baseBond;
        unchecked {
            for (uint256 d = 0; d < depth; ++d) {
                b = b * growthBps / BPS;
            }
        }
    }

    function _fits(uint256 baseBond, uint256 growthBps, uint8 maxDepth)
        private
        pure
        returns (bool)
    {
        uint256 b = baseBond;
        for (uint256 d = 0; d < maxDepth; ++d) {
            uint256 product = b * growthBps; // < 2^128 * 2^17: no 256-bit overflow
            if (product >> 128 != 0) return false;
            b = product / BPS;
        }
        return true;
    }
}
