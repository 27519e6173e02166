//! The lazy trace against a from-scratch model and the executor: for real corpus
//! transactions (nested calls included), the frame and caller chain of every instruction's
//! pre-state equal ones rebuilt from revm's interpreter with no incremental state, and every
//! step the executor runs — opcode steps, context and world steps, micro-steps, halting steps
//! — maps `commitment(i)` with `witness(i)` to `commitment(i + 1)`.
//!
//! The header's world fields, refund counter and log chain are checked through the executor:
//! a world step's witness must verify against the trace's roots and land on the next state's,
//! SSTORE's refund and LOGn's chain likewise. Steps the executor does not run yet (frames,
//! exits: Engine II) are counted as unsupported.

use alloy_primitives::B256;
use proptest::prelude::*;
use refute_engine::{
    Eip7610, Error, StateTestCase,
    corpus::{self, StateTestFile},
    machine::{
        CodeTree, Family, FrameKind, FrameSnapshot, MachineState, OPCODES, PendingKind, Stack,
        Status, StepWitness, WordTree, execute,
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

/// The reference `(frame hash, caller chain)` of an instruction's pre-state.
type Seen = (B256, (u16, B256));

/// A recorded trace with the reference frame of each instruction's pre-state, and the final
/// status.
type Recorded = (Trace, Vec<Seen>, Status);

/// A recorded case: [`Recorded`] and the opcode of each instruction.
type RecordedCase = (Trace, Vec<Seen>, Status, Vec<u8>);

/// A recorded trace with the commitments of its states asked in order.
type Sample = (Recorded, Vec<B256>);

/// Instructions of these families are checked in every step; others every
/// [`SIMPLE_STRIDE`]-th instruction in long traces (each query replays from a checkpoint).
fn always_checked(opcode: u8) -> bool {
    !matches!(
        OPCODES[opcode as usize].family,
        Family::Pure | Family::Stack | Family::Control | Family::Memory
    )
}

const SIMPLE_STRIDE: u64 = 16;

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
    open: Option<(Seen, u8)>,
    frames_seen: Vec<Seen>,
    opcodes: Vec<u8>,
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
            // A creation transaction's frame is a create frame (spec §6.4).
            match self.next.take() {
                Some((FrameKind::Create, _)) => (FrameKind::Create, (0, 0)),
                _ => (FrameKind::Transaction, (0, 0)),
            }
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
        self.open = Some(((frame, chain), interp.bytecode.opcode()));
    }

    fn step_end(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        let (seen, opcode) = self.open.take().expect("step before step_end");
        self.frames_seen.push(seen);
        self.opcodes.push(opcode);
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

/// Runs `case` with the recorder (given the pre-state) and the reference model side by side
/// (`None` when the case builds no transaction).
fn record(case: &StateTestCase<'_>) -> Option<RecordedCase> {
    let (Ok(cfg), Ok(block), Ok(tx)) = (case.cfg(), case.block_env(), case.tx_env()) else {
        return None;
    };
    let pre = case.pre_state();
    let recorder = TraceRecorder::new().with_pre_state(&pre).expect("pre-state");
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector(((Eip7610, recorder), Reference::default()));
    let _ = evm.inspect_tx_commit(tx);
    let reference = std::mem::take(&mut evm.inspector.1);
    let trace = std::mem::take(&mut evm.inspector.0.1).finish();
    let status = reference.status.unwrap_or(Status::Invalid);
    Some((trace, reference.frames_seen, status, reference.opcodes))
}

#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    steps: u64,
    nested_steps: u64,
    executed: u64,
    unsupported: u64,
    /// Steps by kind: context and world steps, micro-steps, halting steps.
    world: u64,
    micro: u64,
    halting: u64,
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

/// Checks every state and every step of `case`'s trace.
fn check_case(case: &StateTestCase<'_>, tally: &mut Tally) {
    let Some((trace, reference, status, opcodes)) = record(case) else { return };
    tally.cases += 1;
    if let Some(failure) = compare(&trace, &reference, status) {
        tally.failures.push(format!("{case}: {failure}"));
        return;
    }
    let long = trace.instructions() > 4 * SIMPLE_STRIDE * SIMPLE_STRIDE;
    let steps = opcodes.iter().enumerate().filter(|(k, op)| {
        !long || always_checked(**op) || (*k as u64).is_multiple_of(SIMPLE_STRIDE)
    });
    // A long micro-stepped instruction: its first and last few steps (a query inside it
    // replays its micro-steps from the opening).
    let steps = steps.flat_map(|(k, _)| {
        let (start, end) = (trace.instruction_step(k as u64), trace.instruction_step(k as u64 + 1));
        let head = start..end.min(start + 4);
        head.chain(end.saturating_sub(4).max(start + 4)..end)
    });
    // `commitment(i)` is `H(encode(state(i).0))`; the post-state of one step is kept as the
    // pre-state of the next.
    let mut last: Option<(u64, MachineState)> = None;
    for i in steps {
        tally.steps += 1;
        // The pre-state, the witness and the post-state; a state inside an instruction the
        // executor does not run yet (its micro-steps, an exit) is unsupported like the step.
        let pre = match last.take() {
            Some((at, state)) if at == i => Ok(state),
            _ => trace.state(i).map(|(state, _)| state),
        };
        let queried = pre.and_then(|state| Ok((state, trace.witness(i)?, trace.state(i + 1)?.0)));
        let (state, witness, next) = match queried {
            Ok(queried) => queried,
            Err(Error::UnsupportedStep { .. }) => {
                tally.unsupported += 1;
                continue;
            }
            Err(e) => {
                tally.failures.push(format!("{case}: step {i}: {e}"));
                return;
            }
        };
        let (pre, post) = (state.commitment(), next.commitment());
        last = Some((i + 1, next));
        if state.callers.0 > 0 {
            tally.nested_steps += 1;
        }
        match execute(pre, &witness) {
            Ok(got) if got == post => {
                tally.executed += 1;
                if witness.pending.is_some() {
                    tally.micro += 1;
                } else if next.pending_kind == PendingKind::FrameExit {
                    tally.halting += 1;
                } else if matches!(
                    OPCODES[opcode(&witness) as usize].family,
                    Family::Context | Family::World
                ) {
                    tally.world += 1;
                }
            }
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

/// The trace's frame and caller chain at each instruction's pre-state against the reference,
/// and its final state's status.
fn compare(trace: &Trace, reference: &[Seen], status: Status) -> Option<String> {
    if trace.instructions() != reference.len() as u64 {
        return Some(format!(
            "{} instructions, reference {}",
            trace.instructions(),
            reference.len()
        ));
    }
    for (k, (frame, callers)) in reference.iter().enumerate() {
        let i = trace.instruction_step(k as u64);
        let (state, _) = trace.state(i).expect("state");
        if state.frame_hash != *frame || state.callers != *callers {
            return Some(format!("instruction {k} (step {i}): frame or callers differ"));
        }
    }
    let (last, _) = trace.state(trace.len()).expect("final state");
    (last != header(status, B256::ZERO, (0, B256::ZERO)))
        .then(|| format!("final state {last:?}, reference status {status:?}"))
}

fn files(folders: &[&str]) -> Option<Vec<PathBuf>> {
    let tests = corpus_or_skip()?.join("GeneralStateTests");
    Some(
        corpus::json_files(&folders.iter().map(|f| tests.join(f)).collect::<Vec<_>>())
            .expect("corpus files"),
    )
}

/// The states of the VM, memory, call-code, storage, account and transient-storage tests:
/// each instruction's frame equals the from-scratch one, and every step the executor runs
/// lands on the next commitment.
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
        "stSStoreTest",
        "stExtCodeHash",
        "Cancun/stEIP1153-transientStorage",
        "stEIP2930",
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
            a.world += b.world;
            a.micro += b.micro;
            a.halting += b.halting;
            a.failures.extend(b.failures);
            a
        });
    eprintln!(
        "cases {}, steps {}, in nested frames {}, executed {} (context/world {}, micro-steps {}, \
         halting {}), unsupported {}",
        tally.cases,
        tally.steps,
        tally.nested_steps,
        tally.executed,
        tally.world,
        tally.micro,
        tally.halting,
        tally.unsupported,
    );
    for failure in tally.failures.iter().take(20) {
        println!("FAIL {failure}");
    }
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert_eq!(tally.executed + tally.unsupported, tally.steps);
    assert!(tally.world > 1_000, "only {} context and world steps", tally.world);
    assert!(tally.micro > 500, "only {} micro-steps", tally.micro);
    assert!(tally.halting > 100, "only {} halting steps", tally.halting);
    assert!(tally.steps > 50_000, "only {} steps", tally.steps);
    assert!(tally.nested_steps > 1_000, "only {} steps in nested frames", tally.nested_steps);
    assert!(tally.executed > tally.steps / 2, "only {} steps executed", tally.executed);
}

/// A few recorded traces with nested calls, the reference frames and the commitments of
/// their states asked in order.
fn sample_traces() -> Option<Vec<Sample>> {
    let files = files(&[
        "stCallCodes/callcallcodecall_010.json",
        "stMemoryTest/mem64kb+33.json",
        "VMTests/vmIOandFlowOperations/loopsConditionals.json",
        "VMTests/vmTests/sha3.json",
        "stSStoreTest/sstore_0to0toX.json",
    ])?;
    let mut out = Vec::new();
    for path in files {
        let file = StateTestFile::load(&path).expect("corpus file");
        out.extend(
            file.cases(SpecId::CANCUN)
                .take(3)
                .filter_map(|case| record(&case).map(|(t, r, s, _)| (t, r, s))),
        );
    }
    // Solidity code (every stack opcode, memory growth): the first steps of
    // snailtracer, which then runs out of gas.
    let root = workload::workloads_root().expect("workloads folder (REFUTE_WORKLOADS)");
    let snailtracer = Workload::snailtracer(&root, 1_000_000).expect("snailtracer");
    let (_, (recorder, reference)) =
        snailtracer.inspect((TraceRecorder::new(), Reference::default())).expect("runs");
    let status = reference.status.unwrap_or(Status::Invalid);
    let trace = recorder.finish();
    assert!(trace.len() > 3_000, "snailtracer ran {} steps", trace.len());
    out.push((trace, reference.frames_seen, status));
    Some(
        out.into_iter()
            .map(|recorded| {
                let in_order = (0..=recorded.0.len())
                    .map(|i| recorded.0.commitment(i).expect("commitment"))
                    .collect();
                (recorded, in_order)
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `commitment(i)` at a random `i`, asked out of order and from several threads, equals
    /// the commitment asked in order; the traces' frames equal the from-scratch rebuild.
    #[test]
    fn commitment_at_a_random_index_is_the_same_in_any_order(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..16),
    ) {
        static TRACES: std::sync::OnceLock<Option<Vec<Sample>>> =
            std::sync::OnceLock::new();
        let Some(traces) = TRACES.get_or_init(|| {
            let traces = sample_traces()?;
            for ((trace, reference, status), _) in &traces {
                assert_eq!(compare(trace, reference, *status), None);
            }
            Some(traces)
        }) else { return Ok(()) };
        prop_assume!(!traces.is_empty());
        let picks: Vec<(usize, usize)> = picks
            .into_iter()
            .map(|(t, i)| {
                let t = t.index(traces.len());
                (t, i.index(traces[t].1.len()))
            })
            .collect();
        std::thread::scope(|scope| {
            for chunk in picks.chunks(4) {
                scope.spawn(move || {
                    for &(t, i) in chunk {
                        let ((trace, _, _), in_order) = &traces[t];
                        assert_eq!(trace.commitment(i as u64).expect("commitment"), in_order[i]);
                    }
                });
            }
        });
    }
}

#[test]
fn past_the_end_is_an_error() {
    let trace = TraceRecorder::new().finish();
    assert_eq!(trace.len(), 0);
    assert!(trace.commitment(0).is_ok());
    assert!(matches!(trace.commitment(1), Err(Error::TraceIndexOutOfRange { index: 1, len: 0 })));
}
