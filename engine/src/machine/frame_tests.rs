//! Frame boundaries (spec §6) on a small world: every step of a call — opening, input-copy
//! micro-steps, entry, the callee's RETURN or REVERT with its output copy, the exit and the
//! copy into the caller's return window — executed from the prover's witness must land on
//! the prover's post-state; the values that matter (gas, balances, return data, memory,
//! the success flag, restored roots) are checked against figures written out here; forged
//! witnesses are rejected. Creates (spec §6.4) likewise: the address (CREATE's nonce,
//! CREATE2's salt and init-code hash), the init frame, the code deposit and each way a create
//! fails. The corpus-wide check against revm is `refute conformance --steps all`.

use super::*;
use crate::{AccountLeaf, Error};
use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy_trie::KECCAK_EMPTY;
use std::{collections::HashMap, sync::Arc};

const ME: Address = address!("0x00000000000000000000000000000000c0dec0de");
const CALLEE: Address = address!("0x000000000000000000000000000000000000beef");
const NOBODY: Address = address!("0x000000000000000000000000000000000000dead");
const EMPTY: Address = address!("0x0000000000000000000000000000000000000e00");
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0b0");
const ORIGIN: Address = address!("0x00000000000000000000000000000000000a11ce");

/// The callee's code: `PUSH1 0x20 PUSH1 0x00 RETURN` (the test sets its memory first).
const CALLEE_CODE: &[u8] = &[0x60, 0x20, 0x60, 0x00, 0xf3];
/// The caller's code: one CALL-family opcode (replaced per test) then STOP.
fn caller_code(opcode: u8) -> Vec<u8> {
    vec![opcode, 0x00]
}

fn codes() -> HashMap<B256, Bytes> {
    [Bytes::from_static(CALLEE_CODE)].into_iter().map(|c| (keccak256(&c), c)).collect()
}

fn world() -> World {
    let leaf = |nonce: u64, balance: u64, code_hash| AccountLeaf {
        nonce,
        balance: U256::from(balance),
        code_hash,
        storage: vec![(U256::from(1), U256::from(5))],
    };
    let empty = AccountLeaf {
        nonce: 0,
        balance: U256::ZERO,
        code_hash: KECCAK_EMPTY,
        storage: Vec::<(U256, U256)>::new(),
    };
    World::new(vec![
        (ME, leaf(1, 1_000, keccak256(caller_code(0xf1)))),
        (CALLEE, leaf(1, 7, keccak256(CALLEE_CODE))),
        (EMPTY, AccountLeaf { storage: vec![], ..empty }),
    ])
    .expect("world")
}

fn block() -> BlockContext {
    BlockContext {
        number: 1,
        timestamp: 1,
        coinbase: COINBASE,
        gas_limit: 30_000_000,
        base_fee: U256::from(7),
        prevrandao: B256::ZERO,
        chain_id: 1,
        blob_base_fee: U256::from(1),
        block_hashes: B256::ZERO,
    }
}

/// The caller frame at its first instruction `opcode` with `stack` (top last) and memory
/// holding bytes `0x01..=0x40`.
fn caller(opcode: u8, stack: &[u64], gas: u64) -> FrameSnapshot {
    let memory: Vec<u8> = (1..=64u8).collect();
    let stack: Vec<U256> = stack.iter().map(|v| U256::from(*v)).collect();
    FrameSnapshot {
        kind: FrameKind::Transaction,
        is_static: false,
        address: ME,
        caller: ORIGIN,
        value: U256::ZERO,
        code: Arc::new(CodeTree::new(&caller_code(opcode)).expect("code")),
        pc: 0,
        gas,
        stack: Stack::new(&stack),
        memory: WordTree::from_bytes(&memory).expect("memory"),
        calldata: Arc::new(WordTree::empty()),
        returndata: Arc::new(WordTree::from_bytes(&[9; 5]).expect("returndata")),
        return_window: (0, 0),
        checkpoint: B256::ZERO,
    }
}

fn run<'c>(frame: FrameSnapshot, world: World, codes: &'c HashMap<B256, Bytes>) -> BoundaryRun<'c> {
    let accumulators = TxAccumulators::default();
    let roots = world.roots;
    let state = MachineState {
        fork: ForkId::Cancun,
        status: Status::Running,
        pending_kind: PendingKind::None,
        pending_hash: B256::ZERO,
        block_hash: block().hash(),
        tx_hash: B256::repeat_byte(0x77),
        state_root: roots.state_root,
        warm_addresses: roots.warm_addresses,
        warm_slots: roots.warm_slots,
        transient: roots.transient,
        created: alloy_trie::EMPTY_ROOT_HASH,
        refund: 0,
        logs: Chain::default(),
        frame_hash: B256::ZERO,
        callers: (0, B256::ZERO),
        accumulators: accumulators.hash(),
    };
    let checkpoint = Checkpoint {
        state_root: roots.state_root,
        warm_addresses: roots.warm_addresses,
        warm_slots: roots.warm_slots,
        transient: roots.transient,
        created: state.created,
        refund: 0,
        logs: Chain::default(),
        accumulators: accumulators.hash(),
    };
    let held = HeldFrame { snapshot: frame, checkpoint, accumulators };
    BoundaryRun::new(state, held, Vec::new(), world, codes, block(), accumulators)
}

