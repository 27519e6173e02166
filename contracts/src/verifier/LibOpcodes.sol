// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  LibOpcodes
/// @notice The Cancun opcode table of the step machine (docs/spec/step-machine.md §5.1, §5.2):
///         stack arity, static gas and the family that executes each opcode. The same table as
///         `refute_engine::machine::OPCODES` (engine/src/machine/opcode.rs).
library LibOpcodes {
    /// @notice Undefined bytes and INVALID (0xFE): an exceptional halt.
    uint256 internal constant INVALID = 0;
    /// @notice Arithmetic, comparison, bitwise: pure functions of the operands.
    uint256 internal constant PURE = 1;
    /// @notice POP, PUSH0–PUSH32, DUP1–16, SWAP1–16.
    uint256 internal constant STACK = 2;
    /// @notice JUMP, JUMPI, PC, GAS, JUMPDEST.
    uint256 internal constant CONTROL = 3;
    /// @notice MLOAD, MSTORE, MSTORE8, MSIZE.
    uint256 internal constant MEMORY = 4;
    /// @notice ADDRESS, CALLER, CALLVALUE, CALLDATALOAD, CALLDATASIZE, CODESIZE, RETURNDATASIZE.
    uint256 internal constant FRAME = 5;
    /// @notice ORIGIN, GASPRICE, BLOCKHASH, COINBASE … BLOBBASEFEE (§4.4).
    uint256 internal constant CONTEXT = 6;
    /// @notice STOP.
    uint256 internal constant EXIT = 7;
    /// @notice BALANCE, SELFBALANCE, EXTCODESIZE, EXTCODEHASH, SLOAD, SSTORE, TLOAD, TSTORE.
    uint256 internal constant WORLD = 8;
    /// @notice CALL family, CREATE, CREATE2, RETURN, REVERT, SELFDESTRUCT (§6).
    uint256 internal constant BOUNDARY = 9;
    /// @notice KECCAK256, the copies, LOG0–LOG4 (§5.5).
    uint256 internal constant MICRO = 10;

    /// @notice The facts of `op`: items popped, items pushed, static gas, family.
    function info(uint256 op)
        internal
        pure
        returns (uint256 inputs, uint256 outputs, uint256 gas, uint256 family)
    {
        if (op == 0x00) return (0, 0, 0, EXIT);
        if (op <= 0x0b) {
            if (op == 0x08 || op == 0x09) return (3, 1, 8, PURE);
            if (op == 0x0a) return (2, 1, 10, PURE);
            if (op == 0x01 || op == 0x03) return (2, 1, 3, PURE);
            return (2, 1, 5, PURE);
        }
        if (op >= 0x10 && op <= 0x1d) return (op == 0x15 || op == 0x19 ? 1 : 2, 1, 3, PURE);
        if (op == 0x20) return (2, 1, 30, MICRO);
        if (op >= 0x30 && op <= 0x3f) {
            if (op == 0x31 || op == 0x3b || op == 0x3f) return (1, 1, 0, WORLD);
            if (op == 0x32 || op == 0x3a) return (0, 1, 2, CONTEXT);
            if (op == 0x35) return (1, 1, 3, FRAME);
            if (op == 0x37 || op == 0x39 || op == 0x3e) return (3, 0, 3, MICRO);
            if (op == 0x3c) return (4, 0, 0, MICRO);
            return (0, 1, 2, FRAME); // ADDRESS CALLER CALLVALUE CALLDATASIZE CODESIZE RETURNDATASIZE
        }
        if (op >= 0x40 && op <= 0x4a) {
            if (op == 0x40) return (1, 1, 20, CONTEXT);
            if (op == 0x47) return (0, 1, 5, WORLD);
            if (op == 0x49) return (1, 1, 3, CONTEXT);
            return (0, 1, 2, CONTEXT);
        }
        if (op >= 0x50 && op <= 0x5f) {
            if (op == 0x50) return (1, 0, 2, STACK);
            if (op == 0x51) return (1, 1, 3, MEMORY);
            if (op == 0x52 || op == 0x53) return (2, 0, 3, MEMORY);
            if (op == 0x54) return (1, 1, 0, WORLD);
            if (op == 0x55) return (2, 0, 0, WORLD);
            if (op == 0x56) return (1, 0, 8, CONTROL);
            if (op == 0x57) return (2, 0, 10, CONTROL);
            if (op == 0x58 || op == 0x5a) return (0, 1, 2, CONTROL);
            if (op == 0x59) return (0, 1, 2, MEMORY);
            if (op == 0x5b) return (0, 0, 1, CONTROL);
            if (op == 0x5c) return (1, 1, 100, WORLD);
            if (op == 0x5d) return (2, 0, 100, WORLD);
            if (op == 0x5e) return (3, 0, 3, MICRO);
            return (0, 1, 2, STACK); // PUSH0
        }
        if (op >= 0x60 && op <= 0x7f) return (0, 1, 3, STACK);
        if (op >= 0x80 && op <= 0x8f) return (op - 0x7f, op - 0x7e, 3, STACK);
        if (op >= 0x90 && op <= 0x9f) return (op - 0x8e, op - 0x8e, 3, STACK);
        if (op >= 0xa0 && op <= 0xa4) return (op - 0x9e, 0, 375, MICRO);
        if (op == 0xf0) return (3, 1, 32_000, BOUNDARY);
        if (op == 0xf1 || op == 0xf2) return (7, 1, 100, BOUNDARY);
        if (op == 0xf3 || op == 0xfd) return (2, 0, 0, BOUNDARY);
        if (op == 0xf4 || op == 0xfa) return (6, 1, 100, BOUNDARY);
        if (op == 0xf5) return (4, 1, 32_000, BOUNDARY);
        if (op == 0xff) return (1, 0, 5000, BOUNDARY);
        return (0, 0, 0, INVALID);
    }

    /// @notice Whether `op` writes state, which a static frame forbids (EIP-214); CALL only
    ///         with a non-zero `value` (its third operand).
    function writesState(uint256 op, uint256 callValue) internal pure returns (bool) {
        if (op == 0x55 || op == 0x5d || (op >= 0xa0 && op <= 0xa4)) return true;
        if (op == 0xf0 || op == 0xf5 || op == 0xff) return true;
        return op == 0xf1 && callValue != 0;
    }
}
