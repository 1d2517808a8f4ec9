//! Replays every committed fuzz input (crashes found, minimized, and interesting edge cases)
//! through the same checks the fuzz targets run.

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
fn record_decode_regressions() {
    assert!(replay("record_decode", bitcask_format::fuzz::record_decode) > 0);
}

#[test]
fn hint_decode_regressions() {
    assert!(replay("hint_decode", bitcask_format::fuzz::hint_decode) > 0);
}

#[test]
fn file_scan_regressions() {
    assert!(replay("file_scan", bitcask_format::fuzz::file_scan) > 0);
}
