// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";
import {LibOpcodes} from "./LibOpcodes.sol";
import {StepCore} from "./StepCore.sol";
import {OpsMicro} from "./OpsMicro.sol";

/// @title  MicroVerifier
/// @notice The micro-stepped opcodes of the one-step verifier (docs/spec/step-machine.md
///         §5.5): the opening steps of KECCAK256, LOG0–LOG4, CALLDATACOPY, CODECOPY,
///         RETURNDATACOPY and MCOPY, and the sponge and copy micro-steps (`OpsMicro`), as a
///         complete verifier of these steps: `StepVerifier` forwards them here unchanged and
///         this contract verifies the whole witness from `pre` again. EXTCODECOPY's opening
///         step is `WorldVerifier`'s (it reads the world); here, it and steps of other families
///         revert with `Unsupported`.
contract MicroVerifier is StepCore {
    /// @inheritdoc StepCore
    function _family(Step memory s, uint256 family) internal pure override returns (bytes32) {
        if (family != LibOpcodes.MICRO || s.opcode == 0x3c) {
            revert Unsupported(0, uint8(s.opcode));
        }
        OpsMicro.open(s);
        return bytes32(0);
    }

    /// @inheritdoc StepCore
    function _pending(Step memory s, uint256 kind) internal pure override returns (bytes32) {
        if (kind < 1 || kind > 3) revert Unsupported(uint8(kind), 0);
        OpsMicro.step(s, kind);
        if (s.halted || s.nextPc > type(uint32).max) return _halt(s);
        return LibStep.post(s, bytes32(0));
    }
}
