//! The malformed-input sweep (issue 12): every input below is run through the real `greenwave`
//! binary, one child at a time, and each must
//!
//! - **exit** with status 1 (a refused input) or 2 (a usage error) — a normal exit, not a
//!   signal (a panic that aborts, a stack overflow, an out-of-memory kill);
//! - **not hang**: a child still running after [`HANG_AFTER`] is killed (its whole process
//!   group) and counts as a failure — a hang detector, not a timing assertion;
//! - print **one error line**: exactly one stderr line starts with `error` (main's `error: …` or
//!   clap's `error: …`), it names the file or the flag (the case's `names`), it is at most
//!   [`MAX_ERROR_LINE_BYTES`] long (echoed values are truncated), and no other line is more than
//!   a log line (tracing's `WARN`/`INFO` lines, which `field`/`run` print before they load
//!   anything); no `panicked`, `RUST_BACKTRACE` or `stack backtrace` anywhere;
//! - stay under [`MAX_PEAK_RSS_KB`] of **peak resident memory**, measured by running the child
//!   under GNU `/usr/bin/time -f %M` (the kernel's `ru_maxrss` of the child, read by `wait4`).
//!   Where `/usr/bin/time` is missing the sweep says so loudly on stderr and checks the rest.
//!
//! Most inputs are generated here in a temporary directory (a table of cases); the hand-written
//! malformed fixtures of `tests/fixtures/bad/` and the malformed SUMO seeds of the fuzz corpus
//! are swept too. A summary table (inputs, largest peak RSS, slowest) is printed; the figures
//! are in the README.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A child still running after this long is hung (the slowest input takes well under 2 s on an
/// idle machine; the margin is for a machine shared by several builds).
const HANG_AFTER: Duration = Duration::from_secs(60);
/// Peak resident memory allowed for any refused input, KiB (issue 12: < 100 MB).
const MAX_PEAK_RSS_KB: u64 = 100_000;
/// The longest error line allowed, bytes: a value quoted in an error is cut, never echoed whole.
const MAX_ERROR_LINE_BYTES: usize = 1_000;
/// GNU time, which reports the child's peak RSS (`%M`, KiB) without any `unsafe` here.
const GNU_TIME: &str = "/usr/bin/time";

/// One malformed input: the arguments after `greenwave`, and what the error line must name.
struct Case {
    label: String,
    args: Vec<std::ffi::OsString>,
    /// Text the error line must contain: the file's name or the flag.
    names: String,
}

/// What one run showed.
struct Outcome {
    peak_rss_kb: Option<u64>,
    elapsed: Duration,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bundled(rel: &str) -> String {
    root().join(rel).to_str().expect("UTF-8 path").to_owned()
}

/// A small deterministic generator (xorshift64*), for the binary-garbage inputs.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

struct Sweep {
    dir: PathBuf,
    cases: Vec<Case>,
}

impl Sweep {
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, bytes).expect("write sweep input");
        p
    }

    /// A file of `len` bytes of zeros without writing them (sparse), for the size caps.
    fn sized(&self, name: &str, len: u64) -> PathBuf {
        let p = self.dir.join(name);
        fs::File::create(&p)
            .and_then(|f| f.set_len(len))
            .expect("size sweep input");
        p
    }

    fn case(&mut self, label: impl Into<String>, args: &[&std::ffi::OsStr], names: &str) {
        self.cases.push(Case {
            label: label.into(),
            args: args.iter().map(|a| a.to_os_string()).collect(),
            names: names.to_owned(),
        });
    }

    /// `greenwave check <path>`; the error must name the file.
    fn check(&mut self, label: &str, path: &Path) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.case(
            format!("check {label}"),
            &["check".as_ref(), path.as_os_str()],
            &name,
        );
    }

    /// `greenwave sim` of the bundled network with `demand`; the error must name the file.
    fn sim_demand(&mut self, label: &str, demand: &Path) {
        let name = demand.file_name().unwrap().to_string_lossy().into_owned();
        let net = bundled("intersections.toml");
        self.case(
            format!("sim --demand {label}"),
            &[
                "sim".as_ref(),
                "--network".as_ref(),
                net.as_ref(),
                "--demand".as_ref(),
                demand.as_os_str(),
                "--duration".as_ref(),
                "60".as_ref(),
            ],
            &name,
        );
    }

    /// A command line with one bad flag; the error must name `flag`.
    fn flag(&mut self, args: &[&str], flag: &str) {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        self.case(args.join(" "), &os, flag);
    }
}

