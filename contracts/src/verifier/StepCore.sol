// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibStep, Step} from "./LibStep.sol";
import {LibOpcodes} from "./LibOpcodes.sol";

/// @title  StepCore
/// @notice What every part of the one-step verifier runs before and after a family
///         (docs/spec/step-machine.md §1, §5.1, §5.4): opening the witness against the
///         pre-state (docs/spec/verifier-abi.md), the final-state rule, the frame and its code
///         chunks, and the generic opcode step — fetch, stack check, stack witness, static
///         check (EIP-214), static gas — with every exceptional halt they decide, STOP, and the
///         post-state. The families are the deriving contract's (`_family`, `_pending`).
/// @dev    The verifier is split in contracts under the EIP-170 code-size limit:
///         `StepVerifier` (the entry point, with the in-frame families) forwards a step of
///         another family, unchanged, to the contract that runs it (`WorldVerifier`,
///         `MicroVerifier`), which verifies the whole witness again from `pre`: each is a
///         complete verifier of its steps, trusting no caller.
abstract contract StepCore is IStepVerifier {
    /// @notice A step this version of the verifier does not execute: `pendingKind` the
    ///         header's (0 for an opcode step), `opcode` the fetched opcode (0 otherwise).
    ///         Never a wrong answer: the step has a post-state, this verifier cannot compute it.
    error Unsupported(uint8 pendingKind, uint8 opcode);

    /// @notice The state is outside frames but not at a transaction's begin or end.
    error OutsideFrame();

    /// @inheritdoc IStepVerifier
    /// @dev    Transaction boundaries (§8) are not implemented yet: reverts with
    ///         `Unsupported(16, 0)` (pending kind 16, transaction begin).
    function lowerPrestate(bytes32, bytes32, uint64) external pure returns (bytes32) {
        revert Unsupported(16, 0);
    }

    /// @inheritdoc IStepVerifier
    /// @dev    Reverts with `LibStep`'s errors when the witness does not open `pre` or a part
    ///         the step reads does not verify, `OutsideFrame` for a frameless state other than
    ///         a transaction's begin or end, `Unsupported` for steps not implemented, and the
    ///         families' errors.
    function step(bytes32 pre, bytes calldata witness) public view virtual returns (bytes32 post) {
        uint256 w;
        assembly ("memory-safe") {
            w := witness.offset
        }
        Step memory s = LibStep.open(pre, w, witness.length);
        if (LibStep.get(s.header, LibStep.H_STATUS, 1) != 0) return pre; // final (§1)
        uint256 pendingKind = LibStep.get(s.header, LibStep.H_PENDING_KIND, 1);
        if (LibStep.get(s.header, LibStep.H_FRAME_HASH, 32) == 0) {
            if (pendingKind != 16 && pendingKind != 21) revert OutsideFrame();
            revert Unsupported(uint8(pendingKind), 0);
        }
        LibStep.loadFrame(s);
        LibStep.verifyCode(s);
        if (pendingKind != 0) return _pending(s, pendingKind);
        return _opcodeStep(s);
    }

    /// @notice Runs family `family` of the opcode step `s` (past its static gas): either on
    ///         `s` (returning 0: the post-state is computed from `s`) or to a post-state
    ///         commitment of its own (returning it: a step forwarded to another contract).
    function _family(Step memory s, uint256 family) internal view virtual returns (bytes32);

    /// @notice A step of the pending operation `kind` (§4.5): its post-state commitment.
    function _pending(Step memory s, uint256 kind) internal view virtual returns (bytes32) {
        s; // silence
        revert Unsupported(uint8(kind), 0);
    }

    /// @notice The generic opcode step (§5.1): fetch, stack check, stack witness, static
    ///         check, static gas, then the family.
    function _opcodeStep(Step memory s) private view returns (bytes32) {
        uint256 op = LibStep.codeByte(s, s.pc);
        s.opcode = op;
        (uint256 inputs, uint256 outputs, uint256 gas, uint256 family) = LibOpcodes.info(op);
        if (family == LibOpcodes.INVALID) return _halt(s);
        uint256 size = s.stackSize;
        if (size < inputs || size - inputs + outputs > 1024) return _halt(s);
        _popStack(s, inputs);
        if (
            LibStep.get(s.frame, LibStep.F_STATIC, 1) == 1
                && LibOpcodes.writesState(op, op == 0xf1 ? LibStep.arg(s, 2) : 0)
        ) return _halt(s);
        if (!LibStep.charge(s, gas)) return _halt(s);

        s.nextPc = s.pc + 1;
        if (family == LibOpcodes.EXIT) return _stop(s);
        bytes32 answer = _family(s, family);
        if (answer != bytes32(0)) return answer;
        if (s.halted || s.nextPc > type(uint32).max) return _halt(s);
        return LibStep.post(s, bytes32(0));
    }

    /// @notice Verifies the `inputs` operands of the stack section against the frame's stack
    ///         commitment (§2.3) and leaves the stack without them in `s`.
    function _popStack(Step memory s, uint256 inputs) private pure {
        uint256 len = s.len[LibStep.SEC_STACK];
        if (len < 32 || len % 32 != 0) revert LibStep.MalformedWitness();
        if (len != 32 + 32 * inputs) revert LibStep.BadStack();
        uint256 at = s.sec[LibStep.SEC_STACK];
        bytes32 rest = bytes32(LibStep.word(at));
        bytes32 h = rest;
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, inputs) { k := add(k, 1) } {
                mstore(0x00, h)
                mstore(0x20, calldataload(add(add(at, 32), mul(k, 32))))
                h := keccak256(0x00, 0x40)
            }
        }
        if (h != s.stackHash) revert LibStep.BadStack();
        s.inputs = inputs;
        s.operands = at + 32;
        s.stackSize -= inputs;
        s.stackHash = rest;
    }

    /// @notice An exceptional halt's post-state (§5.4).
    function _halt(Step memory s) internal pure returns (bytes32) {
        s.halted = true;
        return LibStep.post(s, bytes32(0));
    }

    /// @notice STOP: the frame ends with success and empty output; `pc`, stack and memory
    ///         stay (§4.5).
    function _stop(Step memory s) private pure returns (bytes32) {
        s.nextPc = s.pc;
        return LibStep.post(s, LibStep.EXIT_STOP);
    }

    /// @notice The answer of `to` to this very call (`step(pre, witness)`, forwarded
    ///         unchanged): its post-state, or its revert, bubbled.
    function _forward(address to) internal view returns (bytes32 post) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, 0, calldatasize())
            if iszero(staticcall(gas(), to, p, calldatasize(), 0x00, 0x20)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
            if iszero(eq(returndatasize(), 0x20)) { revert(0, 0) }
            post := mload(0x00)
        }
    }
}
