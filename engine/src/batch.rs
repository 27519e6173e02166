//! L2 batches (`docs/spec/batch.md`): the blocks a proposal executes, their canonical bytes
//! (what `Proposals.propose` carries as calldata), the batch file `refute replay` reads, and the
//! replay with revm that yields the state after every transaction and the header of every
//! block — with no per-step work.
//!
//! An L2 block is an Ethereum block (Cancun): its hash is `keccak256(rlp(header))` over a
//! header whose roots, bloom and gas the replay computes, so BLOCKHASH on L2 means what it
//! means on L1 and a chain of blockchain tests replays as a batch with every header hash
//! reproduced. A transaction that is invalid where it stands is skipped (spec step-machine
//! §8.1): no receipt, no gas, the state unchanged, and it is not in the block's transactions
//! root.

use crate::{
    Eip7610, Error, Result,
    conformance::cache_state_root,
    corpus::{PreAccount, cache_state},
    machine::decode_envelope,
    trace::{MachineTrace, TraceRecorder, TxBeginInput, context::contexts},
};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, Transaction as _,
    proofs::{calculate_receipt_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip2718::Encodable2718, eip4788::BEACON_ROOTS_ADDRESS, eip4844::DATA_GAS_PER_BLOB,
    eip4895::Withdrawal, eip7840::BlobParams,
};
use alloy_primitives::{Address, B256, Bloom, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use revm::{
    Context, ExecuteCommitEvm, InspectCommitEvm, MainBuilder, MainContext, SystemCallCommitEvm,
    context::{BlockEnv, CfgEnv, ContextTr, JournalTr, either::Either},
    context_interface::block::BlobExcessGasAndPrice,
    database::State,
    handler::EvmTr,
    inspector::NoOpInspector,
    inspector::inspectors::TracerEip3155,
    primitives::hardfork::SpecId,
};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, io::Write, path::Path};

/// The batch format's version, the first item of its encoding.
pub const BATCH_VERSION: u8 = 1;

/// wei per gwei: withdrawal amounts are in gwei (EIP-4895).
const WEI_PER_GWEI: u64 = 1_000_000_000;

/// One L2 block of a batch: what the sequencer chose; everything else in its header (parent
/// hash, state, transactions, receipts and withdrawals roots, bloom, gas used, blob gas used) the
/// replay computes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, RlpEncodable, RlpDecodable)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct L2Block {
    /// The block number: the parent's plus one.
    pub number: u64,
    /// Seconds since the Unix epoch; not before the parent's.
    pub timestamp: u64,
    /// The fee recipient (the header's `beneficiary`).
    pub coinbase: Address,
    /// The block's gas limit.
    pub gas_limit: u64,
    /// The EIP-1559 base fee, in wei per gas.
    pub base_fee: u64,
    /// EIP-4399 `prevrandao` (the header's `mixHash`).
    pub prevrandao: B256,
    /// The header's `extraData` (at most 32 bytes).
    pub extra_data: Bytes,
    /// EIP-4844 excess blob gas.
    pub excess_blob_gas: u64,
    /// EIP-4788: the root the beacon-roots system call stores before the transactions.
    pub parent_beacon_block_root: B256,
    /// Signed EIP-2718 envelopes, in order.
    pub transactions: Vec<Bytes>,
    /// EIP-4895 credits applied after the transactions (amounts in gwei); a rollup's deposits
    /// from L1 take this form.
    pub withdrawals: Vec<Withdrawal>,
}

/// An L2 batch: the canonical bytes are `rlp([version, chain_id, [block, …]])`, each block the
/// RLP list of [`L2Block`]'s fields in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, RlpEncodable, RlpDecodable)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Batch {
    /// [`BATCH_VERSION`].
    pub version: u8,
    /// The L2 chain id (EIP-155); transactions for another chain are invalid.
    pub chain_id: u64,
    /// The blocks, consecutive.
    pub blocks: Vec<L2Block>,
}

