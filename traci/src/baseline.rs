//! SUMO on its own, with its own signal logics: the baselines greenwave's controllers are
//! compared against (docs/sumo.md, "Comparing with SUMO's own logics").
//!
//! The same network, routes, additional files, seed and step length as a TraCI run; only the
//! traffic lights differ. `static` runs the network's programmes as they are. `actuated` and
//! `delay_based` rebuild every traffic light with SUMO's own tool and SUMO's defaults:
//! `netconvert -s net --tls.rebuild --tls.default-type <logic>` (same phase layout, green phases
//! get `minDur` 5 s and `maxDur` 50 s, netconvert's `--tls.min-dur`/`--tls.max-dur` defaults),
//! and SUMO then places its own detectors for them at run time, with every parameter at SUMO's
//! default (no `<param>` is written): actuated logics get an induction loop per lane
//! `detector-gap` (2 s) of driving upstream of the stop line and extend a green while vehicles
//! follow each other within `max-gap` (3 s); delay_based logics get a lane-area detector per
//! lane and extend a green while the approaching vehicles accumulate time loss.

use crate::client::SumoProcess;
use crate::tripinfo::{self, TripSummary};
use crate::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// SUMO's own signal logics a baseline can use.
pub const LOGICS: [&str; 3] = ["static", "actuated", "delay_based"];

/// One baseline run to make.
#[derive(Debug, Clone)]
pub struct BaselineOptions {
    /// The `sumo` binary; `netconvert` is looked for beside it, then on `PATH`.
    pub sumo: PathBuf,
    pub net: PathBuf,
    pub routes: PathBuf,
    pub additional: Option<PathBuf>,
    /// `static`, `actuated` or `delay_based`.
    pub logic: String,
    pub seed: u64,
    /// SUMO's `--end`, s (the run also ends when every vehicle has arrived).
    pub duration_s: f64,
    pub dt_s: f64,
    /// Folder for the rebuilt network, SUMO's log, tripinfo and statistics.
    pub work_dir: PathBuf,
}

/// What a baseline run measured, from SUMO's own outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineOutcome {
    pub logic: String,
    /// Vehicles SUMO inserted, and how many were still running at the end.
    pub inserted: u64,
    pub running: u64,
    /// Teleports of any cause (`--statistic-output`, `<teleports total>`).
    pub teleports: u64,
    pub trips: TripSummary,
}

/// A started baseline: SUMO running by itself. [`Baseline::finish`] waits and reads its outputs;
/// dropping it kills and reaps the process.
#[derive(Debug)]
pub struct Baseline {
    opts: BaselineOptions,
    process: SumoProcess,
}

