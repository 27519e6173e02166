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
  refute replay batch.json --claimed-roots roots.json --claimed-steps steps.json --proof-out proof.json
  refute replay batch.json --tx 2 --step 40 --proof-out proof.json
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
    /// The transaction (0-based position in the batch, skipped ones counted) whose steps
    /// --claimed-steps, --step and --proof-out are about; by default the first divergent one
    /// of --claimed-roots.
    #[arg(long, value_name = "K")]
    tx: Option<usize>,
    /// The machine-state commitments `S_0 … S_n` claimed for that transaction's steps (a JSON
    /// array of 32-byte hex strings): names the first divergent step.
    #[arg(long, value_name = "FILE")]
    claimed_steps: Option<PathBuf>,
    /// The step to prove (default: the first divergent step of --claimed-steps).
    #[arg(long, value_name = "I")]
    step: Option<u64>,
    /// Write the one-step proof of that step as JSON: the pre- and post-state commitments and
    /// the witness in the L1 verifier's encoding (docs/spec/verifier-abi.md).
    #[arg(long, value_name = "FILE")]
    proof_out: Option<PathBuf>,
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
    let mut first_divergent = None;
    if let Some(claimed) = claimed {
        first_divergent = report_first_divergence(&replay, &claimed);
        diverged |= first_divergent.is_some() || claimed.len() != replay.transactions.len();
    }
    let wants_steps =
        args.claimed_steps.is_some() || args.step.is_some() || args.proof_out.is_some();
    if wants_steps {
        let Some(position) = args.tx.or(first_divergent) else {
            bail!(
                "--claimed-steps, --step and --proof-out need --tx K (or a divergent --claimed-roots)"
            );
        };
        diverged |= prove_steps(args, &file, position)?;
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

/// The step-level work on transaction `position`: records it as the step machine runs it,
/// names the first step whose claimed state differs, writes the proof of the step asked for.
/// Whether a claimed step diverged.
#[allow(clippy::print_stdout)] // the command's output
fn prove_steps(args: &ReplayArgs, file: &BatchFile, position: usize) -> eyre::Result<bool> {
    let started = Instant::now();
    let (_, trace) = batch::record_transaction(file, position)
        .wrap_err_with(|| format!("recording transaction {position}"))?;
    tracing::info!(
        target: "refute::replay",
        transaction = position,
        steps = trace.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "recorded the machine trace"
    );
    let last = trace.final_state();
    println!(
        "transaction {position}: {} steps ({} begin), final state {} ({:?}, state root {})",
        trace.len(),
        trace.begin_steps(),
        last.commitment(),
        last.status,
        last.state_root
    );
    let mut step = args.step;
    let mut diverged = false;
    if let Some(path) = &args.claimed_steps {
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("cannot read {}", path.display()))?;
        let claimed: Vec<B256> = serde_json::from_str(&text)
            .wrap_err_with(|| format!("{} is not a JSON array of commitments", path.display()))?;
        if claimed.len() as u64 != trace.len() + 1 {
            println!(
                "claimed steps: {} states given, the transaction has {} (S_0 … S_{})",
                claimed.len(),
                trace.len() + 1,
                trace.len()
            );
        }
        let mut first = None;
        for (i, claim) in claimed.iter().enumerate().take(trace.len() as usize + 1) {
            if trace.commitment(i as u64)? != *claim {
                first = Some(i as u64);
                break;
            }
        }
        match first {
            Some(0) => {
                diverged = true;
                println!(
                    "the claimed S_0 differs from the begin state: dispute the transaction level"
                );
            }
            Some(j) => {
                diverged = true;
                let info = describe(&trace, j - 1)?;
                println!("first divergent step: {info} (claimed S_{j} differs)");
                step = step.or(Some(j - 1));
            }
            None => diverged |= claimed.len() as u64 != trace.len() + 1,
        }
    }
    if let Some(i) = step {
        if i >= trace.len() {
            bail!("step {i} is past the transaction's last step ({})", trace.len() - 1);
        }
        let info = describe(&trace, i)?;
        if args.claimed_steps.is_none() {
            println!("step: {info}");
        }
        if let Some(out) = &args.proof_out {
            let witness = trace.witness(i)?;
            let (pre, post) = (trace.commitment(i)?, trace.commitment(i + 1)?);
            let executed = refute_engine::machine::execute(pre, &witness)?;
            if executed != post {
                bail!("the executor does not reach S_{} from step {i}'s witness", i + 1);
            }
            let proof = serde_json::json!({
                "batchHash": file.batch.hash(),
                "transaction": position,
                "step": i,
                "steps": trace.len(),
                "kind": info.kind,
                "opcode": info.opcode.map(|op| format!("0x{op:02x}")),
                "pc": info.pc,
                "depth": info.depth,
                "pre": pre,
                "post": post,
                "witness": witness.encode_for_l1()?,
            });
            std::fs::write(out, serde_json::to_string_pretty(&proof)? + "\n")
                .wrap_err_with(|| format!("cannot write {}", out.display()))?;
            println!("proof of step {i} written to {}", out.display());
        }
    }
    Ok(diverged)
}

