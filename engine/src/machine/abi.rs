//! The L1 calldata encoding of a [`StepWitness`] (`docs/spec/verifier-abi.md`, version 1):
//! the `witness` bytes the Solidity verifier's `step(pre, witness)` decodes.
//!
//! Layout: `version u8 (0x01) ‖ MachineState (402) ‖ Frame (336) ‖ 20 sections`, each section
//! `len u32 ‖ body`, in the fixed order of [`Section`], nothing after the last. Integers are
//! big-endian. Code and word proofs carry exactly their tree's depth in siblings (12, 22) and
//! one `u32` index; the encoder refuses a witness whose proofs do not (no verifier would
//! accept it), so the encoding is canonical: [`StepWitness::decode_from_l1`] inverts
//! [`StepWitness::encode_for_l1`] and rejects everything it would not produce.

use super::{
    AccessChain, AccessItem, BlockContext, BufferCopy, CODE_TREE_DEPTH, CallPending, Chain,
    Checkpoint, CodeChunk, CopyDest, CopySource, CopyState, CreatePending, ForkId, Frame,
    FrameExit, FrameKind, LeafWitness, MachineState, MerkleProof, Pending, PendingKind,
    SPEC_VERSION, Sponge, SpongePurpose, SpongeState, StackCommitment, Status, StepWitness,
    TrieWitness, TxAccumulators, TxBegin, TxContext, TxEnd, TxEntry, WORD_TREE_DEPTH, WordWitness,
    state::Bytes32Tree,
};
use crate::{Error, Result};
use alloy_primitives::{Address, B256, Bytes, U256};

/// The version byte of the witness encoding (`docs/spec/verifier-abi.md`).
pub const WITNESS_ABI_VERSION: u8 = 1;

/// The sections of an encoded witness, in their order (`docs/spec/verifier-abi.md` §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Section {
    /// Code chunks: items of 421 bytes, `index u32 ‖ push_prefix u8 ‖ chunk b32 ‖ 12 × b32`.
    Code = 0,
    /// `stack_rest b32 ‖ operands (u256 each, bottom-most first)`.
    Stack = 1,
    /// Memory words: items of 740 bytes, `index u32 ‖ word b32 ‖ 22 × b32`.
    Memory = 2,
    /// Calldata words, as memory.
    Calldata = 3,
    /// The `BlockContext` (180 bytes) or nothing.
    Block = 4,
    /// The `TxContext` (125 bytes) or nothing.
    Tx = 5,
    /// A context-tree leaf, `index u32 ‖ leaf b32 ‖ k × b32`, or nothing.
    Leaf = 6,
    /// Trie nodes, each `len u32 ‖ rlp`, in ascending order of their hashes.
    Tries = 7,
    /// An account's code, `0x01 ‖ code`, or nothing.
    AccountCode = 8,
    /// The pending operation, `pending_kind u8 ‖ encode(Pending)` (spec §4.5), or nothing.
    Pending = 9,
    /// A copy's source words, as memory.
    Source = 10,
    /// A copy's source chunks, as code.
    SourceCode = 11,
    /// A buffer word (one memory-word item) or nothing.
    Buffer = 12,
    /// The exit step's caller frame (336 bytes) or nothing.
    CallerFrame = 13,
    /// The caller chain's accumulator below the caller frame (32 bytes).
    CallersRest = 14,
    /// A `Checkpoint` (236 bytes) or nothing.
    Checkpoint = 15,
    /// The `TxAccumulators` (72 bytes) or nothing.
    Accumulators = 16,
    /// A buffer carried whole, `0x01 ‖ bytes`, or nothing.
    Data = 17,
    /// An access-list item and the chain's rest, `AccessItem (53) ‖ rest b32`, or nothing.
    Access = 18,
    /// A deletion step's item, `acc b32 ‖ address`, or nothing.
    Popped = 19,
}

/// The number of sections.
pub const SECTIONS: usize = 20;

/// Bytes of one encoded code chunk.
pub const CHUNK_ITEM_LEN: usize = 4 + 1 + 32 + 32 * CODE_TREE_DEPTH as usize;

/// Bytes of one encoded word of a word tree.
pub const WORD_ITEM_LEN: usize = 4 + 32 + 32 * WORD_TREE_DEPTH as usize;

/// Bytes before the first section: version, header, frame.
pub const WITNESS_FIXED_LEN: usize = 1 + MachineState::ENCODED_LEN + Frame::ENCODED_LEN;

fn malformed(what: &'static str) -> Error {
    Error::BadWitness(what)
}

