//! The prover's side of micro-steps (spec §5.5): from a frame held in full at the start of a
//! KECCAK256, copy or LOG instruction, the machine states after its opening step and after each
//! micro-step, and the witness of each micro-step. The prover computes every pending state
//! from the frame's own data (memory, calldata, return data, code) and, for EXTCODECOPY, from
//! its own world ([`WorldView`]), never from the executor.

use super::{
    CodeChunk, CodeTree, Family, FrameSnapshot, KECCAK_RATE, MachineState, OPCODES, Pending,
    PendingKind, Sponge, StepWitness, TrieWitness, Tries, WORD_TREE_DEPTH, WordTree, WordWitness,
    address_key, hash_pair, memory_cost,
    micro::{COPY_WORD_GAS, KECCAK_EMPTY, KECCAK_WORD_GAS, LOG_DATA_GAS, LOG_TOPIC_GAS},
    pending::{
        CopyDest, CopySource, CopyState, SPONGE_SOURCE_MEMORY, SpongePurpose, SpongeState, log_item,
    },
    warm_by_rule,
};
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, U256};
use std::{collections::HashMap, sync::Arc};

/// The prover's world, for the opening step of EXTCODECOPY (spec §5.2): it charges the
/// EIP-2929 access to an account and copies from the account's code.
#[derive(Clone, Copy, Debug)]
pub struct WorldView<'a> {
    /// Every node of the state trie and the warm-address set at the header's roots
    /// (`state_root`, `warm_addresses`).
    pub nodes: &'a TrieWitness,
    /// The block's coinbase, warm by rule (EIP-3651).
    pub coinbase: Address,
    /// Account code by code hash (`H("")` need not be present).
    pub codes: &'a HashMap<B256, Bytes>,
}

impl WorldView<'_> {
    /// The EIP-2929 access to `address` from the warm-address set with root `warm`: the gas
    /// (100 warm, 2,600 cold) and the set's root after it.
    fn access(&self, warm: B256, address: Address) -> Result<(u64, B256)> {
        let tries = Tries { nodes: self.nodes };
        let key = address_key(address);
        if warm_by_rule(address, self.coinbase) || tries.contains(warm, key)? {
            return Ok((100, warm));
        }
        Ok((2600, tries.insert(warm, key)?))
    }

    /// The code tree of `address`'s code in the state with `state_root` (empty code for an
    /// absent account).
    fn code_tree(&self, state_root: B256, address: Address) -> Result<CodeTree> {
        let account = Tries { nodes: self.nodes }.account(state_root, address)?;
        match account.map(|a| a.code_hash).filter(|hash| *hash != KECCAK_EMPTY) {
            None => Ok(CodeTree::empty()),
            Some(hash) => CodeTree::new(self.codes.get(&hash).ok_or(Error::UnsupportedStep {
                opcode: 0x3c,
                reason: "the prover lacks the code of the account EXTCODECOPY reads",
            })?),
        }
    }
}

/// What one micro-step does, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MicroStepKind {
    /// A sponge micro-step absorbing a full 136-byte block.
    Absorb,
    /// The sponge's last micro-step: padding, the digest, and its use.
    Pad,
    /// A copy micro-step writing one destination word.
    Word,
}

impl MicroStepKind {
    /// A short name: `absorb`, `pad`, `word`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Absorb => "absorb",
            Self::Pad => "pad",
            Self::Word => "word",
        }
    }
}

/// An instruction run as micro-steps, as the prover models it: the machine state before the
/// next micro-step, starting with the state after the opening step.
#[derive(Clone, Debug)]
pub struct MicroRun {
    /// The header (its `frame_hash` is recomputed from `frame`).
    state: MachineState,
    /// The frame.
    frame: FrameSnapshot,
    /// The micro-operation in progress; `None` once the instruction is done.
    pending: Option<Pending>,
    /// The copy's source when it is not one of the frame's live trees: memory as it was at
    /// MCOPY's opening.
    memory_source: Option<Arc<WordTree>>,
    /// The code tree EXTCODECOPY copies from.
    ext_code: Option<Arc<CodeTree>>,
}

