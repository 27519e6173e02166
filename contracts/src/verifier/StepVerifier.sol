// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";
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

    /// @notice Forwards a step of the world or micro-step families at once, before verifying
    ///         anything, by the opcode its witness claims (see `_route`); runs every other
    ///         step here.
    function step(bytes32 pre, bytes calldata witness) public view override returns (bytes32) {
        uint256 w;
        assembly ("memory-safe") {
            w := witness.offset
        }
        address to = _route(w, witness.length);
        if (to != address(0)) return _forward(to);
        return super.step(pre, witness);
    }

    /// @notice The contract that runs the step `witness` claims to be, by its unverified bytes:
    ///         `micro` for a running state with a keccak, copy or log pending, `world` (and
    ///         EXTCODECOPY, which reads the world) or `micro` for an opcode step whose claimed opcode (the byte at the frame's `pc` in
    ///         the first code chunk of that index) is of their families; zero (run here) for
    ///         everything else and for bytes too short to tell.
    /// @dev    Routing needs no verification: every contract verifies the whole witness
    ///         against `pre` itself, and an honest witness's bytes are its verified ones, so
    ///         an honest step always reaches the contract that runs it. A forged one reaching
    ///         the wrong contract is rejected there (`Unsupported` or a verification error).
    function _route(uint256 w, uint256 n) private view returns (address) {
        if (n < LibStep.FIXED_LEN + 4 * LibStep.SECTIONS) return address(0);
        uint256 head = LibStep.word(w);
        // version ‖ fork ‖ status ‖ pending_kind
        if ((head >> 232) & 0xff != 0) return address(0); // status: final
        uint256 pending = (head >> 224) & 0xff;
        if (pending >= 1 && pending <= 3) return micro;
        if (pending != 0) return address(0);
        uint256 frame = w + 1 + LibStep.HEADER_LEN;
        uint256 pc = LibStep.word(frame + LibStep.F_PC) >> 224;
        if (pc >= LibStep.word(frame + LibStep.F_CODE_SIZE) >> 224) return address(0);
        uint256 at = w + LibStep.FIXED_LEN;
        uint256 end = at + 4 + (LibStep.word(at) >> 224);
        if (end > w + n) return address(0);
        for (at += 4; at + LibStep.CHUNK_ITEM <= end; at += LibStep.CHUNK_ITEM) {
            if (LibStep.word(at) >> 224 != pc / 32) continue;
            uint256 op = LibStep.word(at + 5 + pc % 32) >> 248;
            (,,, uint256 family) = LibOpcodes.info(op);
            if (family == LibOpcodes.WORLD || op == 0x3c) return world;
            if (family == LibOpcodes.MICRO) return micro;
            return address(0);
        }
        return address(0);
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
        else if (family == LibOpcodes.WORLD || s.opcode == 0x3c) return _forward(world);
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
