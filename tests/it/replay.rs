//! The dispute game contract against the engine's model (issue 6): transcripts of complete
//! simulated games (`refute_engine::game::simulate`, the games `refute simulate --synthetic`
//! plays) replayed through the compiled contracts by [`refute_tests::replay`], each game opened
//! by challenging a proposal and its proposal settled by the outcome. The step verifier is the
//! synthetic-trace **test double** (see that module).

use rayon::prelude::*;
use refute_engine::game::{
    adversary::Strategy,
    simulate::{self, SYNTHETIC_LENGTHS},
};
use refute_tests::replay::{ContractReplay, GasStats};
use serde_json::Value;

/// Games replayed: the acceptance asks for at least 1,000.
const GAMES: u64 = 1_000;
/// The seed of the batch (`refute simulate --synthetic --seed 1`): game `g` uses seed `1 + g`.
const SEED: u64 = 1;
/// Games per in-process L1 (one verifier and factory each).
const CHUNK: u64 = 50;

/// The transcript of game `g` of `refute simulate --synthetic --seed SEED`, as JSON.
fn transcript(g: u64) -> Value {
    let (params, proposal) = simulate::synthetic_setup(SEED).expect("valid parameters");
    let seed = SEED + g;
    let lineup = simulate::draw_lineup(&Strategy::ALL, seed);
    let (report, transcript) =
        simulate::play(&params, &proposal, &proposal.verifier(), &lineup, seed, 3_600, true)
            .expect("the simulator plays");
    assert!(report.honest_won, "game {g}: {:?}", report.failure);
    serde_json::to_value(transcript.expect("recorded")).expect("a transcript serializes")
}

#[test]
fn contract_replays_simulated_games_like_the_model() {
    let chunks: Vec<u64> = (0..GAMES.div_ceil(CHUNK)).collect();
    let results: Vec<(u64, u64, u64, GasStats, Vec<String>)> = chunks
        .par_iter()
        .map(|&c| {
            let first = c * CHUNK;
            let mut l1: Option<ContractReplay> = None;
            let (mut actions, mut rejected) = (0, 0);
            let mut diffs = Vec::new();
            for g in first..(first + CHUNK).min(GAMES) {
                let t = transcript(g);
                let l1 =
                    l1.get_or_insert_with(|| ContractReplay::new(&t["params"], &SYNTHETIC_LENGTHS));
                let list = t["actions"].as_array().expect("actions");
                actions += list.len() as u64;
                rejected += list.iter().filter(|a| a.get("error").is_some()).count() as u64;
                for diff in l1.replay(&t) {
                    diffs.push(format!("game {g}: {diff}"));
                }
            }
            let games = (first + CHUNK).min(GAMES) - first;
            (games, actions, rejected, l1.map(|l| l.gas).unwrap_or_default(), diffs)
        })
        .collect();
    let mut gas = GasStats::new();
    let (mut games, mut actions, mut rejected) = (0, 0, 0);
    let mut diffs = Vec::new();
    for (g, a, r, stats, d) in results {
        games += g;
        actions += a;
        rejected += r;
        diffs.extend(d);
        for (kind, (count, total, max)) in stats {
            let entry = gas.entry(kind).or_insert((0, 0, 0));
            entry.0 += count;
            entry.1 += total;
            entry.2 = entry.2.max(max);
        }
    }
    eprintln!(
        "replayed {games} games, {actions} actions ({rejected} rejected), disagreements: {}",
        diffs.len()
    );
    for (kind, (count, total, max)) in &gas {
        eprintln!(
            "gas per {kind}: mean {} max {max} over {count} (transaction gas, intrinsic included)",
            total / count.max(&1)
        );
    }
    assert!(games >= 1_000);
    assert!(
        diffs.is_empty(),
        "{} disagreements, the first:\n{}",
        diffs.len(),
        diffs.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Every rule the model can reject an action with is a custom error of the same name in the
/// game's ABI (docs/spec/game.md §11), so transcripts name the contract's errors.
#[test]
fn every_model_error_is_a_contract_error() {
    use alloy_primitives::{Address, B256};
    use refute_engine::{
        Error,
        game::{GameError as E, Position},
    };
    let abi: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/artifacts/DisputeGame.json"
    )))
    .expect("the DisputeGame artifact is JSON");
    let names: Vec<&str> = abi["abi"]
        .as_array()
        .expect("an ABI")
        .iter()
        .filter(|item| item["type"] == "error")
        .filter_map(|item| item["name"].as_str())
        .collect();
    let (a, b) = (Address::ZERO, B256::ZERO);
    let p = Position::ROOT;
    let source = || Error::BadWitness("x");
    let rules = [
        E::InvalidParams("x"),
        E::GameNotInProgress,
        E::GameNotResolved,
        E::UnknownClaim { index: 0, len: 0 },
        E::MaxDepthReached { index: 0, max_depth: 0 },
        E::NotAtMaxDepth { index: 0, depth: 0, max_depth: 0 },
        E::CannotDefendRoot { index: 0 },
        E::SplitRootMismatch { against: 0, disputed: b, must_equal: true },
        E::WrongBond { depth: 0, expected: 0, paid: 0 },
        E::ClockExpired { index: 0, elapsed: 0, max: 0 },
        E::ClockNotExpired { index: 0, remaining: 0 },
        E::TimeBeforeClaim { index: 0, now: 0, timestamp: 0 },
        E::DuplicateClaim { parent: 0, position: p, value: b },
        E::DuplicateStep { index: 0, by: a },
        E::DefendLastLeaf { index: 0 },
        E::ValidStep { index: 0, pre: b, post: b },
        E::InvalidStep { index: 0, source: source() },
        E::AlreadyResolved { index: 0 },
        E::OutOfOrderResolution { index: 0, child: 0 },
        E::RootNotResolved,
        E::NoCredit { recipient: a },
        E::MissingTraceAncestor { index: 0, position: p },
        E::Prestate { tx: 0, source: source() },
    ];
    for rule in &rules {
        assert!(names.contains(&rule.name()), "{} has no custom error in DisputeGame", rule.name());
    }
    // The one model error with no contract twin: a player's own trace failing (off-chain).
    assert_eq!(E::Trace(source()).name(), "Trace");
    assert!(!names.contains(&"Trace"));
}