impl StepWitness {
    /// The witness as the L1 verifier takes it (`docs/spec/verifier-abi.md`).
    ///
    /// # Errors
    ///
    /// [`Error::BadWitness`] for a witness no verifier would accept and the encoding cannot
    /// hold: a code or word proof without exactly its tree's depth in siblings (12, 22), an
    /// index past `u32`, a code chunk whose index differs from its proof's, a log with more
    /// than four topics, a trie node or buffer over `u32::MAX` bytes.
    pub fn encode_for_l1(&self) -> Result<Bytes> {
        let mut out = Vec::with_capacity(WITNESS_FIXED_LEN + 2048);
        out.push(WITNESS_ABI_VERSION);
        out.extend_from_slice(&self.state.encode());
        out.extend_from_slice(&self.frame.encode());
        let mut sections: [Vec<u8>; SECTIONS] = Default::default();
        for chunk in self.code.iter().chain(&self.source_code) {
            if chunk.proof.index != u64::from(chunk.index) {
                return Err(malformed("a code chunk's index differs from its proof's"));
            }
        }
        sections[Section::Code as usize] = chunks(&self.code)?;
        let stack = &mut sections[Section::Stack as usize];
        stack.extend_from_slice(self.stack_rest.as_slice());
        for item in &self.stack {
            stack.extend_from_slice(&item.to_be_bytes::<32>());
        }
        sections[Section::Memory as usize] = words(&self.memory)?;
        sections[Section::Calldata as usize] = words(&self.calldata)?;
        if let Some(block) = &self.block {
            sections[Section::Block as usize] = block.encode();
        }
        if let Some(tx) = &self.tx {
            sections[Section::Tx as usize] = tx.encode();
        }
        if let Some(leaf) = &self.leaf {
            let out = &mut sections[Section::Leaf as usize];
            out.extend_from_slice(&index32(&leaf.proof)?.to_be_bytes());
            out.extend_from_slice(leaf.leaf.as_slice());
            for sibling in &leaf.proof.siblings {
                out.extend_from_slice(sibling.as_slice());
            }
        }
        let mut nodes: Vec<(B256, &Bytes)> =
            self.tries.nodes().map(|node| (alloy_primitives::keccak256(node), node)).collect();
        nodes.sort_unstable_by_key(|(hash, _)| *hash);
        nodes.dedup_by_key(|(hash, _)| *hash);
        for (_, node) in nodes {
            let out = &mut sections[Section::Tries as usize];
            out.extend_from_slice(&len32(node.len())?.to_be_bytes());
            out.extend_from_slice(node);
        }
        sections[Section::AccountCode as usize] = optional_bytes(self.account_code.as_ref());
        if let Some(pending) = &self.pending {
            if let Pending::Log { topics, .. } = pending
                && topics.len() > Pending::MAX_TOPICS
            {
                return Err(malformed("a log has more than four topics"));
            }
            let out = &mut sections[Section::Pending as usize];
            out.push(pending.kind() as u8);
            out.extend_from_slice(&pending.encode());
        }
        sections[Section::Source as usize] = words(&self.source)?;
        sections[Section::SourceCode as usize] = chunks(&self.source_code)?;
        if let Some(buffer) = &self.buffer {
            sections[Section::Buffer as usize] = words(std::slice::from_ref(buffer))?;
        }
        if let Some(frame) = &self.caller_frame {
            sections[Section::CallerFrame as usize] = frame.encode();
        }
        sections[Section::CallersRest as usize] = self.callers_rest.to_vec();
        if let Some(checkpoint) = &self.checkpoint {
            sections[Section::Checkpoint as usize] = checkpoint.encode();
        }
        if let Some(accumulators) = &self.accumulators {
            sections[Section::Accumulators as usize] = accumulators.encode();
        }
        sections[Section::Data as usize] = optional_bytes(self.data.as_ref());
        if let Some((item, rest)) = &self.access {
            let out = &mut sections[Section::Access as usize];
            out.extend_from_slice(&item.encode());
            out.extend_from_slice(rest.as_slice());
        }
        if let Some((acc, address)) = &self.popped {
            let out = &mut sections[Section::Popped as usize];
            out.extend_from_slice(acc.as_slice());
            out.extend_from_slice(address.as_slice());
        }
        for section in sections {
            out.extend_from_slice(&len32(section.len())?.to_be_bytes());
            out.extend_from_slice(&section);
        }
        Ok(out.into())
    }

