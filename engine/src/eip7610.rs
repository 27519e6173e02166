//! EIP-7610: contract creation fails as a collision when the target account already has
//! non-empty storage, even with no code and a zero nonce.
//!
//! EIP-7610 applies retroactively to every fork (such accounts exist only in genesis-like
//! pre-states: reaching one otherwise needs a keccak256 collision), and the corpus expects it;
//! revm 43 checks only code and nonce (`create_account_checkpoint`). [`Eip7610`] is the
//! inspector that closes the gap, so that refute's replay follows the Ethereum rules the step
//! machine specifies. Compose it with other inspectors as a tuple, `(Eip7610, recorder)`.

use alloy_primitives::{Address, Bytes};
use revm::{
    Inspector,
    context::{ContextTr, JournalTr},
    context_interface::journaled_state::account::JournaledAccountTr,
    database::State,
    interpreter::{CreateInputs, CreateOutcome, Gas, InstructionResult, InterpreterResult},
    primitives::KECCAK_EMPTY,
};

/// Whether an account has any non-zero storage slot — the one fact EIP-7610 needs that
/// revm's `Database` trait does not offer.
pub trait StorageProbe {
    /// `true` iff `address` has at least one non-zero storage slot in the state the
    /// transaction started from.
    fn has_storage(&mut self, address: Address) -> bool;
}

/// Reads revm's cache: the pre-state must be cached in full (as the corpus runners and batch
/// replay do with `with_cached_prestate`); accounts absent from the cache have no storage.
impl<DB> StorageProbe for State<DB> {
    fn has_storage(&mut self, address: Address) -> bool {
        self.cache
            .accounts
            .get(&address)
            .and_then(|account| account.account.as_ref())
            .is_some_and(|account| account.storage.values().any(|value| !value.is_zero()))
    }
}

impl<T: StorageProbe + ?Sized> StorageProbe for &mut T {
    fn has_storage(&mut self, address: Address) -> bool {
        (**self).has_storage(address)
    }
}

/// The EIP-7610 collision check as a revm inspector.
///
/// On CREATE, CREATE2 and creation transactions it repeats revm's checks in revm's order
/// (depth, balance, nonce overflow: left to revm), then, when the target has no code, a zero
/// nonce and non-empty storage, ends the creation as revm ends a code/nonce collision: the
/// creator's nonce bumped, the target warm, `CreateCollision` with all the frame's gas spent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Eip7610;

/// Frames deeper than this are left to revm, which fails them as `CallTooDeep` before any
/// collision check (the depth revm compares is one more than the journal's).
const DEPTH_LEFT_TO_REVM: usize = 1023;

impl<CTX> Inspector<CTX> for Eip7610
where
    CTX: ContextTr<Db: StorageProbe>,
{
    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        let journal = context.journal_mut();
        if journal.depth() >= DEPTH_LEFT_TO_REVM {
            return None;
        }
        let creator = journal.load_account_mut(inputs.caller()).ok()?;
        let nonce = creator.nonce();
        if *creator.balance() < inputs.value() || nonce == u64::MAX {
            return None;
        }
        drop(creator);
        let target = inputs.created_address(nonce);
        let account = journal.load_account(target).ok()?;
        if account.data.info.nonce != 0 || account.data.info.code_hash != KECCAK_EMPTY {
            return None; // revm's own collision check applies
        }
        if !context.db_mut().has_storage(target) {
            return None;
        }
        context.journal_mut().load_account_mut(inputs.caller()).ok()?.bump_nonce();
        let gas = Gas::new_with_regular_gas_and_reservoir(inputs.gas_limit(), inputs.reservoir());
        let result = InterpreterResult {
            result: InstructionResult::CreateCollision,
            output: Bytes::new(),
            gas,
        };
        Some(CreateOutcome::new(result, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{U256, address};
    use revm::{
        Context, ExecuteCommitEvm, InspectCommitEvm, MainBuilder, MainContext,
        context::{
            CfgEnv, TxEnv,
            result::{ExecutionResult, HaltReason},
        },
        database::{CacheState, State},
        primitives::{TxKind, hardfork::SpecId},
        state::AccountInfo,
    };

    const SENDER: Address = address!("0x00000000000000000000000000000000000a11ce");

    /// A pre-state where the sender's first CREATE lands on an account with no code, nonce 0
    /// and one storage slot.
    fn colliding_state() -> (State<revm::database::EmptyDB>, Address) {
        let target = SENDER.create(0);
        let mut cache = CacheState::new();
        let funds = U256::from(10u64).pow(U256::from(18u64));
        cache.insert_account(
            SENDER,
            AccountInfo { balance: funds, code: None, ..Default::default() },
        );
        let storage = [(U256::from(1), U256::from(7))].into_iter().collect();
        cache.insert_account_with_storage(
            target,
            AccountInfo { code: None, ..Default::default() },
            storage,
        );
        (State::builder().with_cached_prestate(cache).build(), target)
    }

    fn create_tx() -> TxEnv {
        TxEnv {
            caller: SENDER,
            kind: TxKind::Create,
            data: Bytes::from_static(&[0x00]), // STOP: deploys empty code
            gas_limit: 100_000,
            ..TxEnv::default()
        }
    }

    #[test]
    fn create_onto_storage_is_a_collision() {
        let (mut state, target) = colliding_state();
        let result = Context::mainnet()
            .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
            .with_db(&mut state)
            .build_mainnet_with_inspector(Eip7610)
            .inspect_tx_commit(create_tx())
            .unwrap();
        let ExecutionResult::Halt { reason, gas, .. } = result else {
            panic!("expected a halt, got {result:?}")
        };
        assert_eq!(reason, HaltReason::CreateCollision);
        assert_eq!(gas.tx_gas_used(), 100_000, "a collision spends all gas");
        let sender = state.cache.accounts[&SENDER].account.as_ref().unwrap();
        assert_eq!(sender.info.nonce, 1, "the creator's nonce is bumped");
        let target = state.cache.accounts[&target].account.as_ref().unwrap();
        assert_eq!(target.storage.get(&U256::from(1)), Some(&U256::from(7)), "storage untouched");
    }

    /// Pins the gap the inspector closes: if revm starts applying EIP-7610 itself, this fails
    /// and the inspector can go.
    #[test]
    fn plain_revm_43_lacks_eip_7610() {
        let (mut state, _) = colliding_state();
        let result = Context::mainnet()
            .with_cfg(CfgEnv::new_with_spec(SpecId::CANCUN))
            .with_db(&mut state)
            .build_mainnet()
            .transact_commit(create_tx())
            .unwrap();
        assert!(result.is_success(), "{result:?}");
    }
}
