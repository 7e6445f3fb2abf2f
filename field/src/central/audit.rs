//! The central's durable, append-only audit log: every plan, standby plan and stage request
//! sent to a field controller, written *before* the write goes out (the intent) and completed
//! with the field's verdict once it is known. A central killed at any point leaves every plan
//! it may have sent in the log; a restarted central reads the log back ([`AuditLog::resume`])
//! to continue the sequence numbers and keep the plans the field already runs.
//!
//! SQLite (bundled `rusqlite`) rather than redb: the log is a table an operator can also read
//! with the stock `sqlite3` shell, the WAL journal with `synchronous = FULL` makes every
//! committed record durable (fsync before the commit returns), `application_id` tells our file
//! from any other SQLite file, `quick_check` finds a damaged one, and triggers make the table
//! append-only (no delete, a verdict written once, never changed).

use roadnet::SignalPlan;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// `PRAGMA application_id` of a greenwave audit log ("GWAL").
pub const APPLICATION_ID: i32 = 0x4757_414C;
/// `PRAGMA user_version`: the schema version this code writes and reads.
pub const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_unix_ms INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('plan', 'standby', 'stage')),
    intersection TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    unit INTEGER NOT NULL,
    seq INTEGER,
    checksum INTEGER,
    body TEXT NOT NULL,
    verdict TEXT CHECK (verdict IN ('accepted', 'refused', 'unreachable', 'failed')),
    reason TEXT,
    done_unix_ms INTEGER
);
CREATE INDEX audit_by_intersection ON audit (intersection, id);
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_verdict_once BEFORE UPDATE ON audit
WHEN OLD.verdict IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.sent_unix_ms IS NOT OLD.sent_unix_ms
  OR NEW.kind IS NOT OLD.kind OR NEW.intersection IS NOT OLD.intersection
  OR NEW.endpoint IS NOT OLD.endpoint OR NEW.unit IS NOT OLD.unit OR NEW.seq IS NOT OLD.seq
  OR NEW.checksum IS NOT OLD.checksum OR NEW.body IS NOT OLD.body
BEGIN SELECT RAISE(ABORT, 'an audit record is completed once and never changed'); END;
";

/// What was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A plan committed to run now ([`crate::protocol::regmap::hr::COMMIT`]).
    Plan,
    /// A standby (fallback) plan ([`crate::protocol::regmap::hr::COMMIT_STANDBY`]).
    Standby,
    /// A stage request.
    Stage,
}

impl AuditKind {
    fn as_str(self) -> &'static str {
        match self {
            AuditKind::Plan => "plan",
            AuditKind::Standby => "standby",
            AuditKind::Stage => "stage",
        }
    }
}

/// The field's answer to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    /// Refused with a reason (the field's reason code, a Modbus exception, the central validator).
    Refused,
    /// The field did not answer (timeouts, refused connections).
    Unreachable,
    /// Anything else that stopped it (a read-back mismatch, an unconfirmed commit).
    Failed,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Refused => "refused",
            Verdict::Unreachable => "unreachable",
            Verdict::Failed => "failed",
        }
    }
}

/// Where a record went.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    pub intersection: &'a str,
    /// `host:port` of the field controller's Modbus server.
    pub endpoint: String,
    pub unit: u8,
}

/// One record as read back.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub sent_unix_ms: i64,
    pub kind: String,
    pub intersection: String,
    pub endpoint: String,
    pub unit: u8,
    pub seq: Option<u32>,
    /// The plan area's checksum register (CRC over the area with this sequence number).
    pub checksum: Option<u16>,
    /// The full plan as JSON ([`SignalPlan`]), or `{"stage": n}` for a stage request.
    pub body: serde_json::Value,
    /// `None`: the intent was written but no verdict followed (the central stopped).
    pub verdict: Option<String>,
    pub reason: Option<String>,
    pub done_unix_ms: Option<i64>,
}

/// Why the audit log cannot be used: one line naming the file.
#[derive(Debug, thiserror::Error)]
#[error("audit log {}: {msg}", path.display())]
pub struct AuditError {
    pub path: PathBuf,
    pub msg: String,
}

/// What a restarted central takes from the log for one intersection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resume {
    /// The newest sequence number written to this field controller (plans and standby plans,
    /// accepted or not, intents included): the next push uses a later one.
    pub last_seq: Option<u32>,
    /// Plans that may be the one the field runs: the newest accepted one and any newer intent
    /// without a verdict (the central stopped between the commit and the verdict), each with
    /// its sequence number. The field's committed sequence number says which one it runs.
    pub candidates: Vec<(u32, SignalPlan)>,
    /// Intents without a verdict (record id, sequence number), oldest first.
    pub pending: Vec<(i64, u32)>,
}

