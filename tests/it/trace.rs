//! The lazy trace against a from-scratch model: for real corpus transactions (nested calls
//! included), the commitment of every state equals one rebuilt from revm's interpreter with
//! no incremental state, and every step the executor runs maps `commitment(i)` with
//! `witness(i)` to `commitment(i + 1)`.
//!
//! The trace models the frame's own state and the caller chain; the header's contexts, world
//! fields and log chain, micro-steps and the pending frame exit are not in it yet (see
//! `refute_engine::trace`). Steps of those kinds — context, world and micro-stepped opcodes,
//! STOP and every halting step — are counted as `untraced`, never as executed; the step
//! checker (`refute conformance`) covers them.

use alloy_primitives::B256;
use proptest::prelude::*;
use refute_engine::{
    Eip7610, Error, StateTestCase,
    corpus::{self, StateTestFile},
    machine::{
        CodeTree, Family, FrameExit, FrameKind, FrameSnapshot, OPCODES, PendingKind, Stack, Status,
        StepWitness, WordTree, execute,
    },
    trace::{Trace, TraceRecorder, header},
    workload::{self, Workload},
};
use refute_tests::corpus_or_skip;
use revm::{
    Context, InspectCommitEvm, Inspector, MainBuilder, MainContext,
    context::ContextTr,
    database::State,
    interpreter::{
        CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, CreateScheme,
        Interpreter,
        interpreter_types::{InputsTr, Jumps, ReturnData, RuntimeFlag},
    },
    primitives::hardfork::SpecId,
};
use std::{path::PathBuf, sync::Arc};

/// A live frame in the reference: kind, return window and caller chain `(count, acc)`.
type RefFrame = (FrameKind, (u32, u32), (u16, B256));

/// A recorded trace with the reference commitments of its states.
type Recorded = (Trace, Vec<B256>);

/// The commitment of every state, each rebuilt from scratch from revm's interpreter: the
/// caller chain from each caller's frame rebuilt right after its CALL/CREATE.
#[derive(Default)]
struct Reference {
    /// Per live frame: kind, return window and caller chain.
    frames: Vec<RefFrame>,
    calls: Vec<usize>,
    next: Option<(FrameKind, (u32, u32))>,
    /// The caller's frame hash after its last CALL/CREATE.
    caller: Option<B256>,
    open: Option<(B256, u8)>,
    commitments: Vec<B256>,
    status: Option<Status>,
}

impl Reference {
    fn snapshot<CTX: ContextTr>(&self, interp: &Interpreter, context: &mut CTX) -> FrameSnapshot {
        let (kind, return_window, _) = *self.frames.last().expect("a live frame");
        let calldata = interp.input.input().bytes(context);
        FrameSnapshot {
            kind,
            is_static: interp.runtime_flag.is_static(),
            address: interp.input.target_address(),
            caller: interp.input.caller_address(),
            value: interp.input.call_value(),
            code: Arc::new(CodeTree::new(interp.bytecode.original_byte_slice()).expect("code")),
            pc: interp.bytecode.pc() as u32,
            gas: interp.gas.remaining(),
            stack: Stack::new(interp.stack.data()),
            memory: WordTree::from_bytes(&interp.memory.context_memory()).expect("memory"),
            calldata: Arc::new(WordTree::from_bytes(&calldata).expect("calldata")),
            returndata: Arc::new(WordTree::from_bytes(interp.return_data.buffer()).expect("rd")),
            return_window,
            checkpoint: B256::ZERO,
        }
    }

    fn end(&mut self, ok: bool) {
        let Some(depth) = self.calls.pop() else { return };
        self.frames.truncate(depth);
        self.next = None;
        if self.calls.is_empty() {
            self.status = Some(if ok { Status::Succeeded } else { Status::Failed });
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for Reference {
    fn initialize_interp(&mut self, _interp: &mut Interpreter, _context: &mut CTX) {
        let (kind, window) = if self.frames.is_empty() {
            (FrameKind::Transaction, (0, 0))
        } else {
            self.next.take().expect("a call or create before a nested frame")
        };
        let chain = match self.frames.last() {
            None => (0, B256::ZERO),
            Some((_, _, (count, acc))) => {
                let caller = self.caller.take().expect("the caller's CALL/CREATE step");
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(acc.as_slice());
                buf[32..].copy_from_slice(caller.as_slice());
                (count + 1, alloy_primitives::keccak256(buf))
            }
        };
        self.frames.push((kind, window, chain));
    }

    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        let frame = self.snapshot(interp, context).frame().expect("frame").hash();
        let chain = self.frames.last().expect("a live frame").2;
        let commitment = header(Status::Running, frame, chain).commitment();
        self.open = Some((commitment, interp.bytecode.opcode()));
    }

    fn step_end(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        let (commitment, opcode) = self.open.take().expect("step before step_end");
        self.commitments.push(commitment);
        if matches!(opcode, 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa) {
            self.caller = Some(self.snapshot(interp, context).frame().expect("frame").hash());
        }
    }

    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.calls.push(self.frames.len());
        let kind = match inputs.scheme {
            CallScheme::Call => FrameKind::Call,
            CallScheme::CallCode => FrameKind::CallCode,
            CallScheme::DelegateCall => FrameKind::DelegateCall,
            CallScheme::StaticCall => FrameKind::StaticCall,
        };
        let window = &inputs.return_memory_offset;
        self.next = Some((kind, (window.start as u32, window.len() as u32)));
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.end(outcome.result.result.is_ok());
    }

    fn create(&mut self, _context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.calls.push(self.frames.len());
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => FrameKind::Create2,
            _ => FrameKind::Create,
        };
        self.next = Some((kind, (0, 0)));
        None
    }

