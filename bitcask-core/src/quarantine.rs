//! Setting damaged bytes aside: before open cuts a datafile's tail or skips a damaged region
//! of it, the bytes are copied into a quarantine file of the store's directory, named after
//! the datafile and the offset (`<file id>-<offset>.quarantine`), and made durable. Nothing
//! open removes from a datafile is ever destroyed: an operator can always get it back.

use std::path::{Path, PathBuf};

use crate::durable_file::{write_file_with, DirSync};
use crate::error::Result;
use crate::files::{quarantine_name, FileId};
use crate::storage::{Storage, StorageFile};
use crate::util::io_err;

/// Bytes are copied this many at a time.
const CHUNK: u64 = 1 << 20;

/// Copies `[offset, offset + len)` of datafile `id` into its quarantine file: written under
/// a temporary name, synced, renamed into place, the directory synced. Returns the path.
/// Done again after a crash, it writes the same bytes under the same name.
pub(crate) fn set_aside(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data: &dyn StorageFile,
    data_path: &Path,
    offset: u64,
    len: u64,
) -> Result<PathBuf> {
    let name = quarantine_name(id, offset);
    write_file_with(storage, dir, &name, DirSync::Yes, |out, tmp| {
        let mut buf = Vec::new();
        let mut done = 0;
        while done < len {
            let n = CHUNK.min(len - done);
            buf.resize(n as usize, 0);
            data.read_at(&mut buf, offset + done).map_err(io_err("reading", data_path))?;
            out.write_at(&buf, done).map_err(io_err("writing", tmp))?;
            done += n;
        }
        Ok(())
    })
}
