//! The real lower level: each transaction's step-level trace is an engine [`MachineTrace`]
//! (`commitment(i)`, `witness(i)` for every step of the machine: the transaction's begin, its
//! frame boundaries and its end included), and the verifier is the one-step executor
//! [`crate::machine::execute`].
//!
//! ## Stand-ins until the transaction level (batch spec §4)
//!
//! - **The absolute pre-state** ([`MachineVerifier::lower_prestate`]) is a lookup of each
//!   recorded transaction's `S_0` (its begin state, step-machine spec §8.1) by transaction
//!   index, ignoring the agreed state: the verifier's `lowerPrestate` builds it from the agreed
//!   transaction-level state and the batch once `C_k` commits to what the begin reads.
//! - **The transaction-level commitment** `C_k` is the commitment of transaction `k`'s final
//!   machine state (state root, status, gas and logs of its end, spec §8.2), not yet normalized
//!   to what outlives the transaction, and without block progress or block seals.

use super::{StepTrace, StepVerifier, TopTrace};
use crate::{
    Error, Result,
    batch::{self, Anchor, Batch, BatchFile, L2Block},
    corpus::PreAccount,
    machine::{StepWitness, execute},
    trace::MachineTrace,
    workload,
};
use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use std::{collections::HashMap, path::Path, sync::Mutex};

/// The witness of one step of a recorded trace: the executor's.
pub type MachineWitness = StepWitness;

/// One recorded transaction, its commitments computed on first use and kept.
#[derive(Debug)]
pub struct RecordedTx {
    trace: MachineTrace,
    commitments: Mutex<HashMap<u64, B256>>,
}

impl RecordedTx {
    /// The transaction of `trace`.
    pub fn new(trace: MachineTrace) -> Self {
        Self { trace, commitments: Mutex::new(HashMap::new()) }
    }

    /// The recorded trace.
    pub const fn trace(&self) -> &MachineTrace {
        &self.trace
    }
}

impl StepTrace for RecordedTx {
    type Witness = MachineWitness;

    fn len(&self) -> u64 {
        self.trace.len()
    }

    fn commitment(&self, i: u64) -> Result<B256> {
        let lock = |m: &Mutex<HashMap<u64, B256>>| {
            m.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&i).copied()
        };
        if let Some(hit) = lock(&self.commitments) {
            return Ok(hit);
        }
        let commitment = self.trace.commitment(i)?;
        self.commitments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(i, commitment);
        Ok(commitment)
    }

    fn step_witness(&self, i: u64) -> Result<MachineWitness> {
        self.trace.witness(i)
    }
}

/// A proposal of recorded transactions (the stand-in top level until Engine II's batches).
#[derive(Debug)]
pub struct RecordedProposal {
    anchor: B256,
    txs: Vec<RecordedTx>,
    /// Each transaction's `S_0`.
    prestates: Vec<B256>,
}

impl RecordedProposal {
    /// The anchor of recorded proposals: `H("refute/anchor")` (a stand-in: Engine II's is
    /// the agreed state before the batch).
    pub fn stand_in_anchor() -> B256 {
        keccak256(b"refute/anchor")
    }

    /// A proposal of `txs`, in order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] for no transactions; as [`MachineTrace::commitment`].
    pub fn new(txs: Vec<MachineTrace>) -> Result<Self> {
        if txs.is_empty() {
            return Err(Error::invalid_case(
                "proposal",
                "a proposal needs at least one transaction",
            ));
        }
        let txs: Vec<RecordedTx> = txs.into_iter().map(RecordedTx::new).collect();
        let prestates = txs.iter().map(|tx| tx.commitment(0)).collect::<Result<_>>()?;
        Ok(Self { anchor: Self::stand_in_anchor(), txs, prestates })
    }

    /// A proposal of every transaction of `file`'s batch, each recorded where it stands
    /// ([`batch::record_transaction`]; skipped ones too: their trace is the begin step that
    /// finds them invalid).
    ///
    /// # Errors
    ///
    /// As [`batch::record_transaction`]; [`Error::InvalidCase`] for a batch without
    /// transactions.
    pub fn from_batch(file: &BatchFile) -> Result<Self> {
        let txs = (0..file.batch.transaction_count())
            .map(|position| Ok(batch::record_transaction(file, position)?.1))
            .collect::<Result<Vec<_>>>()?;
        Self::new(txs)
    }

    /// The demo proposal: [`demo_batch`] recorded — snailtracer with 300,000 gas (out of gas:
    /// `Failed`), a loop that hashes and stores 24 words and stops (`Succeeded`), snailtracer
    /// with 100,000 gas, and a loop growing memory until it runs out of 40,000 gas.
    ///
    /// # Errors
    ///
    /// As [`demo_batch`] and [`RecordedProposal::from_batch`].
    pub fn demo(workloads: &Path) -> Result<Self> {
        Self::from_batch(&demo_batch(workloads)?)
    }

    /// The verifier for this proposal: the one-step executor with the stand-in absolute
    /// pre-states (each transaction's recorded `S_0`).
    pub fn verifier(&self) -> MachineVerifier {
        MachineVerifier { prestates: self.prestates.clone() }
    }

    /// The longest transaction's step count.
    pub fn max_len(&self) -> u64 {
        self.txs.iter().map(StepTrace::len).max().unwrap_or(0)
    }
}