    /// Decodes the L1 encoding of a witness ([`StepWitness::encode_for_l1`]).
    ///
    /// # Errors
    ///
    /// [`Error::BadWitness`] for bytes the encoder does not produce: another version, a
    /// truncated or over-long section, a section whose length is not a whole number of
    /// items, an enum byte out of range, bytes after the last section.
    pub fn decode_from_l1(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        if r.u8()? != WITNESS_ABI_VERSION {
            return Err(malformed("the witness encoding's version is not 1"));
        }
        let state = decode_state(r.take(MachineState::ENCODED_LEN)?)?;
        let frame = decode_frame(r.take(Frame::ENCODED_LEN)?)?;
        let mut sections: Vec<&[u8]> = Vec::with_capacity(SECTIONS);
        for _ in 0..SECTIONS {
            let len = r.u32()? as usize;
            sections.push(r.take(len)?);
        }
        if !r.0.is_empty() {
            return Err(malformed("bytes after the witness's last section"));
        }
        let section = |s: Section| sections[s as usize];
        let mut witness = Self::new(state, frame);
        witness.code = decode_chunks(section(Section::Code))?;
        let stack = section(Section::Stack);
        if stack.len() < 32 || !stack.len().is_multiple_of(32) {
            return Err(malformed("the stack section is not a hash and whole words"));
        }
        witness.stack_rest = B256::from_slice(&stack[..32]);
        witness.stack = stack[32..].chunks_exact(32).map(U256::from_be_slice).collect();
        witness.memory = decode_words(section(Section::Memory))?;
        witness.calldata = decode_words(section(Section::Calldata))?;
        witness.block = optional(section(Section::Block), BlockContext::ENCODED_LEN)?
            .map(decode_block)
            .transpose()?;
        witness.tx =
            optional(section(Section::Tx), TxContext::ENCODED_LEN)?.map(decode_tx).transpose()?;
        let leaf = section(Section::Leaf);
        if !leaf.is_empty() {
            if leaf.len() < 36 || !(leaf.len() - 36).is_multiple_of(32) {
                return Err(malformed("the leaf section is not an index, a leaf and siblings"));
            }
            let mut r = Reader(leaf);
            let index = u64::from(r.u32()?);
            let value = r.b256()?;
            let siblings = r.0.chunks_exact(32).map(B256::from_slice).collect();
            witness.leaf =
                Some(LeafWitness { leaf: value, proof: MerkleProof { index, siblings } });
        }
        let mut nodes = Vec::new();
        let mut r = Reader(section(Section::Tries));
        let mut last: Option<B256> = None;
        while !r.0.is_empty() {
            let len = r.u32()? as usize;
            let node = Bytes::copy_from_slice(r.take(len)?);
            let hash = alloy_primitives::keccak256(&node);
            if last.is_some_and(|last| last >= hash) {
                return Err(malformed("trie nodes are not in ascending order of their hashes"));
            }
            last = Some(hash);
            nodes.push(node);
        }
        witness.tries = TrieWitness::new(nodes);
        witness.account_code = decode_optional_bytes(section(Section::AccountCode))?;
        let pending = section(Section::Pending);
        if let Some((&kind, body)) = pending.split_first() {
            witness.pending = Some(decode_pending(kind, body)?);
        }
        witness.source = decode_words(section(Section::Source))?;
        witness.source_code = decode_chunks(section(Section::SourceCode))?;
        let buffer = decode_words(section(Section::Buffer))?;
        if buffer.len() > 1 {
            return Err(malformed("more than one buffer word"));
        }
        witness.buffer = buffer.into_iter().next();
        witness.caller_frame = optional(section(Section::CallerFrame), Frame::ENCODED_LEN)?
            .map(decode_frame)
            .transpose()?;
        witness.callers_rest = Reader(section(Section::CallersRest)).b256_exact()?;
        witness.checkpoint = optional(section(Section::Checkpoint), Checkpoint::ENCODED_LEN)?
            .map(decode_checkpoint)
            .transpose()?;
        witness.accumulators =
            optional(section(Section::Accumulators), TxAccumulators::ENCODED_LEN)?
                .map(|b| {
                    let mut r = Reader(b);
                    Ok(TxAccumulators { touched: r.chain()?, selfdestructs: r.chain()? })
                })
                .transpose()?;
        witness.data = decode_optional_bytes(section(Section::Data))?;
        if let Some(access) = optional(section(Section::Access), AccessItem::ENCODED_LEN + 32)? {
            let mut r = Reader(access);
            let item = decode_access_item(r.take(AccessItem::ENCODED_LEN)?)?;
            witness.access = Some((item, r.b256()?));
        }
        if let Some(popped) = optional(section(Section::Popped), 52)? {
            let mut r = Reader(popped);
            witness.popped = Some((r.b256()?, r.address()?));
        }
        Ok(witness)
    }
}

fn len32(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| malformed("a witness part over u32::MAX bytes"))
}

