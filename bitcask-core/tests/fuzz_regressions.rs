//! Replays every committed fuzz input of the engine targets through the checks the fuzz
//! targets run.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{} fails again", path.display());
        n += 1;
    }
    n
}

#[test]
fn open_dir_regressions() {
    assert!(replay("open_dir", bitcask_core::fuzz::open_dir) > 0);
}

#[test]
fn ops_model_regressions() {
    assert!(replay("ops_model", bitcask_core::fuzz::ops_model) > 0);
}
