//! A store of N shards: each a whole [`Bitcask`] in its own subdirectory (its own writer,
//! keydir, hint files and merges), a key's shard chosen by its Redis Cluster slot. The
//! layout file `SHARDS` records N; docs/format.md, "Sharded stores", shows it.
//!
//! ```
//! use bitcask_core::sharded::{key_slot, ShardedBitcask};
//! # let dir = tempfile::tempdir()?;
//! let db = ShardedBitcask::open(dir.path(), Default::default(), Some(4))?;
//! db.shard_for(b"user:{42}:name")?.put(b"user:{42}:name", b"ada")?;
//! // Keys with one {hash tag} share a slot, so a shard: they can go in one batch.
//! assert_eq!(key_slot(b"user:{42}:name"), key_slot(b"user:{42}:email"));
//! assert_eq!(db.shard_of(b"user:{42}:name"), db.shard_of(b"user:{42}:email"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::namespaced::{routing_slot, Namespaced, NAMESPACED};
pub use crate::shard_layout::{shard_count_at, shard_dir_name, MAX_SHARDS, SHARDS_NAME};
pub use crate::shard_move::{copy_shard, empty_shard, shard_holds_data};
pub use crate::slot::{
    crc16_xmodem, hash_tag, key_slot, shard_of_slot, shards_of_slots, slots_of_shard, SLOTS,
};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::batch::WriteBatch;
use crate::db::Bitcask;
use crate::error::{Error, Result};
use crate::files::join;
use crate::merge::MergeReport;
use crate::options::Options;
use crate::read::{Iter, Keys};
use crate::shard_layout::layout;
use crate::stats::Stats;
use crate::storage::{OsStorage, Storage};

/// A store of N shards (a power of two, fixed when the store is created). Shard `i` holds
/// the slots `i * 16384 / N .. (i + 1) * 16384 / N`, so it is a directory that could move
/// to another machine whole. Writes to different shards proceed in parallel; a batch is
/// atomic within one shard, and one that spans shards is refused with
/// [`Error::CrossShard`] before anything is written. Each shard keeps the durability
/// contract of a single store (docs/durability.md).
///
/// A key's reads and writes go to its shard ([`ShardedBitcask::shard_for`]); a
/// [`Store`](crate::Store) does that routing for every call and opens either layout.
///
/// ```
/// use bitcask_core::{Options, ShardedBitcask, WriteBatch};
/// # let tmp = tempfile::tempdir()?;
/// let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(4))?;
/// db.shard_for(b"user:1")?.put(b"user:1", b"alice")?;
/// assert_eq!(db.shard_for(b"user:1")?.get(b"user:1")?, Some(b"alice".to_vec()));
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

/// What [`ShardedBitcask::when_synced`] waits for: the shards still syncing, the first
/// error, and what to call when the last is done.
struct AllSynced {
    left: usize,
    result: Result<()>,
    done: Option<Box<dyn FnOnce(Result<()>) + Send>>,
}

impl AllSynced {
    fn one_done(all: &Mutex<AllSynced>, r: Result<()>) {
        let mut all = crate::util::lock(all);
        if all.result.is_ok() {
            all.result = r;
        }
        all.left -= 1;
        if all.left == 0 {
            let (result, done) = (std::mem::replace(&mut all.result, Ok(())), all.done.take());
            drop(all);
            if let Some(done) = done {
                done(result);
            }
        }
    }
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
                        if !serve(slots_of_shard(n, i)) {
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
        shard_of_slot(self.shards.len() as u32, slot)
    }

    /// The shard that holds `key`: the shard of its [`routing_slot`] (a namespaced key goes
    /// with its user key).
    pub fn shard_of(&self, key: &[u8]) -> usize {
        self.shard_of_slot(routing_slot(key))
    }

    /// The slots shard `i` holds.
    pub fn slots_of_shard(&self, i: usize) -> std::ops::Range<u16> {
        slots_of_shard(self.shards.len() as u32, i)
    }

    /// The open shard that holds `key` ([`Error::ShardNotOpen`] if this handle did not open it).
    pub fn shard_for(&self, key: &[u8]) -> Result<&Bitcask> {
        let i = self.shard_of(key);
        self.shard(i).ok_or(Error::ShardNotOpen { shard: i })
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

    /// Calls `done` once every write made before this call, in every shard, is durable, or
    /// with the first shard's error that made one not (see [`Bitcask::when_synced`]). Never
    /// blocks: the shards with writes to sync each sync on their own sync thread, in
    /// parallel, and the last to finish calls `done`.
    pub fn when_synced(&self, done: impl FnOnce(Result<()>) + Send + 'static) {
        let dirty: Vec<&Bitcask> = self.shards().into_iter().filter(|s| s.has_unsynced()).collect();
        if dirty.is_empty() {
            return done(Ok(()));
        }
        let left = dirty.len();
        let all =
            Arc::new(Mutex::new(AllSynced { left, result: Ok(()), done: Some(Box::new(done)) }));
        for shard in dirty {
            let all = all.clone();
            shard.when_synced(move |r| AllSynced::one_done(&all, r));
        }
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
        self.scan_shards(cursor, count, Bitcask::scan_keys)
    }

    /// [`Bitcask::scan_expired`] over every shard this handle opened (the cursor as
    /// [`scan_keys`](Self::scan_keys)'s).
    pub fn scan_expired(&self, cursor: u64, count: usize) -> Result<(Vec<Vec<u8>>, u64)> {
        self.scan_shards(cursor, count, Bitcask::scan_expired)
    }

    /// [`Bitcask::forget`] of keys that all live in the shard that holds `keys[0]`.
    pub fn forget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<usize> {
        match keys.first() {
            Some(k) => self.shard_for(k.as_ref())?.forget(keys),
            None => Ok(0),
        }
    }

    /// [`Bitcask::delete_expired`] in the shard that holds `key`.
    pub fn delete_expired(&self, key: &[u8]) -> Result<bool> {
        self.shard_for(key)?.delete_expired(key)
    }

    fn scan_shards(
        &self,
        cursor: u64,
        count: usize,
        scan: impl Fn(&Bitcask, u64, usize) -> Result<(Vec<Vec<u8>>, u64)>,
    ) -> Result<(Vec<Vec<u8>>, u64)> {
        const SHARD_SHIFT: u32 = 38;
        let (mut shard, mut inner) =
            ((cursor >> SHARD_SHIFT) as usize, cursor & ((1 << SHARD_SHIFT) - 1));
        let mut out = Vec::new();
        while shard < self.shard_count() && out.len() < count {
            let Some(db) = self.shard(shard) else {
                (shard, inner) = (shard + 1, 0);
                continue;
            };
            let (keys, next) = scan(db, inner, count - out.len())?;
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
