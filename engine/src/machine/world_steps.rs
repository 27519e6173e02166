//! World steps (SLOAD, SSTORE, TLOAD, TSTORE, account reads, EXTCODECOPY's opening) on a small
//! world: the executor's post-state against the prover's own world update, EIP-2200/2929/3529
//! gas and refunds at their edges, and witness mutations rejected. The corpus-wide
//! differential check against revm is `refute conformance` (see `conformance::steps`).

use super::*;
use crate::{AccountLeaf, Error};
use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy_trie::KECCAK_EMPTY;
use proptest::prelude::*;
use std::{collections::HashMap, sync::Arc};

const ME: Address = address!("0x00000000000000000000000000000000c0dec0de");
const OTHER: Address = address!("0x000000000000000000000000000000000000beef");
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0b0");
/// An account with 45 bytes of code, a PUSH32 crossing its first chunk boundary.
const CODED: Address = address!("0x0000000000000000000000000000000000c0ffee");

/// [`OTHER`]'s code.
const OTHER_CODE: &[u8] = &[0x60, 0x00];

/// [`CODED`]'s code: bytes `0x01..=0x2d` with a PUSH32 at 20, whose immediate reaches into
/// chunk 1.
fn coded_code() -> Vec<u8> {
    let mut code: Vec<u8> = (1..=45u8).collect();
    code[20] = 0x7f;
    code
}

/// Code by hash, as the prover holds it.
fn codes() -> HashMap<B256, Bytes> {
    [Bytes::from_static(OTHER_CODE), Bytes::from(coded_code())]
        .into_iter()
        .map(|code| (keccak256(&code), code))
        .collect()
}

/// A world where [`ME`] holds slots 1 = 5 and 2 = 7, and [`OTHER`] and [`CODED`] have code.
fn world() -> World {
    let code_hash = keccak256(OTHER_CODE);
    let leaf = |balance: u64, code_hash, storage: Vec<(u64, u64)>| AccountLeaf {
        nonce: 1,
        balance: U256::from(balance),
        code_hash,
        storage: storage
            .into_iter()
            .map(|(k, v)| (U256::from(k), U256::from(v)))
            .collect::<Vec<_>>(),
    };
    World::new(vec![
        (ME, leaf(100, KECCAK_EMPTY, vec![(1, 5), (2, 7)])),
        (OTHER, leaf(42, code_hash, vec![])),
        (CODED, leaf(0, keccak256(coded_code()), vec![])),
    ])
    .expect("world")
}

struct Setup {
    world: World,
    block: BlockContext,
    tx: TxContext,
}

impl Setup {
    fn new(world: World, start_state_root: B256) -> Self {
        let block = BlockContext {
            number: 1,
            timestamp: 1,
            coinbase: COINBASE,
            gas_limit: 30_000_000,
            base_fee: U256::from(7),
            prevrandao: B256::ZERO,
            chain_id: 1,
            blob_base_fee: U256::from(1),
            block_hashes: B256::ZERO,
        };
        let tx = TxContext {
            origin: OTHER,
            gas_price: U256::from(10),
            gas_limit: 1_000_000,
            blob_count: 0,
            blob_hashes: B256::ZERO,
            start_state_root,
        };
        Self { world, block, tx }
    }

    /// The pre-state and the witness of `opcode` with `stack` (top last), as the prover
    /// builds it: executor run once over a recording view of the store.
    fn step(&self, opcode: u8, stack: &[U256], gas: u64, refund: u64) -> (B256, StepWitness) {
        let snapshot = self.snapshot(opcode, stack, gas, &[]);
        let state = self.header(&snapshot, refund);
        (state.commitment(), self.witness(&snapshot, state))
    }

    /// The frame about to run `opcode` with `stack` (top last) over `memory`.
    fn snapshot(&self, opcode: u8, stack: &[U256], gas: u64, memory: &[u8]) -> FrameSnapshot {
        FrameSnapshot {
            kind: FrameKind::Transaction,
            is_static: false,
            address: ME,
            caller: OTHER,
            value: U256::ZERO,
            code: Arc::new(CodeTree::new(&[opcode]).expect("code")),
            pc: 0,
            gas,
            stack: Stack::new(stack),
            memory: WordTree::from_bytes(memory).expect("small memory"),
            calldata: Arc::new(WordTree::empty()),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: B256::ZERO,
        }
    }

