//! `greenwave` — the command line. The only place that wires the simulator and the controller
//! together.

mod cmd;
#[cfg(feature = "rerun")]
mod record;
mod report;
mod scenario;

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
    /// The bundled corridor and its day of counts: fixed-time vs adaptive over Modbus, with a report.
    Demo(cmd::demo::Args),
    /// Validate a network (intersections.toml or CityFlow roadnet.json) and print a summary.
    Check(cmd::check::Args),
    /// Emulate the field controllers of a network: Modbus TCP servers (register map in docs/modbus.md).
    Field(cmd::field::Args),
    /// Run the central controller daemon against the field controllers a network names.
    Run(cmd::run::Args),
    /// Print the audit log `run` keeps: every plan and stage request sent, and the verdict.
    Audit(cmd::audit::Args),
    /// Run several strategies on the same replay in parallel and compare them.
    Compare(cmd::compare::Args),
    /// Simulate a demand on a network under a controller and print the metrics.
    Sim(cmd::sim::Args),
    /// Plan a coordinated corridor (cycle, splits, green-wave offsets) and draw its time-space diagram.
    Corridor(cmd::corridor::Args),
    /// Drive a SUMO simulation over TraCI with a greenwave strategy (docs/sumo.md).
    Sumo(cmd::sumo::Args),
}

/// clap's error message in one line: its first paragraph (before the usage and the hint),
/// joined — so an error whose first line only introduces a list (a missing required flag) still
/// names the flag.
fn one_line(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .map(str::trim)
        .collect();
    if parts.is_empty() {
        "error: bad command line".into()
    } else {
        parts.join(" ")
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            // help and version go to stdout with exit 0; a usage error is one line on stderr
            // (clap's own first line, which names the flag and the bad value) and exit 2
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
            } else {
                eprintln!("{}", one_line(&e.to_string()));
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    cmd::init_logging(cli.quiet, matches!(cli.command, Command::Demo(_)));
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a, cli.quiet),
        Command::Check(a) => cmd::check::run(a),
        Command::Field(a) => cmd::field::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Compare(a) => cmd::compare::run(a, cli.quiet),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Corridor(a) => cmd::corridor::run(a),
        Command::Sumo(a) => cmd::sumo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // the reader of our output went away (`| head`): it has what it wanted
        Err(e) if cmd::common::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
