// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Claim} from "./Types.sol";
import {Position} from "./LibPosition.sol";

// Why the game rejects an action. One error per variant of `refute_engine::game::GameError`,
// of the same name; each names the rule of docs/spec/game.md it enforces. Claim indices are
// `uint256`, times and durations seconds, bonds wei.

/// @notice Parameters that break an invariant of §1 (depths, clocks, bonds).
error InvalidParams(string reason);

/// @notice The game is resolved: no more moves, steps or claim resolutions (§6.3).
error GameNotInProgress();

/// @notice Credits are paid only after the game is resolved (§7).
error GameNotResolved();

/// @notice A claim index past the end of the claim list.
error UnknownClaim(uint256 index, uint256 len);

/// @notice A move against a claim at the maximum depth: counter it with a step (§4.1).
error MaxDepthReached(uint256 index, uint8 maxDepth);

/// @notice A step against a claim above the maximum depth (§5.1).
error NotAtMaxDepth(uint256 index, uint8 depth, uint8 maxDepth);

/// @notice A defence of the root claim or of a lower-level root (depth split + 1), which commit
///         to the last state of their level: attack them or leave them (§4.2).
error CannotDefendRoot(uint256 index);

/// @notice A lower-level root whose value breaks the split linking rule (§3.3): it must equal
///         (`mustEqual`) or differ from the value `disputed` of claim `against`.
error SplitRootMismatch(uint256 against, Claim disputed, bool mustEqual);

/// @notice A bond other than the exact required amount (§4.4), in wei.
error WrongBond(uint8 depth, uint256 expected, uint256 paid);

/// @notice The countering side's chess clock has run out for this claim (§4.3).
error ClockExpired(uint256 index, uint64 elapsed, uint64 max);

/// @notice A claim resolved while it could still be countered (§6.1); `remaining` seconds.
error ClockNotExpired(uint256 index, uint64 remaining);

/// @notice An action timestamped before the claim it acts on (§4.1); never on a real L1.
error TimeBeforeClaim(uint256 index, uint64 now, uint64 timestamp);

/// @notice The same value at the same position under the same parent already exists (§4.5).
error DuplicateClaim(uint256 parent, Position position, Claim value);

/// @notice A step against a claim a step already countered (§5.3).
error DuplicateStep(uint256 index, address by);

/// @notice A defending step at the last leaf of a lower subgame, which has no post-state (§5.2).
error DefendLastLeaf(uint256 index);

/// @notice The step's result does not counter the claim (§5.3).
error ValidStep(uint256 index, bytes32 pre, bytes32 post);

/// @notice The step verifier rejected the witness (§5.2); `reason` is its revert data.
error InvalidStep(uint256 index, bytes reason);

/// @notice A claim resolved twice (§6.1).
error AlreadyResolved(uint256 index);

/// @notice A claim resolved before its children (§6.1): `unresolved` children remain.
error OutOfOrderResolution(uint256 index, uint256 unresolved);

/// @notice The game resolved before its root claim (§6.3).
error RootNotResolved();

/// @notice A credit claim with nothing to pay (§7).
error NoCredit(address recipient);

/// @notice No ancestor of claim `index` commits to `position`'s trace index (§2.3).
error MissingTraceAncestor(uint256 index, Position position);

/// @notice The step verifier could not compute a lower level's absolute pre-state (§3.2).
error Prestate(uint64 txIndex, bytes reason);

/// @notice Paying `amount` wei to `recipient` failed (the recipient reverted).
error TransferFailed(address recipient, uint256 amount);
