//! SUMO additional files (`.add.xml`): induction loops and lane-area detectors as greenwave
//! detectors and cameras, added while the network is built ([`super::load_with_additional`]).
//!
//! - `<inductionLoop>`/`<e1Detector>` (`lane`, `pos`) → a [`Detector`](crate::Detector) of
//!   [`DETECTOR_LENGTH_M`] whose downstream edge sits at `pos`; a stop-bar detector when that
//!   edge is at most [`STOP_BAR_MAX_SETBACK_M`] from the stop line, an advance detector otherwise.
//! - `<laneAreaDetector>`/`<e2Detector>` (`lane`, `pos`, `endPos` or `length`) → a
//!   [`Camera`](crate::Camera) watching that stretch of its one lane.
//!
//! Positions count from the lane's start in SUMO's lane `length` (negative: back from its end),
//! as SUMO reads them; greenwave measures distances back from the stop line on its own lane
//! length (from the shape), so a distance that would fall off greenwave's lane is clamped to it.
//! `period`, `file` and the other output settings have no counterpart (greenwave's sensors report
//! at the simulation's sensor interval) and are ignored; every other element is a note.

use super::{Cx, Result};
use crate::builder::Builder;
use crate::error::ErrorKind;
use crate::ids::{IntersectionId, LaneId};
use crate::sensors::DetectorKind;
use std::collections::{BTreeMap, BTreeSet};

/// Length given to a SUMO induction loop, metres. SUMO's e1 is a point; greenwave's loops have a
/// length, and 2 m is the default of `intersections.toml` (`detector_length_m`).
pub const DETECTOR_LENGTH_M: f64 = 2.0;

/// A loop whose downstream edge is at most this far from the stop line is a stop-bar detector,
/// metres: close enough that the first vehicle of a standing queue stands on it (a 5 m car
/// stopped at the line covers 0–5 m, the second 7.5–12.5 m with a 2.5 m gap).
pub const STOP_BAR_MAX_SETBACK_M: f64 = 10.0;

/// A car lane of the network, as the importer made it.
pub(super) struct LaneRef {
    pub lane: LaneId,
    /// SUMO's `length`, in which SUMO positions are measured, metres.
    pub sumo_length_m: f64,
    /// greenwave's length of the lane (from its shape), metres.
    pub length_m: f64,
    /// The intersection at the lane's stop line.
    pub end: IntersectionId,
}

/// Read the `<additional>` document of `cx` into `b`. `lanes` maps SUMO lane ids of imported car
/// lanes; `skipped` holds lane ids of the network that were not imported (non-car lanes).
pub(super) fn add(
    cx: &mut Cx,
    b: &mut Builder,
    lanes: &BTreeMap<String, LaneRef>,
    skipped: &BTreeSet<&str>,
) -> Result<()> {
    let root = cx.doc.root_element();
    if root.tag_name().name() != "additional" {
        return Err(cx.err(
            ErrorKind::Syntax,
            root,
            root.tag_name().name(),
            format!(
                "root element is <{}>; a SUMO additional file starts with <additional>",
                root.tag_name().name()
            ),
        ));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for el in root.children().filter(|n| n.is_element()) {
        let tag = el.tag_name().name();
        let area = match tag {
            "inductionLoop" | "e1Detector" => false,
            "laneAreaDetector" | "e2Detector" => true,
            other => {
                cx.note_at(
                    el,
                    format_args!("<{other}> not imported (greenwave reads induction loops and lane-area detectors)"),
                );
                continue;
            }
        };
        let id = cx.req(el, tag, "id")?.to_string();
        let label = format!("{tag}[{id}]");
        if !seen.insert(id.clone()) {
            return Err(cx.attr_err(
                ErrorKind::DuplicateId,
                el,
                &label,
                "id",
                format!("duplicate detector id '{id}'"),
            ));
        }
        if area && el.attribute("lanes").is_some() {
            cx.note_at(
                el,
                format_args!("{tag} '{id}': a detector over several consecutive lanes ('lanes') is not imported"),
            );
            continue;
        }
        let lane_id = cx.req(el, &label, "lane")?;
        let Some(lane) = lanes.get(lane_id) else {
            if lane_id.starts_with(':') || skipped.contains(lane_id) {
                cx.note_at(
                    el,
                    format_args!("{tag} '{id}': lane '{lane_id}' is not a car lane of a road; detector not imported"),
                );
                continue;
            }
            return Err(cx.attr_err(
                ErrorKind::UnknownReference,
                el,
                &label,
                "lane",
                format!("unknown lane '{}'", super::clip(lane_id)),
            ));
        };
        let friendly =
            el.attribute("friendlyPos") == Some("true") || el.attribute("friendlyPos") == Some("1");
        // A SUMO position along the lane (negative counts back from its end), checked against
        // SUMO's lane length as SUMO does (or clamped with friendlyPos).
        let position = |attr: &str, v: f64| -> Result<f64> {
            let l = lane.sumo_length_m;
            let p = if v < 0.0 { l + v } else { v };
            if (0.0..=l).contains(&p) {
                Ok(p)
            } else if friendly {
                Ok(p.clamp(0.0, l))
            } else {
                Err(cx.attr_err(
                    ErrorKind::BadValue,
                    el,
                    &label,
                    attr,
                    format!("'{attr}' {v} lies off lane '{lane_id}' ({l:.2} m long); set friendlyPos=\"true\" to clamp it"),
                ))
            }
        };
        let pos = position("pos", cx.opt_num(el, &label, "pos")?.unwrap_or(0.0))?;
        // Distance back from the stop line on greenwave's lane, clamped onto it.
        let back = |p: f64| (lane.sumo_length_m - p).clamp(0.0, lane.length_m);
        let origin = cx.origin(el, &label);
        if area {
            let end = match (
                cx.opt_num(el, &label, "endPos")?,
                cx.opt_num(el, &label, "length")?,
            ) {
                (Some(e), _) => position("endPos", e)?,
                (None, Some(len)) => position("length", pos + len)?,
                (None, None) => {
                    return Err(cx.attr_err(
                        ErrorKind::Syntax,
                        el,
                        &label,
                        "endPos",
                        format!("<{tag}> needs 'endPos' or 'length'"),
                    ))
                }
            };
            if end <= pos {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    el,
                    &label,
                    "endPos",
                    format!(
                        "the detector must end after it starts: pos {pos:.2} m, end {end:.2} m"
                    ),
                ));
            }
            let (near, far) = (back(end), back(pos));
            if far <= near {
                cx.note_at(
                    el,
                    format_args!("{tag} '{id}': no length left on greenwave's lane '{lane_id}'; not imported"),
                );
                continue;
            }
            b.add_camera(id, Some(lane.end), vec![lane.lane], near, far, &origin)?;
        } else {
            let setback = back(pos).min((lane.length_m - DETECTOR_LENGTH_M).max(0.0));
            let kind = if setback <= STOP_BAR_MAX_SETBACK_M {
                DetectorKind::StopBar
            } else {
                DetectorKind::Advance
            };
            let length = DETECTOR_LENGTH_M.min(lane.length_m);
            b.add_detector(id, lane.lane, kind, setback, length, &origin)?;
        }
    }
    Ok(())
}
