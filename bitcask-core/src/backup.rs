//! Online backup: a consistent, openable copy of the store while writes go on.
//!
//! The copy is the store at one point of its history: under the writer lock the engine
//! notes the active file and how far it is written, and the sealed files then in the file
//! table. Sealed files never change, so they are hard-linked (copied where links fail, as
//! across file systems); the active file is copied up to the noted end. Merges wait for the
//! backup (they would delete files it links). Everything is written into a temporary
//! directory beside the destination, synced, and renamed into place at the end, so an
//! interrupted backup leaves no directory that looks like a store; the source is only
//! read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::datafile::DataFile;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files::{data_name, hint_name, join};
use crate::storage::{OpenMode, Storage};
use crate::util::{io_err, lock};

/// What a backup copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Files hard-linked (sealed datafiles and their hints).
    pub files_linked: usize,
    /// Files copied (the active file, and sealed files where a link failed).
    pub files_copied: usize,
    /// Bytes copied.
    pub bytes_copied: u64,
}

const COPY_CHUNK: usize = 1 << 20;

/// The sealed files, the active file, and the end of its last complete write.
type BackupPoint = (Vec<Arc<DataFile>>, Option<Arc<DataFile>>, u64);

impl Engine {
    /// Writes a consistent copy of the store into `dest`, which must not exist.
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        self.life.check_open()?;
        let storage = self.storage.as_ref();
        if storage.is_dir(dest).is_ok() {
            return Err(Error::io(
                "backing up to",
                dest,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let tmp = tmp_dir(dest);
        if storage.is_dir(&tmp).is_ok() {
            // Left by an interrupted backup.
            storage.remove_dir_all(&tmp).map_err(io_err("removing", &tmp))?;
        }
        storage.create_dir_all(&tmp).map_err(io_err("creating", &tmp))?;
        let _no_merges = lock(&self.merge_lock);
        let (sealed, active, end) = self.backup_point()?;
        let mut report = BackupReport::default();
        for df in &sealed {
            self.link_or_copy(&df.path, &join(&tmp, &data_name(df.id)), u64::MAX, &mut report)?;
            let hint = join(&self.dir, &hint_name(df.id));
            if storage.is_dir(&hint).is_ok() {
                self.link_or_copy(&hint, &join(&tmp, &hint_name(df.id)), u64::MAX, &mut report)?;
            }
        }
        if let Some(active) = active {
            let to = join(&tmp, &data_name(active.id));
            copy_prefix(storage, &active.path, &to, end, &mut report)?;
        }
        storage.sync_dir(&tmp).map_err(io_err("syncing directory", &tmp))?;
        storage.rename(&tmp, dest).map_err(io_err("renaming", &tmp))?;
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            storage.sync_dir(parent).map_err(io_err("syncing directory", parent))?;
        }
        Ok(report)
    }

    /// The point of the history the backup copies: the sealed files, the active file and
    /// the end of its last complete write, taken together under the writer lock.
    fn backup_point(&self) -> Result<BackupPoint> {
        let active_now = self.log.active_and_end();
        let table = self.index.file_table();
        // Read-only, the newest file may still grow under another process's writer: it is
        // copied up to where this handle read it, never linked.
        let newest = || table.values().last().map(|f| (Arc::clone(f), f.end()));
        let (active, end) = active_now.or_else(newest).unzip();
        let end = end.unwrap_or(0);
        let active_id = active.as_ref().map(|a| a.id);
        let sealed =
            table.values().into_iter().filter(|f| Some(f.id) != active_id).cloned().collect();
        Ok((sealed, active, end))
    }

    fn link_or_copy(
        &self,
        from: &Path,
        to: &Path,
        len: u64,
        report: &mut BackupReport,
    ) -> Result<()> {
        if self.storage.hard_link(from, to).is_ok() {
            report.files_linked += 1;
            return Ok(());
        }
        copy_prefix(self.storage.as_ref(), from, to, len, report)
    }
}

/// The temporary directory a backup to `dest` is built in.
fn tmp_dir(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".backup-tmp");
    dest.with_file_name(name)
}

/// Copies the first `len` bytes of `from` (all of it if shorter) to a new file `to`,
/// synced.
fn copy_prefix(
    storage: &dyn Storage,
    from: &Path,
    to: &Path,
    len: u64,
    report: &mut BackupReport,
) -> Result<()> {
    let src = storage.open(from, OpenMode::Read).map_err(io_err("opening", from))?;
    let len = len.min(src.len().map_err(io_err("reading the length of", from))?);
    let dst = storage.open(to, OpenMode::CreateNew).map_err(io_err("creating", to))?;
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut at = 0;
    while at < len {
        let n = COPY_CHUNK.min((len - at) as usize);
        src.read_at(&mut buf[..n], at).map_err(io_err("reading", from))?;
        dst.write_at(&buf[..n], at).map_err(io_err("writing", to))?;
        at += n as u64;
    }
    dst.sync_data().map_err(io_err("syncing", to))?;
    report.files_copied += 1;
    report.bytes_copied += len;
    Ok(())
}
