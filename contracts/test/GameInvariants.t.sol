// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {SyntheticStepVerifier} from "./doubles/SyntheticStepVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {Claim, Clock, GameParams, GameStatus} from "../src/lib/Types.sol";
import {LibPosition, Position} from "../src/lib/LibPosition.sol";

/// @notice The true traces of a small synthetic proposal (transactions of 3, 0 and 5 steps),
///         as `refute_engine::game::SyntheticProposal` builds them, over the
///         `SyntheticStepVerifier` double: the honest player's knowledge.
contract SyntheticTruth {
    uint64[3] internal LENGTHS = [uint64(3), 0, 5];
    SyntheticStepVerifier public immutable VERIFIER;
    bytes32 public immutable ANCHOR;
    /// states[k][i] = (remaining, acc) of S_i of transaction k.
    mapping(uint256 => mapping(uint256 => bytes32)) internal _acc;

    constructor() {
        uint64[] memory lengths = new uint64[](3);
        for (uint256 k = 0; k < 3; k++) {
            lengths[k] = LENGTHS[k];
        }
        VERIFIER = new SyntheticStepVerifier(lengths);
        ANCHOR = VERIFIER.commitment(0, keccak256(abi.encodePacked("anchor", uint64(1))));
        bytes32 agreed = ANCHOR;
        for (uint64 k = 0; k < 3; k++) {
            bytes32 acc = keccak256(abi.encodePacked(agreed, k));
            _acc[k][0] = acc;
            for (uint64 r = LENGTHS[k]; r > 0; r--) {
                acc = keccak256(abi.encodePacked(acc, r));
                _acc[k][LENGTHS[k] - r + 1] = acc;
            }
            agreed = VERIFIER.commitment(0, acc);
        }
    }

    /// S_i of transaction k with the padding of game.md §3.2, as (remaining, acc).
    function state(uint256 k, uint256 i) public view returns (uint64 remaining, bytes32 acc) {
        if (k >= 3) return (0, _acc[2][LENGTHS[2]]);
        uint64 n = LENGTHS[k];
        if (i > n) i = n;
        return (n - uint64(i), _acc[k][i]);
    }

    function commitmentOf(uint256 k, uint256 i) public view returns (bytes32) {
        (uint64 r, bytes32 acc) = state(k, i);
        return VERIFIER.commitment(r, acc);
    }

    /// C_k with the padding of §3.1.
    function stateAfter(uint256 k) public view returns (bytes32) {
        if (k > 2) k = 2;
        return commitmentOf(k, LENGTHS[k]);
    }

    function witness(uint256 k, uint256 i) external view returns (bytes memory) {
        (uint64 r, bytes32 acc) = state(k, i);
        return abi.encodePacked(r, acc);
    }
}