/// Runs boundary steps until the next one is not a boundary step, checking each: the
/// executor's post-state from the prover's witness is the prover's post-state. Returns the
/// witnesses.
fn steps(run: &mut BoundaryRun<'_>) -> Vec<StepWitness> {
    let mut witnesses = Vec::new();
    loop {
        let pre = run.commitment().expect("pre");
        let Some(witness) = run.next_step().expect("step") else { break };
        let post = execute(pre, &witness).expect("executes");
        assert_eq!(post, run.commitment().expect("post"), "step {}", witnesses.len());
        witnesses.push(witness);
    }
    witnesses
}

/// Runs the in-frame copy a boundary step opened (the output into the return window).
fn finish_copy(run: &mut BoundaryRun<'_>) -> FrameSnapshot {
    let mut micro = run.into_micro().expect("micro").expect("a copy is pending");
    loop {
        let pre = micro.commitment().expect("pre");
        let Some((witness, _)) = micro.next_step().expect("step") else { break };
        assert_eq!(execute(pre, &witness).expect("executes"), micro.commitment().expect("post"));
    }
    micro.frame().clone()
}

/// Moves the callee to its RETURN/REVERT at `pc` with `stack` and `memory`, as its in-frame
/// instructions would have (their steps are checked elsewhere).
fn callee_ends(run: &mut BoundaryRun<'_>, pc: u32, stack: &[u64], memory: &[u8], gas_used: u64) {
    let frame = &mut run.frame.snapshot;
    frame.pc = pc;
    frame.stack = Stack::new(&stack.iter().map(|v| U256::from(*v)).collect::<Vec<_>>());
    frame.memory = WordTree::from_bytes(memory).expect("memory");
    frame.gas -= gas_used;
}

#[test]
fn call_with_value_copies_input_enters_returns_and_copies_output() {
    let codes = codes();
    // CALL(gas 50_000, CALLEE, value 3, in 4..44, out 70..102): top of the stack last.
    let frame = caller(
        0xf1,
        &[32, 70, 40, 4, 3, u64::from_be_bytes(CALLEE.0[12..].try_into().unwrap()), 50_000],
        100_000,
    );
    let mut run = run(frame, world(), &codes);
    let witnesses = steps(&mut run);
    // Opening, two input words (40 bytes), entry.
    assert_eq!(witnesses.len(), 4);
    let callee = &run.frame.snapshot;
    assert_eq!(callee.address, CALLEE);
    assert_eq!(callee.caller, ME);
    assert_eq!(callee.value, U256::from(3));
    let input: Vec<u8> = (5..45u8).collect();
    assert_eq!(callee.calldata.root(), WordTree::from_bytes(&input).expect("input").root());
    assert_eq!(callee.calldata.len(), 40);
    // Memory to 102 bytes = 4 words: 3·4 + 16/512 = 12 gas (from 2 words: 6) = 6; value 9,000;
    // cold 2,500; static 100: 11,606. Left 100_000 − 11,606 = 88,394; all but a 64th = 87,013 ≥ 50,000.
    assert_eq!(callee.gas, 50_000 + 2_300);
    assert_eq!(run.callers.len(), 1);
    assert_eq!(run.callers[0].0.snapshot.gas, 100_000 - 11_606 - 50_000);
    let balance =
        |run: &BoundaryRun<'_>, a| run.world.account(a).expect("read").expect("exists").balance;
    assert_eq!(balance(&run, ME), U256::from(997));
    assert_eq!(balance(&run, CALLEE), U256::from(10));

    let mut output = vec![0u8; 32];
    output[31] = 0x2a;
    callee_ends(&mut run, 4, &[32, 0], &output, 12);
    let witnesses = steps(&mut run);
    assert_eq!(witnesses.len(), 3); // RETURN, one output word, exit
    let caller = finish_copy(&mut run);
    assert_eq!(caller.pc, 1);
    assert_eq!(caller.stack.items().last(), Some(&U256::from(1)));
    assert_eq!(caller.returndata.root(), WordTree::from_bytes(&output).expect("out").root());
    assert_eq!(caller.memory.word(2)[6..32], output[..26]);
    assert_eq!(caller.gas, 100_000 - 11_606 - 50_000 + 52_300 - 12);
    // The value stays with the callee: it succeeded.
    assert_eq!(balance(&run, CALLEE), U256::from(10));
}

