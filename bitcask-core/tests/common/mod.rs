//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask_core::{Bitcask, Options};
use bitcask_testkit::SimStorage;

/// The directory every simulated store lives in.
pub fn dir() -> PathBuf {
    PathBuf::from("/db")
}

/// Options with a tiny file size, so files rotate constantly.
pub fn small(max_file_size: u64) -> Options {
    Options { max_file_size, ..Options::default() }
}

pub fn open(sim: &SimStorage, opts: Options) -> Bitcask {
    Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts, false).expect("open")
}

pub fn try_open(sim: &SimStorage, opts: Options) -> bitcask_core::Result<Bitcask> {
    Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts, false)
}

pub fn open_ro(sim: &SimStorage, opts: Options) -> Bitcask {
    Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts, true).expect("open read-only")
}

/// Every (key, value) of the store, sorted.
pub fn contents(db: &Bitcask) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.iter().expect("iter").map(|r| r.expect("value")).collect()
}

/// The names of the datafiles in the simulated store, sorted.
pub fn data_files(sim: &SimStorage) -> Vec<String> {
    sim.files(&dir()).into_iter().filter(|n| n.ends_with(".data")).collect()
}

pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

pub fn file_len(sim: &SimStorage, name: &str) -> usize {
    sim.read_file(&path(name)).map_or(0, |d| d.len())
}

pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

pub fn is_dir(p: &Path) -> bool {
    p.is_dir()
}

/// The ids of the sealed datafiles, in order.
pub fn ids(db: &Bitcask) -> Vec<bitcask_core::FileId> {
    db.stats().files.iter().filter(|f| !f.active).map(|f| f.file_id).collect()
}
