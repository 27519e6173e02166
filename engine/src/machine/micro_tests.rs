//! Micro-steps (spec §5.5) against revm's interpreter and against forged witnesses: programs
//! of KECCAK256, copies and LOGs run in revm under the step checker, which runs the executor
//! on every opening step and micro-step (witnesses from the prover) and compares the state
//! after the last micro-step with revm's; then single micro-step witnesses, mutated one element
//! at a time, must be rejected. EXTCODECOPY, whose opening step reads the world, runs under a
//! checker given the pre-state (`check_in_world`); its forged witnesses are in `world_steps`.

use super::*;
use crate::{
    Error,
    conformance::{StepChecker, StepReport, StepSelection},
};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use proptest::prelude::*;
use revm::{
    Context, InspectEvm, Inspector, MainBuilder, MainContext,
    context::{CfgEnv, TxEnv},
    database::{CacheDB, CacheState, EmptyDB, State},
    interpreter::{Interpreter, interpreter_types::Jumps},
    primitives::{Log, TxKind, hardfork::SpecId},
    state::{AccountInfo, Bytecode},
};
use std::sync::Arc;

const CONTRACT: Address = address!("0x00000000000000000000000000000000c0dec0de");
const SENDER: Address = address!("0x000000000000000000000000000000000000a11c");

/// Runs `code` with `calldata` in revm under a [`StepChecker`] checking every step.
fn check(code: &[u8], calldata: &[u8], gas_limit: u64) -> StepReport {
    check_with(code, calldata, gas_limit, StepSelection::All)
}

fn check_with(
    code: &[u8],
    calldata: &[u8],
    gas_limit: u64,
    selection: StepSelection,
) -> StepReport {
    let mut evm = Context::mainnet()
        .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
        .with_db(db(code))
        .build_mainnet_with_inspector(StepChecker::new(selection));
    evm.inspect_tx(tx(calldata, gas_limit)).expect("the transaction is valid");
    std::mem::replace(&mut evm.inspector, StepChecker::new(selection)).finish(None)
}

fn db(code: &[u8]) -> CacheDB<EmptyDB> {
    let mut db = CacheDB::new(EmptyDB::default());
    db.insert_account_info(
        CONTRACT,
        AccountInfo { code: Some(Bytecode::new_raw(code.to_vec().into())), ..Default::default() },
    );
    db.insert_account_info(SENDER, AccountInfo { balance: U256::MAX >> 8, ..Default::default() });
    db
}

fn tx(calldata: &[u8], gas_limit: u64) -> TxEnv {
    TxEnv {
        caller: SENDER,
        kind: TxKind::Call(CONTRACT),
        data: Bytes::copy_from_slice(calldata),
        gas_limit,
        ..TxEnv::default()
    }
}

fn push(code: &mut Vec<u8>, value: U256) {
    code.push(0x7f);
    code.extend_from_slice(&value.to_be_bytes::<32>());
}

fn push_n(code: &mut Vec<u8>, value: u64) {
    push(code, U256::from(value));
}

/// A program prefix filling memory words 0..16 with distinct non-zero bytes.
fn fill_memory() -> Vec<u8> {
    let mut code = Vec::new();
    for i in 0..16u8 {
        let word: [u8; 32] = std::array::from_fn(|k| i.wrapping_mul(31).wrapping_add(k as u8) | 1);
        push(&mut code, U256::from_be_bytes(word));
        push_n(&mut code, u64::from(i) * 32);
        code.push(0x52);
    }
    code
}

/// `op` with operands pushed so that `args[0]` is on top.
fn op(code: &mut Vec<u8>, opcode: u8, args: &[U256]) {
    for arg in args.iter().rev() {
        push(code, *arg);
    }
    code.push(opcode);
}

fn u(v: u64) -> U256 {
    U256::from(v)
}

fn count(report: &StepReport, key: &str) -> u64 {
    report.checked_by_opcode.get(key).copied().unwrap_or_default()
}

fn assert_clean(report: &StepReport) {
    assert_eq!(report.mismatch_count, 0, "mismatches: {:?}", report.mismatches);
}

