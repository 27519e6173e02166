//! The executor's side of the instructions over unbounded data (spec §5.5): the opening step of
//! KECCAK256, CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY and LOG0–LOG4 (all gas
//! charged, operands popped, a [`Pending`] micro-operation opened), and each micro-step after
//! it.

use super::{
    CODE_TREE_DEPTH, Chain, CodeChunk, CodeTree, KECCAK_RATE, Pending, PendingKind, Sponge,
    WORD_TREE_DEPTH,
    code::leaf,
    execute::{Step, StepResult, Stop, bad},
    hash_pair,
    pending::{
        CopyDest, CopySource, CopyState, SPONGE_SOURCE_MEMORY, SpongePurpose, SpongeState, log_item,
    },
};
use alloy_primitives::{Address, B256, U256};

/// `H("")`: the digest of an empty input.
pub(crate) const KECCAK_EMPTY: B256 = alloy_primitives::KECCAK256_EMPTY;

/// Gas per 32-byte word copied (CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY).
pub(crate) const COPY_WORD_GAS: u64 = 3;
/// Gas per 32-byte word hashed by KECCAK256.
pub(crate) const KECCAK_WORD_GAS: u64 = 6;
/// Gas per LOG topic.
pub(crate) const LOG_TOPIC_GAS: u64 = 375;
/// Gas per byte of LOG data.
pub(crate) const LOG_DATA_GAS: u64 = 8;

