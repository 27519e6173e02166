//! The block and transaction contexts of the transaction revm is running (spec §4.4), read
//! once when its top frame starts.

use crate::machine::{BlockContext, Contexts, TxContext};
use alloy_primitives::{Address, B256, U256};
use revm::{
    Database,
    context::{Block, Cfg, ContextTr, Transaction, TransactionType},
    context_interface::transaction::AccessListItemTr,
};

/// The contexts of the transaction in `context`, with `start_state_root` given (zero when
/// the world is not tracked).
///
/// The block-hash history holds the 256 previous blocks, leaf `k` being block
/// `number - 1 - k`; a block the database cannot name reads as zero, as BLOCKHASH would fail
/// on it.
pub fn contexts<CTX: ContextTr>(context: &mut CTX, start_state_root: B256) -> Contexts {
    let block = context.block();
    let number = u64::try_from(block.number()).unwrap_or(u64::MAX);
    let base_fee = block.basefee();
    let mut block_context = BlockContext {
        number,
        timestamp: u64::try_from(block.timestamp()).unwrap_or(u64::MAX),
        coinbase: block.beneficiary(),
        gas_limit: block.gas_limit(),
        base_fee: U256::from(base_fee),
        prevrandao: block.prevrandao().unwrap_or_else(|| block.difficulty().into()),
        chain_id: context.cfg().chain_id(),
        blob_base_fee: U256::from(block.blob_gasprice().unwrap_or_default()),
        block_hashes: B256::ZERO,
    };
    let tx = context.tx();
    let blobs: Vec<B256> = if tx.tx_type() == TransactionType::Eip4844 as u8 {
        tx.blob_versioned_hashes().to_vec()
    } else {
        Vec::new()
    };
    let mut tx_context = TxContext {
        origin: tx.caller(),
        gas_price: U256::from(tx.effective_gas_price(u128::from(base_fee))),
        gas_limit: tx.gas_limit(),
        blob_count: u8::try_from(blobs.len()).unwrap_or(u8::MAX),
        blob_hashes: B256::ZERO,
        start_state_root,
    };
    let hashes = (1..=number.min(256))
        .map(|back| context.db_mut().block_hash(number - back).unwrap_or_default())
        .collect();
    let history = BlockContext::history_tree(hashes)
        .unwrap_or_else(|_| BlockContext::history_tree(Vec::new()).expect("an empty tree fits"));
    let blobs = TxContext::blob_tree(blobs)
        .unwrap_or_else(|_| TxContext::blob_tree(Vec::new()).expect("an empty tree fits"));
    block_context.block_hashes = history.root();
    tx_context.blob_hashes = blobs.root();
    Contexts { block: block_context, history, tx: tx_context, blobs }
}

/// The transaction's EIP-2930 access list: addresses with their storage keys.
pub fn access_list<CTX: ContextTr>(context: &CTX) -> Vec<(Address, Vec<U256>)> {
    context
        .tx()
        .access_list()
        .map(|list| {
            list.map(|item| {
                let slots = item.storage_slots().map(|s| U256::from_be_bytes(s.0));
                (*item.address(), slots.collect())
            })
            .collect()
        })
        .unwrap_or_default()
}
