//! An in-memory [`Storage`] that remembers what is durable, so tests can simulate a process
//! kill or a power loss at any point, inject I/O errors at the Nth operation, and check the
//! order of operations.
//!
//! The model follows POSIX semantics as a careful engine must assume them:
//! - a write is visible to every handle at once, but survives power loss only after
//!   `sync_data` of that file;
//! - a create, rename or remove survives power loss only after `sync_dir` of its directory;
//! - a removed file stays readable through handles opened before the removal.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcask_core::storage::{
    LockGuard, MappedSink, MappedView, Mapping, OpenMode, Storage, StorageFile, WriteMap,
};

/// The error a fault injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `EIO`: an I/O error.
    Eio,
    /// `ENOSPC`: no space left on the device.
    Enospc,
}

impl Fault {
    fn error(self) -> io::Error {
        match self {
            Fault::Eio => io::Error::from_raw_os_error(libc::EIO),
            Fault::Enospc => io::Error::from_raw_os_error(libc::ENOSPC),
        }
    }
}

/// When and how operations fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The index (0-based, counting from when the plan was set) of the first operation that
    /// fails.
    pub at_op: u64,
    /// The error returned.
    pub fault: Fault,
    /// If true every later operation fails too; otherwise only the one.
    pub persistent: bool,
    /// If true reads are counted and can fail; otherwise only mutating operations do.
    pub reads: bool,
}

/// How a simulated power loss treats writes that were not covered by a `sync_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLoss {
    /// Every unsynced write is lost.
    DropUnsynced,
    /// A random prefix of each file's unsynced writes survives.
    KeepRandomPrefix,
    /// A random prefix survives and the next write lands torn: part of it written, the rest
    /// of its last 512-byte sector filled with garbage.
    TornWrite,
}

/// One recorded mutating operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A file was created.
    Create(PathBuf),
    /// `len` bytes written at `offset`.
    Write(PathBuf, u64, usize),
    /// The file's length set.
    SetLen(PathBuf, u64),
    /// Space allocated up to a length (the file grows with zeros, as with `fallocate`).
    Preallocate(PathBuf, u64),
    /// The file's data synced.
    Sync(PathBuf),
    /// The directory synced.
    SyncDir(PathBuf),
    /// A rename.
    Rename(PathBuf, PathBuf),
    /// A remove.
    Remove(PathBuf),
}

#[derive(Debug, Clone)]
enum Pending {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default, Clone)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
    /// How many pending operations were ever made durable (the index of `pending[0]`), so
    /// that syncs finishing out of order never undo each other.
    synced_ops: u64,
}

#[derive(Debug, Default, Clone)]
struct State {
    inodes: HashMap<u64, Inode>,
    names: HashMap<PathBuf, u64>,
    durable_names: HashMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    next_inode: u64,
    epoch: u64,
    ops: u64,
    plan: Option<FaultPlan>,
    plan_fired: bool,
    log: Vec<Op>,
    locks: BTreeSet<PathBuf>,
    rng: u64,
    sync_delay: std::time::Duration,
    capacity: Option<u64>,
    mapped_reads: u64,
}

