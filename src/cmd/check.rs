//! `greenwave check`: validate a network and print what it holds.

use super::common::{out, outln};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// An intersections.toml, a CityFlow roadnet .json or a SUMO .net.xml.
    pub network: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

use anyhow::Context as _;

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (net, notes) = roadnet::load_network_with_notes(&args.network)?;
    // What `greenwave field` and `run` would refuse, refused here with the same message: the
    // field units are built exactly as the emulator builds them (register-map limits — stages,
    // signal groups, detectors — one unit id per port, the local plan's own checks).
    let net = std::sync::Arc::new(net);
    if net.signalized().any(|i| i.controller.is_some()) {
        let clock: std::sync::Arc<dyn field::Clock> = field::ManualClock::new(0);
        field::FieldEmulator::new(net.clone(), clock, |_| Box::new(field::IdleSource))
            .with_context(|| args.network.display().to_string())?;
    }
    let summary = roadnet::Summary::of(&net);
    if args.json {
        outln!("{}", serde_json::to_string(&summary)?)?;
        // Notes (what an imported network holds that greenwave does not model) stay off stdout.
        notes.iter().for_each(|n| eprintln!("{n}"));
    } else {
        out!("{summary}")?;
        for n in &notes {
            outln!("{n}")?;
        }
    }
    Ok(())
}
