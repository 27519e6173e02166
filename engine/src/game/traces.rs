//! What the game needs from the two levels of a proposal (spec `game.md` §3): the
//! transaction-level trace, each transaction's step-level trace, and the verifier that the
//! contract runs (the lower level's absolute pre-state and the one-step executor).
//!
//! These traits are the seam where Engine II plugs in: its batch replay implements
//! [`TopTrace`] (one leaf per transaction) and [`StepVerifier::lower_prestate`] (the begin
//! state of transaction `k` from the agreed state after `k - 1`, step-machine spec §8); the
//! game and the honest player do not change.

use crate::Result;
use alloy_primitives::B256;

/// The step-level trace of one transaction (step-machine spec §1): states `S_0 … S_n`,
/// `S_{i+1} = step(S_i)`, `S_n` final. A claim at lower trace index `i` commits to
/// `S_{i+1}`; past `n` the trace is padded with `S_n` (a final state steps to itself).
pub trait StepTrace {
    /// The witness the verifier takes for one step.
    type Witness;

    /// The number of steps `n` (states `S_0 … S_n`).
    fn len(&self) -> u64;

    /// Whether the trace has no step (`S_0` is final).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The commitment to `S_i`, for `i <= len`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TraceIndexOutOfRange`] for `i > len`; whatever building the state
    /// needs.
    fn commitment(&self, i: u64) -> Result<B256>;

    /// The witness of step `i` (pre-state `S_i`), for `i <= len`; at `i = len` it proves the
    /// final state, which steps to itself.
    ///
    /// # Errors
    ///
    /// As for [`StepTrace::commitment`].
    fn step_witness(&self, i: u64) -> Result<Self::Witness>;
}

/// The transaction-level trace of a proposal (spec `game.md` §3.1): the anchor (the agreed
/// state before the proposal) and, for each transaction `k`, the commitment `C_k` to the
/// state after it, which is by definition the commitment of the final state of `k`'s
/// step-level trace.
pub trait TopTrace {
    /// Each transaction's step-level trace.
    type Lower: StepTrace;

    /// The number of transactions `T` (at least one).
    fn len(&self) -> u64;

    /// Whether the proposal has no transaction (not a valid proposal).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The agreed state before the proposal's first transaction (a game parameter).
    fn anchor(&self) -> B256;

    /// `C_k`, the commitment to the state after transaction `k < T`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TraceIndexOutOfRange`] for `k >= T`; whatever building it needs.
    fn state_after(&self, k: u64) -> Result<B256>;

    /// The step-level trace of transaction `k < T`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TraceIndexOutOfRange`] for `k >= T`.
    fn lower(&self, k: u64) -> Result<&Self::Lower>;
}

/// The rules the contract applies to the lower level: the absolute pre-state of a disputed
/// transaction and the one-step executor (spec `game.md` §3.2, §5).
pub trait StepVerifier {
    /// The witness of one step.
    type Witness: Clone + std::fmt::Debug;

    /// `S_0` of transaction `tx`, given the agreed transaction-level state `agreed` before
    /// it (`C_{tx-1}`, or the anchor for `tx = 0`). For `tx >= T` (padding past the
    /// proposal's last transaction) it MUST be `agreed` itself, a final state.
    ///
    /// # Errors
    ///
    /// When the pre-state cannot be built (Engine II: the batch does not decode).
    fn lower_prestate(&self, agreed: B256, tx: u64) -> Result<B256>;

    /// Runs one step: the post-state commitment of the step whose pre-state `pre` the
    /// witness opens.
    ///
    /// # Errors
    ///
    /// When the witness does not open `pre` or the step cannot be executed; the step is then
    /// not taken (it is never executed wrongly).
    fn step(&self, pre: B256, witness: &Self::Witness) -> Result<B256>;

    /// The witness as bytes for a transcript (the contract replay's calldata).
    fn witness_bytes(&self, witness: &Self::Witness) -> Vec<u8>;
}

impl<V: StepVerifier> StepVerifier for &V {
    type Witness = V::Witness;

    fn lower_prestate(&self, agreed: B256, tx: u64) -> Result<B256> {
        (**self).lower_prestate(agreed, tx)
    }

    fn step(&self, pre: B256, witness: &Self::Witness) -> Result<B256> {
        (**self).step(pre, witness)
    }

    fn witness_bytes(&self, witness: &Self::Witness) -> Vec<u8> {
        (**self).witness_bytes(witness)
    }
}

/// `C_k` with the padding of §3.1: for `k >= T`, `C_{T-1}`.
///
/// # Errors
///
/// As for [`TopTrace::state_after`]; [`crate::Error::TraceIndexOutOfRange`] for an empty
/// proposal.
pub fn padded_state_after<T: TopTrace>(top: &T, k: u64) -> Result<B256> {
    let last = last_tx(top)?;
    top.state_after(k.min(last))
}

/// `S_i` of transaction `k` with the padding of §3.2: past the trace's end, its final state;
/// for `k >= T`, the constant trace of the last transaction's final state.
///
/// # Errors
///
/// As for [`StepTrace::commitment`].
pub fn padded_commitment<T: TopTrace>(top: &T, k: u64, i: u64) -> Result<B256> {
    let last = last_tx(top)?;
    let lower = top.lower(k.min(last))?;
    let i = if k > last { lower.len() } else { i.min(lower.len()) };
    lower.commitment(i)
}

/// The witness of step `i` of transaction `k`, padded as [`padded_commitment`].
///
/// # Errors
///
/// As for [`StepTrace::step_witness`].
pub fn padded_witness<T: TopTrace>(
    top: &T,
    k: u64,
    i: u64,
) -> Result<<T::Lower as StepTrace>::Witness> {
    let last = last_tx(top)?;
    let lower = top.lower(k.min(last))?;
    let i = if k > last { lower.len() } else { i.min(lower.len()) };
    lower.step_witness(i)
}

fn last_tx<T: TopTrace>(top: &T) -> Result<u64> {
    top.len().checked_sub(1).ok_or(crate::Error::TraceIndexOutOfRange { index: 0, len: 0 })
}
