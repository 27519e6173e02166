//! The bisection game's model. Every rule here is mirrored line by line by the L1 contracts
//! (`contracts/src/`), and the two are tested against each other.

mod position;

pub use position::Position;
