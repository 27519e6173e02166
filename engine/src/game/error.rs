//! Why the game rejects an action. Every variant is a rule of `docs/spec/game.md`; the
//! contract reverts with the custom error of the same name.

use super::Position;
use alloy_primitives::{Address, B256};

/// A `Result` whose error defaults to [`GameError`].
pub type GameResult<T, E = GameError> = core::result::Result<T, E>;

/// An action the game rejects, or a game that cannot be set up. Each message names the rule
/// (spec `game.md` section) and what to do instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GameError {
    /// Parameters that break an invariant of §1 (depths, clocks, bonds).
    #[error("invalid game parameters: {0} (game.md §1)")]
    InvalidParams(&'static str),
    /// The game is resolved: no more moves, steps or claim resolutions (§6.3).
    #[error("the game is already resolved (game.md §6.3)")]
    GameNotInProgress,
    /// Credits are paid only after the game is resolved (§7).
    #[error("the game is not resolved yet: resolve it before claiming credit (game.md §7)")]
    GameNotResolved,
    /// A claim index past the end of the claim list.
    #[error("no claim {index}: the game has {len} claims")]
    UnknownClaim {
        /// The index given.
        index: usize,
        /// The number of claims.
        len: usize,
    },
    /// A move below the maximum depth; counter a claim at the maximum depth with a step (§4.1).
    #[error(
        "claim {index} is at the maximum depth {max_depth}: counter it with a step (game.md §4.1)"
    )]
    MaxDepthReached {
        /// The claim moved against.
        index: usize,
        /// The game's maximum depth.
        max_depth: u8,
    },
    /// A step against a claim above the maximum depth (§5.1).
    #[error(
        "claim {index} is at depth {depth}, not the maximum depth {max_depth}: steps counter only max-depth claims (game.md §5.1)"
    )]
    NotAtMaxDepth {
        /// The claim stepped against.
        index: usize,
        /// Its depth.
        depth: u8,
        /// The game's maximum depth.
        max_depth: u8,
    },
    /// A defence of the root claim or of a lower-level root (depth split + 1), which commit to
    /// the last state of their level: attack them or leave them (§4.2).
    #[error(
        "claim {index} commits to the last state of its level and cannot be defended: attack it (game.md §4.2)"
    )]
    CannotDefendRoot {
        /// The claim defended.
        index: usize,
    },
    /// A lower-level root (depth split + 1) whose value breaks the split linking rule (§3.3).
    #[error("the first claim below the split must {} the value {disputed} of claim {against} (game.md §3.3)", if *must_equal { "equal" } else { "differ from" })]
    SplitRootMismatch {
        /// The claim whose value the root is checked against (the parent for an attack, the
        /// disputed transaction's claim for a defence).
        against: usize,
        /// That claim's value.
        disputed: B256,
        /// Whether the root must equal it (`true`) or differ from it.
        must_equal: bool,
    },
    /// A bond other than the exact required amount (§4.4), in wei.
    #[error(
        "a claim at depth {depth} needs a bond of exactly {expected} wei, {paid} wei paid (game.md §4.4)"
    )]
    WrongBond {
        /// The new claim's depth.
        depth: u8,
        /// The required bond, in wei.
        expected: u128,
        /// The bond paid, in wei.
        paid: u128,
    },
    /// The countering side's chess clock has run out for this claim (§4.3).
    #[error(
        "the clock to counter claim {index} ran out: {elapsed} s used of {max} s (game.md §4.3)"
    )]
    ClockExpired {
        /// The claim countered.
        index: usize,
        /// The countering side's elapsed time, in seconds (capped at the maximum).
        elapsed: u64,
        /// The maximum clock duration, in seconds.
        max: u64,
    },
    /// A claim resolved while it could still be countered (§6.1).
    #[error(
        "claim {index} can still be countered for {remaining} s: resolve it after its clock runs out (game.md §6.1)"
    )]
    ClockNotExpired {
        /// The claim.
        index: usize,
        /// Seconds left on the countering side's clock.
        remaining: u64,
    },
    /// An action timestamped before the claim it acts on (time never runs backwards on L1).
    #[error("time {now} s is before claim {index}'s timestamp {timestamp} s")]
    TimeBeforeClaim {
        /// The claim.
        index: usize,
        /// The action's time, in seconds.
        now: u64,
        /// The claim's timestamp, in seconds.
        timestamp: u64,
    },
    /// The same value at the same position under the same parent already exists (§4.5).
    #[error(
        "claim {value} at position {position} under claim {parent} already exists (game.md §4.5)"
    )]
    DuplicateClaim {
        /// The parent.
        parent: usize,
        /// The position.
        position: Position,
        /// The value.
        value: B256,
    },
    /// A step against a claim a step already countered (§5.3).
    #[error("claim {index} was already countered by a step from {by} (game.md §5.3)")]
    DuplicateStep {
        /// The claim.
        index: usize,
        /// Who stepped.
        by: Address,
    },
    /// A defending step at the last leaf of a lower subgame, which has no post-state (§5.2).
    #[error(
        "claim {index} is the last leaf of its subgame: a defending step has no post-state (game.md §5.2)"
    )]
    DefendLastLeaf {
        /// The claim.
        index: usize,
    },
    /// The step's result does not counter the claim (§5.3): the claim is consistent with
    /// the step.
    #[error(
        "the step against claim {index} does not counter it: step({pre}) = {post} is consistent with the claim (game.md §5.3)"
    )]
    ValidStep {
        /// The claim.
        index: usize,
        /// The pre-state commitment.
        pre: B256,
        /// The post-state the verifier computed.
        post: B256,
    },
    /// The step verifier rejected the witness (it does not open the pre-state, or the step
    /// cannot be executed): the step is not taken (§5.2).
    #[error("the step against claim {index} was rejected by the verifier: {source} (game.md §5.2)")]
    InvalidStep {
        /// The claim.
        index: usize,
        /// The verifier's error.
        #[source]
        source: crate::Error,
    },
    /// A claim resolved twice (§6.1).
    #[error("claim {index} is already resolved (game.md §6.1)")]
    AlreadyResolved {
        /// The claim.
        index: usize,
    },
    /// A claim resolved before one of its children (§6.1): resolve bottom-up.
    #[error(
        "claim {index} has an unresolved child {child}: resolve the child first (game.md §6.1)"
    )]
    OutOfOrderResolution {
        /// The claim.
        index: usize,
        /// Its unresolved child.
        child: usize,
    },
    /// The game resolved before its root claim (§6.3).
    #[error("the root claim is not resolved yet (game.md §6.3)")]
    RootNotResolved,
    /// A credit claim with nothing to pay (§7).
    #[error("{recipient} has no credit to claim (game.md §7)")]
    NoCredit {
        /// The recipient.
        recipient: Address,
    },
    /// The claim a rule needs among a claim's ancestors is missing (a claim list not built by
    /// these rules, e.g. a hand-edited transcript).
    #[error(
        "no ancestor of claim {index} commits to position {position}'s trace index (game.md §2.3)"
    )]
    MissingTraceAncestor {
        /// The claim searched from.
        index: usize,
        /// The position searched for.
        position: Position,
    },
    /// The step verifier could not compute a lower level's absolute pre-state (§3.2).
    #[error(
        "the absolute pre-state of transaction {tx} cannot be computed: {source} (game.md §3.2)"
    )]
    Prestate {
        /// The disputed transaction's index.
        tx: u64,
        /// The verifier's error.
        #[source]
        source: crate::Error,
    },
    /// A player's trace could not answer (an index out of range, a state it cannot build).
    #[error("the trace cannot answer: {0}")]
    Trace(#[source] crate::Error),
}

