// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStepVerifier} from "../../src/interfaces/IStepVerifier.sol";

/// @title  SyntheticStepVerifier
/// @notice TEST DOUBLE. The step verifier of the engine's synthetic two-level proposal
///         (`refute_engine::game::SyntheticVerifier`, `engine/src/game/synthetic.rs`), bit for
///         bit, so that forge unit tests and the Rust transcript replay can play complete
///         games with real steps. It verifies hash chains, not EVM execution: never deploy it
///         outside tests (the deployment scripts take the real verifier's address, issue 7).
/// @dev    A synthetic state is `(remaining, acc)` with commitment
///         `keccak256("refute/synthetic" ‖ uint64(remaining) ‖ acc)`; its witness is the
///         40 bytes `uint64(remaining) ‖ acc`. A step maps `(r, acc)`, `r > 0`, to
///         `(r - 1, keccak256(acc ‖ uint64(r)))`; a final state (`r = 0`) steps to itself.
///         Transaction `k` of a proposal of lengths `n` starts at
///         `(n[k], keccak256(agreed ‖ uint64(k)))`; past the last transaction the pre-state is
///         `agreed`. The batch hash is ignored: the lengths stand for the batch.
contract SyntheticStepVerifier is IStepVerifier {
    /// @notice The witness is not 40 bytes.
    error BadWitnessLength(uint256 length);
    /// @notice The witness does not hash to the pre-state.
    error WitnessDoesNotOpenPrestate(bytes32 pre, bytes32 opened);

    uint64[] internal _lengths;

    /// @notice A verifier for a proposal whose transaction `k` takes `lengths[k]` steps.
    constructor(uint64[] memory lengths) {
        _lengths = lengths;
    }

    /// @notice The commitment of the synthetic state `(remaining, acc)`.
    function commitment(uint64 remaining, bytes32 acc) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("refute/synthetic", remaining, acc));
    }

    /// @inheritdoc IStepVerifier
    function lowerPrestate(bytes32, bytes32 agreed, uint64 txIndex)
        external
        view
        returns (bytes32)
    {
        if (txIndex >= _lengths.length) return agreed;
        return commitment(_lengths[txIndex], keccak256(abi.encodePacked(agreed, txIndex)));
    }

    /// @inheritdoc IStepVerifier
    function step(bytes32 pre, bytes calldata witness) external pure returns (bytes32) {
        if (witness.length != 40) revert BadWitnessLength(witness.length);
        uint64 remaining = uint64(bytes8(witness[0:8]));
        bytes32 acc = bytes32(witness[8:40]);
        bytes32 opened = commitment(remaining, acc);
        if (opened != pre) revert WitnessDoesNotOpenPrestate(pre, opened);
        if (remaining == 0) return pre;
        return commitment(remaining - 1, keccak256(abi.encodePacked(acc, remaining)));
    }
}
