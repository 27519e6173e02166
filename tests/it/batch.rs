//! Batches: every Cancun chain of `BlockchainTests/ValidBlocks`, turned into a batch on its
//! genesis, replays to every header the test gives (hash, state, transactions and receipts
//! roots, gas used); the canonical bytes and the JSON file round-trip; bad input is a typed
//! error and an invalid transaction is skipped.

use alloy_primitives::{B256, Bytes, U256};
use rayon::prelude::*;
use refute_engine::{
    BlockchainTest, Error,
    batch::{self, Batch, BatchFile, TxStatus},
    corpus::{self, BlockchainTestFile},
};
use refute_tests::corpus_or_skip;
use revm::primitives::hardfork::SpecId;

/// Every Cancun chain of `ValidBlocks` as a batch file.
pub(crate) fn valid_chains() -> Option<Vec<(String, BatchFile, Vec<corpus::TestBlock>)>> {
    let root = corpus_or_skip()?;
    let files =
        corpus::json_files(&[root.join("BlockchainTests/ValidBlocks")]).expect("the corpus lists");
    let chains = files
        .par_iter()
        .flat_map_iter(|path| {
            let file = BlockchainTestFile::load(path).expect("a blockchain-test file");
            file.tests(SpecId::CANCUN)
                .map(|test: BlockchainTest<'_>| {
                    let batch = BatchFile::from_blockchain_test(&test).expect("a Cancun chain");
                    (test.to_string(), batch, test.blocks().expect("decodable blocks"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Some(chains)
}

#[test]
fn every_valid_blocks_chain_replays_as_a_batch_to_its_headers() {
    let Some(chains) = valid_chains() else { return };
    let results: Vec<(usize, usize, Vec<String>)> = chains
        .par_iter()
        .map(|(name, file, blocks)| {
            let mut failures = Vec::new();
            // The canonical bytes and the JSON file carry the batch exactly.
            let decoded = Batch::decode(&file.batch.encode()).unwrap();
            assert_eq!(decoded, file.batch, "{name}: canonical bytes do not round-trip");
            let json = serde_json::to_string(file).unwrap();
            let reread: BatchFile = serde_json::from_str(&json).unwrap();
            assert_eq!(&reread, file, "{name}: the JSON file does not round-trip");

            let replay = match batch::replay(file, None) {
                Ok(replay) => replay,
                Err(e) => return (0, 0, vec![format!("{name}: {e}")]),
            };
            for (got, expected) in replay.blocks.iter().zip(blocks) {
                if got.hash != expected.hash {
                    let (g, e) = (&got.header, &expected.header);
                    let mut fields = Vec::new();
                    macro_rules! cmp {
                        ($($f:ident),*) => {$(if g.$f != e.$f { fields.push(stringify!($f)); })*};
                    }
                    cmp!(parent_hash, state_root, transactions_root, receipts_root, logs_bloom);
                    cmp!(gas_used, withdrawals_root, blob_gas_used, extra_data, mix_hash);
                    failures.push(format!(
                        "{name}: block {} hash {} expected {} (differs in {fields:?})",
                        g.number, got.hash, expected.hash
                    ));
                }
            }
            if replay.blocks.len() != blocks.len() {
                failures.push(format!("{name}: {} blocks replayed", replay.blocks.len()));
            }
            let skipped =
                replay.transactions.iter().filter(|t| matches!(t.status, TxStatus::Invalid(_)));
            failures.extend(skipped.map(|t| format!("{name}: transaction {} skipped", t.position)));
            (replay.blocks.len(), replay.transactions.len(), failures)
        })
        .collect();
    let blocks: usize = results.iter().map(|r| r.0).sum();
    let transactions: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    eprintln!(
        "ValidBlocks@Cancun as batches: {} chains, {blocks} blocks, {transactions} transactions, {} failures",
        chains.len(),
        failures.len()
    );
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    assert!(failures.is_empty(), "{} failures (listed above)", failures.len());
    // About 400 chains and 1,100 transactions (the corpus's SOURCE.md).
    assert!(chains.len() >= 380, "only {} chains", chains.len());
    assert!(transactions >= 1_000, "only {transactions} transactions");
}

/// A small chain of the corpus with at least one transaction, as a batch file.
fn small_chain() -> Option<BatchFile> {
    let root = corpus_or_skip()?;
    let path = root.join("BlockchainTests/ValidBlocks/bcExample/basefeeExample.json");
    let file = BlockchainTestFile::load(&path).expect("a blockchain-test file");
    let test = file.tests(SpecId::CANCUN).next().expect("basefeeExample has a Cancun test");
    Some(BatchFile::from_blockchain_test(&test).expect("a Cancun chain"))
}

#[test]
fn an_invalid_transaction_is_skipped_with_the_state_unchanged() {
    let Some(mut file) = small_chain() else { return };
    let honest = batch::replay(&file, None).unwrap();
    assert!(!honest.transactions.is_empty());
    // A transaction whose signature no longer recovers to a funded sender, another whose
    // envelope is cut short: both skipped, with the state as before them.
    let tx = &mut file.batch.blocks[0].transactions;
    let mut forged = tx[0].to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    tx.insert(0, Bytes::from(forged));
    tx.insert(0, Bytes::from(tx[1][..10].to_vec()));
    let replay = batch::replay(&file, None).unwrap();
    assert!(
        matches!(&replay.transactions[0].status, TxStatus::Invalid(r) if r.contains("undecodable"))
    );
    assert!(matches!(replay.transactions[1].status, TxStatus::Invalid(_)));
    assert_eq!(replay.transactions[0].gas_used, 0);
    assert_eq!(replay.transactions[1].state_root, replay.transactions[0].state_root);
    assert_eq!(replay.transactions[2].state_root, honest.transactions[0].state_root);
    assert_eq!(replay.transactions[2].position, 2);
    // The rest of the batch ends where it did without them.
    assert_eq!(replay.final_state_root(), honest.final_state_root());
    assert_eq!(replay.blocks[0].executed, honest.blocks[0].executed);
    assert_eq!(
        replay.blocks[0].header.transactions_root,
        honest.blocks[0].header.transactions_root
    );
}

#[test]
fn bad_batches_are_typed_errors() {
    let Some(file) = small_chain() else { return };
    let bytes = file.batch.encode();
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(Batch::decode(&bytes[..cut]), Err(Error::MalformedBatch(_))), "cut {cut}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(Batch::decode(&trailing), Err(Error::MalformedBatch(_))));
    let mut v2 = file.batch.clone();
    v2.version = 2;
    assert!(matches!(Batch::decode(&v2.encode()), Err(Error::MalformedBatch(_))));

    let mut wrong_anchor = file.clone();
    wrong_anchor.anchor.state_root = B256::repeat_byte(1);
    assert!(matches!(batch::replay(&wrong_anchor, None), Err(Error::MalformedBatch(_))));
    let mut gap = file.clone();
    gap.batch.blocks[0].number += 1;
    assert!(matches!(batch::replay(&gap, None), Err(Error::MalformedBatch(_))));
    let mut richer = file;
    richer.pre.values_mut().next().unwrap().balance += U256::from(1);
    assert!(matches!(batch::replay(&richer, None), Err(Error::MalformedBatch(_))));
}

/// The committed example batch (`fixtures/batches/transfers.json`): regenerated here from
/// fixed keys; `REFUTE_BLESS=1` rewrites it (review the diff).
fn example_batch() -> BatchFile {
    use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy};
    use alloy_eips::eip2930::{AccessList, AccessListItem};
    use alloy_primitives::{Address, TxKind, address, keccak256};
    use refute_engine::{
        batch::{Anchor, L2Block},
        corpus::PreAccount,
        signed_envelope,
    };
    let key = |n: u8| k256::ecdsa::SigningKey::from_slice(&[n; 32]).expect("a valid key");
    let sender = |n: u8| {
        let point = key(n).verifying_key().to_encoded_point(false);
        Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
    };
    let (alice, bob) = (sender(1), sender(2));
    let carol = address!("0x00000000000000000000000000000000000ca401");
    // A counter: each call adds its calldata word to slot 0; a call with no calldata reverts.
    let counter = address!("0x00000000000000000000000000000000c0c0a000");
    let counter_code = Bytes::from_static(&[
        0x36, 0x15, 0x60, 0x11, 0x57, // CALLDATASIZE ISZERO PUSH1 0x11 JUMPI
        0x60, 0x00, 0x35, 0x60, 0x00, 0x54, 0x01, 0x60, 0x00, 0x55, 0x00, // add, store, stop
        0x00, 0x5b, 0x60, 0x00, 0x80, 0xfd, // JUMPDEST PUSH1 0 DUP1 REVERT
    ]);
    let ether = U256::from(10).pow(U256::from(18));
    let mut pre = std::collections::BTreeMap::new();
    for who in [alice, bob] {
        pre.insert(who, PreAccount { balance: ether * U256::from(10), ..PreAccount::default() });
    }
    pre.insert(counter, PreAccount { code: counter_code, ..PreAccount::default() });
    let chain_id = 901;
    let sign = |tx: TxEip1559, n: u8| signed_envelope(tx, &key(n), &"fixture").expect("signs");
    let call = |nonce, to: Address, value: U256, input: &[u8]| TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value,
        input: Bytes::copy_from_slice(input),
        ..TxEip1559::default()
    };
    let word = |n: u8| {
        let mut w = [0u8; 32];
        w[31] = n;
        w
    };
    let block1 = vec![
        signed_envelope(
            TxLegacy {
                chain_id: Some(chain_id),
                nonce: 0,
                gas_price: 2_000_000_000,
                gas_limit: 21_000,
                to: TxKind::Call(carol),
                value: ether,
                input: Bytes::new(),
            },
            &key(1),
            &"fixture",
        )
        .expect("signs"),
        signed_envelope(
            TxEip2930 {
                chain_id,
                nonce: 0,
                gas_price: 2_000_000_000,
                gas_limit: 60_000,
                to: TxKind::Call(counter),
                value: U256::ZERO,
                access_list: AccessList(vec![AccessListItem {
                    address: counter,
                    storage_keys: vec![B256::ZERO],
                }]),
                input: Bytes::copy_from_slice(&word(5)),
            },
            &key(2),
            &"fixture",
        )
        .expect("signs"),
        sign(call(1, counter, U256::ZERO, &word(7)), 1),
    ];
    let block2 = vec![
        // Reverts (no calldata): a failure with a receipt, fees paid.
        sign(call(2, counter, U256::ZERO, &[]), 1),
        // Nonce 5 where 1 is due: invalid, skipped.
        sign(call(5, carol, U256::ONE, &[]), 2),
        sign(call(1, carol, U256::from(3), &[]), 2),
    ];
    let block = |number: u64, transactions| L2Block {
        number,
        timestamp: 1_700_000_000 + 2 * number,
        coinbase: address!("0x000000000000000000000000000000000000c01b"),
        gas_limit: 30_000_000,
        base_fee: 1_000_000_000,
        prevrandao: keccak256(number.to_be_bytes()),
        extra_data: Bytes::from_static(b"refute"),
        excess_blob_gas: 0,
        parent_beacon_block_root: B256::ZERO,
        transactions,
        withdrawals: Vec::new(),
    };
    let state_root = batch::pre_state_root(&pre);
    BatchFile {
        anchor: Anchor {
            number: 0,
            hash: keccak256(b"refute example anchor"),
            state_root,
            block_hashes: Default::default(),
        },
        pre,
        batch: Batch { version: 1, chain_id, blocks: vec![block(1, block1), block(2, block2)] },
    }
}

#[test]
fn the_example_batch_fixture_is_current_and_replays_as_described() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/batches/transfers.json");
    let file = example_batch();
    let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
    if std::env::var_os("REFUTE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == text, "{} is stale: rerun with REFUTE_BLESS=1", path.display());

    let replay = batch::replay(&file, None).unwrap();
    let statuses: Vec<&TxStatus> = replay.transactions.iter().map(|t| &t.status).collect();
    assert_eq!(statuses.len(), 6);
    assert!(matches!(
        statuses[..4],
        [TxStatus::Success, TxStatus::Success, TxStatus::Success, TxStatus::Failure]
    ));
    assert!(matches!(statuses[4], TxStatus::Invalid(r) if r.contains("nonce")), "{statuses:?}");
    assert_eq!(statuses[5], &TxStatus::Success);
    assert_eq!(replay.transactions[4].state_root, replay.transactions[3].state_root);
    assert_eq!(replay.blocks.iter().map(|b| b.executed).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(replay.transactions[0].gas_used, 21_000);
    assert_eq!(replay.blocks[1].header.parent_hash, replay.blocks[0].hash);
}