#[test]
fn revert_restores_the_world_and_returns_the_output() {
    let codes = codes();
    let to = u64::from_be_bytes(CALLEE.0[12..].try_into().unwrap());
    let frame = caller(0xf1, &[0, 0, 0, 0, 3, to, 50_000], 100_000);
    let mut run = run(frame, world(), &codes);
    let before = run.checkpoint_root_for_test();
    steps(&mut run);
    // The callee writes storage (as its SSTORE would), then reverts with 32 bytes.
    run.world.set_storage(CALLEE, U256::from(1), U256::from(6)).expect("write");
    callee_ends(&mut run, 4, &[32, 0], &[7; 32], 30);
    // Turn the callee's RETURN into REVERT for this test.
    let mut code = CALLEE_CODE.to_vec();
    code[4] = 0xfd;
    run.frame.snapshot.code = Arc::new(CodeTree::new(&code).expect("code"));
    steps(&mut run);
    assert!(run.pending.is_none(), "an empty return window copies nothing");
    let caller = &run.frame.snapshot;
    assert_eq!(caller.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(caller.returndata.len(), 32);
    assert_eq!(run.world.roots.state_root, before, "the transfer and the write are undone");
    assert_eq!(caller.gas, 100_000 - (100 + 9_000 + 2_500) - 50_000 + 52_300 - 30);
}

#[test]
fn calls_that_end_at_entry() {
    let codes = codes();
    let address = |a: Address| u64::from_be_bytes(a.0[12..].try_into().unwrap());
    // Into an account without code: success at once, gas back, return data cleared.
    let frame = caller(0xf1, &[0, 0, 0, 0, 0, address(NOBODY), 1_000], 100_000);
    let mut r = run(frame, world(), &codes);
    assert_eq!(steps(&mut r).len(), 2);
    assert_eq!(r.frame.snapshot.stack.items().last(), Some(&U256::from(1)));
    assert_eq!(r.frame.snapshot.returndata.len(), 0);
    assert_eq!(r.frame.snapshot.gas, 100_000 - 2_600);
    assert_eq!(r.frame.snapshot.pc, 1);
    // More value than the caller holds: failure, nothing moves.
    let frame = caller(0xf1, &[0, 0, 0, 0, 5_000, address(CALLEE), 1_000], 100_000);
    let mut r = run(frame, world(), &codes);
    let root = r.world.roots.state_root;
    steps(&mut r);
    assert_eq!(r.frame.snapshot.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(r.world.roots.state_root, root);
    // The callee's gas comes back whole, the 2,300 stipend included.
    assert_eq!(r.frame.snapshot.gas, 100_000 - 100 - 9_000 - 2_500 - 1_000 + 3_300);
    // A zero-value STATICCALL touches an existing empty account (EIP-161 candidate).
    let frame = caller(0xfa, &[0, 0, 0, 0, address(EMPTY), 1_000], 100_000);
    let mut r = run(frame, world(), &codes);
    steps(&mut r);
    assert_eq!(r.accumulators.touched.count, 1);
    // At the depth limit the call fails at entry.
    let frame = caller(0xf1, &[0, 0, 0, 0, 0, address(CALLEE), 1_000], 100_000);
    let mut r = run(frame, world(), &codes);
    let held = r.frame.clone();
    r.callers = (0..1024).map(|_| (held.clone(), B256::repeat_byte(1))).collect();
    steps(&mut r);
    assert_eq!(r.frame.snapshot.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(r.callers.len(), 1024);
}

#[test]
fn forged_boundary_witnesses_are_rejected() {
    let codes = codes();
    let to = u64::from_be_bytes(CALLEE.0[12..].try_into().unwrap());
    let frame = caller(0xf1, &[32, 70, 40, 4, 3, to, 50_000], 100_000);
    let mut run = run(frame, world(), &codes);
    let mut checked = 0;
    let mut check = |run: &mut BoundaryRun<'_>| {
        let pre = run.commitment().expect("pre");
        let witness = run.next_step().expect("step").expect("a boundary step");
        let honest = execute(pre, &witness).expect("executes");
        let mut forged = Vec::new();
        if let Some(mut w) = witness.buffer.clone() {
            w.word.0[0] ^= 1;
            forged.push(StepWitness { buffer: Some(w), ..witness.clone() });
        }
        if let Some(mut f) = witness.caller_frame {
            f.gas += 1;
            forged.push(StepWitness { caller_frame: Some(f), ..witness.clone() });
        }
        let failed =
            matches!(witness.pending, Some(Pending::Exit(FrameExit { success: false, .. })));
        if let Some(mut c) = witness.checkpoint.filter(|_| failed) {
            c.refund += 1;
            forged.push(StepWitness { checkpoint: Some(c), ..witness.clone() });
        }
        if let Some(code) = &witness.account_code {
            let mut code = code.to_vec();
            code[0] ^= 1;
            forged.push(StepWitness { account_code: Some(code.into()), ..witness.clone() });
        }
        if let Some(Pending::Call(mut call)) = witness.pending.clone() {
            call.gas += 1;
            forged.push(StepWitness { pending: Some(Pending::Call(call)), ..witness.clone() });
        }
        for forged in forged {
            match execute(pre, &forged) {
                Err(Error::BadWitness(_)) => checked += 1,
                other => assert_ne!(other.ok(), Some(honest), "a forged witness was accepted"),
            }
        }
    };
    for _ in 0..4 {
        check(&mut run); // opening, two input words, entry
    }
    callee_ends(&mut run, 4, &[32, 0], &[1; 32], 12);
    for _ in 0..3 {
        check(&mut run); // RETURN, the output word, exit
    }
    assert!(checked >= 6, "{checked} forgeries checked");
}

#[test]
fn selfdestruct_moves_the_balance_and_ends_the_frame() {
    let codes = codes();
    let to = u64::from_be_bytes(NOBODY.0[12..].try_into().unwrap());
    let frame = caller(0xff, &[to], 100_000);
    let mut r = run(frame, world(), &codes);
    let pre = r.commitment().expect("pre");
    let witness = r.next_step().expect("step").expect("SELFDESTRUCT");
    assert_eq!(execute(pre, &witness).expect("executes"), r.commitment().expect("post"));
    assert!(matches!(r.pending, Some(Pending::Exit(FrameExit { success: true, .. }))));
    // 5,000 + 2,600 cold + 25,000 for a balance sent to a new account.
    assert_eq!(r.frame.snapshot.gas, 100_000 - 32_600);
    let balance = |a| r.world.account(a).expect("read").map(|a| a.balance);
    assert_eq!(balance(NOBODY), Some(U256::from(1_000)));
    assert_eq!(balance(ME), Some(U256::ZERO));
    assert_eq!(r.accumulators.selfdestructs.count, 0, "not created in this transaction");
}

impl BoundaryRun<'_> {
    fn checkpoint_root_for_test(&self) -> B256 {
        self.world.roots.state_root
    }
}

#[test]
fn precompile_calls_return_their_output_or_fail_with_all_gas() {
    let codes = codes();
    // SHA-256 of memory bytes 4..44 into the window 70..102: 60 + 12·2 words = 84 gas.
    let frame = caller(0xfa, &[32, 70, 40, 4, 2, 50_000], 100_000);
    let mut r = run(frame, world(), &codes);
    assert_eq!(steps(&mut r).len(), 4); // opening, two input words, entry (the call itself)
    let caller = finish_copy(&mut r);
    // sha256(0x05..=0x2c), computed independently (Python's hashlib).
    let digest = alloy_primitives::hex::decode(
        "e9d0e86acbfe59f2ced766b6ca9e844b2b6ab97ca14f135cfa7bace6943a58cb",
    )
    .expect("hex");
    assert_eq!(caller.stack.items().last(), Some(&U256::from(1)));
    assert_eq!(caller.returndata.len(), 32);
    assert_eq!(&caller.memory.word(2)[6..32], &digest[..26]);
    // Memory to 4 words (6 gas from 2), static 100, warm by rule; 50,000 sent, 84 used.
    assert_eq!(caller.gas, 100_000 - 106 - 84);
    // The identity precompile with too little gas (15 + 3·2 = 21 > 20): failure, all its gas
    // consumed, no output, the return data cleared.
    let frame = caller_with(0xfa, &[0, 0, 40, 4, 4, 20], 100_000);
    let mut r = run(frame, world(), &codes);
    steps(&mut r);
    let caller = &r.frame.snapshot;
    assert_eq!(caller.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(caller.returndata.len(), 0);
    assert_eq!(caller.gas, 100_000 - 100 - 20);
    assert_eq!(caller.pc, 1);
}

/// [`caller`] under another name, for readability where the frame is reused.
fn caller_with(opcode: u8, stack: &[u64], gas: u64) -> FrameSnapshot {
    caller(opcode, stack, gas)
}

/// Init code that returns memory `[0, 32)` (the test sets that memory): the callee's code.
const INIT_CODE: &[u8] = CALLEE_CODE;

/// The caller at CREATE (`0xf0`) or CREATE2 (`0xf5`) with `INIT_CODE` in memory `[0, 5)`:
/// stack `(value, offset 0, size 5[, salt])`, top last.
fn creator(opcode: u8, value: u64, salt: Option<u64>, gas: u64) -> FrameSnapshot {
    let mut stack: Vec<u64> = salt.into_iter().collect();
    stack.extend([INIT_CODE.len() as u64, 0, value]);
    let mut frame = caller(opcode, &stack, gas);
    let mut memory = INIT_CODE.to_vec();
    memory.resize(64, 0);
    frame.memory = WordTree::from_bytes(&memory).expect("memory");
    frame
}

fn account(run: &BoundaryRun<'_>, address: Address) -> Option<alloy_trie::TrieAccount> {
    run.world.account(address).expect("read")
}

#[test]
fn create_copies_init_code_enters_and_deposits_the_code() {
    let codes = codes();
    let mut r = run(creator(0xf0, 5, None, 100_000), world(), &codes);
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 3, "opening, one init-code word, entry");
    let address = ME.create(1); // the creator's nonce before the bump
    let frame = &r.frame.snapshot;
    assert_eq!((frame.kind, frame.address, frame.caller), (FrameKind::Create, address, ME));
    assert_eq!(frame.value, U256::from(5));
    assert_eq!(frame.code.code_hash(), keccak256(INIT_CODE));
    assert_eq!(frame.calldata.len(), 0);
    // Static 32,000 + 2 for one init-code word (EIP-3860), no expansion: 67,998 left, of
    // which all but a 64th (1,062) goes to the init frame.
    assert_eq!(frame.gas, 66_936);
    assert_eq!(r.callers[0].0.snapshot.gas, 1_062);
    assert_eq!(account(&r, ME).expect("creator").nonce, 2);
    assert_eq!(account(&r, ME).expect("creator").balance, U256::from(995));
    let created = account(&r, address).expect("created");
    assert_eq!((created.nonce, created.balance), (1, U256::from(5)));
    assert!(r.world.tries().contains(r.world.roots.created, address_key(address)).expect("set"));

    let deployed = [0x5b; 32];
    callee_ends(&mut r, 4, &[32, 0], &deployed, 36);
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 3, "RETURN, one output word, exit");
    assert_eq!(
        witnesses[2].data.as_ref().map(|d| d.to_vec()),
        Some(deployed.to_vec()),
        "the exit carries the code"
    );
    let caller = &r.frame.snapshot;
    assert_eq!(caller.stack.items().last(), Some(&U256::from_be_slice(address.as_slice())));
    assert_eq!(caller.returndata.len(), 0, "a successful create returns no data");
    assert_eq!(caller.pc, 1);
    // The deposit costs 200 per byte.
    assert_eq!(caller.gas, 1_062 + 66_936 - 36 - 200 * 32);
    assert_eq!(account(&r, address).expect("created").code_hash, keccak256(deployed));
}

