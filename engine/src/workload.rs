//! Performance workloads: heavy real-world EVM programs (the revm project's benchmark set,
//! kept as data beside the project), set up as one transaction each, to measure the engine
//! against plain revm execution of the same transaction.
//!
//! The workloads folder is found through [`WORKLOADS_ENV`] (`REFUTE_WORKLOADS`), defaulting
//! to `../shared/workloads` relative to the workspace root, like the corpus.

use crate::{
    Error, Result,
    trace::{Trace, TraceRecorder},
};
use alloy_primitives::{Address, Bytes, U256, address, hex};
use revm::{
    Context, ExecuteEvm, InspectEvm, MainBuilder, MainContext,
    context::{CfgEnv, TxEnv, result::ExecutionResult},
    database::{CacheDB, CacheState, EmptyDB},
    primitives::{TxKind, hardfork::SpecId},
    state::{AccountInfo, Bytecode},
};
use std::path::{Path, PathBuf};

/// The environment variable that names the workloads folder (the one holding
/// `snailtracer.hex`).
pub const WORKLOADS_ENV: &str = "REFUTE_WORKLOADS";

/// The workloads folder: `$REFUTE_WORKLOADS` if set, else `../shared/workloads` relative to
/// the workspace root.
///
/// # Errors
///
/// [`Error::Io`] when the folder does not exist.
pub fn workloads_root() -> Result<PathBuf> {
    let path = match std::env::var_os(WORKLOADS_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/workloads"),
    };
    path.canonicalize().map_err(|e| Error::io(&path, e))
}

/// Snailtracer's runtime code, from `snailtracer.hex` in `root`.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::InvalidCase`] when it is not hex.
pub fn snailtracer_code(root: &Path) -> Result<Bytes> {
    let path = root.join("snailtracer.hex");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let code = hex::decode(text.trim())
        .map_err(|e| Error::invalid_case(path.display(), format!("not hex: {e}")))?;
    Ok(code.into())
}

/// One transaction over a fixed pre-state, runnable plainly or recorded.
#[derive(Clone, Debug)]
pub struct Workload {
    db: CacheDB<EmptyDB>,
    tx: TxEnv,
}

impl Workload {
    /// The account that sends the transaction.
    pub const SENDER: Address = address!("0x000000000000000000000000000000000000f00d");
    /// The account that holds the workload's code.
    pub const CONTRACT: Address = address!("0x0000000000000000000000000000000000c0de00");

    /// Snailtracer (a Solidity ray tracer): its runtime code at [`Workload::CONTRACT`],
    /// called with `Benchmark()` (`0x30627b7c`) and `gas_limit` gas (Cancun, no transaction
    /// gas cap). The whole run needs about 1,000,000,000 gas; with less it runs out of gas
    /// part-way (a valid, shorter transaction).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `snailtracer.hex` cannot be read from `root`;
    /// [`Error::InvalidCase`] when it is not hex.
    pub fn snailtracer(root: &Path, gas_limit: u64) -> Result<Self> {
        let code = snailtracer_code(root)?;
        Ok(Self::new(code, Bytes::from_static(&[0x30, 0x62, 0x7b, 0x7c]), gas_limit))
    }

    /// Burntpix (a mainnet contract rendering an SVG fractal; call-heavy: CALL, STATICCALL
    /// and DELEGATECALL across four contracts, large memory, KECCAK256, return data): its four
    /// contracts at their mainnet addresses, the main one's storage pointing at the other
    /// three, called with `run(uint32 seed, uint256 iterations)` and `gas_limit` gas.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a `burntpix/bytecode_*.hex` cannot be read from `root`;
    /// [`Error::InvalidCase`] when one is not hex.
    pub fn burntpix(root: &Path, seed: u32, iterations: u64, gas_limit: u64) -> Result<Self> {
        use alloy_primitives::{U256, keccak256};
        let main = address!("0x49206861766520746f6f206d7563682074696d65");
        let one = address!("0x0a743ba7304efcc9e384ece9be7631e2470e401e");
        let three = address!("0xc917e98213a05d271adc5d93d2fee6c1f1006f75");
        let four = address!("0xf529c70db0800449ebd81fbc6e4221523a989f05");
        let mut calldata = keccak256("run(uint32,uint256)")[..4].to_vec();
        calldata.extend_from_slice(&U256::from(seed).to_be_bytes::<32>());
        calldata.extend_from_slice(&U256::from(iterations).to_be_bytes::<32>());
        let mut workload = Self::new(Bytes::new(), calldata.into(), gas_limit);
        workload.tx.kind = TxKind::Call(main);
        for (file, address) in [("one", one), ("two", main), ("three", three), ("four", four)] {
            let path = root.join(format!("burntpix/bytecode_{file}.hex"));
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let text = text.trim().trim_start_matches("0x");
            let code = hex::decode(text)
                .map_err(|e| Error::invalid_case(path.display(), format!("not hex: {e}")))?;
            let info = AccountInfo::default().with_code(Bytecode::new_raw(code.into()));
            workload.db.insert_account_info(address, info);
        }
        for (slot, address) in [(0u64, four), (1, one), (2, three)] {
            let value = U256::from_be_slice(address.as_slice());
            workload
                .db
                .insert_account_storage(main, U256::from(slot), value)
                .map_err(|e| Error::invalid_case("burntpix", e.to_string()))?;
        }
        Ok(workload)
    }

