//! # refute-engine
//!
//! The engine of refute, a fraud-proof dispute game for EVM optimistic rollups: it replays
//! L2 transactions with [revm](https://github.com/bluealloy/revm), computes the Ethereum
//! commitments a proposal claims (state roots, logs and receipts), and models the bisection
//! game that narrows a disputed state transition to a single EVM step.
//!
//! ## Design
//!
//! The engine owns the semantics that the L1 contracts must mirror: commitments
//! ([`state_root`], [`logs_hash`]), positions in the game tree ([`game::Position`]), and (in
//! later versions) the step machine, its witnesses and the one-step executor. It does no I/O
//! beyond reading corpus and fixture files it is pointed at: no network, no L1 client, no
//! global state. It never panics on input: malformed files, cases and transactions are
//! typed [`Error`]s. It never hashes per step on a hot path.
//!
//! - [`corpus`] finds and loads the canonical Ethereum state and blockchain tests.
//! - [`conformance`] replays them with plain revm and checks the roots refute computes.
//! - [`game`] is the dispute game of `docs/spec/game.md`: the model, the honest player,
//!   adversaries and the simulator.
//! - [`machine`] is the step machine of `docs/spec/step-machine.md`, starting with its
//!   primitive commitments (word trees, code trees, the stack chain).
//! - [`trace`] records a transaction cheaply and builds the commitment to any machine state,
//!   or the witness of any step, on demand (the lazy trace).
//! - [`workload`] sets up the heavy benchmark transactions (snailtracer) beside the corpus.

mod eip7610;
mod error;
mod state_root;
mod transaction;

pub mod batch;
pub mod conformance;
pub mod corpus;
pub mod game;
pub mod machine;
pub mod trace;
pub mod workload;

pub use corpus::{BlockchainTest, StateTestCase};
pub use eip7610::{Eip7610, StorageProbe};
pub use error::{Error, Result};
pub use state_root::{AccountLeaf, logs_hash, state_root, storage_root};
pub use transaction::{RecoveredTx, signed_envelope};