#[test]
fn create2_derives_its_address_from_the_salt_and_the_init_code() {
    let codes = codes();
    let mut r = run(creator(0xf5, 0, Some(0x42), 100_000), world(), &codes);
    steps(&mut r);
    let salt = B256::from(U256::from(0x42));
    let address = ME.create2(salt, keccak256(INIT_CODE));
    assert_eq!(r.frame.snapshot.address, address);
    assert_eq!(r.frame.snapshot.kind, FrameKind::Create2);
    // CREATE2 also pays 6 per word hashed: 32,008; 67,992 left.
    assert_eq!(r.frame.snapshot.gas, 67_992 - 67_992 / 64);
    assert_eq!(account(&r, ME).expect("creator").balance, U256::from(1_000), "no endowment");
}

#[test]
fn failed_deposits_and_reverts_restore_the_checkpoint_but_keep_the_nonce() {
    let codes = codes();
    let address = ME.create(1);
    // (output, gas the init frame used, whether its end is a REVERT)
    let cases: [(&[u8], u64, bool); 4] = [
        (&[0xef; 32], 10, false),          // EIP-3541
        (&[0x00; 32], 66_936 - 10, false), // 10 gas left < 6,400 for the deposit (EIP-2)
        (&[0x01; 32], 10, true),           // REVERT: gas and output kept
        (&[0x00; 24_577], 10, false),      // EIP-170
    ];
    for (output, used, revert) in cases {
        let mut r = run(creator(0xf0, 5, None, 100_000), world(), &codes);
        steps(&mut r);
        let mut code = INIT_CODE.to_vec();
        if revert {
            code[4] = 0xfd;
            r.frame.snapshot.code = Arc::new(CodeTree::new(&code).expect("code"));
        }
        let len = output.len() as u64;
        let mut memory = output.to_vec();
        memory.resize(output.len().div_ceil(32) * 32, 0);
        callee_ends(&mut r, 4, &[len, 0], &memory, used);
        // The output's memory is already expanded (as the init frame's MSTOREs would have).
        steps(&mut r);
        let caller = &r.frame.snapshot;
        assert_eq!(caller.stack.items().last(), Some(&U256::ZERO), "{len} bytes");
        let gas_back = if revert { 66_936 - used } else { 0 };
        assert_eq!(caller.gas, 1_062 + gas_back);
        assert_eq!(caller.returndata.len(), if revert { 32 } else { 0 });
        assert_eq!(account(&r, address), None, "the account is gone with the checkpoint");
        assert_eq!(account(&r, ME).expect("creator").nonce, 2, "the bump stays");
        assert_eq!(account(&r, ME).expect("creator").balance, U256::from(1_000));
        assert!(!r.world.tries().contains(r.world.roots.created, address_key(address)).unwrap());
        assert!(
            r.world.tries().contains(r.world.roots.warm_addresses, address_key(address)).unwrap()
        );
    }
}

