//! `bc_iter`: snapshot iteration over a store's pairs in key order.

use crate::db::{bc_db, db_ref};
use crate::memory::{bytes, free_box};
use crate::status::bc_status::{self, *};
use crate::status::{fail, guard};

/// A snapshot iterator over key/value pairs, in key order. Opaque.
pub struct bc_iter {
    iter: bitcask_core::Entries,
    current: Option<bitcask_core::Entry>,
}

fn boxed(iter: bitcask_core::Iter, out: *mut *mut bc_iter) -> bc_status {
    let it = bc_iter { iter: iter.entries(), current: None };
    // SAFETY: the callers checked `out` non-NULL.
    unsafe { out.write(Box::into_raw(Box::new(it))) };
    BC_OK
}

/// Creates in `*out` an iterator over a snapshot of the store (key order), to free with
/// `bc_iter_free`. The snapshot copies and sorts every key when it is made.
///
/// # Safety
/// `db` a live handle (it may be closed before the iterator is freed); `out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_new(db: *const bc_db, out: *mut *mut bc_iter) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let db = unsafe { tri!(db_ref(db)) };
        db.iter().map_or_else(fail, |it| boxed(it, out))
    })
}

/// As `bc_iter_new`, over the pairs whose key starts with the `prefix_len` bytes at
/// `prefix` (only those are copied and sorted). `prefix` may be NULL when `prefix_len` is 0.
///
/// # Safety
/// As `bc_iter_new`; `prefix` valid for `prefix_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_new_prefix(
    db: *const bc_db,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut *mut bc_iter,
) -> bc_status {
    guard(|| {
        check_null!(out);
        // SAFETY: forwarded contract.
        let (db, prefix) = unsafe { (tri!(db_ref(db)), tri!(bytes(prefix, prefix_len, "prefix"))) };
        db.scan_prefix(prefix).map_or_else(fail, |it| boxed(it, out))
    })
}

/// Advances the iterator. On `BC_OK` the four out-parameters describe the next pair; the
/// pointers stay valid until the next call on this iterator or its free. `BC_ITER_END` when
/// done. A pair whose record is damaged gives `BC_CORRUPTION` (with the file and offset in
/// `bc_last_error`); iteration can go on: the next call moves to the following pair.
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
            Some(Err(e)) => {
                it.current = None;
                fail(e)
            }
            Some(Ok(entry)) => {
                let e = it.current.insert(entry);
                // SAFETY: checked non-NULL.
                unsafe {
                    key_out.write(e.key.as_ptr());
                    key_len_out.write(e.key.len());
                    value_out.write(e.value.as_ptr());
                    value_len_out.write(e.value.len());
                }
                BC_OK
            }
        }
    })
}

/// The expiry of the pair the last `bc_iter_next` returned, in milliseconds since the Unix
/// epoch (0 when it has none). `BC_ITER_END` when there is no current pair.
///
/// # Safety
/// `iter` a live iterator; `expires_at_ms_out` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_expiry(
    iter: *const bc_iter,
    expires_at_ms_out: *mut u64,
) -> bc_status {
    guard(|| {
        check_null!(iter, expires_at_ms_out);
        // SAFETY: checked non-NULL; live by contract.
        let Some(e) = (unsafe { &*iter }).current.as_ref() else { return BC_ITER_END };
        let ms = e.expires_at.map_or(0, |t| {
            t.duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_millis().max(1) as u64)
        });
        // SAFETY: checked non-NULL.
        unsafe { expires_at_ms_out.write(ms) };
        BC_OK
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{bc_close, bc_open, bc_put};
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

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
