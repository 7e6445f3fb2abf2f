//! A fleet of emulated field controllers on loopback and a timed plan push to all of them —
//! shared by the criterion bench (`benches/benches/modbus.rs`) and `greenwave field --bench-push`.

use crate::central::{ClientPool, LinkConfig};
use crate::emulator::clock::{Clock, ManualClock};
use crate::emulator::server::{self, FieldEmulator};
use crate::emulator::unit::IdleSource;
use controller::baseline::base_plan;
use roadnet::{RoadNet, SignalPlan};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Intersections per emulated port (unit ids 1..=this).
pub const UNITS_PER_PORT: usize = 200;

/// A synthetic arterial of `n` signalized intersections (each with two side-street
/// approaches), `UNITS_PER_PORT` of them per field port — as `intersections.toml` text.
pub fn synthetic_network_toml(n: usize) -> String {
    let mut s = String::from("name = \"fleet\"\n");
    let name = |k: usize| format!("i{k}");
    for k in 0..n {
        let port = 20000 + (k / UNITS_PER_PORT) as u16;
        let unit = 1 + k % UNITS_PER_PORT;
        let i = name(k);
        let x = 300.0 * k as f64;
        let _ = write!(
            s,
            "[[intersection]]\nid = \"{i}\"\nx_m = {x}\ny_m = 0.0\ncontroller = {{ host = \"127.0.0.1\", port = {port}, unit_id = {unit} }}\n\
             [[intersection.signal_group]]\nid = \"EW\"\nmovements = [\"{i}_eb:T\", \"{i}_eb:R\", \"{i}_wb:T\", \"{i}_wb:R\"]\n\
             [[intersection.signal_group]]\nid = \"EW_L\"\nmovements = [\"{i}_eb:L\", \"{i}_wb:L\"]\npermissive = true\n\
             [[intersection.signal_group]]\nid = \"NS\"\nmovements = [\"{i}_nb:T\", \"{i}_nb:R\", \"{i}_sb:T\", \"{i}_sb:R\"]\n\
             [[intersection.signal_group]]\nid = \"NS_L\"\nmovements = [\"{i}_nb:L\", \"{i}_sb:L\"]\npermissive = true\n\
             [[intersection.stage]]\nid = \"ew\"\ngroups = [\"EW\", \"EW_L\"]\n\
             [[intersection.stage]]\nid = \"ns\"\ngroups = [\"NS\", \"NS_L\"]\n\
             [[intersection]]\nid = \"{i}_n\"\nkind = \"boundary\"\nx_m = {x}\ny_m = 200.0\n\
             [[intersection]]\nid = \"{i}_s\"\nkind = \"boundary\"\nx_m = {x}\ny_m = -200.0\n"
        );
    }
    let last = 300.0 * n as f64;
    let _ = write!(
        s,
        "[[intersection]]\nid = \"west\"\nkind = \"boundary\"\nx_m = -300.0\ny_m = 0.0\n\
         [[intersection]]\nid = \"east\"\nkind = \"boundary\"\nx_m = {last}\ny_m = 0.0\n"
    );
    for k in 0..n {
        let i = name(k);
        let west = if k == 0 {
            "west".to_string()
        } else {
            name(k - 1)
        };
        let east = if k + 1 == n {
            "east".to_string()
        } else {
            name(k + 1)
        };
        let _ = write!(
            s,
            "[[road]]\nid = \"{i}_eb\"\nfrom = \"{west}\"\nto = \"{i}\"\nlanes = [{{ turns = \"L\" }}, {{ turns = \"TR\" }}]\n\
             [[road]]\nid = \"{i}_wb\"\nfrom = \"{east}\"\nto = \"{i}\"\nlanes = [{{ turns = \"L\" }}, {{ turns = \"TR\" }}]\n\
             [[road]]\nid = \"{i}_nb\"\nfrom = \"{i}_s\"\nto = \"{i}\"\nlanes = [{{ turns = \"LTR\" }}]\n\
             [[road]]\nid = \"{i}_sb\"\nfrom = \"{i}_n\"\nto = \"{i}\"\nlanes = [{{ turns = \"LTR\" }}]\n\
             [[road]]\nid = \"{i}_n_out\"\nfrom = \"{i}\"\nto = \"{i}_n\"\nlanes = [{{}}]\n\
             [[road]]\nid = \"{i}_s_out\"\nfrom = \"{i}\"\nto = \"{i}_s\"\nlanes = [{{}}]\n"
        );
    }
    let _ = write!(
        s,
        "[[road]]\nid = \"west_out\"\nfrom = \"{}\"\nto = \"west\"\nlanes = [{{}}, {{}}]\n\
         [[road]]\nid = \"east_out\"\nfrom = \"{}\"\nto = \"east\"\nlanes = [{{}}, {{}}]\n",
        name(0),
        name(n - 1)
    );
    s
}

