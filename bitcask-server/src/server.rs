//! Start-up and shutdown: open the store, refuse an unprotected public bind, listen,
//! accept (up to `--maxclients`), and on SIGTERM, SIGINT or SHUTDOWN close the store.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use bitcask_core::{Options, ShardedBitcask, SyncPolicy};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::shared::Shared;

/// Why the server could not start or stop cleanly.
#[derive(Debug)]
pub enum ServeError {
    /// The flags are unusable (for example a public bind without a password).
    Config(String),
    /// The store could not be opened or closed.
    Store(bitcask_core::Error),
    /// The listener failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(m) => f.write_str(m),
            ServeError::Store(e) => write!(f, "store: {e}"),
            ServeError::Io(e) => write!(f, "network: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// The options the store is opened with: under `always` the server syncs itself (one
/// fsync for every connection that wrote), so the store does not.
pub fn store_options(cfg: &Config) -> Options {
    let sync = if cfg.sync == SyncPolicy::Always { SyncPolicy::Never } else { cfg.sync };
    Options { sync, ..Options::default() }
}

/// Refuses a bind that is not loopback unless a password is set (as Redis's protected mode).
pub fn check_bind(cfg: &Config) -> Result<(), ServeError> {
    if !cfg.bind.is_loopback() && cfg.requirepass.is_none() {
        return Err(ServeError::Config(format!(
            "refusing to listen on {} without --requirepass: anyone who can reach it could read and write every key (protected mode); bind 127.0.0.1 or set a password",
            cfg.bind
        )));
    }
    Ok(())
}

/// Runs the server until SIGTERM, SIGINT or SHUTDOWN; then closes the store.
pub fn run(cfg: Config) -> Result<(), ServeError> {
    check_bind(&cfg)?;
    // Every client is a descriptor: allow as many as the hard limit permits.
    let _ = rlimit::increase_nofile_limit(cfg.maxclients as u64 + 64);
    let db = ShardedBitcask::open(&cfg.dir, store_options(&cfg), cfg.shards)
        .map_err(ServeError::Store)?;
    run_store(db, cfg, |_| {})
}

/// Serves an open store (opened with [`store_options`]) until SIGTERM, SIGINT or
/// SHUTDOWN, then closes it; `listening` is called with the bound address.
pub fn run_store(
    db: ShardedBitcask,
    cfg: Config,
    listening: impl FnOnce(std::net::SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cfg.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().thread_name("bitcask-net").build().map_err(ServeError::Io)?;
    let srv = Shared::new(Keyspace::new(db), cfg);
    let served = rt.block_on(serve(srv.clone(), listening));
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    let closed = srv.ks.db.close().map_err(ServeError::Store);
    served.and(closed)?;
    eprintln!("bitcask-server: store closed cleanly, exiting");
    Ok(())
}

async fn serve(
    srv: Arc<Shared>,
    listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let cfg = &srv.cfg;
    let listener = TcpListener::bind((cfg.bind, cfg.port)).await.map_err(ServeError::Io)?;
    let local = listener.local_addr().map_err(ServeError::Io)?;
    srv.port.store(u64::from(local.port()), Relaxed);
    eprintln!(
        "bitcask-server: listening on {local} (store {}: {} keys in {} shards, sync {})",
        cfg.dir.display(),
        srv.ks.db.len(),
        srv.ks.db.shard_count(),
        cfg.sync_text()
    );
    listening(local);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ServeError::Io)?;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => admit(&srv, stream),
                // Out of descriptors and the like: keep serving the others.
                Err(e) => {
                    eprintln!("bitcask-server: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            _ = srv.shutdown.notified() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    srv.stopping.store(true, Release);
    eprintln!("bitcask-server: shutting down");
    Ok(())
}

/// Starts serving a new connection, or refuses it past `--maxclients`.
fn admit(srv: &Arc<Shared>, mut stream: tokio::net::TcpStream) {
    srv.stats.connections_received.fetch_add(1, Relaxed);
    let n = srv.stats.connected_clients.fetch_add(1, AcqRel);
    if n >= srv.cfg.maxclients as u64 {
        srv.stats.connected_clients.fetch_sub(1, AcqRel);
        srv.stats.rejected_connections.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        });
        return;
    }
    tokio::spawn(crate::conn::serve(srv.clone(), stream));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_binds_go_without_a_password() {
        let mut cfg = Config::for_dir("/nowhere");
        for (bind, pass, ok) in [
            ("127.0.0.1", None, true),
            ("::1", None, true),
            ("0.0.0.0", None, false),
            ("10.1.2.3", None, false),
            ("0.0.0.0", Some("pw"), true),
        ] {
            cfg.bind = bind.parse().unwrap();
            cfg.requirepass = pass.map(String::from);
            assert_eq!(check_bind(&cfg).is_ok(), ok, "{bind} {pass:?}");
        }
    }
}
