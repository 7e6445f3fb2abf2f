//! Detector-count replay: a CSV of counts per movement (or per stop-bar detector) per interval,
//! from a real day, turned into departures and routes whose counts reproduce the input.
//! Format: `docs/counts.md`.
//!
//! Vehicles enter on roads that start at boundary nodes; each approach's counted total per
//! interval becomes that many departures, spread over the interval with seeded jitter. At each
//! intersection a vehicle takes the movement whose share of the approach's counts is most
//! under-served so far in that interval (largest deficit; seeded tie-break), so turning shares
//! follow the counted turning ratios closely in every interval, not just on average.

use crate::demand::MAX_VEHICLES;
use crate::demand::{Demand, Trip, VehicleParams};
use crate::error::clip;
use crate::error::{ErrorKind, LoadError};
use crate::ids::*;
use crate::model::{IntersectionKind, RoadNet};
use crate::rng::SplitMix64;
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, LoadError>;

/// What a count row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CountTarget {
    Movement(MovementId),
    /// A stop-bar detector: its count is shared among the movements its lane feeds.
    Detector(DetectorId),
}

/// One row: vehicles counted on a target during `[start_s, start_s + interval_s)`.
#[derive(Clone, Debug, PartialEq)]
pub struct CountRow {
    pub start_s: f64,
    pub interval_s: f64,
    pub target: CountTarget,
    pub count: u32,
    /// 1-based line in the CSV.
    pub line: usize,
}

/// All rows of a count file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub rows: Vec<CountRow>,
}

/// Latest interval start, s: two days, so a day that runs past midnight fits (docs/counts.md).
pub const MAX_START_S: f64 = 48.0 * 3600.0;
/// Longest interval, s: one day. Counts are taken over minutes to hours; a longer interval is a
/// unit mix-up (minutes or milliseconds written as seconds).
pub const MAX_INTERVAL_S: f64 = 86_400.0;
/// Highest counted flow accepted, vehicles per hour per lane: one vehicle a second, nearly twice
/// a lane's saturation flow (~1,900 veh/h), so real counts pass with room for detector noise
/// while a typo or a unit mix-up is caught.
pub const MAX_FLOW_VEH_H_PER_LANE: f64 = 3600.0;

/// Parse a clock time `HH:MM[:SS]` or plain seconds, in `[0, MAX_START_S)`: the start of a
/// count interval, and the CLI's times of day.
pub fn parse_time_of_day(s: &str) -> Option<f64> {
    let secs = if let Ok(v) = s.parse::<f64>() {
        v
    } else {
        let parts: Vec<&str> = s.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let mut secs = 0.0;
        for (k, p) in parts.iter().enumerate() {
            let v: u32 = p.parse().ok()?;
            if k > 0 && v > 59 {
                return None;
            }
            secs += v as f64 * [3600.0, 60.0, 1.0][k];
        }
        secs
    };
    (secs.is_finite() && (0.0..MAX_START_S).contains(&secs)).then_some(secs)
}

