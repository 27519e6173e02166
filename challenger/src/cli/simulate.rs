//! `refute simulate`: complete dispute games of the honest player against adversaries, on the
//! real lower level (engine traces and the one-step executor) or the synthetic test double.

use clap::Args;
use eyre::WrapErr;
use rayon::prelude::*;
use refute_engine::{
    batch::BatchFile,
    game::{
        GameParams, RecordedProposal, StepTrace, StepVerifier, TopTrace,
        adversary::Strategy,
        simulate::{self, SimConfig, Summary},
    },
    workload,
};
use std::{path::PathBuf, process::ExitCode, time::Instant};

/// Options of `refute simulate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute simulate --games 10000 --seed 1
  refute simulate --games 200 --adversaries colluding,last-second --transcript game.json
  refute simulate --synthetic --games 100000

Each game: the honest player against 1-5 adversaries drawn from --adversaries (all by default:
wrong-root, lie-at-depth, lie-everywhere, top-agree-lower-lie, random, colluding, silent,
last-second, one-step-boundary, freeloader), played through moves, steps, resolution and
credits. The lower level is real: every transaction of a batch recorded as the step machine
runs it (begin, every step of every frame, every frame boundary, end), with the one-step
executor as the verifier. The batch is --trace-from BATCH (a batch file, see `refute replay`),
or the demo batch: four signed transactions in one block (snailtracer twice, a hash-and-store
loop, a memory-growth loop). The transaction level (one leaf per transaction, its final
state) and the lower level's absolute pre-state (each transaction's recorded begin state) are
stand-ins until the batch spec's transaction level (docs/spec/batch.md §4).

Ends with one line `games: N, honest wins: W, steps executed: K, max moves: M` (exit 0 iff W = N).")]
pub(crate) struct SimulateArgs {
    /// Number of games to play.
    #[arg(long, default_value_t = 1000)]
    games: u64,
    /// Adversary strategies to draw from, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    adversaries: Vec<Strategy>,
    /// Seed of the batch; game g uses seed + g.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the first game's transcript (JSON) to this file.
    #[arg(long, env = "REFUTE_TRANSCRIPT")]
    transcript: Option<PathBuf>,
    /// Play on the synthetic test double (hash chains) instead of real engine traces.
    #[arg(long)]
    synthetic: bool,
    /// Play on the transactions of this batch file (JSON, as `refute replay` reads) instead
    /// of the demo batch.
    #[arg(long, value_name = "BATCH", conflicts_with = "synthetic")]
    trace_from: Option<PathBuf>,
    /// The workloads folder holding snailtracer.hex, for the demo batch (default:
    /// ../shared/workloads).
    #[arg(long, env = "REFUTE_WORKLOADS")]
    workloads: Option<PathBuf>,
}

/// Runs `refute simulate`.
pub(crate) fn run_simulate(args: &SimulateArgs) -> eyre::Result<ExitCode> {
    let strategies =
        if args.adversaries.is_empty() { Strategy::ALL.to_vec() } else { args.adversaries.clone() };
    if args.synthetic {
        let (params, proposal) = simulate::synthetic_setup(args.seed)?;
        return play_all(args, strategies, params, &proposal, &proposal.verifier());
    }
    let started = Instant::now();
    let proposal = match &args.trace_from {
        Some(path) => {
            let file = BatchFile::load(path)?;
            RecordedProposal::from_batch(&file)
                .wrap_err_with(|| format!("recording the transactions of {}", path.display()))?
        }
        None => {
            let root = match &args.workloads {
                Some(path) => path.clone(),
                None => {
                    workload::workloads_root().wrap_err("the workloads folder (--workloads)")?
                }
            };
            RecordedProposal::demo(&root).wrap_err("recording the demo proposal")?
        }
    };
    let params = simulate::params_for(proposal.max_len())?;
    tracing::info!(
        target: "refute::simulate",
        transactions = proposal.len(),
        max_steps = proposal.max_len(),
        max_depth = params.max_depth,
        split_depth = params.split_depth,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "recorded the proposal"
    );
    play_all(args, strategies, params, &proposal, &proposal.verifier())
}

#[allow(clippy::print_stdout)]
fn play_all<V, T>(
    args: &SimulateArgs,
    strategies: Vec<Strategy>,
    params: GameParams,
    truth: &T,
    vm: &V,
) -> eyre::Result<ExitCode>
where
    V: StepVerifier + Sync,
    T: TopTrace + Sync,
    T::Lower: StepTrace<Witness = V::Witness>,
{
    let config = SimConfig { params, strategies, seed: args.seed, max_tick: 3_600 };
    let started = Instant::now();
    if let Some(path) = &args.transcript {
        let lineup = simulate::draw_lineup(&config.strategies, config.seed);
        let (_, transcript) =
            simulate::play(&params, truth, vm, &lineup, config.seed, config.max_tick, true)?;
        let json = serde_json::to_string_pretty(&transcript)?;
        std::fs::write(path, json).wrap_err_with(|| format!("writing {}", path.display()))?;
    }
    const CHUNK: u64 = 50;
    let chunks: Vec<u64> = (0..args.games.div_ceil(CHUNK)).collect();
    let parts = chunks
        .par_iter()
        .map(|&c| {
            let first = c * CHUNK;
            simulate::run(&config, truth, vm, first, CHUNK.min(args.games - first))
        })
        .collect::<Result<Vec<Summary>, _>>()?;
    let mut summary = Summary::default();
    for part in parts {
        summary.games += part.games;
        summary.honest_wins += part.honest_wins;
        summary.steps += part.steps;
        summary.max_moves = summary.max_moves.max(part.max_moves);
        summary.failures.extend(part.failures);
    }
    for failure in summary.failures.iter().take(10) {
        println!("LOST {failure}");
    }
    tracing::info!(target: "refute::simulate", elapsed_ms = started.elapsed().as_millis() as u64, "done");
    println!("{}", summary.line());
    Ok(if summary.honest_wins == summary.games { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
