//! The dispute game (spec `docs/spec/game.md`): positions, claims, moves, chess clocks,
//! bonds, the two-level split (transaction level above the split depth, step level below),
//! steps, resolution and credits — modelled exactly as the L1 contract runs them, with the
//! honest player, adversaries for testing and a simulator.
//!
//! Every rule here is mirrored line by line by the L1 contract (`contracts/src/`); each doc
//! comment cites its section of the spec. Time is always an input (`now`, seconds).
//!
//! - [`Game`] the rules; [`GameParams`] depths, clocks and bonds; [`Position`] the tree.
//! - [`TopTrace`], [`StepTrace`], [`StepVerifier`]: what the game needs from the two levels
//!   (Engine II plugs in here); [`SyntheticProposal`] a test double,
//!   [`RecordedProposal`] the real lower level over engine traces.
//! - [`honest`]: the honest player; [`adversary`]: the strategies it is tested against;
//!   [`simulate`]: complete games and their transcripts.

pub mod adversary;
mod error;
pub mod honest;
mod model;
mod params;
mod position;
mod recorded;
pub mod simulate;
mod synthetic;
mod traces;

pub use error::{GameError, GameResult};
pub use model::{Applied, Claim, Game, GameStatus, LowerContext, Move, StepOutcome};
pub use params::{BPS, Clock, GameParams};
pub use position::Position;
pub use recorded::{MachineVerifier, MachineWitness, RecordedProposal, RecordedTx, demo_batch};
pub use synthetic::{SyntheticProposal, SyntheticState, SyntheticTx, SyntheticVerifier};
pub use traces::{
    StepTrace, StepVerifier, TopTrace, padded_commitment, padded_state_after, padded_witness,
};

#[cfg(test)]
mod tests;
