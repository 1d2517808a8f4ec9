//! The command-line surface: global flags, subcommands and their arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bitcask_core::SyncPolicy;

use crate::codec::Codec;

#[derive(Parser, Debug)]
#[command(name = "bitcask", version, about = "A Bitcask-style key/value store", long_about = None)]
#[command(
    after_help = "Flags given before the command apply to it as its own flags do; each command's \
--help lists the ones it takes.\n\
Exit codes: 0 ok, 1 not found, 2 usage, 3 corruption, 4 locked, 5 other error, 6 no such store.\n\
Example:\n  bitcask --dir ./data put user:1 alice\n  bitcask --dir ./data get user:1"
)]
pub struct Cli {
    #[command(flatten)]
    pub top: TopFlags,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags before the command (`bitcask --dir D --hex get K`), kept for the habit; a flag
/// the command does not take is a usage error, not silently ignored.
#[derive(Args, Debug, Clone)]
pub struct TopFlags {
    /// Store directory (commands without a store ignore it).
    #[arg(long, env = "BITCASK_DIR", value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// When writes are synced: never, always, or every=MS (commands that write).
    #[arg(long, value_name = "POLICY", value_parser = parse_sync)]
    pub sync: Option<SyncPolicy>,
    /// Keys and values are hexadecimal (commands that take or print keys).
    #[arg(long, conflicts_with = "base64")]
    pub hex: bool,
    /// Keys and values are base64 (commands that take or print keys).
    #[arg(long)]
    pub base64: bool,
}

/// `--dir`, for a command that opens a store.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreFlag {
    /// Store directory (default: the --dir before the command, or BITCASK_DIR).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
}

/// `--hex` / `--base64`, for a command that takes or prints keys and values.
#[derive(Args, Debug, Clone, Default)]
pub struct CodecFlags {
    /// Keys and values on the command line and in output are hexadecimal.
    #[arg(long, conflicts_with = "base64")]
    pub hex: bool,
    /// Keys and values on the command line and in output are base64.
    #[arg(long)]
    pub base64: bool,
}

impl CodecFlags {
    fn codec(&self) -> Option<Codec> {
        match (self.hex, self.base64) {
            (true, _) => Some(Codec::Hex),
            (_, true) => Some(Codec::Base64),
            _ => None,
        }
    }
}

/// `--sync`, for a command that writes.
#[derive(Args, Debug, Clone, Default)]
pub struct SyncFlag {
    /// When writes are synced: never (the default), always, or every=MS.
    #[arg(long, value_name = "POLICY", value_parser = parse_sync)]
    pub sync: Option<SyncPolicy>,
}

/// What a command runs with: its flags, or the same flags given before it.
#[derive(Debug, Clone)]
pub struct Global {
    /// The store directory, if one was named.
    pub dir: Option<PathBuf>,
    /// The sync policy for writes.
    pub sync: SyncPolicy,
    codec: Codec,
}

impl Global {
    pub fn codec(&self) -> Codec {
        self.codec
    }
}

/// The flag groups one command takes (`None`: it does not take that group).
pub struct Takes<'a> {
    pub store: Option<&'a StoreFlag>,
    pub codec: Option<&'a CodecFlags>,
    pub sync: Option<&'a SyncFlag>,
}

impl Cli {
    /// Merges the flags before the command into the command's own; a flag before a command
    /// that does not take it is refused with the command's name.
    pub fn settings(&self) -> Result<Global, String> {
        let t = self.command.takes();
        let name = self.command.name();
        let refuse =
            |flag: &str| format!("{flag} does not apply to `{name}` (see `bitcask {name} --help`)");
        if t.codec.is_none() && (self.top.hex || self.top.base64) {
            return Err(refuse(if self.top.hex { "--hex" } else { "--base64" }));
        }
        if t.sync.is_none() && self.top.sync.is_some() {
            return Err(refuse("--sync"));
        }
        let top_codec = CodecFlags { hex: self.top.hex, base64: self.top.base64 }.codec();
        let codec = t.codec.and_then(CodecFlags::codec).or(top_codec).unwrap_or(Codec::Raw);
        let sync = t.sync.and_then(|s| s.sync).or(self.top.sync).unwrap_or(SyncPolicy::Never);
        let dir = t.store.and_then(|s| s.dir.clone()).or_else(|| self.top.dir.clone());
        Ok(Global { dir, sync, codec })
    }
}

