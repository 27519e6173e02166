// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Step} from "./LibStep.sol";
import {LibOpcodes} from "./LibOpcodes.sol";
import {StepCore} from "./StepCore.sol";
import {OpsWorld} from "./OpsWorld.sol";

/// @title  WorldVerifier
/// @notice The world family of the one-step verifier (docs/spec/step-machine.md §5.2, §5.3):
///         BALANCE, SELFBALANCE, EXTCODESIZE, EXTCODEHASH, SLOAD, SSTORE, TLOAD, TSTORE
///         and EXTCODECOPY's opening step (`OpsWorld`; its micro-steps are `MicroVerifier`'s),
///         as a complete verifier of these steps: `StepVerifier` forwards them
///         here unchanged and this contract verifies the whole witness from `pre` again.
///         Steps of other families revert with `Unsupported`.
contract WorldVerifier is StepCore {
    /// @inheritdoc StepCore
    function _family(Step memory s, uint256 family) internal pure override returns (bytes32) {
        if (s.opcode == 0x3c) OpsWorld.extCodeCopy(s);
        else if (family == LibOpcodes.WORLD) OpsWorld.run(s);
        else revert Unsupported(0, uint8(s.opcode));
        return bytes32(0);
    }
}
