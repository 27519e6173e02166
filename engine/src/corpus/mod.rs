//! The conformance corpus: the canonical Ethereum state tests and blockchain tests (the
//! `ethereum/tests` JSON formats that `revme statetest` / `revme blockchaintest` read).
//!
//! The corpus is found through the environment variable [`CORPUS_ENV`] (`REFUTE_ETH_TESTS`),
//! defaulting to `../shared/ethereum-tests` beside the project root. It is never copied into
//! the project. Loading a file yields its cases, and each case builds the pre-state, the
//! block environment and the transaction for revm.

mod blockchain_test;
mod state_test;

pub use blockchain_test::{BlockchainTest, BlockchainTestFile, TestBlock};
pub use state_test::{StateTestCase, StateTestFile, TxIndices};

use crate::{Error, Result};
use alloy_primitives::{Address, Bytes, U256, keccak256};
use revm::{
    bytecode::Bytecode, database::CacheState, primitives::hardfork::SpecId, state::AccountInfo,
};
use revm_statetest_types::SpecName;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A hard fork, as revm names it (`SpecId::CANCUN`, ...): the parameter every corpus run and
/// (later) the step machine take.
pub type Fork = SpecId;

/// The environment variable that names the corpus folder (the one holding
/// `GeneralStateTests/` and `BlockchainTests/`).
pub const CORPUS_ENV: &str = "REFUTE_ETH_TESTS";

/// The corpus folder: `$REFUTE_ETH_TESTS` if set, else `../shared/ethereum-tests` relative
/// to the workspace root.
///
/// # Errors
///
/// [`Error::CorpusNotFound`] when the folder does not exist; callers that run the corpus as a
/// test skip with this message.
pub fn corpus_root() -> Result<PathBuf> {
    let path = match std::env::var_os(CORPUS_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ethereum-tests"),
    };
    match path.canonicalize() {
        Ok(path) if path.is_dir() => Ok(path),
        _ => Err(Error::CorpusNotFound { path }),
    }
}

/// Every `.json` file under `paths` (files are taken as they are, folders are walked), sorted
/// and without duplicates.
///
/// # Errors
///
/// [`Error::Io`] when a path does not exist or a folder cannot be walked.
pub fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_file() {
            files.push(path.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(path).follow_links(true) {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(path).to_path_buf();
                Error::io(path, e.into())
            })?;
            if entry.file_type().is_file()
                && entry.path().extension().is_some_and(|ext| ext == "json")
            {
                files.push(entry.into_path());
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Parses a hard-fork name as the tests spell it (`Cancun`, `Shanghai`, `Prague`, `Berlin`,
/// ...) into revm's [`SpecId`].
///
/// # Errors
///
/// [`Error::UnknownFork`] for a name that is not a single fork (transition forks such as
/// `ShanghaiToCancunAtTime15k` and the retired `Constantinople` are not run).
pub fn parse_fork(name: &str) -> Result<Fork> {
    let spec: SpecName = serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| Error::UnknownFork(name.to_owned()))?;
    spec_id(&spec).ok_or_else(|| Error::UnknownFork(name.to_owned()))
}

/// The [`SpecId`] of a state-test fork name, or `None` for names that are not one fork.
pub(crate) fn spec_id(spec: &SpecName) -> Option<SpecId> {
    match spec {
        SpecName::Constantinople | SpecName::ByzantiumToConstantinopleAt5 | SpecName::Unknown => {
            None
        }
        spec => Some(spec.to_spec_id()),
    }
}

/// A short, stable name of a file for case identifiers: the path from the corpus folder
/// (`GeneralStateTests/...`) when it lies inside the corpus, else the path as given.
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    for marker in ["GeneralStateTests/", "BlockchainTests/"] {
        if let Some(at) = text.find(marker) {
            return text[at..].to_owned();
        }
    }
    text.into_owned()
}

/// An account of a pre-state, as the corpus and batch files give it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreAccount {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code (empty for none).
    #[serde(default)]
    pub code: Bytes,
    /// Storage; zero values are not in the trie.
    #[serde(default)]
    pub storage: BTreeMap<U256, U256>,
}

/// A pre-state as revm's cache, with code stored by hash and fetched through
/// `Database::code_by_hash`, as a node's state provider serves it. Zero storage values are
/// dropped (they are not in the trie).
pub(crate) fn cache_state<'a>(
    accounts: impl Iterator<Item = (&'a Address, &'a PreAccount)>,
) -> CacheState {
    let mut state = CacheState::new();
    for (address, account) in accounts {
        let code_hash = keccak256(&account.code);
        if !account.code.is_empty() {
            state.contracts.insert(code_hash, Bytecode::new_raw(account.code.clone()));
        }
        let info = AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash,
            code: None,
            ..AccountInfo::default()
        };
        let storage = account.storage.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (*k, *v));
        state.insert_account_with_storage(*address, info, storage.collect());
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fork_names() {
        assert_eq!(parse_fork("Cancun").unwrap(), SpecId::CANCUN);
        assert_eq!(parse_fork("Shanghai").unwrap(), SpecId::SHANGHAI);
        assert!(matches!(parse_fork("Constantinople"), Err(Error::UnknownFork(_))));
        assert!(matches!(parse_fork("cancun!"), Err(Error::UnknownFork(_))));
    }

    #[test]
    fn display_path_is_relative_to_the_corpus() {
        let p = Path::new("/x/shared/ethereum-tests/GeneralStateTests/stExample/add11.json");
        assert_eq!(display_path(p), "GeneralStateTests/stExample/add11.json");
    }
}