fn index32(proof: &MerkleProof) -> Result<u32> {
    u32::try_from(proof.index).map_err(|_| malformed("a proof index past u32"))
}

fn siblings(out: &mut Vec<u8>, proof: &MerkleProof, depth: u8) -> Result<()> {
    if proof.siblings.len() != usize::from(depth) {
        return Err(malformed("a proof without exactly its tree's depth in siblings"));
    }
    for sibling in &proof.siblings {
        out.extend_from_slice(sibling.as_slice());
    }
    Ok(())
}

fn chunks(chunks: &[CodeChunk]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(chunks.len() * CHUNK_ITEM_LEN);
    for chunk in chunks {
        out.extend_from_slice(&index32(&chunk.proof)?.to_be_bytes());
        out.push(chunk.push_prefix);
        out.extend_from_slice(&chunk.bytes);
        siblings(&mut out, &chunk.proof, CODE_TREE_DEPTH)?;
    }
    Ok(out)
}

fn words(words: &[WordWitness]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(words.len() * WORD_ITEM_LEN);
    for word in words {
        out.extend_from_slice(&index32(&word.proof)?.to_be_bytes());
        out.extend_from_slice(word.word.as_slice());
        siblings(&mut out, &word.proof, WORD_TREE_DEPTH)?;
    }
    Ok(out)
}

fn optional_bytes(bytes: Option<&Bytes>) -> Vec<u8> {
    bytes.map_or_else(Vec::new, |b| [&[1u8][..], b].concat())
}

/// Reads big-endian fields from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(malformed("the witness encoding is truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("a flag byte other than 0 or 1")),
        }
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn b256(&mut self) -> Result<B256> {
        Ok(B256::from(self.array::<32>()?))
    }

    /// Exactly one 32-byte value and nothing else.
    fn b256_exact(mut self) -> Result<B256> {
        let value = self.b256()?;
        if !self.0.is_empty() {
            return Err(malformed("a 32-byte section is longer"));
        }
        Ok(value)
    }

    fn u256(&mut self) -> Result<U256> {
        Ok(U256::from_be_bytes(self.array::<32>()?))
    }

    fn address(&mut self) -> Result<Address> {
        Ok(Address::from(self.array::<20>()?))
    }

    fn tree(&mut self) -> Result<Bytes32Tree> {
        Ok(Bytes32Tree { len: self.u32()?, root: self.b256()? })
    }

    fn chain(&mut self) -> Result<Chain> {
        Ok(Chain { count: self.u32()?, acc: self.b256()? })
    }

    fn buffer_copy(&mut self) -> Result<BufferCopy> {
        Ok(BufferCopy {
            offset: self.u32()?,
            len: self.u32()?,
            copied: self.u32()?,
            root: self.b256()?,
        })
    }

    fn sponge(&mut self) -> Result<SpongeState> {
        let mut sponge = Sponge::new();
        for lane in &mut sponge.lanes {
            *lane = self.u64()?;
        }
        Ok(SpongeState {
            sponge,
            source: self.u8()?,
            offset: self.u32()?,
            remaining: self.u32()?,
            purpose: match self.u8()? {
                0 => SpongePurpose::Push,
                1 => SpongePurpose::LogData,
                _ => return Err(malformed("a sponge purpose other than 0 or 1")),
            },
        })
    }

    /// Fails unless every byte was read.
    fn end(&self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(malformed("a witness part is too long")) }
    }
}

/// `None` for an empty section, else the section, which must be exactly `len` bytes.
fn optional(section: &[u8], len: usize) -> Result<Option<&[u8]>> {
    match section.len() {
        0 => Ok(None),
        n if n == len => Ok(Some(section)),
        _ => Err(malformed("a section of the wrong length")),
    }
}

fn decode_optional_bytes(section: &[u8]) -> Result<Option<Bytes>> {
    match section.split_first() {
        None => Ok(None),
        Some((1, rest)) => Ok(Some(Bytes::copy_from_slice(rest))),
        Some(_) => Err(malformed("a byte-string section not tagged 0x01")),
    }
}

fn read_siblings(r: &mut Reader<'_>, depth: u8) -> Result<Vec<B256>> {
    (0..depth).map(|_| r.b256()).collect()
}

fn decode_chunks(section: &[u8]) -> Result<Vec<CodeChunk>> {
    if !section.len().is_multiple_of(CHUNK_ITEM_LEN) {
        return Err(malformed("a code section that is not whole chunks"));
    }
    let mut r = Reader(section);
    let mut out = Vec::with_capacity(section.len() / CHUNK_ITEM_LEN);
    while !r.0.is_empty() {
        let mut proof = MerkleProof { index: u64::from(r.u32()?), siblings: Vec::new() };
        let push_prefix = r.u8()?;
        let bytes = r.array::<32>()?;
        proof.siblings = read_siblings(&mut r, CODE_TREE_DEPTH)?;
        out.push(CodeChunk { index: proof.index as u32, bytes, push_prefix, proof });
    }
    Ok(out)
}