#[test]
fn creates_that_end_at_entry() {
    let codes = codes();
    // EIP-7610: storage at the new address is a collision; the init frame's gas is consumed,
    // the creator's nonce bump and the address's warmth stay.
    let address = ME.create(1);
    let mut colliding = world();
    colliding
        .put_account(
            address,
            Some(alloy_trie::TrieAccount {
                nonce: 0,
                balance: U256::from(3),
                storage_root: account_storage_root(),
                code_hash: KECCAK_EMPTY,
            }),
        )
        .expect("write");
    let mut r = run(creator(0xf0, 5, None, 100_000), colliding, &codes);
    steps(&mut r);
    let caller = &r.frame.snapshot;
    assert_eq!(caller.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(caller.gas, 1_062);
    assert_eq!(account(&r, ME).expect("creator").nonce, 2);
    assert_eq!(account(&r, address).expect("kept").balance, U256::from(3));
    // More value than the creator holds: failure with the gas back and no nonce bump.
    let mut r = run(creator(0xf0, 5_000, None, 100_000), world(), &codes);
    steps(&mut r);
    assert_eq!(r.frame.snapshot.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(r.frame.snapshot.gas, 100_000 - 32_002);
    assert_eq!(account(&r, ME).expect("creator").nonce, 1);
    // At the depth limit.
    let mut r = run(creator(0xf0, 5, None, 100_000), world(), &codes);
    let held = r.frame.clone();
    r.callers = (0..1024).map(|_| (held.clone(), B256::repeat_byte(1))).collect();
    steps(&mut r);
    assert_eq!(r.frame.snapshot.stack.items().last(), Some(&U256::ZERO));
    assert_eq!(account(&r, ME).expect("creator").nonce, 1);
}

/// A storage root with one slot (EIP-7610's non-empty storage).
fn account_storage_root() -> B256 {
    let mut w = World::default();
    w.put_account(NOBODY, Some(alloy_trie::TrieAccount::default())).expect("account");
    w.set_storage(NOBODY, U256::from(1), U256::from(1)).expect("slot");
    w.account(NOBODY).expect("read").expect("exists").storage_root
}

#[test]
fn forged_create_witnesses_are_rejected() {
    let codes = codes();
    let mut r = run(creator(0xf5, 5, Some(7), 100_000), world(), &codes);
    let mut rejected = 0;
    let mut check = |r: &mut BoundaryRun<'_>| {
        let pre = r.commitment().expect("pre");
        let witness = r.next_step().expect("step").expect("a boundary step");
        let honest = execute(pre, &witness).expect("executes");
        let mut forged = Vec::new();
        if let Some(data) = &witness.data {
            let mut data = data.to_vec();
            data[0] ^= 1;
            forged.push(StepWitness { data: Some(data.into()), ..witness.clone() });
            forged.push(StepWitness { data: None, ..witness.clone() });
        }
        if let Some(Pending::Create(mut create)) = witness.pending.clone() {
            create.salt.0[31] ^= 1;
            forged.push(StepWitness { pending: Some(Pending::Create(create)), ..witness.clone() });
        }
        for forged in forged {
            match execute(pre, &forged) {
                Err(Error::BadWitness(_)) => rejected += 1,
                other => assert_ne!(other.ok(), Some(honest), "a forged witness was accepted"),
            }
        }
    };
    for _ in 0..3 {
        check(&mut r); // opening, the init-code word, entry
    }
    callee_ends(&mut r, 4, &[32, 0], &[0x5b; 32], 12);
    for _ in 0..3 {
        check(&mut r); // RETURN, the output word, exit with the code
    }
    assert!(rejected >= 6, "{rejected} forgeries rejected");
}

/// The transaction context of the end-step tests: gas limit 100,000 at 10 wei per gas (the
/// block's base fee is 7: 3 per gas to the coinbase).
fn tx() -> TxContext {
    TxContext {
        origin: ORIGIN,
        gas_price: U256::from(10),
        gas_limit: 100_000,
        blob_count: 0,
        blob_hashes: B256::ZERO,
        start_state_root: B256::ZERO,
    }
}

/// The top frame (kind `kind`) ended with `exit`, `gas` left and `refund` in the counter, in
/// a world where the sender holds 1,000 wei.
fn ended<'c>(
    world: World,
    codes: &'c HashMap<B256, Bytes>,
    exit: FrameExit,
    gas: u64,
    refund: u64,
) -> BoundaryRun<'c> {
    let mut world = world;
    let sender = alloy_trie::TrieAccount { balance: U256::from(1_000), ..Default::default() };
    world.put_account(ORIGIN, Some(sender)).expect("sender");
    let mut r = run(caller(0x00, &[], gas), world, codes);
    r.state.tx_hash = tx().hash();
    r.state.refund = refund;
    r.tx = Some(tx());
    r.pending = Some(Pending::Exit(exit));
    r
}

