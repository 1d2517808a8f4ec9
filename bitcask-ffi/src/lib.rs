//! C ABI of the bitcask storage engine.
//!
//! Every exported function runs inside a panic boundary (a panic becomes `BC_PANIC`), checks
//! every pointer (`BC_NULL_POINTER`), writes out-parameters only on success, and records a
//! message for [`bc_last_error`] on failure. The header `include/bitcask.h` is generated from
//! this file by cbindgen; the C contract is in the repository README ("C API").
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use bitcask_core::{Bitcask, Error, Options, RecoveryMode, SyncPolicy, WriteBatch};

/// Result of every call. The numbers are fixed and never reused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_status {
    /// Success.
    BC_OK = 0,
    /// The key is not present.
    BC_NOT_FOUND = 1,
    /// A required pointer was NULL.
    BC_NULL_POINTER = 2,
    /// An argument is invalid (empty key, bad option, invalid UTF-8 where text is needed).
    BC_INVALID_ARGUMENT = 3,
    /// An operating-system I/O error.
    BC_IO = 4,
    /// Stored data failed its checksum or structure checks.
    BC_CORRUPTION = 5,
    /// Another writer holds the store.
    BC_LOCKED = 6,
    /// The key is longer than the store's limit.
    BC_KEY_TOO_LARGE = 7,
    /// The value is longer than the store's limit.
    BC_VALUE_TOO_LARGE = 8,
    /// A write on a store opened read-only.
    BC_READ_ONLY = 9,
    /// The caller's buffer is too small; the needed size was reported.
    BC_BUFFER_TOO_SMALL = 10,
    /// A bug: the library panicked. The handle may be used again, but report it.
    BC_PANIC = 11,
    /// An earlier write or sync failed; writes are refused until the store is reopened.
    BC_POISONED = 12,
    /// A file was written by a newer format version.
    BC_UNSUPPORTED_VERSION = 13,
    /// The iterator has no more items.
    BC_ITER_END = 14,
    /// The store was closed.
    BC_CLOSED = 15,
}

use bc_status::*;

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
    /// Rotate the active datafile once it would exceed this many bytes (default 256 MiB).
    pub max_file_size: u64,
    /// `BC_SYNC_NEVER`, `BC_SYNC_ALWAYS` or `BC_SYNC_EVERY_MS`.
    pub sync_policy: u32,
    /// Interval for `BC_SYNC_EVERY_MS`.
    pub sync_interval_ms: u64,
    /// Longest key accepted (default and maximum 65536).
    pub max_key_size: u32,
    /// Longest value accepted (default and maximum 256 MiB).
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
}

/// Store statistics (filled by `bc_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct bc_store_stats {
    /// Live keys.
    pub keys: u64,
    /// Datafiles.
    pub files: u64,
    /// Bytes of records holding current values.
    pub live_bytes: u64,
    /// Bytes of superseded records and tombstones.
    pub dead_bytes: u64,
    /// Bytes of all datafiles.
    pub disk_bytes: u64,
}

/// What `bc_merge` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct bc_merge_report {
    /// Datafiles merged and deleted.
    pub files_in: u64,
    /// Datafiles written.
    pub files_out: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Bytes freed.
    pub bytes_reclaimed: u64,
    /// Live records copied.
    pub keys_moved: u64,
    /// Duration in microseconds.
    pub duration_us: u64,
}

/// An open store. Opaque; use from many threads at once.
pub struct bc_db {
    db: Bitcask,
}

/// A batch of puts and deletes applied atomically by `bc_write`. Opaque.
pub struct bc_batch {
    batch: WriteBatch,
}

/// A snapshot iterator over key/value pairs, in key order. Opaque.
pub struct bc_iter {
    iter: bitcask_core::Iter,
    current: Option<(Vec<u8>, Vec<u8>)>,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: impl Into<Vec<u8>>) {
    let mut bytes = msg.into();
    bytes.retain(|&b| b != 0);
    let c = CString::new(bytes).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn status_of(e: &Error) -> bc_status {
    match e {
        Error::Io { .. } | Error::NotADirectory { .. } | Error::NotFound { .. } => BC_IO,
        Error::Corruption { .. } => BC_CORRUPTION,
        Error::UnsupportedVersion { .. } => BC_UNSUPPORTED_VERSION,
        Error::Locked { .. } => BC_LOCKED,
        Error::ReadOnly => BC_READ_ONLY,
        Error::Poisoned { .. } => BC_POISONED,
        Error::KeyTooLarge { .. } => BC_KEY_TOO_LARGE,
        Error::ValueTooLarge { .. } => BC_VALUE_TOO_LARGE,
        Error::Closed => BC_CLOSED,
        _ => BC_INVALID_ARGUMENT,
    }
}

fn fail(e: Error) -> bc_status {
    set_error(e.to_string());
    status_of(&e)
}

fn null(what: &str) -> bc_status {
    set_error(format!("{what} is NULL"));
    BC_NULL_POINTER
}

/// Runs `f` inside the panic boundary.
fn guard(f: impl FnOnce() -> bc_status) -> bc_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(s) => s,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(format!("internal panic: {msg}"));
            BC_PANIC
        }
    }
}

