//! Conformance runs: replays corpus cases with plain revm and checks the Ethereum
//! commitments refute computes ([`crate::state_root`], [`crate::logs_hash`], receipts roots)
//! against the corpus's expectations.
//!
//! This is the oracle the rest of refute stands on: the same state roots are what proposals
//! claim and what the dispute game bisects over. Transactions run through revm with the
//! [`Eip7610`](crate::Eip7610) inspector, the one rule of the corpus revm 43 lacks.

mod blockchain;
mod boundary;
mod state;
mod steps;
mod world;

pub use blockchain::{check_blockchain_test_steps, run_blockchain_test};
pub use state::{check_state_test_steps, run_state_test};
pub use steps::{StepChecker, StepReport, StepSelection, TxOutcome};

use crate::{AccountLeaf, Error};
use alloy_primitives::{Address, B256};
use revm::database::{CacheState, PlainAccount};

/// Why a case did not match the corpus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// The post-state root differs.
    #[error("state root {got}, expected {expected}{}", at_block(*block))]
    StateRoot {
        /// The root refute computed.
        got: B256,
        /// The root the corpus expects.
        expected: B256,
        /// For blockchain tests, the block number.
        block: Option<u64>,
    },
    /// The logs hash of a state test differs.
    #[error("logs hash {got}, expected {expected}")]
    LogsHash {
        /// The hash refute computed.
        got: B256,
        /// The hash the corpus expects.
        expected: B256,
    },
    /// The receipts root of a block differs.
    #[error("receipts root {got}, expected {expected} at block {block}")]
    ReceiptsRoot {
        /// The root refute computed.
        got: B256,
        /// The root the header commits to.
        expected: B256,
        /// The block number.
        block: u64,
    },
    /// The gas used by a block differs.
    #[error("block gas used {got}, expected {expected} at block {block}")]
    GasUsed {
        /// The gas refute counted.
        got: u64,
        /// The gas the header states.
        expected: u64,
        /// The block number.
        block: u64,
    },
    /// The hash of the last block differs from `lastblockhash`.
    #[error("last block hash {got}, expected {expected}")]
    LastBlockHash {
        /// The hash of the last decoded header.
        got: B256,
        /// The hash the corpus expects.
        expected: B256,
    },
    /// revm rejected a transaction the corpus says is valid.
    #[error("transaction rejected: {reason}{}", at_block(*block))]
    UnexpectedException {
        /// revm's error.
        reason: String,
        /// For blockchain tests, the block number.
        block: Option<u64>,
    },
    /// revm accepted a transaction the corpus says is invalid.
    #[error("transaction accepted, but the corpus expects {expected}")]
    MissingException {
        /// The exception the corpus names.
        expected: String,
    },
    /// The case itself cannot be run (see [`Error`]).
    #[error(transparent)]
    Invalid(#[from] Error),
}

fn at_block(block: Option<u64>) -> String {
    block.map(|b| format!(" at block {b}")).unwrap_or_default()
}

/// The state root of everything in a revm [`CacheState`] that exists (destroyed and
/// EIP-161-cleared accounts are not in the cache's trie view).
pub fn cache_state_root(cache: &CacheState) -> B256 {
    crate::state_root(cache.trie_account().into_iter().map(|(address, account)| {
        let leaf: (Address, AccountLeaf<_>) = (address, leaf(account));
        leaf
    }))
}

fn leaf(
    account: &PlainAccount,
) -> AccountLeaf<impl Iterator<Item = (alloy_primitives::U256, alloy_primitives::U256)> + '_> {
    AccountLeaf {
        nonce: account.info.nonce,
        balance: account.info.balance,
        code_hash: account.info.code_hash,
        storage: account.storage.iter().map(|(k, v)| (*k, *v)),
    }
}

/// The outcome of running a set of corpus files.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Cases run (state-test cases, or blockchain tests).
    pub cases: usize,
    /// Cases whose every commitment matched.
    pub matched: usize,
    /// Transactions executed (blockchain tests only).
    pub transactions: usize,
    /// Every case that did not match, as `(case, why)`, in file order. A file that cannot be
    /// read or parsed counts as one failed case named after the file.
    pub failures: Vec<(String, Mismatch)>,
}

impl Summary {
    /// Cases that did not match.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    fn merge(mut self, other: Self) -> Self {
        self.files += other.files;
        self.cases += other.cases;
        self.matched += other.matched;
        self.transactions += other.transactions;
        self.failures.extend(other.failures);
        self
    }
}

