// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  IStepVerifier
/// @notice The rules the dispute game applies to the lower (step) level: a disputed
///         transaction's absolute pre-state and the one-step executor (docs/spec/game.md §3.2,
///         §5.2). The Solidity side of `refute_engine::game::StepVerifier`; the EVM one-step
///         verifier implementing it is issue 7 (L1 contracts II).
/// @dev    A verifier is shared by every game of a factory, so the proposal's batch is passed
///         explicitly where the engine's verifier is bound to one proposal. Both functions
///         revert (never return a wrong commitment) when they cannot answer; the game turns
///         the revert into `Prestate` or `InvalidStep`.
interface IStepVerifier {
    /// @notice `S_0` of transaction `txIndex` of the batch committed to by `batchHash`, given the
    ///         agreed transaction-level state `agreed` before it (`C_{txIndex-1}`, or the game's
    ///         anchor for `txIndex = 0`). For `txIndex` past the batch's last transaction it MUST
    ///         return `agreed` itself (padding, §3.2).
    /// @param  batchHash keccak256 of the proposal's batch bytes.
    /// @param  agreed    The agreed state commitment before the transaction.
    /// @param  txIndex   The disputed transaction's index in the batch.
    /// @return prestate  The step-level pre-state commitment `S_0`.
    function lowerPrestate(bytes32 batchHash, bytes32 agreed, uint64 txIndex)
        external
        view
        returns (bytes32 prestate);

    /// @notice Runs one step: the post-state commitment of the step whose pre-state `pre` the
    ///         `witness` opens. Reverts when the witness does not open `pre` or the step cannot
    ///         be executed.
    /// @param  pre     The pre-state commitment.
    /// @param  witness The step's witness bytes (layout defined by the verifier).
    /// @return post    The post-state commitment.
    function step(bytes32 pre, bytes calldata witness) external view returns (bytes32 post);
}