#[test]
fn keccak256_at_rate_and_word_boundaries() {
    let mut code = fill_memory();
    let (mut absorbs, mut pads, mut opens) = (0, 0, 0);
    for len in [0u64, 1, 31, 32, 135, 136, 137, 271, 272, 300] {
        for offset in [0u64, 1, 31, 33, 480] {
            op(&mut code, 0x20, &[u(offset), u(len)]);
            code.push(0x50);
            opens += 1;
            if len > 0 {
                absorbs += len / 136;
                pads += 1;
            }
        }
    }
    code.push(0x00);
    let report = check(&code, &[], 10_000_000);
    assert_clean(&report);
    assert_eq!(count(&report, "KECCAK256"), opens);
    assert_eq!(count(&report, "KECCAK256/absorb"), absorbs);
    assert_eq!(count(&report, "KECCAK256/pad"), pads);
}

/// A sampled instruction checks all of its micro-steps.
#[test]
fn a_sampled_instruction_checks_every_micro_step() {
    let mut code = fill_memory();
    op(&mut code, 0x20, &[u(3), u(500)]);
    code.push(0x00);
    let report = check_with(&code, &[], 1_000_000, StepSelection::Sample(1_000));
    assert_clean(&report);
    assert_eq!(count(&report, "KECCAK256"), 1);
    assert_eq!(count(&report, "KECCAK256/absorb"), 3);
    assert_eq!(count(&report, "KECCAK256/pad"), 1);
}

#[test]
fn copies_at_the_edges_of_their_sources() {
    let calldata: Vec<u8> = (0..70u8).map(|b| b.wrapping_mul(7) | 0x80).collect();
    let mut code = fill_memory();
    let huge = U256::MAX - u(3);
    let (mut opens, mut words) = (0, 0);
    for opcode in [0x37u8, 0x39] {
        for source in [u(0), u(5), u(60), u(69), u(70), u(100), huge] {
            for len in [0u64, 1, 31, 32, 33, 100] {
                for dest in [0u64, 3, 31, 64, 600] {
                    op(&mut code, opcode, &[u(dest), source, u(len)]);
                    opens += 1;
                    if len > 0 {
                        words += (dest + len - 1) / 32 - dest / 32 + 1;
                    }
                }
            }
        }
    }
    code.push(0x00);
    let report = check(&code, &calldata, 30_000_000);
    assert_clean(&report);
    assert_eq!(count(&report, "CALLDATACOPY") + count(&report, "CODECOPY"), opens);
    assert_eq!(count(&report, "CALLDATACOPY/word") + count(&report, "CODECOPY/word"), words);
}

#[test]
fn mcopy_overlapping_both_ways_and_expanding() {
    let mut code = fill_memory();
    // (dest, source, len): forward and backward overlaps, unaligned, into fresh memory.
    let cases = [
        (1u64, 0u64, 100u64),
        (0, 1, 100),
        (40, 7, 200),
        (7, 40, 200),
        (33, 33, 64),
        (0, 0, 0),
        (1000, 5, 70),
        (5, 900, 33),
    ];
    for (dest, source, len) in cases {
        op(&mut code, 0x5e, &[u(dest), u(source), u(len)]);
    }
    code.push(0x00);
    let report = check(&code, &[], 1_000_000);
    assert_clean(&report);
    assert_eq!(count(&report, "MCOPY"), cases.len() as u64);
    assert!(count(&report, "MCOPY/word") >= 20);
}

