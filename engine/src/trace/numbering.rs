//! Step numbering (spec §1): how the revm instructions of a transaction map to the machine's
//! step indices.
//!
//! Most revm instructions are one machine step. KECCAK256, the copies and LOGn are an opening
//! step and micro-steps (§5.5), and an instruction that halts its frame is its halting step and
//! the frame's exit step (§5.4). [`machine_steps`] decides the count when an instruction starts;
//! the recorder amends it when the instruction ends its frame. [`Numbering`] records only the
//! instructions that make more than one step, so the common case costs nothing while recording
//! and the mapping stays a binary search. Frame entry and transaction boundaries (§6, §8) will
//! add steps the same way.

use crate::machine::KECCAK_RATE;
use alloy_primitives::U256;

/// How many machine steps the revm instruction `opcode` makes, given the stack before it
/// (`stack`, bottom first, so operands are at the end), when its opening step does not halt
/// (a halting instruction ends its frame; the recorder amends its count, see
/// [`Numbering::amend_last`]).
///
/// Spec §5.5: KECCAK256 and LOGn of `len > 0` bytes are an opening step and
/// `⌊len / 136⌋ + 1` sponge micro-steps (the full blocks, then the padded last one); the
/// copies (CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY) of `len > 0` bytes are
/// an opening step and one micro-step per destination word touched,
/// `⌈(dest mod 32 + len) / 32⌉`. Every other instruction, and a length of zero, is one step.
#[inline(always)]
pub fn machine_steps(opcode: u8, stack: &[U256]) -> u64 {
    let arg = |k: usize| stack.len().checked_sub(1 + k).map(|at| stack[at]);
    let small = |v: U256| u64::try_from(v).ok().filter(|v| *v <= u64::from(u32::MAX));
    let (dest, len) = match opcode {
        0x20 | 0xa0..=0xa4 => {
            return match arg(1).and_then(small) {
                Some(len) if len > 0 => 1 + len / KECCAK_RATE as u64 + 1,
                _ => 1,
            };
        }
        0x37 | 0x39 | 0x3e | 0x5e => (arg(0), arg(2)),
        0x3c => (arg(1), arg(3)),
        _ => return 1,
    };
    match (dest, len.and_then(small)) {
        (Some(dest), Some(len)) if len > 0 => {
            let dest = dest.as_limbs()[0] % 32;
            1 + (dest + len).div_ceil(32)
        }
        _ => 1,
    }
}

/// The mapping between machine step indices and revm instruction indices: a sparse list of
/// the instructions that make more than one machine step.
#[derive(Clone, Debug, Default)]
pub(crate) struct Numbering {
    /// `(instruction, machine index of its first step, its machine steps)`, by instruction.
    multi: Vec<(u64, u64, u64)>,
}

/// Where a machine step index falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    /// The revm instruction index.
    pub(crate) instruction: u64,
    /// The micro-step inside the instruction (0 is its first step, whose pre-state is the
    /// instruction's pre-state).
    pub(crate) micro: u64,
}

impl Numbering {
    /// Records that `instruction` makes `steps` machine steps (called in instruction order).
    #[inline]
    pub(crate) fn record(&mut self, instruction: u64, steps: u64) {
        if steps != 1 {
            let first = self.machine_index(instruction);
            self.multi.push((instruction, first, steps));
        }
    }

    /// Changes the step count of `instruction`, the last one recorded (a halting instruction
    /// is its halting step and the frame's exit step, spec §5.4, whatever its opening would
    /// have opened).
    pub(crate) fn amend_last(&mut self, instruction: u64, steps: u64) {
        if self.multi.last().is_some_and(|(i, _, _)| *i == instruction) {
            self.multi.pop();
        }
        self.record(instruction, steps);
    }

    /// This numbering with the step counts of `counts` (`(instruction, steps)`, by
    /// instruction) in place of the recorded ones.
    pub(crate) fn with_counts(&self, counts: &[(u64, u64)]) -> Self {
        let mut merged = Self::default();
        let (mut recorded, mut given) = (self.multi.iter().peekable(), counts.iter().peekable());
        loop {
            let (instruction, steps) = match (recorded.peek(), given.peek()) {
                (None, None) => break,
                (Some(&&(r, _, _)), Some(&&(g, steps))) if g <= r => {
                    if g == r {
                        recorded.next();
                    }
                    given.next();
                    (g, steps)
                }
                (Some(&&(r, _, steps)), _) => {
                    recorded.next();
                    (r, steps)
                }
                (None, Some(&&(g, steps))) => {
                    given.next();
                    (g, steps)
                }
            };
            merged.record(instruction, steps);
        }
        merged
    }

    /// The machine index of the first step of `instruction` (or of the final state, for the
    /// instruction count).
    pub(crate) fn machine_index(&self, instruction: u64) -> u64 {
        let at = self.multi.partition_point(|(i, _, _)| *i < instruction);
        match at.checked_sub(1).map(|k| self.multi[k]) {
            Some((i, first, steps)) => first + steps + (instruction - i - 1),
            None => instruction,
        }
    }

    /// The instruction and micro-step of machine step `index`.
    pub(crate) fn position(&self, index: u64) -> Position {
        let at = self.multi.partition_point(|(_, first, _)| *first <= index);
        match at.checked_sub(1).map(|k| self.multi[k]) {
            Some((i, first, steps)) if index < first + steps => {
                Position { instruction: i, micro: index - first }
            }
            Some((i, first, steps)) => {
                Position { instruction: i + 1 + (index - first - steps), micro: 0 }
            }
            None => Position { instruction: index, micro: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_without_multi_steps() {
        let n = Numbering::default();
        assert_eq!(n.machine_index(7), 7);
        assert_eq!(n.position(7), Position { instruction: 7, micro: 0 });
    }

    #[test]
    fn multi_steps_shift_later_indices() {
        let mut n = Numbering::default();
        for i in 0..10 {
            n.record(
                i,
                if i == 2 {
                    3
                } else if i == 5 {
                    2
                } else {
                    1
                },
            );
        }
        // Instructions: 0 1 2(3 steps) 3 4 5(2 steps) 6 ...
        let machine: Vec<u64> = (0..8).map(|i| n.machine_index(i)).collect();
        assert_eq!(machine, [0, 1, 2, 5, 6, 7, 9, 10]);
        let positions: Vec<(u64, u64)> =
            (0..11).map(|m| n.position(m)).map(|p| (p.instruction, p.micro)).collect();
        assert_eq!(
            positions,
            [
                (0, 0),
                (1, 0),
                (2, 0),
                (2, 1),
                (2, 2),
                (3, 0),
                (4, 0),
                (5, 0),
                (5, 1),
                (6, 0),
                (7, 0)
            ]
        );
    }
}
