//! `greenwave check`: validate a network and print what it holds.

use super::common::{out, outln};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// An intersections.toml or a CityFlow roadnet .json.
    pub network: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let net = roadnet::load_network(&args.network)?;
    let summary = roadnet::Summary::of(&net);
    if args.json {
        outln!("{}", serde_json::to_string(&summary)?)?;
    } else {
        out!("{summary}")?;
    }
    Ok(())
}
