//! Blockchain-test conformance.

use super::{Mismatch, StepChecker, StepReport, StepSelection, TxOutcome, cache_state_root};
use crate::{BlockchainTest, Eip7610, Error};
use alloy_consensus::{Receipt, ReceiptEnvelope, proofs::calculate_receipt_root};
use alloy_eips::Encodable2718;
use alloy_eips::{eip4788::BEACON_ROOTS_ADDRESS, eip7840::BlobParams};
use revm::{
    Context, ExecuteCommitEvm, InspectCommitEvm, MainBuilder, MainContext, SystemCallCommitEvm,
    context::{CfgEnv, ContextTr, JournalTr, either::Either},
    database::State,
    handler::EvmTr,
    inspector::NoOpInspector,
    primitives::{B256, U256, hardfork::SpecId},
};

/// wei per gwei: EIP-4895 withdrawal amounts are in gwei.
const WEI_PER_GWEI: u64 = 1_000_000_000;

/// Replays every block of a blockchain test with plain revm, block by block: the EIP-4788
/// beacon-root system call, the transactions, then the EIP-4895 withdrawals; and checks each
/// block's gas used, receipts root and post-state root against its header, and the last
/// block's hash against `lastblockhash`.
///
/// Returns the number of transactions executed.
///
/// # Errors
///
/// The first [`Mismatch`] found; [`Mismatch::Invalid`] when the test cannot be built.
pub fn run_blockchain_test(test: &BlockchainTest<'_>) -> Result<usize, Mismatch> {
    replay(test, None, &mut StepReport::default())
}

/// Replays a blockchain test like [`run_blockchain_test`], with every transaction's steps
/// checked against the one-step executor (see [`StepChecker`]): its begin from the signed
/// envelope the block carries, in its block after the gas of the block's earlier transactions
/// (spec §8.1), its frames, and its end against revm's committed result.
///
/// Returns the roots' verdict (as [`run_blockchain_test`]) and the step report.
pub fn check_blockchain_test_steps(
    test: &BlockchainTest<'_>,
    selection: StepSelection,
) -> (Result<usize, Mismatch>, StepReport) {
    let mut report = StepReport::default();
    let roots = replay(test, Some(selection), &mut report);
    (roots, report)
}

fn replay(
    test: &BlockchainTest<'_>,
    steps: Option<StepSelection>,
    report: &mut StepReport,
) -> Result<usize, Mismatch> {
    let fork = test.fork();
    let mut cfg = CfgEnv::new_with_spec(fork);
    cfg.chain_id = 1;
    cfg.set_max_blobs_per_tx(BlobParams::cancun().max_blobs_per_tx);
    let blob_fraction = cfg.blob_base_fee_update_fraction();

    let blocks = test.blocks()?;
    let mut state =
        State::builder().with_cached_prestate(test.pre_state()?).with_bundle_update().build();
    let genesis = u64::try_from(test.genesis_number())
        .map_err(|_| Error::invalid_case(test, "genesis number exceeds 64 bits"))?;
    state.block_hashes.insert(genesis, test.genesis_hash());

    let mut transactions = 0;
    for block in &blocks {
        let number = block.header.number;
        let mut evm = Context::mainnet()
            .with_cfg(cfg.clone())
            .with_block(block.block_env(blob_fraction))
            .with_db(&mut state)
            .build_mainnet_with_inspector((Eip7610, Either::Left(NoOpInspector)));

        if fork.is_enabled_in(SpecId::CANCUN)
            && let Some(root) = block.header.parent_beacon_block_root
        {
            evm.system_call_commit(BEACON_ROOTS_ADDRESS, root.0.into()).map_err(|e| {
                Mismatch::UnexpectedException {
                    reason: format!("EIP-4788 system call failed: {e}"),
                    block: Some(number),
                }
            })?;
        }

        let mut receipts = Vec::with_capacity(block.transactions.len());
        let mut cumulative_gas_used = 0u64;
        for tx in &block.transactions {
            if let Some(selection) = steps {
                let pre = evm.ctx().db().cache.clone();
                let block_context =
                    crate::trace::context::contexts(evm.ctx_mut(), B256::ZERO).block;
                let envelope = tx.envelope.encoded_2718().into();
                let checker = StepChecker::new(selection)
                    .with_pre_state(&pre)
                    .map_err(Mismatch::from)?
                    .with_envelope(Ok(envelope), block_context, cumulative_gas_used);
                evm.inspector.1 = Either::Right(checker);
            }
            let result = evm.inspect_tx_commit(tx.tx_env()).map_err(|e| {
                Mismatch::UnexpectedException { reason: e.to_string(), block: Some(number) }
            })?;
            if let Either::Right(checker) =
                std::mem::replace(&mut evm.inspector.1, Either::Left(NoOpInspector))
            {
                let outcome = TxOutcome {
                    state_root: cache_state_root(&evm.ctx().db().cache),
                    success: result.is_success(),
                    gas_used: result.tx_gas_used(),
                };
                report.merge(checker.finish(Some(outcome)));
            }
            cumulative_gas_used += result.tx_gas_used();
            let receipt = Receipt {
                status: result.is_success().into(),
                cumulative_gas_used,
                logs: result.logs().to_vec(),
            };
            receipts.push(ReceiptEnvelope::from_typed(tx.envelope.tx_type(), receipt.with_bloom()));
        }
        transactions += block.transactions.len();

        for withdrawal in &block.withdrawals {
            let amount = U256::from(withdrawal.amount) * U256::from(WEI_PER_GWEI);
            evm.ctx_mut().journal_mut().balance_incr(withdrawal.address, amount).map_err(|e| {
                Mismatch::UnexpectedException {
                    reason: format!("withdrawal failed: {e}"),
                    block: Some(number),
                }
            })?;
        }
        evm.commit_inner();
        drop(evm);

        if cumulative_gas_used != block.header.gas_used {
            return Err(Mismatch::GasUsed {
                got: cumulative_gas_used,
                expected: block.header.gas_used,
                block: number,
            });
        }
        let receipts_root = calculate_receipt_root(&receipts);
        if receipts_root != block.header.receipts_root {
            return Err(Mismatch::ReceiptsRoot {
                got: receipts_root,
                expected: block.header.receipts_root,
                block: number,
            });
        }
        let state_root = cache_state_root(&state.cache);
        if state_root != block.header.state_root {
            return Err(Mismatch::StateRoot {
                got: state_root,
                expected: block.header.state_root,
                block: Some(number),
            });
        }
        state.block_hashes.insert(number, block.hash);
    }

    let last = blocks.last().map_or(test.genesis_hash(), |block| block.hash);
    if last != test.expected_last_block_hash() {
        return Err(Mismatch::LastBlockHash {
            got: last,
            expected: test.expected_last_block_hash(),
        });
    }
    Ok(transactions)
}
