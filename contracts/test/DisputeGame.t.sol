// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {MockStepVerifier} from "./doubles/MockStepVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {Claim, Clock, GameParams, GameStatus} from "../src/lib/Types.sol";
import {Position} from "../src/lib/LibPosition.sol";
import {LibGameParams} from "../src/lib/LibGameParams.sol";
import "../src/lib/Errors.sol";

/// @notice Shared set-up: a game of max depth 6, split depth 2 (4 transaction-level leaves, 8
///         step-level leaves per transaction), clocks of 1,000 s with extensions of 100 s
///         (200 s before the split, 300 s before a step), bonds 100 wei doubling per depth, and
///         the `MockStepVerifier` double.
abstract contract GameTestBase is TestBase {
    uint64 internal constant T0 = 1_000_000;
    uint64 internal constant MAX = 1000;
    address internal constant PROPOSER = address(0xA11CE);
    address internal constant CHALLENGER = address(0xB0B);
    address internal constant OTHER = address(0xC4A5);
    bytes32 internal constant ANCHOR = keccak256("anchor");
    bytes32 internal constant BATCH = keccak256("batch");
    Claim internal constant ROOT = Claim.wrap(keccak256("root"));

    MockStepVerifier internal verifier;
    DisputeGameFactory internal factory;
    DisputeGame internal game;

    function _params() internal pure returns (GameParams memory) {
        return GameParams({
            maxDepth: 6,
            splitDepth: 2,
            maxClockDuration: MAX,
            clockExtension: 100,
            splitClockExtension: 200,
            stepClockExtension: 300,
            baseBond: 100,
            bondGrowthBps: 20_000
        });
    }

    function setUp() public virtual {
        vm.warp(T0);
        verifier = new MockStepVerifier();
        factory = new DisputeGameFactory(_params(), verifier);
        vm.deal(address(this), 1 ether);
        game = factory.create{value: 100}(ROOT, ANCHOR, BATCH, PROPOSER);
    }

    function v(string memory s) internal pure returns (Claim) {
        return Claim.wrap(keccak256(bytes(s)));
    }

    /// `who` moves against `parent` paying the exact bond; returns the new index.
    function mv(address who, uint256 parent, Claim value, bool isAttack)
        internal
        returns (uint256)
    {
        (,,,,, Position p,,) = game.claimData(parent);
        uint256 b = game.bond(_depth(p) + 1);
        vm.deal(who, who.balance + b);
        vm.prank(who);
        return game.move{value: b}(parent, value, isAttack);
    }

    /// Expects the next move by `who` to revert with `err`.
    function mvReverts(address who, uint256 parent, Claim value, bool isAttack, bytes memory err)
        internal
    {
        uint256 b = 1 ether;
        (uint256 n) = game.claimCount();
        if (parent < n) {
            (,,,,, Position p,,) = game.claimData(parent);
            if (_depth(p) < 6) b = game.bond(_depth(p) + 1);
        }
        vm.deal(who, who.balance + b);
        vm.expectRevert(err);
        vm.prank(who);
        game.move{value: b}(parent, value, isAttack);
    }

    function _depth(Position p) internal pure returns (uint8 d) {
        uint128 x = Position.unwrap(p);
        while (x > 1) {
            x >>= 1;
            d++;
        }
    }

    function position(uint256 index) internal view returns (uint128) {
        (,,,,, Position p,,) = game.claimData(index);
        return Position.unwrap(p);
    }

    function countered(uint256 index) internal view returns (address) {
        (, address c,,,,,,) = game.claimData(index);
        return c;
    }

    function duration(uint256 index) internal view returns (uint64) {
        (,,,,,, Clock c,) = game.claimData(index);
        return uint64(Clock.unwrap(c) >> 64);
    }

    /// A path of attacks from the root to the maximum depth: claims 1..6 at positions
    /// 2, 4, 8, 16, 32, 64, made alternately by the challenger and the proposer.
    function attackToMaxDepth() internal {
        mv(CHALLENGER, 0, v("c1"), true); // 1: pos 2, depth 1
        mv(PROPOSER, 1, v("p2"), true); // 2: pos 4, depth 2 (split), tx 0
        mv(CHALLENGER, 2, v("c3"), true); // 3: pos 8, depth 3 (lower root), disputes tx 0
        mv(PROPOSER, 3, v("p4"), true); // 4: pos 16
        mv(CHALLENGER, 4, v("c5"), true); // 5: pos 32
        mv(PROPOSER, 5, v("p6"), true); // 6: pos 64, max depth, lower trace index 0
    }

    /// Resolves every claim from the last to the first (children always come later).
    function resolveAll() internal {
        for (uint256 i = game.claimCount(); i > 0; i--) {
            game.resolveClaim(i - 1);
        }
    }
}

