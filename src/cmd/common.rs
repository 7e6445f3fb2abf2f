//! What several subcommands share: the replay flags of `sim` and `compare`, the typed parsers
//! that range-check every numeric flag, and loading a demand.

use anyhow::Context;
use roadnet::{Demand, RoadNet, VehicleParams};
use sim::SimConfig;
use std::path::{Path, PathBuf};

/// `println!` that hands a failed write back instead of panicking, so that `greenwave … | head`
/// ends quietly when the reader goes away (main treats a broken pipe as a normal end).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use outln;

/// `print!` as [`outln!`] does `println!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use out;

/// Whether an error is stdout's reader having gone away (`| head`): not a failure of the run.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Typed flag parsers for clap's `value_parser`: each accepts a finite value in a physical
/// range and otherwise says the range and its unit, so a bad flag is refused before any work
/// (and before it can reach `Duration::from_secs_f64` or a loop bound) in one line that clap
/// prefixes with the flag's name.
pub(crate) mod parse {
    /// One simulated week, s: longer replays are not what count files hold (48 h at most) and
    /// would run for hours.
    pub(crate) const MAX_SIM_DURATION_S: f64 = 7.0 * 86_400.0;
    /// One year, s: longest a daemon or emulator may be told to run before stopping itself
    /// (without `--duration` they run until interrupted).
    pub(crate) const MAX_WALL_DURATION_S: f64 = 365.0 * 86_400.0;

    /// A real number in `(lo, hi]` (or `[lo, hi]` when `lo_closed`), named with its unit.
    fn real_in(s: &str, lo: f64, lo_closed: bool, hi: f64, unit: &str) -> Result<f64, String> {
        let range = format!("{}{lo}, {hi}]", if lo_closed { '[' } else { '(' });
        match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (v > lo || (lo_closed && v == lo)) && v <= hi => Ok(v),
            _ => Err(format!("expected {unit} in {range}")),
        }
    }

    /// A whole number in `lo..=hi`; `what` names it with its unit.
    fn whole_in(s: &str, lo: u64, hi: u64, what: &str) -> Result<u64, String> {
        match s.trim().parse::<u64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(format!("expected {what} in {lo}..={hi}")),
        }
    }

    /// As [`whole_in`], for flags held in 32 bits.
    fn whole_u32_in(s: &str, lo: u32, hi: u32, what: &str) -> Result<u32, String> {
        // in range, so it fits
        whole_in(s, lo.into(), hi.into(), what).map(|v| v as u32)
    }

    /// Simulated time, s: `(0, 604800]`.
    pub(crate) fn sim_duration_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.0, false, MAX_SIM_DURATION_S, "seconds")
    }

    /// Real (wall-clock) time before a daemon stops, s: `(0, one year]`.
    pub(crate) fn wall_duration_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.0, false, MAX_WALL_DURATION_S, "seconds")
    }

    /// Simulation step, s: `[0.01, 10]` — the simulator refuses steps over 10 s, and below
    /// 10 ms a day's replay would take hundreds of millions of steps.
    pub(crate) fn dt_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.01, true, 10.0, "seconds")
    }

    /// A seed: any whole number that fits in 64 bits.
    pub(crate) fn seed(s: &str) -> Result<u64, String> {
        whole_in(s, 0, u64::MAX, "a whole-number seed")
    }

    /// How many times faster than real time a signal clock runs: `[0.01, 1000]`. The emulator
    /// ticks every 0.1 s / speed-up: slower than 0.01 would tick less than every 10 s (and a
    /// speed-up near 0 would overflow the tick period).
    pub(crate) fn speedup(s: &str) -> Result<f64, String> {
        real_in(s, 0.01, true, 1000.0, "a speed-up factor")
    }

    /// Poll and heartbeat period, ms: `10..=60000`.
    pub(crate) fn poll_ms(s: &str) -> Result<u64, String> {
        whole_in(s, 10, 60_000, "a whole number of milliseconds")
    }

    /// Per-request timeout, ms: `1..=60000`.
    pub(crate) fn timeout_ms(s: &str) -> Result<u64, String> {
        whole_in(s, 1, 60_000, "a whole number of milliseconds")
    }

    /// A count of steps between recorded frames: `1..=3600`.
    pub(crate) fn every_steps(s: &str) -> Result<u32, String> {
        whole_u32_in(s, 1, 3600, "a whole number of steps")
    }

    /// Emulated field controllers for `--bench-push`: `1..=20000` (each holds a socket).
    pub(crate) fn controllers(s: &str) -> Result<u32, String> {
        whole_u32_in(s, 1, 20_000, "a whole number of controllers")
    }

    /// Benchmark rounds: `1..=1000`.
    pub(crate) fn rounds(s: &str) -> Result<u32, String> {
        whole_u32_in(s, 1, 1000, "a whole number of rounds")
    }

    /// A detector's flow, vehicles per hour: `0..=3600` (one a second on its lane, nearly
    /// twice a lane's saturation flow).
    pub(crate) fn vehicles_per_hour(s: &str) -> Result<u32, String> {
        whole_u32_in(s, 0, 3600, "a whole number of vehicles per hour")
    }

    /// A time of day, `HH:MM[:SS]` or seconds, as seconds since midnight: `[0, 48:00)` like
    /// the start of a count interval (a day may run past midnight).
    /// `field --max-connections`: connections open at once per port.
    pub(crate) fn max_connections(s: &str) -> Result<usize, String> {
        // in range, so it fits
        whole_in(s, 1, 10_000, "connections").map(|v| v as usize)
    }

    /// `field --idle-timeout-s`.
    pub(crate) fn idle_timeout_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.1, true, 86_400.0, "seconds")
    }

    /// `field --frame-timeout-s`.
    pub(crate) fn frame_timeout_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.1, true, 600.0, "seconds")
    }

    /// `field --rate-per-s`: sustained requests per second per connection.
    pub(crate) fn rate_per_s(s: &str) -> Result<f64, String> {
        real_in(s, 0.1, true, 100_000.0, "requests per second")
    }

    /// `field --rate-burst`: requests allowed at once above the rate.
    pub(crate) fn rate_burst(s: &str) -> Result<u32, String> {
        whole_u32_in(s, 1, 100_000, "requests")
    }

    pub(crate) fn time_of_day_s(s: &str) -> Result<f64, String> {
        roadnet::counts::parse_time_of_day(s.trim()).ok_or_else(|| {
            "expected a time of day HH:MM[:SS] (or seconds) in [00:00, 48:00)".into()
        })
    }
}

