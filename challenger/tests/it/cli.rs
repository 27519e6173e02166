//! The `refute` binary as a user runs it.

use assert_cmd::Command;
use refute_tests::{corpus_or_skip, replay::ContractReplay};

fn refute() -> Command {
    let mut cmd = Command::cargo_bin("refute").expect("the refute binary is built");
    cmd.env_remove("REFUTE_LOG").env_remove("REFUTE_LOG_FORMAT");
    cmd
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn help_has_examples() {
    let out = refute().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("Examples:"));
    let out = refute().args(["statetest", "--help"]).output().unwrap();
    assert!(stdout(&out).contains("cases: N, roots matched: R, failed: F"));
}

#[test]
fn statetest_prints_the_summary_line_and_exits_zero() {
    let Some(root) = corpus_or_skip() else { return };
    let out = refute()
        .args(["--log-format", "json", "statetest"])
        .arg(root.join("GeneralStateTests/stExample"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out).lines().last(), Some("cases: 38, roots matched: 38, failed: 0"));
    // JSON logs on stderr, one object per line.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().expect("a log line");
    let log: serde_json::Value = serde_json::from_str(first).expect("JSON log line");
    assert_eq!(log["level"], "INFO");
}

#[test]
fn blockchaintest_prints_the_summary_line_and_exits_zero() {
    let Some(root) = corpus_or_skip() else { return };
    let out = refute()
        .arg("blockchaintest")
        .arg(root.join("BlockchainTests/ValidBlocks/bcEIP1559"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("cases: ") && last.ends_with(", failed: 0"), "{last}");
}

#[test]
fn a_malformed_file_is_a_failed_case_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"t\": {\"env\": 1}").unwrap();
    let out = refute().arg("statetest").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("is not a valid state test file"), "{text}");
    assert_eq!(text.lines().last(), Some("cases: 1, roots matched: 0, failed: 1"));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let out = refute().args(["statetest", "/nonexistent/refute-tests"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/refute-tests"));
}

#[test]
fn an_unknown_fork_is_a_usage_error() {
    let out = refute().args(["statetest", "--fork", "Atlantis", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fork `Atlantis`"));
}

#[test]
fn simulate_plays_games_and_writes_a_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("game.json");
    let out = refute()
        .args(["simulate", "--synthetic", "--games", "40", "--seed", "3", "--transcript"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("games: 40, honest wins: 40, steps executed: "), "{last}");
    let transcript: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(transcript["honest_won"], true);
    assert!(transcript["actions"].as_array().is_some_and(|a| !a.is_empty()));
    // The transcript replays through the compiled contracts with the model's outcome
    // (`refute_tests::replay`, over the synthetic-trace verifier double).
    let lengths = refute_engine::game::simulate::SYNTHETIC_LENGTHS;
    let disagreements = ContractReplay::new(&transcript["params"], &lengths).replay(&transcript);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // An unknown adversary is a usage error.
    let out = refute().args(["simulate", "--adversaries", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Games on a batch file's transactions (transfers, calls, a revert, a skipped transaction),
/// recorded as the step machine runs them: the honest player wins every game.
#[test]
fn simulate_plays_on_the_transactions_of_a_batch() {
    let batch = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/batches/transfers.json");
    let out = refute()
        .args(["simulate", "--games", "60", "--seed", "5", "--trace-from", batch])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("games: 60, honest wins: 60, steps executed: "), "{last}");
    let out = refute().args(["simulate", "--trace-from", "/nonexistent.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A claimed per-step trace of one transaction that lies from a step on: `refute replay`
/// names the step before it (the one to prove) and writes its proof, which the executor runs
/// from the pre-state to the true post-state.
#[test]
fn replay_names_the_first_divergent_step_and_writes_its_proof() {
    use alloy_primitives::B256;
    use refute_engine::{
        batch,
        machine::{StepWitness, execute},
    };
    let batch_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/batches/transfers.json");
    let file = batch::BatchFile::load(std::path::Path::new(batch_path)).unwrap();
    // Transaction 2 calls the counter: begin, access list, the frame, its end.
    let (_, trace) = batch::record_transaction(&file, 2).unwrap();
    let mut claimed: Vec<B256> = (0..=trace.len()).map(|i| trace.commitment(i).unwrap()).collect();
    let lie = trace.len() / 2;
    for claim in &mut claimed[lie as usize..] {
        *claim = B256::repeat_byte(0x11);
    }
    let dir = tempfile::tempdir().unwrap();
    let (steps, proof) = (dir.path().join("steps.json"), dir.path().join("proof.json"));
    std::fs::write(&steps, serde_json::to_string(&claimed).unwrap()).unwrap();
    let out = refute()
        .args(["replay", batch_path, "--tx", "2", "--claimed-steps"])
        .arg(&steps)
        .arg("--proof-out")
        .arg(&proof)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let step = lie - 1;
    assert!(text.contains(&format!("first divergent step: index {step}, ")), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    assert_eq!(json["step"], step);
    let pre: B256 = json["pre"].as_str().unwrap().parse().unwrap();
    let post: B256 = json["post"].as_str().unwrap().parse().unwrap();
    assert_eq!((pre, post), (claimed[step as usize], trace.commitment(lie).unwrap()));
    let bytes = alloy_primitives::hex::decode(json["witness"].as_str().unwrap()).unwrap();
    let witness = StepWitness::decode_from_l1(&bytes).unwrap();
    assert_eq!(execute(pre, &witness).unwrap(), post);
    // Every claimed step right: exit 0, nothing divergent; a step past the end: exit 2.
    let honest: Vec<B256> = (0..=trace.len()).map(|i| trace.commitment(i).unwrap()).collect();
    std::fs::write(&steps, serde_json::to_string(&honest).unwrap()).unwrap();
    let out = refute()
        .args(["replay", batch_path, "--tx", "2", "--claimed-steps"])
        .arg(&steps)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(!stdout(&out).contains("first divergent step"));
    let past = (trace.len() + 5).to_string();
    let out = refute().args(["replay", batch_path, "--tx", "2", "--step", &past]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn replay_prints_every_transaction_and_names_the_first_divergent_one() {
    let batch = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/batches/transfers.json");
    let out = refute().args(["replay", batch]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("tx ")).count(), 6, "{text}");
    assert!(text.contains("skipped (transaction validation error: nonce 5 too high"), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(summary.starts_with("batch: 2 blocks, 6 transactions (1 skipped), state root 0x"));
    let root = summary.split("state root ").nth(1).unwrap().split(',').next().unwrap();

    // The claimed final root matches; per-transaction roots with the third one wrong name it.
    let dir = tempfile::tempdir().unwrap();
    let json = refute().args(["replay", batch, "--json"]).output().unwrap();
    let mut replay: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    replay["transactions"][2]["stateRoot"] = format!("0x{}", "11".repeat(32)).into();
    let claimed = dir.path().join("claimed.json");
    std::fs::write(&claimed, replay.to_string()).unwrap();
    let out = refute().args(["replay", batch, "--claimed-root", root]).output().unwrap();
    assert!(out.status.success());
    let out =
        refute().args(["replay", batch]).arg("--claimed-roots").arg(&claimed).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("first divergent transaction: 2 (block 1, index 2,"));

    // An EIP-3155 trace: one JSON object per executed opcode.
    let out = refute().args(["replay", batch, "--trace", "-"]).output().unwrap();
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() > 20 && lines.iter().all(|l| l["opName"].is_string()));

    // Not a batch: a usage error naming the problem.
    let out = refute()
        .args(["replay", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid batch file"));
}

#[test]
fn conformance_fails_the_run_on_unsupported_steps() {
    let Some(root) = corpus_or_skip() else { return };
    // add11 with its contract's code padded past the machine's 131,072-byte bound: the steps
    // run (the padding is after the STOP) but the executor cannot take them.
    let source = root.join("GeneralStateTests/stExample/add11.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&source).unwrap()).unwrap();
    let code =
        json.pointer_mut("/add11/pre/0x095e7baea6a6c7c4c2dfeb977efac326af552d87/code").unwrap();
    *code = format!("{}{}", code.as_str().unwrap(), "00".repeat(131_073)).into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("add11-big.json");
    std::fs::write(&path, json.to_string()).unwrap();
    // The corpus's root assumed the short code: take the root refute computes as expected.
    let out = refute().arg("statetest").arg(&path).output().unwrap();
    let text = stdout(&out);
    let got = text.split("state root ").nth(1).unwrap().split(',').next().unwrap().to_owned();
    let hash = json.pointer_mut("/add11/post/Cancun/0/hash").unwrap();
    *hash = got.into();
    std::fs::write(&path, json.to_string()).unwrap();
    let out = refute().arg("statetest").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));

    let out = refute().args(["conformance", "--steps", "all"]).arg(&path).output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("mismatches: 0, unsupported: "), "{text}");
    assert!(!text.contains("unsupported: 0,"), "{text}");
    assert!(text.contains("roots matched: 1/1"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    eprintln!("{text}");
}
