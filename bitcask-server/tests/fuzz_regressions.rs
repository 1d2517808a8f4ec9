//! Replays every committed fuzz input of the RESP parser (crashes found, minimized, and
//! hand-made edge cases) through the check the fuzz target runs.

#[test]
fn resp_parser_regressions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/resp_parser");
    assert!(bitcask_server::fuzz::replay_dir(&dir, bitcask_server::fuzz::resp_parser) >= 6);
}
