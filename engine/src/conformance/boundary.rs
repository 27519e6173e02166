//! The step checker's frame boundaries (spec §6): from a state the executor and revm agree on,
//! the prover ([`BoundaryRun`]) builds the witness of each boundary step (a call's opening,
//! its input micro-steps and entry; RETURN/REVERT's output micro-steps; the exit step and the
//! copy into the caller's return window), the executor runs each on its previous output, and
//! the chain stops where revm's state can settle it: at the callee's first instruction, at the
//! caller's next one, or at the transaction's end.

use crate::{
    Result,
    machine::{
        BoundaryRun, Bytes32Tree, FrameExit, HeldFrame, MicroStepKind, Pending, TxAccumulators,
        execute,
    },
};
use alloy_primitives::B256;

/// Boundary and micro-steps run by one chain, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// The opening step (the opcode step; 0 when the chain starts at an exit).
    pub(super) opening: u64,
    /// Input-copy micro-steps.
    pub(super) input: u64,
    /// Entry steps.
    pub(super) entry: u64,
    /// Output-copy micro-steps.
    pub(super) output: u64,
    /// Exit steps.
    pub(super) exit: u64,
    /// Copy micro-steps into the caller's return window.
    pub(super) words: u64,
}

impl Counts {
    pub(super) fn total(&self) -> u64 {
        self.opening + self.input + self.entry + self.output + self.exit + self.words
    }

    /// `(suffix, count)` pairs for the report (`CALL/input`, `RETURN/exit`, ...).
    pub(super) fn named(&self) -> [(&'static str, u64); 5] {
        [
            ("input", self.input),
            ("entry", self.entry),
            ("output", self.output),
            ("exit", self.exit),
            ("return-copy", self.words),
        ]
    }
}

/// Where a chain of boundary steps stopped.
#[derive(Clone, Debug)]
pub(super) enum Stopped {
    /// The frame that is current continues with an in-frame instruction: the caller after a
    /// call that ended early or after its callee's exit. `commitment` is that state.
    Resumed { commitment: B256, accumulators: TxAccumulators },
    /// A callee frame was entered; `commitment` is its state before its first instruction.
    Entered(Box<Entered>),
    /// The top frame ended: its exit is the transaction's end (spec §8.2, not run here).
    TopEnded { success: bool, gas: u64, output: Bytes32Tree },
}

/// A callee entered at a call's entry step.
#[derive(Clone, Debug)]
pub(super) struct Entered {
    /// The callee's state before its first instruction.
    pub(super) commitment: B256,
    /// The accumulators after the entry.
    pub(super) accumulators: TxAccumulators,
    /// The callee as entered.
    pub(super) callee: HeldFrame,
    /// The caller chain while the callee is current.
    pub(super) callers: (u16, B256),
    /// The caller as pushed, with the chain below it.
    pub(super) caller: (HeldFrame, B256),
}

/// Drives `run` from `commitment` (its current state, which the executor reached) until the
/// chain stops. A prover that cannot follow, or an executor result that differs from the
/// prover's state, is a mismatch (`Ok(Err(why))`); an unsupported step (the top frame's exit)
/// is `Err`.
pub(super) fn drive(
    run: &mut BoundaryRun<'_>,
    mut commitment: B256,
    at_opcode: bool,
    counts: &mut Counts,
) -> Result<std::result::Result<Stopped, String>> {
    let start_depth = run.depth();
    let mut first = at_opcode;
    loop {
        let opening = std::mem::take(&mut first);
        if run.depth() > start_depth {
            let Some(caller) = run.callers.last().cloned() else {
                return Ok(Err("the prover entered a frame without a caller".into()));
            };
            return Ok(Ok(Stopped::Entered(Box::new(Entered {
                commitment,
                accumulators: run.accumulators,
                callee: run.frame.clone(),
                callers: (run.depth(), run.header()?.callers.1),
                caller,
            }))));
        }
        match &run.pending {
            None if !opening => {
                return Ok(Ok(Stopped::Resumed { commitment, accumulators: run.accumulators }));
            }
            Some(Pending::Exit(exit)) if run.depth() == 0 => {
                let FrameExit { success, output } = *exit;
                let gas = run.frame.snapshot.gas;
                return Ok(Ok(Stopped::TopEnded { success, gas, output }));
            }
            Some(Pending::Copy(_)) => {
                let Some(mut micro) = run.into_micro()? else { unreachable_copy()? };
                loop {
                    let Some((witness, kind)) = micro.next_step()? else { break };
                    if kind != MicroStepKind::Word || witness.state.commitment() != commitment {
                        return Ok(Err("the return-window copy does not follow the exit".into()));
                    }
                    commitment = match execute(commitment, &witness) {
                        Ok(next) => next,
                        Err(e) => return Ok(Err(format!("a return-window copy step failed: {e}"))),
                    };
                    counts.words += 1;
                }
                if micro.commitment()? != commitment {
                    return Ok(Err("the return-window copy ends elsewhere than the prover".into()));
                }
                return Ok(Ok(Stopped::Resumed { commitment, accumulators: run.accumulators }));
            }
            _ => {}
        }
        let slot = match &run.pending {
            None => &mut counts.opening,
            Some(Pending::Call(call)) if call.input.is_done() => &mut counts.entry,
            Some(Pending::Call(_)) => &mut counts.input,
            Some(Pending::Create(create)) if create.input.is_done() => &mut counts.entry,
            Some(Pending::Create(_)) => &mut counts.input,
            Some(Pending::Output { .. }) => &mut counts.output,
            Some(_) => &mut counts.exit,
        };
        let Some(witness) = run.next_step()? else {
            return Ok(Err("the prover has no boundary step to run".into()));
        };
        if witness.state.commitment() != commitment {
            return Ok(Err("the prover's pre-state differs from the executor's".into()));
        }
        commitment = match execute(commitment, &witness) {
            Ok(next) => next,
            Err(e) => return Ok(Err(format!("the executor failed on a boundary step: {e}"))),
        };
        if run.commitment()? != commitment {
            return Ok(Err("the executor's post-state differs from the prover's".into()));
        }
        *slot += 1;
    }
}

fn unreachable_copy<T>() -> Result<T> {
    Err(crate::Error::UnsupportedStep { opcode: 0, reason: "a pending copy without a frame" })
}
