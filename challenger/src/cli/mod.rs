//! The `refute` command line: global options, logging and dispatch to one module per
//! subcommand.

mod conformance;
mod deploy;
mod logging;
mod replay;
mod simulate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// refute: a fraud-proof dispute game engine for EVM optimistic rollups.
///
/// Replays L2 batches with revm, narrows a disputed state transition to a single EVM step by
/// bisection, and proves that step on L1.
#[derive(Debug, Parser)]
#[command(name = "refute", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Examples:
  refute statetest ../shared/ethereum-tests/GeneralStateTests
  refute blockchaintest ../shared/ethereum-tests/BlockchainTests/ValidBlocks
  refute conformance ../shared/ethereum-tests/GeneralStateTests --steps all
  refute replay fixtures/batches/transfers.json --claimed-root 0x...
  refute simulate --games 10000 --seed 1
  refute deploy --rpc-url http://127.0.0.1:8545 --private-key $KEY --verifier 0x...
  REFUTE_LOG=debug refute --log-format json statetest GeneralStateTests/stExample/add11.json

Environment: every option that an operator sets has a REFUTE_* variable (shown as [env: ...]);
flags override the environment, which overrides the defaults.")]
pub(crate) struct Cli {
    #[command(flatten)]
    logging: logging::LogArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay Ethereum state tests with revm and check every post-state root and logs hash.
    Statetest(conformance::StateTestArgs),
    /// Replay Ethereum blockchain tests block by block and check every state and receipts root.
    Blockchaintest(conformance::BlockchainTestArgs),
    /// Check every EVM step of the state tests against refute's one-step executor.
    Conformance(conformance::ConformanceArgs),
    /// Replay an L2 batch: the state after every transaction, every block's header, and the
    /// first transaction where claimed roots diverge.
    Replay(replay::ReplayArgs),
    /// Play complete dispute games of the honest player against adversaries.
    Simulate(simulate::SimulateArgs),
    /// Deploy the L1 contracts (dispute game factory and proposals) to a JSON-RPC L1.
    Deploy(deploy::DeployArgs),
}

/// Parses the command line, runs the command and maps its outcome to the process exit code:
/// 0 success, 1 the command ran and found failures, 2 it could not run (bad input).
pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.logging) {
        eprintln!("refute: {e}");
        return ExitCode::from(2);
    }
    let outcome = match cli.command {
        Command::Statetest(args) => conformance::run_state_tests(&args),
        Command::Blockchaintest(args) => conformance::run_blockchain_tests(&args),
        Command::Conformance(args) => conformance::run_conformance(&args),
        Command::Replay(args) => replay::run_replay(&args),
        Command::Simulate(args) => simulate::run_simulate(&args),
        Command::Deploy(args) => deploy::run_deploy(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(target: "refute::cli", "{e:#}");
            eprintln!("refute: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
