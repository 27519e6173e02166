//! The block and transaction contexts (spec §4.4) and the pending frame exit (spec §4.5): the
//! parts of the state that context opcodes and halts read or write, each committed by the hash
//! of its encoding.

use super::{Bytes32Tree, Chain, FixedMerkleTree, MerkleProof, WordTree, memo::keccak256_memo};
use crate::Result;
use alloy_primitives::{Address, B256, U256, keccak256};

/// Depth of the block-hash history tree: the 256 previous block hashes (spec §4.4).
pub const BLOCK_HASHES_DEPTH: u8 = 8;

/// Depth of the blob-hash tree: at most 16 versioned hashes per transaction (EIP-4844 allows
/// 6 per block in Cancun; the depth leaves room for later forks without a layout change).
pub const BLOB_HASHES_DEPTH: u8 = 4;

/// The block a transaction runs in (spec §4.4), 180 bytes encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockContext {
    /// `NUMBER`.
    pub number: u64,
    /// `TIMESTAMP`, in seconds.
    pub timestamp: u64,
    /// `COINBASE`.
    pub coinbase: Address,
    /// `GASLIMIT`.
    pub gas_limit: u64,
    /// `BASEFEE`, in wei (EIP-3198).
    pub base_fee: U256,
    /// `PREVRANDAO` (EIP-4399).
    pub prevrandao: B256,
    /// `CHAINID` (EIP-1344).
    pub chain_id: u64,
    /// `BLOBBASEFEE`, in wei (EIP-7516).
    pub blob_base_fee: U256,
    /// Root of the tree of depth [`BLOCK_HASHES_DEPTH`] whose leaf `k` is the hash of block
    /// `number - 1 - k` (zero for blocks before genesis).
    pub block_hashes: B256,
}

impl BlockContext {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 180;

    /// The encoding: the fields in order, fixed-width, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(self.coinbase.as_slice());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.prevrandao.as_slice());
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.block_hashes.as_slice());
        out
    }

    /// `H(encode(self))`, the header's `block_hash`.
    pub fn hash(&self) -> B256 {
        keccak256_memo(&self.encode())
    }

    /// The leaf of the block-hash tree that holds block `requested`, or `None` when BLOCKHASH
    /// returns zero for it (not one of the 256 blocks before this one).
    pub fn history_index(&self, requested: U256) -> Option<u64> {
        let requested = u64::try_from(requested).ok()?;
        let back = self.number.checked_sub(requested)?;
        (1..=256).contains(&back).then(|| back - 1)
    }

    /// The block-hash tree over `hashes[k]` = hash of block `number - 1 - k`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] for more than 256 hashes.
    pub fn history_tree(hashes: Vec<B256>) -> Result<FixedMerkleTree> {
        FixedMerkleTree::new(BLOCK_HASHES_DEPTH, B256::ZERO, hashes)
    }
}

/// The transaction being executed (spec §4.4), 125 bytes encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxContext {
    /// `ORIGIN`: the sender.
    pub origin: Address,
    /// `GASPRICE`: the effective gas price, in wei (EIP-1559).
    pub gas_price: U256,
    /// The transaction's gas limit.
    pub gas_limit: u64,
    /// Number of EIP-4844 versioned hashes.
    pub blob_count: u8,
    /// Root of the tree of depth [`BLOB_HASHES_DEPTH`] over the versioned hashes.
    pub blob_hashes: B256,
    /// The world state root at transaction begin: proves original storage values
    /// (EIP-2200, EIP-3529).
    pub start_state_root: B256,
}

impl TxContext {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 125;

    /// The encoding: the fields in order, fixed-width, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(self.origin.as_slice());
        out.extend_from_slice(&self.gas_price.to_be_bytes::<32>());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        out.push(self.blob_count);
        out.extend_from_slice(self.blob_hashes.as_slice());
        out.extend_from_slice(self.start_state_root.as_slice());
        out
    }

    /// `H(encode(self))`, the header's `tx_hash`.
    pub fn hash(&self) -> B256 {
        keccak256_memo(&self.encode())
    }

    /// The tree of the versioned hashes.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TreeOverflow`] for more than 16 hashes.
    pub fn blob_tree(hashes: Vec<B256>) -> Result<FixedMerkleTree> {
        FixedMerkleTree::new(BLOB_HASHES_DEPTH, B256::ZERO, hashes)
    }
}

/// The prover's contexts of one transaction: the committed contexts with the trees behind
/// them, to complete the witness of a step that reads them.
#[derive(Clone, Debug)]
pub struct Contexts {
    /// The block context.
    pub block: BlockContext,
    /// The block-hash tree (`block.block_hashes` is its root).
    pub history: FixedMerkleTree,
    /// The transaction context.
    pub tx: TxContext,
    /// The versioned-hash tree (`tx.blob_hashes` is its root).
    pub blobs: FixedMerkleTree,
}

impl Contexts {
    /// Adds to `witness` the contexts and the leaf the step of `opcode` reads (spec §5.2);
    /// `witness.stack` must hold the step's operands.
    ///
    /// # Errors
    ///
    /// None for requests in range; [`crate::Error::TreeOverflow`] cannot occur for indices
    /// the contexts return.
    pub fn complete(&self, opcode: u8, witness: &mut super::StepWitness) -> Result<()> {
        let operand = witness.stack.last().copied().unwrap_or_default();
        match opcode {
            0x32 | 0x3a => witness.tx = Some(self.tx),
            0x40 => {
                witness.block = Some(self.block);
                if let Some(k) = self.block.history_index(operand) {
                    let proof = self.history.proof(k)?;
                    witness.leaf = Some(LeafWitness { leaf: self.history.leaf(k), proof });
                }
            }
            0x49 => {
                witness.tx = Some(self.tx);
                if let Ok(i) = u64::try_from(operand)
                    && i < u64::from(self.tx.blob_count)
                {
                    let proof = self.blobs.proof(i)?;
                    witness.leaf = Some(LeafWitness { leaf: self.blobs.leaf(i), proof });
                }
            }
            0x41..=0x46 | 0x48 | 0x4a => witness.block = Some(self.block),
            _ => {}
        }
        Ok(())
    }
}

