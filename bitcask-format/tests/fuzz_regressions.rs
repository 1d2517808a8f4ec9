//! Replays every committed fuzz input (crashes found and minimized, and hand-made edge
//! cases) through the same checks the fuzz targets run.

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    bitcask_format::fuzz::replay_dir(&dir, check)
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
