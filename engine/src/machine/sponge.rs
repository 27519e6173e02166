//! The keccak sponge of KECCAK256 and LOG micro-steps (spec §5.5): the 1600-bit keccak state
//! absorbs one 136-byte block per micro-step, so no step hashes more than one block.

use alloy_primitives::B256;

/// The sponge's rate in bytes: one micro-step absorbs this much (keccak256, capacity 512 bits).
pub const KECCAK_RATE: usize = 136;

/// The keccak-f[1600] state between micro-steps, as committed in `Pending::Keccak` (§4.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sponge {
    /// The 25 lanes, lane `x + 5y` at index `x + 5y`, as keccak numbers them.
    pub lanes: [u64; 25],
}

impl Sponge {
    /// The initial (all-zero) state.
    pub const fn new() -> Self {
        Self { lanes: [0; 25] }
    }

    /// Absorbs one full block: XOR it into the rate lanes (little-endian), then permute.
    pub fn absorb(&mut self, block: &[u8; KECCAK_RATE]) {
        for (lane, bytes) in self.lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            *lane ^= u64::from_le_bytes(word);
        }
        keccak::Keccak::new().with_f1600(|f1600| f1600(&mut self.lanes));
    }

    /// Absorbs `tail` (whole blocks first, then the remainder with keccak's `0x01 … 0x80`
    /// padding) and squeezes the 32-byte digest. A micro-step passes only the last, partial
    /// block; any length gives the keccak256 of everything absorbed.
    pub fn finish(mut self, mut tail: &[u8]) -> B256 {
        while let Some((block, rest)) = tail.split_first_chunk::<KECCAK_RATE>() {
            self.absorb(block);
            tail = rest;
        }
        let mut block = [0u8; KECCAK_RATE];
        block[..tail.len()].copy_from_slice(tail);
        block[tail.len()] ^= 0x01;
        block[KECCAK_RATE - 1] ^= 0x80;
        self.absorb(&block);
        let mut digest = B256::ZERO;
        for (out, lane) in digest.chunks_exact_mut(8).zip(self.lanes) {
            out.copy_from_slice(&lane.to_le_bytes());
        }
        digest
    }

    /// The state's encoding in a commitment: 25 lanes, each `u64` big-endian (200 bytes).
    pub fn encode(&self) -> [u8; 200] {
        let mut out = [0u8; 200];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(self.lanes) {
            chunk.copy_from_slice(&lane.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use proptest::prelude::*;

    fn by_blocks(data: &[u8]) -> B256 {
        let mut sponge = Sponge::new();
        let full = data.len() / KECCAK_RATE * KECCAK_RATE;
        for block in data[..full].chunks_exact(KECCAK_RATE) {
            sponge.absorb(block.try_into().unwrap());
        }
        sponge.finish(&data[full..])
    }

    #[test]
    fn empty_input_is_keccak_of_nothing() {
        assert_eq!(Sponge::new().finish(&[]), keccak256([]));
    }

    #[test]
    fn finish_takes_any_length() {
        let data = vec![7u8; 500];
        assert_eq!(Sponge::new().finish(&data), keccak256(&data));
    }

    proptest! {
        /// Block-by-block absorption equals keccak256 at every length, including exact
        /// multiples of the rate and the 135-byte tail whose padding bytes coincide.
        #[test]
        fn block_by_block_equals_keccak256(data in proptest::collection::vec(any::<u8>(), 0..700)) {
            prop_assert_eq!(by_blocks(&data), keccak256(&data));
        }
    }

    #[test]
    fn rate_boundaries() {
        for len in [135, 136, 137, 271, 272, 273] {
            let data = vec![0xa5u8; len];
            assert_eq!(by_blocks(&data), keccak256(&data), "length {len}");
        }
    }
}
