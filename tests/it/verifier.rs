//! The Solidity one-step verifier (`contracts/src/verifier/StepVerifier.sol`) against the Rust
//! executor (`refute_engine::machine::execute`), in an in-process revm (issue 7, deliverable
//! 2): on witnesses the engine's lazy trace makes — random programs over the implemented
//! opcodes (halts included) and a sample of real state-test steps — the verifier must return
//! exactly the executor's post-state, or revert with `Unsupported` for a family it does not
//! implement yet; where the executor rejects, the verifier must revert.
//!
//! Mutated witnesses: a changed header or frame byte, a stack operand, two swapped operands,
//! the stack's rest hash, a memory or calldata word, a proof sibling, a code byte — each must
//! be rejected by both sides when the step reads that part; random byte flips of the encoded
//! witness must be rejected, or accepted only with the honest post-state (a byte the step does
//! not read): `forged accepted` must be 0.
//!
//! The verifier's gas per opcode (median, p99, max) is printed: the execution gas of a
//! `step(pre, witness)` transaction, its 21,000 base and calldata (4 gas a zero byte, 16 a
//! non-zero one) deducted, and the calldata separately.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolInterface};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use refute_contracts::StepVerifier::{self, StepVerifierErrors};
use refute_engine::{
    Eip7610,
    corpus::{self, StateTestFile},
    machine::{Family, OPCODES, PendingKind, StepWitness, execute},
    trace::{Trace, TraceRecorder},
    workload::Workload,
};
use refute_tests::{CallError, InProcessEvm, corpus_or_skip};
use revm::{
    Context, InspectCommitEvm, MainBuilder, MainContext, database::State,
    primitives::hardfork::SpecId,
};
use std::collections::BTreeMap;

/// What the verifier said about one step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// A post-state commitment.
    Post(B256),
    /// `Unsupported(pendingKind, opcode)`.
    Unsupported,
    /// Any other revert: the witness was rejected (the error's name).
    Rejected(String),
}

/// The deployed verifier.
struct OnChain {
    evm: InProcessEvm,
    address: Address,
}

/// `21,000 + 4 · zero bytes + 16 · other bytes` (Cancun).
fn intrinsic(data: &[u8]) -> u64 {
    21_000 + data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum::<u64>()
}

impl OnChain {
    fn deploy() -> Self {
        let mut evm = InProcessEvm::new();
        let address = evm.deploy(&StepVerifier::BYTECODE).expect("StepVerifier deploys");
        Self { evm, address }
    }

    /// The verdict on `witness` for `pre`, and for a post-state the execution gas and the
    /// calldata gas of the transaction.
    fn step(&mut self, pre: B256, witness: &Bytes) -> (Verdict, u64, u64) {
        let data: Bytes =
            StepVerifier::stepCall { pre, witness: witness.clone() }.abi_encode().into();
        let calldata_gas = intrinsic(&data) - 21_000;
        let sent = self.evm.transact_at(
            InProcessEvm::SENDER,
            Some(self.address),
            data.clone(),
            U256::ZERO,
            1,
        );
        match sent {
            Ok(done) => {
                let post = StepVerifier::stepCall::abi_decode_returns(&done.output)
                    .expect("step returns a bytes32");
                (Verdict::Post(post), done.gas_used - intrinsic(&data), calldata_gas)
            }
            Err(CallError::Revert(data)) => {
                let verdict = match StepVerifierErrors::abi_decode(&data) {
                    Ok(StepVerifierErrors::Unsupported(_)) => Verdict::Unsupported,
                    Ok(other) => Verdict::Rejected(format!("{other:?}")),
                    // A panic or an unknown revert is a defect: bad input must revert typed.
                    Err(_) => panic!("untyped revert from the verifier: {data}"),
                };
                (verdict, 0, calldata_gas)
            }
            Err(CallError::Halt(reason)) => panic!("the verifier halted: {reason}"),
        }
    }
}

/// Gas samples and counts of one harness run.
#[derive(Default)]
struct Tally {
    /// Steps compared (the executor ran them).
    compared: u64,
    /// Steps both accepted with the same post-state.
    agreed: u64,
    /// Steps both rejected.
    both_rejected: u64,
    /// Steps the verifier does not implement yet.
    unsupported: u64,
    /// Targeted mutations both sides rejected.
    mutations_rejected: u64,
    /// Byte flips of the encoding.
    flips: u64,
    /// Byte flips the verifier accepted (each with the honest post-state).
    flips_accepted: u64,
    /// Execution gas per opcode name.
    gas: BTreeMap<u8, Vec<u64>>,
    calldata_gas: Vec<u64>,
    failures: Vec<String>,
}

