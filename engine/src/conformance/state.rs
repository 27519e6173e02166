//! State-test conformance.

use super::{Mismatch, StepChecker, StepReport, StepSelection, TxOutcome, cache_state_root};
use crate::{Eip7610, StateTestCase, logs_hash};
use revm::{Context, InspectCommitEvm, MainBuilder, MainContext, database::State};

/// Runs one state-test case with plain revm and checks the post-state root and logs hash.
///
/// A transaction the corpus expects to be invalid must be rejected by revm (or be
/// unbuildable, e.g. a value over 2^256) and must leave the state root unchanged.
///
/// # Errors
///
/// The first [`Mismatch`] found; [`Mismatch::Invalid`] when the case cannot be built.
pub fn run_state_test(case: &StateTestCase<'_>) -> Result<(), Mismatch> {
    let cfg = case.cfg()?;
    let block = case.block_env()?;
    let tx = match (case.tx_env(), case.expected_exception()) {
        (Ok(tx), _) => tx,
        // The transaction cannot even be formed; that is the expected rejection.
        (Err(_), Some(_)) => return check_roots(case, cache_state_root(&case.pre_state()), &[]),
        (Err(e), None) => return Err(e.into()),
    };

    let mut state =
        State::builder().with_cached_prestate(case.pre_state()).with_bundle_update().build();
    let result = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector(Eip7610)
        .inspect_tx_commit(tx);

    let outcome = result.as_ref().map(|r| r.logs()).map_err(ToString::to_string);
    verdict(case, outcome, cache_state_root(&state.cache))
}

/// Runs one state-test case like [`run_state_test`], with every step of the transaction
/// checked against the one-step executor (see [`StepChecker`]).
///
/// Returns the roots' verdict and the step report.
pub fn check_state_test_steps(
    case: &StateTestCase<'_>,
    selection: StepSelection,
) -> (Result<(), Mismatch>, StepReport) {
    let (cfg, block) = match (case.cfg(), case.block_env()) {
        (Ok(cfg), Ok(block)) => (cfg, block),
        (Err(e), _) | (_, Err(e)) => return (Err(e.into()), StepReport::default()),
    };
    let tx = match (case.tx_env(), case.expected_exception()) {
        (Ok(tx), _) => tx,
        (Err(_), Some(_)) => {
            let roots = check_roots(case, cache_state_root(&case.pre_state()), &[]);
            return (roots, StepReport::default());
        }
        (Err(e), None) => return (Err(e.into()), StepReport::default()),
    };
    let pre = case.pre_state();
    let checker = match StepChecker::new(selection).with_pre_state(&pre) {
        Ok(checker) => checker,
        Err(e) => return (Err(e.into()), StepReport::default()),
    };
    // The transaction as a batch carries it (spec §8.1), in its block: the begin steps are
    // checked against revm's run of the same transaction from the template.
    let envelope = case.envelope().map_err(|e| e.to_string());
    let block_context = {
        let mut db = State::builder().with_cached_prestate(pre.clone()).build();
        let mut context = Context::mainnet()
            .with_cfg(cfg.clone())
            .with_block(block.clone())
            .with_tx(tx.clone())
            .with_db(&mut db);
        crate::trace::context::contexts(&mut context, alloy_primitives::B256::ZERO).block
    };
    let checker = checker.with_envelope(envelope, block_context, 0);
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector((Eip7610, checker));
    let result = evm.inspect_tx_commit(tx);
    let checker = std::mem::replace(&mut evm.inspector.1, StepChecker::new(selection));
    drop(evm);
    let state_root = cache_state_root(&state.cache);
    let tx_outcome = result.as_ref().ok().map(|r| TxOutcome {
        state_root,
        success: r.is_success(),
        gas_used: r.tx_gas_used(),
    });
    let outcome = result.as_ref().map(|r| r.logs()).map_err(ToString::to_string);
    (verdict(case, outcome, state_root), checker.finish(tx_outcome))
}

/// The verdict on a replayed case: a valid transaction must match the expected logs hash and
/// state root; an invalid one must be rejected with the state root unchanged.
fn verdict(
    case: &StateTestCase<'_>,
    outcome: Result<&[alloy_primitives::Log], String>,
    state_root: alloy_primitives::B256,
) -> Result<(), Mismatch> {
    match (outcome, case.expected_exception()) {
        (Ok(logs), None) => check_roots(case, state_root, logs),
        (Ok(_), Some(expected)) => {
            Err(Mismatch::MissingException { expected: expected.to_owned() })
        }
        (Err(_), Some(_)) => check_roots(case, state_root, &[]),
        (Err(reason), None) => Err(Mismatch::UnexpectedException { reason, block: None }),
    }
}

fn check_roots(
    case: &StateTestCase<'_>,
    state_root: alloy_primitives::B256,
    logs: &[alloy_primitives::Log],
) -> Result<(), Mismatch> {
    let logs_hash = logs_hash(logs);
    if logs_hash != case.expected_logs_hash() {
        return Err(Mismatch::LogsHash { got: logs_hash, expected: case.expected_logs_hash() });
    }
    if state_root != case.expected_state_root() {
        return Err(Mismatch::StateRoot {
            got: state_root,
            expected: case.expected_state_root(),
            block: None,
        });
    }
    Ok(())
}