#[test]
fn the_end_step_refunds_pays_the_coinbase_and_ends_the_transaction() {
    let codes = codes();
    // 60,000 left: 40,000 used, refund min(9,000, 40,000 / 5 = 8,000) = 8,000: 32,000 used.
    let mut r = ended(world(), &codes, FrameExit::empty(true), 60_000, 9_000);
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 1, "no deletions: the end step is the last");
    let header = r.header().expect("header");
    assert_eq!(header.status, Status::Succeeded);
    assert_eq!(header.frame_hash, B256::ZERO);
    let end = TxEnd { success: true, gas_used: 32_000 };
    assert_eq!(r.pending, Some(Pending::TxEnd(end)));
    assert_eq!(header.pending_hash, Pending::TxEnd(end).hash());
    // The sender gets (60,000 + 8,000) · 10; the coinbase 32,000 · (10 − 7).
    let balance = |a| account(&r, a).map(|a| a.balance);
    assert_eq!(balance(ORIGIN), Some(U256::from(1_000 + 680_000)));
    assert_eq!(balance(COINBASE), Some(U256::from(96_000)));
    // A final state steps to itself.
    let post = r.commitment().expect("final");
    let frame = caller(0x00, &[], 0).frame().expect("frame");
    assert_eq!(execute(post, &StepWitness::new(header, frame)).expect("final"), post);
}

