//! `refute deploy`: deploy refute's L1 contracts (`DisputeGameFactory` and `Proposals`) to any
//! JSON-RPC L1 with [`refute_challenger::deploy()`].

use alloy_primitives::{Address, B256};
use clap::Args;
use eyre::WrapErr;
use refute_challenger::{DeployConfig, L1Client, Signer, deploy};
use refute_engine::game::GameParams;
use std::process::ExitCode;

/// Options of `refute deploy`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  refute deploy --rpc-url http://127.0.0.1:8545 --private-key $KEY --verifier 0x...
  REFUTE_L1_RPC=http://127.0.0.1:8545 REFUTE_FROM=0xf39F...2266 refute deploy --verifier 0x... \\
    --challenge-window 60 --max-depth 14 --split-depth 4

Defaults are Optimism mainnet's game parameters (docs/spec/game.md §1.2) and a 7-day challenge
window; the same parameters as contracts/script/Deploy.s.sol. Prints one JSON line
{\"factory\": ..., \"proposals\": ..., \"gas_used\": ...}.")]
pub(crate) struct DeployArgs {
    /// The L1 JSON-RPC URL (http://host:port).
    #[arg(long, env = "REFUTE_L1_RPC")]
    rpc_url: String,
    /// Sign locally with this private key (hex); never logged.
    #[arg(long, env = "REFUTE_PRIVATE_KEY", hide_env_values = true, conflicts_with = "from")]
    private_key: Option<String>,
    /// Or let the node sign from this unlocked account (eth_sendTransaction).
    #[arg(long, env = "REFUTE_FROM")]
    from: Option<Address>,
    /// The step verifier every game calls (IStepVerifier). Required: refute never deploys one.
    #[arg(long, env = "REFUTE_VERIFIER")]
    verifier: Address,
    /// The challenge window, in seconds.
    #[arg(long, env = "REFUTE_CHALLENGE_WINDOW", default_value_t = 604_800)]
    challenge_window: u64,
    /// The final output root of proposal 0.
    #[arg(long, env = "REFUTE_GENESIS_OUTPUT_ROOT", default_value_t = B256::ZERO)]
    genesis_output_root: B256,
    /// Deepest claim depth.
    #[arg(long, env = "REFUTE_MAX_DEPTH", default_value_t = 73)]
    max_depth: u8,
    /// Deepest depth of the transaction level.
    #[arg(long, env = "REFUTE_SPLIT_DEPTH", default_value_t = 30)]
    split_depth: u8,
    /// Most time one side's chess clock may accumulate, in seconds.
    #[arg(long, env = "REFUTE_MAX_CLOCK_DURATION", default_value_t = 302_400)]
    max_clock_duration: u64,
    /// Time a side keeps for its next move, in seconds.
    #[arg(long, env = "REFUTE_CLOCK_EXTENSION", default_value_t = 10_800)]
    clock_extension: u64,
    /// The same before the split, in seconds.
    #[arg(long, env = "REFUTE_SPLIT_CLOCK_EXTENSION", default_value_t = 21_600)]
    split_clock_extension: u64,
    /// The same before a step, in seconds.
    #[arg(long, env = "REFUTE_STEP_CLOCK_EXTENSION", default_value_t = 97_200)]
    step_clock_extension: u64,
    /// The root claim's bond, in wei.
    #[arg(long, env = "REFUTE_BASE_BOND", default_value_t = 80_000_000_000_000_000)]
    base_bond: u128,
    /// Bond growth per depth, in basis points.
    #[arg(long, env = "REFUTE_BOND_GROWTH_BPS", default_value_t = 10_949)]
    bond_growth_bps: u32,
}

/// Runs `refute deploy`.
#[allow(clippy::print_stdout)]
pub(crate) fn run_deploy(args: &DeployArgs) -> eyre::Result<ExitCode> {
    let signer = match (&args.private_key, args.from) {
        (Some(key), _) => Signer::from_hex(key)?,
        (None, Some(from)) => Signer::Node(from),
        (None, None) => {
            eyre::bail!("give --private-key (REFUTE_PRIVATE_KEY) or --from (REFUTE_FROM)")
        }
    };
    let params = GameParams {
        max_depth: args.max_depth,
        split_depth: args.split_depth,
        max_clock_duration: args.max_clock_duration,
        clock_extension: args.clock_extension,
        split_clock_extension: args.split_clock_extension,
        step_clock_extension: args.step_clock_extension,
        base_bond: args.base_bond,
        bond_growth_bps: args.bond_growth_bps,
    };
    let config = DeployConfig {
        params,
        verifier: args.verifier,
        challenge_window: args.challenge_window,
        genesis_output_root: args.genesis_output_root,
    };
    let client = L1Client::connect(&args.rpc_url, signer)
        .wrap_err_with(|| format!("connecting to {}", args.rpc_url))?;
    let deployment = deploy(&client, &config)?;
    println!(
        "{}",
        serde_json::json!({
            "factory": deployment.factory,
            "proposals": deployment.proposals,
            "gas_used": deployment.gas_used,
        })
    );
    Ok(ExitCode::SUCCESS)
}