impl Batch {
    /// The canonical bytes (what a proposal posts to L1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        Encodable::encode(self, &mut out);
        out
    }

    /// Decodes canonical bytes.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedBatch`] when the bytes are not exactly one batch of this version.
    pub fn decode(mut bytes: &[u8]) -> Result<Self> {
        let batch = <Self as Decodable>::decode(&mut bytes)
            .map_err(|e| Error::MalformedBatch(format!("not an RLP batch: {e}")))?;
        if !bytes.is_empty() {
            return Err(Error::MalformedBatch(format!("{} trailing bytes", bytes.len())));
        }
        if batch.version != BATCH_VERSION {
            return Err(Error::MalformedBatch(format!(
                "version {} (this build reads version {BATCH_VERSION})",
                batch.version
            )));
        }
        Ok(batch)
    }

    /// `keccak256` of the canonical bytes: the proposal's `batchHash`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The number of transactions in all blocks.
    pub fn transaction_count(&self) -> usize {
        self.blocks.iter().map(|b| b.transactions.len()).sum()
    }
}

/// The agreed L2 state a batch builds on: its last block and the state after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Anchor {
    /// The anchor block's number; the batch's first block is the next.
    pub number: u64,
    /// The anchor block's hash: the first block's parent hash.
    pub hash: B256,
    /// The state root after the anchor block: `pre` must hash to it.
    pub state_root: B256,
    /// Hashes of earlier blocks BLOCKHASH may read (at most the 255 before the anchor).
    #[serde(default)]
    pub block_hashes: BTreeMap<u64, B256>,
}

/// The file `refute replay` reads (JSON): a batch with the state it builds on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchFile {
    /// The anchor: the agreed block and state before the batch.
    pub anchor: Anchor,
    /// The state after the anchor block, as a state test's `pre` (balance, nonce, code,
    /// storage by address).
    pub pre: BTreeMap<Address, PreAccount>,
    /// The batch.
    pub batch: Batch,
}

impl BatchFile {
    /// Reads a batch file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read, [`Error::Json`] when it is not a batch file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&text).map_err(|source| Error::Json {
            path: path.to_owned(),
            format: "batch",
            source,
        })
    }

    /// The batch file of a blockchain test's chain: its genesis as the anchor, each block's
    /// sequencer-chosen fields and transactions as an [`L2Block`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when the test's blocks do not decode, or are not Cancun blocks
    /// (no excess blob gas or beacon root).
    pub fn from_blockchain_test(test: &crate::BlockchainTest<'_>) -> Result<Self> {
        let blocks = test
            .blocks()?
            .into_iter()
            .map(|block| {
                let h = &block.header;
                let missing = |what| Error::invalid_case(test, format!("a block without {what}"));
                Ok(L2Block {
                    number: h.number,
                    timestamp: h.timestamp,
                    coinbase: h.beneficiary,
                    gas_limit: h.gas_limit,
                    base_fee: h.base_fee_per_gas.ok_or_else(|| missing("a base fee"))?,
                    prevrandao: h.mix_hash,
                    extra_data: h.extra_data.clone(),
                    excess_blob_gas: h.excess_blob_gas.ok_or_else(|| missing("excess blob gas"))?,
                    parent_beacon_block_root: h
                        .parent_beacon_block_root
                        .ok_or_else(|| missing("a beacon root"))?,
                    transactions: block
                        .transactions
                        .iter()
                        .map(|tx| tx.envelope.encoded_2718().into())
                        .collect(),
                    withdrawals: block.withdrawals,
                })
            })
            .collect::<Result<_>>()?;
        let pre = cache_state(test.pre_accounts()?.iter());
        let number = u64::try_from(test.genesis_number())
            .map_err(|_| Error::invalid_case(test, "genesis number exceeds 64 bits"))?;
        Ok(Self {
            anchor: Anchor {
                number,
                hash: test.genesis_hash(),
                state_root: cache_state_root(&pre),
                block_hashes: BTreeMap::new(),
            },
            pre: test.pre_accounts()?,
            batch: Batch { version: BATCH_VERSION, chain_id: 1, blocks },
        })
    }
}

