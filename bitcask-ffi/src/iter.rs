//! `bc_iter`: snapshot iteration over a store's pairs in key order.

use crate::db::{bc_db, db_ref};
use crate::memory::free_box;
use crate::status::bc_status::{self, *};
use crate::status::{fail, guard};

/// A snapshot iterator over key/value pairs, in key order. Opaque.
pub struct bc_iter {
    iter: bitcask_core::Iter,
    current: Option<(Vec<u8>, Vec<u8>)>,
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