macro_rules! check_null {
    ($($p:ident),+) => {
        $(if $p.is_null() { return null(stringify!($p)); })+
    };
}

/// A byte slice from a pointer and length; NULL is allowed only for length 0.
///
/// # Safety
/// `ptr` must be valid for `len` bytes when non-NULL.
unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], bc_status> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null(what));
    }
    // SAFETY: the caller promises `ptr` is valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key: NULL is never allowed.
unsafe fn key_bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], bc_status> {
    if ptr.is_null() {
        return Err(null("key"));
    }
    // SAFETY: as above.
    unsafe { bytes(ptr, len, "key") }
}

fn to_options(o: Option<&bc_options>) -> Result<Options, bc_status> {
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
    Ok(opts)
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
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
        };
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { out.write(o) };
        BC_OK
    })
}

unsafe fn open_impl(
    path: *const c_char,
    options: *const bc_options,
    out: *mut *mut bc_db,
    read_only: bool,
) -> bc_status {
    guard(|| {
        check_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a NUL-terminated string.
        let path = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(path) }.to_bytes()));
        // SAFETY: NULL means defaults; otherwise the caller promises a valid struct.
        let opts = tri!(to_options(unsafe { options.as_ref() }));
        let db =
            if read_only { Bitcask::open_read_only(path, opts) } else { Bitcask::open(path, opts) };
        match db {
            Ok(db) => {
                // SAFETY: checked non-NULL.
                unsafe { out.write(Box::into_raw(Box::new(bc_db { db }))) };
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Opens (creating if missing) the store in directory `path` for reading and writing.
/// `options` may be NULL for defaults. On success `*out` holds a handle to free with
/// `bc_close`. `BC_LOCKED` if another writer holds the store.
///
/// # Safety
/// `path` must be a NUL-terminated string; `options` NULL or valid; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_open(
    path: *const c_char,
    options: *const bc_options,
    out: *mut *mut bc_db,
) -> bc_status {
    // SAFETY: forwarded contract.
    unsafe { open_impl(path, options, out, false) }
}

/// Opens an existing store read-only; works beside a writer and sees the state at open.
///
/// # Safety
/// As `bc_open`.
#[no_mangle]
pub unsafe extern "C" fn bc_open_read_only(
    path: *const c_char,
    options: *const bc_options,
    out: *mut *mut bc_db,
) -> bc_status {
    // SAFETY: forwarded contract.
    unsafe { open_impl(path, options, out, true) }
}

/// Closes the store: syncs, writes the hint file, releases the lock, frees the handle.
/// NULL is a no-op. The handle is freed even when an error is returned. `BC_OK` means
/// everything acknowledged is durable; after an earlier failed write or sync it returns
/// `BC_POISONED` (what was acknowledged since the last successful sync may be lost).
///
/// # Safety
/// `db` must come from `bc_open`/`bc_open_read_only`, not be closed twice, and not be in use
/// by another thread.
#[no_mangle]
pub unsafe extern "C" fn bc_close(db: *mut bc_db) -> bc_status {
    guard(|| {
        if db.is_null() {
            return BC_OK;
        }
        // SAFETY: the caller hands over ownership of a handle from bc_open.
        let db = unsafe { Box::from_raw(db) };
        match db.db.close() {
            Ok(()) => BC_OK,
            Err(e) => fail(e),
        }
    })
}

/// Borrows the handle.
unsafe fn db_ref<'a>(db: *const bc_db) -> Result<&'a Bitcask, bc_status> {
    // SAFETY: the caller promises a live handle when non-NULL.
    match unsafe { db.as_ref() } {
        Some(d) => Ok(&d.db),
        None => Err(null("db")),
    }
}

/// Stores `value` under `key`. `value` may be NULL when `value_len` is 0.
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; `value` for `value_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn bc_put(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (db, key, value) = unsafe {
            (
                tri!(db_ref(db)),
                tri!(key_bytes(key, key_len)),
                tri!(bytes(value, value_len, "value")),
            )
        };
        db.put(key, value).map_or_else(fail, |()| BC_OK)
    })
}

/// Stores `value` under `key`; the key disappears `ttl_ms` milliseconds from now.
///
/// # Safety
/// As `bc_put`.
#[no_mangle]
pub unsafe extern "C" fn bc_put_ttl(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (db, key, value) = unsafe {
            (
                tri!(db_ref(db)),
                tri!(key_bytes(key, key_len)),
                tri!(bytes(value, value_len, "value")),
            )
        };
        db.put_with_ttl(key, value, Duration::from_millis(ttl_ms)).map_or_else(fail, |()| BC_OK)
    })
}

/// Copies `v` into a buffer from `malloc` (never NULL, also for an empty value).
fn malloc_copy(v: &[u8]) -> Option<*mut u8> {
    // SAFETY: malloc of at least one byte; checked for NULL before use.
    let p = unsafe { libc::malloc(v.len().max(1)) }.cast::<u8>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` has room for `v.len()` bytes and does not overlap `v`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
    Some(p)
}

