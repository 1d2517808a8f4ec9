//! The committed header must equal cbindgen's output for the current source.
//! Regenerate with `BITCASK_BLESS=1 cargo test -p bitcask-ffi --test header`.

use std::path::PathBuf;

#[test]
fn committed_header_is_up_to_date() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen runs")
        .write(&mut generated);
    let path = crate_dir.join("../include/bitcask.h");
    if std::env::var_os("BITCASK_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/bitcask.h is stale: run `BITCASK_BLESS=1 cargo test -p bitcask-ffi --test header` and commit it"
    );
}
