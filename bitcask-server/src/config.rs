//! The server's flags.

use std::net::IpAddr;
use std::path::PathBuf;

use bitcask_core::{RecoveryMode, SyncPolicy};
use clap::Parser;

/// bitcask-server: the bitcask store over the Redis protocol (RESP2 and RESP3).
#[derive(Parser, Debug, Clone)]
#[command(name = "bitcask-server", version, about)]
pub struct Config {
    /// The store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The address to listen on. Anything but loopback needs --requirepass.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The TCP port (0: any free port; the log line says which).
    #[arg(long, value_name = "N", default_value_t = 6379)]
    pub port: u16,
    /// The password clients must give with AUTH (or HELLO ... AUTH).
    #[arg(long, value_name = "PASS", env = "BITCASK_REQUIREPASS", hide_env_values = true)]
    pub requirepass: Option<String>,
    /// When writes are synced: never, always (a reply means fsynced; one fsync covers every
    /// connection's writes), or every=MS.
    #[arg(long, value_name = "POLICY", default_value = "every=1000", value_parser = parse_sync)]
    pub sync: SyncPolicy,
    /// The number of shards of a new store (a power of two; an existing store keeps its own).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// The number of databases (SELECT 0 to N-1; 1 to 256). Cluster mode has database 0
    /// only, as Redis Cluster.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub databases: u16,
    /// How long a script may run before other clients are answered BUSY and SCRIPT KILL
    /// may stop it (Redis's `busy-reply-threshold`, also `lua-time-limit`).
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub busy_reply_threshold: u64,
    /// Commands that run longer than this many microseconds go to the slow log (SLOWLOG;
    /// negative: none, 0: every command).
    #[arg(long, value_name = "USEC", default_value_t = 10_000, allow_negative_numbers = true)]
    pub slowlog_log_slower_than: i64,
    /// The most entries the slow log keeps.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub slowlog_max_len: u64,
    /// The most clients connected at once.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub maxclients: usize,
    /// The longest bulk string a request may carry.
    #[arg(long, value_name = "BYTES", default_value_t = 512 << 20)]
    pub max_bulk_len: usize,
    /// The most arguments one request may carry.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_args: usize,
    /// The most bytes a client's unparsed requests may hold (its query buffer).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    pub max_query_buffer: usize,
    /// The most commands a transaction may queue between MULTI and EXEC; one more
    /// discards the transaction with an error.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_multi_commands: usize,
    /// The most memory a transaction's queue may take (its arguments' bytes, 40 more for
    /// each argument and 48 for each command); past it the transaction is discarded with an
    /// error.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_multi_bytes: usize,
    /// The most bytes of replies one client may have waiting (0: no limit): a reply that
    /// would pass it closes the connection (logged), as Redis's `client-output-buffer-limit`.
    /// A client's requests are not run while its earlier replies wait to be sent.
    #[arg(long, value_name = "BYTES", default_value_t = 512 << 20)]
    pub client_output_buffer_limit: usize,
    /// The most bytes of replies all clients together may have waiting (0: no limit): the
    /// client whose reply would pass it is closed (logged), as Redis's `maxmemory-clients`.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    pub maxmemory_clients: usize,
    /// Close a connection idle this many seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub timeout: u64,
    /// Redis Cluster mode: the cluster's configuration file (every node, its address and
    /// its slots; the same file on every node). Keys of other nodes' slots get `MOVED`.
    #[arg(long, value_name = "FILE")]
    pub cluster_config: Option<PathBuf>,
    /// This node's id in the cluster configuration (default: the entry whose port is
    /// --port).
    #[arg(long, value_name = "ID", requires = "cluster_config")]
    pub cluster_myid: Option<String>,
    /// Network threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// What start-up does with damage at rest (bytes that were synced and went bad): strict
    /// refuses to start, naming the file and offset; skip sets the damaged record aside in
    /// a quarantine file, keeps every other record, and reports it in the log and INFO.
    #[arg(long, value_name = "MODE", default_value = "strict", value_parser = parse_recovery)]
    pub recovery: RecoveryMode,
}

fn parse_recovery(s: &str) -> Result<RecoveryMode, String> {
    match s {
        "strict" => Ok(RecoveryMode::Strict),
        "skip" => Ok(RecoveryMode::SkipCorrupt),
        _ => Err(format!("'{s}': expected strict or skip")),
    }
}

fn parse_sync(s: &str) -> Result<SyncPolicy, String> {
    s.parse()
}

impl Config {
    /// The flags for a store in `dir` on an ephemeral loopback port (for tests and embedding).
    pub fn for_dir(dir: impl Into<PathBuf>) -> Config {
        Config::parse_from(
            ["bitcask-server", "--port", "0", "--dir"]
                .into_iter()
                .map(String::from)
                .chain([dir.into().display().to_string()]),
        )
    }

    /// `appendfsync` as CONFIG GET reports it.
    pub fn appendfsync(&self) -> &'static str {
        match self.sync {
            SyncPolicy::Always => "always",
            SyncPolicy::EveryMillis(_) => "everysec",
            SyncPolicy::Never => "no",
        }
    }

    /// The sync policy as the flag spells it.
    pub fn sync_text(&self) -> String {
        match self.sync {
            SyncPolicy::Always => "always".into(),
            SyncPolicy::EveryMillis(ms) => format!("every={ms}"),
            SyncPolicy::Never => "never".into(),
        }
    }
}