/// Looks up `key`. On success `*value_out` points to a new buffer of `*value_len_out` bytes
/// (never NULL, also for an empty value) that the caller frees with `bc_free_value`.
/// `BC_NOT_FOUND` when the key is absent (out-parameters untouched).
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; both out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn bc_get(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    value_out: *mut *mut u8,
    value_len_out: *mut usize,
) -> bc_status {
    guard(|| {
        check_null!(value_out, value_len_out);
        // SAFETY: forwarded contract.
        let v = tri!(unsafe { lookup(db, key, key_len) });
        let Some(p) = malloc_copy(&v) else {
            set_error("out of memory");
            return BC_IO;
        };
        // SAFETY: checked non-NULL.
        unsafe {
            value_out.write(p);
            value_len_out.write(v.len());
        }
        BC_OK
    })
}

/// The value of `key`, or the status to return (`BC_NOT_FOUND` with its message, or the
/// error's status).
///
/// # Safety
/// `db` NULL or a live handle; `key` NULL or valid for `key_len` bytes.
unsafe fn lookup(db: *const bc_db, key: *const u8, key_len: usize) -> Result<Vec<u8>, bc_status> {
    // SAFETY: forwarded contract.
    let (db, key) = unsafe { (db_ref(db)?, key_bytes(key, key_len)?) };
    match db.get(key) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => {
            set_error("key not found");
            Err(BC_NOT_FOUND)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Looks up `key` and copies its value into the caller's buffer `buf` of `buf_len` bytes.
/// `*value_len_out` receives the value's length on success, and also with
/// `BC_BUFFER_TOO_SMALL` (then nothing is copied: call again with a buffer that large).
/// `buf` may be NULL when `buf_len` is 0, to ask for the size.
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; `buf` writable for `buf_len` bytes;
/// `value_len_out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_get_into(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    value_len_out: *mut usize,
) -> bc_status {
    guard(|| {
        check_null!(value_len_out);
        if buf.is_null() && buf_len != 0 {
            return null("buf");
        }
        // SAFETY: forwarded contract.
        let v = tri!(unsafe { lookup(db, key, key_len) });
        // SAFETY: checked non-NULL.
        unsafe { value_len_out.write(v.len()) };
        if v.len() > buf_len {
            set_error(format!("value of {} bytes does not fit a buffer of {buf_len}", v.len()));
            return BC_BUFFER_TOO_SMALL;
        }
        if !v.is_empty() {
            // SAFETY: `buf` is non-NULL here (buf_len >= v.len() > 0) and writable.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len()) };
        }
        BC_OK
    })
}

/// Frees a value returned by `bc_get`. NULL is a no-op.
///
/// # Safety
/// `value` must come from `bc_get` and not be freed twice.
#[no_mangle]
pub unsafe extern "C" fn bc_free_value(value: *mut u8) {
    // SAFETY: allocated by malloc in bc_get.
    unsafe { libc::free(value.cast()) }
}

/// Deletes `key`. `*existed_out` (optional: may be NULL) tells whether it was present.
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; `existed_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bc_delete(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    existed_out: *mut bool,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (db, key) = unsafe { (tri!(db_ref(db)), tri!(key_bytes(key, key_len))) };
        match db.delete(key) {
            Ok(existed) => {
                if !existed_out.is_null() {
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { existed_out.write(existed) };
                }
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Sets `*out` to whether `key` is present (no disk read).
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_contains(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let (db, key) = unsafe { (tri!(db_ref(db)), tri!(key_bytes(key, key_len))) };
        match db.contains(key) {
            Ok(b) => {
                // SAFETY: checked non-NULL.
                unsafe { out.write(b) };
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Makes every acknowledged write durable.
///
/// # Safety
/// `db` a live handle.
#[no_mangle]
pub unsafe extern "C" fn bc_sync(db: *const bc_db) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        db.sync().map_or_else(fail, |()| BC_OK)
    })
}

/// Merges every sealed datafile into compact ones. `report` (optional: may be NULL)
/// receives what was done.
///
/// # Safety
/// `db` a live handle; `report` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bc_merge(db: *const bc_db, report: *mut bc_merge_report) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        match db.merge() {
            Ok(r) => {
                if !report.is_null() {
                    let out = bc_merge_report {
                        files_in: r.files_in as u64,
                        files_out: r.files_out as u64,
                        bytes_read: r.bytes_read,
                        bytes_written: r.bytes_written,
                        bytes_reclaimed: r.bytes_reclaimed,
                        keys_moved: r.keys_moved,
                        duration_us: r.duration.as_micros() as u64,
                    };
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { report.write(out) };
                }
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Fills `*out` with the store's statistics.
///
/// # Safety
/// `db` a live handle; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_stats(db: *const bc_db, out: *mut bc_store_stats) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        let s = db.stats();
        let st = bc_store_stats {
            keys: s.keys,
            files: s.files.len() as u64,
            live_bytes: s.live_bytes,
            dead_bytes: s.dead_bytes,
            disk_bytes: s.disk_bytes,
        };
        // SAFETY: checked non-NULL.
        unsafe { out.write(st) };
        BC_OK
    })
}

/// Creates an empty batch in `*out`, to free with `bc_batch_free`.
///
/// # Safety
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_new(out: *mut *mut bc_batch) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: checked non-NULL.
        unsafe { out.write(Box::into_raw(Box::new(bc_batch { batch: WriteBatch::new() }))) };
        BC_OK
    })
}

unsafe fn batch_mut<'a>(b: *mut bc_batch) -> Result<&'a mut WriteBatch, bc_status> {
    // SAFETY: the caller promises a live batch when non-NULL.
    match unsafe { b.as_mut() } {
        Some(b) => Ok(&mut b.batch),
        None => Err(null("batch")),
    }
}

/// Adds a put to the batch (the bytes are copied).
///
/// # Safety
/// `batch` a live batch; `key`/`value` valid for their lengths (`value` may be NULL for 0).
#[no_mangle]
pub unsafe extern "C" fn bc_batch_put(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (b, key, value) = unsafe {
            (
                tri!(batch_mut(batch)),
                tri!(key_bytes(key, key_len)),
                tri!(bytes(value, value_len, "value")),
            )
        };
        b.put(key, value);
        BC_OK
    })
}

/// Adds a delete to the batch.
///
/// # Safety
/// `batch` a live batch; `key` valid for `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_delete(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (b, key) = unsafe { (tri!(batch_mut(batch)), tri!(key_bytes(key, key_len))) };
        b.delete(key);
        BC_OK
    })
}

