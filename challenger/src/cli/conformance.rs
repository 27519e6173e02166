//! `refute statetest` and `refute blockchaintest`: replay the Ethereum conformance corpus with
//! plain revm and check the roots refute computes.

use clap::Args;
use eyre::WrapErr;
use refute_engine::{
    conformance::{self, Summary},
    corpus,
};
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

/// Options of `refute statetest`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute statetest                                   # all of $REFUTE_ETH_TESTS/GeneralStateTests
  refute statetest ../shared/ethereum-tests/GeneralStateTests/stExample
  refute statetest --fork Shanghai path/to/test.json

Ends with one line `cases: N, roots matched: R, failed: F` (exit 0 iff F = 0).")]
pub(crate) struct StateTestArgs {
    /// State-test files or folders (walked for *.json). Default: GeneralStateTests/ of the
    /// corpus at $REFUTE_ETH_TESTS (or ../shared/ethereum-tests).
    paths: Vec<PathBuf>,

    #[command(flatten)]
    run: RunArgs,
}

/// Options of `refute blockchaintest`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute blockchaintest                              # all of $REFUTE_ETH_TESTS/BlockchainTests/ValidBlocks
  refute blockchaintest ../shared/ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559

Ends with one line `cases: N, roots matched: R, failed: F` (exit 0 iff F = 0), where a case is
one test (a chain of blocks) and matched means every block's roots matched.")]
pub(crate) struct BlockchainTestArgs {
    /// Blockchain-test files or folders (walked for *.json). Default: BlockchainTests/ValidBlocks/
    /// of the corpus at $REFUTE_ETH_TESTS (or ../shared/ethereum-tests).
    paths: Vec<PathBuf>,

    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The fork to run: the cases the corpus lists under this fork name.
    #[arg(long, default_value = "Cancun", env = "REFUTE_FORK")]
    fork: String,

    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', env = "REFUTE_JOBS")]
    jobs: Option<usize>,
}

pub(crate) fn run_state_tests(args: &StateTestArgs) -> eyre::Result<ExitCode> {
    run(&args.paths, &args.run, "GeneralStateTests", conformance::run_state_tests)
}

pub(crate) fn run_blockchain_tests(args: &BlockchainTestArgs) -> eyre::Result<ExitCode> {
    run(&args.paths, &args.run, "BlockchainTests/ValidBlocks", conformance::run_blockchain_tests)
}

type Runner = fn(&[PathBuf], refute_engine::corpus::Fork, &(dyn Fn(&Path) + Sync)) -> Summary;

fn run(paths: &[PathBuf], args: &RunArgs, default: &str, runner: Runner) -> eyre::Result<ExitCode> {
    let fork = corpus::parse_fork(&args.fork)?;
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .wrap_err("cannot start the worker threads")?;
    }
    let paths = match paths {
        [] => vec![corpus::corpus_root()?.join(default)],
        paths => paths.to_vec(),
    };
    let files = corpus::json_files(&paths)?;
    eyre::ensure!(!files.is_empty(), "no *.json test files under {}", show(&paths));
    tracing::info!(target: "refute::conformance", files = files.len(), fork = ?fork, "replaying with revm");

    let started = Instant::now();
    let done = AtomicUsize::new(0);
    let step = files.len().div_ceil(10);
    let progress = |_: &Path| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(step) || n == files.len() {
            tracing::info!(target: "refute::conformance", files_done = n, of = files.len(), "progress");
        }
    };
    let summary = runner(&files, fork, &progress);
    tracing::info!(
        target: "refute::conformance",
        elapsed_ms = started.elapsed().as_millis() as u64,
        transactions = summary.transactions,
        "done"
    );
    print_summary(&summary);
    Ok(if summary.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[allow(clippy::print_stdout)]
fn print_summary(summary: &Summary) {
    for (case, why) in &summary.failures {
        println!("FAIL {case}: {why}");
    }
    println!(
        "cases: {}, roots matched: {}, failed: {}",
        summary.cases,
        summary.matched,
        summary.failed()
    );
}

fn show(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
