//! Blockchain tests (`BlockchainTests/`): a genesis pre-state and a chain of blocks, each
//! given as RLP (decoded here, transactions with their signatures) with its expected
//! post-state root in the header.

use super::display_path;
use crate::{Error, RecoveredTx, Result};
use alloy_consensus::{Block, Header, TxEnvelope};
use alloy_eips::eip4895::Withdrawal;
use alloy_rlp::Decodable;
use revm::{
    context::BlockEnv,
    context_interface::block::BlobExcessGasAndPrice,
    database::CacheState,
    primitives::{Address, B256, U256, hardfork::SpecId},
};
use revm_statetest_types::blockchain::{BlockchainTestCase, ForkSpec};
use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

/// A parsed blockchain-test file, holding one or more tests.
#[derive(Debug)]
pub struct BlockchainTestFile {
    path: PathBuf,
    tests: BTreeMap<String, BlockchainTestCase>,
}

impl BlockchainTestFile {
    /// Reads and parses a blockchain-test file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Json`] when it is not a
    /// blockchain test.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let tests = serde_json::from_slice(&text).map_err(|source| Error::Json {
            path: path.to_owned(),
            format: "blockchain test",
            source,
        })?;
        Ok(Self { path: path.to_owned(), tests })
    }

    /// The tests of this file whose network is `fork` (transition networks such as
    /// `ShanghaiToCancunAtTime15k` belong to no single fork and are not listed).
    pub fn tests(&self, fork: SpecId) -> impl Iterator<Item = BlockchainTest<'_>> {
        self.tests
            .iter()
            .filter(move |(_, case)| network_spec(case.network) == Some(fork))
            .map(move |(name, case)| BlockchainTest { file: &self.path, name, fork, case })
    }
}

/// The [`SpecId`] of a single-fork network.
fn network_spec(network: ForkSpec) -> Option<SpecId> {
    Some(match network {
        ForkSpec::Berlin => SpecId::BERLIN,
        ForkSpec::London => SpecId::LONDON,
        ForkSpec::Paris => SpecId::MERGE,
        ForkSpec::Shanghai => SpecId::SHANGHAI,
        ForkSpec::Cancun => SpecId::CANCUN,
        ForkSpec::Prague => SpecId::PRAGUE,
        ForkSpec::Osaka => SpecId::OSAKA,
        _ => return None,
    })
}

/// One blockchain test: a genesis pre-state and a chain of blocks under one fork.
#[derive(Clone, Copy)]
pub struct BlockchainTest<'a> {
    file: &'a Path,
    name: &'a str,
    fork: SpecId,
    case: &'a BlockchainTestCase,
}

/// `file::test@Fork`.
impl fmt::Display for BlockchainTest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}@{:?}", display_path(self.file), self.name, self.fork)
    }
}

impl fmt::Debug for BlockchainTest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BlockchainTest").field(&format_args!("{self}")).finish()
    }
}

impl<'a> BlockchainTest<'a> {
    /// The test's name within its file.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The fork every block runs under.
    pub fn fork(&self) -> SpecId {
        self.fork
    }

    /// The hash of the genesis block (for `BLOCKHASH`).
    pub fn genesis_hash(&self) -> B256 {
        self.case.genesis_block_header.hash
    }

    /// The number of the genesis block.
    pub fn genesis_number(&self) -> U256 {
        self.case.genesis_block_header.number
    }

    /// The hash the last block must have.
    pub fn expected_last_block_hash(&self) -> B256 {
        self.case.lastblockhash
    }

    /// The genesis state, with code stored by hash. Zero storage values are dropped (they are
    /// not in the trie).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when a nonce does not fit in 64 bits.
    pub fn pre_state(&self) -> Result<CacheState> {
        Ok(super::cache_state(self.pre_accounts()?.iter()))
    }

    /// The genesis accounts.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when a nonce does not fit in 64 bits.
    pub fn pre_accounts(&self) -> Result<BTreeMap<Address, super::PreAccount>> {
        self.case
            .pre
            .0
            .iter()
            .map(|(address, account)| {
                let nonce = u64::try_from(account.nonce).map_err(|_| {
                    Error::invalid_case(self, format!("nonce of {address} exceeds 64 bits"))
                })?;
                let pre = super::PreAccount {
                    balance: account.balance,
                    nonce,
                    code: account.code.clone(),
                    storage: account.storage.clone(),
                };
                Ok((*address, pre))
            })
            .collect()
    }

    /// The blocks, decoded from their RLP, with every transaction's sender recovered.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when a block's RLP does not decode or a signature does not
    /// recover; blocks that the test expects to be rejected (`expectException`) are errors
    /// too, since only valid chains are replayed.
    pub fn blocks(&self) -> Result<Vec<TestBlock>> {
        self.case
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let what = format!("{self} block {i}");
                if let Some(exception) = &block.expect_exception {
                    return Err(Error::invalid_case(
                        &what,
                        format!("the block is expected to be invalid ({exception})"),
                    ));
                }
                let decoded = Block::<TxEnvelope>::decode(&mut block.rlp.as_ref())
                    .map_err(|e| Error::invalid_case(&what, format!("undecodable RLP: {e}")))?;
                let hash = decoded.header.hash_slow();
                let transactions = decoded
                    .body
                    .transactions
                    .into_iter()
                    .enumerate()
                    .map(|(j, tx)| RecoveredTx::recover(tx, &format_args!("{what} tx {j}")))
                    .collect::<Result<_>>()?;
                let withdrawals =
                    decoded.body.withdrawals.map(|w| w.into_inner()).unwrap_or_default();
                Ok(TestBlock { header: decoded.header, hash, transactions, withdrawals })
            })
            .collect()
    }
}

/// A decoded block of a blockchain test.
#[derive(Clone, Debug)]
pub struct TestBlock {
    /// The block header; `state_root`, `receipts_root` and `gas_used` are the expectations.
    pub header: Header,
    /// `keccak256(rlp(header))`.
    pub hash: B256,
    /// The transactions, in order, with their senders.
    pub transactions: Vec<RecoveredTx>,
    /// EIP-4895 withdrawals (amounts in gwei), applied after the transactions.
    pub withdrawals: Vec<Withdrawal>,
}

impl TestBlock {
    /// The block environment revm runs this block's transactions in. `prevrandao` is the
    /// header's `mixHash` after the Merge (EIP-4399); the blob gas price follows from
    /// `excessBlobGas` with the fork's update fraction (EIP-4844).
    pub fn block_env(&self, blob_base_fee_update_fraction: u64) -> BlockEnv {
        let h = &self.header;
        BlockEnv {
            number: U256::from(h.number),
            beneficiary: h.beneficiary,
            timestamp: U256::from(h.timestamp),
            gas_limit: h.gas_limit,
            basefee: h.base_fee_per_gas.unwrap_or_default(),
            difficulty: h.difficulty,
            prevrandao: h.difficulty.is_zero().then_some(h.mix_hash),
            blob_excess_gas_and_price: h
                .excess_blob_gas
                .map(|excess| BlobExcessGasAndPrice::new(excess, blob_base_fee_update_fraction)),
            ..BlockEnv::default()
        }
    }
}
