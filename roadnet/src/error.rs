//! Errors from loading and validating a network or demand. Each names the file and, where it can,
//! the line and column or the path to the offending field, so a user can act on it.

use std::fmt;

/// What kind of problem a [`LoadError`] reports; tests and tools match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// Not valid TOML/JSON, or a field of the wrong type, or a missing/unknown field.
    Syntax,
    /// A name that refers to nothing (a lane, road, intersection, movement, stage…).
    UnknownReference,
    /// Two entities with the same id.
    DuplicateId,
    /// A number out of its range (a negative length, a zero width, a port of 0…).
    BadValue,
    /// A stage gives protected green to two conflicting movements.
    ConflictingGreens,
    /// A yellow change interval under 3 s.
    YellowTooShort,
    /// Min green above max green.
    MinGreenAboveMax,
    /// A lane whose vehicles cannot leave the road it is on.
    LaneWithoutExit,
    /// A movement that no stage ever serves.
    MovementNeverServed,
    /// Consecutive corridor intersections with no road between them.
    CorridorNotConnected,
    /// A route whose consecutive roads are not joined by a movement.
    RouteNotConnected,
}

/// A load or validation error with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    pub kind: ErrorKind,
    /// The file (or `<input>` for in-memory text).
    pub file: String,
    /// 1-based line and column, when known.
    pub line_col: Option<(usize, usize)>,
    /// Path to the field (`intersection[2].stage[0].yellow_s`, `roads[5].lanes[1]`), when known.
    pub field: Option<String>,
    pub message: String,
}

impl LoadError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> LoadError {
        LoadError {
            kind,
            file: "<input>".into(),
            line_col: None,
            field: None,
            message: message.into(),
        }
    }
    pub fn at(mut self, origin: &Origin) -> LoadError {
        if self.line_col.is_none() {
            self.line_col = origin.line_col;
        }
        if self.field.is_none() {
            self.field = origin.field.clone();
        }
        self
    }
    pub fn in_file(mut self, file: &str) -> LoadError {
        self.file = file.to_string();
        self
    }
    pub fn with_field(mut self, field: impl Into<String>) -> LoadError {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = self.line_col {
            write!(f, ":{l}:{c}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Where an entity was declared: a line/column in a TOML file or a field path in JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origin {
    pub line_col: Option<(usize, usize)>,
    pub field: Option<String>,
}

impl Origin {
    pub fn field(path: impl Into<String>) -> Origin {
        Origin {
            line_col: None,
            field: Some(path.into()),
        }
    }
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// A value quoted in an error message, cut to its first 40 characters (then `…`), so that a
/// huge value from a file (a 1 MiB name) is never echoed whole into the one error line.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}
