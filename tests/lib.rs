//! # refute-tests
//!
//! Helpers for the workspace integration tests (`tests/it/`): an in-process EVM that deploys
//! the compiled contracts and calls them, standing in for an L1 where a real node is not the
//! point of the test.
//!
//! ## Design
//!
//! Test support only; nothing here is used by refute itself. Tests that need a real node
//! (anvil) spawn it themselves and kill it on drop.

pub mod replay;

use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::SolCall;
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{CfgEnv, TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    primitives::{TxKind, hardfork::SpecId},
    state::AccountInfo,
};

/// An in-process EVM (revm, Cancun, mainnet rules) with one funded account that deploys and
/// calls contracts. Each call is a committed transaction.
#[derive(Debug)]
pub struct InProcessEvm {
    db: CacheDB<EmptyDB>,
}

/// A transaction that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The returned data (a created contract's address for a creation).
    pub output: Bytes,
    /// The gas the transaction used, intrinsic gas included.
    pub gas_used: u64,
}

/// The outcome of a call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The call reverted with this data (a Solidity custom error, a panic, ...).
    Revert(Bytes),
    /// The call halted (out of gas, invalid opcode, ...), or the transaction was rejected.
    Halt(String),
}

impl InProcessEvm {
    /// The account that sends every transaction.
    pub const SENDER: Address = address!("0x000000000000000000000000000000000000f00d");