/// What a step is, for people.
#[derive(Debug)]
struct StepInfo {
    index: u64,
    kind: String,
    opcode: Option<u8>,
    pc: Option<u32>,
    depth: u16,
}

impl std::fmt::Display for StepInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "index {}, {}", self.index, self.kind)?;
        if let Some(pc) = self.pc {
            write!(f, ", pc {pc}")?;
        }
        write!(f, ", depth {}", self.depth)
    }
}

/// Step `i` of `trace`: its kind (the opcode, or the micro- or boundary step pending), `pc`
/// and call depth.
fn describe(trace: &refute_engine::trace::MachineTrace, i: u64) -> eyre::Result<StepInfo> {
    use refute_engine::machine::PendingKind;
    let state = trace.state(i)?;
    let witness = trace.witness(i)?;
    let in_frame = state.frame_hash != B256::ZERO;
    let pc = in_frame.then_some(witness.frame.pc);
    let opcode = pc.and_then(|pc| {
        witness
            .code
            .iter()
            .find(|chunk| chunk.index == pc / 32)
            .map(|chunk| chunk.bytes[(pc % 32) as usize])
    });
    let name = |op: u8| {
        revm::bytecode::opcode::OPCODE_INFO[op as usize]
            .map_or_else(|| format!("0x{op:02x}"), |info| info.name().to_owned())
    };
    let kind = match (state.pending_kind, opcode) {
        (PendingKind::None, Some(op)) => format!("opcode {}", name(op)),
        (PendingKind::None, None) => "step".to_owned(),
        (PendingKind::Keccak, _) => "KECCAK256 sponge micro-step".to_owned(),
        (PendingKind::Log, _) => "LOG data sponge micro-step".to_owned(),
        (PendingKind::Copy, _) => "copy micro-step".to_owned(),
        (PendingKind::TxBegin, _) => "transaction begin step (§8.1)".to_owned(),
        (PendingKind::FrameExit, _) if state.callers.0 == 0 => {
            "the top frame's exit: transaction end step (§8.2)".to_owned()
        }
        (PendingKind::FrameExit, _) => "frame exit step (§6.3)".to_owned(),
        (PendingKind::Call, _) => "call input micro-step or entry step (§6.1)".to_owned(),
        (PendingKind::Output, _) => "output micro-step (§6.2)".to_owned(),
        (PendingKind::Create, _) => "create input micro-step or entry step (§6.4)".to_owned(),
        (PendingKind::TxEnd, _) => "transaction end deletion step (§8.2)".to_owned(),
    };
    Ok(StepInfo { index: i, kind, opcode, pc, depth: state.callers.0 })
}

/// Prints the first transaction whose claimed root differs; returns its position.
#[allow(clippy::print_stdout)] // the command's output
fn report_first_divergence(replay: &Replay, claimed: &[B256]) -> Option<usize> {
    if claimed.len() != replay.transactions.len() {
        println!(
            "claimed roots: {} given, the batch has {} transactions",
            claimed.len(),
            replay.transactions.len()
        );
    }
    let first = replay.transactions.iter().zip(claimed).find(|(tx, root)| tx.state_root != **root);
    let (tx, root) = first?;
    println!(
        "first divergent transaction: {} (block {}, index {}, {}): claimed {root}, replayed {}",
        tx.position, tx.block, tx.index, tx.hash, tx.state_root
    );
    Some(tx.position)
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
