//! `greenwave field`: emulate every field controller of a network — one Modbus TCP server per
//! configured host:port, serving each intersection on it by unit id.

use super::common::{outln, parse};
use field::emulator::server::{self, FieldEmulator};
use field::{Clock, CounterSource, DetectorSource, IdleSource, SystemClock};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The intersections.toml naming each field controller's host, port and unit id (not
    /// needed with --bench-push, which builds its own network).
    #[arg(long, required_unless_present = "bench_push")]
    pub config: Option<PathBuf>,
    /// Run the signal clock this many times faster than real time, in [0.01, 1000].
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = parse::speedup)]
    pub speedup: f64,
    /// Listen on OS-chosen ports instead of the configured ones (each printed on stdout as
    /// `listening <configured host:port> units <ids> on <address>`).
    #[arg(long)]
    pub ephemeral_ports: bool,
    /// Detector actuations: `idle`, or `counter:<vehicles per hour, 0..=3600>` on every detector.
    #[arg(long, default_value = "idle", value_parser = parse_detectors)]
    pub detectors: Detectors,
    /// Stop after this many seconds of real time, in (0, 31536000] (default: run until
    /// interrupted).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = parse::wall_duration_s)]
    pub duration: Option<f64>,
    /// Benchmark instead of serving: emulate N controllers (1..=20000) on loopback (a synthetic
    /// arterial, `--config` ignored), push a verified plan to all of them, print total and p50/p99.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse::controllers)]
    pub bench_push: Option<u32>,
    /// Rounds for --bench-push, 1..=1000.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = parse::rounds)]
    pub rounds: u32,
    /// Connections open at once per port, 1..=10000; one more is closed at once.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = parse::max_connections)]
    pub max_connections: usize,
    /// Close a connection with no complete request for this long, seconds in [0.1, 86400].
    #[arg(long, default_value_t = 120.0, allow_negative_numbers = true, value_parser = parse::idle_timeout_s)]
    pub idle_timeout_s: f64,
    /// Close a connection whose started frame is not complete within this, seconds in [0.1, 600].
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true, value_parser = parse::frame_timeout_s)]
    pub frame_timeout_s: f64,
    /// Sustained requests per second per connection, in [0.1, 100000]; more are answered
    /// "server device busy".
    #[arg(long, default_value_t = 200.0, allow_negative_numbers = true, value_parser = parse::rate_per_s)]
    pub rate_per_s: f64,
    /// Requests per connection allowed at once above the rate, 1..=100000.
    #[arg(long, default_value_t = 400, allow_negative_numbers = true, value_parser = parse::rate_burst)]
    pub rate_burst: u32,
}

/// What every emulated detector reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Detectors {
    Idle,
    Counter { vehicles_per_hour: u32 },
}

fn parse_detectors(s: &str) -> Result<Detectors, String> {
    if s == "idle" {
        return Ok(Detectors::Idle);
    }
    match s.strip_prefix("counter:") {
        Some(v) => Ok(Detectors::Counter {
            vehicles_per_hour: parse::vehicles_per_hour(v)?,
        }),
        None => Err("expected 'idle' or 'counter:<vehicles per hour, 0..=3600>'".into()),
    }
}

