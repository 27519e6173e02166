//! The one-step executor against revm's interpreter: random single-frame programs run in
//! revm, every step's pre- and post-state recorded in full; for each supported step,
//! `execute(commitment(pre), witness(pre)) == commitment(post)`; mutated witnesses are rejected.

use super::*;
use crate::Error;
use alloy_primitives::{Address, B256, Bytes, U256, address};
use proptest::prelude::*;
use revm::{
    Context, InspectEvm, Inspector, MainBuilder, MainContext,
    context::{CfgEnv, TxEnv},
    database::{CacheDB, EmptyDB},
    interpreter::{Interpreter, interpreter_types::Jumps},
    primitives::{TxKind, hardfork::SpecId},
    state::{AccountInfo, Bytecode},
};
use std::sync::Arc;

const CONTRACT: Address = address!("0x00000000000000000000000000000000c0dec0de");
const SENDER: Address = address!("0x000000000000000000000000000000000000a11c");

/// One step's frame-local state as revm had it before the step.
#[derive(Clone, Debug)]
struct Recorded {
    pc: u32,
    gas: u64,
    stack: Vec<U256>,
    memory: Vec<u8>,
}

#[derive(Default)]
struct Recorder(Vec<Recorded>);

impl<CTX> Inspector<CTX> for Recorder {
    fn step(&mut self, interp: &mut Interpreter, _: &mut CTX) {
        self.0.push(Recorded {
            pc: interp.bytecode.pc() as u32,
            gas: interp.gas.remaining(),
            stack: interp.stack.data().clone(),
            memory: interp.memory.context_memory().to_vec(),
        });
    }
}

/// Runs `code` at [`CONTRACT`] with `calldata` and `value`, returning every step's state.
fn run(code: &[u8], calldata: &[u8], value: U256) -> Vec<Recorded> {
    let mut db = CacheDB::new(EmptyDB::default());
    db.insert_account_info(
        CONTRACT,
        AccountInfo { code: Some(Bytecode::new_raw(code.to_vec().into())), ..Default::default() },
    );
    db.insert_account_info(SENDER, AccountInfo { balance: U256::MAX >> 8, ..Default::default() });
    let tx = TxEnv {
        caller: SENDER,
        kind: TxKind::Call(CONTRACT),
        data: Bytes::copy_from_slice(calldata),
        value,
        gas_limit: 1_000_000,
        ..TxEnv::default()
    };
    let mut evm = Context::mainnet()
        .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
        .with_db(db)
        .build_mainnet_with_inspector(Recorder::default());
    evm.inspect_tx(tx).expect("the transaction is valid");
    std::mem::take(&mut evm.inspector.0)
}

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
        logs: Chain::default(),
        frame_hash: frame.hash(),
        callers: (0, B256::ZERO),
        accumulators: B256::ZERO,
    }
}

struct Program {
    code: Arc<CodeTree>,
    calldata: Arc<WordTree>,
    value: U256,
}

impl Program {
    fn snapshot(&self, r: &Recorded) -> FrameSnapshot {
        FrameSnapshot {
            kind: FrameKind::Transaction,
            is_static: false,
            address: CONTRACT,
            caller: SENDER,
            value: self.value,
            code: self.code.clone(),
            pc: r.pc,
            gas: r.gas,
            stack: Stack::new(&r.stack),
            memory: WordTree::from_bytes(&r.memory).unwrap(),
            calldata: self.calldata.clone(),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: B256::repeat_byte(9),
        }
    }
}

