// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A claim's value: a 32-byte state commitment (an output root at or above the split
///         depth, a step-machine state commitment below it). docs/spec/game.md §2.1.
type Claim is bytes32;

/// @notice A duration in seconds.
type Duration is uint64;

/// @notice A time in seconds (an L1 block timestamp).
type Timestamp is uint64;

/// @notice A claim's chess clock (docs/spec/game.md §4.3): the time its claimant's side had used
///         when the claim was made, and when it was made. Packed as `duration << 64 | timestamp`,
///         as `refute_engine::game::Clock` documents.
type Clock is uint128;

/// @notice The state of a game (docs/spec/game.md §6.3); the numbers are
///         `refute_engine::game::GameStatus`'s.
enum GameStatus {
    /// Moves, steps and claim resolutions are accepted.
    IN_PROGRESS,
    /// The root claim was countered: the proposal is rejected.
    CHALLENGER_WINS,
    /// The root claim stands: the proposal is accepted.
    DEFENDER_WINS
}

/// @notice Packing and unpacking of `Clock`.
library LibClock {
    /// @notice The clock of `duration` seconds used, made at `timestamp`.
    function wrap(Duration used, Timestamp madeAt) internal pure returns (Clock) {
        return
            Clock.wrap((uint128(Duration.unwrap(used)) << 64) | uint128(Timestamp.unwrap(madeAt)));
    }

    /// @notice The time the claimant's side had used, in seconds.
    function duration(Clock clock) internal pure returns (Duration) {
        return Duration.wrap(uint64(Clock.unwrap(clock) >> 64));
    }

    /// @notice When the claim was made, in seconds.
    function timestamp(Clock clock) internal pure returns (Timestamp) {
        return Timestamp.wrap(uint64(Clock.unwrap(clock)));
    }
}

/// @notice The parameters of a game (docs/spec/game.md §1); field for field
///         `refute_engine::game::GameParams`.
/// @param maxDepth            Deepest claim depth; claims there are countered only by a step.
/// @param splitDepth          Deepest depth of the transaction level.
/// @param maxClockDuration    Most time one side's chess clock may accumulate, in seconds.
/// @param clockExtension      Time a side keeps for its next move after any move, in seconds.
/// @param splitClockExtension The same after a move at depth `splitDepth - 1`, in seconds.
/// @param stepClockExtension  The same after a move at depth `maxDepth - 1`, in seconds.
/// @param baseBond            Bond of the root claim, in wei.
/// @param bondGrowthBps       Bond growth per depth, in basis points (10_000 = 1x).
struct GameParams {
    uint8 maxDepth;
    uint8 splitDepth;
    uint64 maxClockDuration;
    uint64 clockExtension;
    uint64 splitClockExtension;
    uint64 stepClockExtension;
    uint128 baseBond;
    uint32 bondGrowthBps;
}
