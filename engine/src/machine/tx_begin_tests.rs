//! The transaction's begin (spec §8.1) on a small world: the begin, access-list and entry
//! steps executed from the prover's witnesses land on the prover's states; the figures that
//! matter (the charge, the nonce, the top frame's gas, the warm sets, a transfer's settlement)
//! are checked against numbers written out here; every way a transaction is invalid leaves the
//! state as it was; forged witnesses are rejected. The corpus-wide check against revm is
//! `refute conformance` (every state test's transaction is signed and begun).

use super::*;
use crate::{AccountLeaf, Error};
use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256};
use alloy_trie::KECCAK_EMPTY;
use std::collections::HashMap;

const CONTRACT: Address = address!("0x000000000000000000000000000000000000c0de");
const EOA: Address = address!("0x000000000000000000000000000000000000beef");
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0b0");
/// `PUSH1 1 STOP`.
const CODE: &[u8] = &[0x60, 0x01, 0x00];
const BASE_FEE: u64 = 7;
const BALANCE: u64 = 10_000_000_000;

fn key() -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&[0x42; 32]).expect("key")
}

fn sender() -> Address {
    Address::from_public_key(key().verifying_key())
}

fn block() -> BlockContext {
    BlockContext {
        number: 1,
        timestamp: 1,
        coinbase: COINBASE,
        gas_limit: 30_000_000,
        base_fee: U256::from(BASE_FEE),
        prevrandao: B256::ZERO,
        chain_id: 1,
        blob_base_fee: U256::from(1),
        block_hashes: B256::ZERO,
    }
}

fn codes() -> HashMap<B256, Bytes> {
    [(keccak256(CODE), Bytes::from_static(CODE))].into_iter().collect()
}

/// The sender (nonce 3, `BALANCE` wei, code hash `sender_code`), the contract and an EOA.
fn world_with(sender_code: B256) -> World {
    let leaf = |nonce: u64, balance: u64, code_hash| AccountLeaf {
        nonce,
        balance: U256::from(balance),
        code_hash,
        storage: Vec::<(U256, U256)>::new(),
    };
    World::new(vec![
        (sender(), leaf(3, BALANCE, sender_code)),
        (CONTRACT, leaf(1, 0, keccak256(CODE))),
        (EOA, leaf(0, 1, KECCAK_EMPTY)),
    ])
    .expect("world")
}

fn world() -> World {
    world_with(KECCAK_EMPTY)
}

/// A 1559 call from the sender (nonce 3) with max fee 10 and priority 2: price 9.
fn tx(to: TxKind, value: u64, gas_limit: u64, input: &[u8]) -> TxEip1559 {
    TxEip1559 {
        chain_id: 1,
        nonce: 3,
        gas_limit,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 2,
        to,
        value: U256::from(value),
        access_list: AccessList::default(),
        input: Bytes::copy_from_slice(input),
    }
}

fn sign(tx: TxEip1559) -> Bytes {
    crate::signed_envelope(tx, &key(), &"test").expect("signs")
}

/// Runs the begin chain until a frame is entered or the state is final, checking every step:
/// the executor's post-state from the prover's witness is the prover's.
fn begin<'c>(
    world: World,
    codes: &'c HashMap<B256, Bytes>,
    envelope: Bytes,
) -> (BoundaryRun<'c>, Vec<StepWitness>) {
    let mut run = BoundaryRun::begin(world, codes, block(), envelope, 0);
    let mut witnesses = Vec::new();
    while run.ended && !run.header().expect("header").status.is_final() {
        let pre = run.commitment().expect("pre");
        let witness = run.next_step().expect("step").expect("a begin step");
        let post = execute(pre, &witness).expect("executes");
        assert_eq!(post, run.commitment().expect("post"), "step {}", witnesses.len());
        witnesses.push(witness);
    }
    (run, witnesses)
}

fn account(run: &BoundaryRun<'_>, address: Address) -> alloy_trie::TrieAccount {
    run.world.account(address).expect("reads").expect("exists")
}