/// Checks every supported step of `code`; returns how many were checked.
fn check_program(code: &[u8], calldata: &[u8], value: U256) -> Result<usize, TestCaseError> {
    let steps = run(code, calldata, value);
    let program = Program {
        code: Arc::new(CodeTree::new(code).unwrap()),
        calldata: Arc::new(WordTree::from_bytes(calldata).unwrap()),
        value,
    };
    let mut checked = 0;
    for pair in steps.windows(2) {
        let (pre, post) = (program.snapshot(&pair[0]), program.snapshot(&pair[1]));
        let opcode = pre.code_byte(pre.pc as usize);
        if !matches!(
            OPCODES[opcode as usize].family,
            Family::Pure | Family::Stack | Family::Control | Family::Memory | Family::Frame
        ) {
            continue;
        }
        let pre_state = header(&pre.frame().unwrap());
        let post_commitment = header(&post.frame().unwrap()).commitment();
        let witness = pre.witness(pre_state).unwrap();
        let got = execute(pre_state.commitment(), &witness);
        prop_assert_eq!(
            got.ok(),
            Some(post_commitment),
            "opcode 0x{:02x} at pc {}",
            opcode,
            pre.pc
        );
        checked += 1;

        // Any single change to the witness is rejected, never executed into another state.
        for mutated in mutations(&witness) {
            match execute(pre_state.commitment(), &mutated) {
                Err(Error::BadWitness(_)) => {}
                other => {
                    prop_assert!(false, "mutated witness for 0x{:02x} gave {:?}", opcode, other)
                }
            }
        }
    }
    Ok(checked)
}

/// Single-element mutations of a witness: a stack operand, a code byte, a proof sibling, a
/// memory or calldata word.
fn mutations(w: &StepWitness) -> Vec<StepWitness> {
    let mut out = Vec::new();
    if !w.stack.is_empty() {
        let mut m = w.clone();
        m.stack[0] ^= U256::from(1);
        out.push(m);
        let mut m = w.clone();
        m.stack_rest.0[0] ^= 1;
        out.push(m);
    }
    if let Some(chunk) = w.code.first() {
        let mut m = w.clone();
        m.code[0].bytes[(w.frame.pc % 32) as usize] ^= 0x01;
        out.push(m);
        let mut m = w.clone();
        m.code[0].proof.siblings[chunk.proof.siblings.len() - 1].0[0] ^= 1;
        out.push(m);
    }
    for (list, set) in [(&w.memory, 0), (&w.calldata, 1)] {
        if !list.is_empty() {
            let mut m = w.clone();
            let words = if set == 0 { &mut m.memory } else { &mut m.calldata };
            words[0].word.0[31] ^= 0x80;
            out.push(m);
            let mut m = w.clone();
            let words = if set == 0 { &mut m.memory } else { &mut m.calldata };
            words[0].proof.siblings[3].0[5] ^= 1;
            out.push(m);
        }
    }
    let mut m = w.clone();
    m.frame.gas += 1;
    out.push(m);
    out
}

/// A program piece: straight-line instructions, plus jumps that land on real JUMPDESTs.
#[derive(Clone, Debug)]
enum Piece {
    Push(Vec<u8>),
    Op(u8),
    MemOp(u8, u16),
    CalldataLoad(u8),
    JumpOver,
    JumpiSkip(bool),
}

fn piece() -> impl Strategy<Value = Piece> {
    let pure = prop_oneof![0x01u8..=0x0b, 0x10u8..=0x1d];
    let frame_ops =
        prop_oneof![Just(0x30u8), Just(0x33), Just(0x34), Just(0x36), Just(0x38), Just(0x3d)];
    let stack_ops = prop_oneof![
        Just(0x50u8),
        Just(0x5f),
        0x80u8..=0x9f,
        Just(0x58),
        Just(0x5a),
        Just(0x59),
        Just(0x5b)
    ];
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 1..=32).prop_map(Piece::Push),
        4 => pure.prop_map(Piece::Op),
        2 => stack_ops.prop_map(Piece::Op),
        1 => frame_ops.prop_map(Piece::Op),
        2 => (prop_oneof![Just(0x51u8), Just(0x52), Just(0x53)], 0u16..300).prop_map(|(op, off)| Piece::MemOp(op, off)),
        1 => (0u8..80).prop_map(Piece::CalldataLoad),
        1 => Just(Piece::JumpOver),
        1 => any::<bool>().prop_map(Piece::JumpiSkip),
    ]
}

