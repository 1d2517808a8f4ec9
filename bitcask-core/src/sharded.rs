//! A store of N shards: each a whole [`Bitcask`] in its own subdirectory (its own writer,
//! keydir, hint files and merges), a key's shard chosen by its Redis Cluster slot. The
//! layout file `SHARDS` records N; docs/format.md, "Sharded stores", shows it.
//!
//! ```
//! use bitcask_core::sharded::{key_slot, ShardedBitcask};
//! # let dir = tempfile::tempdir()?;
//! let db = ShardedBitcask::open(dir.path(), Default::default(), Some(4))?;
//! db.put(b"user:{42}:name", b"ada")?;
//! // Keys with one {hash tag} share a slot, so a shard: they can go in one batch.
//! assert_eq!(key_slot(b"user:{42}:name"), key_slot(b"user:{42}:email"));
//! assert_eq!(db.shard_of(b"user:{42}:name"), db.shard_of(b"user:{42}:email"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::slot::{crc16_xmodem, hash_tag, key_slot, SLOTS};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::batch::WriteBatch;
use crate::db::Bitcask;
use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::files::join;
use crate::merge::MergeReport;
use crate::options::Options;
use crate::read::{Iter, Keys};
use crate::stats::Stats;
use crate::storage::{OpenMode, OsStorage, Storage};

/// The name of the layout file in a sharded store's directory.
pub const SHARDS_NAME: &str = "SHARDS";
/// The most shards a store may have.
pub const MAX_SHARDS: u32 = 1024;
const LAYOUT_MAGIC: &str = "bitcask-shards";
const LAYOUT_VERSION: u16 = 1;

/// A store of N shards (a power of two, fixed when the store is created). Shard `i` holds
/// the slots `i * 16384 / N .. (i + 1) * 16384 / N`, so it is a directory that could move
/// to another machine whole. Writes to different shards proceed in parallel; a batch is
/// atomic within one shard, and one that spans shards is refused with
/// [`Error::CrossShard`] before anything is written. Each shard keeps the durability
/// contract of a single store (docs/durability.md).
///
/// ```
/// use bitcask_core::{Options, ShardedBitcask, WriteBatch};
/// # let tmp = tempfile::tempdir()?;
/// let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(4))?;
/// db.put(b"user:1", b"alice")?;
/// assert_eq!(db.get(b"user:1")?, Some(b"alice".to_vec()));
///
/// // Keys with one {hash tag} share a shard, so a batch of them is atomic.
/// let mut batch = WriteBatch::new();
/// batch.put(b"{cart:7}.items", b"3").put(b"{cart:7}.total", b"42");
/// db.write(batch)?;
/// db.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ShardedBitcask {
    dir: PathBuf,
    /// Every shard of the layout; `None` for one this process does not serve (a node of a
    /// cluster opens only the shards whose slots it owns).
    shards: Vec<Option<Bitcask>>,
}

/// The subdirectory of shard `i`.
pub fn shard_dir_name(i: usize) -> String {
    format!("shard-{i:04}")
}

/// The layout file's text for `n` shards.
fn layout_text(n: u32) -> String {
    let mut s = format!("{LAYOUT_MAGIC} {LAYOUT_VERSION}\nshards {n}\n");
    for i in 0..n as usize {
        let r = slots_of(i, n as usize);
        s.push_str(&format!(
            "shard {i} slots {}-{} dir {}\n",
            r.start,
            r.end - 1,
            shard_dir_name(i)
        ));
    }
    s
}

