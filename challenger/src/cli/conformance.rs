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

/// Options of `refute conformance`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute conformance                                 # a sample of steps of every Cancun state test
  refute conformance ../shared/ethereum-tests/GeneralStateTests --steps all
  refute conformance GeneralStateTests/VMTests --steps all --json

For each case, revm replays the transaction and every checked step i must satisfy
execute(commitment(i), witness(i)) == commitment(i+1). Steps the executor does not run yet are
counted as unsupported, by kind, never as passes, and fail the run. Ends with one line
`cases: N, steps checked: S, mismatches: M, unsupported: U, roots matched: R/N`
(exit 0 iff M = 0, U = 0 and every root matched).")]
pub(crate) struct ConformanceArgs {
    /// State-test files or folders (walked for *.json). Default: GeneralStateTests/ of the
    /// corpus at $REFUTE_ETH_TESTS (or ../shared/ethereum-tests).
    paths: Vec<PathBuf>,

    /// Which steps to check: `all`, or `sample` (every 64th step plus the first occurrence of
    /// every opcode in each case).
    #[arg(long, default_value = "sample", value_parser = ["all", "sample"])]
    steps: String,

    /// Print the report as JSON (per-opcode checked counts, unsupported counts by kind).
    #[arg(long)]
    json: bool,

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

pub(crate) fn run_conformance(args: &ConformanceArgs) -> eyre::Result<ExitCode> {
    let selection = match args.steps.as_str() {
        "all" => conformance::StepSelection::All,
        _ => conformance::StepSelection::Sample(64),
    };
    let (files, fork) = prepare(&args.paths, &args.run, "GeneralStateTests")?;
    let started = Instant::now();
    let progress = Progress::new(files.len());
    let summary = conformance::run_step_checks(&files, fork, selection, &|_| progress.file_done());
    tracing::info!(
        target: "refute::conformance",
        elapsed_ms = started.elapsed().as_millis() as u64,
        steps = summary.steps.steps,
        "done"
    );
    print_steps(&summary, args.json)?;
    // Every step of every Cancun transaction is provable (Engine II): a step the executor
    // cannot run fails the run like a mismatch.
    let ok = summary.steps.mismatch_count == 0
        && summary.steps.unsupported_count() == 0
        && summary.roots.failed() == 0;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[allow(clippy::print_stdout)]
fn print_steps(summary: &conformance::StepSummary, json: bool) -> eyre::Result<()> {
    let (roots, steps) = (&summary.roots, &summary.steps);
    for (case, why) in &roots.failures {
        println!("FAIL {case}: {why}");
    }
    for mismatch in &steps.mismatches {
        println!("MISMATCH {mismatch}");
    }
    if json {
        let report = serde_json::json!({
            "cases": roots.cases,
            "roots_matched": roots.matched,
            "steps": steps.steps,
            "steps_checked": steps.checked,
            "mismatches": steps.mismatch_count,
            "unsupported": steps.unsupported_count(),
            "checked_by_opcode": steps.checked_by_opcode,
            "unsupported_by_kind": steps.unsupported,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !steps.unsupported.is_empty() {
        let mut kinds: Vec<_> = steps.unsupported.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1));
        let top: Vec<String> = kinds.iter().take(12).map(|(k, n)| format!("{k} {n}")).collect();
        println!("unsupported by kind (top 12): {}", top.join(", "));
    }
    println!(
        "cases: {}, steps checked: {}, mismatches: {}, unsupported: {}, roots matched: {}/{}",
        roots.cases,
        steps.checked,
        steps.mismatch_count,
        steps.unsupported_count(),
        roots.matched,
        roots.cases
    );
    Ok(())
}

/// Logs progress every tenth of the files.
struct Progress {
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self { done: AtomicUsize::new(0), total }
    }

    fn file_done(&self) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.total.div_ceil(10)) || n == self.total {
            tracing::info!(target: "refute::conformance", files_done = n, of = self.total, "progress");
        }
    }
}

type Runner = fn(&[PathBuf], refute_engine::corpus::Fork, &(dyn Fn(&Path) + Sync)) -> Summary;

fn run(paths: &[PathBuf], args: &RunArgs, default: &str, runner: Runner) -> eyre::Result<ExitCode> {
    let (files, fork) = prepare(paths, args, default)?;
    let started = Instant::now();
    let progress = Progress::new(files.len());
    let summary = runner(&files, fork, &|_| progress.file_done());
    tracing::info!(
        target: "refute::conformance",
        elapsed_ms = started.elapsed().as_millis() as u64,
        transactions = summary.transactions,
        "done"
    );
    print_summary(&summary);
    Ok(if summary.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Parses the fork, sizes the worker pool and lists the test files (the corpus folder
/// `default` when no path is given).
fn prepare(
    paths: &[PathBuf],
    args: &RunArgs,
    default: &str,
) -> eyre::Result<(Vec<PathBuf>, refute_engine::corpus::Fork)> {
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
    Ok((files, fork))
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
