//! Count replay: the bundled day of counts turns into trips that reproduce it, and malformed
//! count files name the line at fault.

use roadnet::counts::{load_counts, parse_counts};
use roadnet::{load_network, ErrorKind, IntersectionKind, MovementId, VehicleParams};
use std::collections::BTreeMap;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn bundled_day_reproduces_its_counts() {
    let net = load_network(&root().join("intersections.toml")).unwrap();
    let counts = load_counts(&root().join("data/main_street_counts.csv"), &net).unwrap();
    assert_eq!(counts.rows.len(), 96 * 84);
    let demand = counts.to_demand(&net, 7, VehicleParams::default());
    let per_movement = counts.movement_counts(&net);

    // Replayed movements at the first intersection of every route, per 15-minute interval.
    let mut replayed: BTreeMap<(u64, MovementId), u32> = BTreeMap::new();
    for trip in &demand.trips {
        let start = (trip.departure_s / 900.0).floor() * 900.0;
        if trip.route.len() >= 2 {
            let m = net.movement_between(trip.route[0], trip.route[1]).unwrap();
            *replayed.entry((start.to_bits(), m)).or_insert(0) += 1;
        }
        assert!(trip.departure_s >= 0.0 && trip.departure_s < 86_400.0);
        // Every route ends where traffic leaves the model.
        let last = net.road(*trip.route.last().unwrap());
        assert_eq!(net.intersection(last.to).kind, IntersectionKind::Boundary);
    }
    let mut entry_movements = 0;
    for ((start, m), &count) in &per_movement {
        let from = net.road(net.movement(*m).from_road);
        if net.intersection(from.from).kind != IntersectionKind::Boundary {
            continue;
        }
        // Entry approaches: every counted vehicle departs, and its first turn follows the count.
        let got = replayed.get(&(*start, *m)).copied().unwrap_or(0);
        assert!(
            got.abs_diff(count) <= 1,
            "{}: counted {count}, replayed {got}",
            net.movement_label(*m)
        );
        entry_movements += 1;
    }
    assert!(entry_movements > 1000);
    let entry_total: u32 = per_movement
        .iter()
        .filter(|((_, m), _)| {
            net.intersection(net.road(net.movement(*m).from_road).from)
                .kind
                == IntersectionKind::Boundary
        })
        .map(|(_, c)| c)
        .sum();
    assert_eq!(demand.trips.len() as u32, entry_total);

    // Interior approaches: turning shares over the day follow the counts within 2 points.
    let mut day_counted: BTreeMap<MovementId, u32> = BTreeMap::new();
    for ((_, m), c) in &per_movement {
        *day_counted.entry(*m).or_insert(0) += c;
    }
    let mut day_replayed: BTreeMap<MovementId, u32> = BTreeMap::new();
    for trip in &demand.trips {
        for w in trip.route.windows(2) {
            *day_replayed
                .entry(net.movement_between(w[0], w[1]).unwrap())
                .or_insert(0) += 1;
        }
    }
    let elm_eb = net.road_by_name("main_eb_pine").unwrap();
    let at = net.intersection(net.road(elm_eb).to);
    let mvs: Vec<MovementId> = at
        .movements
        .iter()
        .copied()
        .filter(|m| net.movement(*m).from_road == elm_eb)
        .collect();
    let tot_c: u32 = mvs.iter().map(|m| day_counted[m]).sum();
    let tot_r: u32 = mvs.iter().map(|m| day_replayed[m]).sum();
    for m in mvs {
        let (sc, sr) = (
            day_counted[&m] as f64 / tot_c as f64,
            day_replayed[&m] as f64 / tot_r as f64,
        );
        assert!(
            (sc - sr).abs() < 0.02,
            "{}: counted share {sc:.3}, replayed {sr:.3}",
            net.movement_label(m)
        );
    }
    // Arterial volume arriving at an interior approach matches its count within 3 %.
    let ratio = tot_r as f64 / tot_c as f64;
    assert!(
        (ratio - 1.0).abs() < 0.03,
        "interior approach volume ratio {ratio:.3}"
    );
}

#[test]
fn same_seed_same_trips() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let csv = "start,interval_s,movement,count\n00:00,900,a_eb:T,30\n00:00,900,a_eb:L,5\n00:15,900,a_nb:R,7\n";
    let counts = parse_counts(csv, "c.csv", &net).unwrap();
    let a = counts.to_demand(&net, 1, VehicleParams::default());
    let b = counts.to_demand(&net, 1, VehicleParams::default());
    assert_eq!(a, b);
    assert_eq!(a.trips.len(), 42);
    let c = counts.to_demand(&net, 2, VehicleParams::default());
    assert_ne!(a, c);
}

#[test]
fn detector_rows_are_shared_among_the_lanes_movements() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let csv = "start,interval_s,detector,count\n0,600,a_eb_stop,10\n";
    let counts = parse_counts(csv, "c.csv", &net).unwrap();
    let per = counts.movement_counts(&net);
    // a_eb lane 1 is marked TR: ten vehicles become five through and five right.
    assert_eq!(per.values().copied().collect::<Vec<_>>(), vec![5, 5]);
}

