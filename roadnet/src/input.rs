//! Reading an input file — the one reader every loader uses (`intersections.toml`, CityFlow
//! JSON, count CSV, SUMO XML): a **regular file** only (a FIFO, a device such as `/dev/zero`, a
//! directory or a socket is refused before a byte is read, so nothing hangs or streams
//! gigabytes), at most a format's size cap (checked before reading, and never read past while
//! reading, in case the file grows), and UTF-8 (the first bad byte named by line and column).

use crate::error::{ErrorKind, LoadError};
use std::io::Read;
use std::path::Path;

/// Read `path` as text. `max_bytes` is the format's cap and `hint` says what to do with a file
/// over it (shown after the sizes).
pub fn read_text(path: &Path, max_bytes: u64, hint: &str) -> Result<String, LoadError> {
    let file = path.display().to_string();
    let io = |msg: String| LoadError::new(ErrorKind::Io, msg).in_file(&file);
    let meta = std::fs::metadata(path).map_err(|e| io(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "a FIFO, a device or a socket"
        };
        return Err(io(format!(
            "not a regular file ({kind}): an input must be a plain file"
        )));
    }
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    if meta.len() > max_bytes {
        return Err(io(format!(
            "file is {:.1} MiB; at most {:.0} MiB is read ({hint})",
            mib(meta.len()),
            mib(max_bytes)
        )));
    }
    let f = std::fs::File::open(path).map_err(|e| io(format!("cannot read: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(io(format!(
            "file grew past {:.0} MiB while being read",
            mib(max_bytes)
        )));
    }
    match String::from_utf8(bytes) {
        Ok(t) => Ok(t),
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
            let mut err = LoadError::new(ErrorKind::Syntax, "not UTF-8 text").in_file(&file);
            err.line_col = Some(crate::error::line_col(&prefix, good));
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_files_of_bounded_size_and_utf8() {
        let dir = std::env::temp_dir().join(format!("greenwave-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_text(&dir, 100, "cut it").unwrap_err().to_string();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        let e = read_text(Path::new("/dev/zero"), 100, "cut it")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let big = dir.join("big.txt");
        std::fs::write(&big, vec![b'a'; 2 * 1024 * 1024 + 1]).unwrap();
        let e = read_text(&big, 2 * 1024 * 1024, "cut it")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("file is 2.0 MiB; at most 2 MiB is read (cut it)"),
            "{e}"
        );
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, b"ok\nab\xffc").unwrap();
        let e = read_text(&bad, 100, "").unwrap_err();
        assert_eq!(e.line_col, Some((2, 3)));
        std::fs::write(&bad, "fine\n").unwrap();
        assert_eq!(read_text(&bad, 100, "").unwrap(), "fine\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
