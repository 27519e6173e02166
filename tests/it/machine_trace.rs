//! The machine trace (every step numbered, spec §1) against revm and the executor: for real
//! corpus transactions, `S_0` is the begin state of the signed envelope, every step `i` —
//! begin and access-list steps, in-frame and micro-steps, call openings, input copies,
//! entries, precompiles, ending steps, output copies, exits, return-window copies, the
//! transaction's end and its deletions — maps `commitment(i)` with `witness(i)` to
//! `commitment(i + 1)` through the one-step executor, and the final state's state root,
//! status and gas used are revm's. Since the executor is deterministic and checks every
//! witness against the pre-state, this chain from the right `S_0` is the one trace the game's
//! honest player may claim.

use refute_engine::{
    Eip7610, Error, StateTestCase,
    conformance::cache_state_root,
    corpus::{self, StateTestFile},
    machine::{Status, execute},
    trace::{MachineTrace, TraceRecorder, TxBeginInput},
};
use refute_tests::corpus_or_skip;
use revm::{
    Context, InspectCommitEvm, MainBuilder, MainContext, database::State,
    primitives::hardfork::SpecId,
};
use std::path::PathBuf;

/// What revm made of a transaction: the state root after it, its status and gas used
/// (`None`: revm rejected it).
type Outcome = Option<(alloy_primitives::B256, bool, u64)>;

/// Records `case` as a machine trace, with revm's outcome (`None` when the case builds no
/// transaction or has no envelope).
fn record(case: &StateTestCase<'_>) -> Option<(Result<MachineTrace, Error>, Outcome)> {
    let (Ok(cfg), Ok(block), Ok(tx)) = (case.cfg(), case.block_env(), case.tx_env()) else {
        return None;
    };
    let envelope = case.envelope().ok()?;
    let pre = case.pre_state();
    let block_context = {
        let mut db = State::builder().with_cached_prestate(pre.clone()).build();
        let mut context = Context::mainnet()
            .with_cfg(cfg.clone())
            .with_block(block.clone())
            .with_tx(tx.clone())
            .with_db(&mut db);
        refute_engine::trace::context::contexts(&mut context, alloy_primitives::B256::ZERO).block
    };
    let recorder = TraceRecorder::new().with_pre_state(&pre).expect("pre-state");
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector((Eip7610, recorder));
    let result = evm.inspect_tx_commit(tx);
    let trace = std::mem::take(&mut evm.inspector.1).finish();
    drop(evm);
    let outcome =
        result.ok().map(|r| (cache_state_root(&state.cache), r.is_success(), r.tx_gas_used()));
    let begin = TxBeginInput { envelope, block: block_context, block_gas_used: 0 };
    Some((trace.machine(begin), outcome))
}

#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    steps: u64,
    boundary: u64,
    nested: u64,
    invalid: u64,
    failures: Vec<String>,
}

/// Every step of `case`'s machine trace, executed (a long trace: its boundaries and a sample).
fn check_case(case: &StateTestCase<'_>, tally: &mut Tally) {
    let Some((trace, outcome)) = record(case) else { return };
    tally.cases += 1;
    let trace = match trace {
        Ok(trace) => trace,
        Err(e) => return tally.failures.push(format!("{case}: {e}")),
    };
    let expected = match outcome {
        Some((root, success, _)) => {
            (root, if success { Status::Succeeded } else { Status::Failed })
        }
        None => (trace.final_state().state_root, Status::Invalid),
    };
    if let Err(failure) = check_trace(&trace, expected, tally) {
        tally.failures.push(format!("{case}: {failure}"));
    }
}

/// Traces up to this many steps are executed step by step; longer ones at their boundaries
/// (the first [`BOUNDARIES`] of them), one step either side of each, and about [`SAMPLE`] steps
/// spread evenly (a query replays up to a few thousand instructions from a checkpoint: checking
/// a long trace whole is the conformance run's job, by command).
const FULL: u64 = 5_000;
const SAMPLE: u64 = 1_000;
const BOUNDARIES: usize = 300;

