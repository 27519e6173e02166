//! `refute replay`: replays an L2 batch with revm and prints the state after every transaction
//! and the header of every block; against claimed roots, names the first transaction that
//! diverges.

use alloy_primitives::B256;
use clap::Args;
use eyre::{WrapErr, bail};
use indicatif::{ProgressBar, ProgressStyle};
use refute_engine::{
    batch::{self, BatchFile, Replay, TxStatus},
    corpus::BlockchainTestFile,
};
use serde::Deserialize;
use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

/// Options of `refute replay`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute replay fixtures/batches/transfers.json
  refute replay batch.json --claimed-root 0x... --json
  refute replay batch.json --claimed-roots roots.json
  refute replay batch.json --trace trace.jsonl
  refute replay ../shared/ethereum-tests/BlockchainTests/ValidBlocks/bcExample/basefeeExample.json \\
      --write-batch basefee-batch.json

BATCH is a batch file (JSON: the anchor block and state, and the batch; docs/spec/batch.md) or a
blockchain test, whose chain is replayed as a batch on its genesis (--test picks one by name; by
default the file's first Cancun test). Invalid transactions are skipped and reported, as the step
machine skips them. Prints one line per transaction and per block, then
`batch: B blocks, T transactions (S skipped), state root R, batch hash H`. Exit 0 when every
claimed root matches (or none is given), 1 when one differs, 2 when the batch cannot be read.")]
pub(crate) struct ReplayArgs {
    /// The batch file, or a blockchain-test file.
    batch: PathBuf,
    /// Which test of a blockchain-test file (default: its first Cancun test).
    #[arg(long)]
    test: Option<String>,
    /// The state root claimed after the batch.
    #[arg(long)]
    claimed_root: Option<B256>,
    /// The state roots claimed after each transaction: a JSON array of roots, or the output of
    /// `refute replay --json`. Names the first transaction whose root differs.
    #[arg(long)]
    claimed_roots: Option<PathBuf>,
    /// Print the replay as JSON (transactions and block headers) instead of lines.
    #[arg(long)]
    json: bool,
    /// Write an EIP-3155 trace (JSON lines, one per opcode, as geth's and revm's tracers) of
    /// every executed transaction to this file (`-` for standard output).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Write the batch file that was replayed (useful with a blockchain test) to this file.
    #[arg(long)]
    write_batch: Option<PathBuf>,
}

/// Runs `refute replay`.
#[allow(clippy::print_stdout)] // the command's output
pub(crate) fn run_replay(args: &ReplayArgs) -> eyre::Result<ExitCode> {
    let file = load(&args.batch, args.test.as_deref())?;
    if let Some(out) = &args.write_batch {
        let json = serde_json::to_string_pretty(&file)?;
        std::fs::write(out, json + "\n")
            .wrap_err_with(|| format!("cannot write {}", out.display()))?;
    }
    let claimed = args.claimed_roots.as_deref().map(read_claimed_roots).transpose()?;
    let trace: Option<Box<dyn Write>> = match args.trace.as_deref() {
        None => None,
        Some(path) if path == Path::new("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(BufWriter::new(
            File::create(path).wrap_err_with(|| format!("cannot create {}", path.display()))?,
        ))),
    };
    let started = Instant::now();
    // A progress bar on standard error, drawn only when it is a terminal.
    let bar = ProgressBar::new(file.batch.transaction_count() as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} transactions {msg}")
            .map_err(|e| eyre::eyre!("progress template: {e}"))?
            .progress_chars("=> "),
    );
    let replay = batch::replay_with_progress(&file, trace, &mut |tx| {
        bar.set_message(format!("block {}", tx.block));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let replay = replay?;
    tracing::info!(
        target: "refute::replay",
        blocks = replay.blocks.len(),
        transactions = replay.transactions.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "replayed"
    );

    // Standard output carries one thing: the JSON, the trace, or the lines.
    let trace_on_stdout = args.trace.as_deref() == Some(Path::new("-"));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&replay)?);
    } else if !trace_on_stdout {
        print_lines(&replay);
    }
    let final_root = replay.final_state_root().unwrap_or(file.anchor.state_root);
    let skipped =
        replay.transactions.iter().filter(|t| matches!(t.status, TxStatus::Invalid(_))).count();
    let summary = format!(
        "batch: {} blocks, {} transactions ({skipped} skipped), state root {final_root}, batch hash {}",
        replay.blocks.len(),
        replay.transactions.len(),
        file.batch.hash()
    );
    if args.json || trace_on_stdout {
        eprintln!("{summary}")
    } else {
        println!("{summary}")
    }

    let mut diverged = false;
    if let Some(claimed) = claimed {
        diverged |= report_first_divergence(&replay, &claimed);
    }
    if let Some(root) = args.claimed_root
        && root != final_root
    {
        println!("claimed root {root} differs: the batch ends in {final_root}");
        diverged = true;
    }
    Ok(if diverged { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A batch file, or the batch of a blockchain test's chain.
fn load(path: &Path, test: Option<&str>) -> eyre::Result<BatchFile> {
    let as_batch = match BatchFile::load(path) {
        Ok(_) if test.is_some() => bail!(
            "--test names a test of a blockchain-test file; {} is a batch file",
            path.display()
        ),
        Ok(file) => return Ok(file),
        Err(e) => e,
    };
    let tests = BlockchainTestFile::load(path)
        .map_err(|_| eyre::eyre!("{as_batch} (nor is it a blockchain test)"))?;
    let mut cancun = tests.tests(revm::primitives::hardfork::SpecId::CANCUN);
    let chosen = match test {
        Some(name) => cancun.find(|t| t.name() == name),
        None => cancun.next(),
    };
    let Some(chosen) = chosen else {
        bail!(
            "{} has no Cancun test{}",
            path.display(),
            test.map(|n| format!(" named {n}")).unwrap_or_default()
        );
    };
    Ok(BatchFile::from_blockchain_test(&chosen)?)
}

/// Per-transaction claimed roots: a JSON array of roots, or `refute replay --json`'s output.
fn read_claimed_roots(path: &Path) -> eyre::Result<Vec<B256>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Claimed {
        state_root: B256,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Roots {
        List(Vec<B256>),
        Replay { transactions: Vec<Claimed> },
    }
    let text = std::fs::read(path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let roots: Roots = serde_json::from_slice(&text).wrap_err_with(|| {
        format!(
            "{} is neither a JSON array of roots nor `refute replay --json` output",
            path.display()
        )
    })?;
    Ok(match roots {
        Roots::List(roots) => roots,
        Roots::Replay { transactions } => transactions.into_iter().map(|t| t.state_root).collect(),
    })
}

/// Prints the first transaction whose claimed root differs; whether one does.
#[allow(clippy::print_stdout)] // the command's output
fn report_first_divergence(replay: &Replay, claimed: &[B256]) -> bool {
    if claimed.len() != replay.transactions.len() {
        println!(
            "claimed roots: {} given, the batch has {} transactions",
            claimed.len(),
            replay.transactions.len()
        );
    }
    let first = replay.transactions.iter().zip(claimed).find(|(tx, root)| tx.state_root != **root);
    match first {
        Some((tx, root)) => {
            println!(
                "first divergent transaction: {} (block {}, index {}, {}): claimed {root}, replayed {}",
                tx.position, tx.block, tx.index, tx.hash, tx.state_root
            );
            true
        }
        None => claimed.len() != replay.transactions.len(),
    }
}

/// One line per transaction, then its block's line.
#[allow(clippy::print_stdout)] // the command's output
fn print_lines(replay: &Replay) {
    let mut transactions = replay.transactions.iter().peekable();
    for block in &replay.blocks {
        while let Some(tx) = transactions.next_if(|t| t.block == block.header.number) {
            let status = match &tx.status {
                TxStatus::Success => "success".to_owned(),
                TxStatus::Failure => "failure".to_owned(),
                TxStatus::Invalid(reason) => format!("skipped ({reason})"),
            };
            println!(
                "tx {} block {} #{} {} {status} gas {} state {}",
                tx.position, tx.block, tx.index, tx.hash, tx.gas_used, tx.state_root
            );
        }
        let h = &block.header;
        println!(
            "block {} {} state {} receipts {} gas {} ({} executed)",
            h.number, block.hash, h.state_root, h.receipts_root, h.gas_used, block.executed
        );
    }
}
