//! Moving a whole shard from one sharded store's directory to another's, through
//! [`Storage`]: what a cluster's slot move is made of. A shard is the unit that moves (its
//! own datafiles, hints and lock), so a move is a copy of one directory, made durable under
//! a temporary name and renamed into place.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::files::{join, LOCK_NAME};
use crate::shard_layout::shard_dir_name;
use crate::storage::{OpenMode, Storage};
use crate::util::io_err;

/// Bytes copied per read.
const CHUNK: u64 = 1 << 20;

/// Whether shard `i` of the sharded store in `store` holds records (any datafile).
pub fn shard_holds_data(storage: &dyn Storage, store: &Path, i: usize) -> Result<bool> {
    let dir = join(store, &shard_dir_name(i));
    match storage.list(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("listing", &dir, e)),
        Ok(names) => Ok(names.iter().any(|n| n.ends_with(".data"))),
    }
}

/// Copies shard `i` of the store in `from` into the store in `to`, replacing what `to` has
/// there, and returns the bytes copied. The source shard must be closed (its lock is taken
/// for the copy: [`Error::Locked`] when a process serves it). Each file is copied and
/// synced under `shard-NNNN.moving`, which is then renamed into place and the directory
/// synced: a crash leaves the target's shard as it was or the whole copy, never part of it.
pub fn copy_shard(storage: &dyn Storage, from: &Path, to: &Path, i: usize) -> Result<u64> {
    let src = join(from, &shard_dir_name(i));
    let lock = join(&src, LOCK_NAME);
    let Some(_guard) = storage.try_lock(&lock).map_err(io_err("locking", &lock))? else {
        return Err(Error::Locked { path: src });
    };
    let moving = join(to, &format!("{}.moving", shard_dir_name(i)));
    remove_dir(storage, &moving)?;
    storage.create_dir_all(&moving).map_err(io_err("creating", &moving))?;
    let mut bytes = 0;
    for name in storage.list(&src).map_err(io_err("listing", &src))? {
        if name != LOCK_NAME {
            bytes += copy_file(storage, &join(&src, &name), &join(&moving, &name))?;
        }
    }
    storage.sync_dir(&moving).map_err(io_err("syncing directory", &moving))?;
    let dst = join(to, &shard_dir_name(i));
    remove_dir(storage, &dst)?;
    storage.rename(&moving, &dst).map_err(io_err("renaming", &moving))?;
    storage.sync_dir(to).map_err(io_err("syncing directory", to))?;
    Ok(bytes)
}

/// Empties shard `i` of the store in `store` (its directory removed and made again, the
/// store's directory synced). The shard must be closed.
pub fn empty_shard(storage: &dyn Storage, store: &Path, i: usize) -> Result<()> {
    let dir = join(store, &shard_dir_name(i));
    remove_dir(storage, &dir)?;
    storage.create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    storage.sync_dir(store).map_err(io_err("syncing directory", store))
}

/// Removes `dir` and what it holds; a missing one is not an error.
fn remove_dir(storage: &dyn Storage, dir: &Path) -> Result<()> {
    match storage.remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("removing", dir, e)),
        _ => Ok(()),
    }
}

/// Copies the file `src` to `dst` (created or truncated) and syncs it.
fn copy_file(storage: &dyn Storage, src: &Path, dst: &Path) -> Result<u64> {
    let from = storage.open(src, OpenMode::Read).map_err(io_err("opening", src))?;
    let to = storage.open(dst, OpenMode::CreateTruncate).map_err(io_err("creating", dst))?;
    let len = from.len().map_err(io_err("reading the length of", src))?;
    let mut buf = vec![0u8; CHUNK.min(len) as usize];
    let mut at = 0;
    while at < len {
        let n = CHUNK.min(len - at) as usize;
        let chunk = buf.get_mut(..n).unwrap_or_default();
        from.read_at(chunk, at).map_err(io_err("reading", src))?;
        to.write_at(chunk, at).map_err(io_err("writing", dst))?;
        at += n as u64;
    }
    to.sync_data().map_err(io_err("syncing", dst))?;
    Ok(len)
}
