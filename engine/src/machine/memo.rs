//! Exact-input memos for the hashes that checking every step recomputes.
//!
//! Checking step `i` hashes the pre-state the witness carries (to compare it with the pre-state
//! commitment) and then the post-state; the post-state of step `i` is the pre-state of step
//! `i + 1`, hashed again there. A loop's steps verify the same code chunks against the same code
//! root over and over. Each memo here maps the **exact input bytes** to the output, so a hit
//! returns precisely what the computation would have: the executor's behaviour, including which
//! witnesses it rejects, is the same with and without them. Only the cost changes (about 66
//! keccak-f permutations per checked step before, see BENCHMARKS.md).
//!
//! The memos are per thread, direct-mapped, of fixed size, and keep their buffers, so a hit or
//! an eviction allocates nothing once a slot's buffer has grown to its key's size.

use alloy_primitives::{B256, keccak256};
use std::cell::RefCell;

/// Slots per memo (a power of two).
const SLOTS: usize = 256;

/// A direct-mapped map from byte strings to 32-byte outputs.
struct Memo {
    slots: Vec<Option<(Vec<u8>, B256)>>,
}

impl Memo {
    fn new() -> Self {
        Self { slots: vec![None; SLOTS] }
    }

    /// The output for `key`, computed by `compute` unless the slot holds exactly `key`.
    fn get_or(&mut self, key: &[u8], compute: impl FnOnce() -> B256) -> B256 {
        let slot = &mut self.slots[slot_of(key)];
        if let Some((held, output)) = slot
            && held.as_slice() == key
        {
            return *output;
        }
        let output = compute();
        match slot {
            Some((held, held_output)) => {
                held.clear();
                held.extend_from_slice(key);
                *held_output = output;
            }
            None => *slot = Some((key.to_vec(), output)),
        }
        output
    }
}

/// A slot index from all of `key` (FxHash's multiply-rotate over 8-byte words).
fn slot_of(key: &[u8]) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = key.len() as u64;
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    for &byte in words.remainder() {
        h = (h.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
    }
    (h >> 32) as usize & (SLOTS - 1)
}

thread_local! {
    static ENCODINGS: RefCell<Memo> = RefCell::new(Memo::new());
    static PROOFS: RefCell<Memo> = RefCell::new(Memo::new());
    static STACK: RefCell<Memo> = RefCell::new(Memo::new());
}

/// `H(below ‖ item)`, memoized: the stack commitment's push (spec §2.3), which the pop of the
/// same item at a later step recomputes.
pub(crate) fn stack_push_memo(below: &B256, item: &B256) -> B256 {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(below.as_slice());
    key[32..].copy_from_slice(item.as_slice());
    STACK.with(|memo| memo.borrow_mut().get_or(&key, || keccak256(key)))
}

/// `keccak256(encoding)`, memoized: for the encodings of machine states and frames.
pub(crate) fn keccak256_memo(encoding: &[u8]) -> B256 {
    ENCODINGS.with(|memo| memo.borrow_mut().get_or(encoding, || keccak256(encoding)))
}

/// The root a Merkle proof implies, memoized on the leaf, the index and every sibling:
/// `compute` must be a function of exactly those.
pub(crate) fn proof_root_memo(
    leaf: B256,
    index: u64,
    siblings: &[B256],
    compute: impl FnOnce() -> B256,
) -> B256 {
    let mut key = Vec::with_capacity(40 + 32 * siblings.len());
    key.extend_from_slice(leaf.as_slice());
    key.extend_from_slice(&index.to_be_bytes());
    for sibling in siblings {
        key.extend_from_slice(sibling.as_slice());
    }
    PROOFS.with(|memo| memo.borrow_mut().get_or(&key, compute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_returns_what_was_computed_for_exactly_that_key() {
        let mut memo = Memo::new();
        let a = memo.get_or(b"state a", || keccak256(b"state a"));
        assert_eq!(a, keccak256(b"state a"));
        // Held: the computation does not run again.
        assert_eq!(memo.get_or(b"state a", || unreachable!()), a);
        // A different key never returns a held output, even in the same slot.
        let mut same_slot = None;
        for n in 0u32.. {
            let key = n.to_be_bytes();
            if slot_of(&key) == slot_of(b"state a") {
                same_slot = Some(key);
                break;
            }
        }
        let other = same_slot.unwrap();
        assert_eq!(memo.get_or(&other, || keccak256(other)), keccak256(other));
        assert_eq!(memo.get_or(b"state a", || keccak256(b"state a")), a);
        // A prefix or an extension of a held key is a different key.
        assert_eq!(memo.get_or(b"state ", || keccak256(b"state ")), keccak256(b"state "));
        assert_eq!(memo.get_or(b"state ab", || keccak256(b"state ab")), keccak256(b"state ab"));
    }
}