impl State {
    /// Counts an operation and decides whether it fails.
    fn fault(&mut self, is_read: bool) -> io::Result<()> {
        let Some(plan) = self.plan else { return Ok(()) };
        if is_read && !plan.reads {
            return Ok(());
        }
        let n = self.ops;
        self.ops += 1;
        if n == plan.at_op || (plan.persistent && n > plan.at_op) {
            self.plan_fired = true;
            return Err(plan.fault.error());
        }
        Ok(())
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn apply(data: &mut Vec<u8>, p: &Pending) {
    match p {
        Pending::Write(off, bytes) => {
            let off = *off as usize;
            if data.len() < off + bytes.len() {
                data.resize(off + bytes.len(), 0);
            }
            data[off..off + bytes.len()].copy_from_slice(bytes);
        }
        Pending::SetLen(len) => data.resize(*len as usize, 0),
    }
}

/// Records a write of `bytes` at `offset` to `inode`: visible at once, durable after a sync.
fn push_write(s: &mut State, inode: u64, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
    s.log.push(Op::Write(path.to_path_buf(), offset, bytes.len()));
    let inode = s.inodes.get_mut(&inode).ok_or_else(not_found)?;
    let p = Pending::Write(offset, bytes.to_vec());
    apply(&mut inode.data, &p);
    inode.pending.push(p);
    Ok(())
}

/// The simulated storage. Cloning gives another handle on the same simulated disk.
#[derive(Clone, Default)]
pub struct SimStorage {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimStorage")
    }
}

impl SimStorage {
    /// An empty simulated disk whose random choices follow `seed`.
    pub fn new(seed: u64) -> SimStorage {
        let s = SimStorage::default();
        s.lock().rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        s
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs a fault plan (and restarts the operation count), or removes it with `None`.
    pub fn set_faults(&self, plan: Option<FaultPlan>) {
        let mut s = self.lock();
        s.plan = plan;
        s.ops = 0;
        s.plan_fired = false;
    }

    /// An independent copy of this disk as it is now (a new process would see it): open
    /// handles and locks of the original are not carried over.
    pub fn fork(&self) -> SimStorage {
        let mut st = self.lock().clone();
        st.epoch += 1;
        st.locks.clear();
        st.plan = None;
        st.log.clear();
        SimStorage { state: Arc::new(Mutex::new(st)) }
    }

    /// Limits the bytes all files together may hold (`None`: unlimited). A write past the
    /// limit stores what fits and fails with `ENOSPC`, as a full disk does.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock().capacity = bytes;
    }

    /// Makes every `sync_data` take at least `d` (like a real disk's flush), so tests can
    /// observe syncs being shared.
    pub fn set_sync_delay(&self, d: std::time::Duration) {
        self.lock().sync_delay = d;
    }

    /// True once the installed plan has failed an operation.
    pub fn fault_fired(&self) -> bool {
        self.lock().plan_fired
    }

    /// Operations counted since the plan was installed.
    pub fn op_count(&self) -> u64 {
        self.lock().ops
    }

    /// The mutating operations recorded so far.
    pub fn log(&self) -> Vec<Op> {
        self.lock().log.clone()
    }

    /// Reads served through a mapping (see [`StorageFile::map`]) so far.
    pub fn mapped_reads(&self) -> u64 {
        self.lock().mapped_reads
    }

    /// Forgets the recorded operations.
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// The process dies (`kill -9`): every handle and lock it held stops working, but every
    /// write it made is kept (the kernel has it).
    pub fn kill_process(&self) {
        let mut s = self.lock();
        s.epoch += 1;
        s.locks.clear();
        s.plan = None;
    }

    /// The machine loses power: the process dies and every file and directory entry goes
    /// back to its durable state, as `mode` says.
    pub fn power_loss(&self, mode: PowerLoss) {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.epoch += 1;
        s.locks.clear();
        s.plan = None;
        let ids: Vec<u64> = s.inodes.keys().copied().collect();
        for id in ids {
            let n_pending = s.inodes.get(&id).map_or(0, |i| i.pending.len());
            let keep = match mode {
                PowerLoss::DropUnsynced => 0,
                _ if n_pending == 0 => 0,
                _ => (s.rand() % (n_pending as u64 + 1)) as usize,
            };
            let torn_seed = s.rand();
            let Some(inode) = s.inodes.get_mut(&id) else { continue };
            let mut data = std::mem::take(&mut inode.durable);
            let pending = std::mem::take(&mut inode.pending);
            for p in pending.iter().take(keep) {
                apply(&mut data, p);
            }
            if mode == PowerLoss::TornWrite {
                if let Some(Pending::Write(off, bytes)) = pending.get(keep) {
                    if !bytes.is_empty() {
                        // Part of the write lands; the rest of its last sector is garbage.
                        let cut = (torn_seed % bytes.len() as u64) as usize;
                        let sector_end = ((*off as usize + cut) / 512 + 1) * 512;
                        let garbage_end = sector_end.min(*off as usize + bytes.len());
                        let mut torn = bytes[..cut].to_vec();
                        let mut x = torn_seed | 1;
                        while torn.len() < garbage_end - *off as usize {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            torn.push(x as u8);
                        }
                        apply(&mut data, &Pending::Write(*off, torn));
                    }
                }
            }
            inode.data = data.clone();
            inode.durable = data;
        }
        s.names = s.durable_names.clone();
    }

