//! Errors of the challenger library: talking to L1 and deploying contracts.

use alloy_primitives::B256;

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What went wrong talking to L1 or deploying refute's contracts. Each message says what to
/// check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The RPC URL is not `http://host[:port][/path]`.
    #[error(
        "unsupported L1 RPC URL {0:?}: use http://host[:port][/path] (https needs a local proxy)"
    )]
    BadUrl(String),
    /// The connection to the node failed.
    #[error("L1 RPC connection failed: {0} (is the node running at the RPC URL?)")]
    Io(#[from] std::io::Error),
    /// The node answered with something other than a JSON-RPC response.
    #[error("L1 RPC {method}: unexpected response: {detail}")]
    BadResponse {
        /// The method called.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// The node returned a JSON-RPC error.
    #[error("L1 RPC {method} failed: {message} (code {code})")]
    Rpc {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// A transaction was mined but reverted.
    #[error("transaction {tx} reverted on L1 (gas used {gas_used})")]
    Reverted {
        /// The transaction hash.
        tx: B256,
        /// The gas it used.
        gas_used: u64,
    },
    /// No receipt arrived in time.
    #[error("transaction {tx} was not mined within {seconds} s: check the node and the fees")]
    NotMined {
        /// The transaction hash.
        tx: B256,
        /// How long we waited, in seconds.
        seconds: u64,
    },
    /// The private key is not a valid secp256k1 scalar.
    #[error("invalid private key: expected 32 bytes of hex, a valid secp256k1 scalar")]
    BadKey,
    /// Game parameters that break `docs/spec/game.md` §1.
    #[error(transparent)]
    Params(#[from] refute_engine::game::GameError),
}
