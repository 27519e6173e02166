//! State tests (`GeneralStateTests/`): one pre-state, one block environment and a
//! transaction template per test; under `post.<Fork>` one case per (data, gas, value) index
//! combination, with the expected state root (`hash`) and logs hash (`logs`).

use super::{display_path, spec_id};
use crate::{Error, Result};
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::block::BlobExcessGasAndPrice,
    database::CacheState,
    primitives::{B256, TxKind, U256, hardfork::SpecId},
};
use revm_statetest_types::{Test, TestSuite, TestUnit, recover_address};
use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

/// A parsed state-test file, holding one or more tests.
#[derive(Debug)]
pub struct StateTestFile {
    path: PathBuf,
    suite: TestSuite,
    /// Per test, the indices of `transaction.value` entries wider than 256 bits (written
    /// `0x:bigint 0x...` in the corpus), which no transaction can carry.
    oversized_values: BTreeMap<String, Vec<usize>>,
}

/// Replaces every `transaction.value` entry written as a `:bigint` wider than 256 bits with
/// zero, and returns their indices per test.
fn take_oversized_values(
    raw: &mut BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, Vec<usize>> {
    let mut oversized = BTreeMap::new();
    for (name, unit) in raw.iter_mut() {
        let Some(values) = unit.pointer_mut("/transaction/value").and_then(|v| v.as_array_mut())
        else {
            continue;
        };
        for (i, value) in values.iter_mut().enumerate() {
            let Some(text) = value.as_str() else { continue };
            let Some(digits) = text.strip_prefix("0x:bigint 0x") else { continue };
            if U256::from_str_radix(digits, 16).is_err() {
                *value = serde_json::Value::String("0x00".to_owned());
                oversized.entry(name.clone()).or_insert_with(Vec::new).push(i);
            }
        }
    }
    oversized
}

impl StateTestFile {
    /// Reads and parses a state-test file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Json`] when it is not a state test.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let json_error =
            |source| Error::Json { path: path.to_owned(), format: "state test", source };
        let (suite, oversized_values) = match serde_json::from_slice(&text) {
            Ok(suite) => (suite, BTreeMap::new()),
            // Slow path, for the few files whose transaction values do not fit in 256 bits.
            Err(e) => {
                let mut raw: BTreeMap<String, serde_json::Value> =
                    serde_json::from_slice(&text).map_err(json_error)?;
                let oversized = take_oversized_values(&mut raw);
                if oversized.is_empty() {
                    return Err(json_error(e));
                }
                let suite = serde_json::from_value(serde_json::to_value(raw).map_err(json_error)?)
                    .map_err(json_error)?;
                (suite, oversized)
            }
        };
        Ok(Self { path: path.to_owned(), suite, oversized_values })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cases of this file under `fork`, in file order: for each test, each entry of
    /// `post.<fork>`. Tests without expectations for `fork` have no cases.
    pub fn cases(&self, fork: SpecId) -> impl Iterator<Item = StateTestCase<'_>> {
        self.suite.0.iter().flat_map(move |(name, unit)| {
            let post = unit
                .post
                .iter()
                .find(|(spec, _)| spec_id(spec) == Some(fork))
                .map(|(_, tests)| tests.as_slice())
                .unwrap_or_default();
            let oversized_values =
                self.oversized_values.get(name).map(Vec::as_slice).unwrap_or_default();
            post.iter().map(move |test| StateTestCase {
                file: &self.path,
                name,
                fork,
                unit,
                test,
                oversized_values,
            })
        })
    }
}

/// The (data, gas, value) indices that pick a case's transaction out of the test's template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxIndices {
    /// Index into `transaction.data` (and `transaction.accessLists`).
    pub data: usize,
    /// Index into `transaction.gasLimit`.
    pub gas: usize,
    /// Index into `transaction.value`.
    pub value: usize,
}

/// One state-test case: a test of a file, a fork and a (data, gas, value) index combination.
#[derive(Clone, Copy)]
pub struct StateTestCase<'a> {
    file: &'a Path,
    name: &'a str,
    fork: SpecId,
    unit: &'a TestUnit,
    test: &'a Test,
    oversized_values: &'a [usize],
}

impl fmt::Debug for StateTestCase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StateTestCase").field(&format_args!("{self}")).finish()
    }
}

/// `file::test[d,g,v]@Fork`, e.g. `GeneralStateTests/stExample/add11.json::add11[0,0,0]@CANCUN`.
impl fmt::Display for StateTestCase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TxIndices { data, gas, value } = self.indices();
        write!(
            f,
            "{}::{}[{data},{gas},{value}]@{:?}",
            display_path(self.file),
            self.name,
            self.fork
        )
    }
}