#[test]
fn malformed_count_files_name_the_line() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let cases = [
        (
            "start,interval_s,movement,count\n00:00,900,a_eb:T\n",
            2,
            ErrorKind::Syntax,
            "missing field 'count'",
        ),
        (
            "start,interval_s,movement,count\n00:00,900,a_eb:T,12\n00:15,900,a_zz:T,3\n",
            3,
            ErrorKind::UnknownReference,
            "unknown movement 'a_zz:T'",
        ),
        (
            "start,interval_s,movement,count\n00:00,900,a_eb:T,-4\n",
            2,
            ErrorKind::BadValue,
            "count '-4'",
        ),
        (
            "start,interval_s,movement,count\n25:99,900,a_eb:T,4\n",
            2,
            ErrorKind::BadValue,
            "start '25:99'",
        ),
        (
            "start,interval_s,movement,count\n00:00,0,a_eb:T,4\n",
            2,
            ErrorKind::BadValue,
            "interval_s '0'",
        ),
        (
            "start,interval_s,count\n00:00,900,4\n",
            1,
            ErrorKind::Syntax,
            "neither a movement nor a detector",
        ),
        (
            "when,how_long,what,n\n",
            1,
            ErrorKind::Syntax,
            "header must name",
        ),
        (
            "# only a comment\n",
            1,
            ErrorKind::Syntax,
            "empty count file",
        ),
        (
            "start,interval_s,detector,count\n0,900,a_eb_adv,4\n",
            2,
            ErrorKind::BadValue,
            "advance loop",
        ),
        (
            "start,interval_s,movement,count\n00:00,900,a_eb:X,4\n",
            2,
            ErrorKind::UnknownReference,
            "unknown movement",
        ),
    ];
    for (text, line, kind, phrase) in cases {
        let err = parse_counts(text, "day.csv", &net).unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert_eq!(err.line_col.map(|l| l.0), Some(line), "{err}");
        assert!(err.message.contains(phrase), "{err}");
        assert!(
            err.to_string().starts_with(&format!("day.csv:{line}:")),
            "{err}"
        );
    }
}

/// The same rows read from a plain file and from its quoted, BOM-prefixed and CRLF variants.
#[test]
fn quoting_bom_and_crlf_read_like_the_plain_file() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let plain =
        "# a comment\nstart,interval_s,movement,count\n00:00,900,a_eb:T,30\n\n00:15,900,a_nb:R,7\n";
    let want = parse_counts(plain, "c.csv", &net).unwrap();
    assert_eq!(want.rows.len(), 2);
    let variants = [
        (
            "quoted",
            "# a comment\n\"start\",\"interval_s\",\"movement\",\"count\"\n\"00:00\",\"900\",\"a_eb:T\",\"30\"\n\n\"00:15\", 900 ,\"a_nb:R\",\"7\"\n".to_string(),
        ),
        ("bom", format!("\u{feff}{plain}")),
        ("crlf", plain.replace('\n', "\r\n")),
        ("all three", format!("\u{feff}{}", plain.replace('\n', "\r\n").replace("a_eb:T", "\"a_eb:T\""))),
    ];
    for (name, text) in variants {
        let got = parse_counts(&text, "c.csv", &net).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
    }
}

/// Counts out of their physical range are refused with the file and line, before any trip is made.
#[test]
fn out_of_range_counts_are_refused_with_the_line() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let header = "start,interval_s,detector,count\n";
    // 12 rows of a full day at 3,600 veh/h on one lane pass the flow check but add up to
    // over a million vehicles: the 12th row (line 13) crosses the cap.
    let many = format!("{header}{}", "0,86400,a_eb_stop,86400\n".repeat(12));
    let cases = [
        (
            format!("{header}0,900,a_eb_stop,100000000\n"),
            2,
            "veh/h per lane",
        ),
        (many, 13, "at most 1000000"),
        (
            format!("{header}0,900000,a_eb_stop,4\n"),
            2,
            "interval_s '900000'",
        ),
        (
            format!("{header}48:00,900,a_eb_stop,4\n"),
            2,
            "start '48:00'",
        ),
        (format!("{header}inf,900,a_eb_stop,4\n"), 2, "start 'inf'"),
        (
            format!("{header}0,NaN,a_eb_stop,4\n"),
            2,
            "interval_s 'NaN'",
        ),
        (
            format!("{header}0,900,a_eb_stop,99999999999\n"),
            2,
            "count '99999999999'",
        ),
        // a quoted field keeps its line, and a CRLF file counts lines the same
        (
            format!("{header}0,900,\"a_eb_stop\",\"x\"\r\n").replace('\n', "\r\n"),
            2,
            "count 'x'",
        ),
        (
            format!("\u{feff}{header}\n\n0,900,a_eb_stop,-1\n"),
            4,
            "count '-1'",
        ),
    ];
    for (text, line, phrase) in cases {
        let err = parse_counts(&text, "day.csv", &net).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadValue, "{err}");
        assert!(err.message.contains(phrase), "'{phrase}' missing: {err}");
        assert!(
            err.to_string().starts_with(&format!("day.csv:{line}:")),
            "line {line} expected: {err}"
        );
    }
}

/// A count file over the size cap is refused before it is read into memory.
#[test]
fn an_oversized_count_file_is_refused_unread() {
    let net = load_network(&root().join("tests/fixtures/small.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("roadnet-counts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.csv");
    // sparse: no disk is written for the hole
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(roadnet::counts::MAX_FILE_BYTES + 1).unwrap();
    drop(f);
    let err = load_counts(&path, &net).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(err.kind, ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("huge.csv"), "{err}");
    assert!(err.message.contains("at most 64 MiB is read"), "{err}");
}
