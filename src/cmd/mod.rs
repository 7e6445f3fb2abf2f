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
/// `in_process_field`: the command runs field controllers and a broker in its own process (the
/// demo): their operator records — every write with who sent it, every connection — are the
/// field's own log, tens of thousands of lines a day, so they show only from warnings up.
pub(crate) fn init_logging(quiet: bool, in_process_field: bool) {
    use tracing_subscriber::filter::{filter_fn, FilterExt};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let default = match (quiet, in_process_field) {
        (true, _) => "warn",
        (false, true) => "info,field::emulator=warn,rumqttd=warn",
        (false, false) => "info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The embedded MQTT broker (rumqttd) opens an error-level span for every message it routes,
    // and recording one formats its fields: on the demo's camera feed (frames every step) that
    // was a good part of the broker's routing thread. Its events (warnings, errors) still
    // show; only its spans are not recorded.
    let no_broker_spans =
        filter_fn(|meta| !(meta.is_span() && meta.target().starts_with("rumqttd")));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .with_filter(filter.and(no_broker_spans));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