#[test]
fn returndatacopy_after_a_call_and_out_of_bounds() {
    // STATICCALL the identity precompile on 100 bytes of memory: 100 bytes of return data.
    let mut prefix = fill_memory();
    op(&mut prefix, 0xfa, &[u(100_000), u(4), u(0), u(100), u(0), u(0)]);
    prefix.push(0x50);
    let mut code = prefix.clone();
    for (dest, source, len) in
        [(0u64, 0u64, 100u64), (3, 1, 99), (64, 70, 30), (5, 100, 0), (0, 0, 0)]
    {
        op(&mut code, 0x3e, &[u(dest), u(source), u(len)]);
    }
    code.push(0x00);
    let report = check(&code, &[], 1_000_000);
    assert_clean(&report);
    assert_eq!(count(&report, "RETURNDATACOPY"), 5);
    assert!(count(&report, "RETURNDATACOPY/word") >= 8);

    // Reading past the return data halts at the opening step, which revm agrees with: the
    // halting step is checked against revm's end of the frame.
    let mut code = prefix;
    op(&mut code, 0x3e, &[u(0), u(90), u(11)]);
    code.push(0x00);
    let report = check(&code, &[], 1_000_000);
    assert_clean(&report);
    assert_eq!(count(&report, "RETURNDATACOPY"), 1);
    assert_eq!(count(&report, "RETURNDATACOPY/word"), 0);
}

#[test]
fn logs_of_every_arity_extend_the_log_chain() {
    let mut code = fill_memory();
    let mut opens = 0;
    for topics in 0..=4u8 {
        for (offset, len) in [(0u64, 0u64), (3, 1), (0, 136), (17, 200), (500, 40)] {
            let mut args = vec![u(offset), u(len)];
            args.extend((0..topics).map(|t| U256::from(0x1000 + u64::from(t))));
            op(&mut code, 0xa0 + topics, &args);
            opens += 1;
        }
    }
    code.push(0x00);
    let report = check(&code, &[], 1_000_000);
    assert_clean(&report);
    let logs: u64 = (0..=4).map(|t| count(&report, &format!("LOG{t}"))).sum();
    assert_eq!(logs, opens);
    assert_eq!(count(&report, "LOG4/pad"), 4);
    assert_eq!(count(&report, "LOG4/absorb"), 2);
}

#[test]
fn out_of_gas_at_the_opening_charge_is_a_halt() {
    for opcode in [0x20u8, 0x37, 0x5e, 0xa2] {
        let mut code = Vec::new();
        let args = match opcode {
            0x20 | 0xa2 => vec![u(0), u(100_000), u(1), u(2)],
            _ => vec![u(0), u(0), u(200_000)],
        };
        op(&mut code, opcode, &args);
        code.push(0x00);
        let report = check(&code, &[], 60_000);
        assert_clean(&report);
        // The halting step is checked (against revm's end of the frame); no micro-step runs.
        let name = revm::bytecode::opcode::OPCODE_INFO[opcode as usize].expect("opcode").name();
        assert_eq!(count(&report, name), 1, "0x{opcode:02x}");
        let micro: u64 = ["absorb", "pad", "word"]
            .iter()
            .map(|kind| count(&report, &format!("{name}/{kind}")))
            .sum();
        assert_eq!(micro, 0, "0x{opcode:02x}");
    }
}

// ---- EXTCODECOPY, with the world checked ----

/// An account with code for EXTCODECOPY to read.
const EXT: Address = address!("0x0000000000000000000000000000000000e0c0de");
/// An account that does not exist.
const ABSENT: Address = address!("0x000000000000000000000000000000000000dead");

/// [`EXT`]'s code: 70 bytes, with a PUSH32 at 20 whose immediate crosses into chunk 1.
fn ext_code() -> Vec<u8> {
    let mut code: Vec<u8> = (0..70u8).map(|b| b.wrapping_mul(13) | 0x81).collect();
    code[20] = 0x7f;
    code
}

/// Runs `code` under a [`StepChecker`] given the pre-state (the contract, the sender and
/// [`EXT`]), so world steps and EXTCODECOPY are checked, every step.
fn check_in_world(code: &[u8], gas_limit: u64) -> StepReport {
    let mut pre = CacheState::new();
    let contract = |code: Vec<u8>| AccountInfo::from_bytecode(Bytecode::new_raw(code.into()));
    pre.insert_account(CONTRACT, contract(code.to_vec()));
    pre.insert_account(EXT, contract(ext_code()));
    pre.insert_account(SENDER, AccountInfo { balance: U256::MAX >> 8, ..Default::default() });
    let checker = StepChecker::new(StepSelection::All).with_pre_state(&pre).expect("the pre-state");
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
        .with_db(&mut state)
        .build_mainnet_with_inspector(checker);
    evm.inspect_tx(tx(&[], gas_limit)).expect("the transaction is valid");
    std::mem::replace(&mut evm.inspector, StepChecker::new(StepSelection::All)).finish(None)
}