    /// The current contents of `path`, if it exists.
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        let id = s.names.get(path)?;
        s.inodes.get(id).map(|i| i.data.clone())
    }

    /// Replaces the contents of `path` (creating it), durably. For tests that damage files.
    pub fn write_file(&self, path: &Path, data: &[u8]) {
        let mut guard = self.lock();
        let s = &mut *guard;
        let id = match s.names.get(path) {
            Some(id) => *id,
            None => {
                s.next_inode += 1;
                let id = s.next_inode;
                s.names.insert(path.to_path_buf(), id);
                s.durable_names.insert(path.to_path_buf(), id);
                id
            }
        };
        let inode = s.inodes.entry(id).or_default();
        inode.data = data.to_vec();
        inode.durable = data.to_vec();
        inode.pending.clear();
    }

    /// Durably removes `path`. For tests.
    pub fn delete_file(&self, path: &Path) {
        let mut s = self.lock();
        s.names.remove(path);
        s.durable_names.remove(path);
    }

    /// The names of the files in `dir`, sorted.
    pub fn files(&self, dir: &Path) -> Vec<String> {
        let s = self.lock();
        let mut v: Vec<String> = s
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    }

    /// Total bytes of the files in `dir`.
    pub fn disk_usage(&self, dir: &Path) -> u64 {
        let s = self.lock();
        s.names
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .filter_map(|(_, id)| s.inodes.get(id))
            .map(|i| i.data.len() as u64)
            .sum()
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

fn dead() -> io::Error {
    io::Error::other("simulated process is dead")
}

#[derive(Debug)]
struct SimFile {
    sim: SimStorage,
    inode: u64,
    epoch: u64,
    writable: bool,
    path: PathBuf,
}

impl SimFile {
    fn state(&self) -> io::Result<MutexGuard<'_, State>> {
        let s = self.sim.lock();
        if s.epoch != self.epoch {
            return Err(dead());
        }
        Ok(s)
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut s = self.state()?;
        s.fault(true)?;
        let data = &s.inodes.get(&self.inode).ok_or_else(not_found)?.data;
        let start = offset as usize;
        let end = start
            .checked_add(buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let src =
            data.get(start..end).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut guard = self.state()?;
        let s = &mut *guard;
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mut failed = s.fault(false).err();
        // A failing write may still land partly, as a real short write before ENOSPC would.
        let mut bytes = if failed.is_some() { &buf[..buf.len() / 2] } else { buf };
        if let Some(cap) = s.capacity {
            let used: u64 = s.inodes.values().map(|i| i.data.len() as u64).sum();
            let cur = s.inodes.get(&self.inode).map_or(0, |i| i.data.len() as u64);
            let end = offset + bytes.len() as u64;
            let growth = end.saturating_sub(cur);
            if used + growth > cap {
                let room = cap.saturating_sub(used) + cur.saturating_sub(offset.min(cur));
                bytes = &bytes[..(room as usize).min(bytes.len())];
                failed = Some(Fault::Enospc.error());
            }
        }
        push_write(s, self.inode, &self.path, offset, bytes)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn preallocate(&self, len: u64) -> io::Result<()> {
        let mut guard = self.state()?;
        let s = &mut *guard;
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        s.fault(false)?;
        let cur = s.inodes.get(&self.inode).map_or(0, |i| i.data.len() as u64);
        if len <= cur {
            return Ok(());
        }
        if let Some(cap) = s.capacity {
            let used: u64 = s.inodes.values().map(|i| i.data.len() as u64).sum();
            if used + (len - cur) > cap {
                // fallocate allocates all or nothing.
                return Err(Fault::Enospc.error());
            }
        }
        s.log.push(Op::Preallocate(self.path.clone(), len));
        let inode = s.inodes.get_mut(&self.inode).ok_or_else(not_found)?;
        let p = Pending::SetLen(len);
        apply(&mut inode.data, &p);
        inode.pending.push(p);
        Ok(())
    }

    fn map_for_writes(&self, len: u64) -> io::Result<Option<WriteMap>> {
        drop(self.state()?);
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        let sink = SimWriteMap {
            sim: self.sim.clone(),
            inode: self.inode,
            epoch: self.epoch,
            path: self.path.clone(),
        };
        Ok(Some(WriteMap::from_sink(Arc::new(sink), len)))
    }

    fn len(&self) -> io::Result<u64> {
        let s = self.state()?;
        Ok(s.inodes.get(&self.inode).ok_or_else(not_found)?.data.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut guard = self.state()?;
        let s = &mut *guard;
        s.fault(false)?;
        s.log.push(Op::SetLen(self.path.clone(), len));
        let inode = s.inodes.get_mut(&self.inode).ok_or_else(not_found)?;
        let p = Pending::SetLen(len);
        apply(&mut inode.data, &p);
        inode.pending.push(p);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        // A flush covers the writes made before it started: what lands while the disk is
        // busy (the sync delay) needs the next one.
        let (snapshot, upto, delay) = {
            let mut guard = self.state()?;
            let s = &mut *guard;
            s.fault(false)?;
            s.log.push(Op::Sync(self.path.clone()));
            let inode = s.inodes.get(&self.inode).ok_or_else(not_found)?;
            (inode.data.clone(), inode.synced_ops + inode.pending.len() as u64, s.sync_delay)
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut guard = self.state()?;
        let inode = guard.inodes.get_mut(&self.inode).ok_or_else(not_found)?;
        if upto > inode.synced_ops {
            // A later sync may have finished first; then this one adds nothing.
            let n = ((upto - inode.synced_ops) as usize).min(inode.pending.len());
            inode.pending.drain(..n);
            inode.synced_ops = upto;
            inode.durable = snapshot;
        }
        Ok(())
    }

    fn map(&self, len: u64) -> io::Result<Option<Mapping>> {
        drop(self.state()?);
        let view = SimMap { sim: self.sim.clone(), inode: self.inode, epoch: self.epoch, len };
        Ok(Some(Mapping::from_view(Arc::new(view))))
    }
}

/// A shared mapping of a simulated file's first `len` bytes: it sees every write at once,
/// as a `MAP_SHARED` mapping sees the page cache.
struct SimMap {
    sim: SimStorage,
    inode: u64,
    epoch: u64,
    len: u64,
}

impl MappedView for SimMap {
    fn with_range(&self, start: usize, len: usize, f: &mut dyn FnMut(&[u8])) -> bool {
        let Some(end) = start.checked_add(len) else { return false };
        if end as u64 > self.len {
            return false;
        }
        let mut s = self.sim.lock();
        if s.epoch != self.epoch {
            // The process that mapped the file is dead.
            return false;
        }
        let Some(inode) = s.inodes.get(&self.inode) else { return false };
        let Some(bytes) = inode.data.get(start..end) else {
            // A real mapping raises SIGBUS here and the process dies; the engine must never
            // read mapped bytes past a file's end.
            panic!(
                "SIGBUS: mapped read of {start}..{end} past the end of a {}-byte file",
                inode.data.len()
            );
        };
        f(bytes);
        s.mapped_reads += 1;
        true
    }
}

/// A shared writable mapping of a simulated file: a copy into it is a write to the page
/// cache (as `pwrite`), with no space check (the space was preallocated) and a `SIGBUS`
/// (a panic) past the file's end. An injected fault models the process killed mid-copy:
/// half the bytes land and the copy reports an error.
struct SimWriteMap {
    sim: SimStorage,
    inode: u64,
    epoch: u64,
    path: PathBuf,
}

impl MappedSink for SimWriteMap {
    fn write(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut guard = self.sim.lock();
        let s = &mut *guard;
        if s.epoch != self.epoch {
            return Err(dead());
        }
        let len = s.inodes.get(&self.inode).map_or(0, |i| i.data.len());
        let end = offset as usize + bytes.len();
        if end > len {
            panic!("SIGBUS: mapped write of {offset}..{end} past the end of a {len}-byte file");
        }
        let failed = s.fault(false).err();
        let bytes = if failed.is_some() { &bytes[..bytes.len() / 2] } else { bytes };
        push_write(s, self.inode, &self.path, offset, bytes)?;
        failed.map_or(Ok(()), Err)
    }
}

struct SimLock {
    sim: SimStorage,
    path: PathBuf,
    epoch: u64,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut s = self.sim.lock();
        if s.epoch == self.epoch {
            s.locks.remove(&self.path);
        }
    }
}

impl Storage for SimStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        if s.names.contains_key(dir) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        s.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        let s = self.lock();
        if s.dirs.contains(path) {
            Ok(true)
        } else if s.names.contains_key(path) {
            Ok(false)
        } else {
            Err(not_found())
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        if !self.lock().dirs.contains(dir) {
            return Err(not_found());
        }
        Ok(self.files(dir))
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let existing = s.names.get(path).copied();
        let inode = match (mode, existing) {
            (OpenMode::Read | OpenMode::ReadWrite, Some(id)) => id,
            (OpenMode::Read | OpenMode::ReadWrite, None) => return Err(not_found()),
            (OpenMode::CreateNew, Some(_)) => {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists))
            }
            (OpenMode::CreateNew | OpenMode::CreateTruncate, _) => {
                s.fault(false)?;
                s.log.push(Op::Create(path.to_path_buf()));
                s.next_inode += 1;
                let id = s.next_inode;
                s.inodes.insert(id, Inode::default());
                s.names.insert(path.to_path_buf(), id);
                id
            }
        };
        Ok(Arc::new(SimFile {
            sim: self.clone(),
            inode,
            epoch: s.epoch,
            writable: mode != OpenMode::Read,
            path: path.to_path_buf(),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.fault(false)?;
        s.log.push(Op::Remove(path.to_path_buf()));
        s.names.remove(path).map(|_| ()).ok_or_else(not_found)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.fault(false)?;
        s.log.push(Op::Rename(from.to_path_buf(), to.to_path_buf()));
        let id = s.names.remove(from).ok_or_else(not_found)?;
        s.names.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.fault(false)?;
        s.log.push(Op::SyncDir(dir.to_path_buf()));
        s.durable_names.retain(|p, _| p.parent() != Some(dir));
        for (p, id) in &s.names {
            if p.parent() == Some(dir) {
                s.durable_names.insert(p.clone(), *id);
            }
        }
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.fault(false)?;
        s.log.push(Op::Create(to.to_path_buf()));
        if s.names.contains_key(to) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        let id = *s.names.get(from).ok_or_else(not_found)?;
        s.names.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn try_lock(&self, path: &Path) -> io::Result<Option<LockGuard>> {
        let mut s = self.lock();
        if !s.locks.insert(path.to_path_buf()) {
            return Ok(None);
        }
        Ok(Some(Box::new(SimLock { sim: self.clone(), path: path.to_path_buf(), epoch: s.epoch })))
    }
}