    /// The header around `snapshot`'s frame.
    fn header(&self, snapshot: &FrameSnapshot, refund: u64) -> MachineState {
        let frame = snapshot.frame().expect("frame");
        let roots = self.world.roots;
        MachineState {
            fork: ForkId::Cancun,
            status: Status::Running,
            pending_kind: PendingKind::None,
            pending_hash: B256::ZERO,
            block_hash: self.block.hash(),
            tx_hash: self.tx.hash(),
            state_root: roots.state_root,
            warm_addresses: roots.warm_addresses,
            warm_slots: roots.warm_slots,
            transient: roots.transient,
            created: B256::ZERO,
            refund,
            logs: Chain::default(),
            frame_hash: frame.hash(),
            callers: (0, B256::ZERO),
            accumulators: B256::ZERO,
        }
    }

    /// The opening witness at `snapshot` with the header `state`, the code of the account
    /// on top of the stack (if it has code) and the trie nodes the executor reads.
    fn witness(&self, snapshot: &FrameSnapshot, state: MachineState) -> StepWitness {
        let mut witness = snapshot.witness(state).expect("witness");
        witness.block = Some(self.block);
        witness.tx = Some(self.tx);
        if let Some(top) = witness.stack.last() {
            let account = self.world.account(Address::from_word((*top).into())).expect("read");
            witness.account_code = account.and_then(|a| codes().get(&a.code_hash).cloned());
        }
        witness.tries = self.world.store().recording();
        let _ = execute(state.commitment(), &witness);
        witness.tries = witness.tries.recorded();
        witness
    }
}

/// The SSTORE gas and refund of EIP-2200/2929/3529, written out as the EIP's table, for
/// `(original, current, new, cold)`.
fn sstore_reference(original: u64, current: u64, new: u64, cold: bool) -> (u64, i64) {
    let cold_cost = if cold { 2100 } else { 0 };
    if new == current {
        return (cold_cost + 100, 0);
    }
    if original == current {
        let cost = if original == 0 { 20_000 } else { 2_900 };
        let refund = if original != 0 && new == 0 { 4_800 } else { 0 };
        return (cold_cost + cost, refund);
    }
    let mut refund = 0;
    if original != 0 {
        if current == 0 {
            refund -= 4_800;
        } else if new == 0 {
            refund += 4_800;
        }
    }
    if original == new {
        refund += if original == 0 { 19_900 } else { 2_800 };
    }
    (cold_cost + 100, refund)
}

/// The executor's post-state equals the one built from the prover's world for every
/// (original, current, new, warm) combination of SSTORE.
#[test]
fn sstore_gas_refunds_and_state_root() {
    let values = [0u64, 5, 9];
    for original in values {
        for current in values {
            for new in values {
                for cold in [true, false] {
                    // Slot 3 starts at `original` (absent when 0), then is written to `current`
                    // within the transaction.
                    let mut world = world();
                    world.set_storage(ME, U256::from(3), U256::from(original)).expect("set");
                    let start = world.roots.state_root;
                    world.set_storage(ME, U256::from(3), U256::from(current)).expect("set");
                    if !cold {
                        world.warm_slot(ME, U256::from(3)).expect("warm");
                    }
                    let setup = Setup::new(world, start);
                    let refund_before = 10_000;
                    let stack = [U256::from(new), U256::from(3)];
                    let (pre, witness) = setup.step(0x55, &stack, 100_000, refund_before);
                    let post = execute(pre, &witness).expect("executes");

                    let (cost, refund) = sstore_reference(original, current, new, cold);
                    let mut expected_world = setup.world.clone();
                    expected_world.warm_slot(ME, U256::from(3)).expect("warm");
                    expected_world.set_storage(ME, U256::from(3), U256::from(new)).expect("set");
                    let mut frame = witness.frame;
                    frame.gas = 100_000 - cost;
                    frame.pc = 1;
                    frame.stack = StackCommitment::EMPTY;
                    let mut state = witness.state;
                    state.state_root = expected_world.roots.state_root;
                    state.warm_slots = expected_world.roots.warm_slots;
                    state.refund = (refund_before as i64 + refund) as u64;
                    state.frame_hash = frame.hash();
                    assert_eq!(
                        post,
                        state.commitment(),
                        "SSTORE original {original} current {current} new {new} cold {cold}"
                    );
                }
            }
        }
    }
}