fn decode_words(section: &[u8]) -> Result<Vec<WordWitness>> {
    if !section.len().is_multiple_of(WORD_ITEM_LEN) {
        return Err(malformed("a word section that is not whole words"));
    }
    let mut r = Reader(section);
    let mut out = Vec::with_capacity(section.len() / WORD_ITEM_LEN);
    while !r.0.is_empty() {
        let mut proof = MerkleProof { index: u64::from(r.u32()?), siblings: Vec::new() };
        let word = r.b256()?;
        proof.siblings = read_siblings(&mut r, WORD_TREE_DEPTH)?;
        out.push(WordWitness { word, proof });
    }
    Ok(out)
}

fn decode_state(bytes: &[u8]) -> Result<MachineState> {
    let mut r = Reader(bytes);
    if r.u8()? != SPEC_VERSION {
        return Err(malformed("the state's version byte is not the spec's"));
    }
    let fork = match r.u8()? {
        1 => ForkId::Shanghai,
        4 => ForkId::Cancun,
        _ => return Err(malformed("an unknown fork byte")),
    };
    let status = match r.u8()? {
        0 => Status::Running,
        1 => Status::Succeeded,
        2 => Status::Failed,
        3 => Status::Invalid,
        _ => return Err(malformed("an unknown status byte")),
    };
    let pending_kind = pending_kind(r.u8()?)?;
    let state = MachineState {
        fork,
        status,
        pending_kind,
        pending_hash: r.b256()?,
        block_hash: r.b256()?,
        tx_hash: r.b256()?,
        state_root: r.b256()?,
        warm_addresses: r.b256()?,
        warm_slots: r.b256()?,
        transient: r.b256()?,
        created: r.b256()?,
        refund: r.u64()?,
        logs: r.chain()?,
        frame_hash: r.b256()?,
        callers: (r.u16()?, r.b256()?),
        accumulators: r.b256()?,
    };
    r.end()?;
    Ok(state)
}

fn pending_kind(byte: u8) -> Result<PendingKind> {
    Ok(match byte {
        0 => PendingKind::None,
        1 => PendingKind::Keccak,
        2 => PendingKind::Copy,
        3 => PendingKind::Log,
        16 => PendingKind::TxBegin,
        17 => PendingKind::FrameExit,
        18 => PendingKind::Call,
        19 => PendingKind::Output,
        20 => PendingKind::Create,
        21 => PendingKind::TxEnd,
        _ => return Err(malformed("an unknown pending kind")),
    })
}

fn frame_kind(byte: u8) -> Result<FrameKind> {
    Ok(match byte {
        0 => FrameKind::Call,
        1 => FrameKind::CallCode,
        2 => FrameKind::DelegateCall,
        3 => FrameKind::StaticCall,
        4 => FrameKind::Create,
        5 => FrameKind::Create2,
        6 => FrameKind::Transaction,
        _ => return Err(malformed("an unknown frame kind")),
    })
}

fn decode_frame(bytes: &[u8]) -> Result<Frame> {
    let mut r = Reader(bytes);
    let frame = Frame {
        kind: frame_kind(r.u8()?)?,
        is_static: r.flag()?,
        address: r.address()?,
        caller: r.address()?,
        value: r.u256()?,
        code_root: r.b256()?,
        code_size: r.u32()?,
        code_hash: r.b256()?,
        pc: r.u32()?,
        gas: r.u64()?,
        stack: StackCommitment { size: r.u16()?, hash: r.b256()? },
        memory: r.tree()?,
        calldata: r.tree()?,
        returndata: r.tree()?,
        return_window: (r.u32()?, r.u32()?),
        checkpoint: r.b256()?,
    };
    r.end()?;
    Ok(frame)
}

fn decode_block(bytes: &[u8]) -> Result<BlockContext> {
    let mut r = Reader(bytes);
    let block = BlockContext {
        number: r.u64()?,
        timestamp: r.u64()?,
        coinbase: r.address()?,
        gas_limit: r.u64()?,
        base_fee: r.u256()?,
        prevrandao: r.b256()?,
        chain_id: r.u64()?,
        blob_base_fee: r.u256()?,
        block_hashes: r.b256()?,
    };
    r.end()?;
    Ok(block)
}

