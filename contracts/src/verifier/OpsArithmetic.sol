// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";

/// @title  OpsArithmetic
/// @notice Arithmetic, comparison and bitwise opcodes, 0x01–0x0b and 0x10–0x1d
///         (docs/spec/step-machine.md §5.2): pure functions of the popped operands, no witness
///         beyond fetch and stack. EXP charges `50 · bytes(exponent)` gas (§5.1 step 4).
/// @dev    Computed with the EVM's own instructions, so the differential harness compares the
///         Rust executor's arithmetic (`refute_engine::machine::pure`) against the EVM's.
library OpsArithmetic {
    /// @notice Runs a pure opcode on `s` (stack verified, static gas charged): pushes the result.
    function run(Step memory s) internal pure {
        uint256 op = s.opcode;
        uint256 a = LibStep.arg(s, 0);
        uint256 b = s.inputs > 1 ? LibStep.arg(s, 1) : 0;
        uint256 c = s.inputs > 2 ? LibStep.arg(s, 2) : 0;
        if (op == 0x0a) {
            uint256 bytes_ = 0;
            for (uint256 e = b; e != 0; e >>= 8) {
                ++bytes_;
            }
            if (!LibStep.charge(s, 50 * bytes_)) return;
        }
        LibStep.push(s, compute(op, a, b, c));
    }

    /// @notice The value opcode `op` pushes for operands `a` (top), `b`, `c`.
    function compute(uint256 op, uint256 a, uint256 b, uint256 c)
        internal
        pure
        returns (uint256 r)
    {
        assembly ("memory-safe") {
            switch op
            case 0x01 { r := add(a, b) }
            case 0x02 { r := mul(a, b) }
            case 0x03 { r := sub(a, b) }
            case 0x04 { r := div(a, b) }
            case 0x05 { r := sdiv(a, b) }
            case 0x06 { r := mod(a, b) }
            case 0x07 { r := smod(a, b) }
            case 0x08 { r := addmod(a, b, c) }
            case 0x09 { r := mulmod(a, b, c) }
            case 0x0a { r := exp(a, b) }
            case 0x0b { r := signextend(a, b) }
            case 0x10 { r := lt(a, b) }
            case 0x11 { r := gt(a, b) }
            case 0x12 { r := slt(a, b) }
            case 0x13 { r := sgt(a, b) }
            case 0x14 { r := eq(a, b) }
            case 0x15 { r := iszero(a) }
            case 0x16 { r := and(a, b) }
            case 0x17 { r := or(a, b) }
            case 0x18 { r := xor(a, b) }
            case 0x19 { r := not(a) }
            case 0x1a { r := byte(a, b) }
            case 0x1b { r := shl(a, b) }
            case 0x1c { r := shr(a, b) }
            case 0x1d { r := sar(a, b) }
        }
    }
}
