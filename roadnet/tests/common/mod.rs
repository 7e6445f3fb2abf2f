#![allow(
    dead_code,
    reason = "shared by several test binaries, each using a different part"
)]
//! What the malformed-fixture tests share: reading an `EXPECTED.tsv` table and counting the
//! fixtures it must cover.

use std::path::Path;

/// One row of an `EXPECTED.tsv`: the fixture's file name, the `ErrorKind` its error must have
/// (by its Debug name) and the remaining columns (location, phrase, … as the table defines).
#[derive(Debug)]
pub(crate) struct Expected {
    pub(crate) file: String,
    pub(crate) kind: String,
    pub(crate) rest: Vec<String>,
}

/// The rows of `dir/EXPECTED.tsv`, comments (`#`) and blank lines skipped; every row has at
/// least `columns` tab-separated columns.
pub(crate) fn expected(dir: &Path, columns: usize) -> Vec<Expected> {
    let path = dir.join("EXPECTED.tsv");
    let table =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(
                cols.len() >= columns,
                "{}: short line: {line}",
                path.display()
            );
            Expected {
                file: cols[0].to_string(),
                kind: cols[1].to_string(),
                rest: cols[2..].iter().map(|c| c.to_string()).collect(),
            }
        })
        .collect()
}

/// Asserts that an error has the kind a table row names.
pub(crate) fn assert_kind(kind: roadnet::ErrorKind, row: &Expected, shown: &str) {
    assert_eq!(format!("{kind:?}"), row.kind, "{}: {shown}", row.file);
}

/// How many files in `dir` end with one of `suffixes`: every one must be listed in the table.
pub(crate) fn fixtures_on_disk(dir: &Path, suffixes: &[&str]) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|e| {
            let name = e.as_ref().expect("directory entry").file_name();
            let name = name.to_string_lossy();
            suffixes.iter().any(|s| name.ends_with(s))
        })
        .count()
}
