use std::process::ExitCode;

use clap::Parser;
use crm_api::cli::{self, Cli, Command};
use crm_api::config::Config;
use crm_api::telemetry;

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