/// Emulators for every intersection of `net` on loopback (OS-chosen ports) and a client pool
/// reaching them. Runs on the current tokio runtime.
pub struct Fleet {
    pub net: Arc<RoadNet>,
    pub emu: Arc<FieldEmulator>,
    pub pool: ClientPool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("network", &self.net.name)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Fleet {
    pub async fn start(net: Arc<RoadNet>, cfg: LinkConfig) -> std::io::Result<Fleet> {
        let clock: Arc<dyn Clock> = ManualClock::new(0);
        let emu = Arc::new(
            FieldEmulator::new(net.clone(), clock, |_| Box::new(IdleSource))
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        );
        let bound = emu
            .bind_all(|_| Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await?;
        let mut addrs = HashMap::new();
        let mut tasks = Vec::new();
        for (ep, listener, svc) in bound {
            addrs.insert(ep, listener.local_addr()?);
            tasks.push(tokio::spawn(async move {
                let _ = server::serve(listener, svc).await;
            }));
        }
        let pool = ClientPool::connect(&net, cfg, |ep| addrs.get(ep).copied()).await?;
        Ok(Fleet {
            net,
            emu,
            pool,
            tasks,
        })
    }

    /// Plans for every intersection: the base plan with offset `round · 10 s mod cycle`.
    pub fn plans(&self, round: u32) -> Vec<SignalPlan> {
        self.net
            .signalized()
            .map(|i| {
                let mut p = base_plan(&self.net, i.id);
                p.offset_s = ((round as f64) * 10.0) % p.cycle_s;
                p
            })
            .collect()
    }

    /// Push one verified plan to every controller; `(total, per-controller durations)`.
    pub async fn push_round(&mut self, round: u32) -> Result<(Duration, Vec<Duration>), String> {
        let plans = self.plans(round);
        let t0 = Instant::now();
        let res = self.pool.push_all(&self.net, &plans).await;
        let total = t0.elapsed();
        let mut per = Vec::with_capacity(res.len());
        for (id, r, d) in res {
            r.map_err(|e| format!("{}: {e}", self.net.intersection(id).name))?;
            per.push(d);
        }
        Ok((total, per))
    }
}

impl Fleet {
    /// Push to one controller after the other: per-controller latency without queueing.
    pub async fn push_sequential(&mut self, round: u32) -> Result<Vec<Duration>, String> {
        let plans = self.plans(round);
        let mut per = Vec::with_capacity(plans.len());
        for p in &plans {
            let link = self
                .pool
                .link(p.intersection)
                .ok_or_else(|| "no link".to_string())?;
            let t0 = Instant::now();
            link.push_plan(&self.net, p)
                .await
                .map_err(|e| format!("{}: {e}", self.net.intersection(p.intersection).name))?;
            per.push(t0.elapsed());
        }
        Ok(per)
    }
}

/// The link settings the bench uses: 16 connections per port.
pub fn bench_link_config() -> LinkConfig {
    LinkConfig {
        request_timeout: Duration::from_secs(5),
        max_connections_per_endpoint: 16,
        ..LinkConfig::default()
    }
}

/// p-th percentile (0..=100) of durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