    /// A workload calling `code` (placed as runtime code at [`Workload::CONTRACT`]) with
    /// `calldata` and `gas_limit` gas.
    pub fn new(code: Bytes, calldata: Bytes, gas_limit: u64) -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            Self::CONTRACT,
            AccountInfo::default().with_code(Bytecode::new_raw(code)),
        );
        db.insert_account_info(
            Self::SENDER,
            AccountInfo { balance: alloy_primitives::U256::MAX >> 8, ..AccountInfo::default() },
        );
        let tx = TxEnv {
            caller: Self::SENDER,
            kind: TxKind::Call(Self::CONTRACT),
            data: calldata,
            gas_limit,
            gas_price: 0,
            ..TxEnv::default()
        };
        Self { db, tx }
    }

    /// The same workload with `slot` of `address` holding `value` before the transaction (the
    /// account must be one the workload holds, e.g. [`Workload::CONTRACT`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when the workload holds no account at `address`.
    pub fn with_storage(mut self, address: Address, slot: U256, value: U256) -> Result<Self> {
        self.db
            .insert_account_storage(address, slot, value)
            .map_err(|e| Error::invalid_case("workload", e.to_string()))?;
        Ok(self)
    }

    /// The same workload with an account at `address` holding `balance` wei and `code`.
    pub fn with_account(mut self, address: Address, balance: U256, code: Bytes) -> Self {
        let info =
            AccountInfo { balance, ..AccountInfo::default() }.with_code(Bytecode::new_raw(code));
        self.db.insert_account_info(address, info);
        self
    }

    fn cfg(&self) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        cfg
    }

    /// Runs the transaction with plain revm (no inspector), without committing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when revm rejects the transaction.
    pub fn run_plain(&self) -> Result<ExecutionResult> {
        let mut evm =
            Context::mainnet().with_cfg(self.cfg()).with_db(self.db.clone()).build_mainnet();
        evm.transact(self.tx.clone())
            .map(|r| r.result)
            .map_err(|e| Error::invalid_case("workload", e.to_string()))
    }

    /// Runs the transaction with revm's inspecting loop and an inspector that does nothing:
    /// the baseline cost of any inspector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when revm rejects the transaction.
    pub fn run_noop_inspector(&self) -> Result<ExecutionResult> {
        let mut evm = Context::mainnet()
            .with_cfg(self.cfg())
            .with_db(self.db.clone())
            .build_mainnet_with_inspector(revm::inspector::NoOpInspector);
        evm.inspect_tx(self.tx.clone())
            .map(|r| r.result)
            .map_err(|e| Error::invalid_case("workload", e.to_string()))
    }

    /// Runs the transaction with `inspector` attached, without committing; returns the
    /// inspector after the run.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when revm rejects the transaction.
    pub fn inspect<I>(&self, inspector: I) -> Result<(ExecutionResult, I)>
    where
        I: revm::Inspector<revm::handler::MainnetContext<CacheDB<EmptyDB>>>,
    {
        let mut evm = Context::mainnet()
            .with_cfg(self.cfg())
            .with_db(self.db.clone())
            .build_mainnet_with_inspector(inspector);
        let result = evm
            .inspect_tx(self.tx.clone())
            .map(|r| r.result)
            .map_err(|e| Error::invalid_case("workload", e.to_string()))?;
        Ok((result, evm.inspector))
    }

    /// The state before the transaction: the contracts (with their storage) and the sender.
    pub fn pre_state(&self) -> CacheState {
        let mut state = CacheState::new();
        for (address, account) in &self.db.cache.accounts {
            let storage = account.storage.iter().map(|(k, v)| (*k, *v)).collect();
            state.insert_account_with_storage(*address, account.info.clone(), storage);
        }
        state
    }

    /// Runs the transaction with a [`TraceRecorder`] attached (the world tracked from
    /// [`Workload::pre_state`]), without committing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] when revm rejects the transaction.
    pub fn record(&self) -> Result<(ExecutionResult, Trace)> {
        let recorder = TraceRecorder::new().with_pre_state(&self.pre_state())?;
        let mut evm = Context::mainnet()
            .with_cfg(self.cfg())
            .with_db(self.db.clone())
            .build_mainnet_with_inspector(recorder);
        let result = evm
            .inspect_tx(self.tx.clone())
            .map(|r| r.result)
            .map_err(|e| Error::invalid_case("workload", e.to_string()))?;
        Ok((result, std::mem::take(&mut evm.inspector).finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burntpix runs to completion in plain revm (an SVG comes back) and its recorded trace
    /// ends in the same state as the plain run.
    #[test]
    fn burntpix_renders_and_records() {
        let Ok(root) = workloads_root() else {
            assert!(std::env::var_os("REFUTE_REQUIRE_CORPUS").is_none(), "no workloads folder");
            return;
        };
        let workload = Workload::burntpix(&root, 0, 100, 1_000_000_000).expect("burntpix");
        let result = workload.run_plain().expect("runs");
        assert!(result.is_success(), "{result:?}");
        let output = result.output().expect("output");
        assert!(output.windows(4).any(|w| w == b"<svg"), "an SVG comes back");
        let (recorded, trace) = workload.record().expect("records");
        assert_eq!(recorded, result);
        assert!(trace.len() > 100_000, "{} steps", trace.len());
    }
}