/// Frees a batch. NULL is a no-op.
///
/// # Safety
/// `batch` from `bc_batch_new`, not freed twice.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_free(batch: *mut bc_batch) {
    // SAFETY: forwarded contract.
    unsafe { free_box(batch) }
}

/// Frees a handle made by `Box::into_raw` (NULL is a no-op), inside the panic boundary.
///
/// # Safety
/// `ptr` is NULL or came from `Box::into_raw` and is not used again.
unsafe fn free_box<T>(ptr: *mut T) {
    let _ = guard(|| {
        if !ptr.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(ptr) });
        }
        BC_OK
    });
}

/// Applies the batch atomically (all or nothing, also across a crash). On success the
/// batch is emptied and can be reused; on failure it is left as it was.
///
/// # Safety
/// `db` a live handle; `batch` a live batch.
#[no_mangle]
pub unsafe extern "C" fn bc_write(db: *const bc_db, batch: *mut bc_batch) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (db, b) = unsafe { (tri!(db_ref(db)), tri!(batch_mut(batch))) };
        match db.write(b.clone()) {
            Ok(()) => {
                b.clear();
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Creates in `*out` an iterator over a snapshot of the store (key order), to free with
/// `bc_iter_free`.
///
/// # Safety
/// `db` a live handle (it may be closed before the iterator is freed); `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_new(db: *const bc_db, out: *mut *mut bc_iter) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        match db.iter() {
            Ok(iter) => {
                // SAFETY: checked non-NULL.
                unsafe { out.write(Box::into_raw(Box::new(bc_iter { iter, current: None }))) };
                BC_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Advances the iterator. On `BC_OK` the four out-parameters describe the next pair; the
/// pointers stay valid until the next call on this iterator or its free. `BC_ITER_END` when
/// done.
///
/// # Safety
/// `iter` a live iterator; the out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_next(
    iter: *mut bc_iter,
    key_out: *mut *const u8,
    key_len_out: *mut usize,
    value_out: *mut *const u8,
    value_len_out: *mut usize,
) -> bc_status {
    guard(|| {
        check_null!(iter, key_out, key_len_out, value_out, value_len_out);
        // SAFETY: checked non-NULL; live by contract.
        let it = unsafe { &mut *iter };
        match it.iter.next() {
            None => {
                it.current = None;
                BC_ITER_END
            }
            Some(Err(e)) => fail(e),
            Some(Ok(kv)) => {
                let (k, v) = it.current.insert(kv);
                // SAFETY: checked non-NULL.
                unsafe {
                    key_out.write(k.as_ptr());
                    key_len_out.write(k.len());
                    value_out.write(v.as_ptr());
                    value_len_out.write(v.len());
                }
                BC_OK
            }
        }
    })
}

/// Frees an iterator. NULL is a no-op.
///
/// # Safety
/// `iter` from `bc_iter_new`, not freed twice.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_free(iter: *mut bc_iter) {
    // SAFETY: forwarded contract.
    unsafe { free_box(iter) }
}

/// A static, NUL-terminated description of a status number (unknown numbers included).
#[no_mangle]
pub extern "C" fn bc_status_str(status: c_int) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"not found",
        2 => c"null pointer",
        3 => c"invalid argument",
        4 => c"I/O error",
        5 => c"corruption",
        6 => c"store locked by another writer",
        7 => c"key too large",
        8 => c"value too large",
        9 => c"store is read-only",
        10 => c"buffer too small",
        11 => c"internal panic",
        12 => c"writes refused after an I/O failure; reopen the store",
        13 => c"unsupported format version",
        14 => c"end of iteration",
        15 => c"store is closed",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// The message of the last failed call on this thread ("" if none): which file, offset or
/// limit was involved. Valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn bc_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The library version, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn bc_version() -> *const c_char {
    const V: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    V.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_bc_panic_with_a_message() {
        let s = guard(|| panic!("boom"));
        assert_eq!(s, BC_PANIC);
        // SAFETY: bc_last_error returns a valid NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(bc_last_error()) }.to_string_lossy().into_owned();
        assert!(msg.contains("boom"), "{msg}");
    }

    #[test]
    fn every_status_has_its_own_description() {
        let all: Vec<String> = (0..=15)
            // SAFETY: static NUL-terminated strings.
            .map(|s| unsafe { CStr::from_ptr(bc_status_str(s)) }.to_string_lossy().into_owned())
            .collect();
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert_eq!(BC_CLOSED as i32, 15);
        assert_eq!(BC_ITER_END as i32, 14);
    }

    #[test]
    fn an_iterator_outlives_its_closed_store() {
        let t = tempfile::tempdir().unwrap();
        let path = CString::new(t.path().as_os_str().as_bytes()).unwrap();
        let mut db: *mut bc_db = std::ptr::null_mut();
        // SAFETY: valid pointers throughout; handles freed once.
        unsafe {
            assert_eq!(bc_open(path.as_ptr(), std::ptr::null(), &mut db), BC_OK);
            assert_eq!(bc_put(db, b"k".as_ptr(), 1, b"v".as_ptr(), 1), BC_OK);
            let mut it: *mut bc_iter = std::ptr::null_mut();
            assert_eq!(bc_iter_new(db, &mut it), BC_OK);
            assert_eq!(bc_close(db), BC_OK);
            let (mut k, mut kl, mut v, mut vl) = (std::ptr::null(), 0, std::ptr::null(), 0);
            assert_eq!(bc_iter_next(it, &mut k, &mut kl, &mut v, &mut vl), BC_OK);
            assert_eq!(
                (std::slice::from_raw_parts(k, kl), std::slice::from_raw_parts(v, vl)),
                (&b"k"[..], &b"v"[..])
            );
            assert_eq!(bc_iter_next(it, &mut k, &mut kl, &mut v, &mut vl), BC_ITER_END);
            bc_iter_free(it);
        }
    }
}
