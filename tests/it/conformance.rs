//! The whole Cancun conformance corpus through refute's roots: every state-test case and every
//! blockchain test must match.

use refute_engine::{
    conformance::{self, Summary},
    corpus,
};
use refute_tests::corpus_or_skip;
use revm::primitives::hardfork::SpecId;

fn report(what: &str, summary: &Summary) {
    eprintln!(
        "{what}: files {}, cases {}, matched {}, failed {}, transactions {}",
        summary.files,
        summary.cases,
        summary.matched,
        summary.failed(),
        summary.transactions
    );
    for (case, why) in &summary.failures {
        eprintln!("FAIL {case}: {why}");
    }
    assert_eq!(summary.failed(), 0, "{what}: cases failed (listed above)");
    assert_eq!(summary.matched, summary.cases);
}

#[test]
fn every_cancun_state_test_matches() {
    let Some(root) = corpus_or_skip() else { return };
    let files = corpus::json_files(&[root.join("GeneralStateTests")]).unwrap();
    let summary = conformance::run_state_tests(&files, SpecId::CANCUN, &|_| {});
    report("GeneralStateTests@Cancun", &summary);
    // The corpus has about 19,000 Cancun cases (its SOURCE.md); far fewer means the loader
    // lost some.
    assert!(summary.cases >= 18_000, "only {} Cancun cases found", summary.cases);
}

#[test]
fn every_cancun_blockchain_test_matches() {
    let Some(root) = corpus_or_skip() else { return };
    let files = corpus::json_files(&[root.join("BlockchainTests/ValidBlocks")]).unwrap();
    let summary = conformance::run_blockchain_tests(&files, SpecId::CANCUN, &|_| {});
    report("BlockchainTests/ValidBlocks@Cancun", &summary);
    // About 400 tests and 1,100 transactions (SOURCE.md).
    assert!(summary.cases >= 380, "only {} Cancun blockchain tests found", summary.cases);
    assert!(summary.transactions >= 1_000, "only {} transactions", summary.transactions);
}