/// `netconvert` beside `sumo` (the PyPI package and SUMO's installs keep them together), else
/// on `PATH`.
fn netconvert(sumo: &Path) -> PathBuf {
    let name = if cfg!(windows) {
        "netconvert.exe"
    } else {
        "netconvert"
    };
    let sibling = sumo.with_file_name(name);
    if sibling.is_file() {
        sibling
    } else {
        PathBuf::from(name)
    }
}

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// Start one baseline: for `actuated`/`delay_based` first rebuild the network's traffic lights
/// (waits for netconvert), then start SUMO and return without waiting for it.
pub fn start(opts: &BaselineOptions) -> Result<Baseline, Error> {
    if !LOGICS.contains(&opts.logic.as_str()) {
        return Err(Error::Setup(format!(
            "unknown SUMO signal logic '{}' (known: {})",
            opts.logic,
            LOGICS.join(", ")
        )));
    }
    if !(opts.dt_s > 0.0 && opts.duration_s >= opts.dt_s) {
        return Err(Error::Setup(format!(
            "need 0 < step ({} s) ≤ duration ({} s)",
            opts.dt_s, opts.duration_s
        )));
    }
    std::fs::create_dir_all(&opts.work_dir)
        .map_err(|e| Error::Setup(format!("{}: {e}", opts.work_dir.display())))?;
    let file = |suffix: &str| opts.work_dir.join(format!("{}.{suffix}", opts.logic));
    let net = if opts.logic == "static" {
        opts.net.clone()
    } else {
        let rebuilt = file("net.xml");
        let args = vec![
            "-s".to_string(),
            path_arg(&opts.net),
            "--tls.rebuild".into(),
            "--tls.default-type".into(),
            opts.logic.clone(),
            "--no-warnings".into(),
            "-o".into(),
            path_arg(&rebuilt),
        ];
        SumoProcess::spawn_alone(&netconvert(&opts.sumo), &args, &file("netconvert.log"))?
            .wait_for(Duration::from_secs(300))?;
        rebuilt
    };
    let mut args = vec![
        "-n".to_string(),
        path_arg(&net),
        "-r".into(),
        path_arg(&opts.routes),
    ];
    if let Some(a) = &opts.additional {
        args.extend(["--additional-files".into(), path_arg(a)]);
    }
    args.extend([
        "--seed".into(),
        opts.seed.to_string(),
        "--step-length".into(),
        opts.dt_s.to_string(),
        "--end".into(),
        opts.duration_s.to_string(),
        "--no-step-log".into(),
        "true".into(),
        "--collision.action".into(),
        "warn".into(),
        "--tripinfo-output".into(),
        path_arg(&file("tripinfo.xml")),
        "--statistic-output".into(),
        path_arg(&file("stats.xml")),
    ]);
    let process = SumoProcess::spawn_alone(&opts.sumo, &args, &file("sumo.log"))?;
    Ok(Baseline {
        opts: opts.clone(),
        process,
    })
}

impl Baseline {
    /// Wait for SUMO (at most `timeout`) and summarise its tripinfo and statistics.
    pub fn finish(self, timeout: Duration) -> Result<BaselineOutcome, Error> {
        self.process.wait_for(timeout)?;
        let file = |suffix: &str| {
            self.opts
                .work_dir
                .join(format!("{}.{suffix}", self.opts.logic))
        };
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p)
                .map_err(|e| Error::Tripinfo(format!("{}: {e}", p.display())))
        };
        let trips = tripinfo::summarise(&read(file("tripinfo.xml"))?)?;
        let stats = read(file("stats.xml"))?;
        let (inserted, running, teleports) = statistics(&stats)?;
        Ok(BaselineOutcome {
            logic: self.opts.logic.clone(),
            inserted,
            running,
            teleports,
            trips,
        })
    }
}

/// (inserted, running, teleports) from SUMO's `--statistic-output`.
fn statistics(text: &str) -> Result<(u64, u64, u64), Error> {
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| Error::Tripinfo(format!("statistic output: {e}")))?;
    let get = |tag: &str, attr: &str| -> Result<u64, Error> {
        doc.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.attribute(attr))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Tripinfo(format!("statistic output: no <{tag} {attr}=…>")))
    };
    Ok((
        get("vehicles", "inserted")?,
        get("vehicles", "running")?,
        get("teleports", "total")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sumo_statistics() {
        // the shape SUMO 1.28 writes (abridged)
        let x = r#"<statistics>
            <performance clockBegin="1" clockEnd="2"/>
            <vehicles loaded="4670" inserted="4669" running="3" waiting="1"/>
            <teleports total="2" jam="1" yield="1" wrongLane="0"/>
        </statistics>"#;
        assert_eq!(statistics(x).unwrap(), (4669, 3, 2));
        assert!(statistics("<statistics><vehicles inserted=\"1\"/></statistics>").is_err());
        assert!(statistics("<statistics>").is_err());
    }

    #[test]
    fn unknown_logic_is_refused() {
        let opts = BaselineOptions {
            sumo: "sumo".into(),
            net: "n.net.xml".into(),
            routes: "r.rou.xml".into(),
            additional: None,
            logic: "NEMA".into(),
            seed: 0,
            duration_s: 10.0,
            dt_s: 1.0,
            work_dir: std::env::temp_dir(),
        };
        let e = start(&opts).unwrap_err().to_string();
        assert!(e.contains("unknown SUMO signal logic 'NEMA'"), "{e}");
    }
}
