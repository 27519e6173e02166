// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStepVerifier} from "../../src/interfaces/IStepVerifier.sol";

/// @title  MockStepVerifier
/// @notice TEST DOUBLE for forge unit tests of the game's rules: the witness names the step's
///         result. Never deploy it.
/// @dev    `lowerPrestate(batch, agreed, k) = keccak256(abi.encode(agreed, k))`, or a revert once
///         `setFailPrestate(true)`; `step(pre, witness)` takes `witness = abi.encode(pre', post)`,
///         reverts `WrongPrestate` unless `pre' == pre` and returns `post`.
contract MockStepVerifier is IStepVerifier {
    /// @notice The witness opens another pre-state.
    error WrongPrestate(bytes32 pre, bytes32 opened);
    /// @notice The absolute pre-state is unavailable (set by the test).
    error NoPrestate();

    /// @notice Whether `lowerPrestate` reverts.
    bool public failPrestate;

    /// @notice Makes `lowerPrestate` revert (or not).
    function setFailPrestate(bool fail) external {
        failPrestate = fail;
    }

    /// @inheritdoc IStepVerifier
    function lowerPrestate(bytes32, bytes32 agreed, uint64 txIndex)
        external
        view
        returns (bytes32)
    {
        if (failPrestate) revert NoPrestate();
        return keccak256(abi.encode(agreed, txIndex));
    }

    /// @inheritdoc IStepVerifier
    function step(bytes32 pre, bytes calldata witness) external pure returns (bytes32) {
        (bytes32 opened, bytes32 post) = abi.decode(witness, (bytes32, bytes32));
        if (opened != pre) revert WrongPrestate(pre, opened);
        return post;
    }
}