    fn create_end(&mut self, _c: &mut CTX, _i: &CreateInputs, outcome: &mut CreateOutcome) {
        self.end(outcome.result.result.is_ok());
    }
}

/// Runs `case` with the recorder and the reference model side by side: the trace and the
/// reference commitments of `S_0 … S_n` (`None` when the case builds no transaction).
fn record(case: &StateTestCase<'_>) -> Option<Recorded> {
    let (Ok(cfg), Ok(block), Ok(tx)) = (case.cfg(), case.block_env(), case.tx_env()) else {
        return None;
    };
    let mut state =
        State::builder().with_cached_prestate(case.pre_state()).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector(((Eip7610, TraceRecorder::new()), Reference::default()));
    let _ = evm.inspect_tx_commit(tx);
    let reference = std::mem::take(&mut evm.inspector.1);
    let trace = std::mem::take(&mut evm.inspector.0.1).finish();
    let mut commitments = reference.commitments;
    let status = reference.status.unwrap_or(Status::Invalid);
    commitments.push(header(status, B256::ZERO, (0, B256::ZERO)).commitment());
    Some((trace, commitments))
}

#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    steps: u64,
    nested_steps: u64,
    executed: u64,
    unsupported: u64,
    /// Steps of kinds the trace does not model yet (see the module docs).
    untraced: u64,
    failures: Vec<String>,
}

/// The opcode a witness's step runs (STOP past the code).
fn opcode(witness: &StepWitness) -> u8 {
    let pc = witness.frame.pc;
    if pc >= witness.frame.code_size {
        return 0;
    }
    witness
        .code
        .iter()
        .find(|chunk| chunk.index == pc / 32)
        .map(|chunk| chunk.bytes[(pc % 32) as usize])
        .unwrap_or(0)
}

/// The post-state of a halting step from this witness's pre-state (spec §5.4).
fn halted(witness: &StepWitness) -> B256 {
    let mut frame = witness.frame;
    frame.gas = 0;
    let mut state = witness.state;
    state.frame_hash = frame.hash();
    state.pending_kind = PendingKind::FrameExit;
    state.pending_hash = FrameExit::empty(false).hash();
    state.commitment()
}

/// Checks every state and every step of `case`'s trace.
fn check_case(case: &StateTestCase<'_>, tally: &mut Tally) {
    let Some((trace, reference)) = record(case) else { return };
    tally.cases += 1;
    let len = trace.len();
    if reference.len() as u64 != len + 1 {
        tally.failures.push(format!("{case}: {len} steps, reference {}", reference.len() - 1));
        return;
    }
    let mut commitments = Vec::with_capacity(reference.len());
    for (i, expected) in reference.iter().enumerate() {
        let (state, _) = trace.state(i as u64).expect("state");
        if state.callers.0 > 0 {
            tally.nested_steps += 1;
        }
        let got = state.commitment();
        if got != *expected {
            tally.failures.push(format!("{case}: commitment({i}) differs from the reference"));
            return;
        }
        commitments.push(got);
    }
    for i in 0..len {
        tally.steps += 1;
        let witness = trace.witness(i).expect("witness");
        let family = OPCODES[opcode(&witness) as usize].family;
        if matches!(family, Family::Context | Family::World | Family::Micro | Family::Exit) {
            tally.untraced += 1;
            continue;
        }
        match execute(commitments[i as usize], &witness) {
            Ok(post) if post == commitments[i as usize + 1] => tally.executed += 1,
            Ok(post) if post == halted(&witness) => tally.untraced += 1,
            Ok(_) => {
                tally.failures.push(format!("{case}: execute(step {i}) != commitment({})", i + 1));
                return;
            }
            Err(Error::UnsupportedStep { .. }) => tally.unsupported += 1,
            Err(e) => {
                tally.failures.push(format!("{case}: step {i}: {e}"));
                return;
            }
        }
    }
}