/// A leaf of a context tree (block hashes, blob hashes) with its proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafWitness {
    /// The leaf.
    pub leaf: B256,
    /// Its proof; the index is the leaf's.
    pub proof: MerkleProof,
}

/// The transaction's accumulators (spec §4.4): the chains consumed at transaction end (§8.2),
/// committed in the header's `accumulators` field. 72 bytes encoded, `touched (u32 ‖ b32) ‖
/// selfdestructs (u32 ‖ b32)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TxAccumulators {
    /// Accounts touched while empty (EIP-161 deletion candidates), item = the address
    /// left-padded to 32 bytes.
    pub touched: Chain,
    /// Accounts that ran SELFDESTRUCT in the transaction that created them (EIP-6780
    /// deletions), item = the address left-padded to 32 bytes.
    pub selfdestructs: Chain,
}

impl TxAccumulators {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 72;

    /// The encoding: `touched.count u32 ‖ touched.acc ‖ selfdestructs.count u32 ‖
    /// selfdestructs.acc`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        for chain in [self.touched, self.selfdestructs] {
            out.extend_from_slice(&chain.count.to_be_bytes());
            out.extend_from_slice(chain.acc.as_slice());
        }
        out
    }

    /// `H(encode(self))`, the header's `accumulators`.
    pub fn hash(&self) -> B256 {
        keccak256_memo(&self.encode())
    }
}

/// Appends `address` (left-padded to 32 bytes) to `chain` (spec §2.5).
pub(crate) fn append_address(chain: Chain, address: Address) -> Chain {
    Chain { count: chain.count + 1, acc: super::hash_pair(&chain.acc, &address.into_word()) }
}

/// A frame that has finished and waits for its exit step (spec §4.5, §6.2): the pending
/// state of `pending_kind = FrameExit`, 37 bytes encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameExit {
    /// 1 for STOP, RETURN and SELFDESTRUCT; 0 for REVERT and exceptional halts.
    pub success: bool,
    /// The frame's output: empty for STOP, SELFDESTRUCT and halts.
    pub output: Bytes32Tree,
}

impl FrameExit {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 37;

    /// An exit with empty output.
    pub fn empty(success: bool) -> Self {
        Self { success, output: Bytes32Tree { len: 0, root: WordTree::empty().root() } }
    }

    /// The encoding: `success u8 ‖ output_len u32 ‖ output_root b32`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(u8::from(self.success));
        out.extend_from_slice(&self.output.len.to_be_bytes());
        out.extend_from_slice(self.output.root.as_slice());
        out
    }

    /// `H(encode(self))`, the header's `pending_hash` while the exit is pending.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The transaction's outcome after its end step (spec §8.2): the pending state of
/// `pending_kind = TxEnd` during the deletion steps and in the final state, 9 bytes encoded,
/// `success u8 ‖ gas_used u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxEnd {
    /// The receipt's status: the top frame succeeded (and a creation deposited its code).
    pub success: bool,
    /// The gas the transaction used, the refund deducted (the receipt's `gasUsed`).
    pub gas_used: u64,
}

impl TxEnd {
    /// The encoded size in bytes.
    pub const ENCODED_LEN: usize = 9;

    /// The encoding: `success u8 ‖ gas_used u64`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.push(u8::from(self.success));
        out.extend_from_slice(&self.gas_used.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_have_the_spec_sizes() {
        let block = BlockContext {
            number: 1,
            timestamp: 2,
            coinbase: Address::repeat_byte(3),
            gas_limit: 4,
            base_fee: U256::from(5),
            prevrandao: B256::repeat_byte(6),
            chain_id: 7,
            blob_base_fee: U256::from(8),
            block_hashes: B256::repeat_byte(9),
        };
        assert_eq!(block.encode().len(), BlockContext::ENCODED_LEN);
        let tx = TxContext {
            origin: Address::repeat_byte(1),
            gas_price: U256::from(2),
            gas_limit: 3,
            blob_count: 0,
            blob_hashes: B256::ZERO,
            start_state_root: B256::ZERO,
        };
        assert_eq!(tx.encode().len(), TxContext::ENCODED_LEN);
        assert_eq!(FrameExit::empty(true).encode().len(), FrameExit::ENCODED_LEN);
    }

    #[test]
    fn history_covers_exactly_the_256_previous_blocks() {
        let block = |number| BlockContext {
            number,
            timestamp: 0,
            coinbase: Address::ZERO,
            gas_limit: 0,
            base_fee: U256::ZERO,
            prevrandao: B256::ZERO,
            chain_id: 1,
            blob_base_fee: U256::ZERO,
            block_hashes: B256::ZERO,
        };
        let b = block(1000);
        assert_eq!(b.history_index(U256::from(999)), Some(0));
        assert_eq!(b.history_index(U256::from(744)), Some(255));
        assert_eq!(b.history_index(U256::from(743)), None);
        assert_eq!(b.history_index(U256::from(1000)), None);
        assert_eq!(b.history_index(U256::MAX), None);
        assert_eq!(block(0).history_index(U256::ZERO), None);
    }
}