fn address_word(address: Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

/// EXTCODECOPY of an account with code (cold, then warm), an absent account, the contract
/// itself, a precompile, the coinbase (revm's default, the zero address: warm by rule) and
/// an account without code, at the edges of the code: every opening step and micro-step
/// matches revm.
#[test]
fn extcodecopy_at_the_edges_of_the_code() {
    let mut code = fill_memory();
    let huge = U256::MAX - u(3);
    let accounts = [
        EXT,
        ABSENT,
        CONTRACT,
        address!("0x0000000000000000000000000000000000000004"),
        Address::ZERO,
        SENDER,
    ];
    let (mut opens, mut words) = (0, 0);
    for account in accounts {
        for offset in [u(0), u(5), u(60), u(69), u(70), huge] {
            for (dest, len) in [(0u64, 0u64), (3, 1), (0, 31), (31, 33), (64, 100)] {
                op(&mut code, 0x3c, &[address_word(account), u(dest), offset, u(len)]);
                opens += 1;
                if len > 0 {
                    words += (dest + len - 1) / 32 - dest / 32 + 1;
                }
            }
        }
    }
    code.push(0x00);
    let report = check_in_world(&code, 30_000_000);
    assert_clean(&report);
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    assert_eq!(count(&report, "EXTCODECOPY"), opens);
    assert_eq!(count(&report, "EXTCODECOPY/word"), words);
}

/// EXTCODECOPY one gas short of its cost halts (at the access, the copy charge or the memory
/// expansion, in whichever order revm charges them), and with exactly its cost runs: both
/// match revm.
#[test]
fn extcodecopy_out_of_gas_matches_revm() {
    // (args, cost): a cold access 2,600; copying 64 bytes 6; memory 0 → 2 words 6, → 3 words 9.
    let cases = [
        ([address_word(EXT), u(0), u(0), u(0)], 2_600, 0),
        ([address_word(EXT), u(0), u(0), u(64)], 2_612, 2),
        ([address_word(EXT), u(1), u(60), u(64)], 2_615, 3),
        ([address_word(ABSENT), u(0), u(0), u(64)], 2_612, 2),
    ];
    for (args, cost, words) in cases {
        let mut code = Vec::new();
        op(&mut code, 0x3c, &args);
        code.push(0x00);
        // The transaction's 21,000 and four pushes of 3 gas, then the EXTCODECOPY.
        for (gas, halts) in [(cost - 1, true), (cost, false)] {
            let report = check_in_world(&code, 21_000 + 12 + gas);
            assert_clean(&report);
            assert_eq!(count(&report, "EXTCODECOPY"), 1, "{args:?} with {gas} gas");
            let expected = if halts { 0 } else { words };
            assert_eq!(count(&report, "EXTCODECOPY/word"), expected, "{args:?} with {gas} gas");
        }
    }
}

/// Without the pre-state the checker cannot witness EXTCODECOPY's account: the step is
/// counted unsupported, never checked or mismatched.
#[test]
fn extcodecopy_without_the_world_is_unsupported() {
    let mut code = Vec::new();
    op(&mut code, 0x3c, &[address_word(CONTRACT), u(0), u(0), u(10)]);
    code.push(0x00);
    let report = check(&code, &[], 100_000);
    assert_clean(&report);
    assert_eq!(report.unsupported.get("EXTCODECOPY"), Some(&1));
    assert_eq!(count(&report, "EXTCODECOPY"), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random EXTCODECOPYs between memory writes match revm, step by step.
    #[test]
    fn extcodecopy_matches_revm_on_random_copies(
        copies in proptest::collection::vec((0usize..4, 0u64..300, 0u64..100, 0u64..200), 1..12),
    ) {
        let accounts = [EXT, ABSENT, CONTRACT, SENDER];
        let mut code = fill_memory();
        for (account, dest, offset, len) in &copies {
            op(&mut code, 0x3c, &[address_word(accounts[*account]), u(*dest), u(*offset), u(*len)]);
            op(&mut code, 0x53, &[u(*dest), u(0xaa)]);
        }
        code.push(0x00);
        let report = check_in_world(&code, 10_000_000);
        prop_assert_eq!(report.mismatch_count, 0, "{:?}", report.mismatches);
        prop_assert_eq!(count(&report, "EXTCODECOPY"), copies.len() as u64);
    }
}

// ---- The executor on single micro-steps, with forged witnesses ----

fn header(frame: &Frame) -> MachineState {
    MachineState {
        fork: ForkId::Cancun,
        status: Status::Running,
        pending_kind: PendingKind::None,
        pending_hash: B256::ZERO,
        block_hash: B256::repeat_byte(1),
        tx_hash: B256::repeat_byte(2),
        state_root: B256::repeat_byte(3),
        warm_addresses: B256::repeat_byte(4),
        warm_slots: B256::repeat_byte(5),
        transient: B256::repeat_byte(6),
        created: B256::repeat_byte(7),
        refund: 0,
        logs: Chain { count: 2, acc: B256::repeat_byte(8) },
        frame_hash: frame.hash(),
        callers: (0, B256::ZERO),
        accumulators: B256::ZERO,
    }
}

/// A frame about to run `opcode` with `args` (`args[0]` on top) over `memory`.
fn snapshot(opcode: u8, args: &[U256], memory: &[u8], data: &[u8], gas: u64) -> FrameSnapshot {
    let mut code = vec![opcode];
    code.extend_from_slice(data); // bytes for CODECOPY to read
    let stack: Vec<U256> = args.iter().rev().copied().collect();
    let mut memory = memory.to_vec();
    memory.resize(memory.len().div_ceil(32) * 32, 0);
    FrameSnapshot {
        kind: FrameKind::Transaction,
        is_static: false,
        address: CONTRACT,
        caller: SENDER,
        value: U256::ZERO,
        code: Arc::new(CodeTree::new(&code).expect("small code")),
        pc: 0,
        gas,
        stack: Stack::new(&stack),
        memory: WordTree::from_bytes(&memory).expect("small memory"),
        calldata: Arc::new(WordTree::from_bytes(data).expect("small calldata")),
        returndata: Arc::new(WordTree::from_bytes(data).expect("small return data")),
        return_window: (0, 0),
        checkpoint: B256::repeat_byte(9),
    }
}

/// Runs the opening step and every micro-step, checking the executor against the prover at
/// each; returns the micro-step witnesses with their pre-state commitments.
fn chain(snapshot: &FrameSnapshot) -> Vec<(B256, StepWitness)> {
    let pre = header(&snapshot.frame().expect("frame"));
    let witness = snapshot.witness(pre).expect("opening witness");
    let mut commitment = execute(pre.commitment(), &witness).expect("the opening step runs");
    let mut run = MicroRun::open(snapshot, pre, None).expect("the prover opens");
    assert_eq!(run.commitment().expect("commitment"), commitment);
    let mut steps = Vec::new();
    while let Some((witness, _)) = run.next_step().expect("the prover steps") {
        let next = execute(commitment, &witness).expect("the micro-step runs");
        steps.push((commitment, witness));
        commitment = next;
        assert_eq!(run.commitment().expect("commitment"), commitment);
    }
    assert!(run.is_done());
    steps
}

#[test]
fn opening_out_of_gas_halts_in_the_executor() {
    let s = snapshot(0x20, &[u(0), u(1000)], &[], &[], 30 + 6 * 32 + 97);
    let pre = header(&s.frame().expect("frame"));
    let witness = s.witness(pre).expect("witness");
    // The halting step: all gas gone, a pending failed frame exit, nothing else changed.
    let mut frame = witness.frame;
    frame.gas = 0;
    let mut halted = pre;
    halted.frame_hash = frame.hash();
    halted.pending_kind = PendingKind::FrameExit;
    halted.pending_hash = FrameExit::empty(false).hash();
    assert_eq!(execute(pre.commitment(), &witness).expect("executes"), halted.commitment());
}

#[test]
fn keccak256_chain_pushes_the_digest() {
    let memory: Vec<u8> = (0..400u32).map(|b| b as u8).collect();
    let s = snapshot(0x20, &[u(5), u(300)], &memory, &[], 1_000_000);
    let steps = chain(&s);
    assert_eq!(steps.len(), 3); // two blocks absorbed, then the padded tail
    let pre = header(&s.frame().expect("frame"));
    let mut run = MicroRun::open(&s, pre, None).expect("open");
    while run.next_step().expect("step").is_some() {}
    let top = *run.frame().stack.items().last().expect("the digest");
    assert_eq!(B256::from(top), alloy_primitives::keccak256(&memory[5..305]));
}

/// Single-element forgeries of a micro-step witness.
fn mutations(w: &StepWitness) -> Vec<StepWitness> {
    let mut out = Vec::new();
    let mut m = w.clone();
    m.state.pending_hash.0[0] ^= 1;
    out.push(m);
    let mut m = w.clone();
    m.pending = None;
    out.push(m);
    let mut m = w.clone();
    match m.pending.as_mut().expect("pending") {
        Pending::Keccak(s) | Pending::Log { data: s, .. } => s.sponge.lanes[7] ^= 1 << 40,
        Pending::Copy(c) => c.source_offset ^= 1,
        Pending::Call(c) => c.input.copied ^= 1,
        Pending::Create(c) => c.input.copied ^= 1,
        Pending::Output { copy, .. } => copy.copied ^= 1,
        Pending::Exit(e) => e.output.len ^= 1,
        Pending::TxBegin(b) => b.block_gas_used ^= 1,
        Pending::TxEnd(e) => e.gas_used ^= 1,
    }
    out.push(m);
    let mut m = w.clone();
    match m.pending.as_mut().expect("pending") {
        Pending::Keccak(s) | Pending::Log { data: s, .. } => s.remaining += 1,
        Pending::Copy(c) => c.remaining += 1,
        Pending::Call(c) => c.input.len += 1,
        Pending::Create(c) => c.value += U256::from(1),
        Pending::Output { copy, .. } => copy.len += 1,
        Pending::Exit(e) => e.success ^= true,
        Pending::TxBegin(b) => b.envelope_len ^= 1,
        Pending::TxEnd(e) => e.success ^= true,
    }
    out.push(m);
    if let Some(Pending::Log { topics, data }) = &w.pending {
        // Five topics, the fifth zero: rejected, never encoded as four.
        let mut topics = topics.clone();
        topics.resize(5, B256::ZERO);
        let mut m = w.clone();
        m.pending = Some(Pending::Log { topics, data: *data });
        out.push(m);
    }
    if !w.memory.is_empty() {
        let mut m = w.clone();
        m.memory[0].word.0[9] ^= 0x10;
        out.push(m);
        let mut m = w.clone();
        m.memory[0].proof.siblings[2].0[1] ^= 1;
        out.push(m);
        let mut m = w.clone();
        m.memory.pop();
        out.push(m);
    }
    if !w.source.is_empty() {
        let mut m = w.clone();
        m.source[0].word.0[0] ^= 0x01;
        out.push(m);
        let mut m = w.clone();
        m.source[0].proof.siblings[21].0[31] ^= 1;
        out.push(m);
        let mut m = w.clone();
        m.source.pop();
        out.push(m);
    }
    if !w.source_code.is_empty() {
        let mut m = w.clone();
        m.source_code[0].bytes[3] ^= 0x01;
        out.push(m);
        let mut m = w.clone();
        m.source_code[0].push_prefix ^= 1;
        out.push(m);
        let mut m = w.clone();
        m.source_code[0].proof.siblings[0].0[0] ^= 1;
        out.push(m);
    }
    let mut m = w.clone();
    m.frame.pc += 1;
    out.push(m);
    out
}

fn micro_op() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0x20u8), Just(0x37), Just(0x39), Just(0x3e), Just(0x5e), Just(0xa2)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every micro-step of a random KECCAK256, copy or LOG2 runs on the prover's witness to
    /// the prover's next state, and every single-element forgery of it is rejected.
    #[test]
    fn forged_micro_step_witnesses_are_rejected(
        opcode in micro_op(),
        memory in proptest::collection::vec(any::<u8>(), 0..400),
        data in proptest::collection::vec(any::<u8>(), 1..120),
        a in 0u64..200,
        b in 0u64..130,
        len in 1u64..300,
    ) {
        let args = match opcode {
            0x20 => vec![u(a), u(len)],
            0xa2 => vec![u(a), u(len), u(7), u(9)],
            0x3e => {
                let source = b.min(data.len() as u64 - 1);
                vec![u(a), u(source), u(len.min(data.len() as u64 - source))]
            }
            _ => vec![u(a), u(b), u(len)],
        };
        let s = snapshot(opcode, &args, &memory, &data, 1_000_000);
        for (pre, witness) in chain(&s) {
            for forged in mutations(&witness) {
                match execute(pre, &forged) {
                    Err(Error::BadWitness(_)) => {}
                    other => prop_assert!(false, "0x{:02x}: forged witness gave {:?}", opcode, other),
                }
            }
        }
    }
}

