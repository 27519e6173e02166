//! Step numbering (spec §1): how the revm instructions of a transaction map to the machine's
//! step indices.
//!
//! Today one revm instruction is one machine step, so the mapping is the identity. The spec
//! splits some instructions into several machine steps (KECCAK256, the copies and LOGn run as
//! micro-steps, §5.5) and adds boundary steps (frame entry/exit §6, transaction begin/end
//! §8). [`machine_steps`] is the one place that decides how many machine steps an instruction
//! makes; [`Numbering`] records only the instructions that make more than one, so the common
//! case costs nothing while recording and the mapping stays a binary search.

use alloy_primitives::U256;

/// How many machine steps the revm instruction `opcode` makes, given the stack before it
/// (`stack`, bottom first, so operands are at the end).
///
/// Always 1 in this version. The micro-step work (spec §5.5) wires its counts here: e.g.
/// KECCAK256 of `len` bytes becomes `1 + ⌈(len + 1)/136⌉` steps, a copy of `len` bytes
/// `1 + ⌈len/32⌉`. Boundary steps (§6, §8) will be added by the recorder at frame entry and
/// exit rather than here, since they belong to no instruction.
#[inline(always)]
pub fn machine_steps(opcode: u8, stack: &[U256]) -> u64 {
    let _ = (opcode, stack);
    1
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