impl GameError {
    /// The rule's name: the variant's name, which is also the name of the contract's custom
    /// error for it (`contracts/src/lib/Errors.sol`), as transcripts record rejections.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::InvalidParams(_) => "InvalidParams",
            Self::GameNotInProgress => "GameNotInProgress",
            Self::GameNotResolved => "GameNotResolved",
            Self::UnknownClaim { .. } => "UnknownClaim",
            Self::MaxDepthReached { .. } => "MaxDepthReached",
            Self::NotAtMaxDepth { .. } => "NotAtMaxDepth",
            Self::CannotDefendRoot { .. } => "CannotDefendRoot",
            Self::SplitRootMismatch { .. } => "SplitRootMismatch",
            Self::WrongBond { .. } => "WrongBond",
            Self::ClockExpired { .. } => "ClockExpired",
            Self::ClockNotExpired { .. } => "ClockNotExpired",
            Self::TimeBeforeClaim { .. } => "TimeBeforeClaim",
            Self::DuplicateClaim { .. } => "DuplicateClaim",
            Self::DuplicateStep { .. } => "DuplicateStep",
            Self::DefendLastLeaf { .. } => "DefendLastLeaf",
            Self::ValidStep { .. } => "ValidStep",
            Self::InvalidStep { .. } => "InvalidStep",
            Self::AlreadyResolved { .. } => "AlreadyResolved",
            Self::OutOfOrderResolution { .. } => "OutOfOrderResolution",
            Self::RootNotResolved => "RootNotResolved",
            Self::NoCredit { .. } => "NoCredit",
            Self::MissingTraceAncestor { .. } => "MissingTraceAncestor",
            Self::Prestate { .. } => "Prestate",
            Self::Trace(_) => "Trace",
        }
    }
}