    /// A fresh EVM whose sender holds 1,000 ether.
    pub fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        let balance = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64));
        db.insert_account_info(Self::SENDER, AccountInfo { balance, ..AccountInfo::default() });
        Self { db }
    }

    /// Deploys `creation_code` and returns the new contract's address.
    ///
    /// # Errors
    ///
    /// [`CallError`] when the constructor reverts or halts.
    pub fn deploy(&mut self, creation_code: &Bytes) -> Result<Address, CallError> {
        match self.transact(TxKind::Create, creation_code.clone())? {
            ExecutionResult::Success { output, .. } => {
                output.address().copied().ok_or(CallError::Halt("no address".into()))
            }
            other => Err(CallError::Halt(format!("{other:?}"))),
        }
    }

    /// Calls `call` on the contract at `to` and decodes its return value.
    ///
    /// # Errors
    ///
    /// [`CallError::Revert`] with the revert data, or [`CallError::Halt`].
    pub fn call<C: SolCall>(&mut self, to: Address, call: &C) -> Result<C::Return, CallError> {
        let output = self.call_raw(to, call.abi_encode().into())?;
        C::abi_decode_returns(&output).map_err(|e| CallError::Halt(format!("bad return data: {e}")))
    }

    /// Calls the contract at `to` with raw calldata and returns the raw output.
    ///
    /// # Errors
    ///
    /// [`CallError::Revert`] with the revert data, or [`CallError::Halt`].
    pub fn call_raw(&mut self, to: Address, data: Bytes) -> Result<Bytes, CallError> {
        match self.transact(TxKind::Call(to), data)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(CallError::Revert(output)),
            ExecutionResult::Halt { reason, .. } => Err(CallError::Halt(format!("{reason:?}"))),
        }
    }

    /// The runtime code at `address` (empty for accounts without code).
    pub fn code(&mut self, address: Address) -> Bytes {
        use revm::Database;
        let Ok(Some(info)) = self.db.basic(address) else { return Bytes::new() };
        match info.code {
            Some(code) => code.original_bytes(),
            None => {
                self.db.code_by_hash(info.code_hash).map(|c| c.original_bytes()).unwrap_or_default()
            }
        }
    }

    fn transact(&mut self, kind: TxKind, data: Bytes) -> Result<ExecutionResult, CallError> {
        let tx =
            TxEnv { caller: Self::SENDER, kind, data, gas_limit: 16_000_000, ..TxEnv::default() };
        // Nonces are not checked, so these calls mix with `transact_at`'s; creations still
        // take their address from the account's nonce in the state.
        let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
        cfg.disable_nonce_check = true;
        let mut evm = Context::mainnet().with_cfg(cfg).with_db(&mut self.db).build_mainnet();
        evm.transact_commit(tx).map_err(|e| CallError::Halt(e.to_string()))
    }

    /// Sets `account`'s balance to `wei`.
    pub fn set_balance(&mut self, account: Address, wei: U256) {
        use revm::Database;
        let mut info = self.db.basic(account).ok().flatten().unwrap_or_default();
        info.balance = wei;
        self.db.insert_account_info(account, info);
    }

    /// The balance of `account`, in wei.
    pub fn balance(&mut self, account: Address) -> U256 {
        use revm::Database;
        self.db.basic(account).ok().flatten().map(|i| i.balance).unwrap_or_default()
    }

    /// One committed transaction from `caller` (any account; nonces are not checked) to `to`
    /// (or a creation when `None`) sending `value` wei, in a block with timestamp `timestamp`
    /// seconds. Returns the output (the new address's 20 bytes for a creation) and the gas
    /// the transaction used, intrinsic gas included.
    ///
    /// # Errors
    ///
    /// [`CallError::Revert`] with the revert data, or [`CallError::Halt`].
    pub fn transact_at(
        &mut self,
        caller: Address,
        to: Option<Address>,
        data: Bytes,
        value: U256,
        timestamp: u64,
    ) -> Result<Executed, CallError> {
        let tx = TxEnv {
            caller,
            kind: to.map_or(TxKind::Create, TxKind::Call),
            data,
            value,
            gas_limit: 16_000_000,
            ..TxEnv::default()
        };
        let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
        cfg.disable_nonce_check = true;
        let mut evm = Context::mainnet()
            .with_cfg(cfg)
            .modify_block_chained(|block| {
                block.timestamp = U256::from(timestamp);
                block.number = U256::from(timestamp / 12);
            })
            .with_db(&mut self.db)
            .build_mainnet();
        let result = evm.transact_commit(tx).map_err(|e| CallError::Halt(e.to_string()))?;
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success { output, .. } => {
                let output = match output.address() {
                    Some(address) => Bytes::copy_from_slice(address.as_slice()),
                    None => output.into_data(),
                };
                Ok(Executed { output, gas_used })
            }
            ExecutionResult::Revert { output, .. } => Err(CallError::Revert(output)),
            ExecutionResult::Halt { reason, .. } => Err(CallError::Halt(format!("{reason:?}"))),
        }
    }

    /// A read-only call from [`Self::SENDER`] at `timestamp`, decoded (its state changes are
    /// committed too, which a `view` function has none of).
    ///
    /// # Errors
    ///
    /// As for [`Self::transact_at`], and [`CallError::Halt`] for undecodable output.
    pub fn view_at<C: SolCall>(
        &mut self,
        to: Address,
        call: &C,
        timestamp: u64,
    ) -> Result<C::Return, CallError> {
        let out = self.transact_at(
            Self::SENDER,
            Some(to),
            call.abi_encode().into(),
            U256::ZERO,
            timestamp,
        )?;
        C::abi_decode_returns(&out.output)
            .map_err(|e| CallError::Halt(format!("bad return data: {e}")))
    }
}

impl Default for InProcessEvm {
    fn default() -> Self {
        Self::new()
    }
}

/// The Ethereum test corpus, or `None` (after printing why) when it is absent.
///
/// `REFUTE_REQUIRE_CORPUS=1` (set by `.ci/run`) turns a missing corpus into a panic, so CI
/// never passes by skipping.
pub fn corpus_or_skip() -> Option<std::path::PathBuf> {
    match refute_engine::corpus::corpus_root() {
        Ok(root) => Some(root),
        Err(e) if std::env::var_os("REFUTE_REQUIRE_CORPUS").is_some_and(|v| v == "1") => {
            panic!("{e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}