/// The flags `sim` and `compare` share: what to replay and how to step it.
#[derive(clap::Args)]
pub(crate) struct ReplayArgs {
    /// An intersections.toml, a CityFlow roadnet .json or a SUMO .net.xml.
    #[arg(long)]
    pub network: PathBuf,
    /// Demand: a CityFlow flow .json, a count .csv (docs/counts.md) or a SUMO .rou.xml
    /// (docs/sumo.md); dispatched by extension.
    #[arg(long)]
    pub demand: PathBuf,
    /// With a SUMO --network: an additional file (.add.xml) whose induction loops and lane-area
    /// detectors become the network's detectors and cameras (docs/sumo.md). Without sensors an
    /// adaptive controller runs each intersection on its base plan.
    #[arg(long, value_name = "ADD.XML")]
    pub additional: Option<PathBuf>,
    /// Simulated seconds, up to 604800 (7 days) [default: sim one hour; compare up to the
    /// demand's last departure rounded up to the hour].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = parse::sim_duration_s)]
    pub duration: Option<f64>,
    /// Seed for the simulator and for turning counts into trips.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse::seed)]
    pub seed: u64,
    /// Step length, seconds in [0.01, 10].
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, allow_negative_numbers = true, value_parser = parse::dt_s)]
    pub dt: f64,
    /// Let vehicles change lanes.
    #[arg(long)]
    pub lane_change: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ReplayArgs {
    /// Load the network and the demand the flags name.
    pub(crate) fn load(&self) -> anyhow::Result<(RoadNet, Demand)> {
        let net = self.load_network()?;
        let demand = load_demand(&self.demand, &net, self.seed)?;
        Ok((net, demand))
    }

    /// Load the network `--network` names, with `--additional`'s sensors.
    pub(crate) fn load_network(&self) -> anyhow::Result<RoadNet> {
        match &self.additional {
            None => Ok(roadnet::load_network(&self.network)?),
            Some(add) if roadnet::sumo::is_sumo_path(&self.network) => {
                Ok(roadnet::sumo::load_with_additional(&self.network, add)?.net)
            }
            Some(_) => anyhow::bail!(
                "--additional: {} is not a SUMO network (.net.xml); sensors of other networks are configured in the network itself",
                self.network.display()
            ),
        }
    }

    /// The simulator's configuration for a run of `duration_s`.
    pub(crate) fn sim_config(&self, duration_s: f64, track_vehicles: bool) -> SimConfig {
        SimConfig {
            dt_s: self.dt,
            seed: self.seed,
            lane_change: self.lane_change,
            duration_s,
            track_vehicles,
            ..SimConfig::default()
        }
    }
}

