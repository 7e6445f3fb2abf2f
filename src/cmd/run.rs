//! `greenwave run`: the central controller daemon. Connects to the field controller of every
//! signalized intersection, polls detectors and status, and pushes the plans a controller asks
//! for (by default each intersection's configured base plan; any `roadnet::Controller` plugs in
//! the same way, chosen with `--control`).

use super::common::{outln, parse};
use super::tls::{TlsArgs, TlsChoice};
use controller::baseline::{native_plans, FixedPlans};
use field::central::{metrics, AuditLog, Daemon};
use field::perception;
use field::security::ClientTls;
use field::{ClientPool, LinkConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// same controller code. Cameras do not travel over Modbus: they come over MQTT
    /// (`--mqtt`); without them a controller that reads cameras falls back to what the
    /// detectors tell it.
    #[arg(long, default_value = "base-plan")]
    pub control: String,
    /// Subscribe to camera and radar frames on this MQTT broker (`mqtt://host[:port]`) and feed
    /// them to the controller (`docs/perception.md`); the stats count frames received and
    /// dropped by reason.
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// With `--mqtt`: a region this daemon owns (`greenwave/v1/<region>/…`); repeat for several.
    /// Default: every region.
    #[arg(long = "region", value_name = "REGION", requires = "mqtt")]
    pub regions: Vec<String>,
    /// With `--mqtt`: join the MQTT shared subscription `$share/<GROUP>/…`, so that the daemons
    /// of one group split the frames between them.
    #[arg(long, value_name = "GROUP", requires = "mqtt")]
    pub mqtt_share: Option<String>,
    /// With `--mqtt`: the MQTT client id of this daemon's persistent session (stable across
    /// restarts, unique per daemon). Default: `greenwave-run-<regions>`.
    #[arg(long, value_name = "ID", requires = "mqtt")]
    pub mqtt_client_id: Option<String>,
    /// Print the daemon's counters as one JSON object when it stops.
    #[arg(long)]
    pub json: bool,
    /// Serve Prometheus metrics at `http://ADDR/metrics` (e.g. `127.0.0.1:9464`; names in
    /// docs/operations.md). Off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The durable audit log of every plan and stage request sent, and the field's verdict
    /// (SQLite; read it with `greenwave audit PATH`). A restarted `run` resumes from it.
    /// Default: `<config stem>.audit.db` next to the --config file.
    #[arg(long, value_name = "PATH", conflicts_with = "no_audit_log")]
    pub audit_log: Option<PathBuf>,
    /// Keep no audit log (and resume from none).
    #[arg(long)]
    pub no_audit_log: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    // what the resume figures (`first_status_ms`, `first_plan_ms`) count from
    let started = Instant::now();
    let net = Arc::new(roadnet::load_network(&args.config)?);
    if args.control != "base-plan" {
        // a bad name fails before any connection is made
        controller::baseline::make_controller(&args.control, &net)?;
    }
    if let Some(url) = &args.mqtt {
        // a bad broker URL fails before any connection is made
        perception::BrokerAddr::parse(url).map_err(anyhow::Error::msg)?;
    }
    // the certificate files are checked before any connection is made
    let tls = match args.tls.choice()? {
        TlsChoice::Tls { ca, cert, key } => Some(ClientTls::from_pem_files(ca, cert, key)?),
        TlsChoice::Plain => {
            tracing::warn!("INSECURE: plain Modbus TCP to the field controllers, as --insecure-plain asks: no encryption, no authentication of either end");
            None
        }
    };
    // the log is opened (and locked) before any connection is made
    let audit = match audit_path(&args) {
        Some(path) => Some(AuditLog::open(&path)?),
        None => None,
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        if let Some(addr) = args.metrics_listen {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .with_http_listener(addr)
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(metrics::ROUND_TRIP.into()),
                    metrics::ROUND_TRIP_BUCKETS_S,
                )?
                .install()
                .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?;
            metrics::describe();
            tracing::info!("Prometheus metrics at http://{addr}/metrics");
        }
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
        let mut daemon = Daemon::new(net.clone(), pool, ctl).started_at(started);
        if let Some(log) = audit {
            let path = log.path().display().to_string();
            let (d, known) = daemon.with_audit(log)?;
            daemon = d;
            tracing::info!("audit log {path}: resuming {known} field controller(s)");
        }
        if let Some(url) = &args.mqtt {
            daemon = daemon.with_cameras(Box::new(subscribe(&net, url, &args)?));
        }
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
                "steps {}  status reads {}  polls ok {}  poll errors {}  plans pushed {}  rejected {}  unchanged {}  push errors {}  stage requests {}  refused {}  fallbacks entered {}",
                stats.steps,
                stats.status_reads,
                stats.polls_ok,
                stats.poll_errors,
                stats.plans_pushed,
                stats.plans_rejected,
                stats.plans_unchanged,
                stats.push_errors,
                stats.stage_requests,
                stats.stage_requests_rejected,
                stats.fallbacks_entered
            )?;
            if let Some(c) = &stats.cameras {
                outln!(
                    "camera frames received {}  accepted {}  dropped {} {:?}",
                    c.received,
                    c.accepted,
                    c.dropped_total(),
                    c.dropped
                )?;
            }
        }
        anyhow::Ok(())
    })
}

/// `--audit-log`, or `<config stem>.audit.db` beside the config; `None` with `--no-audit-log`.
fn audit_path(args: &Args) -> Option<PathBuf> {
    if args.no_audit_log {
        return None;
    }
    Some(args.audit_log.clone().unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .map_or("greenwave".into(), |s| s.to_string_lossy().into_owned());
        args.config.with_file_name(format!("{stem}.audit.db"))
    }))
}

/// The MQTT subscriber of `--mqtt`: frames stamped on the Unix clock, `time_s` counted from
/// the daemon's start (as the daemon's own steps are).
fn subscribe(
    net: &Arc<roadnet::RoadNet>,
    url: &str,
    args: &Args,
) -> anyhow::Result<perception::Subscriber> {
    let broker = perception::BrokerAddr::parse(url).map_err(anyhow::Error::msg)?;
    let client_id = args.mqtt_client_id.clone().unwrap_or_else(|| {
        if args.regions.is_empty() {
            "greenwave-run-all".to_string()
        } else {
            format!("greenwave-run-{}", args.regions.join("-"))
        }
    });
    let mut cfg = perception::SubscriberConfig::new(broker, client_id);
    cfg.regions = args.regions.clone();
    cfg.share_group = args.mqtt_share.clone();
    let clock = perception::system_clock_ms();
    cfg.ingest.origin_ms = clock();
    let dir = Arc::new(perception::SensorDirectory::new(net));
    perception::Subscriber::spawn(cfg, dir, clock).map_err(anyhow::Error::msg)
}