impl Step<'_> {
    /// A length operand: above 2^32 bytes no gas limit pays for it (memory past the machine's
    /// bound, spec §2.1), so it halts.
    fn length(&self, value: U256) -> StepResult<u64> {
        u32::try_from(value).map(u64::from).map_err(|_| Stop::Halt)
    }

    /// Opens `pending` in the post-state: the `pc` stays on the instruction.
    fn open(&mut self, pending: Pending, next_pc: &mut u64) {
        self.header.pending_kind = pending.kind();
        self.header.pending_hash = pending.hash();
        *next_pc = u64::from(self.frame.pc);
    }

    /// The opening step (spec §5.5); the operands are popped and the static gas charged.
    /// Returns what is pushed (only a zero-length KECCAK256 pushes, `H("")`); `next_pc` stays
    /// on the instruction when a micro-operation is opened.
    pub(super) fn open_micro(&mut self, next_pc: &mut u64) -> StepResult<Vec<U256>> {
        match self.opcode {
            0x20 => {
                let len = self.length(self.arg(1))?;
                self.charge(KECCAK_WORD_GAS * len.div_ceil(32))?;
                if len == 0 {
                    return Ok(vec![U256::from_be_bytes(KECCAK_EMPTY.0)]);
                }
                let offset = self.expand(self.arg(0), len)?;
                let sponge = sponge_state(offset, len, SpongePurpose::Push);
                self.open(Pending::Keccak(sponge), next_pc);
                Ok(vec![])
            }
            0x37 | 0x39 | 0x3c | 0x3e | 0x5e => {
                self.open_copy(next_pc)?;
                Ok(vec![])
            }
            0xa0..=0xa4 => {
                if self.frame.is_static {
                    return Err(Stop::Halt); // spec §5.1 step 3
                }
                let count = usize::from(self.opcode - 0xa0);
                let len = self.length(self.arg(1))?;
                self.charge(LOG_TOPIC_GAS * count as u64 + LOG_DATA_GAS * len)?;
                let topics: Vec<B256> = (0..count).map(|k| B256::from(self.arg(2 + k))).collect();
                if len == 0 {
                    self.append_log(&topics, KECCAK_EMPTY);
                    return Ok(vec![]);
                }
                let offset = self.expand(self.arg(0), len)?;
                let data = sponge_state(offset, len, SpongePurpose::LogData);
                self.open(Pending::Log { topics, data }, next_pc);
                Ok(vec![])
            }
            other => Err(Stop::unsupported(other, "not a micro-stepped opcode")),
        }
    }

    /// The opening of a copy: operands `(dest, source, len)`, after EXTCODECOPY's `address`.
    /// Every charge comes before the source is read, so a halt needs no account or code.
    fn open_copy(&mut self, next_pc: &mut u64) -> StepResult<()> {
        let first = usize::from(self.opcode == 0x3c);
        let (dest, source) = (self.arg(first), self.arg(first + 1));
        let len = self.length(self.arg(first + 2))?;
        if self.opcode == 0x3e {
            // RETURNDATACOPY past the return data halts, whatever the length (EIP-211).
            let end = source.saturating_add(U256::from(len));
            if end > U256::from(self.frame.returndata.len) {
                return Err(Stop::Halt);
            }
        }
        let address = Address::from_word(B256::from(self.arg(0)));
        if self.opcode == 0x3c {
            self.access_account(address)?; // charged even when nothing is copied (spec §5.2)
        }
        self.charge(COPY_WORD_GAS * len.div_ceil(32))?;
        if len == 0 {
            return Ok(());
        }
        if self.opcode == 0x5e {
            self.expand(source, len)?;
        }
        let dest_offset = self.expand(dest, len)?;
        let (kind, root, source_len) = match self.opcode {
            0x37 => (CopySource::Calldata, self.frame.calldata.root, self.frame.calldata.len),
            0x39 => (CopySource::Code, self.frame.code_root, self.frame.code_size),
            0x3c => {
                let tree = self.account_code_tree(address)?;
                (CopySource::ExtCode, tree.root(), tree.size() as u32)
            }
            0x3e => (CopySource::Returndata, self.frame.returndata.root, self.frame.returndata.len),
            // MCOPY: memory as it is after both expansions (which never change the root, spec
            // §2.1), at most 2^27 bytes.
            _ => {
                let len = self.frame.memory.len.checked_mul(32).ok_or(Stop::Halt)?;
                (CopySource::Memory, self.frame.memory.root, len)
            }
        };
        let copy = CopyState {
            source: kind,
            source_root: root,
            source_len,
            source_offset: source.min(U256::from(source_len)).to::<u32>(),
            dest: CopyDest::Memory,
            dest_offset: dest_offset as u32,
            remaining: len as u32,
        };
        self.open(Pending::Copy(copy), next_pc);
        Ok(())
    }

    /// The code tree of `address`'s code (spec §2.2, §5.2), the copy source of EXTCODECOPY:
    /// the account proven against the state root, its code taken from the witness and checked
    /// against its code hash; an absent account has empty code.
    fn account_code_tree(&self, address: Address) -> StepResult<CodeTree> {
        let code = match self.tries().account(self.header.state_root, address)? {
            Some(account) => self.code_of(&account)?,
            None => &[],
        };
        Ok(CodeTree::new(code)?)
    }

    /// One micro-step of the pending operation (spec §5.5).
    pub(super) fn micro_step(&mut self) -> StepResult<()> {
        let pending = self
            .witness
            .pending
            .as_ref()
            .ok_or(bad("a micro-step's witness lacks the pending operation"))?;
        if let Pending::Log { topics, .. } = pending
            && topics.len() > Pending::MAX_TOPICS
        {
            return Err(bad("a pending log has more than four topics"));
        }
        if pending.kind() != self.header.pending_kind || pending.hash() != self.header.pending_hash
        {
            return Err(bad("the pending operation does not hash to the header's"));
        }
        // The instruction is known from the pending operation: no code fetch.
        self.opcode = match pending {
            Pending::Keccak(_) => 0x20,
            Pending::Log { topics, .. } => 0xa0 + topics.len() as u8,
            Pending::Copy(_) => 0,
            Pending::Call(call) => return self.call_step(call),
            Pending::Create(create) => return self.create_step(create),
            Pending::Output { success, copy } => return self.output_step(*success, *copy),
            Pending::Exit(exit) => return self.exit(exit),
            Pending::TxBegin(begin) => return self.tx_begin_step(begin),
            Pending::TxEnd(end) => return self.deletion_step(end),
        };
        match pending {
            Pending::Keccak(sponge) => {
                if sponge.purpose != SpongePurpose::Push {
                    return Err(bad("a KECCAK256 sponge must push its digest"));
                }
                match self.absorb(sponge)? {
                    Ok(next) => self.reopen(Pending::Keccak(next)),
                    Err(digest) => {
                        self.frame.stack = self.frame.stack.push(U256::from_be_bytes(digest.0));
                        self.finish()?;
                    }
                }
            }
            Pending::Log { topics, data } => {
                if data.purpose != SpongePurpose::LogData {
                    return Err(bad("a log's sponge must hash the log data"));
                }
                match self.absorb(data)? {
                    Ok(next) => self.reopen(Pending::Log { topics: topics.clone(), data: next }),
                    Err(digest) => {
                        self.append_log(topics, digest);
                        self.finish()?;
                    }
                }
            }
            Pending::Copy(copy) => match self.copy_word(copy)? {
                Some(next) => self.reopen(Pending::Copy(next)),
                None => self.finish()?,
            },
            Pending::Call(_)
            | Pending::Create(_)
            | Pending::Output { .. }
            | Pending::Exit(_)
            | Pending::TxBegin(_)
            | Pending::TxEnd(_) => {} // returned above
        }
        Ok(())
    }

    /// Keeps a micro-operation pending with its new state.
    fn reopen(&mut self, pending: Pending) {
        self.header.pending_hash = pending.hash();
    }

    /// The last micro-step: the pending operation closes and `pc` moves past the instruction
    /// (every micro-stepped opcode is one byte).
    fn finish(&mut self) -> StepResult<()> {
        self.header.pending_kind = PendingKind::None;
        self.header.pending_hash = B256::ZERO;
        self.frame.pc = self.frame.pc.checked_add(1).ok_or(Stop::Halt)?;
        Ok(())
    }

    /// Appends the log item (spec §2.5) to the header's log chain.
    fn append_log(&mut self, topics: &[B256], data_hash: B256) {
        let item = log_item(&self.frame.address, topics, data_hash);
        let logs = self.header.logs;
        self.header.logs = Chain { count: logs.count + 1, acc: hash_pair(&logs.acc, &item) };
    }

    /// A sponge micro-step: with at least 136 bytes left, absorbs the next full block (`Ok`
    /// with the new state); else pads the rest and squeezes the digest (`Err(digest)`).
    fn absorb(
        &mut self,
        state: &SpongeState,
    ) -> StepResult<std::result::Result<SpongeState, B256>> {
        if state.source != SPONGE_SOURCE_MEMORY {
            return Err(Stop::unsupported(self.opcode, "a sponge over a source other than memory"));
        }
        let (offset, remaining) = (u64::from(state.offset), state.remaining as usize);
        let take = remaining.min(KECCAK_RATE);
        let bytes = if take == 0 {
            if !self.witness.memory.is_empty() {
                return Err(bad("the memory witness has the wrong number of words"));
            }
            Vec::new()
        } else {
            self.memory_words(offset, take as u64, None)?
        };
        let mut sponge: Sponge = state.sponge;
        if remaining >= KECCAK_RATE {
            let block: &[u8; KECCAK_RATE] =
                bytes.as_slice().try_into().map_err(|_| bad("short block"))?;
            sponge.absorb(block);
            return Ok(Ok(SpongeState {
                sponge,
                offset: state.offset + KECCAK_RATE as u32,
                remaining: state.remaining - KECCAK_RATE as u32,
                ..*state
            }));
        }
        Ok(Err(sponge.finish(&bytes)))
    }

    /// A copy micro-step: the destination word holding `dest_offset` gets the next
    /// `n = min(remaining, 32 - dest_offset mod 32)` bytes. Returns the copy's next state, or
    /// `None` when it is done.
    fn copy_word(&mut self, copy: &CopyState) -> StepResult<Option<CopyState>> {
        if copy.dest != CopyDest::Memory {
            return Err(Stop::unsupported(self.opcode, "a copy to another buffer"));
        }
        if copy.remaining == 0 || copy.source_offset > copy.source_len {
            return Err(bad("a pending copy is malformed"));
        }
        let n = copy.remaining.min(32 - copy.dest_offset % 32);
        let bytes = self.source_bytes(copy, n)?;
        self.memory_words(u64::from(copy.dest_offset), u64::from(n), Some(&bytes))?;
        if copy.remaining == n {
            return Ok(None);
        }
        Ok(Some(CopyState {
            source_offset: copy.source_offset.saturating_add(n).min(copy.source_len),
            dest_offset: copy.dest_offset + n,
            remaining: copy.remaining - n,
            ..*copy
        }))
    }

    /// Source bytes `[source_offset, source_offset + n)`, zero at or past `source_len`: the
    /// words below `source_len` that the range touches are read from the witness, in order,
    /// each verified against the source root.
    fn source_bytes(&self, copy: &CopyState, n: u32) -> StepResult<Vec<u8>> {
        let start = u64::from(copy.source_offset);
        let end = (start + u64::from(n)).min(u64::from(copy.source_len));
        let mut bytes = vec![0u8; n as usize];
        if start >= end {
            let extra = !self.witness.source.is_empty() || !self.witness.source_code.is_empty();
            return if extra {
                Err(bad("the source witness has the wrong number of words"))
            } else {
                Ok(bytes)
            };
        }
        let (first, last) = (start / 32, (end - 1) / 32);
        let count = (last - first + 1) as usize;
        let mut words = Vec::with_capacity(count);
        if matches!(copy.source, CopySource::Code | CopySource::ExtCode) {
            let chunks: &[CodeChunk] = &self.witness.source_code;
            if chunks.len() != count || !self.witness.source.is_empty() {
                return Err(bad("the source witness has the wrong number of chunks"));
            }
            for (k, chunk) in chunks.iter().enumerate() {
                let index = first + k as u64;
                if u64::from(chunk.index) != index
                    || chunk.proof.index != index
                    || !chunk.proof.verifies(
                        CODE_TREE_DEPTH,
                        leaf(&chunk.bytes, chunk.push_prefix),
                        copy.source_root,
                    )
                {
                    return Err(bad("a code chunk does not verify against the copy's source root"));
                }
                words.push(chunk.bytes);
            }
        } else {
            let list = &self.witness.source;
            if list.len() != count || !self.witness.source_code.is_empty() {
                return Err(bad("the source witness has the wrong number of words"));
            }
            for (k, w) in list.iter().enumerate() {
                if w.proof.index != first + k as u64
                    || !w.proof.verifies(WORD_TREE_DEPTH, w.word, copy.source_root)
                {
                    return Err(bad(
                        "a source word does not verify against the copy's source root",
                    ));
                }
                words.push(w.word.0);
            }
        }
        for position in start..end {
            let word = &words[(position / 32 - first) as usize];
            bytes[(position - start) as usize] = word[(position % 32) as usize];
        }
        Ok(bytes)
    }
}

fn sponge_state(offset: u64, len: u64, purpose: SpongePurpose) -> SpongeState {
    SpongeState {
        sponge: Sponge::new(),
        source: SPONGE_SOURCE_MEMORY,
        offset: offset as u32,
        remaining: len as u32,
        purpose,
    }
}
