//! The engine's error type.

use std::path::PathBuf;

/// A `Result` whose error defaults to the engine's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the engine. Each message says what was wrong and, where
/// there is one, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Ethereum test corpus is not where it was looked for.
    #[error(
        "Ethereum tests not found at {}: set REFUTE_ETH_TESTS to the folder that holds \
         GeneralStateTests/ and BlockchainTests/ (a checkout of ethereum/tests)",
        path.display()
    )]
    CorpusNotFound {
        /// The folder that was looked at.
        path: PathBuf,
    },
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON of the expected test format.
    #[error("{} is not a valid {format} file: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The expected format, e.g. `state test`.
        format: &'static str,
        /// The parse error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A fork name that refute does not know.
    #[error("unknown fork `{0}`: expected a hard-fork name such as Shanghai, Cancun or Prague")]
    UnknownFork(String),
    /// A position that cannot exist in the game tree (index wider than its depth, depth past
    /// the maximum, or the zero index).
    #[error("invalid position: depth {depth}, index at depth {index_at_depth}")]
    InvalidPosition {
        /// The depth given.
        depth: u8,
        /// The index at that depth given.
        index_at_depth: u128,
    },
    /// More leaves than a fixed-depth tree holds, or an index past its end.
    #[error("a Merkle tree of depth {depth} holds 2^{depth} leaves; {leaves} requested")]
    TreeOverflow {
        /// The tree's depth.
        depth: u8,
        /// The number of leaves (or the index + 1) requested.
        leaves: u64,
    },
    /// A trie witness lacks a node the operation must read (spec §2.4).
    #[error("trie witness is missing node {0}: the proof does not cover this key's path")]
    MissingProofNode(alloy_primitives::B256),
    /// A trie node that is not a valid Merkle-Patricia node.
    #[error("malformed trie node: {0}")]
    MalformedTrieNode(&'static str),
    /// A step witness that does not verify against the pre-state commitment: the step cannot
    /// be executed with it (it is never executed wrongly).
    #[error("invalid step witness: {0}")]
    BadWitness(&'static str),
    /// The trace's world could not be rebuilt from the recorded journal (a trie error, which a
    /// world built by the recorder does not produce).
    #[error("the trace's world could not be rebuilt: {0}")]
    WorldReplay(String),
    /// A step this version of the one-step executor does not execute.
    #[error("unsupported step: opcode 0x{opcode:02x} ({reason})")]
    UnsupportedStep {
        /// The opcode at the program counter (0 for micro-steps).
        opcode: u8,
        /// Why it is not executed.
        reason: &'static str,
    },
    /// A step index past the end of a trace.
    #[error("step {index} is past the end of the trace ({len} steps): ask for 0..={len}")]
    TraceIndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The trace's length in steps.
        len: u64,
    },
    /// A machine trace ([`crate::trace::MachineTrace`]) asked of a recording that lacks what
    /// the boundary steps read.
    #[error("the machine trace needs {0}")]
    MachineTraceNeeds(&'static str),
    /// The prover's boundary steps (spec §6–§8) and revm's recording of the same transaction
    /// disagree: the machine trace cannot be built (a defect of refute, never of the input).
    #[error(
        "the step machine and revm's recording disagree at instruction {instruction}: {reason}"
    )]
    TraceDiverged {
        /// The revm instruction index (counted over every frame) where the disagreement shows.
        instruction: u64,
        /// What differs.
        reason: String,
    },
    /// Code longer than the machine's code tree holds (spec §2.2).
    #[error("code of {size} bytes exceeds the step machine's bound of 131072 bytes (spec §2.2)")]
    CodeTooLarge {
        /// The code's size in bytes.
        size: usize,
    },
    /// A test case whose contents cannot describe a valid execution (a field out of range,
    /// an index past the end of a list, an undecodable block).
    #[error("invalid test case {case}: {reason}")]
    InvalidCase {
        /// The case, as `file::test[d,g,v]` or `file::test`.
        case: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A batch that cannot be a chain on its anchor (docs/spec/batch.md): undecodable bytes,
    /// a wrong version, a pre-state that does not hash to the anchor's state root, blocks out
    /// of order. Invalid transactions are not this error: a batch skips them.
    #[error("malformed batch: {0}")]
    MalformedBatch(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid_case(case: impl ToString, reason: impl ToString) -> Self {
        Self::InvalidCase { case: case.to_string(), reason: reason.to_string() }
    }
}
