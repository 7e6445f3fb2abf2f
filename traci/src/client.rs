//! A blocking TraCI connection to one SUMO child process.

use crate::codec::{self, Reader, SubscriptionResult, Value};
use crate::Error;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CMD_GETVERSION: u8 = 0x00;
pub const CMD_SIMSTEP: u8 = 0x02;
pub const CMD_CLOSE: u8 = 0x7f;
pub const CMD_GET_TL_VARIABLE: u8 = 0xa2;
pub const CMD_SET_TL_VARIABLE: u8 = 0xc2;
pub const TL_RED_YELLOW_GREEN_STATE: u8 = 0x20;
pub const CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE: u8 = 0xd0;
pub const CMD_SUBSCRIBE_LANE_VARIABLE: u8 = 0xd3;
pub const CMD_SUBSCRIBE_SIM_VARIABLE: u8 = 0xdb;
pub const CMD_SUBSCRIBE_LANEAREA_VARIABLE: u8 = 0xdd;
/// A subscription's results come back under the request id + 0x10.
pub const RESPONSE_OFFSET: u8 = 0x10;

/// How long SUMO may take to load a network and open its port.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one reply may take: a step of a large city network takes well under a second, so
/// a minute means SUMO hangs.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long SUMO may take to write its outputs and exit after `close`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `sumo` binary: `$SUMO_BINARY`, else `$SUMO_HOME/bin/sumo`, else `sumo` on `PATH`.
/// `None` when none of them exists.
pub fn find_sumo() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SUMO_BINARY") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    if let Some(home) = std::env::var_os("SUMO_HOME") {
        let p = Path::new(&home).join("bin").join("sumo");
        if p.is_file() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("sumo"))
        .find(|p| p.is_file())
}

/// A free loopback port, found by binding port 0. SUMO binds it a moment later; if another
/// process takes it in between, SUMO exits with a clear bind error that we report.
pub fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::Io(format!("no free loopback port: {e}")))?;
    Ok(l.local_addr()
        .map_err(|e| Error::Io(format!("no free loopback port: {e}")))?
        .port())
}

/// A running `sumo` child. Dropping it kills and reaps the process if it is still running, so
/// no error path leaves a zombie or an orphan.
#[derive(Debug)]
pub struct SumoProcess {
    child: Child,
    log: PathBuf,
}

impl SumoProcess {
    /// Start `sumo` with `args` plus `--remote-port port`; stdout and stderr go to `log`.
    pub fn spawn(binary: &Path, args: &[String], port: u16, log: &Path) -> Result<Self, Error> {
        let mut args = args.to_vec();
        args.extend(["--remote-port".to_string(), port.to_string()]);
        Self::spawn_alone(binary, &args, log)
    }

    /// Start `binary` with `args` and no TraCI port (SUMO running on its own, or one of its
    /// tools); stdout and stderr go to `log`.
    pub fn spawn_alone(binary: &Path, args: &[String], log: &Path) -> Result<Self, Error> {
        let out = std::fs::File::create(log)
            .map_err(|e| Error::Spawn(format!("cannot create {}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::Spawn(format!("{}: {e}", log.display())))?;
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Spawn(format!("{}: {e}", binary.display())))?;
        Ok(SumoProcess {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The last lines of SUMO's log, joined on one line, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = &lines[lines.len().saturating_sub(3)..];
        if tail.is_empty() {
            "(empty)".into()
        } else {
            tail.join(" | ")
        }
    }

    /// `Some(error)` if SUMO has exited.
    pub fn exited(&mut self) -> Option<Error> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(Error::SumoDied {
                status: status.to_string(),
                log: self.log_tail(),
            }),
            Ok(None) => None,
            Err(e) => Some(Error::Io(format!("cannot poll SUMO: {e}"))),
        }
    }

    /// Wait for SUMO to exit on its own (after `close`), killing it after [`EXIT_TIMEOUT`].
    pub fn wait(self) -> Result<(), Error> {
        self.wait_for(EXIT_TIMEOUT)
    }

    /// Wait up to `timeout` for the process to exit by itself; an exit status other than
    /// success is an error quoting its log, and after `timeout` it is killed (by `Drop`).
    pub fn wait_for(mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Error::SumoDied {
                        status: status.to_string(),
                        log: self.log_tail(),
                    })
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                // Drop kills and reaps
                Ok(None) => {
                    return Err(Error::Io(format!(
                        "SUMO did not exit within {} s",
                        timeout.as_secs()
                    )))
                }
                Err(e) => return Err(Error::Io(format!("cannot wait for SUMO: {e}"))),
            }
        }
    }
}