/// The opcode a witness's opcode step runs (STOP past the code).
fn opcode(witness: &StepWitness) -> u8 {
    let frame = &witness.frame;
    if frame.pc >= frame.code_size {
        return 0;
    }
    witness
        .code
        .iter()
        .find(|chunk| chunk.index == frame.pc / 32)
        .map_or(0, |chunk| chunk.bytes[(frame.pc % 32) as usize])
}

/// Whether the verifier implements `opcode`'s family (a step of another family must revert
/// with `Unsupported` unless its prelude halts).
fn implemented(opcode: u8) -> bool {
    !matches!(OPCODES[opcode as usize].family, Family::World | Family::Boundary | Family::Micro)
}

impl Tally {
    /// Compares the two sides on one honest step `pre → post` (`post` the trace's next
    /// commitment), then on its mutations.
    fn check(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        witness: &StepWitness,
        label: &str,
        rng: &mut ChaCha8Rng,
        mutate: bool,
    ) {
        self.compared += 1;
        let rust = execute(pre, witness);
        let bytes = match witness.encode_for_l1() {
            Ok(bytes) => bytes,
            Err(e) => return self.failures.push(format!("{label}: cannot encode: {e}")),
        };
        match StepWitness::decode_from_l1(&bytes) {
            Ok(decoded) => {
                if decoded.encode_for_l1().ok().as_ref() != Some(&bytes) {
                    self.failures.push(format!("{label}: the encoding does not round-trip"));
                }
                if execute(pre, &decoded).ok() != rust.as_ref().ok().copied() {
                    self.failures
                        .push(format!("{label}: the decoded witness executes differently"));
                }
            }
            Err(e) => self.failures.push(format!("{label}: cannot decode its own encoding: {e}")),
        }
        let (verdict, gas, calldata_gas) = chain.step(pre, &bytes);
        let op = opcode(witness);
        match (&rust, &verdict) {
            (Ok(p), Verdict::Post(q)) if p == q => {
                self.agreed += 1;
                if witness.state.pending_kind == PendingKind::None
                    && !witness.state.status.is_final()
                {
                    self.gas.entry(op).or_default().push(gas);
                    self.calldata_gas.push(calldata_gas);
                }
            }
            (Ok(_), Verdict::Unsupported) => {
                self.unsupported += 1;
                if witness.state.pending_kind == PendingKind::None && implemented(op) {
                    self.failures
                        .push(format!("{label}: opcode 0x{op:02x} is implemented but Unsupported"));
                }
            }
            (Err(_), Verdict::Rejected(_) | Verdict::Unsupported) => self.both_rejected += 1,
            _ => self
                .failures
                .push(format!("{label}: op 0x{op:02x}: rust {rust:?}, verifier {verdict:?}")),
        }
        let Ok(post) = rust else { return };
        if !mutate || verdict != Verdict::Post(post) {
            return;
        }
        self.mutations(chain, pre, post, witness, label);
        self.flips(chain, pre, post, &bytes, label, rng);
    }