/// Network files: TOML, CityFlow JSON and SUMO XML, each malformed one way, through `check`.
fn networks(s: &mut Sweep) {
    let toml = fs::read_to_string(root().join("intersections.toml")).unwrap();
    let small = fs::read_to_string(root().join("tests/fixtures/small.toml")).unwrap();
    let cityflow = fs::read_to_string(root().join("tests/fixtures/cityflow_one.json")).unwrap();
    let sumo = fs::read_to_string(root().join("fuzz/corpus/sumo_net/tiny.net.xml")).unwrap();

    // the kinds of file that are not a network at all, for each format
    for ext in ["toml", "json", "net.xml"] {
        let p = s.file(&format!("empty.{ext}"), "");
        s.check(&format!("empty .{ext}"), &p);
        let p = s.file(&format!("blank.{ext}"), "\n \t\n\n");
        s.check(&format!("whitespace-only .{ext}"), &p);
        let p = s.file(&format!("garbage.{ext}"), garbage(7, 4096));
        s.check(&format!("binary garbage .{ext}"), &p);
        let p = s.file(&format!("nul.{ext}"), [0u8; 64]);
        s.check(&format!("NUL bytes .{ext}"), &p);
        let mut bad_utf8 = b"name = \"x\"\n# caf".to_vec();
        bad_utf8.extend([0xc3, 0x28, b'\n']);
        let p = s.file(&format!("bad_utf8.{ext}"), bad_utf8);
        s.check(&format!("bad UTF-8 .{ext}"), &p);
        let p = s.sized(&format!("over_cap.{ext}"), 200 << 20);
        s.check(&format!("200 MiB .{ext} (over every cap)"), &p);
        let p = s.dir.join(format!("missing.{ext}"));
        s.check(&format!("missing .{ext}"), &p);
        let d = s.dir.join(format!("a_directory.{ext}"));
        fs::create_dir_all(&d).unwrap();
        s.check(&format!("a directory .{ext}"), &d);
        let fifo = s.dir.join(format!("fifo.{ext}"));
        let made = Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|st| st.success()), "mkfifo {fifo:?}");
        s.check(&format!("a FIFO .{ext}"), &fifo);
        // a loop of symbolic links
        let a = s.dir.join(format!("loop_a.{ext}"));
        let b = s.dir.join(format!("loop_b.{ext}"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        s.check(&format!("a symlink loop .{ext}"), &a);
        // unreadable; as root the mode is ignored, so the content is garbage as well: either
        // way the file is refused by name
        let p = s.file(&format!("unreadable.{ext}"), "=== not a network ===");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        s.check(&format!("mode 000 .{ext}"), &p);
    }
    s.case(
        "check /dev/zero",
        &["check".as_ref(), "/dev/zero".as_ref()],
        "/dev/zero",
    );
    s.case(
        "check /dev/urandom",
        &["check".as_ref(), "/dev/urandom".as_ref()],
        "/dev/urandom",
    );
    s.case(
        "check /dev/stdin",
        &["check".as_ref(), "/dev/stdin".as_ref()],
        "/dev/stdin",
    );
    // a file name that is not UTF-8
    let odd = s
        .dir
        .join(std::ffi::OsStr::from_bytes(b"bad_name_\xff.toml"));
    fs::write(&odd, "garbage = [").unwrap();
    s.check("a non-UTF-8 file name", &odd);
    // an unknown extension
    let p = s.file("network.yaml", &small);
    s.check("an unknown extension", &p);

    // intersections.toml: truncated mid-token, at several points
    for (i, frac) in [0.05, 0.33, 0.5, 0.77, 0.98].iter().enumerate() {
        let mut cut = (toml.len() as f64 * frac) as usize;
        while !toml.is_char_boundary(cut) {
            cut -= 1;
        }
        // cut inside a quoted id so the rest of the line is lost: `id = "ma`
        let text = format!("{}\nid = \"unterminated", &toml[..cut]);
        let p = s.file(&format!("truncated_{i}.toml"), text);
        s.check(&format!("intersections.toml truncated at {frac}"), &p);
    }
    // intersections.toml: numbers out of physical range, one field at a time
    let numeric: &[(&str, &str, &str)] = &[
        ("yellow_s = 4.0", "yellow_s = 1e300", "yellow 1e300"),
        ("yellow_s = 4.0", "yellow_s = nan", "yellow NaN"),
        ("yellow_s = 4.0", "yellow_s = inf", "yellow inf"),
        ("yellow_s = 4.0", "yellow_s = -4.0", "yellow negative"),
        ("yellow_s = 4.0", "yellow_s = 0.0", "yellow zero"),
        ("yellow_s = 4.0", "yellow_s = \"4\"", "yellow a string"),
        ("yellow_s = 4.0", "yellow_s = [4.0]", "yellow an array"),
        ("all_red_s = 2.0", "all_red_s = -1.0", "all-red negative"),
        ("all_red_s = 2.0", "all_red_s = 1e308", "all-red huge"),
        (
            "lane_width_m = 3.5",
            "lane_width_m = 0.0",
            "lane width zero",
        ),
        ("lane_width_m = 3.5", "lane_width_m = 1e9", "lane width 1e9"),
        (
            "speed_limit_m_s = 13.89",
            "speed_limit_m_s = 0.0",
            "speed zero",
        ),
        (
            "speed_limit_m_s = 13.89",
            "speed_limit_m_s = 3e8",
            "speed 3e8",
        ),
        (
            "speed_limit_m_s = 13.89",
            "speed_limit_m_s = nan",
            "speed NaN",
        ),
        (
            "intersection_width_m = 18.0",
            "intersection_width_m = -18.0",
            "width negative",
        ),
        (
            "intersection_width_m = 18.0",
            "intersection_width_m = 1e300",
            "width huge",
        ),
        (
            "detector_length_m = 2.0",
            "detector_length_m = 0.0",
            "detector length zero",
        ),
        (
            "detector_length_m = 2.0",
            "detector_length_m = 1e9",
            "detector length 1e9",
        ),
        ("x_m = -400.0", "x_m = nan", "coordinate NaN"),
        ("x_m = -400.0", "x_m = 1e300", "coordinate 1e300"),
        ("y_m = 0.0", "y_m = -inf", "coordinate -inf"),
        ("port = 5", "port = 99999", "port 99999"),
        ("port = 5", "port = -1", "port negative"),
        ("unit_id = 1", "unit_id = 300", "unit id 300"),
        (
            "unit_id = 1",
            "unit_id = 18446744073709551616",
            "unit id above 2^64",
        ),
        ("name = \"Main", "name = 12 #", "name a number"),
    ];
    for (i, (from, to, label)) in numeric.iter().enumerate() {
        assert!(toml.contains(from), "intersections.toml has no '{from}'");
        let p = s.file(&format!("num_{i}.toml"), toml.replacen(from, to, 1));
        s.check(&format!("intersections.toml {label}"), &p);
    }
    // [defaults] that every entry overrides are still checked where they are written
    let defaults: &[(&str, &str, &str)] = &[
        (
            "min_green_s = 7.0",
            "min_green_s = -7.0",
            "min green negative",
        ),
        ("yellow_s = 4.0", "yellow_s = 1.0", "yellow 1 s"),
        ("all_red_s = 2.0", "all_red_s = inf", "all-red infinite"),
        (
            "lane_width_m = 3.5",
            "lane_width_m = 350.0",
            "lane width 350 m",
        ),
        (
            "speed_limit_m_s = 13.89",
            "speed_limit_m_s = -13.89",
            "speed limit negative",
        ),
    ];
    for (i, (from, to, label)) in defaults.iter().enumerate() {
        let at = toml
            .find("[defaults]")
            .expect("intersections.toml has [defaults]");
        let (head, tail) = toml.split_at(at);
        assert!(tail.contains(from), "[defaults] has no '{from}'");
        let p = s.file(
            &format!("defaults_{i}.toml"),
            format!("{head}{}", tail.replacen(from, to, 1)),
        );
        s.check(&format!("[defaults] {label}"), &p);
    }
    // a stage's own times (the bundled file's stages override [defaults] for these)
    let stage: &[(&str, &str, &str)] = &[
        (
            "min_green_s = 10.0",
            "min_green_s = -7.0",
            "min green negative",
        ),
        ("min_green_s = 10.0", "min_green_s = nan", "min green NaN"),
        ("max_green_s = 50.0", "max_green_s = 1e12", "max green 1e12"),
        ("max_green_s = 50.0", "max_green_s = -inf", "max green -inf"),
        ("yellow_s = 4.0", "yellow_s = 1e300", "yellow 1e300"),
    ];
    for (i, (from, to, label)) in stage.iter().enumerate() {
        assert!(small.contains(from), "small.toml has no '{from}'");
        let p = s.file(&format!("stage_{i}.toml"), small.replacen(from, to, 1));
        s.check(&format!("a stage's {label}"), &p);
    }
    // one array of 4 million elements (8 MiB, under the size cap)
    let p = s.file(
        "long_array.toml",
        format!("a = [{}1]\n", "1,".repeat(4_000_000)),
    );
    s.check("an array of 4 million numbers", &p);
    // deep nesting: arrays and inline tables 100,000 deep (a recursive parser would overflow
    // its stack and abort)
    let deep = 100_000;
    let p = s.file(
        "deep_arrays.toml",
        format!("a = {}{}\n", "[".repeat(deep), "]".repeat(deep)),
    );
    s.check("arrays nested 10^5 deep", &p);
    let p = s.file(
        "deep_tables.toml",
        format!("a = {}{}\n", "{ b = ".repeat(deep), "}".repeat(deep)),
    );
    s.check("inline tables nested 10^5 deep", &p);
    let p = s.file(
        "deep_dotted.toml",
        format!("{} = 1\n", vec!["a"; deep].join(".")),
    );
    s.check("a dotted key 10^5 deep", &p);
    // huge element counts, under the size cap: 200,000 intersections with no roads
    let mut many = String::from("name = \"many\"\n");
    for i in 0..200_000 {
        let _ = writeln!(many, "[[intersection]]\nid = \"n{i}\"\nx_m = 0\ny_m = 0");
    }
    let p = s.file("many_intersections.toml", many);
    s.check("200,000 intersections", &p);
    // a 12 MiB string value (under the 16 MiB cap) in a field that is refused: not echoed
    let p = s.file(
        "huge_value.toml",
        small.replacen(
            "id = \"EW\"",
            &format!("id = \"{}\"", "E".repeat(12 << 20)),
            1,
        ),
    );
    s.check("a 12 MiB signal-group id", &p);
    // just under the cap: a comment of 16 MiB - 1 KiB, then garbage
    let mut near = "#".repeat((16 << 20) - 1024);
    near.push_str("\n[[[oops\n");
    let p = s.file("near_cap.toml", near);
    s.check("a file just under the 16 MiB cap", &p);
    let p = s.sized("just_over_cap.toml", (16 << 20) + 1);
    s.check("a file one byte over the 16 MiB cap", &p);
    // an empty network is not OK
    let p = s.file("only_name.toml", "name = \"nothing here\"\n");
    s.check("a network without intersections", &p);
    // the field would refuse these: check must too
    let p = s.file(
        "duplicate_unit.toml",
        small.replace("port = 5102", "port = 5101"),
    );
    if small.contains("port = 5102") {
        s.check("two controllers on one port and unit id", &p);
    }

    // CityFlow road networks
    let cf: &[(&str, String)] = &[
        ("an array", "[]".into()),
        ("a number", "42".into()),
        (
            "intersections a number",
            "{\"intersections\": 5, \"roads\": []}".into(),
        ),
        ("truncated", cityflow[..cityflow.len() / 2].to_owned()),
        (
            "nested 10^5 deep",
            format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
        ),
        (
            "width 1e400",
            cityflow.replacen("\"width\": 10", "\"width\": 1e400", 1),
        ),
        (
            "width NaN",
            cityflow.replacen("\"width\": 10", "\"width\": NaN", 1),
        ),
        (
            "width -10",
            cityflow.replacen("\"width\": 10", "\"width\": -10", 1),
        ),
        (
            "a lane index 2^64",
            cityflow.replacen(
                "\"startLaneIndex\": 1",
                "\"startLaneIndex\": 18446744073709551616",
                1,
            ),
        ),
        (
            "a lane index -1",
            cityflow.replacen("\"startLaneIndex\": 1", "\"startLaneIndex\": -1", 1),
        ),
    ];
    for (i, (label, text)) in cf.iter().enumerate() {
        let p = s.file(&format!("cityflow_{i}.json"), text);
        s.check(&format!("CityFlow {label}"), &p);
    }

    // SUMO networks
    let xml: &[(&str, String)] = &[
        ("truncated", sumo[..sumo.len() / 2].to_owned()),
        (
            "nested 10^5 deep",
            format!("<net>{}{}</net>", "<a>".repeat(deep), "</a>".repeat(deep)),
        ),
        (
            "a billion laughs",
            "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><net>&c;</net>".into(),
        ),
        (
            "2,000,000 empty elements",
            format!("<net>{}</net>", "<x/>".repeat(2_000_000)),
        ),
        ("not a net", "<routes></routes>".into()),
        (
            "a 10 MiB attribute",
            format!("<net version=\"{}\"></net>", "v".repeat(10 << 20)),
        ),
    ];
    for (i, (label, text)) in xml.iter().enumerate() {
        let p = s.file(&format!("sumo_{i}.net.xml"), text);
        s.check(&format!("SUMO {label}"), &p);
    }
}

