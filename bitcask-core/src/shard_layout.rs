//! The layout file of a sharded store (`SHARDS`: the shard count and each shard's slots
//! and directory), read, checked and created. docs/format.md, "Sharded stores", shows it.

use std::path::{Path, PathBuf};

use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::files::join;
use crate::slot::slots_of_shard;
use crate::storage::{OpenMode, Storage};

/// The name of the layout file in a sharded store's directory.
pub const SHARDS_NAME: &str = "SHARDS";
/// The most shards a store may have.
pub const MAX_SHARDS: u32 = 1024;
const LAYOUT_MAGIC: &str = "bitcask-shards";
const LAYOUT_VERSION: u16 = 1;

/// The subdirectory of shard `i`.
pub fn shard_dir_name(i: usize) -> String {
    format!("shard-{i:04}")
}

/// The layout file's text for `n` shards.
fn layout_text(n: u32) -> String {
    let mut s = format!("{LAYOUT_MAGIC} {LAYOUT_VERSION}\nshards {n}\n");
    for i in 0..n as usize {
        let r = slots_of_shard(n, i);
        s.push_str(&format!(
            "shard {i} slots {}-{} dir {}\n",
            r.start,
            r.end - 1,
            shard_dir_name(i)
        ));
    }
    s
}

/// Reads the shard count from the layout text, refusing anything but the exact layout.
fn parse_layout(path: &Path, text: &str) -> Result<u32> {
    let bad = |d: &str| Error::corruption(path, 0, d);
    let mut lines = text.lines();
    let head = lines.next().ok_or_else(|| bad("empty shard layout"))?;
    let version = head
        .strip_prefix(LAYOUT_MAGIC)
        .and_then(|v| v.trim().parse::<u16>().ok())
        .ok_or_else(|| bad("not a shard layout file"))?;
    if version > LAYOUT_VERSION {
        return Err(Error::UnsupportedVersion { path: path.into(), found: version });
    }
    let n = lines
        .next()
        .and_then(|l| l.strip_prefix("shards "))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| n.is_power_of_two() && *n <= MAX_SHARDS)
        .ok_or_else(|| bad("bad shard count"))?;
    if text != layout_text(n) {
        return Err(bad("the slot ranges do not match the shard count"));
    }
    Ok(n)
}

fn check_count(n: u32) -> Result<()> {
    if n == 0 || !n.is_power_of_two() || n > MAX_SHARDS {
        return Err(Error::InvalidOptions(format!(
            "the shard count must be a power of two from 1 to {MAX_SHARDS}, not {n}"
        )));
    }
    Ok(())
}

/// The shard directories of the store in `dir` when it is sharded (`None`: a plain store,
/// or no store).
pub(crate) fn shard_dirs(storage: &dyn Storage, dir: &Path) -> Result<Option<Vec<PathBuf>>> {
    let names = storage.list(dir).unwrap_or_default();
    if !names.iter().any(|n| n == SHARDS_NAME) {
        return Ok(None);
    }
    let n = read_layout(storage, &join(dir, SHARDS_NAME))?;
    Ok(Some((0..n as usize).map(|i| join(dir, &shard_dir_name(i))).collect()))
}

fn read_layout(storage: &dyn Storage, path: &Path) -> Result<u32> {
    let f = storage.open(path, OpenMode::Read).map_err(|e| Error::io("opening", path, e))?;
    let len = f.len().map_err(|e| Error::io("reading the length of", path, e))?;
    if len > 1 << 20 {
        return Err(Error::corruption(path, 0, "shard layout too large"));
    }
    let mut buf = vec![0u8; len as usize];
    f.read_at(&mut buf, 0).map_err(|e| Error::io("reading", path, e))?;
    let text = String::from_utf8(buf).map_err(|_| Error::corruption(path, 0, "not UTF-8"))?;
    parse_layout(path, &text)
}

/// Creates the shard directories, then the layout file (durably: a crash before it is
/// renamed into place leaves a directory that is created afresh).
fn create_layout(storage: &dyn Storage, dir: &Path, n: u32) -> Result<()> {
    for i in 0..n as usize {
        let d = join(dir, &shard_dir_name(i));
        storage.create_dir_all(&d).map_err(|e| Error::io("creating", &d, e))?;
    }
    write_file(storage, dir, SHARDS_NAME, layout_text(n).as_bytes(), DirSync::Yes).map(|_| ())
}

/// The shard count of the store in `dir`, creating the layout when there is none.
pub(crate) fn layout(
    storage: &dyn Storage,
    dir: &Path,
    asked: Option<u32>,
    read_only: bool,
) -> Result<u32> {
    if let Some(n) = asked {
        check_count(n)?;
    }
    crate::db::prepare_dir(storage, dir, read_only)?;
    let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
    if names.iter().any(|n| n == SHARDS_NAME) {
        let n = read_layout(storage, &join(dir, SHARDS_NAME))?;
        return match asked {
            Some(a) if a != n => Err(Error::Layout {
                path: dir.to_path_buf(),
                detail: format!("{n} shards; {a} were asked for (the count is fixed at creation)"),
            }),
            _ => Ok(n),
        };
    }
    if names.iter().any(|n| n.ends_with(".data") || n == crate::files::LOCK_NAME) {
        return Err(Error::Layout {
            path: dir.to_path_buf(),
            detail: "it holds a store that is not sharded".into(),
        });
    }
    if read_only {
        return Err(Error::NotFound { path: join(dir, SHARDS_NAME) });
    }
    let n = asked.unwrap_or(1);
    create_layout(storage, dir, n)?;
    Ok(n)
}

/// The shard count of the sharded store in `dir` (its layout file read and checked).
pub fn shard_count_at(storage: &dyn Storage, dir: &Path) -> Result<u32> {
    read_layout(storage, &join(dir, SHARDS_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_round_trips_and_refuses_edits() {
        let p = Path::new("SHARDS");
        for n in [1, 2, 4, 1024] {
            assert_eq!(parse_layout(p, &layout_text(n)).unwrap(), n);
        }
        let edited = layout_text(4).replace("4095", "4000");
        assert!(matches!(parse_layout(p, &edited), Err(Error::Corruption { .. })));
        let newer = layout_text(2).replace("shards 1\n", "shards 9\n");
        assert!(matches!(parse_layout(p, &newer), Err(Error::UnsupportedVersion { found: 9, .. })));
        assert!(matches!(parse_layout(p, "shards 3\n"), Err(Error::Corruption { .. })));
    }
}
