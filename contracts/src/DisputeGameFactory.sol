// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "./DisputeGame.sol";
import {Claim, GameParams} from "./lib/Types.sol";
import {LibGameParams} from "./lib/LibGameParams.sol";
import {IStepVerifier} from "./interfaces/IStepVerifier.sol";

/// @title  DisputeGameFactory
/// @notice Creates dispute games (docs/spec/game.md) with one fixed set of parameters and one
///         step verifier, and lists them for watchtowers.
/// @dev    Permissionless: anyone may open a game naming any proposer, paying the root bond
///         `bond(0)` on the proposer's behalf (the proposer is credited if the root stands).
///         `Proposals` opens the games that decide proposals; a game it did not open decides
///         nothing there.
contract DisputeGameFactory {
    /// @notice The parameters every game of this factory plays with (§1).
    GameParams internal _params;
    /// @notice The step verifier every game of this factory calls.
    IStepVerifier public immutable VERIFIER;
    /// @notice Every game created, in order.
    DisputeGame[] public games;
    /// @notice Whether an address is a game this factory created.
    mapping(DisputeGame game => bool) public isGame;

    /// @notice A game was created: its index, address, root claim and proposer, the anchor
    ///         and the batch it disputes.
    event GameCreated(
        uint256 indexed index,
        DisputeGame indexed game,
        address indexed proposer,
        Claim rootClaim,
        bytes32 anchor,
        bytes32 batchHash
    );

    /// @notice A factory for games with `params` calling `verifier`. Reverts `InvalidParams`
    ///         when `params` break §1.1.
    constructor(GameParams memory params_, IStepVerifier verifier) {
        LibGameParams.validate(params_);
        _params = params_;
        VERIFIER = verifier;
    }

    /// @notice The parameters of this factory's games.
    function params() external view returns (GameParams memory) {
        return _params;
    }

    /// @notice The root bond, `bond(0)`, in wei: the value `create` needs.
    function rootBond() external view returns (uint256) {
        return _params.baseBond;
    }

    /// @notice The number of games created.
    function gameCount() external view returns (uint256) {
        return games.length;
    }

    /// @notice Creates a game over `rootClaim`, the state `proposer` claims the batch with hash
    ///         `batchHash` leads to from `anchor`. Send exactly `rootBond()` wei (reverts
    ///         `WrongBond` otherwise).
    /// @return game The new game.
    function create(Claim rootClaim, bytes32 anchor, bytes32 batchHash, address proposer)
        external
        payable
        returns (DisputeGame game)
    {
        game = new DisputeGame{value: msg.value}(
            _params, VERIFIER, anchor, batchHash, rootClaim, proposer
        );
        isGame[game] = true;
        games.push(game);
        emit GameCreated(games.length - 1, game, proposer, rootClaim, anchor, batchHash);
    }
}