/// A key: on the command line, or from a file for keys too long or too binary for one.
#[derive(Args, Debug, Clone)]
pub struct KeyArg {
    /// The key (as --hex/--base64 say).
    #[arg(required_unless_present = "key_file")]
    pub key: Option<String>,
    /// Read the key from this file ("-": stdin) instead of the command line (for `put`,
    /// the one argument left is then the value).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("invalid expire time: must be positive".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_sync(s: &str) -> Result<SyncPolicy, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Cluster administration (bitcask-server --cluster-config): move slots between nodes.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Store a value. The value comes from stdin when omitted or "-".
    #[command(
        after_help = "Examples:\n  bitcask put greeting hello\n  echo -n hello | bitcask put greeting\n  bitcask put session abc --ttl 10m"
    )]
    #[command(
        override_usage = "bitcask put [OPTIONS] <KEY> [VALUE]\n       bitcask put [OPTIONS] --key-file <PATH> [VALUE]"
    )]
    Put {
        #[command(flatten)]
        key: KeyArg,
        /// The value (as --hex/--base64 say); read from stdin when omitted or "-".
        value: Option<String>,
        /// Expire the key after this long (e.g. 30s, 10m, 2h); 0 is refused, as Redis does.
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<std::time::Duration>,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
        #[command(flatten)]
        sync: SyncFlag,
    },
    /// Print the remaining time to live of a key in milliseconds (-1: no expiry). Exit code 1
    /// when absent.
    #[command(after_help = "Example:\n  bitcask ttl session")]
    #[command(override_usage = "bitcask ttl [OPTIONS] <KEY|--key-file <PATH>>")]
    Ttl {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Print a value (raw bytes to stdout). Exit code 1 when absent.
    #[command(after_help = "Example:\n  bitcask get greeting > value.bin")]
    #[command(override_usage = "bitcask get [OPTIONS] <KEY|--key-file <PATH>>")]
    Get {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Delete a key. Exit code 1 when it was absent.
    #[command(after_help = "Example:\n  bitcask delete greeting")]
    #[command(override_usage = "bitcask delete [OPTIONS] <KEY|--key-file <PATH>>")]
    Delete {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
        #[command(flatten)]
        sync: SyncFlag,
    },
    /// List keys, sorted.
    #[command(after_help = "Example:\n  bitcask keys --prefix user: --limit 10")]
    Keys {
        /// Only keys that start with this (as --hex/--base64 say).
        #[arg(long)]
        prefix: Option<String>,
        /// Print at most this many keys.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Print key/value pairs, sorted by key: "key<TAB>value" lines, or JSON lines (the
    /// schema of `export`).
    #[command(after_help = "Example:\n  bitcask scan --prefix user: --json")]
    Scan {
        /// Only pairs whose key starts with this (as --hex/--base64 say).
        #[arg(long)]
        prefix: Option<String>,
        /// Print at most this many pairs.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Keys, files, live and dead bytes, fragmentation per file, disk use.
    #[command(after_help = "Example:\n  bitcask stats --json")]
    Stats {
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreFlag,
    },
    /// Compact the store: rewrite sealed files keeping only live data.
    #[command(after_help = "Example:\n  bitcask merge")]
    Merge {
        #[command(flatten)]
        store: StoreFlag,
    },
    /// Verify every record checksum and every hint file. Exit code 3 when damage is found.
    #[command(after_help = "Example:\n  bitcask check")]
    Check {
        #[command(flatten)]
        store: StoreFlag,
    },
    /// Rewrite damaged files keeping every valid record; originals go to a backup folder.
    #[command(after_help = "Example:\n  bitcask repair --yes --backup ./data-backup")]
    Repair {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Where the damaged originals are moved (default: a new folder inside the store).
        #[arg(long)]
        backup: Option<PathBuf>,
        #[command(flatten)]
        store: StoreFlag,
    },
    /// Write every key, value and expiry as JSON lines: {"key": text} (or "key_base64" /
    /// "key_hex" for bytes that are not UTF-8, or as --base64/--hex say), the same for
    /// "value", and "expires_at_ms" (ms since the Unix epoch) for a key with a TTL.
    #[command(after_help = "Example:\n  bitcask export > dump.jsonl")]
    Export {
        /// Output file (default stdout).
        file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Load JSON lines in the schema of `export` (and `scan --json`); expiry times are kept
    /// exactly. A line it cannot read stops the import with its line number (exit code 2); the
    /// lines before it stay imported.
    #[command(after_help = "Example:\n  bitcask --dir ./copy import dump.jsonl")]
    Import {
        /// Input file (default stdin).
        file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreFlag,
        #[command(flatten)]
        sync: SyncFlag,
    },
    /// Write a consistent copy of the store into a new directory while it stays in use
    /// (sealed files are hard-linked where the file system allows it).
    #[command(after_help = "Example:\n  bitcask backup ./data-2026-12-01")]
    #[command(override_usage = "bitcask backup [OPTIONS] <DEST>")]
    Backup {
        /// The directory to create for the copy (it must not exist).
        dest: PathBuf,
        #[command(flatten)]
        store: StoreFlag,
    },
    /// Decode a datafile or hint file record by record.
    #[command(after_help = "Example:\n  bitcask inspect ./data/0000000001000000.data")]
    #[command(override_usage = "bitcask inspect [OPTIONS] <FILE>")]
    Inspect {
        /// The datafile (*.data) or hint file (*.hint) to decode.
        file: PathBuf,
        /// Print at most this many records.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        codec: CodecFlags,
    },
    /// Built-in load generator (a temporary store unless --store is given).
    #[command(
        after_help = "Examples:\n  bitcask bench\n  bitcask bench --workload get --keys 1000000 --threads 2\n  bitcask --sync always bench --workload put --threads 8"
    )]
    Bench(BenchArgs),
    /// Show the engine working: write, read, delete, merge, reopen, print stats.
    #[command(after_help = "Example:\n  bitcask demo")]
    Demo,
    /// The writer the demo kills (internal).
    #[command(hide = true)]
    DemoWriter {
        /// The store it writes to.
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// One put per call.
    Put,
    /// Puts in atomic batches of --batch-size.
    Batch,
    /// Random gets of existing keys.
    Get,
    /// 80% gets, 20% puts.
    Mixed,
    /// Gets of --batch-size keys per call (at most 1000), values borrowed.
    Multiget,
    /// YCSB A: 50% reads, 50% updates, zipfian keys.
    YcsbA,
    /// YCSB B: 95% reads, 5% updates, zipfian keys.
    YcsbB,
    /// YCSB C: reads only, zipfian keys.
    YcsbC,
    /// YCSB F: 50% reads, 50% read-modify-writes, zipfian keys.
    YcsbF,
    /// Each of the above in turn.
    All,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    #[command(flatten)]
    pub sync: SyncFlag,
    /// Store to benchmark (default: a new temporary store). `BITCASK_DIR` and the global
    /// `--dir` are ignored, so a benchmark never writes to your data by accident.
    #[arg(long = "store", value_name = "PATH")]
    pub store: Option<std::path::PathBuf>,
    /// Which workload to run.
    #[arg(long, value_enum, default_value_t = Workload::All)]
    pub workload: Workload,
    /// Number of distinct keys (and of operations per workload).
    #[arg(long, default_value_t = 200_000)]
    pub keys: u64,
    /// Key size in bytes (at least 8).
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Threads issuing operations.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Records per batch for the batch workload.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
}

impl Command {
    /// The flag groups this command takes.
    pub fn takes(&self) -> Takes<'_> {
        let none = Takes { store: None, codec: None, sync: None };
        use Command as C;
        match self {
            C::Put { store, codec, sync, .. } | C::Delete { store, codec, sync, .. } => {
                Takes { store: Some(store), codec: Some(codec), sync: Some(sync) }
            }
            C::Get { store, codec, .. }
            | C::Ttl { store, codec, .. }
            | C::Keys { store, codec, .. }
            | C::Scan { store, codec, .. }
            | C::Export { store, codec, .. } => {
                Takes { store: Some(store), codec: Some(codec), sync: None }
            }
            C::Import { store, sync, .. } => {
                Takes { store: Some(store), sync: Some(sync), codec: None }
            }
            C::Stats { store, .. }
            | C::Merge { store }
            | C::Check { store }
            | C::Repair { store, .. }
            | C::Backup { store, .. } => Takes { store: Some(store), ..none },
            C::Inspect { codec, .. } => Takes { codec: Some(codec), ..none },
            C::Bench(a) => Takes { sync: Some(&a.sync), ..none },
            C::Demo | C::DemoWriter { .. } | C::Cluster(_) => none,
        }
    }

    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        use Command as C;
        match self {
            C::Put { .. } => "put",
            C::Ttl { .. } => "ttl",
            C::Get { .. } => "get",
            C::Delete { .. } => "delete",
            C::Keys { .. } => "keys",
            C::Scan { .. } => "scan",
            C::Stats { .. } => "stats",
            C::Merge { .. } => "merge",
            C::Check { .. } => "check",
            C::Repair { .. } => "repair",
            C::Export { .. } => "export",
            C::Import { .. } => "import",
            C::Backup { .. } => "backup",
            C::Inspect { .. } => "inspect",
            C::Bench(_) => "bench",
            C::Demo => "demo",
            C::Cluster(_) => "cluster",
            C::DemoWriter { .. } => "demo-writer",
        }
    }
}

/// `bitcask cluster ...`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Move slots (whole shards) to another node: stop the source node first. Copies the
    /// shard directories into the target's store, rewrites the cluster configuration
    /// (copy it to every node), then empties the source's shards. Restart the source and
    /// the target with the new configuration; clients follow MOVED to the new owner.
    #[command(
        after_help = "Example:\n  bitcask cluster move --config cluster.conf --slots 0-1023 \\\n      --from /srv/node1 --to /srv/node2 --to-node 0000000000000000000000000000000000000002"
    )]
    Move {
        /// The cluster configuration file (rewritten).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The slots to move, START-END (whole shards of the stores).
        #[arg(long, value_name = "START-END", value_parser = parse_slots)]
        slots: (u16, u16),
        /// The source node's store directory (the node must be stopped).
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The target node's store directory.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// The target node's id in the configuration.
        #[arg(long, value_name = "ID")]
        to_node: String,
    },
}

fn parse_slots(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    match (a.parse::<u16>(), b.parse::<u16>()) {
        (Ok(a), Ok(b)) if a <= b && b < 16384 => Ok((a, b)),
        _ => Err(format!("bad slot range {s:?}: use START-END within 0-16383")),
    }
}
