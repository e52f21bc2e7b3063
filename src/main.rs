use std::process::ExitCode;

use clap::Parser;
use crm_api::cli::{self, Cli, Command};
use crm_api::config::Config;
use crm_api::telemetry;

/// mimalloc, not glibc's malloc: a batch of 100 operations spent about a third of the server's
/// CPU in glibc's malloc and free (`perf` under bench/run's scenario 7a; the README has the
/// figures). Built without transparent huge pages (`no_thp`): with them the server's peak RSS
/// after bench/run's scale scenario was 86 MiB, against its 64 MiB bound.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    // The CLI stays quiet so its stdout/stderr carry only what was asked for.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info,sqlx=warn",
        _ => "warn,sqlx=error",
    };
    telemetry::init(config.log_format, default_filter);
    match cli::run(cli, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