/// SSTORE with 2,300 gas or less halts (EIP-2200) even when it would cost less; above the
/// stipend it halts only when out of gas.
#[test]
fn sstore_within_the_stipend_halts() {
    let setup = Setup::new(world(), world().roots.state_root);
    // (gas, value stored in slot 1 holding 5, halts): a cold no-op costs 2,200, a cold
    // change 5,000.
    for (gas, value, halts) in [(2_300, 5, true), (2_301, 6, true), (2_301, 5, false)] {
        let (pre, witness) = setup.step(0x55, &[U256::from(value), U256::from(1)], gas, 0);
        let post = execute(pre, &witness).expect("executes");
        let mut frame = witness.frame;
        frame.gas = 0;
        let mut halted = witness.state;
        halted.frame_hash = frame.hash();
        halted.pending_kind = PendingKind::FrameExit;
        halted.pending_hash = FrameExit::empty(false).hash();
        assert_eq!(post == halted.commitment(), halts, "gas {gas}, value {value}");
    }
}

/// SLOAD, TLOAD/TSTORE and the account reads against the prover's world.
#[test]
fn loads_and_account_reads() {
    let setup = Setup::new(world(), world().roots.state_root);
    let cases: Vec<(u8, Vec<U256>, U256, u64)> = vec![
        (0x54, vec![U256::from(2)], U256::from(7), 2_100),
        (0x54, vec![U256::from(4)], U256::ZERO, 2_100),
        (0x31, vec![U256::from_be_slice(OTHER.as_slice())], U256::from(42), 2_600),
        (0x31, vec![U256::from_be_slice(COINBASE.as_slice())], U256::ZERO, 100),
        (0x47, vec![], U256::from(100), 5),
        (0x3b, vec![U256::from_be_slice(OTHER.as_slice())], U256::from(2), 2_600),
        (0x3b, vec![U256::from_be_slice(ME.as_slice())], U256::ZERO, 2_600),
        (0x3f, vec![U256::from(0xdead)], U256::ZERO, 2_600),
        (0x5c, vec![U256::from(1)], U256::ZERO, 100),
    ];
    for (opcode, stack, pushed, cost) in cases {
        let (pre, witness) = setup.step(opcode, &stack, 50_000, 0);
        let post = execute(pre, &witness).expect("executes");
        let mut world = setup.world.clone();
        match opcode {
            0x54 => world.warm_slot(ME, stack[0]).expect("warm"),
            0x31 | 0x3b | 0x3f if !warm_by_rule(Address::from_word(stack[0].into()), COINBASE) => {
                world.warm_address(Address::from_word(stack[0].into())).expect("warm")
            }
            _ => {}
        }
        let mut frame = witness.frame;
        frame.gas = 50_000 - cost;
        frame.pc = 1;
        frame.stack = StackCommitment::of(&[pushed]);
        let mut state = witness.state;
        state.warm_addresses = world.roots.warm_addresses;
        state.warm_slots = world.roots.warm_slots;
        state.frame_hash = frame.hash();
        assert_eq!(post, state.commitment(), "opcode 0x{opcode:02x}");
    }

    // TSTORE then TLOAD through the transient trie.
    let (pre, witness) = setup.step(0x5d, &[U256::from(9), U256::from(1)], 50_000, 0);
    let post = execute(pre, &witness).expect("executes");
    let mut world = setup.world.clone();
    world.set_transient(ME, U256::from(1), U256::from(9)).expect("tstore");
    let mut frame = witness.frame;
    frame.gas = 50_000 - 100;
    frame.pc = 1;
    frame.stack = StackCommitment::EMPTY;
    let mut state = witness.state;
    state.transient = world.roots.transient;
    state.frame_hash = frame.hash();
    assert_eq!(post, state.commitment());
    let after = Setup::new(world, setup.tx.start_state_root);
    let (pre, witness) = after.step(0x5c, &[U256::from(1)], 50_000, 0);
    let post = execute(pre, &witness).expect("executes");
    let mut frame = witness.frame;
    frame.gas = 50_000 - 100;
    frame.pc = 1;
    frame.stack = StackCommitment::of(&[U256::from(9)]);
    let mut state = witness.state;
    state.frame_hash = frame.hash();
    assert_eq!(post, state.commitment());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A witness with a node dropped or changed, a wrong account code, or contexts that do
    /// not hash to the header is rejected: never a different post-state.
    #[test]
    fn mutated_world_witnesses_are_rejected(
        which in 0usize..4,
        pick in any::<usize>(),
        flip in any::<usize>(),
        opcode in prop::sample::select(vec![0x54u8, 0x55, 0x31, 0x3b, 0x5d]),
    ) {
        let mut world = world();
        let start = world.roots.state_root;
        world.set_storage(ME, U256::from(1), U256::from(6)).expect("set");
        let setup = Setup::new(world, start);
        let operand = if matches!(opcode, 0x31 | 0x3b) {
            U256::from_be_slice(OTHER.as_slice())
        } else {
            U256::from(1)
        };
        let stack: Vec<U256> = if matches!(opcode, 0x55 | 0x5d) {
            vec![U256::from(3), operand]
        } else {
            vec![operand]
        };
        let (pre, witness) = setup.step(opcode, &stack, 50_000, 0);
        let honest = execute(pre, &witness).expect("the honest witness executes");
        let mut forged = witness.clone();
        let nodes: Vec<Bytes> = witness.tries.nodes().cloned().collect();
        match which {
            0 if !nodes.is_empty() => {
                // Drop one node.
                let drop = pick % nodes.len();
                forged.tries = TrieWitness::new(nodes.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, n)| n.clone()));
            }
            1 if !nodes.is_empty() => {
                // Change one byte of one node.
                let mut changed = nodes.clone();
                let node = &mut changed[pick % nodes.len()];
                let mut bytes = node.to_vec();
                let at = flip % bytes.len();
                bytes[at] ^= 0x01;
                *node = bytes.into();
                forged.tries = TrieWitness::new(changed);
            }
            2 => {
                forged.account_code = Some(Bytes::from_static(&[0x60, 0x01]));
            }
            _ => {
                let mut tx = setup.tx;
                tx.start_state_root = B256::repeat_byte(0x42);
                forged.tx = Some(tx);
                let mut block = setup.block;
                block.coinbase = OTHER;
                forged.block = Some(block);
            }
        }
        match execute(pre, &forged) {
            Ok(post) => prop_assert_eq!(post, honest, "a forged witness gave another post-state"),
            Err(Error::BadWitness(_) | Error::MissingProofNode(_) | Error::MalformedTrieNode(_)) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

// ---- EXTCODECOPY: the opening step in the world, then micro-steps over the account's code ----

fn word_of(address: Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

/// What an EXTCODECOPY ran to: the executor's opening step and micro-steps, each checked
/// against the prover's state.
struct ExtCodeCopy {
    /// The state after the last step, with the memory the prover wrote.
    run: MicroRun,
    /// The micro-step witnesses with their pre-state commitments.
    micro: Vec<(B256, StepWitness)>,
}

/// EXTCODECOPY `(address, dest, offset, len)` over `memory` with `gas`: `Err(post)` when the
/// opening step halts (the executor's post-state; the prover refuses to open), else the run.
fn ext_code_copy(
    setup: &Setup,
    args: [U256; 4],
    gas: u64,
    memory: &[u8],
) -> Result<ExtCodeCopy, B256> {
    let stack: Vec<U256> = args.iter().rev().copied().collect();
    let snapshot = setup.snapshot(0x3c, &stack, gas, memory);
    let state = setup.header(&snapshot, 0);
    let witness = setup.witness(&snapshot, state);
    let mut commitment = execute(state.commitment(), &witness).expect("the opening step runs");
    let codes = codes();
    let view = WorldView { nodes: setup.world.store(), coinbase: COINBASE, codes: &codes };
    let Ok(mut run) = MicroRun::open(&snapshot, state, Some(view)) else {
        return Err(commitment);
    };
    assert_eq!(run.commitment().expect("commitment"), commitment, "the opening step");
    let mut micro = Vec::new();
    while let Some((witness, kind)) = run.next_step().expect("the prover steps") {
        assert_eq!(kind, MicroStepKind::Word);
        let next = execute(commitment, &witness).expect("the micro-step runs");
        micro.push((commitment, witness));
        commitment = next;
        assert_eq!(run.commitment().expect("commitment"), commitment, "a micro-step");
    }
    Ok(ExtCodeCopy { run, micro })
}

/// The halting step's post-state at `snapshot`: gas zero, a failed frame exit pending.
fn halted(setup: &Setup, args: [U256; 4], gas: u64, memory: &[u8]) -> B256 {
    let stack: Vec<U256> = args.iter().rev().copied().collect();
    let snapshot = setup.snapshot(0x3c, &stack, gas, memory);
    let mut frame = snapshot.frame().expect("frame");
    frame.gas = 0;
    let mut state = setup.header(&snapshot, 0);
    state.frame_hash = frame.hash();
    state.pending_kind = PendingKind::FrameExit;
    state.pending_hash = FrameExit::empty(false).hash();
    state.commitment()
}

/// EXTCODECOPY copies the account's code, zero past its end, into memory that held `0xff`s,
/// for every source offset and length at the edges of the code, charging the EIP-2929 access
/// (2,600 cold, 100 warm or warm by rule), 3 gas per word and the memory expansion.
#[test]
fn extcodecopy_copies_code_and_zero_padding() {
    let code = coded_code();
    let memory = vec![0xff; 96];
    let huge = U256::MAX - U256::from(3);
    let mut warmed = world();
    warmed.warm_address(CODED).expect("warm");
    let cold = Setup::new(world(), world().roots.state_root);
    let warm = Setup::new(warmed, world().roots.state_root);
    let accounts: [(Address, &[u8]); 5] = [
        (CODED, &code),
        (OTHER, OTHER_CODE),
        (ME, &[]),                                                     // no code
        (address!("0x000000000000000000000000000000000000dead"), &[]), // absent
        (COINBASE, &[]),                                               // absent, warm by rule
    ];
    for (setup, warm_set) in [(&cold, false), (&warm, true)] {
        for (account, account_code) in accounts {
            for offset in [U256::ZERO, U256::from(5), U256::from(40), U256::from(45), huge] {
                for (dest, len) in [(0u64, 0u64), (0, 1), (3, 31), (0, 32), (31, 33), (64, 100)] {
                    let args = [word_of(account), U256::from(dest), offset, U256::from(len)];
                    let what = format!("{account} offset {offset} dest {dest} len {len}");
                    let done = ext_code_copy(setup, args, 100_000, &memory).expect(&what);
                    // The bytes copied, and the memory around them untouched.
                    let mut expected = memory.clone();
                    let end = (dest + len) as usize;
                    expected.resize(expected.len().max(end.div_ceil(32) * 32), 0);
                    for k in 0..len as usize {
                        let at = usize::try_from(offset).ok().and_then(|o| o.checked_add(k));
                        expected[dest as usize + k] =
                            at.and_then(|at| account_code.get(at)).copied().unwrap_or(0);
                    }
                    let frame = done.run.frame();
                    assert_eq!(frame.memory.len(), expected.len() as u64, "{what}");
                    for (j, word) in expected.chunks(32).enumerate() {
                        assert_eq!(frame.memory.word(j as u64).as_slice(), word, "{what}");
                    }
                    // One micro-step per destination word.
                    let words = if len == 0 { 0 } else { (dest + len - 1) / 32 - dest / 32 + 1 };
                    assert_eq!(done.micro.len() as u64, words, "{what}");
                    // Gas: the access, the copy, the expansion past 3 words.
                    let by_rule = account == COINBASE;
                    let access = if warm_set && account == CODED || by_rule { 100 } else { 2600 };
                    let grown = (end as u64).div_ceil(32).max(3);
                    let cost = access + 3 * len.div_ceil(32) + memory_cost(grown) - memory_cost(3);
                    assert_eq!(frame.gas, 100_000 - cost, "{what}");
                    assert_eq!(frame.pc, 1, "{what}");
                    assert!(frame.stack.items().is_empty(), "{what}");
                    // The account is warm afterwards (warm by rule: never inserted).
                    let mut after = setup.world.clone();
                    if !by_rule {
                        after.warm_address(account).expect("warm");
                    }
                    let header = done.run.header().expect("header");
                    assert_eq!(header.warm_addresses, after.roots.warm_addresses, "{what}");
                }
            }
        }
    }
}

/// Out of gas at the access charge, at the copy charge and at the memory expansion, and a
/// length of 2^32 or more: the opening step halts (all gas gone, a failed frame exit
/// pending, nothing else changed), and the prover does not open the copy.
#[test]
fn extcodecopy_halts_at_every_charge() {
    let setup = Setup::new(world(), world().roots.state_root);
    let memory = vec![0xff; 64];
    let coded = word_of(CODED);
    // (args, gas): the access is 2,600, copying 64 bytes 6 gas, expanding 2 words to 3 words
    // 3 gas (3·3 + 9/512 − 3·2 − 4/512).
    let cases = [
        ([coded, U256::ZERO, U256::ZERO, U256::ZERO], 2_599),
        ([coded, U256::ZERO, U256::ZERO, U256::from(64)], 2_605),
        ([coded, U256::from(1), U256::ZERO, U256::from(64)], 2_608),
        ([coded, U256::ZERO, U256::ZERO, U256::from(1u64 << 32)], 1_000_000),
        ([coded, U256::from(1u64 << 32), U256::ZERO, U256::from(1)], 1_000_000),
    ];
    for (args, gas) in cases {
        let post = ext_code_copy(&setup, args, gas, &memory).err();
        assert_eq!(post, Some(halted(&setup, args, gas, &memory)), "{args:?} with gas {gas}");
    }
    // One more gas and the same copies run.
    for (args, gas) in &cases[..3] {
        assert!(ext_code_copy(&setup, *args, gas + 1, &memory).is_ok(), "{args:?}");
    }
}

/// The opening step takes the account's code from the witness and checks its hash: wrong,
/// missing or extended code is rejected; a micro-step with a forged chunk, or a chunk of the
/// frame's own code, is rejected.
#[test]
fn extcodecopy_rejects_forged_code_and_chunks() {
    let setup = Setup::new(world(), world().roots.state_root);
    let args = [word_of(CODED), U256::from(3), U256::from(2), U256::from(60)];
    let stack: Vec<U256> = args.iter().rev().copied().collect();
    let snapshot = setup.snapshot(0x3c, &stack, 100_000, &[]);
    let state = setup.header(&snapshot, 0);
    let witness = setup.witness(&snapshot, state);
    let pre = state.commitment();
    let honest = execute(pre, &witness).expect("the honest witness");
    let mut forgeries = Vec::new();
    for code in [None, Some(OTHER_CODE.to_vec()), Some([coded_code(), vec![0]].concat())] {
        let mut forged = witness.clone();
        forged.account_code = code.map(Bytes::from);
        forgeries.push(forged);
    }
    let mut flipped = coded_code();
    flipped[44] ^= 1;
    let mut forged = witness.clone();
    forged.account_code = Some(flipped.into());
    forgeries.push(forged);
    for forged in forgeries {
        assert!(matches!(execute(pre, &forged), Err(Error::BadWitness(_))), "{forged:?}");
    }
    // A witness for an account without code needs none, and extra code changes nothing.
    let none = [word_of(ME), U256::ZERO, U256::ZERO, U256::from(10)];
    let stack: Vec<U256> = none.iter().rev().copied().collect();
    let snapshot = setup.snapshot(0x3c, &stack, 100_000, &[]);
    let state = setup.header(&snapshot, 0);
    let mut witness = setup.witness(&snapshot, state);
    let post = execute(state.commitment(), &witness).expect("no code needed");
    witness.account_code = Some(Bytes::from(coded_code()));
    assert_eq!(execute(state.commitment(), &witness).expect("extra code ignored"), post);

    // Destination words 0 and 1: source bytes 2..31 (chunk 0), then 31..45 (chunks 0, 1).
    let done = ext_code_copy(&setup, args, 100_000, &[]).expect("the copy runs");
    assert_eq!(done.micro.len(), 2);
    assert_eq!(done.micro[0].0, honest, "the micro-steps start from the opening's post-state");
    let frame_code = CodeTree::new(&[0x3c]).expect("code");
    for (k, (pre, witness)) in done.micro.iter().enumerate() {
        assert_eq!(witness.source_code.len(), k + 1);
        let mut forgeries = Vec::new();
        let mut m = witness.clone();
        m.source_code[0].bytes[5] ^= 1;
        forgeries.push(m);
        let mut m = witness.clone();
        m.source_code[0].push_prefix ^= 1;
        forgeries.push(m);
        let mut m = witness.clone();
        m.source_code.last_mut().expect("a chunk").proof.siblings[11].0[0] ^= 1;
        forgeries.push(m);
        let mut m = witness.clone();
        m.source_code[0] = frame_code.chunk(m.source_code[0].index).expect("chunk");
        forgeries.push(m);
        let mut m = witness.clone();
        m.source_code.pop();
        forgeries.push(m);
        let mut m = witness.clone();
        m.source = m
            .source_code
            .iter()
            .map(|c| WordWitness { word: B256::from(c.bytes), proof: c.proof.clone() })
            .collect();
        m.source_code.clear();
        forgeries.push(m);
        for forged in forgeries {
            assert!(matches!(execute(*pre, &forged), Err(Error::BadWitness(_))), "{forged:?}");
        }
    }
}