/// The state root of a batch file's `pre` (what its anchor's `state_root` must be).
pub fn pre_state_root(pre: &BTreeMap<Address, PreAccount>) -> B256 {
    cache_state_root(&cache_state(pre.iter()))
}

/// What became of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status", content = "reason")]
pub enum TxStatus {
    /// Executed; receipt status 1.
    Success,
    /// Executed and reverted or halted; receipt status 0.
    Failure,
    /// Invalid where it stands (undecodable, bad signature or chain id, nonce, balance, gas,
    /// fees): skipped, with the reason.
    Invalid(String),
}

/// The transaction-level record of one transaction of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRecord {
    /// The transaction's place in the batch, from 0 (the transaction level's index).
    pub position: usize,
    /// The block it is in.
    pub block: u64,
    /// Its index in its block's list in the batch.
    pub index: usize,
    /// `keccak256` of its envelope.
    pub hash: B256,
    /// Executed or skipped.
    #[serde(flatten)]
    pub status: TxStatus,
    /// Gas used (after refunds); 0 when skipped.
    pub gas_used: u64,
    /// The state root after it.
    pub state_root: B256,
}

/// The computed header of one block of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRecord {
    /// `keccak256(rlp(header))`.
    pub hash: B256,
    /// The header.
    pub header: Header,
    /// Transactions executed (the skipped ones are not in the block).
    pub executed: usize,
}

/// The result of replaying a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// One record per transaction of the batch, in order.
    pub transactions: Vec<TxRecord>,
    /// One record per block.
    pub blocks: Vec<BlockRecord>,
}

impl Replay {
    /// The state root after the batch (the anchor's when the batch is empty).
    pub fn final_state_root(&self) -> Option<B256> {
        self.blocks.last().map(|b| b.header.state_root)
    }
}

/// Replays `file`'s batch with revm (Cancun), writing an EIP-3155 trace of every executed
/// transaction to `trace` when given.
///
/// # Errors
///
/// [`Error::MalformedBatch`] when the batch cannot be a chain on its anchor: `pre` does not hash
/// to the anchor's state root, a wrong version, a block number that is not the next, a timestamp
/// before the parent's, extra data over 32 bytes. Invalid transactions are not errors: they are
/// skipped and recorded as [`TxStatus::Invalid`].
pub fn replay(file: &BatchFile, trace: Option<Box<dyn Write>>) -> Result<Replay> {
    replay_with_progress(file, trace, &mut |_| {})
}

/// [`replay`], calling `progress` with each transaction's record as it is made (for a
/// progress bar on long batches).
///
/// # Errors
///
/// As [`replay`].
pub fn replay_with_progress(
    file: &BatchFile,
    trace: Option<Box<dyn Write>>,
    progress: &mut dyn FnMut(&TxRecord),
) -> Result<Replay> {
    Ok(run(file, trace, progress, None)?.0)
}

/// The machine trace (every step of the step machine, spec step-machine §1) of the
/// transaction at `position` (0-based, counted over the batch's transactions, skipped ones
/// included), with the replay up to and including it.
///
/// # Errors
///
/// As [`replay`]; [`Error::TraceIndexOutOfRange`] when the batch has no transaction at
/// `position`; as [`crate::trace::Trace::machine`].
pub fn record_transaction(file: &BatchFile, position: usize) -> Result<(Replay, MachineTrace)> {
    let (replay, trace) = run(file, None, &mut |_| {}, Some(position))?;
    let len = file.batch.transaction_count() as u64;
    let trace = trace.ok_or(Error::TraceIndexOutOfRange { index: position as u64, len })?;
    Ok((replay, trace?))
}

