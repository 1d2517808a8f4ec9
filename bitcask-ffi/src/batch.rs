//! `bc_batch`: atomic batches of puts and deletes, and `bc_write`.

use bitcask_core::WriteBatch;

use crate::db::{bc_db, db_ref};
use crate::memory::{free_box, key_value, nonempty_key, positive_ttl};
use crate::status::bc_status::{self, *};
use crate::status::{fail, guard, null};

/// A batch of puts and deletes applied atomically by `bc_write`. Opaque.
pub struct bc_batch {
    pub(crate) batch: WriteBatch,
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

pub(crate) unsafe fn batch_mut<'a>(b: *mut bc_batch) -> Result<&'a mut WriteBatch, bc_status> {
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
        let (b, (key, value)) = unsafe {
            (tri!(batch_mut(batch)), tri!(key_value(key, key_len, value, value_len, true)))
        };
        b.put(key, value);
        BC_OK
    })
}

/// Adds a put with a time to live to the batch: the key disappears `ttl_ms` milliseconds
/// after the batch is written. `ttl_ms` 0 is `BC_INVALID_ARGUMENT` (as Redis refuses an
/// expiry of 0).
///
/// # Safety
/// As `bc_batch_put`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_put_ttl(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> bc_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (b, (key, value)) = unsafe {
            (tri!(batch_mut(batch)), tri!(key_value(key, key_len, value, value_len, true)))
        };
        let ttl = tri!(positive_ttl(ttl_ms));
        b.put_with_ttl(key, value, ttl);
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
        let (b, key) = unsafe { (tri!(batch_mut(batch)), tri!(nonempty_key(key, key_len))) };
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