    /// Targeted mutations of the parts the step reads: both sides must reject each.
    fn mutations(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        post: B256,
        witness: &StepWitness,
        label: &str,
    ) {
        let halted = {
            // A halting step reads no operand; a STOP none either.
            let mut probe = witness.clone();
            probe.stack_rest = B256::repeat_byte(0xee);
            execute(pre, &probe).ok() == Some(post)
        };
        let mut cases: Vec<(&str, StepWitness)> = Vec::new();
        let mut m = witness.clone();
        m.state.refund ^= 1;
        cases.push(("header byte", m));
        if witness.state.status.is_final() {
            // A final state steps to itself: nothing but the header is read.
            return self.reject_all(chain, pre, cases, label);
        }
        let mut m = witness.clone();
        m.frame.value ^= U256::from(1);
        cases.push(("frame byte", m));
        if let Some(chunk) = witness.code.first() {
            let mut m = witness.clone();
            m.code[0].bytes[(chunk.index as usize * 7) % 32] ^= 0x40;
            cases.push(("code byte", m));
            let mut m = witness.clone();
            m.code[0].proof.siblings[5] ^= B256::with_last_byte(1);
            cases.push(("code proof sibling", m));
        }
        if !halted && !witness.stack.is_empty() {
            let mut m = witness.clone();
            let last = m.stack.len() - 1;
            m.stack[last] = m.stack[last].wrapping_add(U256::from(1));
            cases.push(("stack operand", m));
            let mut m = witness.clone();
            m.stack_rest ^= B256::with_last_byte(1);
            cases.push(("stack rest", m));
            if witness.stack.len() >= 2 && witness.stack[0] != witness.stack[last] {
                let mut m = witness.clone();
                m.stack.swap(0, last);
                cases.push(("swapped stack values", m));
            }
        }
        if !halted && !witness.memory.is_empty() {
            let mut m = witness.clone();
            m.memory[0].word ^= B256::with_last_byte(1);
            cases.push(("memory word", m));
            let mut m = witness.clone();
            let k = m.memory.len() - 1;
            m.memory[k].proof.siblings[21] ^= B256::with_last_byte(1);
            cases.push(("memory proof sibling", m));
        }
        if !halted && !witness.calldata.is_empty() {
            let mut m = witness.clone();
            m.calldata[0].word ^= B256::repeat_byte(0x80);
            cases.push(("calldata word", m));
        }
        self.reject_all(chain, pre, cases, label);
    }

    /// Each mutated witness must be rejected by both sides.
    fn reject_all(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        cases: Vec<(&str, StepWitness)>,
        label: &str,
    ) {
        for (what, m) in cases {
            let rust = execute(pre, &m);
            let Ok(bytes) = m.encode_for_l1() else {
                self.failures.push(format!("{label}: {what}: cannot encode"));
                continue;
            };
            let (verdict, _, _) = chain.step(pre, &bytes);
            if rust.is_ok() || !matches!(verdict, Verdict::Rejected(_)) {
                self.failures.push(format!("{label}: {what}: rust {rust:?}, verifier {verdict:?}"));
            } else {
                self.mutations_rejected += 1;
            }
        }
    }

    /// Random byte flips of the encoding: rejected, or accepted with the honest post-state.
    fn flips(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        post: B256,
        bytes: &Bytes,
        label: &str,
        rng: &mut ChaCha8Rng,
    ) {
        for _ in 0..2 {
            let mut forged = bytes.to_vec();
            let at = rng.random_range(0..forged.len());
            forged[at] ^= 1 << rng.random_range(0..8);
            self.flips += 1;
            let (verdict, _, _) = chain.step(pre, &forged.clone().into());
            match verdict {
                Verdict::Post(p) if p == post => self.flips_accepted += 1,
                Verdict::Post(p) => {
                    self.failures.push(format!("{label}: forged accepted: byte {at} gives {p}"))
                }
                _ => {}
            }
            if let Ok(decoded) = StepWitness::decode_from_l1(&forged)
                && let Ok(p) = execute(pre, &decoded)
                && p != post
            {
                self.failures.push(format!("{label}: the executor accepts a forgery at byte {at}"));
            }
        }
    }

