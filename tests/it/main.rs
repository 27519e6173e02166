//! Workspace integration tests: one binary (see the house style), one module per area.

mod batch;
mod conformance;
mod contracts;
mod machine_trace;
mod mpt_fixtures;
mod replay;
mod trace;
mod verifier;
