//! `bc_db`: opening and closing a store, and its reads, writes, syncs, merges and stats.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use bitcask_core::Store;

use crate::memory::{key_bytes, key_value, malloc_copy, positive_ttl};
use crate::options::{bc_options, shards_of, to_options};
use crate::status::bc_status::{self, *};
use crate::status::{fail, guard, null, set_error};

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

/// What opening the store found (filled by `bc_recovery_report`). All zero for a clean
/// open; the text of each region is in the store's log of the front end (`bitcask check`
/// lists quarantine files).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct bc_recovery_info {
    /// 1 when open found no damage (nothing cut but unused space, nothing skipped, no hint
    /// ignored), else 0.
    pub clean: u32,
    /// Damaged regions cut (a torn tail) or skipped (damage at rest).
    pub damaged_regions: u64,
    /// Bytes cut from the end of the newest datafile.
    pub bytes_truncated: u64,
    /// Bytes of damage at rest skipped (`skip_corrupt`).
    pub bytes_skipped: u64,
    /// Regions whose bytes were set aside in a quarantine file.
    pub quarantined: u64,
    /// Hint files ignored (damaged, or not of their datafile).
    pub hints_ignored: u64,
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
    pub(crate) db: Store,
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
        let o = unsafe { options.as_ref() };
        let opts = tri!(to_options(o));
        let storage = std::sync::Arc::new(bitcask_core::storage::OsStorage);
        let db = Store::open_with_storage(storage, path, opts, shards_of(o), read_only);
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
pub(crate) unsafe fn db_ref<'a>(db: *const bc_db) -> Result<&'a Store, bc_status> {
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
        let (db, (key, value)) =
            unsafe { (tri!(db_ref(db)), tri!(key_value(key, key_len, value, value_len, false))) };
        db.put(key, value).map_or_else(fail, |()| BC_OK)
    })
}

/// Stores `value` under `key`; the key disappears `ttl_ms` milliseconds from now. `ttl_ms`
/// 0 is `BC_INVALID_ARGUMENT`.
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
        let (db, (key, value)) =
            unsafe { (tri!(db_ref(db)), tri!(key_value(key, key_len, value, value_len, false))) };
        let ttl = tri!(positive_ttl(ttl_ms));
        db.put_with_ttl(key, value, ttl).map_or_else(fail, |()| BC_OK)
    })
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
pub(crate) unsafe fn lookup(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
) -> Result<Vec<u8>, bc_status> {
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

/// Fills `*out` with what opening the store found: torn tails cut, damage at rest skipped,
/// bytes set aside in quarantine files, hint files ignored.
///
/// # Safety
/// `db` a live handle; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_recovery_report(
    db: *const bc_db,
    out: *mut bc_recovery_info,
) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        let mut st = bc_recovery_info { clean: 1, ..bc_recovery_info::default() };
        // Every shard's report, summed.
        for (_, r) in db.recovery_reports() {
            st.clean &= u32::from(r.is_clean());
            st.damaged_regions += r.damaged().count() as u64;
            st.bytes_truncated += r.bytes_truncated;
            st.bytes_skipped += r.skipped.iter().map(|d| d.len).sum::<u64>();
            st.quarantined += r.damaged().filter(|d| d.quarantine.is_some()).count() as u64;
            st.hints_ignored += r.hints_rejected as u64;
        }
        // SAFETY: checked non-NULL.
        unsafe { out.write(st) };
        BC_OK
    })
}

/// The remaining time to live of `key` in `*ttl_ms_out`: -1 when it has no expiry.
/// `BC_NOT_FOUND` when the key is absent (or expired).
///
/// # Safety
/// `db` a live handle; `key` valid for `key_len` bytes; `ttl_ms_out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_ttl(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    ttl_ms_out: *mut i64,
) -> bc_status {
    guard(|| {
        check_null!(ttl_ms_out);
        // SAFETY: forwarded contract.
        let (db, key) = unsafe { (tri!(db_ref(db)), tri!(key_bytes(key, key_len))) };
        let ttl = match db.ttl(key) {
            Ok(Some(ttl)) => ttl.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Ok(None) => {
                set_error("key not found");
                return BC_NOT_FOUND;
            }
            Err(e) => return fail(e),
        };
        // SAFETY: checked non-NULL.
        unsafe { ttl_ms_out.write(ttl) };
        BC_OK
    })
}

/// The number of live keys in `*out`.
///
/// # Safety
/// `db` a live handle; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_len(db: *const bc_db, out: *mut u64) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        // SAFETY: checked non-NULL.
        unsafe { out.write(db.len() as u64) };
        BC_OK
    })
}

/// Writes a consistent copy of the store into the directory `path`, which must not exist,
/// while other threads go on reading and writing (see `Bitcask::backup_to`).
///
/// # Safety
/// `db` a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn bc_backup(db: *const bc_db, path: *const c_char) -> bc_status {
    guard(|| {
        check_null!(path);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        // SAFETY: checked non-NULL; the caller promises a NUL-terminated string.
        let path = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(path) }.to_bytes()));
        db.backup_to(path).map_or_else(fail, |_| BC_OK)
    })
}

/// Looks up `count` keys. For each `i`, `values_out[i]` is a new buffer of
/// `value_lens_out[i]` bytes to free with `bc_free_value`, or NULL (length 0) when
/// `keys[i]` is absent. On failure nothing is written and nothing is left to free.
///
/// # Safety
/// `db` a live handle; `keys` and `key_lens` arrays of `count` entries, each key valid for
/// its length; `values_out` and `value_lens_out` writable arrays of `count` entries.
#[no_mangle]
pub unsafe extern "C" fn bc_get_many(
    db: *const bc_db,
    keys: *const *const u8,
    key_lens: *const usize,
    count: usize,
    values_out: *mut *mut u8,
    value_lens_out: *mut usize,
) -> bc_status {
    guard(|| {
        check_null!(keys, key_lens, values_out, value_lens_out);
        // SAFETY: forwarded contract: arrays of `count` entries.
        let (db, ptrs, lens) = unsafe {
            (
                tri!(db_ref(db)),
                std::slice::from_raw_parts(keys, count),
                std::slice::from_raw_parts(key_lens, count),
            )
        };
        let mut ks = Vec::with_capacity(count);
        for (&p, &l) in ptrs.iter().zip(lens) {
            // SAFETY: each key valid for its length, by contract.
            ks.push(unsafe { tri!(key_bytes(p, l)) });
        }
        let values = match db.get_many(&ks) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let bufs = tri!(malloc_all(&values));
        for (i, (buf, v)) in bufs.into_iter().zip(&values).enumerate() {
            // SAFETY: writable arrays of `count` entries, by contract.
            unsafe {
                values_out.add(i).write(buf);
                value_lens_out.add(i).write(v.as_ref().map_or(0, Vec::len));
            }
        }
        BC_OK
    })
}

/// A `malloc`ed copy of each present value (NULL for an absent one); all or none.
fn malloc_all(values: &[Option<Vec<u8>>]) -> Result<Vec<*mut u8>, bc_status> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v.as_deref().map(malloc_copy) {
            None => out.push(std::ptr::null_mut()),
            Some(Some(p)) => out.push(p),
            Some(None) => {
                for p in out {
                    // SAFETY: buffers from malloc_copy, not handed out.
                    unsafe { libc::free(p.cast()) };
                }
                set_error("out of memory");
                return Err(BC_IO);
            }
        }
    }
    Ok(out)
}