    /// Runs every step of `trace` (and the final state's padding step) through both sides;
    /// mutations on every `mutate_every`-th compared step.
    fn trace(
        &mut self,
        chain: &mut OnChain,
        trace: &Trace,
        label: &str,
        rng: &mut ChaCha8Rng,
        mutate_every: u64,
    ) {
        for i in 0..=trace.len() {
            let Ok(witness) = trace.witness(i) else { continue }; // exit steps: Engine II
            let pre = trace.commitment(i).expect("commitment");
            let mutate = mutate_every != 0 && self.compared.is_multiple_of(mutate_every);
            self.check(chain, pre, &witness, &format!("{label} step {i}"), rng, mutate);
            if i < trace.len()
                && let Ok(post) = execute(pre, &witness)
                && post != trace.commitment(i + 1).expect("commitment")
            {
                self.failures.push(format!("{label} step {i}: the executor leaves the trace"));
            }
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: compared {}, agreed {}, both rejected {}, unsupported {}, mutations rejected {}, \
             byte flips {} (accepted with the honest post {}), forged accepted {}",
            self.compared,
            self.agreed,
            self.both_rejected,
            self.unsupported,
            self.mutations_rejected,
            self.flips,
            self.flips_accepted,
            self.failures.iter().filter(|f| f.contains("forged")).count(),
        );
        let stats = |v: &mut Vec<u64>| {
            v.sort_unstable();
            let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
            (at(0.5), at(0.99), v[v.len() - 1])
        };
        let mut all: Vec<u64> = self.gas.values().flatten().copied().collect();
        if !all.is_empty() {
            let (median, p99, max) = stats(&mut all);
            let (cd_median, cd_p99, cd_max) = stats(&mut self.calldata_gas.clone());
            eprintln!(
                "verifier gas over {} opcode steps: execution median {median} / p99 {p99} / max {max}; \
                 calldata median {cd_median} / p99 {cd_p99} / max {cd_max}",
                all.len()
            );
        }
        for (op, samples) in &self.gas {
            let (median, p99, max) = stats(&mut samples.clone());
            eprintln!(
                "  0x{op:02x}: {:>6} steps, median {median}, p99 {p99}, max {max}",
                samples.len()
            );
        }
        for failure in self.failures.iter().take(20) {
            eprintln!("FAIL {failure}");
        }
    }
}

/// Opcodes the random programs draw from: the implemented families, and a few others.
const OPS: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14,
    0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a,
    0x3d, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4a, 0x50, 0x58, 0x59, 0x5a, 0x5b, 0x80, 0x81,
    0x82, 0x83, 0x84, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x9f,
];

/// A random program over the implemented opcodes, with forward jumps to JUMPDESTs (and some
/// invalid ones), memory, calldata and context reads at small offsets, and an occasional
/// byte of anything (invalid and unsupported opcodes).
fn program(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut code = Vec::new();
    let mut jumps = Vec::new();
    let mut dests = Vec::new();
    let small = |rng: &mut ChaCha8Rng, code: &mut Vec<u8>, max: u8| {
        code.extend_from_slice(&[0x60, rng.random_range(0..max)]);
    };
    for _ in 0..rng.random_range(10..80) {
        match rng.random_range(0..100u32) {
            0..30 => {
                let n = rng.random_range(0..=32u8);
                code.push(0x5f + n);
                let big = rng.random_bool(0.5);
                for k in 0..n {
                    code.push(if big || k + 1 == n { rng.random() } else { 0 });
                }
            }
            30..55 => code.push(OPS[rng.random_range(0..OPS.len())]),
            55..62 => {
                // MSTORE / MSTORE8 of a random value at a small offset, or MLOAD.
                code.extend_from_slice(&[0x7f]);
                code.extend((0..32).map(|_| rng.random::<u8>()));
                small(rng, &mut code, 200);
                code.push([0x52, 0x53, 0x51][rng.random_range(0..3)]);
            }
            62..66 => {
                small(rng, &mut code, 80);
                code.push(0x35); // CALLDATALOAD
            }
            66..69 => {
                small(rng, &mut code, 4);
                code.push([0x40, 0x49][rng.random_range(0..2)]); // BLOCKHASH, BLOBHASH
            }
            69..75 => {
                dests.push(code.len());
                code.push(0x5b);
            }
            75..82 => {
                let conditional = rng.random_bool(0.5);
                if conditional {
                    small(rng, &mut code, 2);
                }
                jumps.push(code.len());
                code.extend_from_slice(&[0x61, 0, 0, if conditional { 0x57 } else { 0x56 }]);
            }
            82..85 => code.push(rng.random()),
            85..87 => {
                // Very large offsets: halts.
                code.extend_from_slice(&[0x63, 0xff, 0xff, 0xff, 0xff]);
                code.push([0x51, 0x52, 0x35][rng.random_range(0..3)]);
            }
            _ => code.push([0x0a, 0x80, 0x90, 0x01][rng.random_range(0..4)]),
        }
    }
    for at in jumps {
        let target = match dests.iter().find(|d| **d > at) {
            Some(d) if rng.random_bool(0.9) => *d,
            _ => rng.random_range(0..code.len() + 4),
        };
        code[at + 1..at + 3].copy_from_slice(&(target as u16).to_be_bytes());
    }
    if rng.random_bool(0.5) {
        code.push(0x00);
    }
    code
}

