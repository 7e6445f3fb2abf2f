//! `greenwave field`: emulate every field controller of a network — one Modbus TCP server per
//! configured host:port, serving each intersection on it by unit id. Each port runs
//! Modbus/TCP Security (TLS, client certificates with roles) unless `--insecure-plain` says
//! otherwise.

use super::common::{outln, parse};
use super::tls::{TlsArgs, TlsChoice};
use field::emulator::server::{self, FieldEmulator};
use field::security::{throwaway_pki, ServerTls};
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
    #[arg(long, required_unless_present_any = ["bench_push", "gen_test_pki"])]
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
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Write a throw-away test PKI into DIR and exit: ca.pem, server.pem/.key (for the hosts of
    /// --config, localhost and 127.0.0.1), operator.pem/.key and monitor.pem/.key (client
    /// certificates with those roles). For tests and trials only: the CA key is not kept.
    #[arg(long, value_name = "DIR")]
    pub gen_test_pki: Option<PathBuf>,
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
    if let Some(dir) = &args.gen_test_pki {
        return gen_test_pki(dir, args.config.as_deref());
    }
    let Some(config) = &args.config else {
        // clap requires --config unless --bench-push is given
        anyhow::bail!("--config is required");
    };
    let net = Arc::new(roadnet::load_network(config)?);
    // the certificate files are checked before any port is bound
    let tls = match args.tls.choice()? {
        TlsChoice::Tls { ca, cert, key } => Some(ServerTls::from_pem_files(ca, cert, key)?),
        TlsChoice::Plain => None,
    };
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
            let stats = Arc::new(server::ServerStats::default());
            match &tls {
                Some(tls) => tasks.push(tokio::spawn(server::serve_tls(
                    listener,
                    svc,
                    limits.clone(),
                    stats,
                    tls.clone(),
                ))),
                None => {
                    tracing::warn!(
                        "INSECURE: plain Modbus TCP on {addr} ({ep}), as --insecure-plain asks: no encryption, no authentication, no roles; any client that reaches this port can write plans and commands"
                    );
                    tasks.push(tokio::spawn(server::serve_with(
                        listener,
                        svc,
                        limits.clone(),
                        stats,
                    )));
                }
            }
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

/// `--gen-test-pki DIR`: a throw-away CA and the certificates a trial needs, as PEM files.
fn gen_test_pki(dir: &std::path::Path, config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut hosts = Vec::new();
    if let Some(config) = config {
        let net = roadnet::load_network(config)?;
        hosts.extend(
            net.signalized()
                .filter_map(|i| i.controller.as_ref().map(|c| c.host.clone())),
        );
    }
    let pki = throwaway_pki(&hosts)?;
    let files = pki.write_to(dir)?;
    outln!("wrote {} into {}", files.join(", "), dir.display())?;
    Ok(())
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