/// The steps of `trace` to execute.
fn selected(trace: &MachineTrace) -> Vec<u64> {
    let len = trace.len();
    // A query inside a boundary reruns the prover from the boundary's start: of a long
    // boundary (a large input or output copy), its first and last few steps.
    let around = |range: std::ops::Range<u64>| {
        let head = range.start.saturating_sub(1)..(range.start + 4).min(range.end);
        head.chain(range.end.saturating_sub(4).max(range.start)..(range.end + 1).min(len))
    };
    if len <= FULL {
        let long = trace.boundaries().any(|r| r.end - r.start > 64);
        if !long {
            return (0..len).collect();
        }
        let mut steps: Vec<u64> = (0..len)
            .filter(|i| !trace.boundaries().any(|r| r.end - r.start > 64 && r.contains(i)))
            .collect();
        steps.extend(trace.boundaries().flat_map(around));
        steps.sort_unstable();
        steps.dedup();
        return steps;
    }
    let stride = (len / SAMPLE).max(1);
    let mut steps: Vec<u64> = (0..len).step_by(stride as usize).collect();
    steps.extend(trace.boundaries().take(BOUNDARIES).flat_map(around));
    steps.push(len - 1);
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// Checks the final state against `expected` (state root, status) and executes the selected
/// steps of `trace`.
fn check_trace(
    trace: &MachineTrace,
    expected: (alloy_primitives::B256, Status),
    tally: &mut Tally,
) -> Result<(), String> {
    let last = *trace.final_state();
    if (last.state_root, last.status) != expected {
        return Err(format!(
            "final state (root {}, {:?}), revm's (root {}, {:?})",
            last.state_root, last.status, expected.0, expected.1
        ));
    }
    if last.status == Status::Invalid {
        tally.invalid += 1;
    }
    let len = trace.len();
    let boundaries: Vec<std::ops::Range<u64>> = trace.boundaries().collect();
    let mut kept: Option<(u64, refute_engine::machine::MachineState)> = None;
    for i in selected(trace) {
        let pre = match kept.take() {
            Some((at, state)) if at == i => state,
            _ => trace.state(i).map_err(|e| format!("S_{i}: {e}"))?,
        };
        let witness = trace.witness(i).map_err(|e| format!("step {i} of {len}: {e}"))?;
        let post = trace.state(i + 1).map_err(|e| format!("S_{}: {e}", i + 1))?;
        let got =
            execute(pre.commitment(), &witness).map_err(|e| format!("step {i} of {len}: {e}"))?;
        if got != post.commitment() {
            return Err(format!("execute(step {i}) != commitment({})", i + 1));
        }
        tally.steps += 1;
        if pre.callers.0 > 0 {
            tally.nested += 1;
        }
        if boundaries.iter().any(|r| r.contains(&i)) {
            tally.boundary += 1;
        }
        kept = Some((i + 1, post));
    }
    Ok(())
}

fn files(folders: &[&str]) -> Option<Vec<PathBuf>> {
    let tests = corpus_or_skip()?.join("GeneralStateTests");
    Some(
        corpus::json_files(&folders.iter().map(|f| tests.join(f)).collect::<Vec<_>>())
            .expect("corpus files"),
    )
}

fn check_folders(folders: &[&str]) -> Option<Tally> {
    use rayon::prelude::*;
    let mut files = files(folders)?;
    if let Ok(only) = std::env::var("REFUTE_ONLY") {
        files.retain(|f| f.to_string_lossy().contains(&only));
    }
    let tally = files
        .par_iter()
        .map(|path| {
            let mut tally = Tally::default();
            let file = StateTestFile::load(path).expect("corpus file");
            for case in file.cases(SpecId::CANCUN) {
                check_case(&case, &mut tally);
            }
            tally
        })
        .reduce(Tally::default, merge);
    report(&tally);
    Some(tally)
}

fn merge(mut a: Tally, b: Tally) -> Tally {
    a.cases += b.cases;
    a.steps += b.steps;
    a.boundary += b.boundary;
    a.nested += b.nested;
    a.invalid += b.invalid;
    a.failures.extend(b.failures);
    a
}

fn report(tally: &Tally) {
    eprintln!(
        "cases {}, steps executed {} (boundary {}, in nested frames {}), invalid transactions {}",
        tally.cases, tally.steps, tally.boundary, tally.nested, tally.invalid
    );
    for failure in tally.failures.iter().take(20) {
        eprintln!("FAIL {failure}");
    }
}

/// Calls of every kind, creates, returns, reverts, self-destructs, precompiles, refunds and
/// transaction-level failures: every step of every case runs through the executor.
#[test]
fn every_step_of_corpus_transactions_runs_from_the_begin_state_to_revms_result() {
    let Some(tally) = check_folders(&[
        "stCallCodes",
        "stCreate2",
        "stRevertTest",
        "stReturnDataTest",
        "stPreCompiledContracts",
        "stSelfBalance",
        "stEIP2930",
        "Cancun/stEIP1153-transientStorage",
        "stRefundTest",
        "stTransactionTest",
    ]) else {
        return;
    };
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.cases > 500, "only {} cases", tally.cases);
    assert!(tally.boundary > 5_000, "only {} boundary steps", tally.boundary);
    assert!(tally.nested > 5_000, "only {} steps in nested frames", tally.nested);
    assert!(tally.invalid > 10, "only {} invalid transactions", tally.invalid);
}

