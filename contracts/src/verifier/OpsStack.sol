// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";

/// @title  OpsStack
/// @notice The stack and control families (docs/spec/step-machine.md §5.2): POP, PUSH0–PUSH32
///         (immediate bytes from the fetched chunk(s), zero past the code's end), DUP1–16,
///         SWAP1–16; JUMP and JUMPI (a taken jump's target proven a JUMPDEST by its chunk,
///         §2.2, else an exceptional halt), PC, GAS (after its own 2 gas), JUMPDEST.
library OpsStack {
    /// @notice Runs a stack opcode on `s`.
    function stack(Step memory s) internal pure {
        uint256 op = s.opcode;
        if (op == 0x50) return; // POP
        if (op == 0x5f) return LibStep.push(s, 0);
        if (op >= 0x60 && op <= 0x7f) {
            uint256 n = op - 0x5f;
            uint256 start = s.pc + 1;
            s.nextPc = start + n;
            return LibStep.push(s, immediate(s, start, n));
        }
        if (op >= 0x80 && op <= 0x8f) {
            // DUPn: the n items come back (the stack hash before the pops), then a copy of the
            // deepest of them.
            s.stackSize += s.inputs;
            s.stackHash = bytes32(LibStep.get(s.frame, LibStep.F_STACK_HASH, 32));
            return LibStep.push(s, LibStep.arg(s, s.inputs - 1));
        }
        // SWAPn: the (n+1)-th and the top exchange places.
        uint256 last = s.inputs - 1;
        LibStep.push(s, LibStep.arg(s, 0));
        for (uint256 k = 1; k < last; ++k) {
            LibStep.push(s, LibStep.word(s.operands + 32 * k));
        }
        LibStep.push(s, LibStep.arg(s, last));
    }

    /// @notice The `n` code bytes from `start` as a big-endian number, bytes at or past the
    ///         code size zero (§5.1): read as two words from the chunk holding `start` and,
    ///         when the bytes cross into it below the code size, the next chunk — the chunks the
    ///         executor reads, byte by byte.
    function immediate(Step memory s, uint256 start, uint256 n) internal pure returns (uint256) {
        uint256 size = LibStep.get(s.frame, LibStep.F_CODE_SIZE, 4);
        if (start >= size) return 0;
        uint256 index = start / 32;
        uint256 offset = start % 32;
        uint256 value = LibStep.word(LibStep.chunk(s, index) + 5) << (8 * offset);
        uint256 next = (index + 1) * 32;
        if (offset + n > 32 && next < size) {
            value |= LibStep.word(LibStep.chunk(s, index + 1) + 5) >> (256 - 8 * offset);
        }
        value >>= 256 - 8 * n;
        uint256 real = size - start; // bytes below the code size
        if (real < n) value &= ~((uint256(1) << (8 * (n - real))) - 1);
        return value;
    }

    /// @notice Runs a control opcode on `s`.
    function control(Step memory s) internal pure {
        uint256 op = s.opcode;
        if (op == 0x56 || op == 0x57) {
            if (op == 0x57 && LibStep.arg(s, 1) == 0) return;
            uint256 target = LibStep.arg(s, 0);
            if (target > type(uint64).max || !LibStep.isJumpdest(s, target)) {
                s.halted = true;
                return;
            }
            s.nextPc = target;
            return;
        }
        if (op == 0x58) return LibStep.push(s, s.pc);
        if (op == 0x5a) return LibStep.push(s, s.gas);
        // JUMPDEST
    }
}