fn source(spec: Detectors) -> Box<dyn Fn() -> Box<dyn DetectorSource>> {
    match spec {
        Detectors::Idle => Box::new(|| Box::new(IdleSource)),
        Detectors::Counter { vehicles_per_hour } => Box::new(move || {
            Box::new(CounterSource {
                vehicles_per_hour,
                occupied_ds_per_vehicle: 4,
            })
        }),
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.bench_push {
        return bench_push(n as usize, args.rounds);
    }
    let Some(config) = &args.config else {
        // clap requires --config unless --bench-push is given
        anyhow::bail!("--config is required");
    };
    let net = Arc::new(roadnet::load_network(config)?);
    let make_source = source(args.detectors);
    // range-checked by the flag parsers, so the conversions cannot panic
    let limits = server::ServerLimits {
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs_f64(args.idle_timeout_s),
        frame_timeout: Duration::from_secs_f64(args.frame_timeout_s),
        rate_per_s: args.rate_per_s,
        rate_burst: args.rate_burst,
        ..server::ServerLimits::default()
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let clock: Arc<dyn Clock> = SystemClock::new(args.speedup);
        let emu = Arc::new(FieldEmulator::new(net.clone(), clock, |_| make_source())?);
        let ephemeral = args.ephemeral_ports;
        let bound = emu
            .bind_all(|ep| {
                ephemeral.then(|| {
                    let ip = ep
                        .host
                        .parse()
                        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
                    SocketAddr::new(ip, 0)
                })
            })
            .await?;
        let mut tasks = Vec::new();
        for (ep, listener, svc) in bound {
            let addr = listener.local_addr()?;
            let units: Vec<u8> = emu.endpoints()[&ep].keys().copied().collect();
            outln!("listening {ep} units {units:?} on {addr}")?;
            tracing::info!(
                "field controller(s) {} at {addr}",
                emu.endpoints()[&ep]
                    .values()
                    .map(|i| net.intersection(*i).name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            tasks.push(tokio::spawn(server::serve_with(
                listener,
                svc,
                limits.clone(),
                Arc::new(server::ServerStats::default()),
            )));
        }
        std::io::stdout().flush()?;
        let tick = Duration::from_secs_f64((0.1 / args.speedup).max(0.005));
        tokio::spawn(emu.clone().run_ticker(tick));
        let stop = async {
            match args.duration {
                // range-checked by parse::wall_duration_s, so it converts without panicking
                Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let faults: u32 = emu
            .units()
            .map(|(_, u)| server::lock(u).runner().conflict_faults())
            .sum();
        tracing::info!("field emulator stopped; conflict-monitor faults: {faults}");
        for t in tasks {
            t.abort();
        }
        anyhow::Ok(())
    })
}

/// `--bench-push N`: push + verified read-back to N emulated controllers, several rounds.
fn bench_push(n: usize, rounds: u32) -> anyhow::Result<()> {
    use field::bench::{bench_link_config, percentile, synthetic_network_toml, Fleet};
    let net = Arc::new(roadnet::config::parse_toml(
        &synthetic_network_toml(n),
        "synthetic.toml",
    )?);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let mut fleet = Fleet::start(net, bench_link_config()).await?;
        // round 0 warms the connections up and is not counted
        fleet.push_round(0).await.map_err(anyhow::Error::msg)?;
        let mut totals = Vec::new();
        let mut per = Vec::new();
        for r in 1..=rounds {
            let (total, d) = fleet.push_round(r).await.map_err(anyhow::Error::msg)?;
            totals.push(total);
            per.extend(d);
        }
        totals.sort();
        per.sort();
        outln!(
            "push + verified read-back to {n} controllers, {rounds} rounds: total per round median {:.1} ms (min {:.1}, max {:.1}); per controller (all {n} in flight at once, queueing included) p50 {:.2} ms, p99 {:.2} ms",
            percentile(&totals, 50.0).as_secs_f64() * 1e3,
            totals[0].as_secs_f64() * 1e3,
            totals[totals.len() - 1].as_secs_f64() * 1e3,
            percentile(&per, 50.0).as_secs_f64() * 1e3,
            percentile(&per, 99.0).as_secs_f64() * 1e3,
        )?;
        let mut seq = fleet
            .push_sequential(rounds + 1)
            .await
            .map_err(anyhow::Error::msg)?;
        seq.sort();
        outln!(
            "one controller at a time (no queueing): per controller p50 {:.3} ms, p99 {:.3} ms, total {:.1} ms",
            percentile(&seq, 50.0).as_secs_f64() * 1e3,
            percentile(&seq, 99.0).as_secs_f64() * 1e3,
            seq.iter().sum::<std::time::Duration>().as_secs_f64() * 1e3,
        )?;
        anyhow::Ok(())
    })
}