impl Drop for SumoProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One TraCI connection.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    reply: Vec<u8>,
}

impl Connection {
    /// Connect to SUMO on 127.0.0.1:`port`, retrying while it loads; gives up when `sumo`
    /// exits (its log's last lines say why) or after [`CONNECT_TIMEOUT`].
    pub fn connect(port: u16, sumo: &mut SumoProcess) -> Result<Self, Error> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        loop {
            if let Some(e) = sumo.exited() {
                return Err(e);
            }
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(REPLY_TIMEOUT))
                        .and_then(|()| stream.set_write_timeout(Some(REPLY_TIMEOUT)))
                        .and_then(|()| stream.set_nodelay(true))
                        .map_err(|e| Error::Io(format!("socket setup: {e}")))?;
                    return Ok(Connection {
                        stream,
                        reply: Vec::new(),
                    });
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(Error::Io(format!(
                        "cannot connect to SUMO on {addr} within {} s: {e}",
                        CONNECT_TIMEOUT.as_secs()
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Send one message of commands and read the whole reply into `self.reply`.
    fn exchange(&mut self, commands: &[Vec<u8>]) -> Result<(), Error> {
        let msg = codec::message(commands);
        self.stream
            .write_all(&msg)
            .map_err(|e| Error::Io(format!("send: {e}")))?;
        let mut prefix = [0u8; 4];
        self.stream
            .read_exact(&mut prefix)
            .map_err(|e| Error::Io(format!("reading reply: {e}")))?;
        let n = codec::message_body_len(prefix)?;
        self.reply.resize(n, 0);
        self.stream
            .read_exact(&mut self.reply)
            .map_err(|e| Error::Io(format!("reading {n}-byte reply: {e}")))?;
        Ok(())
    }

    /// `getVersion`: the API level and SUMO's identifier.
    pub fn version(&mut self) -> Result<(i32, String), Error> {
        self.exchange(&[codec::command(CMD_GETVERSION, &[])])?;
        let mut r = Reader::new(&self.reply);
        codec::read_status(&mut r, CMD_GETVERSION)?;
        let (id, content) = r.command()?;
        if id != CMD_GETVERSION {
            return Err(codec::CodecError(format!("getVersion answered by 0x{id:02x}")).into());
        }
        let mut c = Reader::new(content);
        Ok((c.i32()?, c.string()?))
    }

    /// Subscribe to `vars` of `object` in the domain of subscribe command `cmd` for the
    /// whole run; returns the first values.
    pub fn subscribe(
        &mut self,
        cmd: u8,
        object: &str,
        vars: &[u8],
    ) -> Result<SubscriptionResult, Error> {
        // begin 0 and end 1e9 s: the whole run (TraCI has no "forever" besides large times)
        let content = codec::subscription(0.0, 1.0e9, object, vars);
        self.exchange(&[codec::command(cmd, &content)])?;
        let mut r = Reader::new(&self.reply);
        codec::read_status(&mut r, cmd)?;
        let (id, content) = r.command()?;
        let res = codec::subscription_result(id, content)?;
        if id != cmd.wrapping_add(RESPONSE_OFFSET) || res.object != object {
            return Err(codec::CodecError(format!(
                "subscription to '{object}' answered by 0x{id:02x} for '{}'",
                res.object
            ))
            .into());
        }
        Ok(res)
    }

    /// A traffic light's current `state` string (getter; used once per light at start).
    pub fn tl_state(&mut self, tl: &str) -> Result<String, Error> {
        let c = codec::variable(TL_RED_YELLOW_GREEN_STATE, tl, None);
        self.exchange(&[codec::command(CMD_GET_TL_VARIABLE, &c)])?;
        let mut r = Reader::new(&self.reply);
        codec::read_status(&mut r, CMD_GET_TL_VARIABLE)?;
        let (_, content) = r.command()?;
        let mut c = Reader::new(content);
        let _var = c.u8()?;
        let _obj = c.string()?;
        match c.value()? {
            Value::String(s) => Ok(s),
            v => Err(codec::CodecError(format!("tl state of '{tl}' is {v:?}")).into()),
        }
    }

    /// Set the state strings of several lights in one message (one round trip).
    pub fn set_tl_states(&mut self, states: &[(&str, &str)]) -> Result<(), Error> {
        if states.is_empty() {
            return Ok(());
        }
        let cmds: Vec<Vec<u8>> = states
            .iter()
            .map(|(tl, s)| {
                let c = codec::variable(
                    TL_RED_YELLOW_GREEN_STATE,
                    tl,
                    Some(&Value::String((*s).to_string())),
                );
                codec::command(CMD_SET_TL_VARIABLE, &c)
            })
            .collect();
        self.exchange(&cmds)?;
        let mut r = Reader::new(&self.reply);
        for _ in states {
            codec::read_status(&mut r, CMD_SET_TL_VARIABLE)?;
        }
        Ok(())
    }

    /// `simulationStep` by one SUMO step; the subscription results of the new time.
    pub fn step(&mut self) -> Result<Vec<SubscriptionResult>, Error> {
        let mut c = Vec::new();
        // target time 0: advance exactly one step of SUMO's --step-length
        codec::put_f64(&mut c, 0.0);
        self.exchange(&[codec::command(CMD_SIMSTEP, &c)])?;
        let mut r = Reader::new(&self.reply);
        codec::read_status(&mut r, CMD_SIMSTEP)?;
        Ok(codec::step_results(&mut r)?)
    }

    /// `close`: SUMO writes its outputs and exits.
    pub fn close(mut self) -> Result<(), Error> {
        self.exchange(&[codec::command(CMD_CLOSE, &[])])?;
        let mut r = Reader::new(&self.reply);
        codec::read_status(&mut r, CMD_CLOSE)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_log(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("traci-{name}-{}.log", std::process::id()))
    }

    #[test]
    fn sumo_exiting_at_once_is_a_clear_error() {
        let log = tmp_log("dies");
        let port = free_port().unwrap();
        let sh = Path::new("/bin/sh");
        let args = vec![
            "-c".to_string(),
            "echo 'Error: bad net' >&2; exit 3".to_string(),
        ];
        let mut p = SumoProcess::spawn(sh, &args, port, &log).unwrap();
        match Connection::connect(port, &mut p) {
            Err(Error::SumoDied { log, .. }) => assert!(log.contains("bad net"), "{log}"),
            other => panic!("expected SumoDied, got {other:?}"),
        }
        let _ = std::fs::remove_file(tmp_log("dies"));
    }

    #[test]
    fn missing_binary_is_a_spawn_error() {
        let log = tmp_log("missing");
        let r = SumoProcess::spawn(Path::new("/nonexistent/sumo"), &[], 1, &log);
        assert!(matches!(r, Err(Error::Spawn(_))), "{r:?}");
        let _ = std::fs::remove_file(log);
    }

    #[test]
    fn malformed_reply_is_an_error_and_the_child_is_reaped() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        // a peer that answers getVersion with a length shorter than its own prefix
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = [0u8; 6];
            s.read_exact(&mut req).unwrap();
            s.write_all(&[0, 0, 0, 2]).unwrap();
        });
        let log = tmp_log("stub");
        // a stand-in child that would outlive the test: dropping the handle must kill it
        let args = vec!["-c".to_string(), "sleep 30".to_string()];
        let mut p = SumoProcess::spawn(Path::new("/bin/sh"), &args, port, &log).unwrap();
        let mut c = Connection::connect(port, &mut p).unwrap();
        let r = c.version();
        assert!(
            matches!(&r, Err(Error::Codec(e)) if e.0.contains("shorter than its own prefix")),
            "{r:?}"
        );
        server.join().unwrap();
        let pid = p.child.id();
        drop(p);
        // reaped: no /proc entry left (neither running nor zombie)
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        let _ = std::fs::remove_file(log);
    }
}
