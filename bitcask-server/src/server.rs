//! Start-up and shutdown: open the store, refuse an unprotected public bind, listen,
//! accept (up to `--maxclients`), and on SIGTERM, SIGINT or SHUTDOWN close the store.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use bitcask_core::sharded::shard_dir_name;
use bitcask_core::{MergeOptions, Options, ShardedBitcask, SyncPolicy};
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
    /// The cluster configuration is unusable, or the store is another node's.
    Cluster(bitcask_cluster::ClusterError),
    /// The store's keys are named in a way this build does not know, or renaming them
    /// failed.
    KeyNaming(crate::store_meta::UpgradeError),
    /// The listener failed.
    Io(std::io::Error),
    /// A network thread panicked (a bug): what it said.
    Panic(String),
}

/// The message a panic carried.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(m) => f.write_str(m),
            ServeError::Store(e) => write!(f, "store: {e}"),
            ServeError::Cluster(e) => write!(f, "cluster: {e}"),
            ServeError::KeyNaming(e) => write!(f, "{e}"),
            ServeError::Io(e) => write!(f, "network: {e}"),
            ServeError::Panic(m) => write!(f, "a network thread panicked: {m}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl ServeError {
    /// The process's exit code for it: 2 for flags that cannot work (this node's place in
    /// the cluster included), 1 for anything else.
    pub fn exit_code(&self) -> i32 {
        use bitcask_cluster::ClusterError as C;
        match self {
            ServeError::Config(_) => 2,
            ServeError::Cluster(
                C::UnknownNode { .. } | C::NoNodeOnPort { .. } | C::ShardSplitsOwners { .. },
            ) => 2,
            _ => 1,
        }
    }
}

/// The options the store is opened with: under `always` a write does not wait in the store
/// (that would block a network thread); the connection awaits the store's group commit
/// (`when_synced`) before it replies; each shard merges in the
/// background when its triggers fire (the defaults of `MergeOptions`).
pub fn store_options(cfg: &Config) -> Options {
    let sync = if cfg.sync == SyncPolicy::Always { SyncPolicy::Never } else { cfg.sync };
    let merge = MergeOptions { background: true, ..MergeOptions::default() };
    Options { sync, merge, recovery: cfg.recovery, ..Options::default() }
}

/// Logs what each shard's open found: every region cut or skipped, every hint ignored.
fn log_recovery(ks: &Keyspace) {
    for (i, report) in ks.recovery_reports().into_iter().enumerate() {
        for w in report.warnings() {
            eprintln!("bitcask-server: recovery: {}: {w}", shard_dir_name(i));
        }
    }
}

/// Refuses a bind that is not loopback unless a password is set (as Redis's protected mode).
pub fn check_bind(cfg: &Config) -> Result<(), ServeError> {
    if cfg.requirepass.as_deref() == Some("") {
        return Err(ServeError::Config(
            "refusing an empty password (--requirepass '' or an empty BITCASK_REQUIREPASS): set a password, or leave the flag and the variable out for none".into(),
        ));
    }
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
    let Some(path) = cfg.cluster_config.clone() else {
        let db = ShardedBitcask::open(&cfg.dir, store_options(&cfg), cfg.shards)
            .map_err(ServeError::Store)?;
        return run_store(db, cfg, |_| {});
    };
    // Cluster mode: open only the shards whose slots this node owns.
    let config = bitcask_cluster::ClusterConfig::read(&path).map_err(ServeError::Cluster)?;
    let cluster = bitcask_cluster::Node::find(config, cfg.cluster_myid.as_deref(), cfg.port)
        .map_err(ServeError::Cluster)?;
    let db = ShardedBitcask::open_some(
        std::sync::Arc::new(bitcask_core::storage::OsStorage),
        &cfg.dir,
        store_options(&cfg),
        cfg.shards,
        false,
        &|slots| cluster.serves(slots),
    )
    .map_err(ServeError::Store)?;
    if let Err(e) = cluster.check_shards(db.shard_count() as u32) {
        let _ = db.close();
        return Err(ServeError::Cluster(e));
    }
    // The store records whose it is: another node's store is refused, and a slot move can
    // check that it takes the slots from their owner.
    if let Err(e) = bitcask_cluster::claim_node_id(&cfg.dir, &cluster.myself().id) {
        let _ = db.close();
        return Err(ServeError::Cluster(e));
    }
    run_cluster_store(db, cfg, Some(cluster), |_| {})
}

/// Blocking threads per network thread: scripts, KEYS, SAVE and merges run on them.
const BLOCKING_THREADS: usize = 8;

/// The stack of a network thread and of the blocking threads that run its scripts: room
/// for a script's nesting (JSON, replies) up to Redis's limits of 1,000 levels.
const NET_THREAD_STACK: usize = 32 << 20;

