//! Status codes, the per-thread last error, and the panic boundary every export runs in.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bitcask_core::Error;

use bc_status::*;

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

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_error(msg: impl Into<Vec<u8>>) {
    let mut bytes = msg.into();
    bytes.retain(|&b| b != 0);
    let c = CString::new(bytes).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

pub(crate) fn status_of(e: &Error) -> bc_status {
    match e {
        Error::Io { .. } | Error::NotADirectory { .. } | Error::NotFound { .. } => BC_IO,
        // Written but not confirmed durable: like a failed write, its outcome is unknown.
        Error::NotDurable { .. } => BC_IO,
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

pub(crate) fn fail(e: Error) -> bc_status {
    set_error(e.to_string());
    status_of(&e)
}

pub(crate) fn null(what: &str) -> bc_status {
    set_error(format!("{what} is NULL"));
    BC_NULL_POINTER
}

/// Runs `f` inside the panic boundary.
pub(crate) fn guard(f: impl FnOnce() -> bc_status) -> bc_status {
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
}
