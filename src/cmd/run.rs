//! `greenwave run`: the central controller daemon. Connects to the field controller of every
//! signalized intersection, polls detectors and status, and pushes the plans a controller asks
//! for (by default each intersection's configured base plan; any `roadnet::Controller` plugs in
//! the same way, chosen with `--control`).

use super::common::{outln, parse};
use super::tls::{TlsArgs, TlsChoice};
use controller::baseline::{native_plans, FixedPlans};
use field::central::Daemon;
use field::security::ClientTls;
use field::{ClientPool, LinkConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The intersections.toml naming each field controller's host, port and unit id.
    #[arg(long)]
    pub config: PathBuf,
    /// Stop after this many seconds, in (0, 31536000] (default: run until interrupted).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = parse::wall_duration_s)]
    pub duration: Option<f64>,
    /// Detector/status poll and heartbeat period, milliseconds, 10..=60000.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true, value_parser = parse::poll_ms)]
    pub poll_ms: u64,
    /// Per-request timeout, milliseconds, 1..=60000.
    #[arg(long, default_value_t = 500, allow_negative_numbers = true, value_parser = parse::timeout_ms)]
    pub timeout_ms: u64,
    /// The strategy to run: `base-plan` (each intersection's configured local plan, pushed once)
    /// or any strategy `greenwave sim` knows (`fixed-time`, `max-pressure`, `adaptive`, …) — the
    /// same controller code. Cameras do not travel over Modbus: a controller that reads them
    /// falls back to what the detectors tell it.
    #[arg(long, default_value = "base-plan")]
    pub control: String,
    /// Print the daemon's counters as one JSON object when it stops.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let net = Arc::new(roadnet::load_network(&args.config)?);
    if args.control != "base-plan" {
        // a bad name fails before any connection is made
        controller::baseline::make_controller(&args.control, &net)?;
    }
    // the certificate files are checked before any connection is made
    let tls = match args.tls.choice()? {
        TlsChoice::Tls { ca, cert, key } => Some(ClientTls::from_pem_files(ca, cert, key)?),
        TlsChoice::Plain => {
            tracing::warn!("INSECURE: plain Modbus TCP to the field controllers, as --insecure-plain asks: no encryption, no authentication of either end");
            None
        }
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let cfg = LinkConfig {
            request_timeout: Duration::from_millis(args.timeout_ms),
            ..LinkConfig::default()
        };
        let pool = ClientPool::connect_tls(&net, cfg, tls.as_ref(), |_| None).await?;
        anyhow::ensure!(
            !pool.is_empty(),
            "{} names no signalized intersection with a field controller",
            args.config.display()
        );
        let ctl: Box<dyn roadnet::Controller> = if args.control == "base-plan" {
            Box::new(FixedPlans::new("base-plan", &net, native_plans(&net))?)
        } else {
            controller::baseline::make_controller(&args.control, &net)?
        };
        let mut daemon = Daemon::new(net.clone(), pool, ctl);
        // range-checked by parse::wall_duration_s, so it converts without panicking
        let duration = args.duration.map(Duration::from_secs_f64);
        tokio::select! {
            _ = daemon.run(Duration::from_millis(args.poll_ms), duration) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let stats = daemon.stats();
        if args.json {
            outln!("{}", serde_json::to_string(stats)?)?;
        } else {
            outln!(
                "steps {}  status reads {}  polls ok {}  poll errors {}  plans pushed {}  rejected {}  push errors {}  stage requests {}  refused {}  fallbacks entered {}",
                stats.steps,
                stats.status_reads,
                stats.polls_ok,
                stats.poll_errors,
                stats.plans_pushed,
                stats.plans_rejected,
                stats.push_errors,
                stats.stage_requests,
                stats.stage_requests_rejected,
                stats.fallbacks_entered
            )?;
        }
        anyhow::Ok(())
    })
}