/// Demand files against the bundled network: count CSV, CityFlow flows, SUMO routes.
fn demands(s: &mut Sweep) {
    let head = "start,interval_s,movement,count\n";
    let row = |r: &str| format!("{head}{r}\n");
    let csv: &[(&str, String)] = &[
        ("empty", String::new()),
        ("header only", head.into()),
        (
            "a wrong header",
            "when,how_long,what,how_many\n00:00,900,main_eb_oak:T,5\n".into(),
        ),
        ("10^8 vehicles", row("00:00,900,main_eb_oak:T,100000000")),
        (
            "count 2^64",
            row("00:00,900,main_eb_oak:T,18446744073709551616"),
        ),
        ("count -5", row("00:00,900,main_eb_oak:T,-5")),
        ("count NaN", row("00:00,900,main_eb_oak:T,NaN")),
        ("count inf", row("00:00,900,main_eb_oak:T,inf")),
        ("count 1e300", row("00:00,900,main_eb_oak:T,1e300")),
        ("count 2.5", row("00:00,900,main_eb_oak:T,2.5")),
        ("interval 0", row("00:00,0,main_eb_oak:T,5")),
        ("interval -900", row("00:00,-900,main_eb_oak:T,5")),
        ("interval NaN", row("00:00,NaN,main_eb_oak:T,5")),
        ("interval 1e300", row("00:00,1e300,main_eb_oak:T,5")),
        ("start 99:00", row("99:00,900,main_eb_oak:T,5")),
        ("start 07:60", row("07:60,900,main_eb_oak:T,5")),
        ("start -01:00", row("-01:00,900,main_eb_oak:T,5")),
        ("start inf", row("inf,900,main_eb_oak:T,5")),
        ("an unknown movement", row("00:00,900,nowhere:T,5")),
        ("a bad turn letter", row("00:00,900,main_eb_oak:Q,5")),
        ("a missing column", row("00:00,900,main_eb_oak:T")),
        ("an extra column", row("00:00,900,main_eb_oak:T,5,extra")),
        ("a truncated row", format!("{head}00:00,90")),
        (
            "a 1 MiB movement name",
            row(&format!("00:00,900,{},5", "m".repeat(1 << 20))),
        ),
        (
            "binary garbage",
            String::from_utf8_lossy(&garbage(11, 4096)).into_owned(),
        ),
        ("10^6 rows that sum past the vehicle cap", {
            let mut t = head.to_owned();
            for i in 0..1_000_000u32 {
                let _ = writeln!(t, "{:02}:{:02},60,main_eb_oak:T,50", (i / 60) % 48, i % 60);
            }
            t
        }),
    ];
    for (i, (label, text)) in csv.iter().enumerate() {
        let p = s.file(&format!("counts_{i}.csv"), text);
        s.sim_demand(&format!("count CSV {label}"), &p);
    }
    let mut bad = head.as_bytes().to_vec();
    bad.extend(b"00:00,900,main_eb_oak:T,5\n00:15,900,main_\xffeb:T,5\n");
    let p = s.file("counts_bad_utf8.csv", bad);
    s.sim_demand("count CSV bad UTF-8", &p);
    let p = s.sized("counts_over_cap.csv", (64 << 20) + 1);
    s.sim_demand("count CSV over the 64 MiB cap", &p);
    s.case(
        "sim --demand /dev/zero.csv",
        &[
            "sim".as_ref(),
            "--network".as_ref(),
            bundled("intersections.toml").as_ref(),
            "--demand".as_ref(),
            "/dev/zero".as_ref(),
        ],
        "/dev/zero",
    );
    let fifo = s.dir.join("demand_fifo.csv");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success()));
    s.sim_demand("count CSV a FIFO", &fifo);
    let p = s.file("demand.txt", "start,interval_s,movement,count\n");
    s.sim_demand("an unknown demand extension", &p);

    // CityFlow flows (against the bundled network; its roads are Main Street's)
    let flow = |interval: &str, start: &str, end: &str| {
        format!(
            "[{{\"vehicle\": {{\"length\": 5.0, \"width\": 2.0, \"maxPosAcc\": 2.0, \"maxNegAcc\": 4.5, \"usualPosAcc\": 2.0, \"usualNegAcc\": 4.5, \"minGap\": 2.5, \"maxSpeed\": 16.67, \"headwayTime\": 1.5}}, \"route\": [\"main_eb_oak\"], \"interval\": {interval}, \"startTime\": {start}, \"endTime\": {end}}}]"
        )
    };
    let flows: &[(&str, String)] = &[
        ("an object", "{}".into()),
        ("truncated", flow("2.0", "0", "100")[..60].to_owned()),
        ("interval 0", flow("0", "0", "3600")),
        ("interval -1", flow("-1", "0", "3600")),
        (
            "interval 1e-300 (10^8 vehicles and more)",
            flow("1e-300", "0", "3600"),
        ),
        ("endTime 1e300", flow("1.0", "0", "1e300")),
        ("startTime -5", flow("1.0", "-5", "100")),
        (
            "an unknown road",
            flow("2.0", "0", "100").replace("main_eb_oak", "nowhere"),
        ),
        (
            "an empty route",
            flow("2.0", "0", "100").replace("[\"main_eb_oak\"]", "[]"),
        ),
        (
            "a negative vehicle length",
            flow("2.0", "0", "100").replace("\"length\": 5.0", "\"length\": -5.0"),
        ),
        (
            "nested 10^5 deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
    ];
    for (i, (label, text)) in flows.iter().enumerate() {
        let p = s.file(&format!("flow_{i}.json"), text);
        s.sim_demand(&format!("CityFlow flow {label}"), &p);
    }

    // SUMO routes
    let routes: &[(&str, String)] = &[
        ("empty", String::new()),
        ("truncated", "<routes><vehicle id=\"v\" depart=\"0".into()),
        (
            "a flow of 10^8 vehicles",
            "<routes><route id=\"r\" edges=\"main_eb_oak\"/><flow id=\"f\" route=\"r\" begin=\"0\" end=\"3600\" number=\"100000000\"/></routes>".into(),
        ),
        (
            "a period of 0",
            "<routes><route id=\"r\" edges=\"main_eb_oak\"/><flow id=\"f\" route=\"r\" begin=\"0\" end=\"3600\" period=\"0\"/></routes>".into(),
        ),
        (
            "vehsPerHour 1e300",
            "<routes><route id=\"r\" edges=\"main_eb_oak\"/><flow id=\"f\" route=\"r\" begin=\"0\" end=\"3600\" vehsPerHour=\"1e300\"/></routes>".into(),
        ),
        (
            "a depart of NaN",
            "<routes><route id=\"r\" edges=\"main_eb_oak\"/><vehicle id=\"v\" route=\"r\" depart=\"NaN\"/></routes>".into(),
        ),
        (
            "an unknown edge",
            "<routes><route id=\"r\" edges=\"nowhere\"/><vehicle id=\"v\" route=\"r\" depart=\"0\"/></routes>".into(),
        ),
    ];
    for (i, (label, text)) in routes.iter().enumerate() {
        let p = s.file(&format!("routes_{i}.rou.xml"), text);
        s.sim_demand(&format!("SUMO routes {label}"), &p);
    }
}

