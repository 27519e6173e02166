// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  LibCode
/// @notice Code trees (docs/spec/step-machine.md §2.2) built on L1 from a whole code: the depth-12
///         Merkle tree of the code's 32-byte chunks (zero past the end), leaf `H(chunk ‖
///         u8(p_j))` with `p_j` the chunk's leading bytes of PUSH data begun in an earlier chunk,
///         zero leaf `H(0^32 ‖ 0x00)`. Rule for rule `refute_engine::machine::CodeTree::new`
///         (engine/src/machine/code.rs). EXTCODECOPY's opening step computes its source root so.
/// @dev    Cost: one pass over the instructions (PUSH data skipped) and about two hashes a chunk.
library LibCode {
    /// @notice The code is longer than a code tree holds (2^12 chunks, 131,072 bytes).
    error CodeTooLarge();

    uint256 internal constant DEPTH = 12;
    uint256 internal constant MAX_SIZE = 32 << DEPTH;

    /// @notice The code-tree root of the `len` bytes of calldata at `at`.
    function root(uint256 at, uint256 len) internal pure returns (bytes32) {
        if (len > MAX_SIZE) revert CodeTooLarge();
        uint256 chunks = (len + 31) / 32;
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(0x40, add(buf, shl(5, add(chunks, 1))))
        }
        // Leaves: each chunk with its push-data prefix.
        uint256 next; // the start of the next instruction
        for (uint256 j = 0; j < chunks; ++j) {
            uint256 start = 32 * j;
            while (next < start) {
                uint256 op;
                assembly ("memory-safe") {
                    op := byte(0, calldataload(add(at, next)))
                }
                next += (op >= 0x60 && op <= 0x7f) ? op - 0x5e : 1;
            }
            uint256 p = next - start;
            if (p > 32) p = 32;
            uint256 rest = len - start; // bytes of this chunk below the end
            assembly ("memory-safe") {
                let chunk := calldataload(add(at, start))
                if lt(rest, 32) {
                    chunk := and(chunk, not(sub(shl(sub(256, shl(3, rest)), 1), 1)))
                }
                mstore(0x00, chunk)
                mstore8(0x20, p)
                mstore(add(buf, shl(5, j)), keccak256(0x00, 33))
            }
        }
        // Levels: pairs hashed up, an odd node's sibling the zero subtree of its height.
        bytes32 zero;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            mstore8(0x20, 0)
            zero := keccak256(0x00, 33)
        }
        uint256 n = chunks;
        for (uint256 h = 0; h < DEPTH; ++h) {
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, n) { i := add(i, 2) } {
                    mstore(0x00, mload(add(buf, shl(5, i))))
                    switch lt(add(i, 1), n)
                    case 1 { mstore(0x20, mload(add(buf, shl(5, add(i, 1))))) }
                    default { mstore(0x20, zero) }
                    mstore(add(buf, shl(4, i)), keccak256(0x00, 0x40))
                }
                n := shr(1, add(n, 1))
                mstore(0x00, zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
        }
        if (n == 0) return zero;
        bytes32 r;
        assembly ("memory-safe") {
            r := mload(buf)
        }
        return r;
    }
}