/// The replay; with `record`, it stops after the transaction at that position and returns its
/// machine trace.
fn run(
    file: &BatchFile,
    trace: Option<Box<dyn Write>>,
    progress: &mut dyn FnMut(&TxRecord),
    record: Option<usize>,
) -> Result<(Replay, Option<Result<MachineTrace>>)> {
    let batch = &file.batch;
    if batch.version != BATCH_VERSION {
        return Err(Error::MalformedBatch(format!("version {}", batch.version)));
    }
    let pre = cache_state(file.pre.iter());
    let pre_root = cache_state_root(&pre);
    if pre_root != file.anchor.state_root {
        return Err(Error::MalformedBatch(format!(
            "the pre-state hashes to {pre_root}, the anchor says {}",
            file.anchor.state_root
        )));
    }
    let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
    cfg.chain_id = batch.chain_id;
    cfg.set_max_blobs_per_tx(BlobParams::cancun().max_blobs_per_tx);
    let blob_fraction = cfg.blob_base_fee_update_fraction();

    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    state.block_hashes.insert(file.anchor.number, file.anchor.hash);
    for (number, hash) in &file.anchor.block_hashes {
        state.block_hashes.insert(*number, *hash);
    }
    let tracer = trace.map(|out| TracerEip3155::new(out).without_summary());
    let tracer = tracer.map_or(Either::Left(NoOpInspector), Either::Right);
    let mut inspector =
        ((Eip7610, tracer), Either::<NoOpInspector, TraceRecorder>::Left(NoOpInspector));
    let mut out = Replay::default();
    let (mut parent_hash, mut parent) = (file.anchor.hash, (file.anchor.number, 0u64));
    for (b, block) in batch.blocks.iter().enumerate() {
        if block.number != parent.0 + 1 || (b > 0 && block.timestamp < parent.1) {
            return Err(Error::MalformedBatch(format!(
                "block {b} has number {} and timestamp {} after block {} at {}",
                block.number, block.timestamp, parent.0, parent.1
            )));
        }
        if block.extra_data.len() > 32 {
            return Err(Error::MalformedBatch(format!(
                "block {} has extra data over 32 bytes",
                block.number
            )));
        }
        let mut evm = Context::mainnet()
            .with_cfg(cfg.clone())
            .with_block(block_env(block, blob_fraction))
            .with_db(&mut state)
            .build_mainnet_with_inspector(inspector);
        evm.system_call_commit(BEACON_ROOTS_ADDRESS, block.parent_beacon_block_root.0.into())
            .map_err(|e| Error::MalformedBatch(format!("EIP-4788 system call failed: {e}")))?;

        let (mut receipts, mut included) = (Vec::new(), Vec::new());
        let (mut gas_used, mut blob_gas_used) = (0u64, 0u64);
        for (index, envelope) in block.transactions.iter().enumerate() {
            let recording = record == Some(out.transactions.len());
            if recording {
                let pre = evm.ctx().db().cache.clone();
                evm.inspector.1 = Either::Right(TraceRecorder::new().with_pre_state(&pre)?);
            }
            let begin = recording.then(|| TxBeginInput {
                envelope: envelope.clone(),
                block: contexts(evm.ctx_mut(), B256::ZERO).block,
                block_gas_used: gas_used,
            });
            let record = |status, gas_used, state_root| TxRecord {
                position: out.transactions.len(),
                block: block.number,
                index,
                hash: keccak256(envelope),
                status,
                gas_used,
                state_root,
            };
            let executed = match decode_envelope(envelope) {
                Ok((envelope, _))
                    if envelope.gas_limit() > block.gas_limit.saturating_sub(gas_used) =>
                {
                    let root = cache_state_root(&evm.ctx().db().cache);
                    let reason = "gas limit above what the block has left".to_owned();
                    record(TxStatus::Invalid(reason), 0, root)
                }
                Ok((envelope, sender)) => {
                    let tx = crate::RecoveredTx { envelope, sender };
                    match evm.inspect_tx_commit(tx.tx_env()) {
                        Ok(result) => {
                            let tx_gas = result.tx_gas_used();
                            gas_used += tx_gas;
                            blob_gas_used +=
                                DATA_GAS_PER_BLOB * tx.envelope.blob_count().unwrap_or(0);
                            let success = result.is_success();
                            let receipt = Receipt {
                                status: success.into(),
                                cumulative_gas_used: gas_used,
                                logs: result.logs().to_vec(),
                            };
                            receipts.push(ReceiptEnvelope::from_typed(
                                tx.envelope.tx_type(),
                                receipt.with_bloom(),
                            ));
                            included.push(tx.envelope);
                            let root = cache_state_root(&evm.ctx().db().cache);
                            let status =
                                if success { TxStatus::Success } else { TxStatus::Failure };
                            record(status, tx_gas, root)
                        }
                        Err(e) => {
                            let root = cache_state_root(&evm.ctx().db().cache);
                            record(TxStatus::Invalid(e.to_string()), 0, root)
                        }
                    }
                }
                Err(reason) => {
                    let root = cache_state_root(&evm.ctx().db().cache);
                    record(TxStatus::Invalid(reason), 0, root)
                }
            };
            push(&mut out, executed, progress);
            if let Some(begin) = begin {
                let recorder = std::mem::replace(&mut evm.inspector.1, Either::Left(NoOpInspector));
                let trace = match recorder {
                    Either::Right(recorder) => recorder.finish().machine(begin),
                    Either::Left(_) => Err(Error::MachineTraceNeeds("a recorder")),
                };
                return Ok((out, Some(trace)));
            }
        }
        for withdrawal in &block.withdrawals {
            let amount = U256::from(withdrawal.amount) * U256::from(WEI_PER_GWEI);
            evm.ctx_mut()
                .journal_mut()
                .balance_incr(withdrawal.address, amount)
                .map_err(|e| Error::MalformedBatch(format!("withdrawal failed: {e}")))?;
        }
        evm.commit_inner();
        inspector = evm.inspector;

        let logs_bloom = receipts.iter().fold(Bloom::ZERO, |bloom, r| bloom | *r.logs_bloom());
        let header = Header {
            parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: block.coinbase,
            state_root: cache_state_root(&state.cache),
            transactions_root: calculate_transaction_root(&included),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            difficulty: U256::ZERO,
            number: block.number,
            gas_limit: block.gas_limit,
            gas_used,
            timestamp: block.timestamp,
            extra_data: block.extra_data.clone(),
            mix_hash: block.prevrandao,
            nonce: Default::default(),
            base_fee_per_gas: Some(block.base_fee),
            withdrawals_root: Some(calculate_withdrawals_root(&block.withdrawals)),
            blob_gas_used: Some(blob_gas_used),
            excess_blob_gas: Some(block.excess_blob_gas),
            parent_beacon_block_root: Some(block.parent_beacon_block_root),
            ..Header::default()
        };
        let hash = header.hash_slow();
        state.block_hashes.insert(block.number, hash);
        out.blocks.push(BlockRecord { hash, header, executed: included.len() });
        (parent_hash, parent) = (hash, (block.number, block.timestamp));
    }
    Ok((out, None))
}

/// Appends `tx` to the replay's records and reports it.
fn push(out: &mut Replay, tx: TxRecord, progress: &mut dyn FnMut(&TxRecord)) {
    progress(&tx);
    out.transactions.push(tx);
}

/// The environment revm runs `block`'s transactions in.
fn block_env(block: &L2Block, blob_base_fee_update_fraction: u64) -> BlockEnv {
    BlockEnv {
        number: U256::from(block.number),
        beneficiary: block.coinbase,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee: block.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(block.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            block.excess_blob_gas,
            blob_base_fee_update_fraction,
        )),
        ..BlockEnv::default()
    }
}