impl MicroRun {
    /// The state after the opening step of the micro-stepped instruction at `snapshot`'s `pc`,
    /// with the header `state` around the frame before it; `world` holds what EXTCODECOPY
    /// reads (the other instructions read no world).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedStep`] when the instruction is not micro-stepped, halts at its
    /// opening (out of gas, static violation, RETURNDATACOPY out of bounds, stack underflow),
    /// or is EXTCODECOPY without a `world` that holds the account's code; trie errors when
    /// `world` lacks a node of the account or the warm-address set.
    pub fn open(
        snapshot: &FrameSnapshot,
        state: MachineState,
        world: Option<WorldView<'_>>,
    ) -> Result<Self> {
        let opcode = snapshot.code_byte(snapshot.pc as usize);
        let info = OPCODES[opcode as usize];
        if info.family != Family::Micro {
            return Err(Error::UnsupportedStep { opcode, reason: "not a micro-stepped opcode" });
        }
        let items = snapshot.stack.items();
        let inputs = usize::from(info.inputs);
        let Some(base) = items.len().checked_sub(inputs) else { return Err(halt(opcode)) };
        let arg = |k: usize| items[items.len() - 1 - k];
        let length = |v: U256| u32::try_from(v).map(u64::from).map_err(|_| halt(opcode));

        let mut frame = snapshot.clone();
        frame.stack.sync(&items[..base]);
        let mut run = Self { state, frame, pending: None, memory_source: None, ext_code: None };
        let memory_before = run.frame.memory.len();
        let mut memory_after = memory_before;
        let mut grow = |offset: U256, len: u64| -> Result<u64> {
            let offset = u64::try_from(offset)
                .ok()
                .filter(|o| *o <= u64::from(u32::MAX))
                .ok_or_else(|| halt(opcode))?;
            let end = (offset + len).div_ceil(32) * 32;
            if end > 32 << WORD_TREE_DEPTH {
                return Err(halt(opcode));
            }
            memory_after = memory_after.max(end);
            Ok(offset)
        };
        let mut gas = info.static_gas;
        match opcode {
            0x20 => {
                let len = length(arg(1))?;
                gas += KECCAK_WORD_GAS * len.div_ceil(32);
                if len == 0 {
                    run.frame
                        .stack
                        .sync(&[&items[..base], &[U256::from_be_bytes(KECCAK_EMPTY.0)]].concat());
                } else {
                    let offset = grow(arg(0), len)?;
                    run.pending = Some(Pending::Keccak(sponge(offset, len, SpongePurpose::Push)));
                }
            }
            0xa0..=0xa4 => {
                if snapshot.is_static {
                    return Err(halt(opcode));
                }
                let count = usize::from(opcode - 0xa0);
                let len = length(arg(1))?;
                gas += LOG_TOPIC_GAS * count as u64 + LOG_DATA_GAS * len;
                let topics: Vec<B256> = (0..count).map(|k| B256::from(arg(2 + k))).collect();
                if len == 0 {
                    run.append_log(&topics, KECCAK_EMPTY);
                } else {
                    let offset = grow(arg(0), len)?;
                    let data = sponge(offset, len, SpongePurpose::LogData);
                    run.pending = Some(Pending::Log { topics, data });
                }
            }
            _ => {
                // EXTCODECOPY's operands start with the address.
                let first = usize::from(opcode == 0x3c);
                let (dest, source, len) = (arg(first), arg(first + 1), length(arg(first + 2))?);
                let returndata_len = snapshot.returndata.len();
                if opcode == 0x3e
                    && source.saturating_add(U256::from(len)) > U256::from(returndata_len)
                {
                    return Err(halt(opcode));
                }
                let address = Address::from_word(B256::from(arg(0)));
                let world = match (opcode, world) {
                    (0x3c, None) => {
                        return Err(Error::UnsupportedStep {
                            opcode,
                            reason: "EXTCODECOPY reads the world, which the prover was not given",
                        });
                    }
                    (0x3c, Some(world)) => {
                        let (access, warm) = world.access(state.warm_addresses, address)?;
                        gas += access;
                        run.state.warm_addresses = warm;
                        Some(world)
                    }
                    _ => None,
                };
                gas += COPY_WORD_GAS * len.div_ceil(32);
                if len > 0 {
                    if opcode == 0x5e {
                        grow(source, len)?;
                    }
                    let dest_offset = grow(dest, len)?;
                    let (kind, root, source_len) = match (opcode, world) {
                        (0x37, _) => (
                            CopySource::Calldata,
                            snapshot.calldata.root(),
                            snapshot.calldata.len(),
                        ),
                        (0x39, _) => {
                            (CopySource::Code, snapshot.code.root(), snapshot.code.size() as u64)
                        }
                        (0x3c, Some(world)) => {
                            let tree = Arc::new(world.code_tree(state.state_root, address)?);
                            run.ext_code = Some(tree.clone());
                            (CopySource::ExtCode, tree.root(), tree.size() as u64)
                        }
                        (0x3e, _) => {
                            (CopySource::Returndata, snapshot.returndata.root(), returndata_len)
                        }
                        _ => {
                            // MCOPY.
                            run.memory_source = Some(Arc::new(snapshot.memory.clone()));
                            (CopySource::Memory, snapshot.memory.root(), memory_after)
                        }
                    };
                    let source_len = source_len as u32;
                    run.pending = Some(Pending::Copy(CopyState {
                        source: kind,
                        source_root: root,
                        source_len,
                        source_offset: source.min(U256::from(source_len)).to::<u32>(),
                        dest: CopyDest::Memory,
                        dest_offset: dest_offset as u32,
                        remaining: len as u32,
                    }));
                }
            }
        }
        gas += memory_cost(memory_after / 32) - memory_cost(memory_before / 32);
        run.frame.gas = run.frame.gas.checked_sub(gas).ok_or_else(|| halt(opcode))?;
        run.frame.memory.expand(memory_after);
        match &run.pending {
            Some(pending) => {
                run.state.pending_kind = pending.kind();
                run.state.pending_hash = pending.hash();
            }
            None => run.frame.pc += 1,
        }
        Ok(run)
    }

