//! # testdata — where the tests find the public data sets
//!
//! Some of greenwave's tests and benchmarks replay public data that is too large to bundle (the
//! Jinan 3×4 network and its three one-hour flows, in CityFlow's JSON). This crate is the one
//! place that finds them:
//!
//! - `GREENWAVE_DATA` names the folder that holds the data sets (it contains
//!   `cityflow/jinan_3x4/roadnet_3_4.json`, …). Without it, a `shared/datasets` folder beside the
//!   project's checkout is used when it exists.
//! - A test that needs a data set that is not there prints one line,
//!   `skipped: <test>: needs <data set> — set GREENWAVE_DATA …`, straight to the terminal (past the
//!   test harness's output capture, so it shows even when the test passes) and returns.
//! - With `GREENWAVE_REQUIRE_DATA=1` a missing data set fails the test instead: CI sets it, so a
//!   green run there always means the data-set tests really ran.
//!
//! The Jinan data comes from the public research repositories of the CityFlow / CoLight line of
//! work (`roadnet_3_4.json`, `anon_3_4_jinan_real.json`, `anon_3_4_jinan_real_2000.json`,
//! `anon_3_4_jinan_real_2500.json`); put the four files in `<dir>/cityflow/jinan_3x4/` and run
//! `GREENWAVE_DATA=<dir> cargo test --release --workspace`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable naming the folder that holds the data sets.
pub const DATA_ENV: &str = "GREENWAVE_DATA";
/// Environment variable that turns a missing data set from a loud skip into a failure.
pub const REQUIRE_ENV: &str = "GREENWAVE_REQUIRE_DATA";

/// The Jinan 3×4 network and its three one-hour flows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jinan {
    /// The folder holding the files.
    pub dir: PathBuf,
}

/// The three Jinan flows: (name used in tables, file name).
pub const JINAN_FLOWS: [(&str, &str); 3] = [
    ("Jinan 1", "anon_3_4_jinan_real.json"),
    ("Jinan 2", "anon_3_4_jinan_real_2000.json"),
    ("Jinan 3", "anon_3_4_jinan_real_2500.json"),
];

impl Jinan {
    /// `roadnet_3_4.json`.
    pub fn roadnet(&self) -> PathBuf {
        self.dir.join("roadnet_3_4.json")
    }
    /// A flow file of [`JINAN_FLOWS`] (or any file name in the folder).
    pub fn flow(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// The folder that holds the data sets: `GREENWAVE_DATA`, else `shared/datasets` beside the
/// checkout. `None` when neither names a folder.
pub fn data_root() -> Option<PathBuf> {
    match std::env::var_os(DATA_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
            beside.is_dir().then_some(beside)
        }
    }
}

/// Whether a missing data set must fail the test (`GREENWAVE_REQUIRE_DATA` set and not `0`).
pub fn data_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The Jinan 3×4 data set for the test `test`, or `None` after a loud skip line.
///
/// # Panics
/// When the data set is missing and [`data_required`] holds.
pub fn jinan(test: &str) -> Option<Jinan> {
    let wanted = Path::new("cityflow/jinan_3x4");
    let found = data_root().map(|root| root.join(wanted)).filter(|dir| {
        dir.join("roadnet_3_4.json").is_file()
            && JINAN_FLOWS.iter().all(|(_, f)| dir.join(f).is_file())
    });
    match found {
        Some(dir) => Some(Jinan { dir }),
        None => {
            skip(test, "the Jinan 3×4 data set (cityflow/jinan_3x4)");
            None
        }
    }
}

/// Reports a skipped test on the terminal, or fails it when data is required.
fn skip(test: &str, what: &str) {
    let where_ = match data_root() {
        Some(root) => format!("not found under {}", root.display()),
        None => format!("{DATA_ENV} is unset and no shared/datasets is beside the checkout"),
    };
    let line = format!(
        "skipped: {test}: needs {what}; {where_} — set {DATA_ENV} to the folder holding it"
    );
    if data_required() {
        panic!("{line} ({REQUIRE_ENV} is set, so a missing data set is a failure)");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen. The leading newline puts it on a line of its own even when the harness
    // has just printed `test name ... ` without one.
    let _ = writeln!(std::io::stderr().lock(), "\n{line}");
}
