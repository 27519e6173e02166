//! The executor's side of frames (spec §6): the opening step of CALL, CALLCODE, DELEGATECALL
//! and STATICCALL, the micro-steps copying a call's input into the callee's calldata buffer,
//! the entry step, RETURN and REVERT with the micro-steps copying their output, SELFDESTRUCT
//! (EIP-6780), CREATE and CREATE2 (their opening, the init code's copy, the entry step that
//! derives the address and starts the init frame, and the exit that deposits the code, §6.4),
//! calls into precompiles (§7), and the exit step that returns to the caller. The top frame's
//! exit (transaction end, §8.2) is [`Error::UnsupportedStep`] here.
//!
//! [`Error::UnsupportedStep`]: crate::Error::UnsupportedStep

use super::{
    Bytes32Tree, Checkpoint, CodeTree, CopyDest, CopySource, CopyState, Frame, FrameExit,
    FrameKind, Pending, PendingKind, StackCommitment, TxAccumulators, WORD_TREE_DEPTH, WordTree,
    address_key,
    context::append_address,
    execute::{Step, StepResult, Stop, bad},
    hash_pair, is_empty,
    pending::{BufferCopy, CallPending, CreatePending},
    warm_by_rule,
};
use alloy_primitives::{Address, B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The deepest a frame may be: a call from a frame at this depth fails (the top frame is at
/// depth 0; EIP-150's call depth limit).
pub(crate) const CALL_DEPTH_LIMIT: u16 = 1024;
/// CALL and CALLCODE with a non-zero value (the execution specs' `GAS_CALL_VALUE`).
pub(crate) const CALL_VALUE_GAS: u64 = 9_000;
/// The gas a value-carrying call adds to the callee's (`GAS_CALL_STIPEND`).
pub(crate) const CALL_STIPEND: u64 = 2_300;
/// CALL with value into an empty account, and SELFDESTRUCT of a non-zero balance into one
/// (`GAS_NEW_ACCOUNT`, EIP-161).
pub(crate) const NEW_ACCOUNT_GAS: u64 = 25_000;
/// The cold surcharge of an account access beyond the warm 100 already charged as static gas
/// (EIP-2929).
pub(crate) const COLD_ACCOUNT_SURCHARGE: u64 = 2_500;
/// SELFDESTRUCT's cold account access, in full (EIP-2929).
pub(crate) const SELFDESTRUCT_COLD_GAS: u64 = 2_600;
/// The longest init code CREATE and CREATE2 accept, in bytes (EIP-3860: twice EIP-170's).
pub(crate) const MAX_INIT_CODE_SIZE: u64 = 49_152;
/// The longest code a create may deposit, in bytes (EIP-170).
pub(crate) const MAX_CODE_SIZE: usize = 24_576;
/// Gas per 32-byte word of init code (EIP-3860 `INITCODE_WORD_COST`).
pub(crate) const INIT_CODE_WORD_GAS: u64 = 2;
/// Gas per 32-byte word CREATE2 hashes (`GAS_KECCAK256_WORD`, EIP-1014).
pub(crate) const CREATE2_HASH_WORD_GAS: u64 = 6;
/// Gas per byte of deposited code (`GAS_CODE_DEPOSIT`).
pub(crate) const CODE_DEPOSIT_BYTE_GAS: u64 = 200;

/// The address CREATE (`salt = None`: from the creator's nonce before the bump) or CREATE2
/// (from the salt and the init code's hash, EIP-1014) gives the new account.
pub(crate) fn created_address(
    creator: Address,
    nonce: u64,
    salt: Option<B256>,
    init_code: &[u8],
) -> Address {
    match salt {
        None => creator.create(nonce),
        Some(salt) => creator.create2(salt, alloy_primitives::keccak256(init_code)),
    }
}

/// The account at `address`, absent read as empty (spec §2.4).
fn or_empty(account: Option<TrieAccount>) -> TrieAccount {
    account.unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

/// The frame kind of a call opcode.
fn call_kind(opcode: u8) -> Option<FrameKind> {
    Some(match opcode {
        0xf1 => FrameKind::Call,
        0xf2 => FrameKind::CallCode,
        0xf4 => FrameKind::DelegateCall,
        0xfa => FrameKind::StaticCall,
        _ => return None,
    })
}

impl Step<'_> {
    /// RETURN, REVERT, SELFDESTRUCT and the call opcodes, after the operands are popped and
    /// the static gas charged: `Some` when the frame ends at this step.
    pub(super) fn boundary(&mut self) -> StepResult<Option<FrameExit>> {
        match self.opcode {
            0xf3 => self.open_return(true),
            0xfd => self.open_return(false),
            0xff => self.selfdestruct().map(Some),
            0xf0 | 0xf5 => self.open_create().map(|()| None),
            _ => self.open_call().map(|()| None),
        }
    }

    /// Opens `pending` in the post-state.
    fn set_pending(&mut self, pending: &Pending) {
        self.header.pending_kind = pending.kind();
        self.header.pending_hash = pending.hash();
    }

    fn clear_pending(&mut self) {
        self.header.pending_kind = PendingKind::None;
        self.header.pending_hash = B256::ZERO;
    }

    /// The transaction accumulators of the witness, checked against the header.
    pub(super) fn accumulators(&self) -> StepResult<TxAccumulators> {
        let acc =
            self.witness.accumulators.ok_or(bad("the transaction accumulators are missing"))?;
        if acc.hash() != self.header.accumulators {
            return Err(bad("the accumulators do not hash to the header's"));
        }
        Ok(acc)
    }

    /// Warms `address` (EIP-2929) without charging; whether it was cold. The precompiles and
    /// the block's coinbase are warm by rule (spec §2.4).
    fn warm_account(&mut self, address: Address) -> StepResult<bool> {
        let coinbase = self.block()?.coinbase;
        let key = address_key(address);
        if warm_by_rule(address, coinbase)
            || self.tries().contains(self.header.warm_addresses, key)?
        {
            return Ok(false);
        }
        self.header.warm_addresses = self.tries().insert(self.header.warm_addresses, key)?;
        Ok(true)
    }

    /// The opening step of CALL, CALLCODE, DELEGATECALL and STATICCALL (spec §6.1): operands
    /// popped and the static 100 gas charged by the caller, then the memory expansion of the
    /// input and output ranges, the value cost, the cold surcharge, the new-account cost and
    /// the callee's gas (EIP-150: at most all but one 64th of what is left), all charged here;
    /// the call is then pending, its input to be copied. `pc` stays on the instruction.
    pub(super) fn open_call(&mut self) -> StepResult<()> {
        let kind = call_kind(self.opcode).ok_or(Stop::unsupported(self.opcode, "not a call"))?;
        let has_value = matches!(kind, FrameKind::Call | FrameKind::CallCode);
        let to = Address::from_word(B256::from(self.arg(1)));
        let value = if has_value { self.arg(2) } else { U256::ZERO };
        let first = if has_value { 3 } else { 2 };
        let in_len = self.length_operand(self.arg(first + 1))?;
        let in_offset = if in_len > 0 { self.expand(self.arg(first), in_len)? } else { 0 };
        let out_len = self.length_operand(self.arg(first + 3))?;
        let out_offset = if out_len > 0 { self.expand(self.arg(first + 2), out_len)? } else { 0 };
        if !value.is_zero() {
            self.charge(CALL_VALUE_GAS)?;
        }
        if self.warm_account(to)? {
            self.charge(COLD_ACCOUNT_SURCHARGE)?;
        }
        if kind == FrameKind::Call && !value.is_zero() {
            let account = self.tries().account(self.header.state_root, to)?;
            if account.as_ref().is_none_or(is_empty) {
                self.charge(NEW_ACCOUNT_GAS)?;
            }
        }
        let left = self.frame.gas;
        let requested = u64::try_from(self.arg(0)).unwrap_or(u64::MAX);
        let gas = requested.min(left - left / 64);
        self.charge(gas)?;
        let stipend = if value.is_zero() { 0 } else { CALL_STIPEND };
        let me = self.frame.address;
        let call = CallPending {
            kind,
            is_static: self.frame.is_static || kind == FrameKind::StaticCall,
            target: if matches!(kind, FrameKind::Call | FrameKind::StaticCall) { to } else { me },
            caller: if kind == FrameKind::DelegateCall { self.frame.caller } else { me },
            code_address: to,
            value: if kind == FrameKind::DelegateCall { self.frame.value } else { value },
            transfer: kind != FrameKind::DelegateCall,
            gas: gas + stipend,
            return_window: (out_offset as u32, out_len as u32),
            input: BufferCopy::new(in_offset as u32, in_len as u32),
        };
        self.set_pending(&Pending::Call(call));
        Ok(())
    }

    /// The opening step of CREATE `(value, offset, size)` and CREATE2 `(value, offset, size,
    /// salt)` (spec §6.4), after the static 32,000 gas: the init-code limit (EIP-3860: more
    /// than 49,152 bytes halts), 2 gas per init-code word (EIP-3860), the memory expansion,
    /// for CREATE2 6 gas per word hashed (EIP-1014), then the new frame's gas (all but one
    /// 64th of what is left, EIP-150), all charged here; the create is then pending, its init
    /// code to be copied. `pc` stays on the instruction.
    fn open_create(&mut self) -> StepResult<()> {
        let create2 = self.opcode == 0xf5;
        let len = self.length_operand(self.arg(2))?;
        let mut offset = 0;
        if len > 0 {
            if len > MAX_INIT_CODE_SIZE {
                return Err(Stop::Halt);
            }
            let words = len.div_ceil(32);
            self.charge(INIT_CODE_WORD_GAS * words)?;
            offset = self.expand(self.arg(1), len)?;
            if create2 {
                self.charge(CREATE2_HASH_WORD_GAS * words)?;
            }
        }
        let left = self.frame.gas;
        let gas = left - left / 64;
        self.charge(gas)?;
        let create = CreatePending {
            kind: if create2 { FrameKind::Create2 } else { FrameKind::Create },
            value: self.arg(0),
            salt: if create2 { B256::from(self.arg(3)) } else { B256::ZERO },
            gas,
            input: BufferCopy::new(offset as u32, len as u32),
        };
        self.set_pending(&Pending::Create(create));
        Ok(())
    }

    /// A length operand of a frame opcode: past 2^32 bytes no gas limit pays for it (spec
    /// §2.1), a halt.
    fn length_operand(&self, value: U256) -> StepResult<u64> {
        u32::try_from(value).map(u64::from).map_err(|_| Stop::Halt)
    }

    /// RETURN (`success`) and REVERT: the output's memory expansion is charged; an empty
    /// output ends the frame at once, any other is copied into the return buffer by
    /// micro-steps first (spec §6.2).
    pub(super) fn open_return(&mut self, success: bool) -> StepResult<Option<FrameExit>> {
        let len = self.length_operand(self.arg(1))?;
        if len == 0 {
            return Ok(Some(FrameExit::empty(success)));
        }
        let offset = self.expand(self.arg(0), len)?;
        let copy = BufferCopy::new(offset as u32, len as u32);
        self.set_pending(&Pending::Output { success, copy });
        Ok(None)
    }

    /// SELFDESTRUCT (EIP-6780, spec §6.2): 5,000 static gas, 2,600 for a cold beneficiary,
    /// 25,000 when a non-zero balance goes to an empty one; the balance moves to the
    /// beneficiary; an account created in this transaction is recorded for deletion at
    /// transaction end (its balance burnt when it names itself). The frame then ends with
    /// success and no output.
    pub(super) fn selfdestruct(&mut self) -> StepResult<FrameExit> {
        let beneficiary = Address::from_word(B256::from(self.arg(0)));
        let me = self.frame.address;
        let cold = self.warm_account(beneficiary)?;
        let root = self.header.state_root;
        let mine = or_empty(self.tries().account(root, me)?);
        let theirs = self.tries().account(root, beneficiary)?;
        let balance = mine.balance;
        let mut cost = if cold { SELFDESTRUCT_COLD_GAS } else { 0 };
        if !balance.is_zero() && theirs.as_ref().is_none_or(is_empty) {
            cost += NEW_ACCOUNT_GAS;
        }
        self.charge(cost)?;
        let created = self.tries().contains(self.header.created, address_key(me))?;
        let mut nodes = self.witness.tries.overlay();
        let mut root = root;
        if beneficiary != me {
            if !balance.is_zero() {
                let mut account = or_empty(theirs);
                account.balance =
                    account.balance.checked_add(balance).ok_or(bad("balance overflow"))?;
                root = nodes.apply(
                    root,
                    address_key(beneficiary),
                    Some(&alloy_rlp::encode(account)),
                )?;
                let mut account = mine;
                account.balance = U256::ZERO;
                root = nodes.apply(root, address_key(me), Some(&alloy_rlp::encode(account)))?;
            } else if theirs.as_ref().is_some_and(is_empty) {
                self.touch(beneficiary)?;
            }
        } else if created && !balance.is_zero() {
            let mut account = mine;
            account.balance = U256::ZERO; // burnt (EIP-6780)
            root = nodes.apply(root, address_key(me), Some(&alloy_rlp::encode(account)))?;
        }
        self.header.state_root = root;
        if created {
            let mut acc = self.accumulators()?;
            acc.selfdestructs = append_address(acc.selfdestructs, me);
            self.header.accumulators = acc.hash();
        }
        Ok(FrameExit::empty(true))
    }

    /// Appends `address`, an existing empty account, to the EIP-161 touched chain.
    fn touch(&mut self, address: Address) -> StepResult<()> {
        let mut acc = self.accumulators()?;
        acc.touched = append_address(acc.touched, address);
        self.header.accumulators = acc.hash();
        Ok(())
    }

    /// One buffer-copy micro-step: the next (up to) 32 bytes of the memory range, read from
    /// the live memory, written as the buffer's next word (zero-padded past the range's end).
    fn copy_to_buffer(&mut self, copy: BufferCopy) -> StepResult<BufferCopy> {
        let n = (copy.len - copy.copied).min(32);
        let from = u64::from(copy.offset) + u64::from(copy.copied);
        let bytes = self.memory_words(from, u64::from(n), None)?;
        let mut word = B256::ZERO;
        word[..n as usize].copy_from_slice(&bytes);
        let slot = self.witness.buffer.as_ref().ok_or(bad("the buffer word is missing"))?;
        if slot.proof.index != u64::from(copy.copied / 32)
            || !slot.proof.verifies(WORD_TREE_DEPTH, slot.word, copy.root)
        {
            return Err(bad("the buffer word does not verify against the buffer root"));
        }
        Ok(BufferCopy { copied: copy.copied + n, root: slot.proof.root(word), ..copy })
    }

    /// A step while a call is pending: an input-copy micro-step, or once the input is
    /// complete the entry step.
    pub(super) fn call_step(&mut self, call: &CallPending) -> StepResult<()> {
        self.opcode = match call.kind {
            FrameKind::Call => 0xf1,
            FrameKind::CallCode => 0xf2,
            FrameKind::DelegateCall => 0xf4,
            FrameKind::StaticCall => 0xfa,
            _ => return Err(bad("a pending call of a kind that is not a call")),
        };
        if call.input.copied > call.input.len
            || (call.input.copied < call.input.len && !call.input.copied.is_multiple_of(32))
        {
            return Err(bad("a pending call's input cursor is malformed"));
        }
        if !call.input.is_done() {
            let input = self.copy_to_buffer(call.input)?;
            self.set_pending(&Pending::Call(CallPending { input, ..*call }));
            return Ok(());
        }
        self.enter(call)
    }

    /// Ends a call or create without a new frame: `pushed` (the success flag, or CREATE's
    /// result) pushed, `gas` returned (the callee's whole gas, or none after a collision),
    /// return data empty, `pc` past the instruction (spec §6.1, §6.4).
    fn end_early(&mut self, gas: u64, pushed: U256) -> StepResult<()> {
        self.clear_pending();
        self.frame.gas = self.frame.gas.checked_add(gas).ok_or(bad("gas overflow"))?;
        self.frame.returndata = Bytes32Tree { len: 0, root: WordTree::empty().root() };
        self.frame.stack = self.frame.stack.push(pushed);
        self.frame.pc = self.frame.pc.checked_add(1).ok_or(Stop::Halt)?;
        Ok(())
    }

    fn end_call_early(&mut self, call: &CallPending, success: bool) -> StepResult<()> {
        self.end_early(call.gas, U256::from(u8::from(success)))
    }

    /// The checkpoint a frame entered now restores (spec §4.3).
    pub(super) fn checkpoint_now(&self) -> Checkpoint {
        Checkpoint {
            state_root: self.header.state_root,
            warm_addresses: self.header.warm_addresses,
            warm_slots: self.header.warm_slots,
            transient: self.header.transient,
            created: self.header.created,
            refund: self.header.refund,
            logs: self.header.logs,
            accumulators: self.header.accumulators,
        }
    }

    /// Pushes the current frame onto the caller chain and makes `callee` current (spec §6.1).
    fn push_frame(&mut self, callee: Frame) {
        let (depth, chain) = self.header.callers;
        self.header.callers = (depth + 1, hash_pair(&chain, &self.frame.hash()));
        self.frame = callee;
        self.clear_pending();
    }

    /// A step while CREATE or CREATE2 is pending: an init-code copy micro-step, or once the
    /// init code is complete the entry step.
    pub(super) fn create_step(&mut self, create: &CreatePending) -> StepResult<()> {
        self.opcode = match create.kind {
            FrameKind::Create => 0xf0,
            FrameKind::Create2 => 0xf5,
            _ => return Err(bad("a pending create of a kind that is not a create")),
        };
        if create.kind == FrameKind::Create && !create.salt.is_zero() {
            return Err(bad("a pending CREATE with a salt"));
        }
        let input = create.input;
        if input.copied > input.len || (!input.is_done() && !input.copied.is_multiple_of(32)) {
            return Err(bad("a pending create's init-code cursor is malformed"));
        }
        if !input.is_done() {
            let input = self.copy_to_buffer(input)?;
            self.set_pending(&Pending::Create(CreatePending { input, ..*create }));
            return Ok(());
        }
        self.enter_create(create)
    }

    /// The entry step of CREATE and CREATE2 (spec §6.4): the depth limit, the creator's
    /// balance and nonce (EIP-2681) fail early with the gas returned; otherwise the creator's
    /// nonce is bumped, the new address derived and warmed (both kept if the create fails),
    /// the checkpoint taken, and a collision (code, a nonce or storage at the address,
    /// EIP-684/EIP-7610) fails with the new frame's gas consumed. Else the account gets nonce
    /// 1 (EIP-161) and the endowment, joins the `created` set (EIP-6780), and the init frame
    /// starts with the init code the witness carries (checked against the buffer's root).
    fn enter_create(&mut self, create: &CreatePending) -> StepResult<()> {
        let fail = U256::ZERO;
        if self.header.callers.0 >= CALL_DEPTH_LIMIT {
            return self.end_early(create.gas, fail);
        }
        let me = self.frame.address;
        let mut nodes = self.witness.tries.overlay();
        let root = self.header.state_root;
        let creator = or_empty(super::Tries { nodes: &nodes }.account(root, me)?);
        if creator.balance < create.value || creator.nonce == u64::MAX {
            return self.end_early(create.gas, fail);
        }
        let init = self.witness.data.as_ref().map_or(&[][..], |data| &data[..]);
        let tree = WordTree::from_bytes(init).map_err(Stop::Fail)?;
        if init.len() != create.input.len as usize || tree.root() != create.input.root {
            return Err(bad("the init code does not match the init-code buffer"));
        }
        let salt = (create.kind == FrameKind::Create2).then_some(create.salt);
        let kind = create.kind;
        match self.create_account(kind, me, creator, create.value, salt, init, &mut nodes)? {
            Some(frame) => self.push_frame(Frame { gas: create.gas, ..frame }),
            None => return self.end_early(0, fail), // a collision consumes the frame's gas
        }
        Ok(())
    }

    /// The part of a create's entry shared by CREATE, CREATE2 and a creation transaction (spec
    /// §6.4, §8.1), after the creator's checks: the creator's nonce is bumped, the address
    /// derived (from `salt` and the init code for CREATE2, else from the nonce) and warmed
    /// (both kept if the create fails), the checkpoint taken; a collision (code, a nonce or
    /// storage at the address, EIP-684/EIP-7610) is `None`. Else the account gets nonce 1
    /// (EIP-161) and `value`, joins the `created` set (EIP-6780), and the init frame is
    /// returned with no gas (the caller sets it) and `init` as its code. Writes go through
    /// `nodes`, the step's overlay.
    #[expect(clippy::too_many_arguments, reason = "the create's parameters, each used once")]
    pub(super) fn create_account(
        &mut self,
        kind: FrameKind,
        creator: Address,
        account: TrieAccount,
        value: U256,
        salt: Option<B256>,
        init: &[u8],
        nodes: &mut super::TrieWitness,
    ) -> StepResult<Option<Frame>> {
        let address = created_address(creator, account.nonce, salt, init);
        let bumped = TrieAccount { nonce: account.nonce + 1, ..account };
        let mut root = self.header.state_root;
        root = nodes.apply(root, address_key(creator), Some(&alloy_rlp::encode(bumped)))?;
        self.header.state_root = root;
        self.warm_account(address)?;
        let checkpoint = self.checkpoint_now();
        let target = or_empty(super::Tries { nodes }.account(root, address)?);
        if target.code_hash != KECCAK_EMPTY
            || target.nonce != 0
            || target.storage_root != EMPTY_ROOT_HASH
        {
            return Ok(None);
        }
        let balance = target.balance.checked_add(value).ok_or(bad("balance overflow"))?;
        let created = TrieAccount { nonce: 1, balance, ..target };
        root = nodes.apply(root, address_key(address), Some(&alloy_rlp::encode(created)))?;
        if !value.is_zero() {
            let creator_account = TrieAccount { balance: bumped.balance - value, ..bumped };
            root = nodes.apply(
                root,
                address_key(creator),
                Some(&alloy_rlp::encode(creator_account)),
            )?;
        }
        self.header.state_root = root;
        self.header.created = self.tries().insert(self.header.created, address_key(address))?;
        let code = CodeTree::new(init).map_err(Stop::Fail)?;
        let empty = Bytes32Tree { len: 0, root: WordTree::empty().root() };
        Ok(Some(Frame {
            kind,
            is_static: false,
            address,
            caller: creator,
            value,
            code_root: code.root(),
            code_size: code.size() as u32,
            code_hash: code.code_hash(),
            pc: 0,
            gas: 0,
            stack: StackCommitment::EMPTY,
            memory: empty,
            calldata: empty,
            returndata: empty,
            return_window: (0, 0),
            checkpoint: checkpoint.hash(),
        }))
    }

    /// The entry step (spec §6.1): the depth limit, the checkpoint, the value transfer (and
    /// its balance check), then the callee: none for an account without code (success at
    /// once), else the caller frame is pushed onto the caller chain and the callee frame built
    /// from the code the witness carries.
    fn enter(&mut self, call: &CallPending) -> StepResult<()> {
        if self.header.callers.0 >= CALL_DEPTH_LIMIT {
            return self.end_call_early(call, false);
        }
        let checkpoint = self.checkpoint_now();
        let pre_root = self.header.state_root;
        let code_account = self.tries().account(pre_root, call.code_address)?;
        if call.transfer {
            let from = self.frame.address;
            let sender = or_empty(self.tries().account(pre_root, from)?);
            if sender.balance < call.value {
                return self.end_call_early(call, false);
            }
            let receiver = self.tries().account(pre_root, call.target)?;
            if !call.value.is_zero() && from != call.target {
                let mut nodes = self.witness.tries.overlay();
                let mut sender = sender;
                sender.balance -= call.value;
                let root =
                    nodes.apply(pre_root, address_key(from), Some(&alloy_rlp::encode(sender)))?;
                let mut account =
                    or_empty(super::Tries { nodes: &nodes }.account(root, call.target)?);
                account.balance =
                    account.balance.checked_add(call.value).ok_or(bad("balance overflow"))?;
                self.header.state_root = nodes.apply(
                    root,
                    address_key(call.target),
                    Some(&alloy_rlp::encode(account)),
                )?;
            } else if call.value.is_zero() && receiver.as_ref().is_some_and(is_empty) {
                self.touch(call.target)?;
            }
        }
        if is_precompile(call.code_address) {
            return self.run_precompile(call, &checkpoint);
        }
        let code = match &code_account {
            Some(account) => self.code_of(account)?,
            None => &[],
        };
        if code.is_empty() {
            return self.end_call_early(call, true);
        }
        let tree = CodeTree::new(code).map_err(Stop::Fail)?;
        let empty = Bytes32Tree { len: 0, root: WordTree::empty().root() };
        self.push_frame(Frame {
            kind: call.kind,
            is_static: call.is_static,
            address: call.target,
            caller: call.caller,
            value: call.value,
            code_root: tree.root(),
            code_size: tree.size() as u32,
            code_hash: tree.code_hash(),
            pc: 0,
            gas: call.gas,
            stack: StackCommitment::EMPTY,
            memory: empty,
            calldata: Bytes32Tree { len: call.input.len, root: call.input.root },
            returndata: empty,
            return_window: call.return_window,
            checkpoint: checkpoint.hash(),
        });
        Ok(())
    }

    /// A call into a precompile (spec §7), in the entry step after the transfer: the witness
    /// carries the whole input, checked against the input buffer; the function runs with the
    /// callee's gas (revm's implementation of the Cancun precompiles: the same functions the L1
    /// precompiles compute, with the Cancun gas formulas). A success returns the unused gas and
    /// the output; a failure consumes all the gas, returns no output and restores the
    /// checkpoint (undoing the transfer). The caller then resumes as after an exit step.
    fn run_precompile(&mut self, call: &CallPending, checkpoint: &Checkpoint) -> StepResult<()> {
        if call.code_address == IDENTITY {
            // The output is the input buffer itself: no data needed (spec §7).
            let cost = identity_cost(call.input.len);
            let success = cost <= call.gas;
            let (left, output) = if success {
                (call.gas - cost, Bytes32Tree { len: call.input.len, root: call.input.root })
            } else {
                self.restore(checkpoint);
                (0, Bytes32Tree { len: 0, root: WordTree::empty().root() })
            };
            let flag = U256::from(u8::from(success));
            return self.resume_caller(call.return_window, flag, left, output);
        }
        let input = self.witness.data.as_ref().ok_or(bad("the precompile input is missing"))?;
        let tree = WordTree::from_bytes(input).map_err(Stop::Fail)?;
        if input.len() != call.input.len as usize || tree.root() != call.input.root {
            return Err(bad("the precompile input does not match the input buffer"));
        }
        let (success, left, output) = precompile(call.code_address, input, call.gas)
            .ok_or(Stop::unsupported(self.opcode, "not a Cancun precompile"))?;
        if !success {
            self.restore(checkpoint);
        }
        let output_tree = WordTree::from_bytes(&output).map_err(Stop::Fail)?;
        let output = Bytes32Tree { len: output.len() as u32, root: output_tree.root() };
        self.resume_caller(call.return_window, U256::from(u8::from(success)), left, output)
    }

    /// Restores `checkpoint` into the header (spec §4.3).
    pub(super) fn restore(&mut self, checkpoint: &Checkpoint) {
        self.header.state_root = checkpoint.state_root;
        self.header.warm_addresses = checkpoint.warm_addresses;
        self.header.warm_slots = checkpoint.warm_slots;
        self.header.transient = checkpoint.transient;
        self.header.created = checkpoint.created;
        self.header.refund = checkpoint.refund;
        self.header.logs = checkpoint.logs;
        self.header.accumulators = checkpoint.accumulators;
    }

    /// The current frame resumes after a call or create: `gas` returned, `output` as its
    /// return data, `pushed` (the success flag, or CREATE's address or zero) pushed, and the
    /// copy of the output into `window` opened (`pc` advances at its end, or now when nothing
    /// is copied).
    fn resume_caller(
        &mut self,
        window: (u32, u32),
        pushed: U256,
        gas: u64,
        output: Bytes32Tree,
    ) -> StepResult<()> {
        self.frame.gas = self.frame.gas.checked_add(gas).ok_or(bad("gas overflow"))?;
        self.frame.returndata = output;
        self.frame.stack = self.frame.stack.push(pushed);
        let n = output.len.min(window.1);
        if n == 0 {
            self.clear_pending();
            self.frame.pc = self.frame.pc.checked_add(1).ok_or(Stop::Halt)?;
        } else {
            let copy = CopyState {
                source: CopySource::Returndata,
                source_root: output.root,
                source_len: output.len,
                source_offset: 0,
                dest: CopyDest::Memory,
                dest_offset: window.0,
                remaining: n,
            };
            self.set_pending(&Pending::Copy(copy));
        }
        Ok(())
    }

    /// A step while RETURN or REVERT copies its output: one word; after the last the frame
    /// exit is pending with the output.
    pub(super) fn output_step(&mut self, success: bool, copy: BufferCopy) -> StepResult<()> {
        self.opcode = if success { 0xf3 } else { 0xfd };
        if copy.is_done() || !copy.copied.is_multiple_of(32) {
            return Err(bad("a pending output's cursor is malformed"));
        }
        let copy = self.copy_to_buffer(copy)?;
        if copy.is_done() {
            let output = Bytes32Tree { len: copy.len, root: copy.root };
            self.set_pending(&Pending::Exit(FrameExit { success, output }));
        } else {
            self.set_pending(&Pending::Output { success, copy });
        }
        Ok(())
    }

    /// The exit step (spec §6.3): the caller frame is popped from the chain; a create frame
    /// that succeeded deposits its output as code (§6.4); a failed frame's checkpoint is
    /// restored; the caller gets the callee's unused gas, and after a call its output as
    /// return data, the success flag and the copy of the output into its return window (`pc`
    /// advances at the copy's end, or here when nothing is copied); after a create the new
    /// address (zero on failure) and as return data a REVERT's output, else nothing.
    pub(super) fn exit(&mut self, exit: &FrameExit) -> StepResult<()> {
        let (depth, chain) = self.header.callers;
        if depth == 0 {
            return self.end_transaction(exit);
        }
        if self.frame.kind == FrameKind::Transaction {
            return Err(bad("a transaction frame above the top of the caller chain"));
        }
        let caller = self.witness.caller_frame.ok_or(bad("the caller frame is missing"))?;
        if hash_pair(&self.witness.callers_rest, &caller.hash()) != chain {
            return Err(bad("the caller frame does not match the caller chain"));
        }
        let creating = matches!(self.frame.kind, FrameKind::Create | FrameKind::Create2);
        let (mut success, mut left, mut output) = (exit.success, self.frame.gas, exit.output);
        let mut pushed = U256::from(u8::from(success));
        if creating {
            pushed = U256::ZERO;
            if success {
                output = Bytes32Tree { len: 0, root: WordTree::empty().root() };
                let mut nodes = self.witness.tries.overlay();
                match self.deposit(exit.output, &mut nodes)? {
                    Some(cost) => {
                        left -= cost;
                        pushed = U256::from_be_slice(self.frame.address.as_slice());
                    }
                    None => (success, left) = (false, 0),
                }
            }
        }
        if !success {
            let checkpoint = self.witness.checkpoint.ok_or(bad("the checkpoint is missing"))?;
            if checkpoint.hash() != self.frame.checkpoint {
                return Err(bad("the checkpoint does not hash to the frame's"));
            }
            self.restore(&checkpoint);
        }
        self.header.callers = (depth - 1, self.witness.callers_rest);
        let window = self.frame.return_window;
        self.frame = caller;
        self.resume_caller(window, pushed, left, output)
    }

    /// The code deposit of a create frame that ended with success and `output` (spec §6.4):
    /// the code's gas (200 per byte) when it is deposited, `None` when the create fails
    /// instead — more than 24,576 bytes (EIP-170), a first byte 0xEF (EIP-3541), or too
    /// little gas for the deposit (EIP-2). The witness carries the code whole, checked against
    /// the output's root; its hash becomes the account's `code_hash`.
    pub(super) fn deposit(
        &mut self,
        output: Bytes32Tree,
        nodes: &mut super::TrieWitness,
    ) -> StepResult<Option<u64>> {
        if output.len as usize > MAX_CODE_SIZE {
            return Ok(None);
        }
        let code = self.witness.data.as_ref().map_or(&[][..], |data| &data[..]);
        let tree = WordTree::from_bytes(code).map_err(Stop::Fail)?;
        if code.len() != output.len as usize || tree.root() != output.root {
            return Err(bad("the deposited code does not match the frame's output"));
        }
        let cost = CODE_DEPOSIT_BYTE_GAS * code.len() as u64;
        if code.first() == Some(&0xef) || cost > self.frame.gas {
            return Ok(None);
        }
        let address = self.frame.address;
        let root = self.header.state_root;
        let account = super::Tries { nodes }
            .account(root, address)?
            .ok_or(bad("the created account is missing from the state"))?;
        let account = TrieAccount { code_hash: alloy_primitives::keccak256(code), ..account };
        self.header.state_root =
            nodes.apply(root, address_key(address), Some(&alloy_rlp::encode(account)))?;
        Ok(Some(cost))
    }
}

/// The identity precompile (`0x04`), whose output is its input.
pub(crate) const IDENTITY: Address = Address::with_last_byte(4);

/// The identity precompile's gas for `len` input bytes: `15 + 3·⌈len/32⌉` (the Yellow
/// Paper's `G_identity`).
pub(crate) fn identity_cost(len: u32) -> u64 {
    15 + 3 * u64::from(len).div_ceil(32)
}

/// Whether `address` is a Cancun precompile (`0x01…0x0a`).
pub(crate) fn is_precompile(address: Address) -> bool {
    let index = U256::from_be_slice(address.as_slice());
    U256::from(1) <= index && index <= U256::from(10)
}

/// Runs the Cancun precompile at `address` on `input` with `gas` (spec §7): `(success, gas
/// left, output)`, where a failure (out of gas, invalid input) leaves no gas and no output;
/// `None` when `address` is not a Cancun precompile. The functions and gas formulas are
/// revm's (`revm-precompile`), the library the reference EVM itself runs.
pub(crate) fn precompile(address: Address, input: &[u8], gas: u64) -> Option<(bool, u64, Vec<u8>)> {
    use revm::precompile::{PrecompileStatus, Precompiles};
    let function = Precompiles::cancun().get(&address)?;
    Some(match function.execute(input, gas, 0) {
        Ok(out) if out.gas_used <= gas && matches!(out.status, PrecompileStatus::Success) => {
            (true, gas - out.gas_used, out.bytes.to_vec())
        }
        Ok(out) if out.gas_used <= gas && matches!(out.status, PrecompileStatus::Revert) => {
            (false, gas - out.gas_used, out.bytes.to_vec())
        }
        _ => (false, 0, Vec::new()),
    })
}
