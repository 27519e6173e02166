//! Logging: `tracing` to stderr, human-readable or JSON lines.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Log options shared by every subcommand.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Log line format on stderr: `pretty` for people, `json` for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, env = "REFUTE_LOG_FORMAT")]
    log_format: LogFormat,

    /// Log filter, in `tracing` directive syntax (`info`, `refute=debug,revm=warn`).
    #[arg(long = "log", global = true, default_value = "info", env = "REFUTE_LOG")]
    filter: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

/// Installs the global subscriber.
pub(crate) fn init(args: &LogArgs) -> eyre::Result<()> {
    let filter = EnvFilter::try_new(&args.filter)
        .map_err(|e| eyre::eyre!("invalid log filter `{}`: {e}", args.filter))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| eyre::eyre!("cannot install the logger: {e}"))
}
