//! What every connection shares: the keyspace, the flags, counters, the client list and
//! the shutdown signal.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::config::Config;
use crate::keyspace::Keyspace;

/// Counters INFO reports.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Connections open now.
    pub connected_clients: AtomicU64,
    /// Commands run.
    pub commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Bytes of replies built and not yet sent, all clients together.
    pub output_bytes: AtomicU64,
    /// Clients closed for passing an output limit.
    pub output_limit_closed: AtomicU64,
    /// AUTH (or HELLO ... AUTH) attempts that failed.
    pub auth_failures: AtomicU64,
    /// When a failed AUTH was last logged (milliseconds since the Unix epoch).
    pub auth_logged_ms: AtomicU64,
    /// Keys the expiry sweep deleted.
    pub expired_keys: AtomicU64,
    /// Keys read-only commands found (INFO's keyspace_hits).
    pub keyspace_hits: AtomicU64,
    /// Keys read-only commands looked for and did not find (keyspace_misses).
    pub keyspace_misses: AtomicU64,
}

/// The server's shared state.
pub struct Shared {
    /// The store.
    pub ks: Keyspace,
    /// Fired when a command adds to a list or sorted set (clients blocked in a pop try
    /// again).
    pub pushed: tokio::sync::Notify,
    /// The clients blocked in a pop, queued per key (first come, first served).
    pub waiters: crate::waiters::Waiters,
    /// The flags.
    pub cfg: Config,
    /// The actual listening port (the flag may say 0).
    pub port: AtomicU64,
    /// When the server started.
    pub started: Instant,
    /// Counters.
    pub stats: Counters,
    /// The next client id.
    pub next_id: AtomicU64,
    /// The connected clients.
    pub clients: crate::clients::Clients,
    /// Unix time of the last successful SAVE or sync.
    pub last_save: AtomicU64,
    /// The error of the last SAVE or BGSAVE, if it failed.
    pub last_save_error: Mutex<Option<String>>,
    /// A background merge is running.
    pub merging: AtomicBool,
    /// SHUTDOWN was asked for.
    pub shutdown: tokio::sync::Notify,
    /// Set once shutting down.
    pub stopping: AtomicBool,
    /// Cluster mode: the topology and this node.
    pub cluster: Option<bitcask_cluster::Node>,
    /// The Lua scripts: cached, running.
    pub scripts: Arc<crate::lua::Scripts>,
    /// Calls and errors by command and by error code.
    pub cmdstats: crate::cmdstats::CmdStats,
    /// The parameters CONFIG SET changes.
    pub rt: crate::runtime::Runtime,
    /// The slow log.
    pub slowlog: crate::slowlog::SlowLog,
    /// The latency monitor.
    pub latency: crate::latency::Latency,
    /// MONITOR's clients and feed.
    pub monitors: crate::monitor::Monitors,
    /// Pub/sub subscriptions.
    pub pubsub: crate::pubsub::Hub,
    /// Client-side caching: who read what.
    pub tracker: crate::tracking::Tracker,
    me: Weak<Shared>,
}

impl Shared {
    /// Where tracking invalidations go (the clients, the push limit, the clock).
    pub fn deliver(&self) -> crate::tracking::Deliver<'_> {
        crate::tracking::Deliver {
            clients: &self.clients,
            limit: self.rt.pubsub_limit(),
            now_ms: self.pubsub.clock_ms(),
        }
    }

    /// Client-side caching after writes: `keys` changed (by client `writer`), and
    /// everything if `flushed`; BCAST clients are told at once.
    pub fn invalidate(&self, keys: &[Vec<u8>], flushed: bool, writer: Option<u64>) {
        let d = self.deliver();
        if flushed {
            self.tracker.flush(&d);
        }
        if !keys.is_empty() {
            self.tracker.invalidate(&d, keys, writer);
        }
        self.tracker.broadcast(&d);
    }

    /// The shared state of a server on `ks`, with its sync thread.
    pub fn new(
        ks: Keyspace,
        cfg: Config,
        cluster: Option<bitcask_cluster::Node>,
        cmdstats: crate::cmdstats::CmdStats,
    ) -> Arc<Shared> {
        let rt = crate::runtime::Runtime::new(&cfg);
        Arc::new_cyclic(|me: &Weak<Shared>| Shared {
            me: me.clone(),
            cluster,
            ks,
            cfg,
            port: AtomicU64::new(0),
            started: Instant::now(),
            stats: Counters::default(),
            next_id: AtomicU64::new(1),
            clients: Default::default(),
            last_save: AtomicU64::new(crate::keyspace::now_ms() / 1000),
            last_save_error: Mutex::new(None),
            merging: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
            pushed: tokio::sync::Notify::new(),
            waiters: Default::default(),
            stopping: AtomicBool::new(false),
            scripts: Arc::default(),
            cmdstats,
            rt,
            slowlog: Default::default(),
            monitors: Default::default(),
            pubsub: crate::pubsub::Hub::new(),
            tracker: Default::default(),
            latency: Default::default(),
        })
    }

    /// Counts a failed AUTH from `addr` and logs it, at most once a second (with the count
    /// since the last line), so a client guessing passwords cannot flood the log.
    pub fn auth_failed(&self, addr: &str) {
        let total = self.stats.auth_failures.fetch_add(1, Relaxed) + 1;
        let now = crate::keyspace::now_ms();
        let last = self.stats.auth_logged_ms.load(Relaxed);
        if now >= last + 1000
            && self.stats.auth_logged_ms.compare_exchange(last, now, Relaxed, Relaxed).is_ok()
        {
            eprintln!("bitcask-server: failed AUTH from {addr} ({total} failed since start)");
        }
    }

    /// A strong handle to this state (for work moved to another thread).
    pub fn me(&self) -> Arc<Shared> {
        self.me.upgrade().unwrap_or_else(|| unreachable!("a running server holds its state"))
    }

    /// Asks the server to shut down (SHUTDOWN, a signal).
    pub fn request_shutdown(&self) {
        self.stopping.store(true, Release);
        self.shutdown.notify_one();
    }
}