/// Every transaction of every Cancun chain of `BlockchainTests/ValidBlocks`, as a batch:
/// recorded where it stands in its batch (its block, the gas before it, the block hashes), its
/// machine trace ends on the state root the batch replay gives after it, with its status —
/// skipped transactions `Invalid` with the state unchanged.
#[test]
#[ignore = "long (several minutes on two cores): run by command, `cargo test --release -p refute-tests --test it every_transaction_of_the_cancun -- --ignored`"]
fn every_transaction_of_the_cancun_chains_has_a_machine_trace_to_its_replayed_root() {
    use rayon::prelude::*;
    use refute_engine::batch::{self, TxStatus};
    let Some(mut chains) = crate::batch::valid_chains() else { return };
    // bcExploitTest's DelegateCallSpam and SuicideIssue run tens of thousands of frames: their
    // machine traces take minutes to build (one prover run and one revm check per boundary);
    // they are left to the command-line runs.
    chains.retain(|(name, _, _)| !name.contains("bcExploitTest"));
    if let Ok(only) = std::env::var("REFUTE_ONLY") {
        chains.retain(|(name, _, _)| name.contains(&only));
    }
    let tally = chains
        .par_iter()
        .map(|(name, file, _)| {
            let mut tally = Tally::default();
            // Each recording replays the batch up to its transaction: long chains are
            // sampled (their first and last transactions and six between).
            let count = file.batch.transaction_count();
            let mut positions: Vec<usize> = if count <= 8 {
                (0..count).collect()
            } else {
                (0..8).map(|k| k * (count - 1) / 7).collect()
            };
            positions.dedup();
            for position in positions {
                tally.cases += 1;
                let (replay, trace) = match batch::record_transaction(file, position) {
                    Ok(recorded) => recorded,
                    Err(e) => {
                        tally.failures.push(format!("{name} transaction {position}: {e}"));
                        continue;
                    }
                };
                if std::env::var_os("REFUTE_VERBOSE").is_some() {
                    eprintln!("{name} {position}: {} steps", trace.len());
                }
                let Some(record) = replay.transactions.last() else { continue };
                let status = match record.status {
                    TxStatus::Success => Status::Succeeded,
                    TxStatus::Failure => Status::Failed,
                    TxStatus::Invalid(_) => Status::Invalid,
                };
                if let Err(failure) = check_trace(&trace, (record.state_root, status), &mut tally) {
                    tally.failures.push(format!("{name} transaction {position}: {failure}"));
                }
            }
            tally
        })
        .reduce(Tally::default, merge);
    report(&tally);
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.cases > 700, "only {} transactions", tally.cases);
    assert!(tally.boundary > 5_000, "only {} boundary steps", tally.boundary);
}