/// Serves an open store (opened with [`store_options`]) until SIGTERM, SIGINT or
/// SHUTDOWN, then closes it; `listening` is called with the bound address.
pub fn run_store(
    db: ShardedBitcask,
    cfg: Config,
    listening: impl FnOnce(std::net::SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    run_cluster_store(db, cfg, None, listening)
}

fn run_cluster_store(
    db: ShardedBitcask,
    cfg: Config,
    cluster: Option<bitcask_cluster::Node>,
    listening: impl FnOnce(std::net::SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    let threads = cfg.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let listener = std::net::TcpListener::bind((cfg.bind, cfg.port)).map_err(ServeError::Io)?;
    listener.set_nonblocking(true).map_err(ServeError::Io)?;
    let local = listener.local_addr().map_err(ServeError::Io)?;
    let stats = crate::cmdstats::CmdStats::new(crate::commands::stat_names());
    let srv = Shared::new(open_keyspace(db)?, cfg, cluster, stats);
    crate::commands::restore_functions(&srv);
    srv.port.store(u64::from(local.port()), Relaxed);
    // The signal handlers first, so that a signal right after the log line is not missed.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;
    let signals = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        ))
    });
    let (mut term, mut int) = signals.map_err(ServeError::Io)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handles = spawn_net_threads(&srv, listener, threads.max(1), &stop_rx)?;
    let sweep = crate::expiry::spawn(srv.clone()).map_err(ServeError::Io)?;
    log_recovery(&srv.ks);
    eprintln!(
        "bitcask-server: listening on {local} (store {}: {} keys in {} shards, sync {}, {} network threads)",
        srv.cfg.dir.display(),
        srv.ks.key_counts().map_or(0, |c| c.iter().map(|c| c.1).sum::<usize>()),
        srv.ks.shard_count(),
        srv.cfg.sync_text(),
        threads.max(1)
    );
    listening(local);
    rt.block_on(async {
        tokio::select! {
            _ = srv.shutdown.notified() => {},
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    });
    srv.stopping.store(true, Release);
    eprintln!("bitcask-server: shutting down");
    // A script still running would hold its network thread: stopped, its writes dropped
    // (never committed), as SHUTDOWN NOSAVE does.
    srv.scripts.kill_all();
    let _ = stop_tx.send(true);
    let mut served = Ok(());
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => served = Err(ServeError::Io(e)),
            Err(p) => served = Err(ServeError::Panic(panic_text(p.as_ref()))),
        }
    }
    let _ = sweep.join();
    let closed = srv.ks.close().map_err(ServeError::Store);
    served.and(closed)?;
    eprintln!("bitcask-server: store closed cleanly, exiting");
    Ok(())
}

/// The keyspace on an open store (its key naming brought up to date, logged when it was).
fn open_keyspace(db: ShardedBitcask) -> Result<Keyspace, ServeError> {
    let (ks, renamed) = Keyspace::open(db).map_err(ServeError::KeyNaming)?;
    if renamed > 0 {
        eprintln!(
            "bitcask-server: upgraded the key naming: {renamed} keys starting with 0x00 renamed"
        );
    }
    Ok(ks)
}

type NetThread = std::thread::JoinHandle<std::io::Result<()>>;

/// Starts `n` network threads on `listener` (consumed: each has its own clone).
fn spawn_net_threads(
    srv: &Arc<Shared>,
    listener: std::net::TcpListener,
    n: usize,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<NetThread>, ServeError> {
    let mut handles = Vec::new();
    for i in 0..n {
        let l = listener.try_clone().map_err(ServeError::Io)?;
        let (srv, stop) = (srv.clone(), stop.clone());
        // Scripts inside MULTI run here (others on blocking threads): see NET_THREAD_STACK.
        let h = std::thread::Builder::new()
            .name(format!("bitcask-net-{i}"))
            .stack_size(NET_THREAD_STACK)
            .spawn(move || net_thread(srv, l, stop))
            .map_err(ServeError::Io)?;
        handles.push(h);
    }
    Ok(handles)
}

/// One network thread: its own event loop (no work stealing, so a request never waits for
/// a wake-up on another core), accepting from the shared listening socket.
fn net_thread(
    srv: Arc<Shared>,
    listener: std::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    // Its blocking threads run scripts (and KEYS, SAVE, merges): the same stack as the
    // network thread's, and a bound on how many at once (each script's interpreter may hold
    // 256 MiB; more wait their turn).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_stack_size(NET_THREAD_STACK)
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::from_std(listener)?;
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
                _ = stop.changed() => break,
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    Ok(())
}

/// Starts serving a new connection, or refuses it past `--maxclients`.
fn admit(srv: &Arc<Shared>, mut stream: tokio::net::TcpStream) {
    srv.stats.connections_received.fetch_add(1, Relaxed);
    let n = srv.stats.connected_clients.fetch_add(1, AcqRel);
    if n >= srv.rt.maxclients() {
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
