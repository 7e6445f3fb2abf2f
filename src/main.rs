//! `greenwave` — the command line. The only place that wires the simulator and the controller
//! together.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "greenwave",
    version,
    about = "Real-time adaptive traffic signal control: road model, simulator, controller, Modbus field link"
)]
struct Cli {
    /// Print no progress bars or informational logs.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a network (intersections.toml or CityFlow roadnet.json) and print a summary.
    Check(cmd::check::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    cmd::init_logging(cli.quiet);
    let result = match cli.command {
        Command::Check(a) => cmd::check::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
