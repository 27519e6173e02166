// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GameTestBase} from "./DisputeGame.t.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Proposals} from "../src/Proposals.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {Claim, GameParams} from "../src/lib/Types.sol";

interface GasCheats {
    function snapshotGasLastCall(string calldata name) external returns (uint256 gasUsed);
}

/// @notice The gas of each action, one external call each, recorded by
///         `vm.snapshotGasLastCall` into `contracts/snapshots/GasTest.json` (committed). The
///         suite runs isolated (`isolate = true`): every call is its own transaction, with cold
///         storage and accounts as on L1. Figures and the command: BENCHMARKS.md.
/// forge-config: default.isolate = true
contract GasTest is GameTestBase {
    GasCheats internal constant gas = GasCheats(address(vm));

    function _snap(string memory name) internal {
        gas.snapshotGasLastCall(name);
    }

    function test_gas_moves() public {
        vm.deal(CHALLENGER, 1 ether);
        vm.deal(PROPOSER, 1 ether);
        vm.prank(CHALLENGER);
        game.attack{value: 200}(0, v("c1")); // depth 1
        _snap("attack root (depth 1)");
        vm.prank(PROPOSER);
        game.defend{value: 400}(1, v("p2")); // depth 2, the split
        _snap("defend (depth 2, split depth)");
        vm.prank(CHALLENGER);
        game.defend{value: 800}(2, v("c3")); // depth 3: lower root, §3.3
        _snap("defend at the split (depth 3, lower root, split check)");
        vm.prank(PROPOSER);
        game.attack{value: 1600}(3, v("p4")); // depth 4
        _snap("attack (depth 4)");
        vm.prank(CHALLENGER);
        game.attack{value: 3200}(4, v("c5")); // depth 5
        _snap("attack (depth 5)");
        vm.prank(PROPOSER);
        game.attack{value: 6400}(5, v("p6")); // depth 6, max
        _snap("attack (depth 6, max depth)");
    }

    function test_gas_steps() public {
        attackToMaxDepth();
        bytes32 pre = keccak256(abi.encode(ANCHOR, uint64(0)));
        vm.prank(CHALLENGER);
        game.step(6, true, abi.encode(pre, keccak256("true")));
        _snap("step attack (first leaf: absolute pre-state)");
        DisputeGame g = factory.create{value: 100}(ROOT, ANCHOR, BATCH, PROPOSER);
        game = g;
        attackToMaxDepth();
        game.step(6, false, abi.encode(Claim.unwrap(v("p6")), Claim.unwrap(v("c5"))));
        _snap("step defence");
    }

    function test_gas_resolution() public {
        mv(CHALLENGER, 0, v("c1"), true);
        mv(OTHER, 0, v("o2"), true);
        mv(PROPOSER, 1, v("p3"), true);
        vm.warp(T0 + 10 * MAX);
        game.resolveClaim(3);
        _snap("resolveClaim (leaf, first uncountered child of its parent)");
        game.resolveClaim(2);
        _snap("resolveClaim (leaf)");
        game.resolveClaim(1);
        _snap("resolveClaim (one child)");
        game.resolveClaim(0);
        _snap("resolveClaim (root, two children)");
        game.resolve();
        _snap("resolve");
        game.claimCredit(OTHER);
        _snap("claimCredit");
    }

    function test_gas_proposals() public {
        Proposals proposals = new Proposals(factory, 3600, v("genesis"));
        vm.deal(PROPOSER, 1 ether);
        vm.prank(PROPOSER);
        proposals.propose{value: 100}(0, new bytes(1000), ROOT);
        _snap("propose (1,000-byte batch)");
        vm.prank(PROPOSER);
        proposals.propose{value: 100}(1, new bytes(1000), v("next"));
        proposals.challenge(2);
        _snap("challenge (creates the game)");
        vm.warp(T0 + 3600);
        proposals.finalize(1);
        _snap("finalize (unchallenged)");
    }

    /// Optimism mainnet's depths (73, split 30) and bonds: moves near the root, at the split,
    /// at the maximum depth (the bond loop runs once per depth), and a step there.
    function test_gas_mainnetDepths() public {
        GameParams memory p = GameParams(73, 30, 302_400, 10_800, 21_600, 97_200, 8e16, 10_949);
        DisputeGameFactory f = new DisputeGameFactory(p, verifier);
        vm.deal(address(this), 1_000_000 ether);
        DisputeGame g = f.create{value: 8e16}(ROOT, ANCHOR, BATCH, PROPOSER);
        for (uint8 d = 1; d <= 73; d++) {
            address who = d % 2 == 1 ? CHALLENGER : PROPOSER;
            uint256 b = g.bond(d);
            vm.deal(who, who.balance + b);
            vm.prank(who);
            g.attack{value: b}(d - 1, Claim.wrap(keccak256(abi.encode(d))));
            if (d == 1) _snap("mainnet depths: attack (depth 1)");
            if (d == 31) _snap("mainnet depths: attack at the split (depth 31, lower root)");
            if (d == 73) _snap("mainnet depths: attack (depth 73, max depth)");
        }
        bytes32 pre = keccak256(abi.encode(ANCHOR, uint64(0)));
        g.step(73, true, abi.encode(pre, keccak256("true")));
        _snap("mainnet depths: step attack (depth 73, first leaf)");
    }
}