fn decode_tx(bytes: &[u8]) -> Result<TxContext> {
    let mut r = Reader(bytes);
    let tx = TxContext {
        origin: r.address()?,
        gas_price: r.u256()?,
        gas_limit: r.u64()?,
        blob_count: r.u8()?,
        blob_hashes: r.b256()?,
        start_state_root: r.b256()?,
    };
    r.end()?;
    Ok(tx)
}

fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint> {
    let mut r = Reader(bytes);
    let checkpoint = Checkpoint {
        state_root: r.b256()?,
        warm_addresses: r.b256()?,
        warm_slots: r.b256()?,
        transient: r.b256()?,
        created: r.b256()?,
        refund: r.u64()?,
        logs: r.chain()?,
        accumulators: r.b256()?,
    };
    r.end()?;
    Ok(checkpoint)
}

fn decode_access_item(bytes: &[u8]) -> Result<AccessItem> {
    let mut r = Reader(bytes);
    let storage = r.flag()?;
    let address = r.address()?;
    let slot = r.u256()?;
    if !storage && !slot.is_zero() {
        return Err(malformed("an address item of the access list with a slot"));
    }
    Ok(AccessItem { address, slot: storage.then_some(slot) })
}

fn decode_pending(kind: u8, body: &[u8]) -> Result<Pending> {
    let mut r = Reader(body);
    let pending = match pending_kind(kind)? {
        PendingKind::None => return Err(malformed("a pending operation of kind 0")),
        PendingKind::Keccak => Pending::Keccak(r.sponge()?),
        PendingKind::Copy => Pending::Copy(CopyState {
            source: match r.u8()? {
                0 => CopySource::Memory,
                1 => CopySource::Calldata,
                2 => CopySource::Returndata,
                3 => CopySource::Code,
                4 => CopySource::ExtCode,
                _ => return Err(malformed("an unknown copy source")),
            },
            source_root: r.b256()?,
            source_len: r.u32()?,
            source_offset: r.u32()?,
            dest: match r.u8()? {
                0 => CopyDest::Memory,
                1 => CopyDest::Calldata,
                2 => CopyDest::Returndata,
                3 => CopyDest::CodeDeposit,
                _ => return Err(malformed("an unknown copy destination")),
            },
            dest_offset: r.u32()?,
            remaining: r.u32()?,
        }),
        PendingKind::Log => {
            let count = usize::from(r.u8()?);
            let all: Vec<B256> =
                (0..Pending::MAX_TOPICS).map(|_| r.b256()).collect::<Result<_>>()?;
            if count > Pending::MAX_TOPICS || all[count..].iter().any(|t| !t.is_zero()) {
                return Err(malformed("a log's topics past its count are not zero"));
            }
            Pending::Log { topics: all[..count].to_vec(), data: r.sponge()? }
        }
        PendingKind::FrameExit => {
            Pending::Exit(FrameExit { success: r.flag()?, output: r.tree()? })
        }
        PendingKind::Call => Pending::Call(CallPending {
            kind: frame_kind(r.u8()?)?,
            is_static: r.flag()?,
            target: r.address()?,
            caller: r.address()?,
            code_address: r.address()?,
            value: r.u256()?,
            transfer: r.flag()?,
            gas: r.u64()?,
            return_window: (r.u32()?, r.u32()?),
            input: r.buffer_copy()?,
        }),
        PendingKind::Output => Pending::Output { success: r.flag()?, copy: r.buffer_copy()? },
        PendingKind::Create => Pending::Create(CreatePending {
            kind: frame_kind(r.u8()?)?,
            value: r.u256()?,
            salt: r.b256()?,
            gas: r.u64()?,
            input: r.buffer_copy()?,
        }),
        PendingKind::TxEnd => Pending::TxEnd(TxEnd { success: r.flag()?, gas_used: r.u64()? }),
        PendingKind::TxBegin => {
            let phase = r.flag()?;
            let envelope_hash = r.b256()?;
            let envelope_len = r.u32()?;
            let block_gas_used = r.u64()?;
            let create = r.flag()?;
            let to = r.address()?;
            let entry = TxEntry {
                to: (!create).then_some(to),
                value: r.u256()?,
                gas: r.u64()?,
                data: r.tree()?,
                access: AccessChain { count: r.u32()?, head: r.b256()? },
            };
            let begin = TxBegin {
                envelope_hash,
                envelope_len,
                block_gas_used,
                entry: phase.then_some(entry),
            };
            // Phase 0 has every later field zero; a creation has no `to`.
            let canonical = Pending::TxBegin(begin);
            if canonical.encode() != body {
                return Err(malformed("a transaction begin that is not in canonical form"));
            }
            return Ok(canonical);
        }
    };
    r.end()?;
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{CodeTree, WordTree};
    use alloy_primitives::address;

    /// A witness with every section filled, each with values that differ from their
    /// neighbours' so a field read from the wrong place shows.
    fn full() -> StepWitness {
        let code = CodeTree::new(&[0x60; 100]).unwrap();
        let memory = WordTree::from_bytes(&[7; 100]).unwrap();
        let tree = |len, b| Bytes32Tree { len, root: B256::repeat_byte(b) };
        let frame = Frame {
            kind: FrameKind::StaticCall,
            is_static: true,
            address: address!("0x1000000000000000000000000000000000000001"),
            caller: address!("0x2000000000000000000000000000000000000002"),
            value: U256::from(3),
            code_root: code.root(),
            code_size: 100,
            code_hash: code.code_hash(),
            pc: 5,
            gas: 6,
            stack: StackCommitment { size: 7, hash: B256::repeat_byte(8) },
            memory: tree(9, 10),
            calldata: tree(11, 12),
            returndata: tree(13, 14),
            return_window: (15, 16),
            checkpoint: B256::repeat_byte(17),
        };
        let state = MachineState {
            fork: ForkId::Cancun,
            status: Status::Running,
            pending_kind: PendingKind::Log,
            pending_hash: B256::repeat_byte(1),
            block_hash: B256::repeat_byte(2),
            tx_hash: B256::repeat_byte(3),
            state_root: B256::repeat_byte(4),
            warm_addresses: B256::repeat_byte(5),
            warm_slots: B256::repeat_byte(6),
            transient: B256::repeat_byte(7),
            created: B256::repeat_byte(8),
            refund: 9,
            logs: Chain { count: 10, acc: B256::repeat_byte(11) },
            frame_hash: frame.hash(),
            callers: (12, B256::repeat_byte(13)),
            accumulators: B256::repeat_byte(14),
        };
        let word = |i| WordWitness { word: B256::repeat_byte(7), proof: memory.proof(i).unwrap() };
        let mut w = StepWitness::new(state, frame);
        w.code = vec![code.chunk(0).unwrap(), code.chunk(3).unwrap()];
        w.stack_rest = B256::repeat_byte(0x55);
        w.stack = vec![U256::from(1), U256::MAX];
        w.memory = vec![word(0), word(1)];
        w.calldata = vec![word(2)];
        w.block = Some(BlockContext {
            number: 1,
            timestamp: 2,
            coinbase: Address::repeat_byte(3),
            gas_limit: 4,
            base_fee: U256::from(5),
            prevrandao: B256::repeat_byte(6),
            chain_id: 7,
            blob_base_fee: U256::from(8),
            block_hashes: B256::repeat_byte(9),
        });
        w.tx = Some(TxContext {
            origin: Address::repeat_byte(1),
            gas_price: U256::from(2),
            gas_limit: 3,
            blob_count: 4,
            blob_hashes: B256::repeat_byte(5),
            start_state_root: B256::repeat_byte(6),
        });
        w.leaf = Some(LeafWitness {
            leaf: B256::repeat_byte(0x42),
            proof: MerkleProof { index: 3, siblings: vec![B256::repeat_byte(1); 8] },
        });
        w.tries =
            TrieWitness::new([Bytes::from_static(&[0xc0]), Bytes::from_static(&[0xc1, 0x80])]);
        w.account_code = Some(Bytes::new());
        w.pending = Some(Pending::Log {
            topics: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            data: SpongeState {
                sponge: Sponge { lanes: std::array::from_fn(|k| k as u64 * 0x0101) },
                source: 0,
                offset: 64,
                remaining: 300,
                purpose: SpongePurpose::LogData,
            },
        });
        w.source = vec![word(3)];
        w.source_code = vec![code.chunk(1).unwrap()];
        w.buffer = Some(word(4));
        w.caller_frame = Some(Frame { kind: FrameKind::Create2, is_static: false, ..frame });
        w.callers_rest = B256::repeat_byte(0x66);
        w.checkpoint = Some(Checkpoint {
            state_root: B256::repeat_byte(1),
            warm_addresses: B256::repeat_byte(2),
            warm_slots: B256::repeat_byte(3),
            transient: B256::repeat_byte(4),
            created: B256::repeat_byte(5),
            refund: 6,
            logs: Chain { count: 7, acc: B256::repeat_byte(8) },
            accumulators: B256::repeat_byte(9),
        });
        w.accumulators = Some(TxAccumulators {
            touched: Chain { count: 1, acc: B256::repeat_byte(2) },
            selfdestructs: Chain { count: 3, acc: B256::repeat_byte(4) },
        });
        w.data = Some(Bytes::from_static(b"init code"));
        w.access = Some((
            AccessItem { address: Address::repeat_byte(9), slot: Some(U256::from(10)) },
            B256::repeat_byte(11),
        ));
        w.popped = Some((B256::repeat_byte(12), Address::repeat_byte(13)));
        w
    }

    #[test]
    fn a_full_witness_round_trips_with_the_documented_sizes() {
        let w = full();
        let bytes = w.encode_for_l1().unwrap();
        assert_eq!(StepWitness::decode_from_l1(&bytes).unwrap(), w);
        let expected = WITNESS_FIXED_LEN
            + 4 * SECTIONS
            + 3 * CHUNK_ITEM_LEN
            + 32 * 3
            + 5 * WORD_ITEM_LEN
            + BlockContext::ENCODED_LEN
            + TxContext::ENCODED_LEN
            + (4 + 32 + 8 * 32)
            + (4 + 1 + 4 + 2)
            + 1
            + (1 + 339)
            + Frame::ENCODED_LEN
            + 32
            + Checkpoint::ENCODED_LEN
            + TxAccumulators::ENCODED_LEN
            + (1 + 9)
            + (53 + 32)
            + 52;
        assert_eq!(bytes.len(), expected);
        assert_eq!(bytes[0], WITNESS_ABI_VERSION);
        assert_eq!(&bytes[1..403], &w.state.encode()[..]);
        assert_eq!(&bytes[403..739], &w.frame.encode()[..]);
    }

    #[test]
    fn every_pending_kind_round_trips() {
        let buffer = BufferCopy { offset: 1, len: 70, copied: 64, root: B256::repeat_byte(3) };
        let sponge = SpongeState {
            sponge: Sponge::new(),
            source: 0,
            offset: 1,
            remaining: 2,
            purpose: SpongePurpose::Push,
        };
        let pendings = [
            Pending::Keccak(sponge),
            Pending::Copy(CopyState {
                source: CopySource::ExtCode,
                source_root: B256::repeat_byte(1),
                source_len: 2,
                source_offset: 1,
                dest: CopyDest::Memory,
                dest_offset: 3,
                remaining: 4,
            }),
            Pending::Log { topics: vec![], data: sponge },
            Pending::Exit(FrameExit::empty(true)),
            Pending::Call(CallPending {
                kind: FrameKind::DelegateCall,
                is_static: false,
                target: Address::repeat_byte(1),
                caller: Address::repeat_byte(2),
                code_address: Address::repeat_byte(3),
                value: U256::from(4),
                transfer: true,
                gas: 5,
                return_window: (6, 7),
                input: buffer,
            }),
            Pending::Output { success: false, copy: buffer },
            Pending::Create(CreatePending {
                kind: FrameKind::Create2,
                value: U256::from(1),
                salt: B256::repeat_byte(2),
                gas: 3,
                input: buffer,
            }),
            Pending::TxEnd(TxEnd { success: true, gas_used: 21_000 }),
            Pending::TxBegin(TxBegin::new(b"envelope", 5)),
            Pending::TxBegin(TxBegin {
                entry: Some(TxEntry {
                    to: None,
                    value: U256::from(1),
                    gas: 2,
                    data: Bytes32Tree { len: 3, root: B256::repeat_byte(4) },
                    access: AccessChain { count: 5, head: B256::repeat_byte(6) },
                }),
                ..TxBegin::new(b"creation", 0)
            }),
        ];
        for pending in pendings {
            let mut w = full();
            w.pending = Some(pending);
            let bytes = w.encode_for_l1().unwrap();
            assert_eq!(StepWitness::decode_from_l1(&bytes).unwrap(), w);
        }
    }

    #[test]
    fn malformed_encodings_are_rejected() {
        let bytes = full().encode_for_l1().unwrap().to_vec();
        let reject = |b: &[u8]| StepWitness::decode_from_l1(b).is_err();
        assert!(reject(&[]));
        assert!(reject(&bytes[..bytes.len() - 1]), "truncated");
        assert!(reject(&[&bytes[..], &[0]].concat()), "trailing byte");
        let mut v = bytes.clone();
        v[0] = 2;
        assert!(reject(&v), "version");
        let mut v = bytes.clone();
        v[1 + 2] = 4;
        assert!(reject(&v), "status");
        let mut v = bytes.clone();
        v[403] = 7;
        assert!(reject(&v), "frame kind");

        // Proofs of the wrong depth cannot be encoded.
        let mut w = full();
        w.memory[0].proof.siblings.pop();
        assert!(w.encode_for_l1().is_err());
        let mut w = full();
        w.code[0].index = 1;
        assert!(w.encode_for_l1().is_err());
    }
}
