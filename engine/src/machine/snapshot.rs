//! The prover's side of a step: a frame held in full (code, stack items, memory bytes), from
//! which the frame commitment and the witness of the step at its `pc` are built. The lazy
//! trace reconstructs such a snapshot at any step index and asks it for `commitment(i)` and
//! `witness(i)`; the executor checks the witness against the commitment alone.

use super::{
    Bytes32Tree, CodeTree, Frame, FrameKind, MachineState, OPCODES, StackCommitment, StepWitness,
    WORD_TREE_DEPTH, WordTree, WordWitness, opcode::immediate_len,
};
use crate::Result;
use alloy_primitives::{Address, B256, U256};
use std::sync::Arc;

/// A call frame in full, at the start of a step.
#[derive(Clone, Debug)]
pub struct FrameSnapshot {
    /// How the frame was entered.
    pub kind: FrameKind,
    /// Inside a STATICCALL.
    pub is_static: bool,
    /// `ADDRESS`.
    pub address: Address,
    /// `CALLER`.
    pub caller: Address,
    /// `CALLVALUE`, in wei.
    pub value: U256,
    /// The frame's code (shared by every snapshot of the frame).
    pub code: Arc<CodeTree>,
    /// The program counter.
    pub pc: u32,
    /// Gas left, before the step.
    pub gas: u64,
    /// The stack, bottom first, with its hash chain (see [`FrameSnapshot::set_stack`]).
    pub stack: Stack,
    /// Memory, a whole number of 32-byte words, as its word tree.
    pub memory: WordTree,
    /// Calldata (shared by every snapshot of the frame).
    pub calldata: Arc<WordTree>,
    /// The last callee's output.
    pub returndata: Arc<WordTree>,
    /// Where the caller wants the output.
    pub return_window: (u32, u32),
    /// `H(encode(Checkpoint))` at frame entry.
    pub checkpoint: B256,
}

/// A stack with its hash chain `h_0 … h_n` (spec §2.3), kept incrementally: syncing with a
/// new stack rehashes only from the first item that changed.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    items: Vec<U256>,
    hashes: Vec<B256>,
}

impl Stack {
    /// A stack holding `items` (bottom first).
    pub fn new(items: &[U256]) -> Self {
        let mut stack = Self::default();
        stack.sync(items);
        stack
    }

    /// Makes this stack equal to `items`, rehashing from the first differing item.
    pub fn sync(&mut self, items: &[U256]) {
        self.sync_above(items, 0);
    }

    /// Like [`Stack::sync`], trusting that the bottom `unchanged` items are equal (an EVM step
    /// touches only the items it pops), so only the items above are compared.
    pub fn sync_above(&mut self, items: &[U256], unchanged: usize) {
        if self.hashes.is_empty() {
            self.hashes.push(B256::ZERO);
        }
        let unchanged = unchanged.min(self.items.len()).min(items.len());
        let same = unchanged
            + self.items[unchanged..]
                .iter()
                .zip(&items[unchanged..])
                .take_while(|(a, b)| a == b)
                .count();
        self.items.truncate(same);
        self.hashes.truncate(same + 1);
        for item in &items[same..] {
            let next = super::memo::stack_push_memo(
                &self.hashes[self.hashes.len() - 1],
                &B256::from(*item),
            );
            self.hashes.push(next);
            self.items.push(*item);
        }
    }

    /// The items, bottom first.
    pub fn items(&self) -> &[U256] {
        &self.items
    }

    /// The commitment `(n, h_n)`.
    pub fn commitment(&self) -> StackCommitment {
        self.commitment_below(self.items.len())
    }

    /// The commitment to the bottom `n` items.
    fn commitment_below(&self, n: usize) -> StackCommitment {
        StackCommitment { size: n as u16, hash: self.hashes.get(n).copied().unwrap_or_default() }
    }
}

