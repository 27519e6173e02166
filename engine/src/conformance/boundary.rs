//! The step checker's frame boundaries (spec §6): from a state the executor and revm agree on,
//! the prover ([`BoundaryRun`]) builds the witness of each boundary step (a call's opening,
//! its input micro-steps and entry; RETURN/REVERT's output micro-steps; the exit step and the
//! copy into the caller's return window), the executor runs each on its previous output, and
//! the chain stops where revm's state can settle it: at the callee's first instruction, at the
//! caller's next one, or at the transaction's end.

use crate::{
    Result,
    machine::{
        AccumulatorItems, BoundaryRun, Bytes32Tree, FrameExit, HeldFrame, MicroStepKind, Pending,
        Status, TxAccumulators, TxEnd, execute,
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
    /// The transaction's end step (spec §8.2).
    pub(super) end: u64,
    /// The transaction end's deletion steps.
    pub(super) deletions: u64,
    /// The transaction's begin step (spec §8.1).
    pub(super) begin: u64,
    /// The transaction's access-list steps (spec §8.1).
    pub(super) access: u64,
}

impl Counts {
    pub(super) fn total(&self) -> u64 {
        self.opening
            + self.input
            + self.entry
            + self.output
            + self.exit
            + self.words
            + self.end
            + self.deletions
            + self.begin
            + self.access
    }

    /// `(suffix, count)` pairs for the report (`CALL/input`, `RETURN/exit`, ...).
    pub(super) fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("tx-begin", self.begin),
            ("access-list", self.access),
            ("input", self.input),
            ("entry", self.entry),
            ("output", self.output),
            ("exit", self.exit),
            ("return-copy", self.words),
            ("tx-end", self.end),
            ("deletion", self.deletions),
        ]
    }
}

/// Where a chain of boundary steps stopped.
#[derive(Clone, Debug)]
pub(super) enum Stopped {
    /// The frame that is current continues with an in-frame instruction: the caller after a
    /// call that ended early or after its callee's exit. `commitment` is that state.
    Resumed { commitment: B256, accumulators: TxAccumulators, items: AccumulatorItems },
    /// A callee frame was entered; `commitment` is its state before its first instruction.
    Entered(Box<Entered>),
    /// The top frame ended with this success, gas left and output, and the transaction's end
    /// (spec §8.2) ran to the final state.
    TopEnded { success: bool, gas: u64, output: Bytes32Tree, last: Final },
}

/// The final state a chain reached at the transaction's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Final {
    /// The commitment to the final state.
    pub(super) commitment: B256,
    /// Its state root: the state after the transaction (revm's, once committed).
    pub(super) state_root: B256,
    /// The receipt's status and gas used.
    pub(super) end: TxEnd,
}

