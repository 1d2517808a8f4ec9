//! Replays every committed fuzz input (crashes found and minimized, and hand-made edge
//! cases) through the same checks the fuzz targets run.

/// Runs `check` on every committed input of `target` (files ending in `.md` are notes) and
/// returns how many ran; fails naming the first input that fails again.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("regression folder").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("regression input");
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