/// A random program piece: memory writes and micro-stepped instructions with small operands.
#[derive(Clone, Debug)]
enum Piece {
    Store(u16, u8),
    Micro(u8, u16, u16, u16),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        (0u16..600, any::<u8>()).prop_map(|(o, v)| Piece::Store(o, v)),
        (
            prop_oneof![Just(0x20u8), Just(0x37), Just(0x39), Just(0x5e), 0xa0u8..=0xa4],
            0u16..600,
            0u16..600,
            0u16..400
        )
            .prop_map(|(op, a, b, len)| Piece::Micro(op, a, b, len)),
    ]
}

/// A program of `pieces`, and how many micro-stepped instructions it runs.
fn assemble(pieces: &[Piece]) -> (Vec<u8>, u64) {
    let mut code = Vec::new();
    let mut micro = 0;
    for piece in pieces {
        match *piece {
            Piece::Store(offset, value) => {
                op(&mut code, 0x53, &[u(offset.into()), u(value.into())])
            }
            Piece::Micro(opcode, a, b, len) => {
                let args = match opcode {
                    0x20 | 0xa0..=0xa4 => {
                        let mut args = vec![u(a.into()), u(len.into())];
                        let topics = u64::from(opcode.saturating_sub(0xa0));
                        args.extend((0..topics).map(|t| u(t + u64::from(b))));
                        args
                    }
                    _ => vec![u(a.into()), u(b.into()), u(len.into())],
                };
                op(&mut code, opcode, &args);
                if opcode == 0x20 {
                    code.push(0x50);
                }
                micro += 1;
            }
        }
    }
    code.push(0x00);
    (code, micro)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random programs of memory writes, KECCAK256, copies and LOGs: the state after each
    /// instruction's last micro-step equals revm's, for every instruction.
    #[test]
    fn micro_steps_match_revm_on_random_programs(
        pieces in proptest::collection::vec(piece(), 1..25),
        calldata in proptest::collection::vec(any::<u8>(), 0..150),
    ) {
        let (code, micro) = assemble(&pieces);
        let report = check(&code, &calldata, 10_000_000);
        prop_assert_eq!(report.mismatch_count, 0, "{:?}", report.mismatches);
        let opened: u64 = ["KECCAK256", "CALLDATACOPY", "CODECOPY", "MCOPY", "LOG0", "LOG1", "LOG2", "LOG3", "LOG4"]
            .iter()
            .map(|k| count(&report, k))
            .sum();
        prop_assert_eq!(opened, micro);
    }
}

