//! A synthetic two-level proposal: a **test double** for the game, the honest player and the
//! simulator, small and fast enough for tens of thousands of games.
//!
//! A synthetic machine state is `(remaining, acc)` with commitment
//! `H("refute/synthetic" ‖ u64(remaining) ‖ acc)`; a step maps `(r, acc)` with `r > 0` to
//! `(r - 1, H(acc ‖ u64(r)))` and a final state (`r = 0`) to itself. Transaction `k` of
//! length `n_k` starts at `S_0 = (n_k, H(C_{k-1} ‖ u64(k)))` and `C_k` is the commitment of its
//! final state, so the two levels link exactly as `game.md` §3 requires.

use super::{StepTrace, StepVerifier, TopTrace};
use crate::{Error, Result};
use alloy_primitives::{B256, keccak256};

/// A synthetic machine state: the witness of a synthetic step is the pre-state itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticState {
    /// Steps left until the state is final.
    pub remaining: u64,
    /// The accumulator.
    pub acc: B256,
}

impl SyntheticState {
    /// The commitment: `H("refute/synthetic" ‖ u64(remaining) ‖ acc)`.
    pub fn commitment(&self) -> B256 {
        keccak256(
            [b"refute/synthetic".as_slice(), &self.remaining.to_be_bytes(), self.acc.as_slice()]
                .concat(),
        )
    }

    /// The next state (a final state is its own successor).
    pub fn step(&self) -> Self {
        if self.remaining == 0 {
            return *self;
        }
        let acc = keccak256([self.acc.as_slice(), &self.remaining.to_be_bytes()].concat());
        Self { remaining: self.remaining - 1, acc }
    }

    /// `u64(remaining) ‖ acc`, 40 bytes.
    pub fn encode(&self) -> Vec<u8> {
        [self.remaining.to_be_bytes().as_slice(), self.acc.as_slice()].concat()
    }
}

/// One synthetic transaction's step-level trace.
#[derive(Clone, Debug)]
pub struct SyntheticTx {
    states: Vec<SyntheticState>,
    commitments: Vec<B256>,
}

impl StepTrace for SyntheticTx {
    type Witness = SyntheticState;

    fn len(&self) -> u64 {
        self.states.len() as u64 - 1
    }

    fn commitment(&self, i: u64) -> Result<B256> {
        self.commitments
            .get(i as usize)
            .copied()
            .ok_or(Error::TraceIndexOutOfRange { index: i, len: self.len() })
    }

    fn step_witness(&self, i: u64) -> Result<SyntheticState> {
        self.states
            .get(i as usize)
            .copied()
            .ok_or(Error::TraceIndexOutOfRange { index: i, len: self.len() })
    }
}

/// A synthetic proposal: transactions of given step counts chained from an anchor.
#[derive(Clone, Debug)]
pub struct SyntheticProposal {
    anchor: B256,
    txs: Vec<SyntheticTx>,
}

impl SyntheticProposal {
    /// A proposal of `lengths.len()` transactions, transaction `k` taking `lengths[k]` steps,
    /// from an anchor derived from `seed`.
    pub fn new(seed: u64, lengths: &[u64]) -> Self {
        let anchor_state = SyntheticState {
            remaining: 0,
            acc: keccak256([b"anchor".as_slice(), &seed.to_be_bytes()].concat()),
        };
        let anchor = anchor_state.commitment();
        let mut agreed = anchor;
        let mut txs = Vec::with_capacity(lengths.len());
        for (k, &n) in lengths.iter().enumerate() {
            let mut state = SyntheticState { remaining: n, acc: prestate_acc(agreed, k as u64) };
            let mut states = Vec::with_capacity(n as usize + 1);
            states.push(state);
            for _ in 0..n {
                state = state.step();
                states.push(state);
            }
            let commitments: Vec<B256> = states.iter().map(SyntheticState::commitment).collect();
            agreed = *commitments.last().unwrap_or(&agreed);
            txs.push(SyntheticTx { states, commitments });
        }
        Self { anchor, txs }
    }

    /// The verifier the contract would run for this proposal's program (its transactions'
    /// lengths).
    pub fn verifier(&self) -> SyntheticVerifier {
        SyntheticVerifier { lengths: self.txs.iter().map(StepTrace::len).collect() }
    }

    /// Replaces the commitment to `S_i` of transaction `k` (not its witness) with `value`: a
    /// trace with one wrong commitment, for tests that must fail.
    #[cfg(test)]
    pub(crate) fn corrupt(&mut self, k: usize, i: usize, value: B256) {
        self.txs[k].commitments[i] = value;
    }
}

impl TopTrace for SyntheticProposal {
    type Lower = SyntheticTx;

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

    fn lower(&self, k: u64) -> Result<&SyntheticTx> {
        self.txs.get(k as usize).ok_or(Error::TraceIndexOutOfRange { index: k, len: self.len() })
    }
}

fn prestate_acc(agreed: B256, k: u64) -> B256 {
    keccak256([agreed.as_slice(), &k.to_be_bytes()].concat())
}

/// The synthetic step verifier (a **test double** for the one-step executor): checks that
/// the witness opens the pre-state and returns the commitment of its successor.
#[derive(Clone, Debug)]
pub struct SyntheticVerifier {
    lengths: Vec<u64>,
}

impl StepVerifier for SyntheticVerifier {
    type Witness = SyntheticState;

    /// `(n_k, H(agreed ‖ u64(k)))` for `k < T`, `agreed` past the proposal.
    fn lower_prestate(&self, agreed: B256, tx: u64) -> Result<B256> {
        Ok(match self.lengths.get(tx as usize) {
            Some(&n) => SyntheticState { remaining: n, acc: prestate_acc(agreed, tx) }.commitment(),
            None => agreed,
        })
    }

    fn step(&self, pre: B256, witness: &SyntheticState) -> Result<B256> {
        if witness.commitment() != pre {
            return Err(Error::BadWitness("the synthetic state does not hash to the pre-state"));
        }
        Ok(witness.step().commitment())
    }

    fn witness_bytes(&self, witness: &SyntheticState) -> Vec<u8> {
        witness.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_link() {
        let proposal = SyntheticProposal::new(7, &[3, 0, 5]);
        let vm = proposal.verifier();
        let mut agreed = proposal.anchor();
        for k in 0..3 {
            let tx = proposal.lower(k).unwrap();
            assert_eq!(vm.lower_prestate(agreed, k).unwrap(), tx.commitment(0).unwrap());
            for i in 0..=tx.len() {
                let post =
                    vm.step(tx.commitment(i).unwrap(), &tx.step_witness(i).unwrap()).unwrap();
                assert_eq!(post, tx.commitment((i + 1).min(tx.len())).unwrap());
            }
            agreed = proposal.state_after(k).unwrap();
            assert_eq!(agreed, tx.commitment(tx.len()).unwrap());
        }
        // Past the proposal, the pre-state is the agreed state, which steps to itself.
        assert_eq!(vm.lower_prestate(agreed, 3).unwrap(), agreed);
        let wrong = SyntheticState { remaining: 1, acc: B256::ZERO };
        assert!(vm.step(agreed, &wrong).is_err());
    }
}