/// 1-based line of the record the csv reader says starts at byte `offset`. The reader's own line
/// numbers skip comment and blank lines, and its offset may point at such lines before the
/// record, so count newlines and then step over them.
///
/// `cursor` carries (byte offset, newlines before it) from the previous record: the records
/// come in file order, so each newline is counted once and a file of n lines costs O(n), not
/// O(n²) (a day of counts has thousands of rows, and every run parses its count file).
fn record_line(text: &str, offset: u64, cursor: &mut (usize, usize)) -> usize {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    if offset < cursor.0 {
        *cursor = (0, 0);
    }
    cursor.1 += text.as_bytes()[cursor.0..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    cursor.0 = offset;
    let mut line = cursor.1 + 1;
    let rest = text.get(offset..).unwrap_or("");
    for l in rest.lines() {
        let l = l.trim();
        if !(l.is_empty() || l.starts_with('#')) {
            break;
        }
        line += 1;
    }
    line
}

/// Parse a count CSV held in memory against a network. Read with the `csv` crate, so quoted
/// fields, a UTF-8 byte-order mark and CRLF line ends are accepted like a plain file.
pub fn parse_counts(text: &str, file: &str, net: &RoadNet) -> Result<Counts> {
    let err = |line: usize, kind, msg: String| {
        let mut e = LoadError::new(kind, msg).in_file(file);
        e.line_col = Some((line, 1));
        e
    };
    // Spreadsheet exports often start with a byte-order mark, which would glue itself to the
    // first header name; the csv crate leaves it in place.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut cursor = (0, 0);
    let mut records = reader.records().filter_map(|r| match r {
        Ok(rec) => {
            let line = rec
                .position()
                .map_or(1, |p| record_line(text, p.byte(), &mut cursor));
            // a line of blanks or bare commas holds nothing
            (!rec.iter().all(str::is_empty)).then_some(Ok((line, rec)))
        }
        Err(e) => {
            let line = e
                .position()
                .map_or(1, |p| record_line(text, p.byte(), &mut cursor));
            Some(Err(err(line, ErrorKind::Syntax, format!("not CSV: {e}"))))
        }
    });
    let Some(first) = records.next() else {
        return Err(err(
            1,
            ErrorKind::Syntax,
            "empty count file: expected a header row".into(),
        ));
    };
    let (hline, header) = first?;
    let cols: Vec<&str> = header.iter().collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(c_start), Some(c_interval), Some(c_count)) =
        (col("start"), col("interval_s"), col("count"))
    else {
        return Err(err(
            hline,
            ErrorKind::Syntax,
            format!(
                "header must name the columns start, interval_s, count and movement or detector; got '{}'",
                clip(&cols.join(","))
            ),
        ));
    };
    let c_movement = col("movement");
    let c_detector = col("detector");
    if c_movement.is_none() && c_detector.is_none() {
        return Err(err(
            hline,
            ErrorKind::Syntax,
            "header names neither a movement nor a detector column".into(),
        ));
    }
    let roads: BTreeMap<&str, RoadId> = net.roads.iter().map(|r| (r.name.as_str(), r.id)).collect();
    let detectors: BTreeMap<&str, DetectorId> = net
        .detectors
        .iter()
        .map(|d| (d.name.as_str(), d.id))
        .collect();
    let mut rows = Vec::new();
    let mut total_vehicles: u64 = 0;
    for record in records {
        let (line, fields) = record?;
        // a row with more (non-empty) fields than the header names is a misaligned row, not
        // extra data; empty ones are a spreadsheet's trailing commas
        if fields.iter().skip(cols.len()).any(|f| !f.is_empty()) {
            return Err(err(
                line,
                ErrorKind::Syntax,
                format!(
                    "{} fields, but the header names {} columns",
                    fields.len(),
                    cols.len()
                ),
            ));
        }
        let field = |c: Option<usize>| c.and_then(|c| fields.get(c)).filter(|v| !v.is_empty());
        let get = |c: usize, name: &str| -> Result<&str> {
            field(Some(c))
                .ok_or_else(|| err(line, ErrorKind::Syntax, format!("missing field '{name}'")))
        };
        let start = get(c_start, "start")?;
        let start_s = parse_time_of_day(start).ok_or_else(|| {
            err(
                line,
                ErrorKind::BadValue,
                format!(
                    "start '{}' is not a time of day HH:MM[:SS] or seconds in [0, 48:00)",
                    clip(start)
                ),
            )
        })?;
        let interval = get(c_interval, "interval_s")?;
        let interval_s: f64 = interval
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= MAX_INTERVAL_S)
            .ok_or_else(|| {
                err(
                    line,
                    ErrorKind::BadValue,
                    format!(
                        "interval_s '{}' is not a number of seconds in (0, {MAX_INTERVAL_S}]",
                        clip(interval)
                    ),
                )
            })?;
        let count_text = get(c_count, "count")?;
        let count: u32 = count_text.parse().map_err(|_| {
            err(
                line,
                ErrorKind::BadValue,
                format!("count '{}' is not a whole number ≥ 0", clip(count_text)),
            )
        })?;
        let (target, lanes) = match (field(c_movement), field(c_detector)) {
            (Some(m), None) => {
                let found = m.rsplit_once(':').and_then(|(road, turn)| {
                    let r = *roads.get(road)?;
                    let mut cs = turn.chars();
                    let t = crate::model::TurnKind::from_letter(cs.next()?)?;
                    if cs.next().is_some() {
                        return None;
                    }
                    net.intersection(net.road(r).to)
                        .movements
                        .iter()
                        .copied()
                        .find(|x| net.movement(*x).from_road == r && net.movement(*x).turn == t)
                });
                let id = found.ok_or_else(|| {
                    err(
                        line,
                        ErrorKind::UnknownReference,
                        format!(
                            "unknown movement '{}' (write '<approach road>:<L|T|R|U>')",
                            clip(m)
                        ),
                    )
                })?;
                (CountTarget::Movement(id), net.lanes_feeding(id).len())
            }
            (None, Some(d)) => {
                let id = *detectors.get(d).ok_or_else(|| {
                    err(
                        line,
                        ErrorKind::UnknownReference,
                        format!("unknown detector '{}'", clip(d)),
                    )
                })?;
                if net.detectors[id.index()].kind != crate::sensors::DetectorKind::StopBar {
                    return Err(err(
                        line,
                        ErrorKind::BadValue,
                        format!(
                            "detector '{d}' is an advance loop; counts are taken at stop-bar loops"
                        ),
                    ));
                }
                // a loop sits on one lane
                (CountTarget::Detector(id), 1)
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    line,
                    ErrorKind::Syntax,
                    "a row names both a movement and a detector".into(),
                ))
            }
            (None, None) => {
                return Err(err(
                    line,
                    ErrorKind::Syntax,
                    "missing field 'movement' (or 'detector')".into(),
                ))
            }
        };
        let flow_veh_h_per_lane = count as f64 * 3600.0 / interval_s / lanes.max(1) as f64;
        if flow_veh_h_per_lane > MAX_FLOW_VEH_H_PER_LANE {
            return Err(err(
                line,
                ErrorKind::BadValue,
                format!(
                    "count {count} in {interval_s} s over {} lane(s) is {flow_veh_h_per_lane:.0} veh/h per lane; at most {MAX_FLOW_VEH_H_PER_LANE:.0} veh/h per lane can pass a stop line",
                    lanes.max(1)
                ),
            ));
        }
        total_vehicles += u64::from(count);
        if total_vehicles > MAX_VEHICLES {
            return Err(err(
                line,
                ErrorKind::BadValue,
                format!(
                    "the counts up to this row add up to {total_vehicles} vehicles; at most {MAX_VEHICLES} are replayed from one file"
                ),
            ));
        }
        rows.push(CountRow {
            start_s,
            interval_s,
            target,
            count,
            line,
        });
    }
    if rows.is_empty() {
        return Err(err(
            hline,
            ErrorKind::Syntax,
            "the count file has a header but no rows".into(),
        ));
    }
    Ok(Counts { rows })
}