/// Scenario files for `compare --scenario`.
fn scenarios(s: &mut Sweep) {
    let net = bundled("intersections.toml");
    let counts = bundled("data/main_street_counts.csv");
    let base = "name = \"s\"\ndescription = \"d\"\n";
    let list: &[(&str, String)] = &[
        ("garbage", "[[[".into()),
        ("a factor of NaN", format!("{base}[[demand]]\nfactor = nan\nfrom = \"16:00\"\nto = \"19:00\"\n")),
        ("a factor of -1", format!("{base}[[demand]]\nfactor = -1.0\nfrom = \"16:00\"\nto = \"19:00\"\n")),
        ("a factor of 1e300", format!("{base}[[demand]]\nfactor = 1e300\nfrom = \"16:00\"\nto = \"19:00\"\n")),
        ("from after to", format!("{base}[[demand]]\nfactor = 1.1\nfrom = \"19:00\"\nto = \"16:00\"\n")),
        ("a time of 99:00", format!("{base}[[demand]]\nfactor = 1.1\nfrom = \"16:00\"\nto = \"99:00\"\n")),
        ("an unknown road", format!("{base}[[lanes]]\nroad = \"nowhere\"\nlanes = [0]\naction = \"close\"\nfrom = \"09:00\"\nto = \"15:00\"\n")),
        ("lane 99", format!("{base}[[lanes]]\nroad = \"main_eb_elm\"\nlanes = [99]\naction = \"close\"\nfrom = \"09:00\"\nto = \"15:00\"\n")),
        ("an unknown action", format!("{base}[[lanes]]\nroad = \"main_eb_elm\"\nlanes = [1]\naction = \"explode\"\nfrom = \"09:00\"\nto = \"15:00\"\n")),
        ("an unknown origin", format!("{base}[[demand]]\nfactor = 1.1\norigin = \"atlantis\"\nfrom = \"16:00\"\nto = \"19:00\"\n")),
        ("an empty file", String::new()),
        ("only a comment", "# nothing here\n".into()),
    ];
    for (i, (label, text)) in list.iter().enumerate() {
        let p = s.file(&format!("scenario_{i}.toml"), text);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        s.case(
            format!("compare --scenario {label}"),
            &[
                "compare".as_ref(),
                "--network".as_ref(),
                net.as_ref(),
                "--demand".as_ref(),
                counts.as_ref(),
                "--duration".as_ref(),
                "60".as_ref(),
                "--scenario".as_ref(),
                p.as_os_str(),
            ],
            &name,
        );
    }
}

