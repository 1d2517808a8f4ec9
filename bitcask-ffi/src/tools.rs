//! `bc_check`: verifying a store's files without opening it.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::status::bc_status::{self, *};
use crate::status::{fail, guard};

/// What `bc_check` found.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct bc_check_report {
    /// Datafiles and hint files checked.
    pub files: u64,
    /// Valid records in the datafiles.
    pub records: u64,
    /// Damaged regions found (0: the store is clean).
    pub problems: u64,
}

/// Verifies every record checksum and every hint entry of the store in directory `path`,
/// without opening it (no lock is taken: it works beside a writer). `BC_OK` means the check
/// ran; `report->problems` says whether it found damage.
///
/// # Safety
/// `path` a NUL-terminated string; `report` writable.
#[no_mangle]
pub unsafe extern "C" fn bc_check(path: *const c_char, report: *mut bc_check_report) -> bc_status {
    guard(|| {
        check_null!(path, report);
        // SAFETY: checked non-NULL; the caller promises a NUL-terminated string.
        let path = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(path) }.to_bytes()));
        let r = match bitcask_core::tools::check(path, |_, _| {}) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let records = r
            .files
            .iter()
            .filter(|f| f.kind == bitcask_core::tools::CheckedKind::Data)
            .map(|f| f.records)
            .sum();
        let out = bc_check_report {
            files: r.files.len() as u64,
            records,
            problems: r.problem_count() as u64,
        };
        // SAFETY: checked non-NULL.
        unsafe { report.write(out) };
        BC_OK
    })
}
