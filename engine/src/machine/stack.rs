//! The stack commitment (spec §2.3): `(n, h_n)` with `h_0 = 0^32` and
//! `h_k = H(h_{k-1} ‖ v_k)`, `v_n` on top.

use super::memo::stack_push_memo;
use alloy_primitives::{B256, U256};

/// The stack as the machine commits to it: its size and the hash chain over its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StackCommitment {
    /// The number of items, at most 1024.
    pub size: u16,
    /// `h_size`.
    pub hash: B256,
}

impl StackCommitment {
    /// The empty stack: size 0, hash `0^32`.
    pub const EMPTY: Self = Self { size: 0, hash: B256::ZERO };

    /// The commitment to `items` (bottom first).
    pub fn of(items: &[U256]) -> Self {
        let mut commitment = Self::EMPTY;
        for item in items {
            commitment = commitment.push(*item);
        }
        commitment
    }

    /// The commitment after pushing `value`.
    pub fn push(self, value: U256) -> Self {
        Self { size: self.size + 1, hash: stack_push_memo(&self.hash, &B256::from(value)) }
    }

    /// Checks a pop witness: `rest` is `h_{n-m}` and `top` the `m` top items (bottom-most
    /// first). Returns the commitment to the stack without them, or `None` when the witness
    /// does not hash to this commitment (or claims more items than the stack has).
    pub fn pop(self, rest: B256, top: &[U256]) -> Option<Self> {
        let m = u16::try_from(top.len()).ok()?;
        let size = self.size.checked_sub(m)?;
        let base = Self { size, hash: rest };
        let rebuilt = top.iter().fold(base, |c, item| c.push(*item));
        (rebuilt == self).then_some(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A pop witness built from the real stack verifies; any changed item or hash fails.
        #[test]
        fn pop_witnesses_verify_and_tampering_fails(
            items in proptest::collection::vec(any::<[u8; 32]>(), 1..40),
            m in 1usize..17,
            flip in any::<usize>(),
        ) {
            let items: Vec<U256> = items.into_iter().map(U256::from_be_bytes).collect();
            let m = m.min(items.len());
            let full = StackCommitment::of(&items);
            let split = items.len() - m;
            let rest = StackCommitment::of(&items[..split]);
            prop_assert_eq!(full.pop(rest.hash, &items[split..]), Some(rest));

            let mut forged = items[split..].to_vec();
            let at = flip % forged.len();
            forged[at] ^= U256::from(1);
            prop_assert_eq!(full.pop(rest.hash, &forged), None);
            prop_assert_eq!(full.pop(B256::repeat_byte(1), &items[split..]), None);
        }
    }
}