    /// The run of a copy that a boundary step opened (the output's copy into the caller's
    /// return window, spec §6.2): `state` is the header with the copy pending, `frame` the
    /// frame it writes.
    pub(crate) fn resume(state: MachineState, frame: FrameSnapshot, pending: Pending) -> Self {
        Self { state, frame, pending: Some(pending), memory_source: None, ext_code: None }
    }

    /// The header of the current state, with its frame hash.
    ///
    /// # Errors
    ///
    /// As [`FrameSnapshot::frame`].
    pub fn header(&self) -> Result<MachineState> {
        Ok(MachineState { frame_hash: self.frame.frame()?.hash(), ..self.state })
    }

    /// The commitment to the current state.
    ///
    /// # Errors
    ///
    /// As [`FrameSnapshot::frame`].
    pub fn commitment(&self) -> Result<B256> {
        Ok(self.header()?.commitment())
    }

    /// The frame of the current state.
    pub fn frame(&self) -> &FrameSnapshot {
        &self.frame
    }

    /// Whether the instruction is done (no micro-step left).
    pub fn is_done(&self) -> bool {
        self.pending.is_none()
    }

    /// The witness of the next micro-step, and the state advanced past it; `None` when the
    /// instruction is done.
    ///
    /// # Errors
    ///
    /// [`Error::TreeOverflow`] for a word past the trees' bounds (a pending state the opening
    /// cannot produce).
    pub fn next_step(&mut self) -> Result<Option<(StepWitness, MicroStepKind)>> {
        let Some(pending) = self.pending.clone() else { return Ok(None) };
        let mut witness = StepWitness {
            stack_rest: self.frame.stack.commitment().hash,
            pending: Some(pending.clone()),
            ..StepWitness::new(self.header()?, self.frame.frame()?)
        };
        let kind = match pending {
            Pending::Keccak(data) => {
                let (kind, digest) = self.absorb(data, &mut witness, Pending::Keccak)?;
                if let Some(digest) = digest {
                    let mut items = self.frame.stack.items().to_vec();
                    items.push(U256::from_be_bytes(digest.0));
                    self.frame.stack.sync_above(&items, items.len() - 1);
                }
                kind
            }
            Pending::Log { topics, data } => {
                let more = topics.clone();
                let (kind, digest) = self.absorb(data, &mut witness, move |next| Pending::Log {
                    topics: more,
                    data: next,
                })?;
                if let Some(digest) = digest {
                    self.append_log(&topics, digest);
                }
                kind
            }
            Pending::Copy(copy) => {
                self.copy_word(copy, &mut witness)?;
                MicroStepKind::Word
            }
            Pending::Call(_)
            | Pending::Create(_)
            | Pending::Output { .. }
            | Pending::Exit(_)
            | Pending::TxBegin(_)
            | Pending::TxEnd(_) => {
                return Err(Error::UnsupportedStep {
                    opcode: 0,
                    reason: "frame boundaries are proven by the frame prover",
                });
            }
        };
        match &self.pending {
            Some(pending) => self.state.pending_hash = pending.hash(),
            None => {
                self.state.pending_kind = PendingKind::None;
                self.state.pending_hash = B256::ZERO;
                self.frame.pc += 1;
            }
        }
        Ok(Some((witness, kind)))
    }