/// Largest count file read, bytes. A row takes ~25 bytes, so this holds over two million rows —
/// far more than two days of 15-minute counts for every movement of a corridor — while a stray
/// multi-gigabyte file is refused before it is read into memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Read a count CSV.
pub fn load_counts(path: &std::path::Path, net: &RoadNet) -> Result<Counts> {
    let text = crate::input::read_text(path, MAX_FILE_BYTES, "one file per day")?;
    parse_counts(&text, &path.display().to_string(), net)
}

/// Split `total` into whole parts proportional to `weights` (largest remainder; ties to the
/// first), so the parts add up exactly.
fn apportion(total: u32, weights: &[f64]) -> Vec<u32> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() {
        return vec![];
    }
    if sum <= 0.0 {
        let mut v = vec![total / weights.len() as u32; weights.len()];
        for x in v.iter_mut().take(total as usize % weights.len()) {
            *x += 1;
        }
        return v;
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = total - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for k in order {
        if left == 0 {
            break;
        }
        parts[k] += 1;
        left -= 1;
    }
    parts
}

impl Counts {
    /// Movement counts per interval start: detector rows are shared among the movements their
    /// lane feeds (equally, as a loop cannot tell turns apart).
    pub fn movement_counts(&self, net: &RoadNet) -> BTreeMap<(u64, MovementId), u32> {
        let mut out = BTreeMap::new();
        for row in &self.rows {
            let key = row.start_s.to_bits();
            match row.target {
                CountTarget::Movement(m) => *out.entry((key, m)).or_insert(0) += row.count,
                CountTarget::Detector(d) => {
                    let lane = net.lane(net.detectors[d.index()].lane);
                    let parts = apportion(row.count, &vec![1.0; lane.feeds.len()]);
                    for (m, p) in lane.feeds.iter().zip(parts) {
                        *out.entry((key, *m)).or_insert(0) += p;
                    }
                }
            }
        }
        out
    }

