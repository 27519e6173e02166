// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibPosition, Position} from "./lib/LibPosition.sol";
import {Claim, Clock, Duration, GameParams, GameStatus, LibClock, Timestamp} from "./lib/Types.sol";
import {LibGameParams} from "./lib/LibGameParams.sol";
import {IStepVerifier} from "./interfaces/IStepVerifier.sol";
import "./lib/Errors.sol";

/// @title  DisputeGame
/// @notice One bisection dispute game over a proposal's claimed state (docs/spec/game.md): a
///         tree of claims at generalized-index positions, attacks and defences bonded by depth,
///         a transaction level down to the split depth and a step level below it, chess clocks
///         with extensions, one-step counters through an `IStepVerifier`, bottom-up subgame
///         resolution and credits. Rule for rule `refute_engine::game::Game`; every function
///         names the section it implements and reverts with the model's error of the same name.
/// @dev    Deployed by `DisputeGameFactory`. The root claim (index 0, position 1) belongs to the
///         proposer and is bonded at creation with exactly `bond(0)` wei. Storage per claim, all
///         written by its move: its bookkeeping slot by index (claimant, parent, left-most
///         uncountered resolved child, unresolved children, flags), its value by index, and its
///         node — position and clocks — under the duplicate key `keccak256(parent, isDefence,
///         value)` (§4.5), so the duplicate check costs no slot of its own. A step writes its
///         stepper. Positions of ancestors are computed from a descendant's position and the
///         ancestors' attack/defence flags, never read. Who countered a claim with children is
///         derived: the claimant of its left-most uncountered child, once resolved.
///         Durations are stored in 32 bits (`maxClockDuration < 2^32` s, `LibGameParams`).
contract DisputeGame {
    using LibPosition for Position;
    using LibClock for Clock;

    /// @notice A claim's bookkeeping slot, by index.
    struct ClaimData {
        address claimant;
        uint32 parentIndex;
        uint32 counterChild; // 1 + index of the left-most uncountered resolved child, 0 if none
        uint24 unresolved; // children not resolved yet (16.7M children cannot be paid for)
        uint8 flags; // HAS_CHILDREN | RESOLVED | DEFENCE
    }

    /// @notice A claim's position and clocks, under its duplicate key.
    struct Node {
        Position position; // never 0 for a claim that exists
        uint32 duration; // its claimant side's clock duration (§4.3), seconds
        uint32 parentDuration; // its parent's clock duration: the countering side's, seconds
        uint64 timestamp; // when it was made, seconds
    }

    /// @notice `flags` bit: the claim has been countered by a move.
    uint8 internal constant HAS_CHILDREN = 1;
    /// @notice `flags` bit: the claim's subgame is resolved.
    uint8 internal constant RESOLVED = 2;
    /// @notice `flags` bit: the claim defends its parent (else attacks it, or is the root).
    uint8 internal constant DEFENCE = 4;

    /// @notice The parent index stored for the root claim.
    uint32 internal constant NO_PARENT = type(uint32).max;

    /// @notice Deepest claim depth.
    uint8 public immutable MAX_DEPTH;
    /// @notice Deepest depth of the transaction level.
    uint8 public immutable SPLIT_DEPTH;
    /// @notice Most time, in seconds, one side's chess clock may accumulate.
    uint64 public immutable MAX_CLOCK_DURATION;
    /// @notice Time, in seconds, a side keeps for its next move after any move.
    uint64 public immutable CLOCK_EXTENSION;
    /// @notice The same after a move at depth `SPLIT_DEPTH - 1`, in seconds.
    uint64 public immutable SPLIT_CLOCK_EXTENSION;
    /// @notice The same after a move at depth `MAX_DEPTH - 1`, in seconds.
    uint64 public immutable STEP_CLOCK_EXTENSION;
    /// @notice Bond of the root claim, in wei.
    uint128 public immutable BASE_BOND;
    /// @notice Bond growth per depth, in basis points.
    uint32 public immutable BOND_GROWTH_BPS;
    /// @notice The step verifier of the lower level.
    IStepVerifier public immutable VERIFIER;
    /// @notice The agreed transaction-level state before the proposal (§3.1).
    bytes32 public immutable ANCHOR;
    /// @notice keccak256 of the proposal's batch, passed to the verifier.
    bytes32 public immutable BATCH_HASH;
    /// @notice When the game was created, in seconds.
    uint64 public immutable CREATED_AT;

    /// @notice The game's status (§6.3).
    GameStatus public status;
    /// @notice The number of claims.
    uint32 public claimCount;
    /// @notice When the game was resolved, in seconds (0 while in progress).
    uint64 public resolvedAt;

    mapping(uint256 index => ClaimData) internal _claims;
    mapping(uint256 index => Claim) internal _values;
    mapping(bytes32 key => Node) internal _nodes;
    mapping(uint256 index => address) internal _steppers;
    /// @notice Unclaimed credit per recipient, in wei (§7).
    mapping(address recipient => uint256 amount) public credit;

    /// @notice A claim was made: the root at creation (`parentIndex = type(uint256).max`) or a
    ///         move. Everything else about it is readable with `claimData(index)`.
    event Move(
        uint256 indexed index, uint256 indexed parentIndex, address indexed claimant, Claim value
    );
    /// @notice A step countered max-depth claim `index` (§5).
    event Step(uint256 indexed index, bool isAttack, address indexed stepper, bytes32 post);
    /// @notice Subgame `index` was resolved: `amount` wei credited to `recipient` (§6.1).
    event ClaimResolved(uint256 indexed index, address indexed recipient, uint256 amount);
    /// @notice The game was resolved (§6.3).
    event Resolved(GameStatus indexed status);
    /// @notice `amount` wei of credit paid to `recipient` (§7).
    event CreditClaimed(address indexed recipient, uint256 amount);

    /// @notice Creates a game whose root claim `rootClaim` is `proposer`'s, bonded with the value
    ///         sent, which must be exactly `bond(0)` wei (§2.1).
    /// @param  params_   The game's parameters (§1); reverts `InvalidParams` when they break §1.1.
    /// @param  verifier  The lower level's step verifier.
    /// @param  anchor    The agreed state before the proposal.
    /// @param  batchHash keccak256 of the proposal's batch.
    /// @param  rootClaim The proposal's claimed state (an output root).
    /// @param  proposer  The root claim's claimant (credited if the root stands).
    constructor(
        GameParams memory params_,
        IStepVerifier verifier,
        bytes32 anchor,
        bytes32 batchHash,
        Claim rootClaim,
        address proposer
    ) payable {
        LibGameParams.validate(params_);
        uint256 expected = LibGameParams.bond(params_, 0);
        if (msg.value != expected) revert WrongBond(0, expected, msg.value);
        MAX_DEPTH = params_.maxDepth;
        SPLIT_DEPTH = params_.splitDepth;
        MAX_CLOCK_DURATION = params_.maxClockDuration;
        CLOCK_EXTENSION = params_.clockExtension;
        SPLIT_CLOCK_EXTENSION = params_.splitClockExtension;
        STEP_CLOCK_EXTENSION = params_.stepClockExtension;
        BASE_BOND = params_.baseBond;
        BOND_GROWTH_BPS = params_.bondGrowthBps;
        VERIFIER = verifier;
        ANCHOR = anchor;
        BATCH_HASH = batchHash;
        CREATED_AT = uint64(block.timestamp);

        ClaimData storage root = _claims[0];
        root.claimant = proposer;
        root.parentIndex = NO_PARENT;
        _values[0] = rootClaim;
        _nodes[_key(NO_PARENT, false, rootClaim)] = Node({
            position: Position.wrap(1),
            duration: 0,
            parentDuration: 0,
            timestamp: uint64(block.timestamp)
        });
        claimCount = 1;
        emit Move(0, type(uint256).max, proposer, rootClaim);
    }

    // ---- views ---------------------------------------------------------------------------

    /// @notice The game's parameters (§1).
    function params() public view returns (GameParams memory) {
        return GameParams({
            maxDepth: MAX_DEPTH,
            splitDepth: SPLIT_DEPTH,
            maxClockDuration: MAX_CLOCK_DURATION,
            clockExtension: CLOCK_EXTENSION,
            splitClockExtension: SPLIT_CLOCK_EXTENSION,
            stepClockExtension: STEP_CLOCK_EXTENSION,
            baseBond: BASE_BOND,
            bondGrowthBps: BOND_GROWTH_BPS
        });
    }

    /// @notice The bond of a claim at `depth`, in wei (§4.4). Reverts `InvalidParams` past
    ///         `MAX_DEPTH`.
    function bond(uint8 depth) public view returns (uint256) {
        if (depth > MAX_DEPTH) revert InvalidParams("no bond past max_depth");
        return LibGameParams.bondAt(BASE_BOND, BOND_GROWTH_BPS, depth);
    }

    /// @notice Claim `index`: its parent (`type(uint256).max` for the root), who countered it
    ///         (zero if none), claimant, bond (wei), value, position (generalized index), clock
    ///         (`duration << 64 | timestamp`, seconds) and whether its subgame is resolved.
    ///         Reverts `UnknownClaim` past the end.
    function claimData(uint256 index)
        external
        view
        returns (
            uint256 parentIndex,
            address counteredBy,
            address claimant,
            uint256 bondAmount,
            Claim value,
            Position position,
            Clock clock,
            bool resolved
        )
    {
        ClaimData storage c = _claim(index);
        parentIndex = c.parentIndex == NO_PARENT ? type(uint256).max : c.parentIndex;
        counteredBy = _counteredBy(index);
        claimant = c.claimant;
        resolved = c.flags & RESOLVED != 0;
        value = _values[index];
        Node storage n = _node(index);
        position = n.position;
        bondAmount = bond(position.depth());
        clock = LibClock.wrap(Duration.wrap(n.duration), Timestamp.wrap(n.timestamp));
    }

    /// @notice Whether claim `index` has been countered by a move, and how many of the claims
    ///         countering it are not resolved yet.
    function childCounts(uint256 index)
        external
        view
        returns (bool hasChildren, uint256 unresolved)
    {
        ClaimData storage c = _claim(index);
        return (c.flags & HAS_CHILDREN != 0, c.unresolved);
    }

    /// @notice The time, in seconds, the side countering claim `index` has used at the current
    ///         block (§4.3), capped at `MAX_CLOCK_DURATION`. Reverts `UnknownClaim`.
    function challengerDuration(uint256 index) external view returns (uint64) {
        _claim(index);
        return _elapsed(index, _node(index));
    }

    /// @notice The time, in seconds, at which claim `index`'s countering clock runs out: it can
    ///         be countered before it and resolved from it (§4.3, §6.1). Reverts `UnknownClaim`.
    function expiresAt(uint256 index) external view returns (uint64) {
        _claim(index);
        Node storage n = _node(index);
        return n.timestamp + MAX_CLOCK_DURATION - n.parentDuration;
    }

    // ---- moves (§4) ----------------------------------------------------------------------

    /// @notice Counters claim `parentIndex` at its attack position `2p` with `value` (§4.1),
    ///         paying exactly `bond(depth + 1)` wei. Reverts with the first rule broken, in
    ///         the order of §4.1.
    /// @return index The new claim's index.
    function attack(uint256 parentIndex, Claim value) external payable returns (uint256 index) {
        return _move(parentIndex, value, true);
    }

    /// @notice Counters claim `parentIndex` at its defence position `2(p + 1)` with `value`
    ///         (§4.1), paying exactly `bond(depth + 1)` wei. Reverts `CannotDefendRoot` for the
    ///         root and the lower roots (§4.2); otherwise as `attack`.
    /// @return index The new claim's index.
    function defend(uint256 parentIndex, Claim value) external payable returns (uint256 index) {
        return _move(parentIndex, value, false);
    }

    /// @notice `attack` when `isAttack`, else `defend`.
    /// @return index The new claim's index.
    function move(uint256 parentIndex, Claim value, bool isAttack)
        external
        payable
        returns (uint256 index)
    {
        return _move(parentIndex, value, isAttack);
    }

    function _move(uint256 parentIndex, Claim value, bool isAttack) internal returns (uint256) {
        Node memory node = _checkMove(parentIndex, value, isAttack);
        // 8. §4.5: no duplicate (parent, position, value): the node's key.
        Node storage slot = _nodes[_key(parentIndex, !isAttack, value)];
        if (Position.unwrap(slot.position) != 0) {
            revert DuplicateClaim(parentIndex, node.position, value);
        }
        slot.position = node.position;
        slot.duration = node.duration;
        slot.parentDuration = node.parentDuration;
        slot.timestamp = node.timestamp;

        uint32 index = claimCount;
        claimCount = index + 1;
        ClaimData storage c = _claims[index];
        c.claimant = msg.sender;
        c.parentIndex = uint32(parentIndex);
        if (!isAttack) c.flags = DEFENCE;
        _values[index] = value;
        ClaimData storage parent = _claims[parentIndex];
        parent.unresolved += 1;
        parent.flags |= HAS_CHILDREN;
        emit Move(index, parentIndex, msg.sender, value);
        return index;
    }

    /// §4.1 rules 1-7: the new claim's node (position and clocks).
    function _checkMove(uint256 parentIndex, Claim value, bool isAttack)
        internal
        view
        returns (Node memory node)
    {
        // 1. in progress; the parent exists.
        _requireInProgress();
        _claim(parentIndex);
        Node storage parent = _node(parentIndex);
        Position parentPos = parent.position;
        uint8 depth = parentPos.depth();
        // 2. above the maximum depth.
        if (depth >= MAX_DEPTH) revert MaxDepthReached(parentIndex, MAX_DEPTH);
        // 3. §4.2: the root and each lower root commit to their level's last state.
        if (!isAttack) {
            uint128 raw = Position.unwrap(parentPos);
            if (parentIndex == 0 || depth == SPLIT_DEPTH + 1 || raw & (raw + 1) == 0) {
                revert CannotDefendRoot(parentIndex);
            }
        }
        // 4. the new position.
        node.position = isAttack ? parentPos.attack() : parentPos.defend();
        uint8 newDepth = depth + 1;
        // 5. §3.3 at the first depth below the split.
        if (newDepth == SPLIT_DEPTH + 1) _checkSplitRoot(parentIndex, parentPos, value, isAttack);
        // 6. §4.4: the exact bond.
        uint256 expected = bond(newDepth);
        if (msg.value != expected) revert WrongBond(newDepth, expected, msg.value);
        // 7. §4.3: the countering side's clock; the mover keeps the extension for its next move.
        uint64 elapsed = _requireClock(parentIndex, parent);
        uint64 cap = MAX_CLOCK_DURATION - _extension(newDepth);
        node.duration = uint32(elapsed < cap ? elapsed : cap);
        node.parentDuration = parent.duration;
        node.timestamp = uint64(block.timestamp);
    }

    /// §3.3: the value rule of the first claim below the split.
    function _checkSplitRoot(uint256 splitIndex, Position splitPos, Claim value, bool isAttack)
        internal
        view
    {
        Claim splitValue = _values[splitIndex];
        if (isAttack) {
            // Attacking a split claim: the transaction it commits to ends elsewhere.
            if (Claim.unwrap(value) == Claim.unwrap(splitValue)) {
                revert SplitRootMismatch(splitIndex, splitValue, false);
            }
            return;
        }
        // Defending a split claim at k: the dispute is transaction k + 1, whose claimed result
        // is the trace ancestor committing to k + 1.
        Position next = Position.wrap(Position.unwrap(splitPos) + 1);
        (uint256 disputed, Position disputedPos) = _findTraceAncestor(splitIndex, splitPos, next, 0);
        Claim d = _values[disputed];
        bool sameSide = (splitPos.depth() - disputedPos.depth()) % 2 == 0;
        bool mustEqual = !sameSide;
        if ((Claim.unwrap(value) == Claim.unwrap(d)) != mustEqual) {
            revert SplitRootMismatch(disputed, d, mustEqual);
        }
    }

    // ---- steps (§5) ----------------------------------------------------------------------

    /// @notice Counters the max-depth claim `index` by one step (§5): an attack steps into the
    ///         claim (from the state before it), a defence out of it (from its value). The
    ///         verifier computes the post-state from the pre-state and `witness`; the step
    ///         counters the claim per §5.3 and records the caller as its counter. Posts no bond.
    ///         Reverts, in order: `GameNotInProgress`, `UnknownClaim`, `NotAtMaxDepth`,
    ///         `ClockExpired`, `DuplicateStep`, `DefendLastLeaf`, `Prestate`, `InvalidStep`,
    ///         `ValidStep`.
    function step(uint256 index, bool isAttack, bytes calldata witness) external {
        Position position = _checkStepTarget(index);
        (bytes32 pre, uint256 postIndex, Position postPos) = _stepInputs(index, position, isAttack);
        bytes32 post = _runStep(index, pre, witness);
        // §5.3 (as Optimism): the post claim on the stepped claim's side must equal the step's
        // result, on the other side must differ; the step counters when it does not.
        bool sameSide = (position.depth() - postPos.depth()) % 2 == 0;
        bool consistent = post == Claim.unwrap(_values[postIndex]);
        if (sameSide == consistent) revert ValidStep(index, pre, post);
        _steppers[index] = msg.sender;
        emit Step(index, isAttack, msg.sender, post);
    }

    /// §5.1: the game in progress, the claim at the maximum depth, its clock running, no step
    /// yet; returns its position.
    function _checkStepTarget(uint256 index) internal view returns (Position position) {
        _requireInProgress();
        _claim(index);
        Node storage n = _node(index);
        position = n.position;
        uint8 depth = position.depth();
        if (depth != MAX_DEPTH) revert NotAtMaxDepth(index, depth, MAX_DEPTH);
        _requireClock(index, n);
        address stepper = _steppers[index];
        if (stepper != address(0)) revert DuplicateStep(index, stepper);
    }

    /// §5.2: `verifier.step(pre, witness)`; a revert rejects the step (`InvalidStep`).
    function _runStep(uint256 index, bytes32 pre, bytes calldata witness)
        internal
        view
        returns (bytes32)
    {
        try VERIFIER.step(pre, witness) returns (bytes32 post) {
            return post;
        } catch (bytes memory reason) {
            revert InvalidStep(index, reason);
        }
    }

    /// §5.2: the step's pre-state and the claim (index, position) its post-state is checked
    /// against.
    function _stepInputs(uint256 index, Position position, bool isAttack)
        internal
        view
        returns (bytes32 pre, uint256 postIndex, Position postPos)
    {
        (uint64 txIndex, bytes32 agreed) = _lowerContext(index, position);
        uint256 lowerWidth = uint256(1) << (MAX_DEPTH - SPLIT_DEPTH - 1);
        uint256 t = uint256(position.traceIndex(MAX_DEPTH)) & (lowerWidth - 1);
        if (isAttack) {
            // The step into the claim: from S_t (the claim at t - 1, or S_0) to the claim.
            if (t == 0) return (_prestate(txIndex, agreed), index, position);
            Position previous = Position.wrap(Position.unwrap(position) - 1);
            (uint256 before,) = _findTraceAncestor(index, position, previous, SPLIT_DEPTH + 1);
            return (Claim.unwrap(_values[before]), index, position);
        }
        // The step out of the claim: from the claim to the claim at t + 1.
        if (t + 1 >= lowerWidth) revert DefendLastLeaf(index);
        Position next = Position.wrap(Position.unwrap(position) + 1);
        (postIndex, postPos) = _findTraceAncestor(index, position, next, SPLIT_DEPTH + 1);
        pre = Claim.unwrap(_values[index]);
    }

    /// @notice The disputed transaction of claim `index`'s lower subgame and the agreed state
    ///         before it (§3.3). Reverts `UnknownClaim` for a claim at or above the split
    ///         depth.
    function lowerContext(uint256 index) external view returns (uint64 txIndex, bytes32 agreed) {
        _claim(index);
        return _lowerContext(index, _node(index).position);
    }

    function _lowerContext(uint256 index, Position position)
        internal
        view
        returns (uint64 txIndex, bytes32 agreed)
    {
        uint256 root = index;
        Position rootPos = position;
        if (rootPos.depth() <= SPLIT_DEPTH) revert UnknownClaim(index, claimCount);
        while (rootPos.depth() > SPLIT_DEPTH + 1) {
            (root, rootPos) = _parentOf(root, rootPos);
        }
        (uint256 splitIndex, Position splitPos) = _parentOf(root, rootPos);
        uint128 k = splitPos.indexAtDepth();
        if (_claims[root].flags & DEFENCE == 0) {
            // Attack on the split claim at k: transaction k, after C_{k-1} (or the anchor).
            if (k == 0) return (0, ANCHOR);
            Position previous = Position.wrap(Position.unwrap(splitPos) - 1);
            (uint256 before,) = _findTraceAncestor(splitIndex, splitPos, previous, 0);
            return (uint64(k), Claim.unwrap(_values[before]));
        }
        // Defence of the split claim at k: transaction k + 1, after the split claim.
        return (uint64(k) + 1, Claim.unwrap(_values[splitIndex]));
    }

    function _prestate(uint64 txIndex, bytes32 agreed) internal view returns (bytes32) {
        try VERIFIER.lowerPrestate(BATCH_HASH, agreed, txIndex) returns (bytes32 prestate) {
            return prestate;
        } catch (bytes memory reason) {
            revert Prestate(txIndex, reason);
        }
    }

    /// @notice The claim at or above `start` whose position is `position`'s trace ancestor
    ///         (§2.3), searching no higher than `minDepth`. Reverts `MissingTraceAncestor`.
    function findTraceAncestor(uint256 start, Position position, uint8 minDepth)
        external
        view
        returns (uint256 index)
    {
        _claim(start);
        (index,) = _findTraceAncestor(start, _node(start).position, position, minDepth);
    }

    /// The walk of §2.3 from claim `start` at `startPos`: each parent's position follows from
    /// its child's and the child's defence flag, so only bookkeeping slots are read.
    function _findTraceAncestor(uint256 start, Position startPos, Position position, uint8 minDepth)
        internal
        view
        returns (uint256 index, Position at)
    {
        Position target = _traceAncestor(position);
        uint8 targetDepth = target.depth();
        if (targetDepth < minDepth) revert MissingTraceAncestor(start, position);
        index = start;
        at = startPos;
        while (Position.unwrap(at) != Position.unwrap(target)) {
            if (at.depth() <= targetDepth || index == 0) {
                revert MissingTraceAncestor(start, position);
            }
            (index, at) = _parentOf(index, at);
        }
    }

    /// The parent of claim `index` at `position`: its index and position.
    function _parentOf(uint256 index, Position position) internal view returns (uint256, Position) {
        ClaimData storage c = _claims[index];
        uint128 up = Position.unwrap(position) >> 1;
        if (c.flags & DEFENCE != 0) up -= 1;
        return (c.parentIndex, Position.wrap(up));
    }

    /// `position` with its trailing one bits shifted out, stopping at the root (§2.3).
    function _traceAncestor(Position position) internal pure returns (Position) {
        uint128 p = Position.unwrap(position);
        // The lowest zero bit of p is the lowest set bit of ~p & (p + 1); its index is the
        // number of trailing ones (p < 2^127, so p + 1 does not overflow).
        uint128 lowestZero = ~p & (p + 1);
        uint8 ones = Position.wrap(lowestZero).depth();
        uint8 depth = position.depth();
        uint8 shift = ones < depth ? ones : depth;
        return Position.wrap(p >> shift);
    }

    // ---- resolution (§6) and credits (§7) ------------------------------------------------

    /// @notice Resolves the subgame rooted at claim `index` (§6.1) once its countering clock
    ///         has run out and all its children are resolved: a leaf goes to the stepper that
    ///         countered it, else its claimant; any other claim's bond goes to the claimant of
    ///         its left-most uncountered child (the first made among equals), else its own
    ///         claimant. Permissionless and paginated: one claim per call, children first.
    ///         Reverts `GameNotInProgress`, `UnknownClaim`, `ClockNotExpired`, `AlreadyResolved`,
    ///         `OutOfOrderResolution`.
    function resolveClaim(uint256 index) external {
        _requireInProgress();
        ClaimData storage c = _claim(index);
        Node storage n = _node(index);
        uint64 elapsed = _elapsed(index, n);
        if (elapsed < MAX_CLOCK_DURATION) {
            revert ClockNotExpired(index, MAX_CLOCK_DURATION - elapsed);
        }
        uint8 flags = c.flags;
        if (flags & RESOLVED != 0) revert AlreadyResolved(index);
        if (c.unresolved != 0) revert OutOfOrderResolution(index, c.unresolved);
        // A leaf keeps the stepper (§5.3); otherwise the left-most uncountered child counters.
        uint32 best = c.counterChild;
        address counteredBy = flags & HAS_CHILDREN == 0
            ? _steppers[index]
            : (best == 0 ? address(0) : _claims[best - 1].claimant);
        address recipient = counteredBy == address(0) ? c.claimant : counteredBy;
        uint256 amount = bond(n.position.depth());
        credit[recipient] += amount;
        c.flags = flags | RESOLVED;
        if (index != 0) {
            ClaimData storage parent = _claims[c.parentIndex];
            parent.unresolved -= 1;
            if (counteredBy == address(0)) {
                // A candidate counter of the parent: keep the left-most (attacks sit left of
                // defences), the first made among equal positions.
                uint32 other = parent.counterChild;
                if (other == 0 || _leftOf(index, flags, other - 1)) {
                    parent.counterChild = uint32(index) + 1;
                }
            }
        }
        emit ClaimResolved(index, recipient, amount);
    }

    /// Whether sibling `index` (with `flags`) sits left of sibling `other`, or at the same
    /// position and made first.
    function _leftOf(uint256 index, uint8 flags, uint256 other) internal view returns (bool) {
        bool defence = flags & DEFENCE != 0;
        bool otherDefence = _claims[other].flags & DEFENCE != 0;
        if (defence != otherDefence) return !defence;
        return index < other;
    }

    /// @notice Resolves the game once the root's subgame is resolved (§6.3): `DEFENDER_WINS` if
    ///         the root claim stands, else `CHALLENGER_WINS`. Reverts `GameNotInProgress`,
    ///         `RootNotResolved`.
    /// @return The final status.
    function resolve() external returns (GameStatus) {
        _requireInProgress();
        ClaimData storage root = _claims[0];
        if (root.flags & RESOLVED == 0) revert RootNotResolved();
        GameStatus result =
            _counteredBy(0) == address(0) ? GameStatus.DEFENDER_WINS : GameStatus.CHALLENGER_WINS;
        status = result;
        resolvedAt = uint64(block.timestamp);
        emit Resolved(result);
        return result;
    }

    /// @notice Pays `recipient`'s whole credit, in wei (§7). Anyone may call it for anyone.
    ///         Reverts `GameNotResolved` before `resolve`, `NoCredit` when there is nothing to
    ///         pay, `TransferFailed` when the recipient rejects the payment.
    /// @return amount The wei paid.
    function claimCredit(address recipient) external returns (uint256 amount) {
        if (status == GameStatus.IN_PROGRESS) revert GameNotResolved();
        amount = credit[recipient];
        if (amount == 0) revert NoCredit(recipient);
        credit[recipient] = 0;
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert TransferFailed(recipient, amount);
        emit CreditClaimed(recipient, amount);
    }

    // ---- internals -----------------------------------------------------------------------

    /// Who countered claim `index` (§5.3, §6.1): its stepper for a leaf; for a claim with
    /// children, once resolved, the claimant of its left-most uncountered child (none before).
    function _counteredBy(uint256 index) internal view returns (address) {
        ClaimData storage c = _claims[index];
        uint8 flags = c.flags;
        if (flags & HAS_CHILDREN == 0) return _steppers[index];
        uint32 best = c.counterChild;
        if (flags & RESOLVED == 0 || best == 0) return address(0);
        return _claims[best - 1].claimant;
    }

    function _requireInProgress() internal view {
        if (status != GameStatus.IN_PROGRESS) revert GameNotInProgress();
    }

    function _claim(uint256 index) internal view returns (ClaimData storage) {
        uint256 len = claimCount;
        if (index >= len) revert UnknownClaim(index, len);
        return _claims[index];
    }

    /// The duplicate key of a claim (§4.5): its parent, direction and value; its node lives
    /// under it.
    function _key(uint256 parentIndex, bool isDefence, Claim value)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(parentIndex, isDefence, value));
    }

    /// The node (position and clocks) of an existing claim `index`.
    function _node(uint256 index) internal view returns (Node storage) {
        ClaimData storage c = _claims[index];
        return _nodes[_key(c.parentIndex, c.flags & DEFENCE != 0, _values[index])];
    }

    /// §4.3: the countering side's elapsed time at this block, capped.
    function _elapsed(uint256 index, Node storage n) internal view returns (uint64) {
        uint64 made = n.timestamp;
        if (block.timestamp < made) revert TimeBeforeClaim(index, uint64(block.timestamp), made);
        uint256 elapsed = uint256(n.parentDuration) + (block.timestamp - made);
        return elapsed < MAX_CLOCK_DURATION ? uint64(elapsed) : MAX_CLOCK_DURATION;
    }

    /// §4.3: the elapsed time, which must be below the maximum.
    function _requireClock(uint256 index, Node storage n) internal view returns (uint64) {
        uint64 elapsed = _elapsed(index, n);
        if (elapsed >= MAX_CLOCK_DURATION) revert ClockExpired(index, elapsed, MAX_CLOCK_DURATION);
        return elapsed;
    }

    /// §4.3: the time guaranteed to the side making a claim at `depth`.
    function _extension(uint8 depth) internal view returns (uint64) {
        if (uint16(depth) + 1 == MAX_DEPTH) return STEP_CLOCK_EXTENSION;
        if (uint16(depth) + 1 == SPLIT_DEPTH) return SPLIT_CLOCK_EXTENSION;
        return CLOCK_EXTENSION;
    }
}
