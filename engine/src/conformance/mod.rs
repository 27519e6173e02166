//! Conformance runs: replays corpus cases with plain revm and checks the Ethereum
//! commitments refute computes ([`crate::state_root`], [`crate::logs_hash`], receipts roots)
//! against the corpus's expectations.
//!
//! This is the oracle the rest of refute stands on: the same state roots are what proposals
//! claim and what the dispute game bisects over.

mod blockchain;
mod state;

pub use blockchain::run_blockchain_test;
pub use state::run_state_test;

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
    /// The case is listed in [`KNOWN_DIVERGENCES`] but matched: revm changed, and the list
    /// must be updated.
    #[error("listed as a known divergence ({reason}) but it matches now: remove it from the list")]
    StaleDivergence {
        /// The listed reason.
        reason: &'static str,
    },
    /// The case itself cannot be run (see [`Error`]).
    #[error(transparent)]
    Invalid(#[from] Error),
}

/// A corpus test on which revm — the EVM refute replays with — is known to depart from the
/// corpus. Its cases are run like any other and must still *not* match: a case listed here
/// that matches is reported as a failure, so the list cannot go stale silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDivergence {
    /// The file, as a path suffix (`stSStoreTest/InitCollisionParis.json`).
    pub file: &'static str,
    /// The test's name within the file; every case of that test is covered.
    pub test: &'static str,
    /// Why revm departs, with the EIP.
    pub reason: &'static str,
}

const EIP_7610: &str = "EIP-7610: CREATE/CREATE2 onto an account with empty code and zero nonce \
    but non-empty storage must fail as a collision; revm 43 checks only code and nonce. \
    Such accounts exist only in test pre-states (reaching one needs a keccak256 collision)";

/// The tests on which revm 43 departs from the corpus, with the reason. refute's step machine
/// follows the corpus (the spec says so per rule); the replay engine inherits revm's
/// behaviour until it patches it.
pub const KNOWN_DIVERGENCES: &[KnownDivergence] = &[
    KnownDivergence {
        file: "stSStoreTest/InitCollisionParis.json",
        test: "InitCollisionParis",
        reason: EIP_7610,
    },
    KnownDivergence {
        file: "stCreate2/create2collisionStorageParis.json",
        test: "create2collisionStorageParis",
        reason: EIP_7610,
    },
    KnownDivergence {
        file: "stCreate2/RevertInCreateInInitCreate2Paris.json",
        test: "RevertInCreateInInitCreate2Paris",
        reason: EIP_7610,
    },
    KnownDivergence {
        file: "stExtCodeHash/dynamicAccountOverwriteEmpty_Paris.json",
        test: "dynamicAccountOverwriteEmpty_Paris",
        reason: EIP_7610,
    },
];

/// The known divergence covering test `test` of file `path`, if any.
pub fn known_divergence(path: &std::path::Path, test: &str) -> Option<&'static KnownDivergence> {
    KNOWN_DIVERGENCES.iter().find(|d| d.test == test && path.ends_with(d.file))
}

fn at_block(block: Option<u64>) -> String {
    block.map(|b| format!(" at block {b}")).unwrap_or_default()
}

/// The state root of everything in a revm [`CacheState`] that exists (destroyed and
/// EIP-161-cleared accounts are not in the cache's trie view).
pub(crate) fn cache_state_root(cache: &CacheState) -> B256 {
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
    /// Cases that did not match and are listed in [`KNOWN_DIVERGENCES`]: `(case, why, reason)`.
    /// They are neither matched nor failed.
    pub divergences: Vec<(String, Mismatch, &'static str)>,
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
        self.divergences.extend(other.divergences);
        self
    }

    /// Files one case's outcome under matched, failed or known divergence.
    fn record<T>(
        &mut self,
        case: String,
        known: Option<&'static KnownDivergence>,
        outcome: Result<T, Mismatch>,
    ) -> Option<T> {
        self.cases += 1;
        match (outcome, known) {
            (Ok(value), None) => {
                self.matched += 1;
                return Some(value);
            }
            (Ok(_), Some(known)) => {
                self.failures.push((case, Mismatch::StaleDivergence { reason: known.reason }))
            }
            (Err(why), Some(known)) => self.divergences.push((case, why, known.reason)),
            (Err(why), None) => self.failures.push((case, why)),
        }
        None
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
                        let known = known_divergence(path, case.name());
                        summary.record(case.to_string(), known, run_state_test(&case));
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
                        let known = known_divergence(path, test.name());
                        let outcome = run_blockchain_test(&test);
                        if let Some(transactions) = summary.record(test.to_string(), known, outcome)
                        {
                            summary.transactions += transactions;
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
