//! Replays every committed fuzz input of the RESP parser, the RESTORE payload decoder and the
//! Lua engine (crashes found, minimized, and hand-made edge cases) through the checks the fuzz
//! targets run.

#[test]
fn resp_parser_regressions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/resp_parser");
    assert!(bitcask_server::fuzz::replay_dir(&dir, bitcask_server::fuzz::resp_parser) >= 6);
}

#[test]
fn restore_payload_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions/restore_payload");
    assert!(bitcask_server::fuzz::replay_dir(&dir, bitcask_server::fuzz::restore_payload) >= 6);
}

/// Scripts that loop, exhaust memory, recurse, nest replies, try the sandbox and feed
/// malformed replies: each ends (stopped after 200 ms at the latest) without a panic.
#[test]
fn lua_script_regressions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/lua_script");
    assert!(bitcask_server::fuzz::replay_dir(&dir, bitcask_server::fuzz::lua_script) >= 12);
}