/// `counter = 24; do { mem[0] = counter; sstore(counter, keccak(mem[0..32])); } while (--counter); stop`.
const HASH_AND_STORE: &[u8] = &[
    0x60, 0x18, 0x5b, 0x80, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0x20, 0x81, 0x55, 0x60, 0x01,
    0x90, 0x03, 0x80, 0x60, 0x02, 0x57, 0x00,
];

/// `loop { mstore(msize, 1) }`: grows memory until out of gas.
const GROW_MEMORY: &[u8] = &[0x5b, 0x60, 0x01, 0x59, 0x52, 0x60, 0x00, 0x56];

/// The demo batch: one block of four signed EIP-1559 transactions from one sender (secret key
/// `0x07…07`) over a pre-state holding snailtracer (from `workloads`) and two small loops —
/// snailtracer's `Benchmark()` with 300,000 gas (runs out of gas), a loop that hashes and
/// stores 24 words with 1,000,000 gas, snailtracer again with 100,000 gas, and a loop that
/// grows memory until it runs out of 40,000 gas.
///
/// # Errors
///
/// [`Error::Io`] when `snailtracer.hex` is not in `workloads`.
pub fn demo_batch(workloads: &Path) -> Result<BatchFile> {
    use alloy_consensus::TxEip1559;
    use alloy_primitives::TxKind;
    const HASHER: Address = address!("0x0000000000000000000000000000000000c0de01");
    const GROWER: Address = address!("0x0000000000000000000000000000000000c0de02");
    let key = k256::ecdsa::SigningKey::from_slice(&[7; 32])
        .map_err(|e| Error::invalid_case("demo batch", e.to_string()))?;
    let point = key.verifying_key().to_encoded_point(false);
    let sender = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
    let mut pre = std::collections::BTreeMap::new();
    let ether = U256::from(10).pow(U256::from(18));
    pre.insert(sender, PreAccount { balance: ether * U256::from(100), ..PreAccount::default() });
    let code = |code: Bytes| PreAccount { code, ..PreAccount::default() };
    pre.insert(workload::Workload::CONTRACT, code(workload::snailtracer_code(workloads)?));
    pre.insert(HASHER, code(Bytes::from_static(HASH_AND_STORE)));
    pre.insert(GROWER, code(Bytes::from_static(GROW_MEMORY)));
    let chain_id = 901;
    let benchmark = Bytes::from_static(&[0x30, 0x62, 0x7b, 0x7c]);
    let calls = [
        (workload::Workload::CONTRACT, benchmark.clone(), 300_000),
        (HASHER, Bytes::new(), 1_000_000),
        (workload::Workload::CONTRACT, benchmark, 100_000),
        (GROWER, Bytes::new(), 40_000),
    ];
    let transactions = calls
        .into_iter()
        .enumerate()
        .map(|(nonce, (to, input, gas_limit))| {
            let tx = TxEip1559 {
                chain_id,
                nonce: nonce as u64,
                gas_limit,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(to),
                input,
                ..TxEip1559::default()
            };
            crate::signed_envelope(tx, &key, &"the demo batch")
        })
        .collect::<Result<Vec<_>>>()?;
    let block = L2Block {
        number: 1,
        timestamp: 1_700_000_002,
        coinbase: address!("0x000000000000000000000000000000000000c01b"),
        gas_limit: 30_000_000,
        base_fee: 1_000_000_000,
        prevrandao: keccak256(1u64.to_be_bytes()),
        extra_data: Bytes::from_static(b"refute"),
        excess_blob_gas: 0,
        parent_beacon_block_root: B256::ZERO,
        transactions,
        withdrawals: Vec::new(),
    };
    Ok(BatchFile {
        anchor: Anchor {
            number: 0,
            hash: keccak256(b"refute demo anchor"),
            state_root: batch::pre_state_root(&pre),
            block_hashes: Default::default(),
        },
        pre,
        batch: Batch { version: batch::BATCH_VERSION, chain_id, blocks: vec![block] },
    })
}

impl TopTrace for RecordedProposal {
    type Lower = RecordedTx;

    fn len(&self) -> u64 {
        self.txs.len() as u64
    }

    fn anchor(&self) -> B256 {
        self.anchor
    }

    fn state_after(&self, k: u64) -> Result<B256> {
        let tx = self.lower(k)?;
        tx.commitment(tx.len())
    }

    fn lower(&self, k: u64) -> Result<&RecordedTx> {
        self.txs.get(k as usize).ok_or(Error::TraceIndexOutOfRange { index: k, len: self.len() })
    }
}

/// The one-step executor as the game's verifier, with the stand-ins of the module docs.
#[derive(Clone, Debug)]
pub struct MachineVerifier {
    prestates: Vec<B256>,
}

impl StepVerifier for MachineVerifier {
    type Witness = MachineWitness;

    /// Stand-in until the transaction level: the recorded `S_0` of transaction `tx`; `agreed`
    /// past the proposal (a final state, which steps to itself).
    fn lower_prestate(&self, agreed: B256, tx: u64) -> Result<B256> {
        Ok(self.prestates.get(tx as usize).copied().unwrap_or(agreed))
    }

    fn step(&self, pre: B256, witness: &MachineWitness) -> Result<B256> {
        execute(pre, witness)
    }

    /// The pre-state header's encoding, then the frame's (the full witness encoding is the L1
    /// verifier's, `docs/spec/verifier-abi.md`).
    fn witness_bytes(&self, witness: &MachineWitness) -> Vec<u8> {
        [witness.state.encode(), witness.frame.encode()].concat()
    }
}
