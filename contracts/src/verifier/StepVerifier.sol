// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Step} from "./LibStep.sol";
import {LibOpcodes} from "./LibOpcodes.sol";
import {StepCore} from "./StepCore.sol";
import {OpsArithmetic} from "./OpsArithmetic.sol";
import {OpsStack} from "./OpsStack.sol";
import {OpsMemory} from "./OpsMemory.sol";
import {OpsEnvironment} from "./OpsEnvironment.sol";

/// @title  StepVerifier
/// @notice The EVM one-step verifier (docs/spec/step-machine.md): `post = step(pre, witness)`
///         for the steps of the step machine, with the witness encoded as
///         docs/spec/verifier-abi.md. Rule for rule the Rust executor
///         `refute_engine::machine::execute` (engine/src/machine/execute.rs); the differential
///         harness (tests/it/verifier.rs) compares the two on engine-made witnesses.
///
///         Implemented: the final-state rule (a final state steps to itself, §1); every opcode
///         step's fetch (§5.1, code-tree proofs §2.2), stack check, static check (EIP-214) and
///         static gas, with every exceptional halt they decide (§5.4: the pre-step frame with
///         gas 0 and a pending failed frame exit); here the families arithmetic, comparison,
///         bitwise, stack, control, memory, the frame's environment, CALLDATALOAD, the
///         transaction and block contexts, STOP and invalid opcodes; in `WorldVerifier` the
///         world (accounts, storage, transient storage); in `MicroVerifier` the micro-stepped
///         opcodes. Everything else — frame boundaries, transaction begin and end — reverts
///         with `Unsupported`.
/// @dev    The entry point: the game calls this contract, which forwards the world and
///         micro-step families to the contracts given at construction (see `StepCore`).
contract StepVerifier is StepCore {
    /// @notice Runs the world family (`WorldVerifier`).
    address public immutable world;
    /// @notice Runs the micro-stepped opcodes and their micro-steps (`MicroVerifier`).
    address public immutable micro;

    /// @param world_ The `WorldVerifier` this verifier forwards world steps to.
    /// @param micro_ The `MicroVerifier` this verifier forwards micro-stepped opcodes and
    ///               micro-steps to.
    constructor(address world_, address micro_) {
        world = world_;
        micro = micro_;
    }

    /// @notice The facts of opcode `op` in the verifier's table: items popped, items pushed,
    ///         static gas, family (`LibOpcodes`' constants). Tested against the engine's table.
    function opcodeInfo(uint8 op)
        external
        pure
        returns (uint256 inputs, uint256 outputs, uint256 gas, uint256 family)
    {
        return LibOpcodes.info(op);
    }

    /// @inheritdoc StepCore
    function _family(Step memory s, uint256 family) internal view override returns (bytes32) {
        if (family == LibOpcodes.PURE) OpsArithmetic.run(s);
        else if (family == LibOpcodes.STACK) OpsStack.stack(s);
        else if (family == LibOpcodes.CONTROL) OpsStack.control(s);
        else if (family == LibOpcodes.MEMORY) OpsMemory.run(s);
        else if (family == LibOpcodes.FRAME) OpsEnvironment.frame(s);
        else if (family == LibOpcodes.CONTEXT) OpsEnvironment.context(s);
        else if (family == LibOpcodes.WORLD) return _forward(world);
        else if (family == LibOpcodes.MICRO) return _forward(micro);
        else revert Unsupported(0, uint8(s.opcode));
        return bytes32(0);
    }

    /// @inheritdoc StepCore
    function _pending(Step memory, uint256 kind) internal view override returns (bytes32) {
        if (kind >= 1 && kind <= 3) return _forward(micro);
        revert Unsupported(uint8(kind), 0);
    }
}
