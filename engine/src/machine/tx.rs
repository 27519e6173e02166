//! The executor's side of the transaction's end (spec §8.2): the **end step**, which takes
//! the top frame's exit — a creation's code deposit, the checkpoint restored on failure, the
//! EIP-3529 refund, the unused gas paid back to the sender, the priority fee paid to the
//! coinbase — and the **deletion steps**, which pop the transaction's accumulators one
//! account at a time (EIP-6780 selfdestructs first, then EIP-161 touched accounts that are
//! empty). The state after the last of them is final: status `Succeeded` or `Failed`, with
//! the receipt's status and gas used as the pending [`TxEnd`].

use super::{
    Chain, FrameExit, FrameKind, Pending, PendingKind, Status, TxAccumulators, TxEnd, address_key,
    context::append_address,
    execute::{Step, StepResult, bad},
    hash_pair, is_empty,
};
use alloy_primitives::U256;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The refund cap's divisor (EIP-3529): at most a fifth of the gas used is refunded.
pub(crate) const MAX_REFUND_QUOTIENT: u64 = 5;

/// The account at `address`, absent read as empty (spec §2.4).
fn or_empty(account: Option<TrieAccount>) -> TrieAccount {
    account.unwrap_or(TrieAccount {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

/// The fee settlement of the end step: `(gas used after the refund, wei paid back to the
/// sender, wei paid to the coinbase)` from the transaction's gas limit, the gas left in the
/// top frame, the refund counter, the effective gas price and the base fee (all in gas or
/// wei). `None` when the gas left exceeds the limit or the price is below the base fee (no
/// transaction that passed its begin step has either).
pub(crate) fn settle_fees(
    gas_limit: u64,
    left: u64,
    refund_counter: u64,
    gas_price: U256,
    base_fee: U256,
) -> Option<(u64, U256, U256)> {
    let used = gas_limit.checked_sub(left)?;
    let refund = refund_counter.min(used / MAX_REFUND_QUOTIENT);
    let gas_used = used - refund;
    let priority = gas_price.checked_sub(base_fee)?;
    let back = U256::from(left + refund).checked_mul(gas_price)?;
    let reward = U256::from(gas_used).checked_mul(priority)?;
    Some((gas_used, back, reward))
}

impl Step<'_> {
    /// The end step (spec §8.2), from the top frame's pending exit: a creation transaction's
    /// frame deposits its code as a create frame's exit does (§6.4); a failure restores the
    /// top frame's checkpoint; the sender is paid `(left + refund) × gas_price` and the
    /// coinbase `gas_used × (gas_price − base_fee)`, where `refund = min(refund counter,
    /// used / 5)` (EIP-3529); a coinbase left existing and empty is appended to the touched
    /// chain (EIP-161). The witness's accumulators are those after the restore (the
    /// checkpoint's on failure). The frame is gone (`frame_hash = 0`); [`TxEnd`] is pending while
    /// deletions remain, and the state is final when none do.
    pub(super) fn end_transaction(&mut self, exit: &FrameExit) -> StepResult<()> {
        let mut success = exit.success;
        let mut left = self.frame.gas;
        // Every write of the step goes through one overlay: each read after a write needs the
        // nodes the write made.
        let mut nodes = self.witness.tries.overlay();
        if matches!(self.frame.kind, FrameKind::Create | FrameKind::Create2) && success {
            match self.deposit(exit.output, &mut nodes)? {
                Some(cost) => left -= cost,
                None => (success, left) = (false, 0),
            }
        }
        if !success {
            let checkpoint = self.witness.checkpoint.ok_or(bad("the checkpoint is missing"))?;
            if checkpoint.hash() != self.frame.checkpoint {
                return Err(bad("the checkpoint does not hash to the frame's"));
            }
            self.restore(&checkpoint);
        }
        // The accumulators as they stand now: after a failure, the checkpoint's (the witness
        // carries their preimage).
        let acc = self.accumulators()?;
        self.settle_transaction(success, left, acc, &mut nodes)
    }

    /// The fee settlement that ends every transaction that ran (spec §8.2 steps 3–5), after
    /// the top frame (or the entry step, §8.1, when there is none) ended with `success` and
    /// `left` gas: the sender is paid back, the coinbase paid, the frame is gone and
    /// [`TxEnd`] pending, `acc` (the accumulators as they stand) written to the header.
    /// `nodes` is the step's overlay.
    pub(super) fn settle_transaction(
        &mut self,
        success: bool,
        left: u64,
        mut acc: TxAccumulators,
        nodes: &mut super::TrieWitness,
    ) -> StepResult<()> {
        let tx = self.tx()?;
        let block = self.block()?;
        let (gas_used, back, reward) =
            settle_fees(tx.gas_limit, left, self.header.refund, tx.gas_price, block.base_fee)
                .ok_or(bad("the top frame's gas or the fees are out of range"))?;
        let mut root = self.header.state_root;
        let origin = or_empty(super::Tries { nodes }.account(root, tx.origin)?);
        let balance = origin.balance.checked_add(back).ok_or(bad("balance overflow"))?;
        let origin = TrieAccount { balance, ..origin };
        root = nodes.apply(root, address_key(tx.origin), Some(&alloy_rlp::encode(origin)))?;
        let coinbase = super::Tries { nodes }.account(root, block.coinbase)?;
        if !reward.is_zero() {
            let mut account = or_empty(coinbase);
            account.balance = account.balance.checked_add(reward).ok_or(bad("balance overflow"))?;
            root = nodes.apply(
                root,
                address_key(block.coinbase),
                Some(&alloy_rlp::encode(account)),
            )?;
        } else if coinbase.as_ref().is_some_and(is_empty) {
            acc.touched = append_address(acc.touched, block.coinbase);
        }
        self.header.state_root = root;
        self.outside_frame = true;
        self.conclude(TxEnd { success, gas_used }, acc);
        Ok(())
    }

    /// A deletion step (spec §8.2), with [`TxEnd`] pending: pops the last item of
    /// `selfdestructs` (the account is deleted) or, when that chain is empty, of `touched` (the
    /// account is deleted if it exists and is empty); the witness carries the item and the
    /// chain's accumulator below it.
    pub(super) fn deletion_step(&mut self, end: &TxEnd) -> StepResult<()> {
        if !self.outside_frame {
            return Err(bad("a deletion step inside a frame"));
        }
        let mut acc = self.accumulators()?;
        let (rest, address) = self.witness.popped.ok_or(bad("the popped item is missing"))?;
        let selfdestructed = acc.selfdestructs.count > 0;
        let chain = if selfdestructed { &mut acc.selfdestructs } else { &mut acc.touched };
        if chain.count == 0 {
            return Err(bad("a deletion step with nothing to delete"));
        }
        if hash_pair(&rest, &address.into_word()) != chain.acc {
            return Err(bad("the popped item does not match the chain"));
        }
        *chain = Chain { count: chain.count - 1, acc: rest };
        let root = self.header.state_root;
        let account = self.tries().account(root, address)?;
        let delete =
            account.is_some() && (selfdestructed || account.as_ref().is_some_and(is_empty));
        if delete {
            self.header.state_root = self.witness.tries.set(root, address_key(address), None)?;
        }
        self.conclude(*end, acc);
        Ok(())
    }

    /// Leaves `end` pending with `acc` as the accumulators; the state is final (status by
    /// `end.success`) once both chains are empty.
    fn conclude(&mut self, end: TxEnd, acc: TxAccumulators) {
        self.header.accumulators = acc.hash();
        let pending = Pending::TxEnd(end);
        self.header.pending_kind = PendingKind::TxEnd;
        self.header.pending_hash = pending.hash();
        if acc.touched.count == 0 && acc.selfdestructs.count == 0 {
            self.header.status = if end.success { Status::Succeeded } else { Status::Failed };
        }
    }
}
