//! `refute`: fraud proofs for EVM optimistic rollups, on one command.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
