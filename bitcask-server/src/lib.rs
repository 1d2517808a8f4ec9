//! bitcask-server: the bitcask store on the network, speaking the Redis protocol (RESP2,
//! and RESP3 after `HELLO 3`), so that every Redis client library, `redis-cli`,
//! `redis-benchmark` and twemproxy work with it.
//!
//! The store is a [`ShardedBitcask`](bitcask_core::ShardedBitcask): keys go to shards by
//! their Redis Cluster slot. Every write command holds the lock of its keys' slots, so
//! read-modify-write commands (INCR, APPEND, SETNX, GETDEL, RENAME, ...) are atomic;
//! MULTI/EXEC commits one atomic batch (all or none, also across a crash). Under
//! `--sync always` a reply to a write is sent only after an fsync that covers it, shared
//! by every connection that wrote meanwhile (group commit), on a thread of its own.
//!
//! ```no_run
//! use bitcask_server::{run, Config};
//! run(Config::for_dir("data"))?;   // serves until SIGTERM, SIGINT or SHUTDOWN
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The cargo feature `testing` (off by default) adds the module `fuzz`: the checks the
//! fuzz targets run. It is for this crate's tests and fuzz targets only.
//!
//! The command set, the differences from Redis and the limits are in the README and in
//! docs/server.md.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod clients;
mod cmdstats;
mod colls;
mod commands;
mod config;
mod conn;
mod expiry;
#[cfg(feature = "testing")]
pub mod fuzz;
mod info;
mod keycode;
mod keyspace;
mod latency;
mod lua;
mod monitor;
mod notify;
mod pubsub;
mod rdb;
mod reply;
mod runtime;
mod server;
mod session;
mod shared;
mod slowlog;
mod socket;
mod store_meta;
mod tracking;
mod tx;
mod waiters;

pub mod glob;
pub mod number;
pub mod resp;

pub use config::Config;
pub use server::{check_bind, run, run_store, store_options, ServeError};

/// The Redis version the server reports (INFO, HELLO): the command set and semantics it
/// follows.
pub const REDIS_VERSION: &str = "7.0.0";