    /// Turn the counts into trips (seeded; the same seed gives the same trips).
    pub fn to_demand(&self, net: &RoadNet, seed: u64, params: VehicleParams) -> Demand {
        let mut rng = SplitMix64::new(seed);
        let counts = self.movement_counts(net);
        let mut intervals: BTreeMap<u64, f64> = BTreeMap::new();
        for r in &self.rows {
            let e = intervals.entry(r.start_s.to_bits()).or_insert(r.interval_s);
            *e = e.max(r.interval_s);
        }
        // Whole-file totals per movement, for approaches with no counts in an interval.
        let mut day: BTreeMap<MovementId, u32> = BTreeMap::new();
        for ((_, m), c) in &counts {
            *day.entry(*m).or_insert(0) += c;
        }
        let mut starts: Vec<(f64, f64)> = intervals
            .iter()
            .map(|(k, v)| (f64::from_bits(*k), *v))
            .collect();
        starts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let entries: Vec<RoadId> = net
            .roads
            .iter()
            .filter(|r| {
                net.intersection(r.from).kind == IntersectionKind::Boundary
                    && net.intersection(r.to).kind != IntersectionKind::Boundary
            })
            .map(|r| r.id)
            .collect();
        let mut trips = Vec::new();
        let max_route = net.roads.len().min(64);
        for (start_s, interval_s) in starts {
            let key = start_s.to_bits();
            let count_of = |m: MovementId| counts.get(&(key, m)).copied().unwrap_or(0);
            // Movements taken so far this interval, per approach road.
            let mut taken: BTreeMap<MovementId, u32> = BTreeMap::new();
            let mut departures: Vec<(f64, RoadId)> = Vec::new();
            for &r in &entries {
                let at = net.intersection(net.road(r).to);
                let n: u32 = at
                    .movements
                    .iter()
                    .filter(|m| net.movement(**m).from_road == r)
                    .map(|m| count_of(*m))
                    .sum();
                for k in 0..n {
                    let t = start_s + (k as f64 + rng.next_f64()) * interval_s / n as f64;
                    departures.push((t, r));
                }
            }
            departures.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (t, entry) in departures {
                let mut route = vec![entry];
                let mut road = entry;
                while route.len() < max_route {
                    let at = net.intersection(net.road(road).to);
                    if at.kind == IntersectionKind::Boundary {
                        break;
                    }
                    let options: Vec<MovementId> = at
                        .movements
                        .iter()
                        .copied()
                        .filter(|m| net.movement(*m).from_road == road)
                        .collect();
                    if options.is_empty() {
                        break;
                    }
                    let mut weights: Vec<f64> =
                        options.iter().map(|m| count_of(*m) as f64).collect();
                    if weights.iter().sum::<f64>() <= 0.0 {
                        weights = options
                            .iter()
                            .map(|m| day.get(m).copied().unwrap_or(0) as f64)
                            .collect();
                    }
                    if weights.iter().sum::<f64>() <= 0.0 {
                        weights = vec![1.0; options.len()];
                    }
                    let total_w: f64 = weights.iter().sum();
                    let served: u32 = options
                        .iter()
                        .map(|m| taken.get(m).copied().unwrap_or(0))
                        .sum();
                    // Largest deficit against the counted share; ties broken by the seeded rng.
                    let mut best = Vec::new();
                    let mut best_deficit = f64::NEG_INFINITY;
                    for (k, m) in options.iter().enumerate() {
                        if weights[k] <= 0.0 {
                            continue;
                        }
                        let deficit = weights[k] / total_w * (served + 1) as f64
                            - taken.get(m).copied().unwrap_or(0) as f64;
                        if deficit > best_deficit + 1e-12 {
                            best_deficit = deficit;
                            best.clear();
                            best.push(*m);
                        } else if (deficit - best_deficit).abs() <= 1e-12 {
                            best.push(*m);
                        }
                    }
                    let m = best[rng.below(best.len())];
                    *taken.entry(m).or_insert(0) += 1;
                    road = net.movement(m).to_road;
                    route.push(road);
                }
                trips.push(Trip {
                    departure_s: t,
                    route,
                    params,
                });
            }
        }
        Demand::new(trips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(7, &[0.0, 0.0]), vec![4, 3]);
        assert_eq!(apportion(5, &[3.0, 1.0]).iter().sum::<u32>(), 5);
    }

    #[test]
    fn clock_times() {
        assert_eq!(parse_time_of_day("07:30"), Some(27000.0));
        assert_eq!(parse_time_of_day("00:00:15"), Some(15.0));
        assert_eq!(parse_time_of_day("900"), Some(900.0));
        assert_eq!(parse_time_of_day("7:75"), None);
        assert_eq!(parse_time_of_day("-5"), None);
        assert_eq!(parse_time_of_day("47:59"), Some(172_740.0));
        assert_eq!(parse_time_of_day("48:00"), None);
        assert_eq!(parse_time_of_day("inf"), None);
        assert_eq!(parse_time_of_day("NaN"), None);
    }
}