/// A callee entered at a call's entry step.
#[derive(Clone, Debug)]
pub(super) struct Entered {
    /// The callee's state before its first instruction.
    pub(super) commitment: B256,
    /// The accumulators after the entry, and their items.
    pub(super) accumulators: TxAccumulators,
    pub(super) items: AccumulatorItems,
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
    let mut top = None;
    loop {
        let opening = std::mem::take(&mut first);
        if run.header()?.status.is_final() {
            let (Some((success, gas, output)), Some(Pending::TxEnd(end))) = (top, &run.pending)
            else {
                return Ok(Err(
                    "the prover reached a final state without the top frame's end".into()
                ));
            };
            let header = run.header()?;
            let last = Final { commitment, state_root: header.state_root, end: *end };
            return Ok(Ok(Stopped::TopEnded { success, gas, output, last }));
        }
        if run.depth() > start_depth {
            let Some(caller) = run.callers.last().cloned() else {
                return Ok(Err("the prover entered a frame without a caller".into()));
            };
            return Ok(Ok(Stopped::Entered(Box::new(Entered {
                commitment,
                accumulators: run.accumulators,
                items: run.items.clone(),
                callee: run.frame.clone(),
                callers: (run.depth(), run.header()?.callers.1),
                caller,
            }))));
        }
        match &run.pending {
            None if !opening => {
                return Ok(Ok(resumed(run, commitment)));
            }
            Some(Pending::Exit(exit)) if run.depth() == 0 => {
                let FrameExit { success, output } = *exit;
                top = Some((success, run.frame.snapshot.gas, output));
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
                return Ok(Ok(resumed(run, commitment)));
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
            Some(Pending::Exit(_)) if run.depth() == 0 => &mut counts.end,
            Some(Pending::TxEnd(_)) => &mut counts.deletions,
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

fn resumed(run: &BoundaryRun<'_>, commitment: B256) -> Stopped {
    Stopped::Resumed { commitment, accumulators: run.accumulators, items: run.items.clone() }
}

fn unreachable_copy<T>() -> Result<T> {
    Err(crate::Error::UnsupportedStep { opcode: 0, reason: "a pending copy without a frame" })
}

/// Where the transaction's begin (spec §8.1) stopped.
#[derive(Clone, Debug)]
pub(super) enum Begun {
    /// The begin step found the transaction invalid; the state root is the final state's.
    Invalid { state_root: B256 },
    /// The top frame was entered; `commitment` is its state before its first instruction.
    Entered {
        commitment: B256,
        /// The state's header and frame (to name what differs from revm's).
        header: Box<(crate::machine::MachineState, crate::machine::Frame)>,
        accumulators: TxAccumulators,
        items: AccumulatorItems,
        /// The top frame as entered (its checkpoint is the one the transaction restores).
        frame: Box<HeldFrame>,
    },
    /// There was no frame to enter (a callee without code, a precompile, a creation's
    /// collision): the entry step ended the transaction and the deletions ran.
    Ended(Final),
}

/// Drives `run`, a transaction's begin state, through its begin, access-list and entry steps
/// (and, without a frame, its deletions) to where revm's state can settle it. Errors as for
/// [`drive`].
pub(super) fn drive_begin(
    run: &mut BoundaryRun<'_>,
    counts: &mut Counts,
) -> Result<std::result::Result<Begun, String>> {
    let mut commitment = run.commitment()?;
    loop {
        let header = run.header()?;
        if header.status == Status::Invalid {
            return Ok(Ok(Begun::Invalid { state_root: header.state_root }));
        }
        if header.status.is_final() {
            let Some(Pending::TxEnd(end)) = run.pending else {
                return Ok(Err("the prover reached a final state without an end".into()));
            };
            let last = Final { commitment, state_root: header.state_root, end };
            return Ok(Ok(Begun::Ended(last)));
        }
        if !run.ended {
            return Ok(Ok(Begun::Entered {
                commitment,
                header: Box::new((header, run.frame.snapshot.frame()?)),
                accumulators: run.accumulators,
                items: run.items.clone(),
                frame: Box::new(run.frame.clone()),
            }));
        }
        let slot = match &run.pending {
            Some(Pending::TxBegin(begin)) => match begin.entry {
                None => &mut counts.begin,
                Some(entry) if entry.access.count > 0 => &mut counts.access,
                Some(_) => &mut counts.entry,
            },
            Some(Pending::TxEnd(_)) => &mut counts.deletions,
            _ => return Ok(Err("the prover left the begin without a frame or an end".into())),
        };
        let Some(witness) = run.next_step()? else {
            return Ok(Err("the prover has no begin step to run".into()));
        };
        if witness.state.commitment() != commitment {
            return Ok(Err("the prover's pre-state differs from the executor's".into()));
        }
        commitment = match execute(commitment, &witness) {
            Ok(next) => next,
            Err(e) => return Ok(Err(format!("the executor failed on a begin step: {e}"))),
        };
        if run.commitment()? != commitment {
            return Ok(Err("the executor's post-state differs from the prover's".into()));
        }
        *slot += 1;
    }
}
