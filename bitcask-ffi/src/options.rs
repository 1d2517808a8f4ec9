//! `bc_options`: the options of `bc_open`, and their defaults.

use bitcask_core::{Options, RecoveryMode, SyncPolicy};

use crate::status::bc_status::{self, *};
use crate::status::{guard, set_error};

/// When writes are synced (`bc_options.sync_policy`).
pub const BC_SYNC_NEVER: u32 = 0;

/// Every write is synced before it returns (concurrent writers share syncs).
pub const BC_SYNC_ALWAYS: u32 = 1;

/// A background thread syncs every `sync_interval_ms` milliseconds.
pub const BC_SYNC_EVERY_MS: u32 = 2;

/// Options of `bc_open`. Initialize with `bc_options_default`, then change fields. A zero
/// in a size field means the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bc_options {
    /// Rotate the active datafile once it would exceed this many bytes: 64 to 4294967295
    /// (default 256 MiB).
    pub max_file_size: u64,
    /// `BC_SYNC_NEVER`, `BC_SYNC_ALWAYS` or `BC_SYNC_EVERY_MS`.
    pub sync_policy: u32,
    /// Interval for `BC_SYNC_EVERY_MS`: at least 1.
    pub sync_interval_ms: u64,
    /// Longest key accepted: 1 to 65536 (the default).
    pub max_key_size: u32,
    /// Longest value accepted: 0 to 268435456 (256 MiB, the default).
    pub max_value_size: u32,
    /// Skip (and report) corrupt records in sealed files instead of failing the open.
    pub skip_corrupt: bool,
    /// Run merges in a background thread when the default triggers fire.
    pub background_merge: bool,
    /// Read records through memory maps (`true` in `bc_options_default`): faster gets, but
    /// if another program truncates a datafile of the open store, or the disk fails a read,
    /// the process gets `SIGBUS`. With `false` every read is a `pread` and such failures
    /// are `BC_IO` results.
    pub mmap_reads: bool,
    /// Append through a shared writable memory map of preallocated space (`true` in
    /// `bc_options_default`): no system call per put. A full disk is a `BC_IO` result at
    /// preallocation; the active datafile carries up to 4 MiB of zeros while open. With
    /// `false` every write is a `pwrite`.
    pub mmap_writes: bool,
    /// 0 (the default): open the store's layout as found (a plain store, or a sharded one
    /// as `bitcask-server` writes), creating a plain store if there is none. N: a sharded
    /// store of N shards (a power of two up to 1024), created if missing; an existing store
    /// must have N.
    pub shards: u32,
}

pub(crate) fn to_options(o: Option<&bc_options>) -> Result<Options, bc_status> {
    let mut opts = Options::default();
    let Some(o) = o else { return Ok(opts) };
    if o.max_file_size != 0 {
        opts.max_file_size = o.max_file_size;
    }
    opts.sync = match o.sync_policy {
        BC_SYNC_NEVER => SyncPolicy::Never,
        BC_SYNC_ALWAYS => SyncPolicy::Always,
        BC_SYNC_EVERY_MS => SyncPolicy::EveryMillis(o.sync_interval_ms),
        other => {
            set_error(format!("unknown sync_policy {other}"));
            return Err(BC_INVALID_ARGUMENT);
        }
    };
    if o.max_key_size != 0 {
        opts.max_key_size = o.max_key_size as usize;
    }
    if o.max_value_size != 0 {
        opts.max_value_size = o.max_value_size as usize;
    }
    if o.skip_corrupt {
        opts.recovery = RecoveryMode::SkipCorrupt;
    }
    opts.merge.background = o.background_merge;
    opts.mmap_reads = o.mmap_reads;
    opts.mmap_writes = o.mmap_writes;
    Ok(opts)
}

/// The shard count `bc_options.shards` asks for (`None`: the layout found).
pub(crate) fn shards_of(o: Option<&bc_options>) -> Option<u32> {
    o.map(|o| o.shards).filter(|&n| n != 0)
}

/// Fills `out` with the default options.
///
/// # Safety
/// `out` must point to writable memory for a `bc_options`.
#[no_mangle]
pub unsafe extern "C" fn bc_options_default(out: *mut bc_options) -> bc_status {
    guard(|| {
        check_null!(out);
        let d = Options::default();
        let o = bc_options {
            max_file_size: d.max_file_size,
            sync_policy: BC_SYNC_NEVER,
            sync_interval_ms: 0,
            max_key_size: d.max_key_size as u32,
            max_value_size: d.max_value_size as u32,
            skip_corrupt: false,
            background_merge: false,
            mmap_reads: d.mmap_reads,
            mmap_writes: d.mmap_writes,
            shards: 0,
        };
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { out.write(o) };
        BC_OK
    })
}
