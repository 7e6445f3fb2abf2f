//! `greenwave audit PATH`: print the audit log `greenwave run` keeps (every plan, standby plan
//! and stage request sent, and the field's verdict), one line per record or `--json` (one
//! JSON object per line). Read-only: never creates, changes or waits on the file.

use super::common::outln;
use field::central::AuditLog;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The audit log (`greenwave run --audit-log`).
    pub path: PathBuf,
    /// One JSON object per record and line, with the full plan.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let log = AuditLog::open_read_only(&args.path)?;
    for r in log.records()? {
        if args.json {
            outln!("{}", serde_json::to_string(&r)?)?;
            continue;
        }
        let what = match (r.kind.as_str(), &r.body) {
            ("stage", b) => format!("stage {}", b["stage"]),
            (kind, b) => format!(
                "{kind} seq {} checksum {:#06x} cycle {} s offset {} s",
                r.seq.unwrap_or(0),
                r.checksum.unwrap_or(0),
                b["cycle_s"],
                b["offset_s"]
            ),
        };
        let verdict = match (&r.verdict, &r.reason) {
            (None, _) => "NO VERDICT (the central stopped before it)".to_string(),
            (Some(v), None) => v.clone(),
            (Some(v), Some(why)) => format!("{v}: {why}"),
        };
        outln!(
            "{:>6}  {}  {} ({} unit {})  {what}  → {verdict}",
            r.id,
            r.sent_unix_ms,
            r.intersection,
            r.endpoint,
            r.unit
        )?;
    }
    Ok(())
}
