//! One module per subcommand.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod common;
pub(crate) mod compare;
pub(crate) mod corridor;
pub(crate) mod demo;
pub(crate) mod field;
pub(crate) mod fieldloop;
pub(crate) mod run;
pub(crate) mod sim;
pub(crate) mod sumo;
pub(crate) mod tls;

/// Logs go to stderr through tracing; `RUST_LOG` overrides the level, `--quiet` keeps only warnings.
pub(crate) fn init_logging(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init();
}
