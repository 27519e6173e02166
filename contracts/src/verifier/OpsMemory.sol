// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";

/// @title  OpsMemory
/// @notice The memory family (docs/spec/step-machine.md §5.2): MLOAD, MSTORE, MSTORE8 (the one
///         or two words touched, with word-tree proofs; a write's second proof against the
///         root after the first), MSIZE. Expansion is charged first (§5.1: `3·a + a²/512` on
///         the new size in words), an offset past 2^32 − 1 or a range past 2^22 words halting.
library OpsMemory {
    /// @notice Runs a memory opcode on `s`.
    function run(Step memory s) internal pure {
        uint256 op = s.opcode;
        if (op == 0x59) return LibStep.push(s, s.memLen * 32);
        uint256 offset = LibStep.arg(s, 0);
        if (op == 0x51) {
            if (!LibStep.expand(s, offset, 32)) return;
            return LibStep.push(s, LibStep.memoryAccess(s, offset, 32, false, 0));
        }
        if (op == 0x52) {
            if (!LibStep.expand(s, offset, 32)) return;
            LibStep.memoryAccess(s, offset, 32, true, LibStep.arg(s, 1));
            return;
        }
        // MSTORE8: the operand's lowest byte.
        if (!LibStep.expand(s, offset, 1)) return;
        LibStep.memoryAccess(s, offset, 1, true, LibStep.arg(s, 1) << 248);
    }
}