#[test]
fn a_failed_top_frame_is_undone_and_the_deletions_run() {
    let codes = codes();
    let mut r = ended(world(), &codes, FrameExit::empty(false), 0, 5_000);
    // The checkpoint is the world now; then the frame wrote storage, touched the empty
    // account and (as if created here) self-destructed CALLEE.
    let top = r.checkpoint_now_for_test();
    r.frame.checkpoint = top;
    r.frame.snapshot.checkpoint = top.hash();
    r.state.refund = 0; // the counter the checkpoint holds
    r.world.set_storage(CALLEE, U256::from(1), U256::from(9)).expect("write");
    let failed_root = r.world.roots.state_root;
    let mut r2 = ended(world(), &codes, FrameExit::empty(true), 50_000, 0);
    r2.touch_for_test(EMPTY);
    r2.selfdestruct_for_test(CALLEE);
    let witnesses = steps(&mut r2);
    assert_eq!(witnesses.len(), 3, "end step, the selfdestruct, the touched account");
    assert_eq!(r2.header().expect("header").status, Status::Succeeded);
    assert_eq!(account(&r2, EMPTY), None, "EIP-161: touched and empty");
    assert_eq!(account(&r2, CALLEE), None, "EIP-6780: created and self-destructed");
    assert!(account(&r2, ME).is_some());
    // The failed transaction: the write is undone, all the gas is paid for.
    steps(&mut r);
    assert_eq!(r.header().expect("header").status, Status::Failed);
    assert_ne!(r.world.roots.state_root, failed_root);
    assert_eq!(r.pending, Some(Pending::TxEnd(TxEnd { success: false, gas_used: 100_000 })));
    let coinbase = account(&r, COINBASE).expect("paid").balance;
    assert_eq!(coinbase, U256::from(300_000));
    let slot = r.world.tries().storage(r.world.roots.state_root, CALLEE, U256::from(1));
    assert_eq!(slot.expect("read"), U256::from(5), "restored");
}

