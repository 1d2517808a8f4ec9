//! The merge manifest (`MERGE`): the durable record of a merge's commit, naming the files
//! it replaces and the files it adds. Merge writes it; open reads it and finishes or rolls
//! back the merge (docs/durability.md, "Merge protocol").

use std::path::Path;

use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::files::{data_name, hint_name, join, tmp_name, FileId, MANIFEST_NAME};
use crate::storage::{OpenMode, Storage};

/// The committed record of a merge: which files it replaces and which it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub inputs: Vec<FileId>,
    pub outputs: Vec<FileId>,
}

const MANIFEST_MAGIC: &[u8; 8] = b"BCMERGE1";

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&(self.inputs.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.outputs.len() as u32).to_le_bytes());
        for id in self.inputs.iter().chain(&self.outputs) {
            out.extend_from_slice(&id.0.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(buf: &[u8]) -> Option<Manifest> {
        let (body, crc) = buf.split_at_checked(buf.len().checked_sub(4)?)?;
        if crc32fast::hash(body).to_le_bytes() != crc || body.get(..8)? != MANIFEST_MAGIC {
            return None;
        }
        let n_in = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) as usize;
        let n_out = u32::from_le_bytes(body.get(12..16)?.try_into().ok()?) as usize;
        let ids: Vec<FileId> = body
            .get(16..)?
            .chunks_exact(8)
            .map(|c| FileId(u64::from_le_bytes(c.try_into().unwrap_or_default())))
            .collect();
        if ids.len() != n_in + n_out || body.len() != 16 + 8 * ids.len() {
            return None;
        }
        Some(Manifest { inputs: ids[..n_in].to_vec(), outputs: ids[n_in..].to_vec() })
    }

    pub(crate) fn read(storage: &dyn Storage, dir: &Path) -> Result<Manifest> {
        let path = join(dir, MANIFEST_NAME);
        let f = storage.open(&path, OpenMode::Read).map_err(|e| Error::io("opening", &path, e))?;
        let len = f.len().map_err(|e| Error::io("reading the length of", &path, e))?;
        if len > 1 << 24 {
            return Err(Error::corruption(&path, 0, "merge manifest too large"));
        }
        let mut buf = vec![0u8; len as usize];
        f.read_at(&mut buf, 0).map_err(|e| Error::io("reading", &path, e))?;
        Manifest::decode(&buf).ok_or_else(|| Error::corruption(&path, 0, "damaged merge manifest"))
    }

    pub(crate) fn write(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        write_file(storage, dir, MANIFEST_NAME, &self.encode(), DirSync::Yes).map(|_| ())
    }

    /// Renames the outputs into place (steps already done are skipped).
    pub(crate) fn rename_outputs(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        for id in &self.outputs {
            for name in [data_name(*id), hint_name(*id)] {
                let tmp = tmp_name(&name);
                if names.contains(&tmp) {
                    let (from, to) = (join(dir, &tmp), join(dir, &name));
                    storage.rename(&from, &to).map_err(|e| Error::io("renaming", &from, e))?;
                }
            }
        }
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    /// Deletes the inputs and then the manifest.
    pub(crate) fn delete_inputs(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        for id in &self.inputs {
            for name in [data_name(*id), hint_name(*id)] {
                if names.contains(&name) {
                    let p = join(dir, &name);
                    storage.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
                }
            }
        }
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
        let m = join(dir, MANIFEST_NAME);
        storage.remove(&m).map_err(|e| Error::io("removing", &m, e))?;
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    /// Finishes a committed merge found on open. If an output is missing (the merge was
    /// being retracted), the merge is rolled back instead, as long as every input is still
    /// there; otherwise the directory is inconsistent and open fails.
    pub(crate) fn complete(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        let has = |n: &str| names.iter().any(|x| x == n);
        let outputs_there =
            self.outputs.iter().all(|id| has(&data_name(*id)) || has(&tmp_name(&data_name(*id))));
        if !outputs_there {
            if !self.inputs.iter().all(|id| has(&data_name(*id))) {
                return Err(Error::corruption(
                    join(dir, MANIFEST_NAME),
                    0,
                    "merge manifest names missing outputs and missing inputs",
                ));
            }
            for id in &self.outputs {
                for n in [data_name(*id), hint_name(*id)] {
                    for n in [tmp_name(&n), n] {
                        if has(&n) {
                            let p = join(dir, &n);
                            storage.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
                        }
                    }
                }
            }
            let m = join(dir, MANIFEST_NAME);
            storage.remove(&m).map_err(|e| Error::io("removing", &m, e))?;
            return storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e));
        }
        self.rename_outputs(storage, dir)?;
        self.delete_inputs(storage, dir)
    }
}