/// Bad flags across the subcommands (the range checks have their own test in cli_errors.rs;
/// these are the ones it does not cover, and unknown names).
fn flags(s: &mut Sweep) {
    let net = bundled("intersections.toml");
    let counts = bundled("data/main_street_counts.csv");
    let garbage_pem = s.file("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n");
    let garbage_pem = garbage_pem.to_str().unwrap().to_owned();
    let missing_pem = s.dir.join("missing.pem").to_str().unwrap().to_owned();
    let sim = ["sim", "--network", &net, "--demand", &counts];
    let with = |base: &[&str], more: &[&str]| -> Vec<String> {
        base.iter().chain(more).map(|a| a.to_string()).collect()
    };
    let lists: Vec<(Vec<String>, &str)> = vec![
        (with(&sim, &["--dt=0"]), "--dt"),
        (with(&sim, &["--dt=nan"]), "--dt"),
        (with(&sim, &["--duration=-1"]), "--duration"),
        (with(&sim, &["--duration="]), "--duration"),
        (with(&sim, &["--seed=x"]), "--seed"),
        (with(&sim, &["--seed=0x10"]), "--seed"),
        (with(&sim, &["--control", "psychic"]), "psychic"),
        (with(&sim, &["--control", ""]), "unknown controller ''"),
        (with(&sim, &["--record-every=5"]), "--record"),
        (with(&sim, &["--no-such-flag"]), "--no-such-flag"),
        (with(&["sim", "--network", &net], &[]), "--demand"),
        (
            with(
                &["compare", "--network", &net, "--demand", &counts],
                &["--seeds=0"],
            ),
            "--seeds",
        ),
        (
            with(
                &["compare", "--network", &net, "--demand", &counts],
                &["--seed-list=1,x"],
            ),
            "--seed-list",
        ),
        (
            with(
                &["compare", "--network", &net, "--demand", &counts],
                &["--controls", "psychic", "--duration", "60"],
            ),
            "psychic",
        ),
        (
            with(
                &["corridor", "--network", &net],
                &["--corridor", "atlantis"],
            ),
            "atlantis",
        ),
        (
            with(
                &["corridor", "--network", &net, "--corridor", "main"],
                &["--at", "12:00"],
            ),
            "--counts",
        ),
        (
            with(
                &[
                    "corridor",
                    "--network",
                    &net,
                    "--corridor",
                    "main",
                    "--counts",
                    &counts,
                ],
                &["--at=25:99"],
            ),
            "--at",
        ),
        (
            with(&["field", "--config", &net], &["--speedup=-1"]),
            "--speedup",
        ),
        (
            with(&["field", "--config", &net], &["--detectors=counter:x"]),
            "--detectors",
        ),
        (
            with(&["field", "--config", &net], &["--max-connections=0"]),
            "--max-connections",
        ),
        (
            with(&["field", "--config", &net], &["--idle-timeout-s=inf"]),
            "--idle-timeout-s",
        ),
        (
            with(&["field", "--config", &net], &["--frame-timeout-s=0"]),
            "--frame-timeout-s",
        ),
        (
            with(&["field", "--config", &net], &["--rate-per-s=nan"]),
            "--rate-per-s",
        ),
        (
            with(&["field", "--config", &net], &["--rate-burst=0"]),
            "--rate-burst",
        ),
        (
            with(&["field", "--config", &net], &["--bench-push=99999999999"]),
            "--bench-push",
        ),
        (
            with(&["field", "--config", &net], &["--ca", &garbage_pem]),
            "--cert",
        ),
        (
            with(
                &["field", "--config", &net, "--duration", "1"],
                &[
                    "--ca",
                    &garbage_pem,
                    "--cert",
                    &garbage_pem,
                    "--key",
                    &garbage_pem,
                ],
            ),
            "garbage.pem",
        ),
        (
            with(
                &["field", "--config", &net, "--duration", "1"],
                &[
                    "--ca",
                    &missing_pem,
                    "--cert",
                    &missing_pem,
                    "--key",
                    &missing_pem,
                ],
            ),
            "missing.pem",
        ),
        (
            with(
                &["field", "--config", &net],
                &["--insecure-plain", "--ca", &garbage_pem],
            ),
            "--insecure-plain",
        ),
        (
            with(
                &["field", "--duration", "1", "--insecure-plain"],
                &["--config", "/dev/zero"],
            ),
            "/dev/zero",
        ),
        (
            with(&["run", "--config", &net], &["--poll-ms=abc"]),
            "--poll-ms",
        ),
        (
            with(&["run", "--config", &net], &["--timeout-ms=-5"]),
            "--timeout-ms",
        ),
        (
            with(
                &[
                    "run",
                    "--config",
                    &net,
                    "--insecure-plain",
                    "--duration",
                    "1",
                ],
                &["--control", "psychic"],
            ),
            "psychic",
        ),
        (
            with(&["run", "--config", &net], &["--region", "x"]),
            "--mqtt",
        ),
        (
            with(
                &[
                    "run",
                    "--config",
                    &net,
                    "--insecure-plain",
                    "--duration",
                    "1",
                ],
                &["--mqtt", "not a url"],
            ),
            "--mqtt",
        ),
        (
            with(
                &["run", "--insecure-plain", "--duration", "1"],
                &["--config", s.dir.join("missing.toml").to_str().unwrap()],
            ),
            "missing.toml",
        ),
        (
            with(
                &["sumo"],
                &["--sumocfg", s.dir.join("missing.sumocfg").to_str().unwrap()],
            ),
            "missing.sumocfg",
        ),
        (with(&["sumo"], &["--sumocfg", "/dev/zero"]), "/dev/zero"),
        (
            with(
                &["sumo"],
                &[
                    "--sumocfg",
                    s.file("garbage.sumocfg", garbage(3, 2048))
                        .to_str()
                        .unwrap(),
                ],
            ),
            "garbage.sumocfg",
        ),
        (with(&["sumo"], &["--net", "x.net.xml"]), "--routes"),
        (
            with(
                &["sumo", "--routes", &counts],
                &["--net", s.dir.join("empty.net.xml").to_str().unwrap()],
            ),
            "empty.net.xml",
        ),
        (with(&["sumo", "--sumocfg", "x"], &["--dt=100"]), "--dt"),
        (with(&["demo"], &["--seed=-1"]), "--seed"),
        (with(&["demo"], &["--duration=NaN"]), "--duration"),
        (with(&["demo"], &["--bogus"]), "--bogus"),
        (
            with(
                &["demo", "--duration", "60"],
                &["--out", "/dev/null/report"],
            ),
            "/dev/null/report",
        ),
        (with(&["check"], &[]), "<NETWORK>"),
        (with(&["teleport"], &[]), "teleport"),
        (with(&["check", &net], &["--json=maybe"]), "--json"),
    ];
    for (args, flag) in &lists {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        s.flag(&refs, flag);
    }
}