#[test]
fn forged_deletions_are_rejected() {
    let codes = codes();
    let mut r = ended(world(), &codes, FrameExit::empty(true), 50_000, 0);
    r.touch_for_test(EMPTY);
    r.touch_for_test(NOBODY);
    let pre = r.commitment().expect("pre");
    let end = r.next_step().expect("end").expect("the end step");
    assert_eq!(execute(pre, &end).expect("end"), r.commitment().expect("post"));
    let pre = r.commitment().expect("pre");
    let witness = r.next_step().expect("deletion").expect("a deletion step");
    let honest = execute(pre, &witness).expect("deletion");
    assert_eq!(honest, r.commitment().expect("post"));
    let (rest, address) = witness.popped.expect("popped");
    for popped in [None, Some((rest, EMPTY)), Some((B256::repeat_byte(1), address))] {
        let forged = StepWitness { popped, ..witness.clone() };
        assert!(matches!(execute(pre, &forged), Err(Error::BadWitness(_))), "{popped:?}");
    }
}

impl BoundaryRun<'_> {
    fn checkpoint_now_for_test(&self) -> Checkpoint {
        let roots = self.world.roots;
        Checkpoint {
            state_root: roots.state_root,
            warm_addresses: roots.warm_addresses,
            warm_slots: roots.warm_slots,
            transient: roots.transient,
            created: roots.created,
            refund: 0,
            logs: self.state.logs,
            accumulators: self.accumulators.hash(),
        }
    }

    fn touch_for_test(&mut self, address: Address) {
        let below = self.accumulators.touched.acc;
        self.accumulators.touched = context::append_address(self.accumulators.touched, address);
        self.items.touched.push((below, address));
    }

    fn selfdestruct_for_test(&mut self, address: Address) {
        let below = self.accumulators.selfdestructs.acc;
        let chain = context::append_address(self.accumulators.selfdestructs, address);
        self.accumulators.selfdestructs = chain;
        self.items.selfdestructs.push((below, address));
    }
}

#[test]
fn the_identity_precompile_returns_its_input_buffer_without_carrying_it() {
    let codes = codes();
    // STATICCALL the identity (0x04) on memory bytes 4..44 into the window 70..102.
    let frame = caller(0xfa, &[32, 70, 40, 4, 4, 1_000], 100_000);
    let mut r = run(frame, world(), &codes);
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 4); // opening, two input words, entry
    assert!(witnesses[3].data.is_none(), "the entry carries no input");
    let caller = finish_copy(&mut r);
    let input: Vec<u8> = (5..45u8).collect();
    assert_eq!(caller.stack.items().last(), Some(&U256::from(1)));
    assert_eq!(caller.returndata.root(), WordTree::from_bytes(&input).expect("input").root());
    assert_eq!(caller.memory.word(2)[6..32], input[..26]);
    // Memory 6, static 100, and 15 + 3·2 = 21 for the identity.
    assert_eq!(caller.gas, 100_000 - 106 - 21);
}

#[test]
fn a_failure_drops_the_frames_touches_and_an_empty_coinbase_is_deleted() {
    let codes = codes();
    // The top frame touched EMPTY, then failed: the touch goes with the checkpoint (whose
    // accumulators are empty), and nothing is deleted.
    let mut r = ended(world(), &codes, FrameExit::empty(false), 0, 0);
    let top = r.checkpoint_now_for_test();
    r.frame.checkpoint = top;
    r.frame.snapshot.checkpoint = top.hash();
    r.touch_for_test(EMPTY);
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 1, "the end step only");
    assert_eq!(r.header().expect("header").status, Status::Failed);
    assert!(account(&r, EMPTY).is_some(), "its touch was undone");
    // A zero priority fee (price = base fee 7) leaves an existing empty coinbase touched by
    // the payment: EIP-161 deletes it.
    let mut world = world();
    world.put_account(COINBASE, Some(alloy_trie::TrieAccount::default())).expect("coinbase");
    let mut r = ended(world, &codes, FrameExit::empty(true), 50_000, 0);
    let tx = TxContext { gas_price: U256::from(7), ..tx() };
    r.tx = Some(tx);
    r.state.tx_hash = tx.hash();
    let witnesses = steps(&mut r);
    assert_eq!(witnesses.len(), 2, "the end step and the coinbase's deletion");
    assert_eq!(r.header().expect("header").status, Status::Succeeded);
    assert_eq!(account(&r, COINBASE), None);
}