    /// A sponge micro-step on the prover's memory; returns the digest at the last one.
    fn absorb(
        &mut self,
        data: SpongeState,
        witness: &mut StepWitness,
        wrap: impl FnOnce(SpongeState) -> Pending,
    ) -> Result<(MicroStepKind, Option<B256>)> {
        let take = (data.remaining as usize).min(KECCAK_RATE);
        let offset = u64::from(data.offset);
        let bytes = read(&self.frame.memory, offset, take as u64);
        if take > 0 {
            for index in offset / 32..=(offset + take as u64 - 1) / 32 {
                witness.memory.push(word_witness(&self.frame.memory, index)?);
            }
        }
        let mut sponge: Sponge = data.sponge;
        if take == KECCAK_RATE {
            let mut block = [0u8; KECCAK_RATE];
            block.copy_from_slice(&bytes);
            sponge.absorb(&block);
            self.pending = Some(wrap(SpongeState {
                sponge,
                offset: data.offset + KECCAK_RATE as u32,
                remaining: data.remaining - KECCAK_RATE as u32,
                ..data
            }));
            return Ok((MicroStepKind::Absorb, None));
        }
        self.pending = None;
        Ok((MicroStepKind::Pad, Some(sponge.finish(&bytes))))
    }

    /// A copy micro-step on the prover's memory.
    fn copy_word(&mut self, copy: CopyState, witness: &mut StepWitness) -> Result<()> {
        let n = copy.remaining.min(32 - copy.dest_offset % 32);
        let start = u64::from(copy.source_offset);
        let end = (start + u64::from(n)).min(u64::from(copy.source_len));
        let mut bytes = vec![0u8; n as usize];
        if start < end {
            for index in start / 32..=(end - 1) / 32 {
                let word = match copy.source {
                    CopySource::Code | CopySource::ExtCode => {
                        let chunk: CodeChunk =
                            self.code_source(copy.source)?.chunk(index as u32)?;
                        let bytes = chunk.bytes;
                        witness.source_code.push(chunk);
                        bytes
                    }
                    source => {
                        let tree = self.source_tree(source)?;
                        let w = word_witness(&tree, index)?;
                        let bytes = w.word.0;
                        witness.source.push(w);
                        bytes
                    }
                };
                for position in (index * 32).max(start)..(index * 32 + 32).min(end) {
                    bytes[(position - start) as usize] = word[(position % 32) as usize];
                }
            }
        }
        let dest = u64::from(copy.dest_offset);
        witness.memory.push(word_witness(&self.frame.memory, dest / 32)?);
        self.frame.memory.write(dest, &bytes)?;
        self.pending = (copy.remaining > n).then(|| {
            Pending::Copy(CopyState {
                source_offset: (copy.source_offset + n).min(copy.source_len),
                dest_offset: copy.dest_offset + n,
                remaining: copy.remaining - n,
                ..copy
            })
        });
        Ok(())
    }

    fn code_source(&self, source: CopySource) -> Result<&CodeTree> {
        match source {
            CopySource::Code => Some(&*self.frame.code),
            _ => self.ext_code.as_deref(),
        }
        .ok_or(Error::UnsupportedStep { opcode: 0, reason: "a copy source the prover lacks" })
    }

    fn source_tree(&self, source: CopySource) -> Result<Arc<WordTree>> {
        match source {
            CopySource::Memory => self.memory_source.clone(),
            CopySource::Calldata => Some(self.frame.calldata.clone()),
            CopySource::Returndata => Some(self.frame.returndata.clone()),
            CopySource::Code | CopySource::ExtCode => None,
        }
        .ok_or(Error::UnsupportedStep { opcode: 0, reason: "a copy source the prover lacks" })
    }

    fn append_log(&mut self, topics: &[B256], data_hash: B256) {
        let item = log_item(&self.frame.address, topics, data_hash);
        let logs = &mut self.state.logs;
        logs.acc = hash_pair(&logs.acc, &item);
        logs.count += 1;
    }
}

fn sponge(offset: u64, len: u64, purpose: SpongePurpose) -> SpongeState {
    SpongeState {
        sponge: Sponge::new(),
        source: SPONGE_SOURCE_MEMORY,
        offset: offset as u32,
        remaining: len as u32,
        purpose,
    }
}

/// Bytes `[offset, offset + len)` of a word tree.
fn read(tree: &WordTree, offset: u64, len: u64) -> Vec<u8> {
    (offset..offset + len).map(|p| tree.word(p / 32)[(p % 32) as usize]).collect()
}

fn word_witness(tree: &WordTree, index: u64) -> Result<WordWitness> {
    Ok(WordWitness { word: tree.word(index), proof: tree.proof(index)? })
}

/// The instruction halts (the prover does not open it; the executor's halting step covers it).
fn halt(opcode: u8) -> Error {
    Error::UnsupportedStep { opcode, reason: "exceptional halt" }
}