/// Run one case under GNU time (when present) with a hang deadline.
fn run(case: &Case, dir: &Path, n: usize, time: bool) -> Result<Outcome, String> {
    let out_path = dir.join(format!("run_{n}.out"));
    let err_path = dir.join(format!("run_{n}.err"));
    let rss_path = dir.join(format!("run_{n}.rss"));
    let mut cmd = if time {
        let mut c = Command::new(GNU_TIME);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_path)
            .arg(env!("CARGO_BIN_EXE_greenwave"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_greenwave"))
    };
    cmd.args(&case.args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        // its own process group, so a hung child and anything it started can be killed whole
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break st;
        }
        if start.elapsed() > HANG_AFTER {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            return Err(format!("hung: still running after {HANG_AFTER:?}, killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&fs::read(&err_path).unwrap()).into_owned();
    let report = |why: &str| format!("{why}; status {status}; stderr:\n{}", clip(&stderr));

    // GNU time reports a child killed by a signal in its output file and exits 128 + signal
    let rss_text = if time {
        fs::read_to_string(&rss_path).unwrap_or_default()
    } else {
        String::new()
    };
    if rss_text.contains("signal") {
        return Err(report(&format!("killed by a signal ({})", rss_text.trim())));
    }
    match std::os::unix::process::ExitStatusExt::signal(&status) {
        Some(sig) => return Err(report(&format!("killed by signal {sig}"))),
        None if !matches!(status.code(), Some(1 | 2)) => {
            return Err(report("expected exit status 1 or 2"))
        }
        None => {}
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if stderr.contains(bad) {
            return Err(report(&format!("'{bad}' in stderr")));
        }
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("error"))
        .collect();
    if errors.len() != 1 {
        return Err(report(&format!("{} error lines, expected 1", errors.len())));
    }
    let line = errors[0];
    if line.len() > MAX_ERROR_LINE_BYTES {
        return Err(report(&format!(
            "error line is {} bytes, at most {MAX_ERROR_LINE_BYTES}",
            line.len()
        )));
    }
    if !line.contains(&case.names) {
        return Err(report(&format!(
            "error line does not name '{}'",
            case.names
        )));
    }
    // every other line is a log line (field/run log their TLS choice before loading)
    if let Some(other) = stderr.lines().find(|l| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with("error") || t.starts_with("WARN") || t.starts_with("INFO"))
    }) {
        return Err(report(&format!("an extra stderr line: {}", clip(other))));
    }
    let peak_rss_kb = if time {
        let kb: u64 = rss_text
            .trim()
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("no peak RSS from {GNU_TIME}: {rss_text:?}"))?;
        if kb >= MAX_PEAK_RSS_KB {
            return Err(report(&format!(
                "peak RSS {kb} KiB, at most {MAX_PEAK_RSS_KB} KiB"
            )));
        }
        Some(kb)
    } else {
        None
    };
    Ok(Outcome {
        peak_rss_kb,
        elapsed,
    })
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(600);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[test]
fn every_malformed_input_is_refused_in_one_line_without_panic_hang_or_memory_blow_up() {
    let dir = std::env::temp_dir().join(format!("greenwave-sweep-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut s = Sweep {
        dir: dir.clone(),
        cases: Vec::new(),
    };
    networks(&mut s);
    demands(&mut s);
    scenarios(&mut s);
    flags(&mut s);
    let generated = s.cases.len();
    // the hand-written malformed fixtures and the malformed SUMO seeds of the fuzz corpus
    let mut fixtures: Vec<PathBuf> = fs::read_dir(root().join("tests/fixtures/bad"))
        .unwrap()
        .chain(fs::read_dir(root().join("fuzz/corpus/sumo_net")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.ends_with(".tsv") && n != "tiny.net.xml" && n != "cross4.net.xml"
        })
        .collect();
    fixtures.sort();
    for p in &fixtures {
        s.check("fixture", p);
    }
    assert!(generated >= 100, "only {generated} generated inputs");

    let time = Path::new(GNU_TIME).exists();
    if !time {
        eprintln!(
            "WARNING: {GNU_TIME} not found: peak memory is NOT checked in this sweep (install GNU time)"
        );
    }
    let mut failures = Vec::new();
    let mut peak: Option<(u64, String)> = None;
    let mut slowest: Option<(Duration, String)> = None;
    let mut total = Duration::ZERO;
    for (n, case) in s.cases.iter().enumerate() {
        match run(case, &dir, n, time) {
            Ok(o) => {
                total += o.elapsed;
                if let Some(kb) = o.peak_rss_kb {
                    if peak.as_ref().is_none_or(|(p, _)| kb > *p) {
                        peak = Some((kb, case.label.clone()));
                    }
                }
                if slowest.as_ref().is_none_or(|(t, _)| o.elapsed > *t) {
                    slowest = Some((o.elapsed, case.label.clone()));
                }
            }
            Err(why) => failures.push(format!("{}: {why}", case.label)),
        }
    }
    // restore the mode so the directory can be removed
    for e in fs::read_dir(&dir).unwrap().flatten() {
        let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(0o644));
    }
    println!("malformed-input sweep: {} inputs ({generated} generated, {} fixtures), {} refused as required", s.cases.len(), fixtures.len(), s.cases.len() - failures.len());
    match &peak {
        Some((kb, label)) => println!(
            "  largest peak RSS: {:.1} MB ({kb} KiB) — {label}",
            *kb as f64 * 1024.0 / 1e6
        ),
        None => println!("  largest peak RSS: not measured ({GNU_TIME} missing)"),
    }
    if let Some((t, label)) = &slowest {
        println!("  slowest: {:.2} s — {label}", t.as_secs_f64());
    }
    println!("  all inputs: {:.1} s wall", total.as_secs_f64());
    assert!(
        failures.is_empty(),
        "{} of {} inputs misbehaved:\n{}",
        failures.len(),
        s.cases.len(),
        failures.join("\n\n")
    );
    let _ = fs::remove_dir_all(&dir);
}