fn files(folders: &[&str]) -> Option<Vec<PathBuf>> {
    let tests = corpus_or_skip()?.join("GeneralStateTests");
    Some(
        corpus::json_files(&folders.iter().map(|f| tests.join(f)).collect::<Vec<_>>())
            .expect("corpus files"),
    )
}

/// Every state of the VM, memory and call-code state tests: the trace's commitment equals the
/// from-scratch one, and every step the executor runs lands on the next commitment.
#[test]
fn every_state_of_corpus_transactions_matches_a_from_scratch_rebuild() {
    use rayon::prelude::*;
    let Some(files) = files(&[
        "VMTests/vmArithmeticTest",
        "VMTests/vmBitwiseLogicOperation",
        "VMTests/vmIOandFlowOperations",
        "VMTests/vmTests",
        "VMTests/vmLogTest",
        "stMemoryTest",
        "stCallCodes",
    ]) else {
        return;
    };
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
        .reduce(Tally::default, |mut a, b| {
            a.cases += b.cases;
            a.steps += b.steps;
            a.nested_steps += b.nested_steps;
            a.executed += b.executed;
            a.unsupported += b.unsupported;
            a.untraced += b.untraced;
            a.failures.extend(b.failures);
            a
        });
    eprintln!(
        "cases {}, steps {}, in nested frames {}, executed {}, unsupported {}, untraced {}",
        tally.cases,
        tally.steps,
        tally.nested_steps,
        tally.executed,
        tally.unsupported,
        tally.untraced
    );
    for failure in tally.failures.iter().take(20) {
        eprintln!("FAIL {failure}");
    }
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert_eq!(tally.executed + tally.unsupported + tally.untraced, tally.steps);
    assert!(tally.steps > 50_000, "only {} steps", tally.steps);
    assert!(tally.nested_steps > 1_000, "only {} steps in nested frames", tally.nested_steps);
    assert!(tally.executed > tally.steps / 2, "only {} steps executed", tally.executed);
}

/// A few recorded traces with nested calls and their reference commitments, for random
/// queries.
fn sample_traces() -> Option<Vec<Recorded>> {
    let files = files(&[
        "stCallCodes/callcallcodecall_010.json",
        "stMemoryTest/mem64kb+33.json",
        "VMTests/vmIOandFlowOperations/loopsConditionals.json",
    ])?;
    let mut out = Vec::new();
    for path in files {
        let file = StateTestFile::load(&path).expect("corpus file");
        out.extend(file.cases(SpecId::CANCUN).take(3).filter_map(|case| record(&case)));
    }
    // Solidity code (every stack opcode, memory growth): the first steps of
    // snailtracer, which then runs out of gas.
    let root = workload::workloads_root().expect("workloads folder (REFUTE_WORKLOADS)");
    let snailtracer = Workload::snailtracer(&root, 1_000_000).expect("snailtracer");
    let (_, (recorder, reference)) =
        snailtracer.inspect((TraceRecorder::new(), Reference::default())).expect("runs");
    let mut commitments = reference.commitments;
    let status = reference.status.unwrap_or(Status::Invalid);
    commitments.push(header(status, B256::ZERO, (0, B256::ZERO)).commitment());
    let trace = recorder.finish();
    assert!(trace.len() > 3_000, "snailtracer ran {} steps", trace.len());
    out.push((trace, commitments));
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `commitment(i)` at a random `i`, asked out of order on a trace also asked before,
    /// equals the from-scratch commitment.
    #[test]
    fn commitment_at_a_random_index_equals_a_from_scratch_rebuild(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..16),
    ) {
        static TRACES: std::sync::OnceLock<Option<Vec<Recorded>>> = std::sync::OnceLock::new();
        let Some(traces) = TRACES.get_or_init(sample_traces) else { return Ok(()) };
        prop_assume!(!traces.is_empty());
        for (t, i) in picks {
            let (trace, reference) = &traces[t.index(traces.len())];
            let i = i.index(reference.len());
            prop_assert_eq!(trace.commitment(i as u64).expect("commitment"), reference[i]);
        }
    }
}

#[test]
fn past_the_end_is_an_error() {
    let trace = TraceRecorder::new().finish();
    assert_eq!(trace.len(), 0);
    assert!(trace.commitment(0).is_ok());
    assert!(matches!(trace.commitment(1), Err(Error::TraceIndexOutOfRange { index: 1, len: 0 })));
}
