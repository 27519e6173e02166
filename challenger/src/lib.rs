//! # refute-challenger
//!
//! The operator side of refute: the watchtower that follows proposals on L1, replays them
//! with [`refute_engine`], challenges wrong output roots, plays every dispute game to the
//! end and defends honest proposals; and the `refute` command-line tools around it.
//!
//! ## Design
//!
//! This crate owns I/O: the L1 client, the local store, transaction management, metrics and
//! the CLI. It never re-implements what the engine defines (commitments, the step machine,
//! game rules): it asks the engine. EVM work runs in `spawn_blocking`, never on the async
//! runtime's threads. Secrets (private keys) are never logged.
//!
//! The library is still small: a blocking L1 client ([`L1Client`]: JSON-RPC over HTTP, local
//! EIP-1559 signing, receipts) and the contracts' deployer ([`deploy()`]); the watchtower
//! arrives with its issue. The binary `refute` lives in `src/main.rs` with one module per
//! subcommand under `src/cli/`.

mod deploy;
mod error;
mod l1;

pub use deploy::{DeployConfig, Deployment, deploy};
pub use error::{Error, Result};
pub use l1::{HttpRpc, L1Client, Receipt, Signer};

/// The environment variable prefix of every operator setting (`REFUTE_LOG`, `REFUTE_ETH_TESTS`,
/// ...). Precedence, lowest first: defaults, TOML file (once there is one), environment, flags.
pub const ENV_PREFIX: &str = "REFUTE_";