#[test]
fn a_call_is_charged_warms_its_access_list_and_enters_its_top_frame() {
    let codes = codes();
    let mut call = tx(TxKind::Call(CONTRACT), 5, 100_000, &[0, 1, 2]);
    let slot = B256::with_last_byte(9);
    call.access_list = AccessList(vec![
        AccessListItem { address: EOA, storage_keys: vec![slot, B256::with_last_byte(10)] },
        AccessListItem { address: COINBASE, storage_keys: vec![slot] },
    ]);
    let start = world().roots.state_root;
    let (run, witnesses) = begin(world(), &codes, sign(call));
    // Begin, five access-list items (two addresses, three keys), entry.
    assert_eq!(witnesses.len(), 7);
    assert!(!run.ended, "the top frame was entered");
    // Intrinsic: 21,000 + 4 (a zero byte) + 2·16 + 2·2,400 + 3·1,900.
    let intrinsic = 21_000 + 4 + 32 + 4_800 + 5_700;
    let frame = run.frame.snapshot.frame().expect("frame");
    assert_eq!(frame.kind, FrameKind::Transaction);
    assert_eq!((frame.address, frame.caller, frame.value), (CONTRACT, sender(), U256::from(5)));
    assert_eq!(frame.gas, 100_000 - intrinsic);
    assert_eq!(frame.calldata.len, 3);
    // Charged `gas_limit × min(10, 7 + 2)` and the value; the nonce bumped.
    let payer = account(&run, sender());
    assert_eq!(payer.balance, U256::from(BALANCE - 100_000 * 9 - 5));
    assert_eq!(payer.nonce, 4);
    assert_eq!(account(&run, CONTRACT).balance, U256::from(5));
    let tx = run.tx.expect("context");
    assert_eq!((tx.origin, tx.gas_price, tx.start_state_root), (sender(), U256::from(9), start));
    // Warm: the sender, the callee and EOA; the coinbase is warm by rule (not inserted), its
    // key is.
    let tries = run.world.tries();
    for address in [sender(), CONTRACT, EOA] {
        assert!(tries.contains(run.world.roots.warm_addresses, address_key(address)).unwrap());
    }
    assert!(!tries.contains(run.world.roots.warm_addresses, address_key(COINBASE)).unwrap());
    for (address, key) in [(EOA, slot), (COINBASE, slot)] {
        let key = pair_key(address, U256::from_be_bytes(key.0));
        assert!(tries.contains(run.world.roots.warm_slots, key).unwrap());
    }
    // The top frame's checkpoint: the state after the charge and the warm-ups, before the
    // value moved.
    assert_eq!(run.frame.checkpoint.hash(), frame.checkpoint);
    assert_ne!(run.frame.checkpoint.state_root, run.world.roots.state_root);
}

#[test]
fn a_transfer_to_an_account_without_code_ends_at_its_entry() {
    let codes = codes();
    let (run, witnesses) = begin(world(), &codes, sign(tx(TxKind::Call(EOA), 1_000, 50_000, &[])));
    assert_eq!(witnesses.len(), 2, "begin and entry");
    let header = run.header().expect("header");
    assert_eq!(header.status, Status::Succeeded);
    assert_eq!(run.pending, Some(Pending::TxEnd(TxEnd { success: true, gas_used: 21_000 })));
    assert_eq!(account(&run, sender()).balance, U256::from(BALANCE - 21_000 * 9 - 1_000));
    assert_eq!(account(&run, EOA).balance, U256::from(1_001));
    // The priority fee (9 − 7 per gas) goes to the coinbase; the base fee is burnt.
    assert_eq!(account(&run, COINBASE).balance, U256::from(21_000 * 2));
}

#[test]
fn a_creation_enters_its_init_frame() {
    let codes = codes();
    let (run, witnesses) =
        begin(world(), &codes, sign(tx(TxKind::Create, 0, 100_000, &[0x60, 0x00])));
    assert_eq!(witnesses.len(), 2, "begin and entry");
    let created = sender().create(3);
    let frame = run.frame.snapshot.frame().expect("frame");
    assert_eq!((frame.kind, frame.address, frame.code_size), (FrameKind::Create, created, 2));
    // 21,000 + 32,000 + 2 (one init-code word) + 16 + 4.
    assert_eq!(frame.gas, 100_000 - 53_022);
    assert_eq!(account(&run, sender()).nonce, 4, "bumped by the entry");
    assert_eq!(account(&run, created).nonce, 1);
    assert!(run.world.tries().contains(run.world.roots.created, address_key(created)).unwrap());
}

