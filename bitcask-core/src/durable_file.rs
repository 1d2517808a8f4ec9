//! Writing a whole file so that a crash leaves either the old file or the new one, never
//! part of it: write under a temporary name (`<name>.tmp`), sync, rename into place, and
//! (for files whose presence must survive a power loss) sync the directory. The one place
//! the store makes hint files, the merge manifest, the shard layout, quarantine files and a
//! cluster node's id.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files::{join, tmp_name};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::util::io_err;

/// Whether the directory is synced after the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirSync {
    /// The new name must survive a power loss before the caller goes on.
    Yes,
    /// A later directory sync covers it (or losing it costs nothing: a cache).
    No,
}

/// Writes `bytes` as `dir/name`, atomically (see the module). Returns the final path.
pub(crate) fn write_file(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    dir_sync: DirSync,
) -> Result<PathBuf> {
    write_file_with(storage, dir, name, dir_sync, |f, tmp| {
        f.write_at(bytes, 0).map_err(io_err("writing", tmp))
    })
}

/// Replaces the file at `path` with `bytes` atomically and durably (temporary file, sync,
/// rename, directory sync): a crash leaves the old contents or the new, never part.
pub fn replace_file(storage: &dyn Storage, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(crate::Error::InvalidOptions(format!("{} names no file", path.display())));
    };
    write_file(storage, dir, name, bytes, DirSync::Yes).map(|_| ())
}

/// [`write_file`] with the contents written by `fill` into the temporary file. On an error
/// the temporary file is removed.
pub(crate) fn write_file_with(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    dir_sync: DirSync,
    fill: impl FnOnce(&dyn StorageFile, &Path) -> Result<()>,
) -> Result<PathBuf> {
    let (path, tmp) = (join(dir, name), join(dir, &tmp_name(name)));
    let result = (|| {
        let f = storage.open(&tmp, OpenMode::CreateTruncate).map_err(io_err("creating", &tmp))?;
        fill(f.as_ref(), &tmp)?;
        f.sync_data().map_err(io_err("syncing", &tmp))?;
        storage.rename(&tmp, &path).map_err(io_err("renaming", &tmp))
    })();
    if result.is_err() {
        let _ = storage.remove(&tmp);
    }
    result?;
    if dir_sync == DirSync::Yes {
        storage.sync_dir(dir).map_err(io_err("syncing directory", dir))?;
    }
    Ok(path)
}
