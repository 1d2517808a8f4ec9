//! Small helpers shared by the engine's modules.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch (for expiry only; never for ordering).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `at` in milliseconds since the Unix epoch, at least 1 (0 means "no expiry").
pub(crate) fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1))
}

/// Locks `m`, ignoring poisoning (a panicking holder leaves state that is still consistent:
/// every critical section either completes or changes nothing observable).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Maps an I/O error to [`Error::Io`](crate::Error::Io) with what was done to which path.
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> crate::Error + 'a {
    move |e| crate::Error::io(op, path, e)
}