#[test]
fn invalid_transactions_end_at_the_begin_step_with_nothing_changed() {
    let call = || tx(TxKind::Call(CONTRACT), 0, 50_000, &[]);
    let mut cases: Vec<(&str, Bytes, World)> = vec![
        ("wrong chain id", sign(TxEip1559 { chain_id: 2, ..call() }), world()),
        ("nonce too high", sign(TxEip1559 { nonce: 4, ..call() }), world()),
        ("nonce too low", sign(TxEip1559 { nonce: 2, ..call() }), world()),
        ("gas below intrinsic", sign(TxEip1559 { gas_limit: 20_999, ..call() }), world()),
        ("gas above the block's", sign(TxEip1559 { gas_limit: 30_000_001, ..call() }), world()),
        ("max fee below base fee", sign(TxEip1559 { max_fee_per_gas: 6, ..call() }), world()),
        (
            "priority above max fee",
            sign(TxEip1559 { max_priority_fee_per_gas: 11, ..call() }),
            world(),
        ),
        (
            "balance short of the maximum spend",
            sign(TxEip1559 { value: U256::from(BALANCE - 50_000 * 10 + 1), ..call() }),
            world(),
        ),
        ("sender with code (EIP-3607)", sign(call()), world_with(keccak256(CODE))),
        (
            "init code over 49,152 bytes",
            sign(tx(TxKind::Create, 0, 10_000_000, &[1; 49_153])),
            world(),
        ),
    ];
    // A trailing byte, a high `s` (EIP-2), an unknown type, garbage.
    let good = sign(call());
    let mut trailing = good.to_vec();
    trailing.push(0);
    cases.push(("trailing byte", trailing.into(), world()));
    cases.push(("unknown type", Bytes::from_static(&[0x05, 0xc0]), world()));
    cases.push(("not RLP", Bytes::from_static(&[0x02, 0xff, 0xff]), world()));
    let high_s = {
        let legacy = TxLegacy {
            chain_id: Some(1),
            nonce: 3,
            gas_price: 10,
            gas_limit: 50_000,
            to: TxKind::Call(CONTRACT),
            value: U256::ZERO,
            input: Bytes::new(),
        };
        let low = crate::signed_envelope(legacy.clone(), &key(), &"test").expect("signs");
        use alloy_eips::Decodable2718 as _;
        let envelope = alloy_consensus::TxEnvelope::decode_2718_exact(&low).expect("decodes");
        let signature = *envelope.signature();
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .expect("n");
        let flipped =
            alloy_primitives::Signature::new(signature.r(), n - signature.s(), !signature.v());
        use alloy_consensus::SignableTransaction as _;
        use alloy_eips::Encodable2718 as _;
        let envelope = alloy_consensus::TxEnvelope::from(legacy.into_signed(flipped));
        Bytes::from(envelope.encoded_2718())
    };
    cases.push(("high s", high_s, world()));
    for (what, envelope, world) in cases {
        let codes = codes();
        let start = world.roots.state_root;
        let (run, witnesses) = begin(world, &codes, envelope);
        let header = run.header().expect("header");
        assert_eq!(witnesses.len(), 1, "{what}: one begin step");
        assert_eq!(header.status, Status::Invalid, "{what}");
        assert_eq!(header.state_root, start, "{what}: the state is unchanged");
        assert_eq!(header.pending_kind, PendingKind::None, "{what}");
    }
}

#[test]
fn an_envelope_over_the_bound_is_invalid_without_being_carried() {
    let codes = codes();
    let big = sign(tx(TxKind::Call(CONTRACT), 0, 10_000_000, &[1; MAX_ENVELOPE_SIZE as usize]));
    let (run, mut witnesses) = begin(world(), &codes, big);
    assert_eq!(run.header().expect("header").status, Status::Invalid);
    let witness = &mut witnesses[0];
    let pre = witness.state.commitment();
    let expected = execute(pre, witness).expect("executes");
    witness.data = None;
    assert_eq!(execute(pre, witness).expect("executes without the envelope"), expected);
}

#[test]
fn forged_begin_witnesses_are_rejected() {
    let codes = codes();
    let mut call = tx(TxKind::Call(CONTRACT), 5, 100_000, &[0, 1, 2]);
    call.access_list = AccessList(vec![AccessListItem {
        address: EOA,
        storage_keys: vec![B256::with_last_byte(9)],
    }]);
    let (_, witnesses) = begin(world(), &codes, sign(call));
    let (begin_step, access, entry) = (&witnesses[0], &witnesses[1], &witnesses[3]);
    let bad = |witness: &StepWitness, what: &str| {
        let result = execute(witness.state.commitment(), witness);
        assert!(matches!(result, Err(Error::BadWitness(_))), "{what}: {result:?}");
    };
    let mut w = begin_step.clone();
    let mut envelope = w.data.clone().expect("envelope").to_vec();
    envelope[20] ^= 1;
    w.data = Some(envelope.into());
    bad(&w, "a flipped envelope byte");
    let mut w = begin_step.clone();
    w.data = None;
    bad(&w, "no envelope");
    let mut w = access.clone();
    let (item, rest) = w.access.expect("item");
    w.access = Some((AccessItem { slot: Some(U256::from(1)), ..item }, rest));
    bad(&w, "another access item");
    let mut w = access.clone();
    w.access = Some((item, B256::repeat_byte(1)));
    bad(&w, "another rest of the chain");
    let mut w = access.clone();
    w.access = None;
    bad(&w, "no access item");
    let mut w = entry.clone();
    w.account_code = Some(Bytes::from_static(&[0x00]));
    bad(&w, "another callee code");
    let mut w = entry.clone();
    w.tx = None;
    bad(&w, "no transaction context");
}

#[test]
fn the_begin_state_commits_to_the_envelope() {
    let envelope = sign(tx(TxKind::Call(CONTRACT), 0, 50_000, &[]));
    let codes = codes();
    let run = BoundaryRun::begin(world(), &codes, block(), envelope.clone(), 0);
    let header = run.header().expect("header");
    let begin = TxBegin::new(&envelope, 0);
    assert_eq!(header.pending_hash, Pending::TxBegin(begin).hash());
    assert_eq!(begin.envelope_hash, keccak256(&envelope));
    assert_eq!(Pending::TxBegin(begin).encode().len(), TxBegin::ENCODED_LEN);
    assert_eq!(header.frame_hash, B256::ZERO);
    assert_eq!(header.warm_addresses, alloy_trie::EMPTY_ROOT_HASH);
}