fn assemble(pieces: &[Piece]) -> Vec<u8> {
    // A floor of stack items so most operations have operands.
    let mut code: Vec<u8> = (0..24u8).flat_map(|i| [0x60, i.wrapping_mul(37)]).collect();
    for piece in pieces {
        match piece {
            Piece::Push(bytes) => {
                code.push(0x5f + bytes.len() as u8);
                code.extend_from_slice(bytes);
            }
            Piece::Op(op) => code.push(*op),
            Piece::MemOp(op, offset) => {
                if *op != 0x51 {
                    code.extend_from_slice(&[0x60, 0xab]); // value
                }
                code.extend_from_slice(&[0x61, (offset >> 8) as u8, *offset as u8, *op]);
            }
            Piece::CalldataLoad(offset) => code.extend_from_slice(&[0x60, *offset, 0x35]),
            Piece::JumpOver => {
                let target = code.len() + 4;
                code.extend_from_slice(&[0x61, (target >> 8) as u8, target as u8, 0x56, 0x5b]);
            }
            Piece::JumpiSkip(taken) => {
                let target = code.len() + 8;
                code.extend_from_slice(&[
                    0x60,
                    u8::from(*taken),
                    0x61,
                    (target >> 8) as u8,
                    target as u8,
                    0x57,
                    0x60,
                    0x42,
                    0x5b,
                ]);
            }
        }
    }
    code.push(0x00);
    code
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn executor_matches_revm_on_random_programs(
        pieces in proptest::collection::vec(piece(), 1..60),
        calldata in proptest::collection::vec(any::<u8>(), 0..100),
        value in 0u64..1000,
    ) {
        let code = assemble(&pieces);
        let checked = check_program(&code, &calldata, U256::from(value))?;
        prop_assert!(checked >= 24, "only {} steps checked", checked);
    }
}

#[test]
fn push_across_a_chunk_boundary_and_jumps() {
    // PUSH32 straddling chunks 0 and 1, then a jump into chunk 2.
    let mut code = vec![0x5b; 20];
    code.push(0x7f);
    code.extend_from_slice(&[0xaa; 32]);
    code.extend_from_slice(&[0x50, 0x60, 70, 0x56]); // POP, PUSH1 70, JUMP
    code.resize(70, 0xfe);
    code.extend_from_slice(&[0x5b, 0x00]);
    assert_eq!(check_program(&code, &[], U256::ZERO).unwrap(), 20 + 1 + 3 + 1);
}

/// Every pure opcode on every pair of boundary values (signed extremes, shifts at 255/256,
/// byte indices at 31/32, zero divisors and moduli).
#[test]
fn pure_opcodes_on_boundary_values() {
    let min = U256::from(1) << 255;
    let values = [
        U256::ZERO,
        U256::from(1),
        U256::from(2),
        U256::from(30),
        U256::from(31),
        U256::from(32),
        U256::from(255),
        U256::from(256),
        U256::MAX,
        min,
        min + U256::from(1),
        min - U256::from(1),
        U256::from(1) << 128,
    ];
    let push = |v: U256| {
        let mut code = vec![0x7f];
        code.extend_from_slice(&v.to_be_bytes::<32>());
        code
    };
    let mut checked = 0;
    for op in (0x01u8..=0x0b).chain(0x10..=0x1d) {
        let mut code = Vec::new();
        for a in values {
            for b in values {
                code.extend(push(values[3])); // the modulus of ADDMOD/MULMOD
                code.extend(push(b));
                code.extend(push(a));
                code.push(op);
                // POP the result and whatever operands the opcode left: 3 pushed, `inputs` taken.
                let left = 3 - usize::from(OPCODES[op as usize].inputs) + 1;
                code.extend(std::iter::repeat_n(0x50, left));
            }
        }
        code.push(0x00);
        checked += check_program(&code, &[], U256::ZERO).unwrap();
    }
    // Per pair: three PUSH32, the operation, and its POPs.
    let per_op: usize = values.len() * values.len();
    assert!(checked >= 25 * per_op * 5, "{checked}");
}