/// Runs every state-test case of `fork` in `files`, in parallel over files (rayon's global
/// pool). `on_file` is called once per file, from any thread, after it has run (for progress).
pub fn run_state_tests(
    files: &[std::path::PathBuf],
    fork: crate::corpus::Fork,
    on_file: &(dyn Fn(&std::path::Path) + Sync),
) -> Summary {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|path| {
            let mut summary = Summary { files: 1, ..Summary::default() };
            match crate::corpus::StateTestFile::load(path) {
                Ok(file) => {
                    for case in file.cases(fork) {
                        summary.cases += 1;
                        match run_state_test(&case) {
                            Ok(()) => summary.matched += 1,
                            Err(why) => summary.failures.push((case.to_string(), why)),
                        }
                    }
                }
                Err(e) => {
                    summary.cases += 1;
                    summary.failures.push((crate::corpus::display_path(path), e.into()));
                }
            }
            on_file(path);
            summary
        })
        .reduce(Summary::default, Summary::merge)
}

/// Runs every blockchain test of `fork` in `files`, in parallel over files. `on_file` is
/// called once per file after it has run.
pub fn run_blockchain_tests(
    files: &[std::path::PathBuf],
    fork: crate::corpus::Fork,
    on_file: &(dyn Fn(&std::path::Path) + Sync),
) -> Summary {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|path| {
            let mut summary = Summary { files: 1, ..Summary::default() };
            match crate::corpus::BlockchainTestFile::load(path) {
                Ok(file) => {
                    for test in file.tests(fork) {
                        summary.cases += 1;
                        match run_blockchain_test(&test) {
                            Ok(transactions) => {
                                summary.matched += 1;
                                summary.transactions += transactions;
                            }
                            Err(why) => summary.failures.push((test.to_string(), why)),
                        }
                    }
                }
                Err(e) => {
                    summary.cases += 1;
                    summary.failures.push((crate::corpus::display_path(path), e.into()));
                }
            }
            on_file(path);
            summary
        })
        .reduce(Summary::default, Summary::merge)
}

/// The outcome of a step-conformance run over a set of corpus files.
#[derive(Debug, Default)]
pub struct StepSummary {
    /// The roots verdicts, as for [`run_state_tests`].
    pub roots: Summary,
    /// The step checks, summed over every case.
    pub steps: StepReport,
}

/// Runs every state-test case of `fork` in `files` with every (or a sample of) step checked
/// against the one-step executor, in parallel over files; a file under a `BlockchainTests`
/// folder is read as blockchain tests, each a case whose every transaction is checked (see
/// [`check_blockchain_test_steps`]). `on_file` is called once per file.
pub fn run_step_checks(
    files: &[std::path::PathBuf],
    fork: crate::corpus::Fork,
    selection: StepSelection,
    on_file: &(dyn Fn(&std::path::Path) + Sync),
) -> StepSummary {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|path| {
            let started = std::time::Instant::now();
            let mut out = StepSummary::default();
            out.roots.files = 1;
            let blockchain = path.components().any(|c| c.as_os_str() == "BlockchainTests");
            if blockchain {
                match crate::corpus::BlockchainTestFile::load(path) {
                    Ok(file) => {
                        for test in file.tests(fork) {
                            out.roots.cases += 1;
                            let (roots, mut report) = check_blockchain_test_steps(&test, selection);
                            for m in &mut report.mismatches {
                                *m = format!("{test}: {m}");
                            }
                            out.steps.merge(report);
                            match roots {
                                Ok(transactions) => {
                                    out.roots.matched += 1;
                                    out.roots.transactions += transactions;
                                }
                                Err(why) => out.roots.failures.push((test.to_string(), why)),
                            }
                        }
                    }
                    Err(e) => {
                        out.roots.cases += 1;
                        out.roots.failures.push((crate::corpus::display_path(path), e.into()));
                    }
                }
                on_file(path);
                return out;
            }
            match crate::corpus::StateTestFile::load(path) {
                Ok(file) => {
                    for case in file.cases(fork) {
                        out.roots.cases += 1;
                        let (roots, mut report) = check_state_test_steps(&case, selection);
                        for m in &mut report.mismatches {
                            *m = format!("{case}: {m}");
                        }
                        out.steps.merge(report);
                        match roots {
                            Ok(()) => out.roots.matched += 1,
                            Err(why) => out.roots.failures.push((case.to_string(), why)),
                        }
                    }
                }
                Err(e) => {
                    out.roots.cases += 1;
                    out.roots.failures.push((crate::corpus::display_path(path), e.into()));
                }
            }
            tracing::debug!(
                target: "refute::conformance",
                file = %crate::corpus::display_path(path),
                steps = out.steps.steps,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "file checked"
            );
            on_file(path);
            out
        })
        .reduce(StepSummary::default, |mut a, b| {
            a.roots = a.roots.merge(b.roots);
            a.steps.merge(b.steps);
            a
        })
}
