//! The command-line surface: global flags, subcommands and their arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bitcask_core::SyncPolicy;

use crate::codec::Codec;

#[derive(Parser, Debug)]
#[command(name = "bitcask", version, about = "A Bitcask-style key/value store", long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 not found, 2 usage, 3 corruption, 4 locked, 5 other error, 6 no such store.\n\
Example:\n  bitcask --dir ./data put user:1 alice\n  bitcask --dir ./data get user:1"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Store directory.
    #[arg(long, global = true, env = "BITCASK_DIR", value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Open the store read-only (works beside a running writer).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// When writes are synced: never, always, or every=MS.
    #[arg(long, global = true, value_name = "POLICY", value_parser = parse_sync, default_value = "never")]
    pub sync: SyncPolicy,
    /// Keys and values on the command line and in output are hexadecimal.
    #[arg(long, global = true, conflicts_with = "base64")]
    pub hex: bool,
    /// Keys and values on the command line and in output are base64.
    #[arg(long, global = true)]
    pub base64: bool,
}

impl Global {
    pub fn codec(&self) -> Codec {
        if self.hex {
            Codec::Hex
        } else if self.base64 {
            Codec::Base64
        } else {
            Codec::Raw
        }
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
    match s {
        "never" => Ok(SyncPolicy::Never),
        "always" => Ok(SyncPolicy::Always),
        _ => match s.strip_prefix("every=") {
            Some(ms) => match ms.parse::<u64>() {
                Ok(n) if n > 0 => Ok(SyncPolicy::EveryMillis(n)),
                _ => Err(format!("invalid interval in {s:?}: use every=MS with MS > 0")),
            },
            None => Err(format!("unknown sync policy {s:?}: use never, always or every=MS")),
        },
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Store a value. The value comes from stdin when omitted or "-".
    #[command(
        after_help = "Examples:\n  bitcask put greeting hello\n  echo -n hello | bitcask put greeting\n  bitcask put session abc --ttl 10m"
    )]
    Put {
        #[command(flatten)]
        key: KeyArg,
        /// The value (as --hex/--base64 say); read from stdin when omitted or "-".
        value: Option<String>,
        /// Expire the key after this long (e.g. 30s, 10m, 2h); 0 is refused, as Redis does.
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<std::time::Duration>,
    },
    /// Print the remaining time to live of a key in milliseconds (-1: no expiry). Exit code 1
    /// when absent.
    #[command(after_help = "Example:\n  bitcask ttl session")]
    Ttl {
        #[command(flatten)]
        key: KeyArg,
    },
    /// Print a value (raw bytes to stdout). Exit code 1 when absent.
    #[command(after_help = "Example:\n  bitcask get greeting > value.bin")]
    Get {
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete a key. Exit code 1 when it was absent.
    #[command(after_help = "Example:\n  bitcask delete greeting")]
    Delete {
        #[command(flatten)]
        key: KeyArg,
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
    },
    /// Keys, files, live and dead bytes, fragmentation per file, disk use.
    #[command(after_help = "Example:\n  bitcask stats --json")]
    Stats {
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Compact the store: rewrite sealed files keeping only live data.
    #[command(after_help = "Example:\n  bitcask merge")]
    Merge,
    /// Verify every record checksum and every hint file. Exit code 3 when damage is found.
    #[command(after_help = "Example:\n  bitcask check")]
    Check,
    /// Rewrite damaged files keeping every valid record; originals go to a backup folder.
    #[command(after_help = "Example:\n  bitcask repair --yes --backup ./data-backup")]
    Repair {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Where the damaged originals are moved (default: a new folder inside the store).
        #[arg(long)]
        backup: Option<PathBuf>,
    },
    /// Write every key, value and expiry as JSON lines: {"key": text} (or "key_base64" /
    /// "key_hex" for bytes that are not UTF-8, or as --base64/--hex say), the same for
    /// "value", and "expires_at_ms" (ms since the Unix epoch) for a key with a TTL.
    #[command(after_help = "Example:\n  bitcask export > dump.jsonl")]
    Export {
        /// Output file (default stdout).
        file: Option<PathBuf>,
    },
    /// Load JSON lines in the schema of `export` (and `scan --json`); expiry times are kept
    /// exactly. A line it cannot read stops the import with its line number (exit code 2).
    #[command(after_help = "Example:\n  bitcask --dir ./copy import dump.jsonl")]
    Import {
        /// Input file (default stdin).
        file: Option<PathBuf>,
    },
    /// Write a consistent copy of the store into a new directory while it stays in use
    /// (sealed files are hard-linked where the file system allows it).
    #[command(after_help = "Example:\n  bitcask backup ./data-2026-12-01")]
    Backup {
        /// The directory to create for the copy (it must not exist).
        dest: PathBuf,
    },
    /// Decode a datafile or hint file record by record.
    #[command(after_help = "Example:\n  bitcask inspect ./data/0000000001000000.data")]
    Inspect {
        /// The datafile (*.data) or hint file (*.hint) to decode.
        file: PathBuf,
        /// Print at most this many records.
        #[arg(long)]
        limit: Option<usize>,
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
    /// Each of the above in turn.
    All,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
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