/// The slots of shard `i` of `n`.
fn slots_of(i: usize, n: usize) -> std::ops::Range<u16> {
    let per = SLOTS as usize / n;
    (i * per) as u16..((i + 1) * per) as u16
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
fn layout(storage: &dyn Storage, dir: &Path, asked: Option<u32>, read_only: bool) -> Result<u32> {
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

impl ShardedBitcask {
    /// Opens (creating if missing) the sharded store in `path`. `shards` is the count for
    /// a new store (default 1); for an existing one it must match or be `None`.
    pub fn open(
        path: impl AsRef<Path>,
        options: Options,
        shards: Option<u32>,
    ) -> Result<ShardedBitcask> {
        ShardedBitcask::open_with_storage(Arc::new(OsStorage), path, options, shards, false)
    }

    /// Opens an existing sharded store read-only.
    pub fn open_read_only(path: impl AsRef<Path>, options: Options) -> Result<ShardedBitcask> {
        ShardedBitcask::open_with_storage(Arc::new(OsStorage), path, options, None, true)
    }

    /// Opens through another [`Storage`]. The shards are recovered in parallel.
    pub fn open_with_storage(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
        shards: Option<u32>,
        read_only: bool,
    ) -> Result<ShardedBitcask> {
        ShardedBitcask::open_some(storage, path, options, shards, read_only, &|_| true)
    }

    /// Opens only the shards whose slot range `serve` accepts; the others stay closed and
    /// unlocked (another process may serve them, or a tool move them). A key of a closed
    /// shard is [`Error::ShardNotOpen`].
    pub fn open_some(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
        shards: Option<u32>,
        read_only: bool,
        serve: &(dyn Fn(std::ops::Range<u16>) -> bool + Sync),
    ) -> Result<ShardedBitcask> {
        options.validate()?;
        let dir = path.as_ref().to_path_buf();
        let n = layout(storage.as_ref(), &dir, shards, read_only)?;
        let opened: Vec<Result<Option<Bitcask>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n as usize)
                .map(|i| {
                    let (storage, options) = (storage.clone(), options.clone());
                    let d = join(&dir, &shard_dir_name(i));
                    s.spawn(move || {
                        if !serve(slots_of(i, n as usize)) {
                            return Ok(None);
                        }
                        Bitcask::open_with_storage(storage, d, options, read_only).map(Some)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let shards = opened.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(ShardedBitcask { dir, shards })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Every open shard, in order.
    pub fn shards(&self) -> Vec<&Bitcask> {
        self.shards.iter().flatten().collect()
    }

    /// Shard `i`, if this handle opened it.
    pub fn shard(&self, i: usize) -> Option<&Bitcask> {
        self.shards.get(i).and_then(Option::as_ref)
    }

    /// The shard that holds `slot`.
    pub fn shard_of_slot(&self, slot: u16) -> usize {
        usize::from(slot % SLOTS) * self.shards.len() / SLOTS as usize
    }

    /// The shard that holds `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        self.shard_of_slot(key_slot(key))
    }

    /// The slots shard `i` holds.
    pub fn slots_of_shard(&self, i: usize) -> std::ops::Range<u16> {
        slots_of(i, self.shards.len())
    }

    /// The open shard that holds `key` ([`Error::ShardNotOpen`] if this handle did not open it).
    pub fn shard_for(&self, key: &[u8]) -> Result<&Bitcask> {
        let i = self.shard_of(key);
        self.shard(i).ok_or(Error::ShardNotOpen { shard: i })
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.shard_for(key)?.put(key, value)
    }

    /// Stores `value` under `key`, disappearing `ttl` from now.
    pub fn put_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        self.shard_for(key)?.put_with_ttl(key, value, ttl)
    }

    /// Stores `value` under `key`, expiring at the moment `at`.
    pub fn put_expiring_at(&self, key: &[u8], value: &[u8], at: SystemTime) -> Result<()> {
        self.shard_for(key)?.put_expiring_at(key, value, at)
    }

    /// Deletes `key`; returns whether it was present.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.shard_for(key)?.delete(key)
    }

    /// Applies `batch` atomically. Every key must be in one shard: otherwise the result is
    /// [`Error::CrossShard`] and nothing is written.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut shard = None;
        for op in batch.ops() {
            let s = self.shard_of(op.key);
            match shard {
                Some(first) if first != s => {
                    return Err(Error::CrossShard { first, other: s });
                }
                _ => shard = Some(s),
            }
        }
        match shard {
            Some(s) => self.shard(s).ok_or(Error::ShardNotOpen { shard: s })?.write(batch),
            None => Ok(()),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.shard_for(key)?.get(key)
    }

    /// Calls `f` with the value of `key`, read in place.
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.shard_for(key)?.get_with(key, f)
    }

    /// Calls `f(i, value)` for each of `keys` (`None` for an absent key), one shard at a
    /// time.
    pub fn get_many_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        mut f: impl FnMut(usize, Option<&[u8]>),
    ) -> Result<()> {
        if let [Some(db)] = self.shards.as_slice() {
            return db.get_many_with(keys, f);
        }
        let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); self.shards.len()];
        for (i, k) in keys.iter().enumerate() {
            if let Some(v) = by_shard.get_mut(self.shard_of(k.as_ref())) {
                v.push(i);
            }
        }
        for (i, idx) in by_shard.iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let db = self.shard(i).ok_or(Error::ShardNotOpen { shard: i })?;
            let these: Vec<&[u8]> =
                idx.iter().filter_map(|&i| keys.get(i).map(AsRef::as_ref)).collect();
            db.get_many_with(&these, |j, v| {
                if let Some(&i) = idx.get(j) {
                    f(i, v);
                }
            })?;
        }
        Ok(())
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.shard_for(key)?.contains(key)
    }

    /// The remaining time to live of `key` (see [`Bitcask::ttl`]).
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        self.shard_for(key)?.ttl(key)
    }

    /// When `key` expires (see [`Bitcask::expires_at`]).
    pub fn expires_at(&self, key: &[u8]) -> Result<Option<Option<SystemTime>>> {
        self.shard_for(key)?.expires_at(key)
    }

    /// Makes every acknowledged write of every shard durable; shards with nothing unsynced
    /// are skipped, and several that need it are synced in parallel.
    pub fn sync(&self) -> Result<()> {
        let open = self.shards();
        if open.len() <= 1 {
            return open.into_iter().try_for_each(Bitcask::sync);
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let hs: Vec<_> = open.into_iter().map(|db| s.spawn(move || db.sync())).collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        results.into_iter().collect()
    }

    /// The first failure that made a shard refuse writes (see [`Bitcask::write_error`]),
    /// naming the shard; `None` while every shard takes writes.
    pub fn write_error(&self) -> Option<String> {
        self.shards()
            .into_iter()
            .enumerate()
            .find_map(|(i, db)| db.write_error().map(|e| format!("{}: {e}", shard_dir_name(i))))
    }

    /// Number of live keys in all shards.
    pub fn len(&self) -> usize {
        self.shards().into_iter().map(Bitcask::len).sum()
    }

    /// Number of live keys with an expiry in all shards.
    pub fn len_expiring(&self) -> usize {
        self.shards().into_iter().map(Bitcask::len_expiring).sum()
    }

    /// True when no shard holds a live key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the keys `keep` accepts, shard by shard (each sorted).
    pub fn keys_where(&self, mut keep: impl FnMut(&[u8]) -> bool) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for db in self.shards() {
            out.extend(db.keys_where(&mut keep)?);
        }
        Ok(out)
    }

    /// [`Bitcask::scan_keys`] over every shard this handle opened: the cursor carries the
    /// shard in bits 38..48. Nothing is kept between calls.
    pub fn scan_keys(&self, cursor: u64, count: usize) -> Result<(Vec<Vec<u8>>, u64)> {
        const SHARD_SHIFT: u32 = 38;
        let (mut shard, mut inner) =
            ((cursor >> SHARD_SHIFT) as usize, cursor & ((1 << SHARD_SHIFT) - 1));
        let mut out = Vec::new();
        while shard < self.shard_count() && out.len() < count {
            let Some(db) = self.shard(shard) else {
                (shard, inner) = (shard + 1, 0);
                continue;
            };
            let (keys, next) = db.scan_keys(inner, count - out.len())?;
            out.extend(keys);
            if next == 0 {
                (shard, inner) = (shard + 1, 0);
            } else {
                inner = next;
                break;
            }
        }
        let next =
            if shard >= self.shard_count() { 0 } else { (shard as u64) << SHARD_SHIFT | inner };
        Ok((out, next))
    }

    /// A snapshot of every key, shard by shard (each sorted).
    pub fn keys(&self) -> Result<impl Iterator<Item = Vec<u8>>> {
        let parts = self.shards().into_iter().map(Bitcask::keys).collect::<Result<Vec<Keys>>>()?;
        Ok(parts.into_iter().flatten())
    }

    /// The key/value pairs, shard by shard (each sorted by key); values read lazily.
    pub fn iter(&self) -> Result<impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>> {
        let parts = self.shards().into_iter().map(Bitcask::iter).collect::<Result<Vec<Iter>>>()?;
        Ok(parts.into_iter().flatten())
    }

    /// Statistics of each shard.
    pub fn stats(&self) -> Vec<Stats> {
        self.shards().into_iter().map(Bitcask::stats).collect()
    }

    /// Merges every shard, one after another.
    pub fn merge(&self) -> Result<Vec<MergeReport>> {
        self.shards().into_iter().map(Bitcask::merge).collect()
    }

    /// Merges the shards whose triggers fire.
    pub fn merge_if_needed(&self) -> Result<Vec<MergeReport>> {
        let mut out = Vec::new();
        for db in self.shards() {
            out.extend(db.merge_if_needed()?);
        }
        Ok(out)
    }

    /// Closes every shard (all of them, even when one fails); the first error is returned.
    /// `Ok` means everything acknowledged in every shard is durable.
    pub fn close(&self) -> Result<()> {
        let mut first = Ok(());
        for db in self.shards() {
            if let Err(e) = db.close() {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
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

    #[test]
    fn shards_cover_every_slot_once() {
        for n in [1usize, 2, 8, 1024] {
            let mut next = 0u32;
            for i in 0..n {
                let r = slots_of(i, n);
                assert_eq!(u32::from(r.start), next);
                next = u32::from(r.end);
            }
            assert_eq!(next, u32::from(SLOTS));
        }
    }
}
