//! The real lower level: each transaction's step-level trace is an engine [`Trace`]
//! (`commitment(i)`, `witness(i)`), and the verifier is the one-step executor
//! [`crate::machine::execute`].
//!
//! ## Stand-ins until Engine II (batches)
//!
//! - **The absolute pre-state** ([`MachineVerifier::lower_prestate`]) is a lookup of each
//!   recorded transaction's `S_0` by transaction index, ignoring the agreed state. Engine II
//!   replaces it with the begin state built from the agreed transaction-level state and the
//!   batch (step-machine spec §8).
//! - **The top frame's exit step** (the last step of every single-frame trace) is Engine II's
//!   (spec §6.2; [`Trace::witness`] answers `UnsupportedStep`). The verifier maps a pre-state
//!   whose pending operation is the top frame's empty exit to the Engine I final state,
//!   `header(status)` (see [`crate::trace`]), which is exactly how the trace defines it.
//! - **The transaction-level commitment** `C_k` is the commitment of the final machine state,
//!   as Engine II defines it; the Engine I final state carries only the status, so
//!   transactions with the same outcome share `C_k` until Engine II adds the world roots and
//!   logs to it.

use super::{StepTrace, StepVerifier, TopTrace};
use crate::{
    Error, Result,
    machine::{FrameExit, MachineState, PendingKind, Status, StepWitness, execute},
    trace::{Trace, header},
    workload::Workload,
};
use alloy_primitives::{B256, Bytes, keccak256};
use std::path::Path;

/// The witness of one step of a recorded trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineWitness {
    /// A step the one-step executor runs.
    Step(Box<StepWitness>),
    /// The top frame's exit (Engine II's step, stood in for here): the pre-state header.
    TopFrameExit(Box<MachineState>),
}

/// One recorded transaction with every state commitment computed once.
#[derive(Debug)]
pub struct RecordedTx {
    trace: Trace,
    commitments: Vec<B256>,
}

impl RecordedTx {
    /// Computes the commitment of every state of `trace`.
    ///
    /// # Errors
    ///
    /// As for [`Trace::commitment`].
    pub fn new(trace: Trace) -> Result<Self> {
        let commitments = (0..=trace.len()).map(|i| trace.commitment(i)).collect::<Result<_>>()?;
        Ok(Self { trace, commitments })
    }

    /// The recorded trace.
    pub const fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl StepTrace for RecordedTx {
    type Witness = MachineWitness;

    fn len(&self) -> u64 {
        self.trace.len()
    }

    fn commitment(&self, i: u64) -> Result<B256> {
        self.commitments
            .get(i as usize)
            .copied()
            .ok_or(Error::TraceIndexOutOfRange { index: i, len: self.len() })
    }

    /// [`Trace::witness`], or for the top frame's exit step its pre-state header.
    fn step_witness(&self, i: u64) -> Result<MachineWitness> {
        match self.trace.witness(i) {
            Ok(witness) => Ok(MachineWitness::Step(Box::new(witness))),
            Err(e @ Error::UnsupportedStep { .. }) => {
                let (state, _) = self.trace.state(i)?;
                if top_frame_exit(&state).is_some() {
                    Ok(MachineWitness::TopFrameExit(Box::new(state)))
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// The top frame's exit status if `state` is pending it (callers depth 0, empty exit).
fn top_frame_exit(state: &MachineState) -> Option<Status> {
    if state.status != Status::Running
        || state.pending_kind != PendingKind::FrameExit
        || state.callers.0 != 0
    {
        return None;
    }
    [true, false].into_iter().find(|&ok| state.pending_hash == FrameExit::empty(ok).hash()).map(
        |ok| {
            if ok { Status::Succeeded } else { Status::Failed }
        },
    )
}

/// A proposal of recorded transactions (the stand-in top level until Engine II's batches).
#[derive(Debug)]
pub struct RecordedProposal {
    anchor: B256,
    txs: Vec<RecordedTx>,
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
    /// As for [`RecordedTx::new`]; [`Error::InvalidCase`] for no transactions.
    pub fn new(txs: Vec<Trace>) -> Result<Self> {
        if txs.is_empty() {
            return Err(Error::invalid_case(
                "proposal",
                "a proposal needs at least one transaction",
            ));
        }
        let txs = txs.into_iter().map(RecordedTx::new).collect::<Result<_>>()?;
        Ok(Self { anchor: Self::stand_in_anchor(), txs })
    }

    /// The demo proposal: four real transactions recorded with the engine — snailtracer with
    /// 300,000 gas (2,964 steps, out of gas: `Failed`), a loop that hashes and stores 24 words
    /// and stops (387 steps, `Succeeded`), snailtracer with 100,000 gas (952 steps), and a
    /// loop growing memory until it runs out of 40,000 gas (4,653 steps).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `snailtracer.hex` is not in `workloads`; as for [`Workload::record`].
    pub fn demo(workloads: &Path) -> Result<Self> {
        let mut traces = Vec::new();
        for workload in [
            Workload::snailtracer(workloads, 300_000)?,
            Workload::new(Bytes::from_static(HASH_AND_STORE), Bytes::new(), 1_000_000),
            Workload::snailtracer(workloads, 100_000)?,
            Workload::new(Bytes::from_static(GROW_MEMORY), Bytes::new(), 40_000),
        ] {
            traces.push(workload.record()?.1);
        }
        Self::new(traces)
    }

    /// The verifier for this proposal: the one-step executor with the stand-in absolute
    /// pre-states (each transaction's recorded `S_0`).
    pub fn verifier(&self) -> MachineVerifier {
        MachineVerifier { prestates: self.txs.iter().map(|tx| tx.commitments[0]).collect() }
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

    /// Stand-in until Engine II: the recorded `S_0` of transaction `tx`; `agreed` past the
    /// proposal (a final state, which steps to itself).
    fn lower_prestate(&self, agreed: B256, tx: u64) -> Result<B256> {
        Ok(self.prestates.get(tx as usize).copied().unwrap_or(agreed))
    }

    fn step(&self, pre: B256, witness: &MachineWitness) -> Result<B256> {
        match witness {
            MachineWitness::Step(witness) => execute(pre, witness),
            MachineWitness::TopFrameExit(state) => {
                if state.commitment() != pre {
                    return Err(Error::BadWitness(
                        "the state does not hash to the pre-state commitment",
                    ));
                }
                let status = top_frame_exit(state)
                    .ok_or(Error::BadWitness("the state is not pending the top frame's exit"))?;
                Ok(header(status, B256::ZERO, (0, B256::ZERO)).commitment())
            }
        }
    }

    /// The pre-state header's encoding, then the frame's for an executed step (the full
    /// witness encoding is the L1 verifier's, a later issue).
    fn witness_bytes(&self, witness: &MachineWitness) -> Vec<u8> {
        match witness {
            MachineWitness::Step(witness) => {
                [witness.state.encode(), witness.frame.encode()].concat()
            }
            MachineWitness::TopFrameExit(state) => state.encode(),
        }
    }
}
