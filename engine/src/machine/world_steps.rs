//! World steps (SLOAD, SSTORE, TLOAD, TSTORE, account reads) on a small world: the executor's
//! post-state against the prover's own world update, EIP-2200/2929/3529 gas and refunds at
//! their edges, and witness mutations rejected. The corpus-wide differential check against
//! revm is `refute conformance` (see `conformance::steps`).

use super::*;
use crate::{AccountLeaf, Error};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_trie::KECCAK_EMPTY;
use proptest::prelude::*;
use std::sync::Arc;

const ME: Address = address!("0x00000000000000000000000000000000c0dec0de");
const OTHER: Address = address!("0x000000000000000000000000000000000000beef");
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0b0");

/// A world where [`ME`] holds slots 1 = 5 and 2 = 7 and [`OTHER`] has code.
fn world() -> World {
    let code_hash = alloy_primitives::keccak256([0x60, 0x00]);
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
        let snapshot = FrameSnapshot {
            kind: FrameKind::Transaction,
            is_static: false,
            address: ME,
            caller: OTHER,
            value: U256::ZERO,
            code: Arc::new(CodeTree::new(&[opcode]).expect("code")),
            pc: 0,
            gas,
            stack: Stack::new(stack),
            memory: WordTree::empty(),
            calldata: Arc::new(WordTree::empty()),
            returndata: Arc::new(WordTree::empty()),
            return_window: (0, 0),
            checkpoint: B256::ZERO,
        };
        let frame = snapshot.frame().expect("frame");
        let roots = self.world.roots;
        let state = MachineState {
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
        };
        let mut witness = snapshot.witness(state).expect("witness");
        witness.block = Some(self.block);
        witness.tx = Some(self.tx);
        witness.account_code = Some(Bytes::from_static(&[0x60, 0x00]));
        witness.tries = self.world.store().recording();
        let _ = execute(state.commitment(), &witness);
        witness.tries = witness.tries.recorded();
        (state.commitment(), witness)
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
