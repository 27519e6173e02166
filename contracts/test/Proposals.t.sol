// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GameTestBase} from "./DisputeGame.t.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Proposals} from "../src/Proposals.sol";
import {Claim, GameStatus} from "../src/lib/Types.sol";
import {Position} from "../src/lib/LibPosition.sol";

contract ProposalsTest is GameTestBase {
    uint64 internal constant WINDOW = 3600;
    Claim internal constant GENESIS = Claim.wrap(keccak256("genesis"));

    Proposals internal proposals;

    function setUp() public override {
        super.setUp();
        proposals = new Proposals(factory, WINDOW, GENESIS);
    }

    function propose(address who, uint256 parent, bytes memory batch, Claim root)
        internal
        returns (uint256)
    {
        vm.deal(who, who.balance + 100);
        vm.prank(who);
        return proposals.propose{value: 100}(parent, batch, root);
    }

    function state(uint256 id) internal view returns (Proposals.State) {
        return proposals.proposal(id).state;
    }

    /// Plays `g` to the end: the challenger attacks the root (or not) and everything resolves.
    function settle(DisputeGame g, bool challengerWins) internal {
        if (challengerWins) {
            vm.deal(CHALLENGER, CHALLENGER.balance + 200);
            vm.prank(CHALLENGER);
            g.attack{value: 200}(0, v("wrong"));
        }
        vm.warp(block.timestamp + 10 * MAX);
        for (uint256 i = g.claimCount(); i > 0; i--) {
            g.resolveClaim(i - 1);
        }
        g.resolve();
    }

    function test_genesisIsFinal() public view {
        assertEq(proposals.proposalCount(), 1, "genesis only");
        assertEq(uint256(state(0)), uint256(Proposals.State.FINALIZED), "final");
        assertEq(Claim.unwrap(proposals.proposal(0).outputRoot), Claim.unwrap(GENESIS), "root");
        assertEq(proposals.proposalBond(), 100, "the games' root bond");
    }

    function test_proposeCommitsTheBatch() public {
        uint256 id = propose(PROPOSER, 0, "batch bytes", ROOT);
        Proposals.Proposal memory p = proposals.proposal(id);
        assertEq(id, 1, "id");
        assertEq(p.proposer, PROPOSER, "proposer");
        assertEq(p.batchHash, keccak256("batch bytes"), "batch hash");
        assertEq(Claim.unwrap(p.outputRoot), Claim.unwrap(ROOT), "output root");
        assertEq(p.bond, 100, "bond");
        assertEq(proposals.deadline(id), T0 + WINDOW, "deadline");
        assertEq(address(proposals).balance, 100, "bond held");
    }

    function test_proposeRejects() public {
        vm.deal(PROPOSER, 1 ether);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Proposals.WrongProposalBond.selector, 100, 99));
        proposals.propose{value: 99}(0, "", ROOT);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Proposals.UnknownProposal.selector, 7));
        proposals.propose{value: 100}(7, "", ROOT);
    }

    function test_unchallengedProposalFinalizesAfterTheWindow() public {
        uint256 id = propose(PROPOSER, 0, "b", ROOT);
        vm.warp(T0 + WINDOW - 1);
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.ChallengeWindowOpen.selector, id, T0 + WINDOW)
        );
        proposals.finalize(id);
        vm.warp(T0 + WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.ChallengeWindowClosed.selector, id, T0 + WINDOW)
        );
        proposals.challenge(id);
        proposals.finalize(id);
        assertEq(uint256(state(id)), uint256(Proposals.State.FINALIZED), "final");
        assertEq(proposals.balanceOf(PROPOSER), 100, "bond returned");
        vm.prank(PROPOSER);
        proposals.withdraw();
        assertEq(PROPOSER.balance, 100, "paid");
        vm.expectRevert(abi.encodeWithSelector(Proposals.NothingToWithdraw.selector, PROPOSER));
        vm.prank(PROPOSER);
        proposals.withdraw();
    }

    function test_childWaitsForItsParent() public {
        uint256 a = propose(PROPOSER, 0, "a", ROOT);
        vm.warp(T0 + 10);
        uint256 b = propose(PROPOSER, a, "b", v("next"));
        vm.warp(T0 + 10 + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Proposals.ParentNotFinalized.selector, b, a));
        proposals.finalize(b);
        proposals.finalize(a);
        proposals.finalize(b);
        assertEq(uint256(state(b)), uint256(Proposals.State.FINALIZED), "final");
    }

    function test_challengeOpensTheGame() public {
        uint256 id = propose(PROPOSER, 0, "batch", ROOT);
        vm.prank(CHALLENGER);
        DisputeGame g = proposals.challenge(id);
        assertTrue(factory.isGame(g), "a factory game");
        assertEq(g.ANCHOR(), Claim.unwrap(GENESIS), "anchored at the parent");
        assertEq(g.BATCH_HASH(), keccak256("batch"), "the batch");
        (,, address claimant, uint256 b, Claim value,,,) = g.claimData(0);
        assertEq(claimant, PROPOSER, "the proposer's root");
        assertEq(b, 100, "the proposal bond");
        assertEq(Claim.unwrap(value), Claim.unwrap(ROOT), "the output root");
        assertEq(address(g).balance, 100, "bond moved into the game");
        assertEq(address(proposals).balance, 0, "nothing left");
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.WrongState.selector, id, Proposals.State.CHALLENGED)
        );
        proposals.challenge(id);
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.GameUndecided.selector, id, GameStatus.IN_PROGRESS)
        );
        proposals.finalize(id);
    }

    function test_defenderWinsFinalizes() public {
        uint256 id = propose(PROPOSER, 0, "batch", ROOT);
        DisputeGame g = proposals.challenge(id);
        settle(g, false);
        vm.expectRevert(abi.encodeWithSelector(Proposals.NotInvalid.selector, id));
        proposals.invalidate(id);
        proposals.finalize(id);
        assertEq(uint256(state(id)), uint256(Proposals.State.FINALIZED), "final");
        assertEq(g.credit(PROPOSER), 100, "the game returns the bond");
    }

    function test_challengerWinsInvalidatesAndCascades() public {
        uint256 a = propose(PROPOSER, 0, "a", ROOT);
        uint256 b = propose(PROPOSER, a, "b", v("b"));
        uint256 c = propose(OTHER, b, "c", v("c"));
        DisputeGame g = proposals.challenge(a);
        DisputeGame gc = proposals.challenge(c);
        assertEq(gc.ANCHOR(), Claim.unwrap(v("b")), "anchored at its parent's root");
        vm.expectRevert(abi.encodeWithSelector(Proposals.NotInvalid.selector, b));
        proposals.invalidate(b);
        settle(g, true);
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.GameUndecided.selector, a, GameStatus.CHALLENGER_WINS)
        );
        proposals.finalize(a);
        proposals.invalidate(a);
        assertEq(uint256(state(a)), uint256(Proposals.State.INVALIDATED), "a invalid");
        assertEq(g.credit(CHALLENGER), 300, "the challenger takes the proposal bond");
        vm.expectRevert(abi.encodeWithSelector(Proposals.ParentInvalidated.selector, a));
        proposals.propose{value: 100}(a, "", ROOT);
        proposals.invalidate(b); // unchallenged: its bond returns
        proposals.invalidate(c); // challenged: its bond stays with its game
        assertEq(uint256(state(c)), uint256(Proposals.State.INVALIDATED), "c invalid");
        assertEq(proposals.balanceOf(PROPOSER), 100, "b's bond back");
        assertEq(proposals.balanceOf(OTHER), 0, "c's bond is in its game");
        assertEq(address(gc).balance, 100, "held by c's game");
        vm.expectRevert(
            abi.encodeWithSelector(Proposals.WrongState.selector, b, Proposals.State.INVALIDATED)
        );
        proposals.finalize(b);
    }

    /// Every wei proposed is held by `Proposals`, a game, or credited: nothing created or lost.
    function testFuzz_proposalBondsConserved(uint8 n, uint256 seed) public {
        n = uint8(bound(n, 1, 8));
        uint256 held;
        for (uint256 i = 0; i < n; i++) {
            uint256 parent = uint256(keccak256(abi.encode(seed, i))) % proposals.proposalCount();
            if (state(parent) == Proposals.State.INVALIDATED) continue;
            propose(PROPOSER, parent, abi.encode(i), v(string(abi.encode(i))));
            held += 100;
            if (uint256(keccak256(abi.encode(seed, i, "c"))) % 2 == 0) {
                proposals.challenge(proposals.proposalCount() - 1);
            }
        }
        uint256 inGames;
        for (uint256 id = 1; id < proposals.proposalCount(); id++) {
            DisputeGame g = proposals.proposal(id).game;
            if (address(g) != address(0)) inGames += address(g).balance;
        }
        assertEq(address(proposals).balance + inGames, held, "bonds conserved");
    }
}