/// @notice Drives one game with an honest player (as `refute_engine::game::honest`) answering
///         every adversary action at once, so that the honest side can never be out-timed.
contract GameHandler is TestBase {
    using LibPosition for Position;

    address public constant HONEST = address(0x1111);
    uint8 internal constant SPLIT = 2;
    uint8 internal constant MAX_DEPTH = 6;
    uint256 internal constant L = 8;

    DisputeGame public game;
    SyntheticTruth public truth;
    address[3] internal adversaries = [address(0xAD1), address(0xAD2), address(0xAD3)];

    /// Ghosts: every wei posted as a bond, and every wei paid out as credit.
    uint256 public posted;
    uint256 public paid;
    bool public rootIsTrue;

    constructor(DisputeGameFactory factory, SyntheticTruth truth_, bool honestRoot) {
        truth = truth_;
        bytes32 trueRoot = truth.stateAfter(3);
        rootIsTrue = honestRoot;
        Claim root = Claim.wrap(honestRoot ? trueRoot : keccak256("a wrong root"));
        vm.deal(address(this), 100);
        game = factory.create{value: 100}(
            root, truth.ANCHOR(), bytes32(0), honestRoot ? HONEST : adversaries[0]
        );
        posted = 100;
        honestAct();
    }

    function allActors() external view returns (address[4] memory a) {
        a = [HONEST, adversaries[0], adversaries[1], adversaries[2]];
    }

    // ---- the fuzzed actions -----------------------------------------------------------------

    /// An adversary moves: against any claim, with the true value or a lie.
    function adversaryMove(uint256 parentSeed, bool isAttack, uint8 lie, uint8 who) external {
        uint256 n = game.claimCount();
        uint256 parent = parentSeed % n;
        (,,,,, Position p,,) = game.claimData(parent);
        if (p.depth() >= MAX_DEPTH) return;
        Position next = isAttack ? p.attack() : _defendOrSelf(p);
        if (Position.unwrap(next) == Position.unwrap(p)) return;
        bytes32 value =
            lie % 3 == 0 ? keccak256(abi.encode("lie", lie)) : _value(next, _moveTx(parent, next));
        _move(adversaries[who % 3], parent, Claim.wrap(value), isAttack);
        honestAct();
    }

    /// An adversary steps against any max-depth claim, with the true witness of either side.
    function adversaryStep(uint256 claimSeed, bool isAttack, uint8 who) external {
        uint256 n = game.claimCount();
        uint256 index = claimSeed % n;
        (,,,,, Position p,,) = game.claimData(index);
        if (p.depth() != MAX_DEPTH) return;
        uint256 t = uint256(p.traceIndex(MAX_DEPTH)) % L;
        uint256 k = _txOf(index);
        bytes memory w = truth.witness(k, isAttack ? t : t + 1);
        vm.prank(adversaries[who % 3]);
        try game.step(index, isAttack, w) {} catch {}
        honestAct();
    }

    /// Time passes (the honest player has answered everything).
    function warp(uint16 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 600));
        honestAct();
    }

    /// Anyone resolves what can be resolved, children first, and claims credits.
    function resolveAll() external {
        for (uint256 i = game.claimCount(); i > 0; i--) {
            try game.resolveClaim(i - 1) {} catch {}
        }
        try game.resolve() {} catch {}
        if (game.status() != GameStatus.IN_PROGRESS) {
            address[4] memory all = this.allActors();
            for (uint256 a = 0; a < 4; a++) {
                try game.claimCredit(all[a]) returns (uint256 amount) {
                    paid += amount;
                } catch {}
            }
        }
    }

    // ---- the honest player ------------------------------------------------------------------

    struct View {
        uint256[] parent;
        Position[] pos;
        bytes32[] value;
        address[] counteredBy;
        bool[] resolved;
        uint256[] txs;
        bool[] agree;
        bool[] supported;
        bool[] target;
        bool[] answered;
    }

    /// The honest player's moves and steps now: counter every claim it must counter (the wrong
    /// root, every child of a claim it supports) that no supported child answers yet.
    function honestAct() public {
        if (game.status() != GameStatus.IN_PROGRESS) return;
        View memory w = _view();
        uint256 n = w.pos.length;
        for (uint256 i = 0; i < n; i++) {
            if (!w.target[i] || w.resolved[i]) continue;
            if (w.pos[i].depth() == MAX_DEPTH) {
                if (w.counteredBy[i] != address(0)) continue;
                bool atk = !w.agree[i];
                uint256 t = uint256(w.pos[i].traceIndex(MAX_DEPTH)) % L;
                bytes memory wit = truth.witness(w.txs[i], atk ? t : t + 1);
                vm.prank(HONEST);
                try game.step(i, atk, wit) {} catch {}
                continue;
            }
            if (w.answered[i]) continue;
            (bool ok, Position response) = _response(w, i);
            if (!ok) continue;
            bytes32 value = _value(response, _moveTx(i, response));
            _move(HONEST, i, Claim.wrap(value), !w.agree[i]);
        }
    }

    function _view() internal view returns (View memory w) {
        uint256 n = game.claimCount();
        w.parent = new uint256[](n);
        w.pos = new Position[](n);
        w.value = new bytes32[](n);
        w.counteredBy = new address[](n);
        w.resolved = new bool[](n);
        w.txs = new uint256[](n);
        w.agree = new bool[](n);
        w.supported = new bool[](n);
        w.target = new bool[](n);
        w.answered = new bool[](n);
        for (uint256 i = 0; i < n; i++) {
            Claim value;
            (w.parent[i], w.counteredBy[i],,, value, w.pos[i],, w.resolved[i]) = game.claimData(i);
            w.value[i] = Claim.unwrap(value);
            if (i > 0) w.txs[i] = _txFromParent(w, i);
            w.agree[i] = _value(w.pos[i], w.txs[i]) == w.value[i];
            if (i == 0) {
                w.supported[i] = w.agree[i];
                w.target[i] = !w.agree[i];
            } else {
                uint256 p = w.parent[i];
                w.target[i] = w.supported[p];
                (bool ok, Position response) = _response(w, p);
                w.supported[i] = w.target[p] && w.agree[i] && ok
                    && Position.unwrap(response) == Position.unwrap(w.pos[i]);
                if (w.supported[i]) w.answered[p] = true;
            }
        }
    }

    /// Where the honest player counters claim `i`: defend if it agrees, else attack; nothing
    /// when it agrees with a claim that cannot be defended (the root, a lower root).
    function _response(View memory w, uint256 i) internal pure returns (bool, Position) {
        uint8 d = w.pos[i].depth();
        if (w.agree[i]) {
            if (i == 0 || d == SPLIT + 1) return (false, w.pos[i]);
            return (true, w.pos[i].defend());
        }
        return (true, w.pos[i].attack());
    }

    function _txFromParent(View memory w, uint256 i) internal pure returns (uint256) {
        uint8 d = w.pos[i].depth();
        uint256 p = w.parent[i];
        if (d == SPLIT + 1) {
            uint256 k = w.pos[p].indexAtDepth();
            return Position.unwrap(w.pos[i]) == Position.unwrap(w.pos[p].attack()) ? k : k + 1;
        }
        return d > SPLIT + 1 ? w.txs[p] : 0;
    }

    /// The disputed transaction of claim `index` (its lower subgame's), 0 above the split.
    function _txOf(uint256 index) internal view returns (uint256) {
        (uint256 parent,,,,, Position p,,) = game.claimData(index);
        if (p.depth() <= SPLIT) return 0;
        return _moveTx(parent, p);
    }

    function _moveTx(uint256 parent, Position next) internal view returns (uint256) {
        uint8 d = next.depth();
        if (d <= SPLIT) return 0;
        if (d == SPLIT + 1) {
            (,,,,, Position pp,,) = game.claimData(parent);
            uint256 k = pp.indexAtDepth();
            return Position.unwrap(next) == Position.unwrap(pp.attack()) ? k : k + 1;
        }
        return _txOf(parent);
    }

    /// The true value at `p` (game.md §8.1): C_k at or above the split, S_{t+1} of `k` below.
    function _value(Position p, uint256 k) internal view returns (bytes32) {
        if (p.depth() <= SPLIT) return truth.stateAfter(p.traceIndex(SPLIT));
        uint256 t = uint256(p.traceIndex(MAX_DEPTH)) % L;
        return truth.commitmentOf(k, t + 1);
    }

    function _defendOrSelf(Position p) internal pure returns (Position) {
        uint128 x = Position.unwrap(p);
        if (x & (x + 1) == 0) return p;
        return p.defend();
    }

    function _move(address who, uint256 parent, Claim value, bool isAttack) internal {
        (,,,,, Position p,,) = game.claimData(parent);
        uint256 b = game.bond(p.depth() + 1);
        vm.deal(who, who.balance + b);
        vm.prank(who);
        try game.move{value: b}(parent, value, isAttack) {
            posted += b;
        } catch {}
    }
}

