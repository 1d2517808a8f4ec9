//! Buffers across the boundary: borrowing the caller's bytes, copying values out into
//! `malloc`ed buffers, and freeing handles.

use crate::status::bc_status::{self, *};
use crate::status::{guard, null, set_error};

/// A byte slice from a pointer and length; NULL is allowed only for length 0.
///
/// # Safety
/// `ptr` must be valid for `len` bytes when non-NULL.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], bc_status> {
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
pub(crate) unsafe fn key_bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], bc_status> {
    if ptr.is_null() {
        return Err(null("key"));
    }
    // SAFETY: as above.
    unsafe { bytes(ptr, len, "key") }
}

/// A key that must not be empty (batches check at once, not when written).
///
/// # Safety
/// As [`key_bytes`].
pub(crate) unsafe fn nonempty_key<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], bc_status> {
    // SAFETY: forwarded contract.
    let key = unsafe { key_bytes(ptr, len) }?;
    if key.is_empty() {
        set_error("key is empty (key_len is 0)");
        return Err(BC_INVALID_ARGUMENT);
    }
    Ok(key)
}

/// The key and value of a put: the key never NULL (and, for a batch, not empty), the value
/// NULL only when its length is 0.
///
/// # Safety
/// `key` and `value` valid for their lengths when non-NULL.
pub(crate) unsafe fn key_value<'a>(
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    nonempty: bool,
) -> Result<(&'a [u8], &'a [u8]), bc_status> {
    // SAFETY: forwarded contract.
    let key = unsafe {
        if nonempty {
            nonempty_key(key, key_len)?
        } else {
            key_bytes(key, key_len)?
        }
    };
    // SAFETY: forwarded contract.
    Ok((key, unsafe { bytes(value, value_len, "value")? }))
}

/// A time to live in milliseconds, which must be positive.
pub(crate) fn positive_ttl(ttl_ms: u64) -> Result<std::time::Duration, bc_status> {
    if ttl_ms == 0 {
        set_error("ttl_ms must be positive (0 would expire the key at once)");
        return Err(BC_INVALID_ARGUMENT);
    }
    Ok(std::time::Duration::from_millis(ttl_ms))
}

/// Copies `v` into a buffer from `malloc` (never NULL, also for an empty value).
pub(crate) fn malloc_copy(v: &[u8]) -> Option<*mut u8> {
    // SAFETY: malloc of at least one byte; checked for NULL before use.
    let p = unsafe { libc::malloc(v.len().max(1)) }.cast::<u8>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` has room for `v.len()` bytes and does not overlap `v`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
    Some(p)
}

/// Frees a handle made by `Box::into_raw` (NULL is a no-op), inside the panic boundary.
///
/// # Safety
/// `ptr` is NULL or came from `Box::into_raw` and is not used again.
pub(crate) unsafe fn free_box<T>(ptr: *mut T) {
    let _ = guard(|| {
        if !ptr.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(ptr) });
        }
        BC_OK
    });
}
