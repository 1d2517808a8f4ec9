//! Replays every committed fuzz input (crashes found and minimized, and hand-made edge
//! cases) through the same checks the fuzz targets run.

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    bitcask_testkit::replay_dir(&dir, check)
}

#[test]
fn open_dir_regressions() {
    assert!(replay("open_dir", bitcask_testkit::fuzz::open_dir) > 0);
}

#[test]
fn fault_model_regressions() {
    assert!(replay("fault_model", bitcask_testkit::fuzz::fault_model) > 0);
}

#[test]
fn ops_model_regressions() {
    assert!(replay("ops_model", bitcask_testkit::fuzz::ops_model) > 0);
}