/// @notice Invariants of a game played by an honest player against adversaries (issue 6): bonds
///         are conserved (nothing created or lost), an honest claim is never countered or
///         resolved against its claimant, and a resolved game resolves as the truth says.
abstract contract GameInvariantsBase is TestBase {
    GameHandler internal handler;

    function _honestRoot() internal pure virtual returns (bool);

    function setUp() public {
        vm.warp(1_700_000_000);
        SyntheticTruth truth = new SyntheticTruth();
        GameParams memory params = GameParams({
            maxDepth: 6,
            splitDepth: 2,
            maxClockDuration: 1000,
            clockExtension: 100,
            splitClockExtension: 200,
            stepClockExtension: 300,
            baseBond: 100,
            bondGrowthBps: 20_000
        });
        DisputeGameFactory factory = new DisputeGameFactory(params, truth.VERIFIER());
        handler = new GameHandler(factory, truth, _honestRoot());
    }

    /// Only the handler is fuzzed.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_bondsConserved() public view {
        DisputeGame game = handler.game();
        assertEq(address(game).balance + handler.paid(), handler.posted(), "held + paid = posted");
        uint256 owed;
        address[4] memory all = handler.allActors();
        for (uint256 a = 0; a < 4; a++) {
            owed += game.credit(all[a]);
        }
        for (uint256 i = 0; i < game.claimCount(); i++) {
            (,,, uint256 b,,,, bool resolved) = game.claimData(i);
            if (!resolved) owed += b;
        }
        assertEq(owed, address(game).balance, "credits + unresolved bonds = balance");
    }

    function invariant_honestClaimsStand() public view {
        DisputeGame game = handler.game();
        for (uint256 i = 0; i < game.claimCount(); i++) {
            (, address counteredBy, address claimant,,,,,) = game.claimData(i);
            if (claimant == handler.HONEST()) {
                assertEq(counteredBy, address(0), "an honest claim was countered");
            }
        }
    }

    function invariant_outcomeIsTheTruth() public view {
        GameStatus status = handler.game().status();
        if (status == GameStatus.IN_PROGRESS) return;
        GameStatus expected =
            handler.rootIsTrue() ? GameStatus.DEFENDER_WINS : GameStatus.CHALLENGER_WINS;
        assertEq(uint256(status), uint256(expected), "resolved against the truth");
    }
}

contract HonestRootInvariants is GameInvariantsBase {
    function _honestRoot() internal pure override returns (bool) {
        return true;
    }
}

contract WrongRootInvariants is GameInvariantsBase {
    function _honestRoot() internal pure override returns (bool) {
        return false;
    }
}