impl<'a> StateTestCase<'a> {
    /// The file the case comes from.
    pub fn file(&self) -> &'a Path {
        self.file
    }

    /// The test's name within its file.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The fork the case runs under.
    pub fn fork(&self) -> SpecId {
        self.fork
    }

    /// The case's transaction indices.
    pub fn indices(&self) -> TxIndices {
        let i = &self.test.indexes;
        TxIndices { data: i.data, gas: i.gas, value: i.value }
    }

    /// The expected post-state root (`hash`).
    pub fn expected_state_root(&self) -> B256 {
        self.test.hash
    }

    /// The expected logs hash (`logs`, see [`crate::logs_hash`]).
    pub fn expected_logs_hash(&self) -> B256 {
        self.test.logs
    }

    /// The exception the transaction is expected to raise (it is invalid and must not
    /// change the state), if any, as the tests name it (e.g. `TR_NoFunds`).
    pub fn expected_exception(&self) -> Option<&'a str> {
        self.test.expect_exception.as_deref()
    }

    /// The pre-state, with code stored by hash as a node's state provider would serve it.
    pub fn pre_state(&self) -> CacheState {
        self.unit.state()
    }

    /// The chain configuration: the fork, its mainnet gas parameters, the chain id
    /// (`env.currentChainID`, default 1) and at most 6 blobs per transaction (EIP-4844).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when the chain id does not fit in 64 bits.
    pub fn cfg(&self) -> Result<CfgEnv> {
        let mut cfg = CfgEnv::new_with_spec(self.fork);
        cfg.chain_id =
            self.u64_field("currentChainID", self.unit.env.current_chain_id)?.unwrap_or(1);
        cfg.set_max_blobs_per_tx(6);
        Ok(cfg)
    }

    /// The block environment from the test's `env`. From the Merge on, `prevrandao` is
    /// `env.currentRandom` (zero when absent); from Cancun on, the blob gas price follows
    /// from `env.currentExcessBlobGas` (EIP-4844).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when a field that revm holds in 64 bits does not fit.
    pub fn block_env(&self) -> Result<BlockEnv> {
        let env = &self.unit.env;
        let mut block = BlockEnv {
            number: env.current_number,
            beneficiary: env.current_coinbase,
            timestamp: env.current_timestamp,
            gas_limit: self.u64_field("currentGasLimit", Some(env.current_gas_limit))?.unwrap_or(0),
            basefee: self.u64_field("currentBaseFee", env.current_base_fee)?.unwrap_or(0),
            difficulty: env.current_difficulty,
            prevrandao: env.current_random,
            ..BlockEnv::default()
        };
        if self.fork.is_enabled_in(SpecId::MERGE) && block.prevrandao.is_none() {
            block.prevrandao = Some(B256::ZERO);
        }
        if self.fork.is_enabled_in(SpecId::CANCUN) {
            let excess = self.u64_field("currentExcessBlobGas", env.current_excess_blob_gas)?;
            let fraction = self.cfg()?.blob_base_fee_update_fraction();
            block.blob_excess_gas_and_price =
                Some(BlobExcessGasAndPrice::new(excess.unwrap_or(0), fraction));
        }
        Ok(block)
    }

    /// The case's transaction: the template with this case's data, gas limit and value, the
    /// sender recovered from `secretKey` (or `sender` when given).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when the template cannot describe a transaction: an index out of
    /// range, a missing or unknown secret key, an unknown transaction type, or a number that
    /// does not fit its field. Cases that expect an exception may legitimately end here.
    pub fn tx_env(&self) -> Result<TxEnv> {
        let tx = &self.unit.transaction;
        let TxIndices { data, gas, value } = self.indices();
        let secret_key = tx.secret_key.ok_or_else(|| self.invalid("no secretKey to sign with"))?;
        let caller = match tx.sender {
            Some(sender) => sender,
            None => recover_address(secret_key.as_slice())
                .ok_or_else(|| self.invalid("secretKey is not a valid secp256k1 key"))?,
        };
        let tx_type = tx.tx_type(data).ok_or_else(|| self.invalid("unknown transaction type"))?;
        let pick = |list_len: usize, index: usize, field: &str| {
            if index < list_len {
                Ok(index)
            } else {
                Err(self.invalid(format!("{field} index {index} out of range ({list_len})")))
            }
        };
        if self.oversized_values.contains(&value) {
            return Err(self.invalid(format!("value {value} exceeds 256 bits")));
        }
        let gas_price = tx.gas_price.or(tx.max_fee_per_gas).unwrap_or_default();
        Ok(TxEnv {
            tx_type: tx_type as u8,
            caller,
            gas_limit: self
                .u64_value("gasLimit", tx.gas_limit[pick(tx.gas_limit.len(), gas, "gas")?])?,
            gas_price: self.u128_value("gasPrice", gas_price)?,
            kind: tx.to.map_or(TxKind::Create, TxKind::Call),
            value: tx.value[pick(tx.value.len(), value, "value")?],
            data: tx.data[pick(tx.data.len(), data, "data")?].clone(),
            nonce: self.u64_value("nonce", tx.nonce)?,
            chain_id: Some(self.u64_field("chainId", tx.chain_id)?.unwrap_or(1)),
            access_list: tx.access_lists.get(data).cloned().flatten().unwrap_or_default(),
            gas_priority_fee: tx
                .max_priority_fee_per_gas
                .map(|fee| self.u128_value("maxPriorityFeePerGas", fee))
                .transpose()?,
            blob_hashes: tx.blob_versioned_hashes.clone(),
            max_fee_per_blob_gas: match tx.max_fee_per_blob_gas {
                Some(fee) => self.u128_value("maxFeePerBlobGas", fee)?,
                None => u128::MAX,
            },
            authorization_list: tx
                .authorization_list
                .iter()
                .flatten()
                .map(|auth| revm::context::either::Either::Left(auth.clone().into()))
                .collect(),
        })
    }

    /// The case's transaction as a signed EIP-2718 envelope, signed with `secretKey`: the
    /// type the template names (legacy transactions with EIP-155's chain id), the fields of
    /// [`Self::tx_env`]. This is what a batch carries (spec §8.1); revm runs the same
    /// transaction from the template, so the two are checked against each other.
    ///
    /// # Errors
    ///
    /// As [`Self::tx_env`]; [`Error::InvalidCase`] when the transaction has no envelope (an
    /// EIP-4844 creation, an EIP-7702 transaction, fees past 128 bits).
    pub fn envelope(&self) -> Result<alloy_primitives::Bytes> {
        use alloy_consensus::{TxEip1559, TxEip2930, TxEip4844, TxLegacy};
        let tx = self.tx_env()?;
        let secret =
            self.unit.transaction.secret_key.ok_or_else(|| self.invalid("no secretKey"))?;
        let key = k256::ecdsa::SigningKey::from_slice(secret.as_slice())
            .map_err(|_| self.invalid("secretKey is not a valid secp256k1 key"))?;
        let chain_id = tx.chain_id.unwrap_or(1);
        match tx.tx_type {
            0 => {
                let tx = TxLegacy {
                    chain_id: Some(chain_id),
                    nonce: tx.nonce,
                    gas_price: tx.gas_price,
                    gas_limit: tx.gas_limit,
                    to: tx.kind,
                    value: tx.value,
                    input: tx.data,
                };
                crate::signed_envelope(tx, &key, self)
            }
            1 => {
                let tx = TxEip2930 {
                    chain_id,
                    nonce: tx.nonce,
                    gas_price: tx.gas_price,
                    gas_limit: tx.gas_limit,
                    to: tx.kind,
                    value: tx.value,
                    access_list: tx.access_list,
                    input: tx.data,
                };
                crate::signed_envelope(tx, &key, self)
            }
            2 => {
                let tx = TxEip1559 {
                    chain_id,
                    nonce: tx.nonce,
                    gas_limit: tx.gas_limit,
                    max_fee_per_gas: tx.gas_price,
                    max_priority_fee_per_gas: tx.gas_priority_fee.unwrap_or_default(),
                    to: tx.kind,
                    value: tx.value,
                    access_list: tx.access_list,
                    input: tx.data,
                };
                crate::signed_envelope(tx, &key, self)
            }
            3 => {
                let TxKind::Call(to) = tx.kind else {
                    return Err(self.invalid("an EIP-4844 transaction cannot create"));
                };
                let tx = TxEip4844 {
                    chain_id,
                    nonce: tx.nonce,
                    gas_limit: tx.gas_limit,
                    max_fee_per_gas: tx.gas_price,
                    max_priority_fee_per_gas: tx.gas_priority_fee.unwrap_or_default(),
                    to,
                    value: tx.value,
                    access_list: tx.access_list,
                    blob_versioned_hashes: tx.blob_hashes,
                    max_fee_per_blob_gas: tx.max_fee_per_blob_gas,
                    input: tx.data,
                };
                crate::signed_envelope(tx, &key, self)
            }
            other => Err(self.invalid(format!("no Cancun envelope for type {other}"))),
        }
    }

    fn invalid(&self, reason: impl ToString) -> Error {
        Error::invalid_case(self, reason)
    }

    fn u64_field(&self, field: &str, value: Option<U256>) -> Result<Option<u64>> {
        value.map(|v| self.u64_value(field, v)).transpose()
    }

    fn u64_value(&self, field: &str, value: U256) -> Result<u64> {
        u64::try_from(value).map_err(|_| self.invalid(format!("{field} {value} exceeds 64 bits")))
    }

    fn u128_value(&self, field: &str, value: U256) -> Result<u128> {
        u128::try_from(value).map_err(|_| self.invalid(format!("{field} {value} exceeds 128 bits")))
    }
}
