//! A Bitcask-style log-structured key/value storage engine.
//!
//! Every key lives in an in-memory hash table (the *keydir*) that points into append-only
//! *datafiles*. A put appends one checksummed record and repoints the keydir; a get is one
//! keydir lookup and one positioned read, verified against the record's checksum; a delete
//! appends a tombstone. [`Bitcask::merge`] rewrites sealed files into compact ones while the
//! store stays online. Hint files make opening fast; recovery after a crash truncates a torn
//! tail and never resurrects deleted keys.
//!
//! ```
//! use bitcask_core::{Bitcask, Options, WriteBatch};
//! use std::time::Duration;
//!
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path().join("data");
//! let db = Bitcask::open(&dir, Options::default())?;   // creates the directory if missing
//! db.put(b"key", b"value")?;
//! db.put_with_ttl(b"session", b"token", Duration::from_secs(60))?;
//! assert_eq!(db.get(b"key")?, Some(b"value".to_vec()));
//! assert!(db.contains(b"session")?);
//! assert!(db.delete(b"key")?);
//!
//! let mut batch = WriteBatch::new();
//! batch.put(b"a", b"1").delete(b"session");
//! db.write(batch)?;                                    // all or nothing, also across a crash
//! db.sync()?;
//!
//! for item in db.iter()? {
//!     let (k, v) = item?;
//!     assert_eq!((k, v), (b"a".to_vec(), b"1".to_vec()));
//! }
//! db.merge()?;
//! db.close()?;
//!
//! let db = Bitcask::open_read_only(&dir, Options::default())?;
//! assert_eq!(db.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The durability contract is in `docs/durability.md`; the on-disk format in
//! `docs/format.md`; the module map in `docs/architecture.md`.
//!
//! The test kit (a simulated disk with fault injection and power loss, the crash oracle,
//! the fuzz checks) is the workspace crate `bitcask-testkit`, built on the public
//! [`storage::Storage`] seam; nothing of it is in this crate.
#![deny(missing_docs)]
// `unsafe` appears only in storage.rs: mapping datafiles, copying into a writable map,
// `fallocate`.
#![deny(unsafe_code)]

mod accounting;
mod active_log;
mod append;
mod background;
mod backup;
mod batch;
mod datafile;
mod db;
mod durable_file;
mod engine;
mod error;
mod file_table;
mod files;
mod group_commit;
mod hint;
mod index;
mod keydir;
mod lifecycle;
mod manifest;
mod merge;
mod merge_plan;
mod namespaced;
mod options;
mod quarantine;
mod read;
mod recovery;
mod recovery_report;
mod shard_layout;
mod shard_move;
pub mod sharded;
mod slot;
mod stats;
pub mod storage;
mod store;
pub mod tools;
mod util;
mod write;

pub use backup::BackupReport;
pub use batch::WriteBatch;
pub use datafile::FileStats;
pub use datafile::SCAN_BUFFER_SIZE;
pub use db::Bitcask;
pub use error::{Error, Result};
pub use files::FileId;
pub use merge::{MergePlan, MergeProgress, MergeReason, MergeReport};
pub use options::{MergeOptions, Options, RecoveryMode, SyncPolicy, MAX_FILE_SIZE};
pub use read::{Entries, Entry, Iter, Keys};
pub use recovery::{DamagedRegion, RecoveryReport};
pub use sharded::ShardedBitcask;
pub use stats::Stats;
pub use store::Store;