#[test]
fn a_wrong_expected_root_is_a_failure_not_a_match() {
    let Some(root) = corpus_or_skip() else { return };
    let source = root.join("GeneralStateTests/stExample/add11.json");
    let text = std::fs::read_to_string(&source).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = json.pointer_mut("/add11/post/Cancun/0/hash").expect("add11 has a Cancun case");
    *hash = serde_json::Value::String(format!("0x{}", "11".repeat(32)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("add11.json");
    std::fs::write(&path, json.to_string()).unwrap();

    let summary = conformance::run_state_tests(&[path], SpecId::CANCUN, &|_| {});
    assert_eq!(summary.failed(), 1, "{:?}", summary.failures);
    assert!(matches!(summary.failures[0].1, conformance::Mismatch::StateRoot { .. }));
}

/// Every step of the VM, memory and call-code state tests, and a sample of the steps of the
/// world-focused ones (storage, refunds, account reads and EXTCODECOPY, transient storage,
/// access lists, blob and context opcodes, calls, reverts and SELFDESTRUCT, creates and
/// init-code limits, invalid transactions; frame boundaries are always checked), and every step
/// of five blockchain-test folders, checked against the one-step executor — each transaction
/// begun from its signed envelope (spec §8.1) and ended (§8.2): no mismatch, nothing
/// unsupported, every root matched, and every opcode the executor runs is among those checked.
/// (The whole corpus runs by command, `refute conformance --steps all`; the loops of
/// `vmPerformance` alone are 140 million steps, too long for the test suite.)
#[test]
fn the_steps_of_the_vm_memory_and_world_tests_match_the_executor() {
    let Some(root) = corpus_or_skip() else { return };
    let tests = root.join("GeneralStateTests");
    let every_step = [
        "VMTests/vmArithmeticTest",
        "VMTests/vmBitwiseLogicOperation",
        "VMTests/vmIOandFlowOperations",
        "VMTests/vmTests",
        "stMemoryTest",
        "stReturnDataTest",
        "stLogTests",
        "Cancun/stEIP5656-MCOPY",
        "stStackTests",
        "stShift",
        "Shanghai/stEIP3855-push0",
        "stCallCodes",
        "stCallDelegateCodesHomestead",
    ];
    let sampled = [
        "stSLoadTest",
        "stSStoreTest",
        "stRefundTest",
        "stExtCodeHash",
        "stArgsZeroOneBalance",
        "stSelfBalance",
        "stEIP2930",
        "stChainId",
        "stEIP1559",
        "Cancun/stEIP1153-transientStorage",
        "Cancun/stEIP4844-blobtransactions",
        "Pyspecs/cancun/eip7516_blobgasfee",
        "stExample",
        "stSystemOperationsTest",
        "stRevertTest",
        "stStaticFlagEnabled",
        "stZeroCallsRevert",
        "stCreate2",
        "stInitCodeTest",
        "Shanghai/stEIP3860-limitmeterinitcode",
        "stTransactionTest",
    ];
    // Blockchain tests: several transactions per block, real signatures, the block's gas
    // before each transaction (spec §8.1), every step checked.
    let chains = [
        "bcEIP1559",
        "bcEIP4844-blobtransactions",
        "bcExample",
        "bcValidBlockTest",
        "bcStateTests",
    ];
    let run = |folders: &[&str], selection| {
        let files =
            corpus::json_files(&folders.iter().map(|f| tests.join(f)).collect::<Vec<_>>()).unwrap();
        conformance::run_step_checks(&files, SpecId::CANCUN, selection, &|_| {})
    };
    let all = run(&every_step, conformance::StepSelection::All);
    let sample = run(&sampled, conformance::StepSelection::Sample(64));
    let blocks = root.join("BlockchainTests/ValidBlocks");
    let files =
        corpus::json_files(&chains.iter().map(|f| blocks.join(f)).collect::<Vec<_>>()).unwrap();
    let chained = conformance::run_step_checks(
        &files,
        SpecId::CANCUN,
        conformance::StepSelection::All,
        &|_| {},
    );
    report("VM and memory state tests (with every step checked)", &all.roots);
    report("world state tests (with a sample of steps checked)", &sample.roots);
    report("blockchain tests (with every step checked)", &chained.roots);
    let mut steps = all.steps;
    steps.merge(sample.steps);
    steps.merge(chained.steps);
    eprintln!(
        "steps {}, checked {}, mismatches {}, unsupported {}",
        steps.steps,
        steps.checked,
        steps.mismatch_count,
        steps.unsupported_count()
    );
    for mismatch in &steps.mismatches {
        eprintln!("MISMATCH {mismatch}");
    }
    assert_eq!(steps.mismatch_count, 0, "mismatches (listed above)");
    assert_eq!(steps.unsupported_count(), 0, "unsupported: {:?}", steps.unsupported);
    // Every transaction is begun from its envelope (spec §8.1): valid ones enter, invalid
    // ones (stTransactionTest, fee rules) end at their begin step; access lists are warmed.
    let count = |kind: &str| steps.checked_by_opcode.get(kind).copied().unwrap_or(0);
    assert!(count("transaction/tx-begin") > 2_000, "{}", count("transaction/tx-begin"));
    assert!(count("transaction/entry") > 1_000, "{}", count("transaction/entry"));
    assert!(count("transaction/access-list") > 100, "{}", count("transaction/access-list"));
    assert!(count("transaction/tx-begin") > count("transaction/entry") + 500, "invalid ones");
    assert!(steps.checked > 100_000, "only {} steps checked", steps.checked);
    let missing: Vec<&str> = (0..=255u8)
        .filter(|op| {
            use refute_engine::machine::{Family, OPCODES};
            OPCODES[*op as usize].family != Family::Invalid
        })
        .filter_map(|op| revm::bytecode::opcode::OPCODE_INFO[op as usize].map(|i| i.name()))
        .filter(|name| !steps.checked_by_opcode.contains_key(*name))
        .collect();
    assert!(missing.is_empty(), "opcodes never checked: {missing:?}");
}
