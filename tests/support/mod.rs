//! What the command-line tests that start `greenwave field` share: the binary, a scratch
//! folder, the small two-controller fixture on free ports, and a field process that is killed
//! when the test lets go of it (also when it fails).

#![allow(dead_code, reason = "each test file uses its own part of this module")]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `greenwave` binary under test, run from the repository root.
pub(crate) fn greenwave() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_greenwave"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1");
    c
}

/// A fresh, empty folder of this test process (`suite` and `name` keep tests apart).
pub(crate) fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("greenwave-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tests/fixtures/small.toml with its two controllers on two ports free right now.
pub(crate) fn small_on_free_ports() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small.toml"
    ))
    .unwrap();
    text.replace("port = 5101", &format!("port = {}", free_port()))
        .replace("port = 5102", &format!("port = {}", free_port()))
}

/// A child process (a field, a central), killed on drop.
#[derive(Debug)]
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `greenwave field --config cfg` with `security` (`--insecure-plain`, or the TLS files) for
/// `duration_s`, once it printed a `listening` line for both controllers of the fixture.
pub(crate) fn start_field(cfg: &Path, security: &[&OsStr], duration_s: u32) -> Running {
    let mut child = greenwave()
        .args(["--quiet", "field"])
        .args(security)
        .arg("--config")
        .arg(cfg)
        .args(["--duration", &duration_s.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("field");
    let out = BufReader::new(child.stdout.take().unwrap());
    let listening = out
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.starts_with("listening"))
        .take(2)
        .count();
    assert_eq!(listening, 2, "greenwave field did not start");
    Running(child)
}

/// The `sumo` binary, or `None` after a `skipped: …` line on stderr; with
/// `GREENWAVE_REQUIRE_SUMO=1` (CI) a missing SUMO fails the test instead.
pub(crate) fn sumo_or_skip(test: &str) -> Option<PathBuf> {
    use std::io::Write;
    if let Some(p) = traci::client::find_sumo() {
        return Some(p);
    }
    let line =
        format!("skipped: {test}: needs SUMO (pip install eclipse-sumo) — no sumo binary found via SUMO_BINARY, SUMO_HOME or PATH");
    if std::env::var("GREENWAVE_REQUIRE_SUMO").is_ok_and(|v| v == "1") {
        panic!("{line} (GREENWAVE_REQUIRE_SUMO=1, so a missing SUMO is a failure)");
    }
    // straight to stderr: libtest captures eprintln! of passing tests, and a skip must be seen
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    None
}
