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
        // Leaves: each chunk with its push-data prefix. `p` is the prefix of chunk `j`; scanning
        // chunk `j`'s instructions from `p` gives the next chunk's (at most 32: a PUSH32 at
        // the chunk's last byte). A chunk without a PUSH byte (0x60–0x7f) anywhere is skipped
        // in one test (the zero-byte test of `(w & 0xe0…) ^ 0x60…`).
        assembly ("memory-safe") {
            let high := 0xe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0
            let pushes := 0x6060606060606060606060606060606060606060606060606060606060606060
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let tops := 0x8080808080808080808080808080808080808080808080808080808080808080
            let p := 0
            for { let j := 0 } lt(j, chunks) { j := add(j, 1) } {
                let start := shl(5, j)
                let w := calldataload(add(at, start))
                let rest := sub(len, start)
                if lt(rest, 32) { w := and(w, not(sub(shl(sub(256, shl(3, rest)), 1), 1))) }
                mstore(0x00, w)
                mstore8(0x20, p)
                mstore(add(buf, shl(5, j)), keccak256(0x00, 33))
                // The next chunk's prefix (not needed after the last chunk).
                let t := xor(and(w, high), pushes)
                switch and(and(sub(t, ones), not(t)), tops)
                case 0 { p := 0 }
                default {
                    let i := p
                    for {} lt(i, 32) {} {
                        // 1, plus the immediate's length for PUSH1–PUSH32 (branchless).
                        let op := byte(i, w)
                        i := add(add(i, 1), mul(eq(and(op, 0xe0), 0x60), sub(op, 0x5f)))
                    }
                    p := sub(i, 32)
                }
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