// ---- Directly against revm's interpreter, without the step checker ----

/// One step's frame-local state as revm had it before the step, and the log chain then.
#[derive(Clone, Debug)]
struct Recorded {
    pc: u32,
    gas: u64,
    stack: Vec<U256>,
    memory: Vec<u8>,
    logs: Chain,
}

#[derive(Default)]
struct Recorder {
    steps: Vec<Recorded>,
    logs: Chain,
}

impl<CTX> Inspector<CTX> for Recorder {
    fn step(&mut self, interp: &mut Interpreter, _: &mut CTX) {
        self.steps.push(Recorded {
            pc: interp.bytecode.pc() as u32,
            gas: interp.gas.remaining(),
            stack: interp.stack.data().clone(),
            memory: interp.memory.context_memory().to_vec(),
            logs: self.logs,
        });
    }

    fn log(&mut self, _: &mut CTX, log: Log) {
        let item =
            log_item(&log.address, log.topics(), alloy_primitives::keccak256(&log.data.data));
        self.logs = Chain { count: self.logs.count + 1, acc: hash_pair(&self.logs.acc, &item) };
    }
}

/// Runs `code` in revm recording every step; for each micro-stepped instruction followed by
/// another step, runs its opening step and micro-steps (prover witnesses, executor outputs
/// chained) from revm's state before it, and compares with revm's state after it. Returns
/// how many instructions were compared.
fn differential(code: &[u8], calldata: &[u8]) -> Result<u64, TestCaseError> {
    let mut evm = Context::mainnet()
        .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
        .with_db(db(code))
        .build_mainnet_with_inspector(Recorder::default());
    evm.inspect_tx(tx(calldata, 10_000_000)).expect("the transaction is valid");
    let steps = std::mem::take(&mut evm.inspector.steps);
    let tree = Arc::new(CodeTree::new(code).expect("small code"));
    let calldata = Arc::new(WordTree::from_bytes(calldata).expect("small calldata"));
    let snapshot = |r: &Recorded| FrameSnapshot {
        kind: FrameKind::Transaction,
        is_static: false,
        address: CONTRACT,
        caller: SENDER,
        value: U256::ZERO,
        code: tree.clone(),
        pc: r.pc,
        gas: r.gas,
        stack: Stack::new(&r.stack),
        memory: WordTree::from_bytes(&r.memory).expect("memory within the bound"),
        calldata: calldata.clone(),
        returndata: Arc::new(WordTree::empty()),
        return_window: (0, 0),
        checkpoint: B256::repeat_byte(9),
    };
    let header_of = |s: &FrameSnapshot, logs: Chain| MachineState {
        logs,
        ..header(&s.frame().expect("frame"))
    };
    let mut compared = 0;
    for pair in steps.windows(2) {
        let (pre, post) = (snapshot(&pair[0]), snapshot(&pair[1]));
        if OPCODES[pre.code_byte(pre.pc as usize) as usize].family != Family::Micro {
            continue;
        }
        let state = header_of(&pre, pair[0].logs);
        let witness = pre.witness(state).expect("opening witness");
        let mut commitment = execute(state.commitment(), &witness).expect("the opening step");
        let mut run = MicroRun::open(&pre, state, None).expect("the prover opens");
        while let Some((witness, _)) = run.next_step().expect("the prover steps") {
            commitment = execute(commitment, &witness).expect("the micro-step");
        }
        prop_assert_eq!(
            commitment,
            header_of(&post, pair[1].logs).commitment(),
            "0x{:02x} at pc {}",
            pre.code_byte(pre.pc as usize),
            pre.pc
        );
        compared += 1;
    }
    Ok(compared)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The state after each micro-stepped instruction's last micro-step equals the state revm's
    /// interpreter reached after the instruction.
    #[test]
    fn micro_stepped_instructions_match_revm_directly(
        pieces in proptest::collection::vec(piece(), 1..25),
        calldata in proptest::collection::vec(any::<u8>(), 0..150),
    ) {
        let (code, micro) = assemble(&pieces);
        let compared = differential(&code, &calldata)?;
        prop_assert_eq!(compared, micro);
    }
}