/// The verifier's opcode table is the engine's.
#[test]
fn the_verifier_opcode_table_is_the_engines() {
    let mut chain = OnChain::deploy();
    for op in 0..=255u8 {
        let info = OPCODES[op as usize];
        let family = match info.family {
            Family::Invalid => 0u8,
            Family::Pure => 1,
            Family::Stack => 2,
            Family::Control => 3,
            Family::Memory => 4,
            Family::Frame => 5,
            Family::Context => 6,
            Family::Exit => 7,
            Family::World => 8,
            Family::Boundary => 9,
            Family::Micro => 10,
        };
        let got = chain
            .evm
            .call(chain.address, &StepVerifier::opcodeInfoCall { op })
            .expect("opcodeInfo");
        assert_eq!(
            (got.inputs, got.outputs, got.gas, got.family),
            (
                U256::from(info.inputs),
                U256::from(info.outputs),
                U256::from(info.static_gas),
                U256::from(family)
            ),
            "opcode 0x{op:02x}"
        );
    }
}

/// Random programs: every step the executor runs, the verifier runs to the same post-state
/// (or reverts `Unsupported` outside its families); mutations are rejected by both.
#[test]
fn the_verifier_matches_the_executor_on_random_programs() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7665_7269_6669_6572);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    for n in 0..500 {
        let code = program(&mut rng);
        let calldata: Vec<u8> = (0..rng.random_range(0..100)).map(|_| rng.random()).collect();
        let gas = intrinsic(&calldata) + rng.random_range(50..30_000);
        let workload = Workload::new(code.into(), calldata.into(), gas);
        let (_, trace) = workload.record().expect("the workload runs");
        tally.trace(&mut chain, &trace, &format!("program {n}"), &mut rng, 3);
    }
    tally.report("random programs");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.agreed > 2_000, "only {} steps agreed", tally.agreed);
    assert!(tally.both_rejected == 0, "{} honest steps rejected", tally.both_rejected);
    assert!(tally.mutations_rejected > 2_000, "only {} mutations", tally.mutations_rejected);
    let families: std::collections::BTreeSet<u8> = tally.gas.keys().copied().collect();
    for op in [0x00u8, 0x0a, 0x1d, 0x35, 0x40, 0x49, 0x51, 0x52, 0x53, 0x56, 0x57, 0x7f, 0x8f, 0x9f]
    {
        assert!(families.contains(&op), "no step of opcode 0x{op:02x}");
    }
}

/// Records one state-test case's transaction.
fn record(case: &refute_engine::StateTestCase<'_>) -> Option<Trace> {
    let (Ok(cfg), Ok(block), Ok(tx)) = (case.cfg(), case.block_env(), case.tx_env()) else {
        return None;
    };
    let pre = case.pre_state();
    let recorder = TraceRecorder::new().with_pre_state(&pre).ok()?;
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector((Eip7610, recorder));
    let _ = evm.inspect_tx_commit(tx);
    Some(std::mem::take(&mut evm.inspector.1).finish())
}

/// A sample of real state-test steps (the VM tests and the memory tests), every step of each
/// case's trace.
#[test]
fn the_verifier_matches_the_executor_on_state_tests() {
    let Some(root) = corpus_or_skip() else { return };
    let tests = root.join("GeneralStateTests");
    let folders = [
        "VMTests/vmArithmeticTest",
        "VMTests/vmBitwiseLogicOperation",
        "VMTests/vmIOandFlowOperations",
        "VMTests/vmTests",
        "stMemoryTest",
    ];
    let files = corpus::json_files(&folders.iter().map(|f| tests.join(f)).collect::<Vec<_>>())
        .expect("corpus files");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    // Every other file of each folder, up to about 6,000 steps (≈ 15 s on one core).
    for path in files.iter().step_by(2) {
        if tally.compared > 6_000 {
            break;
        }
        let file = StateTestFile::load(path).expect("corpus file");
        for (k, case) in file.cases(SpecId::CANCUN).enumerate().take(4) {
            let Some(trace) = record(&case) else { continue };
            if trace.len() > 3_000 {
                continue;
            }
            let name =
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            tally.trace(&mut chain, &trace, &format!("{name}[{k}]"), &mut rng, 25);
        }
    }
    tally.report("state tests");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.agreed > 2_000, "only {} steps agreed", tally.agreed);
}