/// The audit log file, opened for appending (one writer: the file is locked while open).
#[derive(Debug)]
pub struct AuditLog {
    conn: Connection,
    path: PathBuf,
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl AuditLog {
    fn err(path: &Path, msg: impl std::fmt::Display) -> AuditError {
        // one line, whatever SQLite said
        let msg = msg.to_string().replace('\n', " ");
        AuditError {
            path: path.to_path_buf(),
            msg,
        }
    }

    /// Open (or create) the log for writing. A file that is not a greenwave audit log, is
    /// damaged, or is held by another running central is refused.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                return Err(Self::err(path, "not a regular file"));
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| Self::err(path, e))?;
        let log = AuditLog {
            conn,
            path: path.to_path_buf(),
        };
        log.setup(true)?;
        Ok(log)
    }

    /// Open an existing log to read it (`greenwave audit`): never creates one and writes no
    /// record (SQLite may still replay the journal a killed writer left, as any reader would).
    pub fn open_read_only(path: &Path) -> Result<AuditLog, AuditError> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(Self::err(path, "not a regular file")),
            Err(e) => return Err(Self::err(path, e)),
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| Self::err(path, e))?;
        let log = AuditLog {
            conn,
            path: path.to_path_buf(),
        };
        log.setup(false)?;
        Ok(log)
    }

    fn setup(&self, write: bool) -> Result<(), AuditError> {
        let path = &self.path;
        let e = |e: rusqlite::Error| {
            let msg = match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    "not an audit log (not a SQLite database, or damaged)".to_string()
                }
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    "locked by another process (is another `greenwave run` using it?)".to_string()
                }
                _ => e.to_string(),
            };
            Self::err(path, msg)
        };
        let c = &self.conn;
        // never wait on another writer: a locked log is an error now, not a hang
        c.busy_timeout(std::time::Duration::ZERO).map_err(e)?;
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(e)?;
        let tables: i64 = c
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(e)?;
        if app == 0 && tables == 0 {
            if !write {
                return Err(Self::err(path, "empty: not an audit log"));
            }
        } else if app != APPLICATION_ID {
            return Err(Self::err(
                path,
                format!("not a greenwave audit log (application_id {app:#x})"),
            ));
        }
        let check: String = c
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(e)?;
        if check != "ok" {
            return Err(Self::err(path, format!("damaged: {check}")));
        }
        if !write {
            return self.check_version();
        }
        // the WAL journal, fsync'd at every commit; this process holds the write lock
        // for as long as it runs (a second central on the same log is refused at once)
        let mode: String = c
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(e)?;
        if mode != "wal" {
            return Err(Self::err(
                path,
                format!("cannot use the WAL journal ({mode})"),
            ));
        }
        c.execute_batch("PRAGMA synchronous = FULL; PRAGMA locking_mode = EXCLUSIVE;")
            .map_err(e)?;
        if app == 0 {
            c.execute_batch(&format!(
                "BEGIN IMMEDIATE; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(e)?;
        }
        self.check_version()?;
        // a write takes the exclusive lock now (held until the log is closed), not at the
        // first record
        c.execute_batch(&format!(
            "BEGIN IMMEDIATE; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(e)
    }

    fn check_version(&self) -> Result<(), AuditError> {
        let v: i32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| Self::err(&self.path, e))?;
        if v != SCHEMA_VERSION {
            return Err(Self::err(
                &self.path,
                format!("schema version {v}, this greenwave reads {SCHEMA_VERSION}"),
            ));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write an intent (durably, before the write goes out); returns its record id.
    pub fn intent(
        &self,
        kind: AuditKind,
        target: &Target<'_>,
        seq: Option<u32>,
        checksum: Option<u16>,
        body: &serde_json::Value,
    ) -> Result<i64, AuditError> {
        self.conn
            .execute(
                "INSERT INTO audit (sent_unix_ms, kind, intersection, endpoint, unit, seq, checksum, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    unix_ms(),
                    kind.as_str(),
                    target.intersection,
                    target.endpoint,
                    target.unit,
                    seq,
                    checksum,
                    body.to_string()
                ],
            )
            .map_err(|e| Self::err(&self.path, e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Complete an intent with the field's verdict (once; durably).
    pub fn verdict(
        &self,
        id: i64,
        verdict: Verdict,
        reason: Option<&str>,
    ) -> Result<(), AuditError> {
        let n = self
            .conn
            .execute(
                "UPDATE audit SET verdict = ?2, reason = ?3, done_unix_ms = ?4 WHERE id = ?1",
                params![id, verdict.as_str(), reason, unix_ms()],
            )
            .map_err(|e| Self::err(&self.path, e))?;
        if n != 1 {
            return Err(Self::err(&self.path, format!("no record {id}")));
        }
        Ok(())
    }

    /// Every record, oldest first.
    pub fn records(&self) -> Result<Vec<AuditRecord>, AuditError> {
        let e = |e: rusqlite::Error| Self::err(&self.path, e);
        let mut st = self
            .conn
            .prepare(
                "SELECT id, sent_unix_ms, kind, intersection, endpoint, unit, seq, checksum, body,
                        verdict, reason, done_unix_ms FROM audit ORDER BY id",
            )
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    AuditRecord {
                        id: r.get(0)?,
                        sent_unix_ms: r.get(1)?,
                        kind: r.get(2)?,
                        intersection: r.get(3)?,
                        endpoint: r.get(4)?,
                        unit: r.get(5)?,
                        seq: r.get(6)?,
                        checksum: r.get(7)?,
                        body: serde_json::Value::Null,
                        verdict: r.get(9)?,
                        reason: r.get(10)?,
                        done_unix_ms: r.get(11)?,
                    },
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(e)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut rec, body) = row.map_err(e)?;
            rec.body = serde_json::from_str(&body).map_err(|err| {
                Self::err(
                    &self.path,
                    format!("record {}: body is not JSON: {err}", rec.id),
                )
            })?;
            out.push(rec);
        }
        Ok(out)
    }

    /// What a restarted central needs, per intersection name.
    pub fn resume(&self) -> Result<BTreeMap<String, Resume>, AuditError> {
        let mut out: BTreeMap<String, Resume> = BTreeMap::new();
        let mut accepted: BTreeMap<String, (u32, SignalPlan)> = BTreeMap::new();
        let mut after: BTreeMap<String, Vec<(u32, SignalPlan)>> = BTreeMap::new();
        for rec in self.records()? {
            if rec.kind == "stage" {
                continue;
            }
            let Some(seq) = rec.seq else {
                continue;
            };
            let r = out.entry(rec.intersection.clone()).or_default();
            r.last_seq = Some(seq);
            if rec.kind != "plan" {
                if rec.verdict.is_none() {
                    r.pending.push((rec.id, seq));
                }
                continue;
            }
            let plan: Option<SignalPlan> = serde_json::from_value(rec.body.clone()).ok();
            match (rec.verdict.as_deref(), plan) {
                (Some("accepted"), Some(p)) => {
                    accepted.insert(rec.intersection.clone(), (seq, p));
                    after.remove(&rec.intersection);
                }
                (None, Some(p)) => {
                    r.pending.push((rec.id, seq));
                    after
                        .entry(rec.intersection.clone())
                        .or_default()
                        .push((seq, p));
                }
                (None, None) => r.pending.push((rec.id, seq)),
                _ => {}
            }
        }
        for (name, r) in &mut out {
            r.candidates.extend(accepted.remove(name));
            r.candidates.extend(after.remove(name).unwrap_or_default());
        }
        Ok(out)
    }

    /// Look up one record (tests, the reader).
    pub fn record(&self, id: i64) -> Result<Option<AuditRecord>, AuditError> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT id FROM audit WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| Self::err(&self.path, e))?;
        Ok(match found {
            Some(_) => self.records()?.into_iter().find(|r| r.id == id),
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gw-audit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("audit.db")
    }

    fn target() -> Target<'static> {
        Target {
            intersection: "a",
            endpoint: "127.0.0.1:5101".into(),
            unit: 1,
        }
    }

    #[test]
    fn an_intent_and_its_verdict_read_back_and_the_verdict_is_final() {
        let path = scratch("rw");
        let log = AuditLog::open(&path).unwrap();
        let body = serde_json::json!({"stage": 2});
        let id = log
            .intent(AuditKind::Stage, &target(), None, None, &body)
            .unwrap();
        let rec = log.record(id).unwrap().unwrap();
        assert_eq!(rec.verdict, None);
        assert_eq!(rec.body, body);
        log.verdict(id, Verdict::Refused, Some("illegal_data_value"))
            .unwrap();
        let rec = log.record(id).unwrap().unwrap();
        assert_eq!(rec.verdict.as_deref(), Some("refused"));
        assert_eq!(rec.reason.as_deref(), Some("illegal_data_value"));
        // append-only: the verdict is not rewritten, no record is deleted
        let again = log.verdict(id, Verdict::Accepted, None).unwrap_err();
        assert!(again.to_string().contains("never changed"), "{again}");
        let del = log.conn.execute("DELETE FROM audit", []).unwrap_err();
        assert!(del.to_string().contains("append-only"), "{del}");
        drop(log);
        // a second open finds the same records
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.records().unwrap().len(), 1);
    }

    #[test]
    fn a_second_writer_a_foreign_file_and_garbage_are_one_line_errors() {
        let path = scratch("errors");
        let log = AuditLog::open(&path).unwrap();
        let busy = AuditLog::open(&path).unwrap_err().to_string();
        assert!(busy.contains("locked"), "{busy}");
        assert!(!busy.contains('\n'));
        drop(log);
        let junk = path.with_file_name("junk.db");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = AuditLog::open(&junk).unwrap_err().to_string();
        assert!(
            e.contains("junk.db") && e.contains("not an audit log"),
            "{e}"
        );
        let foreign = path.with_file_name("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER);")
            .unwrap();
        let e = AuditLog::open(&foreign).unwrap_err().to_string();
        assert!(e.contains("not a greenwave audit log"), "{e}");
        let e = AuditLog::open_read_only(&path.with_file_name("missing.db"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.db"), "{e}");
    }
}
