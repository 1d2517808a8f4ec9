//! The test kit of the bitcask workspace: a simulated disk with fault injection and power
//! loss (`SimStorage`, a `bitcask_core::storage::Storage`), the crash oracle, and the checks
//! the fuzz targets run. It is a dev-dependency of the engine's and the server's tests and
//! of `fuzz/`; nothing here is part of the engine's public API or meant for embedding.
#![deny(missing_docs)]

pub mod fuzz;
pub mod oracle;
mod sim;

pub use sim::{Fault, FaultPlan, Op, PowerLoss, SimStorage};

/// Runs `check` on every committed fuzz input in `dir` (files ending in `.md` are notes)
/// and returns how many ran; fails naming the first input that fails again.
pub fn replay_dir(dir: &std::path::Path, check: fn(&[u8])) -> usize {
    let mut n = 0;
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{} fails again", path.display());
        n += 1;
    }
    n
}
