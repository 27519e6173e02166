//! Deploying refute's L1 system to any JSON-RPC L1: the `DisputeGameFactory` (game parameters
//! and step verifier) and `Proposals` on top of it. The Rust twin of
//! `contracts/script/Deploy.s.sol`, with the same parameters and defaults.

use crate::{L1Client, Result};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolConstructor;
use refute_contracts::{DisputeGameFactory, Proposals};
use refute_engine::game::GameParams;

/// What to deploy. Defaults ([`DeployConfig::mainnet`]): Optimism mainnet's game parameters
/// (`docs/spec/game.md` §1.2: max depth 73, split depth 30, 3.5-day clocks, 0.08 ETH root bond)
/// and a 7-day challenge window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployConfig {
    /// The game parameters (depths, clocks in seconds, bonds in wei).
    pub params: GameParams,
    /// The step verifier every game calls (`IStepVerifier`, issue 7). Never a test double.
    pub verifier: Address,
    /// How long a proposal can be challenged, in seconds.
    pub challenge_window: u64,
    /// The final output root the first proposal builds on (proposal 0).
    pub genesis_output_root: B256,
}

impl DeployConfig {
    /// Mainnet defaults with `verifier`.
    ///
    /// # Errors
    ///
    /// None in practice: the default parameters are valid.
    pub fn mainnet(verifier: Address) -> Result<Self> {
        Ok(Self {
            params: GameParams::new(73, 30)?,
            verifier,
            challenge_window: 7 * 24 * 3600,
            genesis_output_root: B256::ZERO,
        })
    }
}

/// A deployed system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The `DisputeGameFactory`.
    pub factory: Address,
    /// `Proposals`.
    pub proposals: Address,
    /// The gas both deployments used.
    pub gas_used: u64,
}

/// Deploys the factory and `Proposals` with `config` from `client`'s account.
///
/// # Errors
///
/// [`crate::Error::Params`] when the parameters break `docs/spec/game.md` §1 or §11.1
/// (checked before anything is sent); L1 errors otherwise.
pub fn deploy(client: &L1Client, config: &DeployConfig) -> Result<Deployment> {
    config.params.validate()?;
    let p = &config.params;
    if p.max_clock_duration > u64::from(u32::MAX) {
        // docs/spec/game.md §11.1: the contract stores durations in 32 bits.
        return Err(refute_engine::game::GameError::InvalidParams(
            "max_clock_duration must fit 32 bits on L1",
        )
        .into());
    }
    let params = DisputeGameFactory::GameParams {
        maxDepth: p.max_depth,
        splitDepth: p.split_depth,
        maxClockDuration: p.max_clock_duration,
        clockExtension: p.clock_extension,
        splitClockExtension: p.split_clock_extension,
        stepClockExtension: p.step_clock_extension,
        baseBond: p.base_bond,
        bondGrowthBps: p.bond_growth_bps,
    };
    let args = DisputeGameFactory::constructorCall { params_: params, verifier: config.verifier };
    let code = [DisputeGameFactory::BYTECODE.as_ref(), &args.abi_encode()].concat();
    let receipt = client.send(None, Bytes::from(code), U256::ZERO)?;
    let factory = created(&receipt)?;
    tracing::info!(target: "challenger::deploy", %factory, gas = receipt.gas_used, "deployed DisputeGameFactory");
    let args = Proposals::constructorCall {
        factory,
        challengeWindow: config.challenge_window,
        genesisOutputRoot: config.genesis_output_root,
    };
    let code = [Proposals::BYTECODE.as_ref(), &args.abi_encode()].concat();
    let second = client.send(None, Bytes::from(code), U256::ZERO)?;
    let proposals = created(&second)?;
    tracing::info!(target: "challenger::deploy", %proposals, gas = second.gas_used, "deployed Proposals");
    Ok(Deployment { factory, proposals, gas_used: receipt.gas_used + second.gas_used })
}

fn created(receipt: &crate::Receipt) -> Result<Address> {
    receipt.contract_address.ok_or_else(|| crate::Error::BadResponse {
        method: "eth_getTransactionReceipt".into(),
        detail: format!("no contract address for creation {}", receipt.tx),
    })
}