impl FrameSnapshot {
    /// The frame's commitment (spec §4.2).
    ///
    /// # Errors
    ///
    /// None today; the signature leaves room for commitments that can fail to build.
    pub fn frame(&self) -> Result<Frame> {
        let memory = &self.memory;
        Ok(Frame {
            kind: self.kind,
            is_static: self.is_static,
            address: self.address,
            caller: self.caller,
            value: self.value,
            code_root: self.code.root(),
            code_size: self.code.size() as u32,
            code_hash: self.code.code_hash(),
            pc: self.pc,
            gas: self.gas,
            stack: self.stack.commitment(),
            memory: Bytes32Tree { len: (memory.len() / 32) as u32, root: memory.root() },
            calldata: tree(&self.calldata),
            returndata: tree(&self.returndata),
            return_window: self.return_window,
            checkpoint: self.checkpoint,
        })
    }

    /// The witness of the step at this snapshot's `pc`, for the header `state` (whose
    /// `frame_hash` must be this frame's).
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] for a write past 2^22 words.
    pub fn witness(&self, state: MachineState) -> Result<StepWitness> {
        let frame = self.frame()?;
        let pc = self.pc as usize;
        let size = self.code.size();
        let opcode = self.code_byte(pc);
        let info = OPCODES[opcode as usize];

        let mut chunks = Vec::new();
        if pc < size {
            chunks.push(self.code.chunk((pc / 32) as u32)?);
            let n = immediate_len(opcode);
            if n > 0 && pc % 32 + n >= 32 && pc / 32 + 1 < size.div_ceil(32) {
                chunks.push(self.code.chunk((pc / 32 + 1) as u32)?);
            }
        }

        let items = self.stack.items();
        let inputs = usize::from(info.inputs).min(items.len());
        let split = items.len() - inputs;
        let operands = items[split..].to_vec();
        let arg = |k: usize| operands.len().checked_sub(1 + k).map(|i| operands[i]);

        // Taken jumps carry the target's chunk.
        let target = match opcode {
            0x56 => arg(0),
            0x57 if arg(1).is_some_and(|c| !c.is_zero()) => arg(0),
            _ => None,
        };
        if let Some(target) = target.and_then(|t| usize::try_from(t).ok()).filter(|t| *t < size) {
            let index = (target / 32) as u32;
            if chunks.iter().all(|c| c.index != index) {
                chunks.push(self.code.chunk(index)?);
            }
        }

        let mut memory = Vec::new();
        let access = match opcode {
            0x51 => arg(0).map(|o| (o, 32, None)),
            0x52 => arg(0).zip(arg(1)).map(|(o, v)| (o, 32, Some(v.to_be_bytes::<32>().to_vec()))),
            0x53 => arg(0).zip(arg(1)).map(|(o, v)| (o, 1, Some(vec![v.byte(0)]))),
            _ => None,
        };
        if let Some((offset, len, write)) = access
            && let Ok(offset) = u64::try_from(offset)
            && offset.checked_add(len).is_some_and(|end| end.div_ceil(32) <= 1 << WORD_TREE_DEPTH)
        {
            let mut tree = self.memory.clone();
            let (first, last) = (offset / 32, (offset + len - 1) / 32);
            for index in first..=last {
                let word = tree.word(index);
                memory.push(WordWitness { word, proof: tree.proof(index)? });
                if let Some(data) = &write {
                    // Apply this word's share of the write, so the next proof is against the
                    // root after it (spec §5.2).
                    let start = offset.max(index * 32);
                    let end = (offset + len).min(index * 32 + 32);
                    tree.write(start, &data[(start - offset) as usize..(end - offset) as usize])?;
                }
            }
        }

        let mut calldata = Vec::new();
        if opcode == 0x35
            && let Some(offset) = arg(0).and_then(|o| u64::try_from(o).ok())
            && offset < self.calldata.len()
        {
            let first = offset / 32;
            let count = if offset % 32 == 0 { 1 } else { 2 };
            for index in first..first + count {
                let word = self.calldata.word(index);
                calldata.push(WordWitness { word, proof: self.calldata.proof(index)? });
            }
        }

        Ok(StepWitness {
            code: chunks,
            stack_rest: self.stack.commitment_below(split).hash,
            stack: operands,
            memory,
            calldata,
            ..StepWitness::new(state, frame)
        })
    }

    /// The opcode at `pc` (STOP past the end).
    pub fn code_byte(&self, pc: usize) -> u8 {
        self.code.byte(pc)
    }
}

fn tree(tree: &WordTree) -> Bytes32Tree {
    Bytes32Tree { len: tree.len() as u32, root: tree.root() }
}