contract DisputeGameTest is GameTestBase {
    // ---- §1, §2.1: creation and parameters ---------------------------------------------

    function test_rootClaim() public view {
        (
            uint256 parent,
            address counteredBy,
            address claimant,
            uint256 b,
            Claim value,
            Position p,
            Clock clock,
            bool resolved
        ) = game.claimData(0);
        assertEq(parent, type(uint256).max, "root has no parent");
        assertEq(counteredBy, address(0), "uncountered");
        assertEq(claimant, PROPOSER, "claimant");
        assertEq(b, 100, "bond(0)");
        assertEq(Claim.unwrap(value), Claim.unwrap(ROOT), "value");
        assertEq(Position.unwrap(p), 1, "position 1");
        assertEq(Clock.unwrap(clock), uint128(T0), "clock (0, created)");
        assertFalse(resolved, "unresolved");
        assertEq(uint256(game.status()), 0, "in progress");
        assertEq(address(game).balance, 100, "root bond held");
        assertEq(game.ANCHOR(), ANCHOR, "anchor");
        assertEq(game.BATCH_HASH(), BATCH, "batch");
    }

    function test_createNeedsTheExactRootBond() public {
        vm.expectRevert(abi.encodeWithSelector(WrongBond.selector, 0, 100, 99));
        factory.create{value: 99}(ROOT, ANCHOR, BATCH, PROPOSER);
    }

    function test_factoryListsGames() public view {
        assertEq(factory.gameCount(), 1, "one game");
        assertEq(address(factory.games(0)), address(game), "listed");
        assertTrue(factory.isGame(game), "known");
        assertEq(factory.rootBond(), 100, "root bond");
    }

    function _expectInvalid(GameParams memory p, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(InvalidParams.selector, reason));
        new DisputeGameFactory(p, verifier);
    }

    function test_invalidParameters() public {
        GameParams memory p = _params();
        p.splitDepth = 0;
        _expectInvalid(p, "need 1 <= split_depth < max_depth");
        p = _params();
        p.splitDepth = 6;
        _expectInvalid(p, "need 1 <= split_depth < max_depth");
        p = _params();
        p.maxDepth = 126;
        _expectInvalid(p, "need max_depth < 126");
        p = _params();
        p.stepClockExtension = MAX;
        _expectInvalid(p, "every clock extension must be below the maximum clock duration");
        p = _params();
        p.maxClockDuration = uint64(type(uint32).max) + 1;
        _expectInvalid(p, "max_clock_duration must fit 32 bits on L1");
        p = _params();
        p.bondGrowthBps = 9999;
        _expectInvalid(p, "need 10_000 <= bond_growth_bps <= 100_000");
        p = _params();
        p.bondGrowthBps = 100_001;
        _expectInvalid(p, "need 10_000 <= bond_growth_bps <= 100_000");
        p = _params();
        p.baseBond = type(uint128).max / 2;
        _expectInvalid(p, "the bond at max_depth overflows 128 bits");
    }

    // ---- §4.4: bonds ----------------------------------------------------------------------

    function test_mainnetBonds() public pure {
        GameParams memory p = GameParams(73, 30, 302_400, 10_800, 21_600, 97_200, 8e16, 10_949);
        LibGameParams.validate(p);
        assertEq(LibGameParams.bond(p, 0), 80_000_000_000_000_000, "b(0)");
        assertEq(LibGameParams.bond(p, 1), 87_592_000_000_000_000, "b(1)");
        assertEq(LibGameParams.bond(p, 2), 95_904_480_800_000_000, "b(2)");
        uint256 top = LibGameParams.bond(p, 73);
        assertTrue(top > 55 ether && top < 65 ether, "about 60 ETH at depth 73");
    }

    function test_bondsRoundDownEachLevel() public pure {
        // 3 -> floor(4.5) = 4 -> 6 -> 9 -> floor(13.5) = 13.
        uint256[5] memory expected = [uint256(3), 4, 6, 9, 13];
        for (uint8 d = 0; d < 5; d++) {
            assertEq(LibGameParams.bondAt(3, 15_000, d), expected[d], "b(d)");
        }
    }

    function test_noBondPastMaxDepth() public {
        vm.expectRevert(abi.encodeWithSelector(InvalidParams.selector, "no bond past max_depth"));
        game.bond(7);
    }

    // ---- §4.1: moves ----------------------------------------------------------------------

    function test_attackAndDefendPositions() public {
        assertEq(mv(CHALLENGER, 0, v("a"), true), 1, "index 1");
        assertEq(position(1), 2, "attack on 1 is 2");
        mv(PROPOSER, 1, v("b"), true);
        assertEq(position(2), 4, "attack on 2 is 4");
        mv(PROPOSER, 1, v("c"), false);
        assertEq(position(3), 6, "defence of 2 is 2(2+1)");
        assertEq(address(game).balance, 100 + 200 + 400 + 400, "bonds held");
        (bool hasChildren, uint256 unresolved) = game.childCounts(1);
        assertTrue(hasChildren, "countered by moves");
        assertEq(unresolved, 2, "both unresolved");
    }

    function test_moveRejectsUnknownClaim() public {
        mvReverts(CHALLENGER, 5, v("x"), true, abi.encodeWithSelector(UnknownClaim.selector, 5, 1));
    }

    function test_moveRejectsAtMaxDepth() public {
        attackToMaxDepth();
        mvReverts(
            CHALLENGER, 6, v("x"), true, abi.encodeWithSelector(MaxDepthReached.selector, 6, 6)
        );
    }

    function test_cannotDefendTheRoot() public {
        mvReverts(
            CHALLENGER, 0, v("x"), false, abi.encodeWithSelector(CannotDefendRoot.selector, 0)
        );
    }

    function test_cannotDefendALowerRoot() public {
        mv(CHALLENGER, 0, v("c1"), true);
        mv(PROPOSER, 1, v("p2"), true);
        mv(CHALLENGER, 2, v("c3"), true); // 3: the lower root, depth 3
        mvReverts(PROPOSER, 3, v("x"), false, abi.encodeWithSelector(CannotDefendRoot.selector, 3));
        mv(PROPOSER, 3, v("p4"), true); // attacking it is fine
    }

    function test_wrongBond() public {
        vm.deal(CHALLENGER, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(WrongBond.selector, 1, 200, 199));
        vm.prank(CHALLENGER);
        game.attack{value: 199}(0, v("x"));
    }

    function test_duplicateClaims() public {
        mv(CHALLENGER, 0, v("a"), true);
        mvReverts(
            OTHER,
            0,
            v("a"),
            true,
            abi.encodeWithSelector(DuplicateClaim.selector, 0, uint128(2), v("a"))
        );
        mv(OTHER, 0, v("b"), true); // another value at the same position
        mv(OTHER, 1, v("a"), true); // the same value under another parent
        assertEq(game.claimCount(), 4, "three moves");
    }

    // ---- §3.3: the split linking rule ------------------------------------------------------

    function test_lowerRootAttackMustDiffer() public {
        mv(CHALLENGER, 0, v("c1"), true);
        mv(PROPOSER, 1, v("p2"), true); // 2: split claim at pos 4
        mvReverts(
            CHALLENGER,
            2,
            v("p2"),
            true,
            abi.encodeWithSelector(SplitRootMismatch.selector, 2, v("p2"), false)
        );
        mv(CHALLENGER, 2, v("c3"), true);
    }

    function test_lowerRootDefenceRestatesItsSide() public {
        mv(CHALLENGER, 0, v("c1"), true); // 1: pos 2
        mv(PROPOSER, 1, v("p2"), true); // 2: pos 4, tx 0; tx 1's claim is at pos 5 -> claim 1
        // Defending 2 disputes tx 1, claimed by claim 1 on the defender's side: restate it.
        mvReverts(
            CHALLENGER,
            2,
            v("other"),
            false,
            abi.encodeWithSelector(SplitRootMismatch.selector, 1, v("c1"), true)
        );
        mv(CHALLENGER, 2, v("c1"), false);
        assertEq(position(3), 10, "defence of 4 is 10");
        (uint64 txIndex, bytes32 agreed) = game.lowerContext(3);
        assertEq(txIndex, 1, "disputes tx 1");
        assertEq(agreed, Claim.unwrap(v("p2")), "after the split claim");
    }

    function test_lowerRootDefenceDisputesTheOtherSide() public {
        mv(CHALLENGER, 0, v("c1"), true); // 1: pos 2
        mv(PROPOSER, 1, v("p2"), false); // 2: pos 6 (defence), tx 2; tx 3 is the root's
        mvReverts(
            CHALLENGER,
            2,
            ROOT,
            false,
            abi.encodeWithSelector(SplitRootMismatch.selector, 0, ROOT, false)
        );
        mv(CHALLENGER, 2, v("c3"), false);
        (uint64 txIndex, bytes32 agreed) = game.lowerContext(3);
        assertEq(txIndex, 3, "disputes tx 3");
        assertEq(agreed, Claim.unwrap(v("p2")), "after the split claim");
    }

    function test_lowerContextOfAnAttack() public {
        mv(CHALLENGER, 0, v("c1"), true); // pos 2
        mv(PROPOSER, 1, v("p2"), false); // pos 6: tx 2
        mv(CHALLENGER, 2, v("c3"), true); // pos 12 attacks the split claim at tx 2
        (uint64 txIndex, bytes32 agreed) = game.lowerContext(3);
        assertEq(txIndex, 2, "disputes tx 2");
        assertEq(agreed, Claim.unwrap(v("c1")), "after tx 1: the claim at pos 5 -> 2");
        attackFromZero();
    }

    function attackFromZero() internal {
        // tx 0's agreed state is the anchor.
        mv(CHALLENGER, 1, v("z2"), true); // pos 4: tx 0
        uint256 root = mv(PROPOSER, game.claimCount() - 1, v("z3"), true); // pos 8
        (uint64 txIndex, bytes32 agreed) = game.lowerContext(root);
        assertEq(txIndex, 0, "tx 0");
        assertEq(agreed, ANCHOR, "the anchor");
    }

    // ---- §4.3: chess clocks ----------------------------------------------------------------

    function test_clockRunsOutAtTheMaximum() public {
        vm.warp(T0 + MAX);
        mvReverts(
            CHALLENGER, 0, v("a"), true, abi.encodeWithSelector(ClockExpired.selector, 0, MAX, MAX)
        );
        vm.warp(T0 + MAX - 1);
        mv(CHALLENGER, 0, v("a"), true); // the last second is allowed
        assertEq(duration(1), MAX - 200, "capped: the mover keeps the split extension");
    }

    function test_clocksAccumulatePerSide() public {
        vm.warp(T0 + 50);
        mv(CHALLENGER, 0, v("c1"), true); // challenger used 50
        assertEq(duration(1), 50, "50 s");
        vm.warp(T0 + 80);
        mv(PROPOSER, 1, v("p2"), true); // proposer used 30
        assertEq(duration(2), 30, "30 s");
        vm.warp(T0 + 200);
        mv(CHALLENGER, 2, v("c3"), true); // challenger: 50 + 120
        assertEq(duration(3), 170, "170 s");
        assertEq(game.expiresAt(3), T0 + 200 + MAX - 30, "expiry of claim 3");
        vm.warp(T0 + 210);
        assertEq(game.challengerDuration(3), 40, "the proposer's side: 30 + 10");
    }

    function test_extensionsNearTheSplitAndTheBottom() public {
        // Normal extension: a claim at depth 2 made with 950 s used keeps 100 s.
        vm.warp(T0 + 10);
        mv(CHALLENGER, 0, v("c1"), true); // depth 1 (split - 1): cap MAX - 200
        vm.warp(T0 + 960);
        mv(PROPOSER, 1, v("p2"), true); // depth 2: proposer used 950, cap 900
        assertEq(duration(2), 900, "normal extension");
        mv(CHALLENGER, 2, v("c3"), true); // challenger: 10 used
        mv(PROPOSER, 3, v("p4"), true); // proposer: 900
        vm.warp(T0 + 960 + 985);
        uint256 i = mv(CHALLENGER, 4, v("c5"), true); // depth 5 = max - 1: 995 -> cap 700
        assertEq(duration(i), MAX - 300, "step extension");
        vm.warp(T0 + 960 + 985 + 99);
        i = mv(PROPOSER, 5, v("p6"), true); // depth 6: 900 + 99 -> cap 900
        assertEq(duration(i), MAX - 100, "normal extension at max depth");
    }

    // ---- §5: steps ------------------------------------------------------------------------

    function _witness(bytes32 pre, bytes32 post) internal pure returns (bytes memory) {
        return abi.encode(pre, post);
    }

    function test_stepAttackAtTheFirstLeafUsesTheAbsolutePrestate() public {
        attackToMaxDepth(); // claim 6 at pos 64: lower trace index 0 of tx 0
        bytes32 pre = keccak256(abi.encode(ANCHOR, uint64(0)));
        // A post-state equal to the claim does not counter it.
        vm.expectRevert(abi.encodeWithSelector(ValidStep.selector, 6, pre, Claim.unwrap(v("p6"))));
        game.step(6, true, _witness(pre, Claim.unwrap(v("p6"))));
        // The witness must open the pre-state.
        bytes memory reason = abi.encodeWithSelector(
            MockStepVerifier.WrongPrestate.selector, pre, bytes32(uint256(1))
        );
        vm.expectRevert(abi.encodeWithSelector(InvalidStep.selector, 6, reason));
        game.step(6, true, _witness(bytes32(uint256(1)), bytes32(0)));
        // Another post-state counters it.
        vm.prank(CHALLENGER);
        game.step(6, true, _witness(pre, keccak256("true")));
        assertEq(countered(6), CHALLENGER, "countered by the stepper");
        vm.expectRevert(abi.encodeWithSelector(DuplicateStep.selector, 6, CHALLENGER));
        game.step(6, true, _witness(pre, keccak256("true")));
    }

    function test_stepPrestateFailure() public {
        attackToMaxDepth();
        verifier.setFailPrestate(true);
        bytes memory reason = abi.encodeWithSelector(MockStepVerifier.NoPrestate.selector);
        vm.expectRevert(abi.encodeWithSelector(Prestate.selector, 0, reason));
        game.step(6, true, _witness(bytes32(0), bytes32(0)));
    }

    function test_stepDefence() public {
        attackToMaxDepth();
        // Defending claim 6 (pos 64, t = 0): pre = its value, post claim = pos 65 -> 32: claim 5,
        // on the other side: the step counters iff the result equals claim 5's value.
        bytes32 pre = Claim.unwrap(v("p6"));
        vm.expectRevert(abi.encodeWithSelector(ValidStep.selector, 6, pre, keccak256("x")));
        game.step(6, false, _witness(pre, keccak256("x")));
        game.step(6, false, _witness(pre, Claim.unwrap(v("c5"))));
        assertEq(countered(6), address(this), "countered");
    }

    function test_stepAttackFromAnInnerLeaf() public {
        mv(CHALLENGER, 0, v("c1"), true);
        mv(PROPOSER, 1, v("p2"), true);
        mv(CHALLENGER, 2, v("c3"), true); // 3: pos 8
        mv(PROPOSER, 3, v("p4"), true); // 4: pos 16
        mv(CHALLENGER, 4, v("c5"), false); // 5: pos 34
        mv(PROPOSER, 5, v("p6"), true); // 6: pos 68, t = 4; t - 1 = pos 67 -> 33 -> 16: claim 4
        bytes32 pre = Claim.unwrap(v("p4"));
        game.step(6, true, _witness(pre, keccak256("y")));
        assertEq(countered(6), address(this), "countered");
    }

    function test_stepNeedsMaxDepth() public {
        mv(CHALLENGER, 0, v("c1"), true);
        vm.expectRevert(abi.encodeWithSelector(NotAtMaxDepth.selector, 1, 1, 6));
        game.step(1, true, "");
    }

    function test_stepAfterTheClock() public {
        attackToMaxDepth();
        vm.warp(T0 + 10 * MAX);
        vm.expectRevert(abi.encodeWithSelector(ClockExpired.selector, 6, MAX, MAX));
        game.step(6, true, "");
    }

    // ---- §6, §7: resolution and credits -------------------------------------------------

    function test_resolutionWaitsForTheClock() public {
        vm.warp(T0 + MAX - 1);
        vm.expectRevert(abi.encodeWithSelector(ClockNotExpired.selector, 0, 1));
        game.resolveClaim(0);
        vm.expectRevert(RootNotResolved.selector);
        game.resolve();
    }

    function test_unchallengedRootStands() public {
        vm.expectRevert(GameNotResolved.selector);
        game.claimCredit(PROPOSER);
        vm.warp(T0 + MAX);
        game.resolveClaim(0);
        vm.expectRevert(abi.encodeWithSelector(AlreadyResolved.selector, 0));
        game.resolveClaim(0);
        assertEq(uint256(game.resolve()), uint256(GameStatus.DEFENDER_WINS), "defender wins");
        vm.expectRevert(GameNotInProgress.selector);
        game.resolve();
        mvReverts(
            CHALLENGER, 0, v("late"), true, abi.encodeWithSelector(GameNotInProgress.selector)
        );
        assertEq(game.claimCredit(PROPOSER), 100, "root bond back");
        assertEq(PROPOSER.balance, 100, "paid");
        vm.expectRevert(abi.encodeWithSelector(NoCredit.selector, PROPOSER));
        game.claimCredit(PROPOSER);
    }

    function test_childrenFirst() public {
        mv(CHALLENGER, 0, v("c1"), true);
        vm.warp(T0 + 5 * MAX);
        vm.expectRevert(abi.encodeWithSelector(OutOfOrderResolution.selector, 0, 1));
        game.resolveClaim(0);
        game.resolveClaim(1);
        game.resolveClaim(0);
        assertEq(uint256(game.resolve()), uint256(GameStatus.CHALLENGER_WINS), "root countered");
        assertEq(countered(0), CHALLENGER, "by the challenger");
        assertEq(game.credit(CHALLENGER), 100 + 200, "both bonds");
        assertEq(game.credit(PROPOSER), 0, "nothing");
    }

    function test_leftMostUncounteredChildTakesTheBond() public {
        mv(CHALLENGER, 0, v("c1"), true); // 1: pos 2
        mv(PROPOSER, 1, v("p2"), false); // 2: pos 6, uncountered
        mv(OTHER, 1, v("o3"), true); // 3: pos 4, left of 2, countered below
        mv(PROPOSER, 3, v("p4"), true); // 4: counters 3
        vm.warp(T0 + 5 * MAX);
        resolveAll();
        assertEq(countered(3), PROPOSER, "3 countered by 4");
        assertEq(countered(1), PROPOSER, "1 countered by 2, the left-most uncountered");
        assertEq(countered(0), address(0), "the root stands");
        assertEq(uint256(game.resolve()), uint256(GameStatus.DEFENDER_WINS), "defender wins");
        // The proposer: root 100 + claim 1 (200) + claim 3 (400) + its own 2 and 4 (400, 800).
        assertEq(game.credit(PROPOSER), 100 + 200 + 400 + 400 + 800, "proposer");
        assertEq(game.credit(CHALLENGER) + game.credit(OTHER), 0, "nothing for the losers");
    }

    function test_amongEqualPositionsTheFirstMadeCounters() public {
        mv(CHALLENGER, 0, v("c1"), true); // 1
        mv(OTHER, 0, v("o2"), true); // 2: same position, made later
        vm.warp(T0 + 5 * MAX);
        resolveAll();
        assertEq(countered(0), CHALLENGER, "the first made");
        assertEq(game.credit(CHALLENGER), 100 + 200, "root bond and own");
        assertEq(game.credit(OTHER), 200, "its own bond back");
    }

    function test_steppedLeafGoesToTheStepper() public {
        attackToMaxDepth();
        bytes32 pre = keccak256(abi.encode(ANCHOR, uint64(0)));
        vm.prank(OTHER);
        game.step(6, true, _witness(pre, keccak256("true")));
        vm.warp(T0 + 10 * MAX);
        game.resolveClaim(6);
        assertEq(game.credit(OTHER), game.bond(6), "the stepper takes the leaf's bond");
        resolveAllFrom(5);
        // Claims 5, 3, 1 (the challenger's) stand once 6 is countered; the root falls.
        assertEq(uint256(game.resolve()), uint256(GameStatus.CHALLENGER_WINS), "challenger wins");
    }

    function resolveAllFrom(uint256 last) internal {
        for (uint256 i = last + 1; i > 0; i--) {
            game.resolveClaim(i - 1);
        }
    }

    function test_creditToARejectingRecipient() public {
        Rejecter r = new Rejecter();
        DisputeGame g = factory.create{value: 100}(ROOT, ANCHOR, BATCH, address(r));
        vm.warp(T0 + MAX);
        g.resolveClaim(0);
        g.resolve();
        vm.expectRevert(abi.encodeWithSelector(TransferFailed.selector, address(r), 100));
        g.claimCredit(address(r));
    }

    // ---- fuzz -----------------------------------------------------------------------------

    /// Every bond is the floor of the previous times the growth (§4.4), for any valid growth.
    function testFuzz_bondGrowth(uint128 base, uint32 bps, uint8 depth) public pure {
        base = uint128(bound(base, 0, type(uint64).max));
        bps = uint32(bound(bps, 10_000, 100_000));
        depth = uint8(bound(depth, 0, 20));
        uint256 b = LibGameParams.bondAt(base, bps, depth);
        uint256 next = LibGameParams.bondAt(base, bps, depth + 1);
        assertLe(next * 10_000, b * bps, "floor: below");
        assertTrue(b * bps < (next + 1) * 10_000, "floor: within one");
        assertLe(b, next, "non-decreasing");
    }

    /// A move's clock is the countering side's elapsed time capped below the maximum by the
    /// extension; at or past the maximum the move is rejected (§4.3).
    function testFuzz_clock(uint64 first, uint64 second) public {
        first = uint64(bound(first, 0, 2 * MAX));
        second = uint64(bound(second, 0, 2 * MAX));
        vm.warp(T0 + first);
        if (first >= MAX) {
            mvReverts(
                CHALLENGER,
                0,
                v("c"),
                true,
                abi.encodeWithSelector(ClockExpired.selector, 0, MAX, MAX)
            );
            return;
        }
        mv(CHALLENGER, 0, v("c"), true);
        uint64 cap1 = MAX - 200;
        assertEq(duration(1), first < cap1 ? first : cap1, "first clock");
        vm.warp(T0 + first + second);
        if (second >= MAX) {
            mvReverts(
                PROPOSER,
                1,
                v("p"),
                true,
                abi.encodeWithSelector(ClockExpired.selector, 1, MAX, MAX)
            );
            return;
        }
        mv(PROPOSER, 1, v("p"), true);
        assertEq(duration(2), second < MAX - 100 ? second : MAX - 100, "second clock");
    }

    /// Random attacks and defences: bonds are held exactly, and resolution credits every wei
    /// posted, nothing more (bonds conserved).
    function testFuzz_randomMovesConserveBonds(uint256 seed) public {
        uint256 posted = 100;
        address[3] memory who = [PROPOSER, CHALLENGER, OTHER];
        for (uint256 n = 0; n < 12; n++) {
            seed = uint256(keccak256(abi.encode(seed, n)));
            uint256 parent = seed % game.claimCount();
            (,,,,, Position p,,) = game.claimData(parent);
            uint8 d = _depth(p);
            bool isAttack = (seed >> 8) % 3 != 0 || parent == 0 || d == 3;
            if (d >= 6) continue;
            Claim value = Claim.wrap(bytes32(seed >> 16 & 0xff));
            uint256 b = game.bond(d + 1);
            address actor = who[(seed >> 32) % 3];
            vm.deal(actor, actor.balance + b);
            vm.prank(actor);
            try game.move{value: b}(parent, value, isAttack) {
                posted += b;
            } catch {}
            vm.warp(block.timestamp + (seed >> 40) % 300);
        }
        assertEq(address(game).balance, posted, "every bond held");
        vm.warp(block.timestamp + 10 * MAX);
        resolveAll();
        game.resolve();
        uint256 credits = game.credit(PROPOSER) + game.credit(CHALLENGER) + game.credit(OTHER);
        assertEq(credits, posted, "credits = bonds");
    }
}

/// A recipient that rejects every payment.
contract Rejecter {
    receive() external payable {
        revert("no");
    }
}