/// Load demand by extension: a CityFlow flow `.json`, a count `.csv` turned into trips
/// with `seed` (docs/counts.md), or a SUMO route file `.rou.xml`/`.xml` (docs/sumo.md; `seed`
/// drives its `probability` flows). A route file's notes (what greenwave does not model) go to
/// stderr, one line each, so they are never silently lost and `--json` output stays clean.
pub(crate) fn load_demand(path: &Path, net: &RoadNet, seed: u64) -> anyhow::Result<Demand> {
    let mut demands = load_demands(path, net, &[seed])?;
    // one seed asked, one demand back
    Ok(demands.pop().unwrap_or_default())
}

/// [`load_demand`] for each of `seeds`, in order. A count file is read and parsed once and
/// turned into trips per seed (parsing it is a good part of a short run's time, and the same
/// for every seed); a route file, whose flows the seed drives, is read per seed.
pub(crate) fn load_demands(
    path: &Path,
    net: &RoadNet,
    seeds: &[u64],
) -> anyhow::Result<Vec<Demand>> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let flow = roadnet::cityflow::load_flow(path, net)?;
            Ok(seeds.iter().map(|_| flow.clone()).collect())
        }
        Some("xml") => seeds
            .iter()
            .map(|&seed| {
                let sumo = roadnet::sumo::demand::load_routes(path, net, seed)?;
                for note in &sumo.notes {
                    eprintln!("{note}");
                }
                Ok(sumo.demand)
            })
            .collect(),
        Some("csv") => {
            let counts = roadnet::counts::load_counts(path, net)?;
            Ok(seeds
                .iter()
                .map(|&seed| {
                    counts.to_demand(
                        net,
                        seed,
                        VehicleParams {
                            max_speed_m_s: 16.67,
                            ..VehicleParams::default()
                        },
                    )
                })
                .collect())
        }
        _ => Err(anyhow::anyhow!(
            "{}: unknown demand format: expected a CityFlow flow .json, a count .csv or a SUMO .rou.xml",
            path.display()
        )),
    }
    .with_context(|| format!("loading demand for network '{}'", net.name))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parsers_refuse_what_is_out_of_range() {
        assert_eq!(parse::sim_duration_s("3600"), Ok(3600.0));
        for bad in ["inf", "1e20", "NaN", "-5", "0", "abc", "604801"] {
            let e = parse::sim_duration_s(bad).unwrap_err();
            assert!(e.contains("(0, 604800]"), "{bad}: {e}");
        }
        assert_eq!(parse::dt_s("0.01"), Ok(0.01));
        assert!(parse::dt_s("0.001").is_err() && parse::dt_s("11").is_err());
        assert_eq!(parse::seed(&u64::MAX.to_string()), Ok(u64::MAX));
        assert!(parse::seed("-1").is_err() && parse::seed("18446744073709551616").is_err());
        assert_eq!(parse::time_of_day_s("17:30"), Ok(63_000.0));
        assert!(parse::time_of_day_s("48:00").is_err() && parse::time_of_day_s("7:60").is_err());
        assert_eq!(parse::poll_ms("10"), Ok(10));
        assert!(parse::poll_ms("9")
            .unwrap_err()
            .contains("milliseconds in 10..=60000"));
    }
}
