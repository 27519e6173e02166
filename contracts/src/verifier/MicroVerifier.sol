// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Step} from "./LibStep.sol";
import {LibOpcodes} from "./LibOpcodes.sol";
import {StepCore} from "./StepCore.sol";

/// @title  MicroVerifier
/// @notice The micro-stepped opcodes of the one-step verifier (docs/spec/step-machine.md
///         §5.5): their opening steps and their micro-steps, as a complete verifier of these
///         steps: `StepVerifier` forwards them here unchanged and this contract verifies the
///         whole witness from `pre` again. Steps of other families revert with `Unsupported`.
contract MicroVerifier is StepCore {
    /// @inheritdoc StepCore
    function _family(Step memory s, uint256) internal pure override returns (bytes32) {
        revert Unsupported(0, uint8(s.opcode));
    }
}
