// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {Proposals} from "../src/Proposals.sol";
import {Claim, GameParams} from "../src/lib/Types.sol";
import {IStepVerifier} from "../src/interfaces/IStepVerifier.sol";

/// @notice The Foundry cheatcodes the deployment script uses (forge 1.7).
interface ScriptVm {
    function envAddress(string calldata name) external view returns (address);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function envOr(string calldata name, bytes32 defaultValue) external view returns (bytes32);
    function startBroadcast() external;
    function stopBroadcast() external;
}

/// @title  Deploy
/// @notice Deploys refute's L1 system: a `DisputeGameFactory` with the game parameters and the
///         step verifier, and `Proposals` on top of it.
/// @dev    Run against any JSON-RPC L1:
///
///             REFUTE_VERIFIER=0x... forge script script/Deploy.s.sol \
///                 --rpc-url $REFUTE_L1_RPC --private-key $REFUTE_PRIVATE_KEY --broadcast
///
///         Parameters (environment; defaults are Optimism mainnet's, docs/spec/game.md §1.2):
///         `REFUTE_VERIFIER` (required: the step verifier's address; this script never deploys a
///         verifier, and never a test double), `REFUTE_MAX_DEPTH` (73), `REFUTE_SPLIT_DEPTH`
///         (30), `REFUTE_MAX_CLOCK_DURATION` (302,400 s), `REFUTE_CLOCK_EXTENSION` (10,800 s),
///         `REFUTE_SPLIT_CLOCK_EXTENSION` (21,600 s), `REFUTE_STEP_CLOCK_EXTENSION` (97,200 s),
///         `REFUTE_BASE_BOND` (8e16 wei), `REFUTE_BOND_GROWTH_BPS` (10,949),
///         `REFUTE_CHALLENGE_WINDOW` (604,800 s, 7 days), `REFUTE_GENESIS_OUTPUT_ROOT` (zero).
///         The same parameters as `refute_challenger::deploy::DeployConfig`.
contract Deploy {
    ScriptVm internal constant vm = ScriptVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice What to deploy.
    struct Config {
        GameParams params;
        IStepVerifier verifier;
        uint64 challengeWindow;
        Claim genesisOutputRoot;
    }

    /// @notice Reads the configuration from the environment and deploys, broadcasting.
    function run() external returns (DisputeGameFactory factory, Proposals proposals) {
        Config memory config = configFromEnv();
        vm.startBroadcast();
        (factory, proposals) = deploy(config);
        vm.stopBroadcast();
    }

    /// @notice The configuration from the environment (see the contract's documentation).
    function configFromEnv() public view returns (Config memory config) {
        config.params = GameParams({
            maxDepth: uint8(vm.envOr("REFUTE_MAX_DEPTH", uint256(73))),
            splitDepth: uint8(vm.envOr("REFUTE_SPLIT_DEPTH", uint256(30))),
            maxClockDuration: uint64(vm.envOr("REFUTE_MAX_CLOCK_DURATION", uint256(302_400))),
            clockExtension: uint64(vm.envOr("REFUTE_CLOCK_EXTENSION", uint256(10_800))),
            splitClockExtension: uint64(vm.envOr("REFUTE_SPLIT_CLOCK_EXTENSION", uint256(21_600))),
            stepClockExtension: uint64(vm.envOr("REFUTE_STEP_CLOCK_EXTENSION", uint256(97_200))),
            baseBond: uint128(vm.envOr("REFUTE_BASE_BOND", uint256(8e16))),
            bondGrowthBps: uint32(vm.envOr("REFUTE_BOND_GROWTH_BPS", uint256(10_949)))
        });
        config.verifier = IStepVerifier(vm.envAddress("REFUTE_VERIFIER"));
        config.challengeWindow = uint64(vm.envOr("REFUTE_CHALLENGE_WINDOW", uint256(604_800)));
        config.genesisOutputRoot = Claim.wrap(vm.envOr("REFUTE_GENESIS_OUTPUT_ROOT", bytes32(0)));
    }

    /// @notice Deploys the factory and `Proposals` with `config`. Reverts `InvalidParams` when
    ///         the parameters break docs/spec/game.md §1.1.
    function deploy(Config memory config)
        public
        returns (DisputeGameFactory factory, Proposals proposals)
    {
        factory = new DisputeGameFactory(config.params, config.verifier);
        proposals = new Proposals(factory, config.challengeWindow, config.genesisOutputRoot);
    }
}
