//! The parameters CONFIG SET changes while the server runs (the rest of the flags are fixed
//! at start): idle timeout, client limit, password, the script time limit, the slow log's
//! threshold and length, and the limits on what a client may make the server hold (bulk
//! length, query buffer, reply buffers, MULTI queues). Read where they apply, on every use.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::RwLock;

use crate::config::Config;

/// The parameters that change at run time.
pub struct Runtime {
    timeout: AtomicU64,
    maxclients: AtomicU64,
    requirepass: RwLock<Option<String>>,
    busy_reply_threshold: AtomicU64,
    slowlog_slower_than: AtomicI64,
    slowlog_max_len: AtomicU64,
    max_bulk_len: AtomicU64,
    max_query_buffer: AtomicU64,
    client_output_buffer_limit: AtomicU64,
    /// `client-output-buffer-limit`'s pubsub class: hard bytes, soft bytes, seconds.
    pubsub_limit: [AtomicU64; 3],
    maxmemory_clients: AtomicU64,
    max_multi_commands: AtomicU64,
    max_multi_bytes: AtomicU64,
    latency_monitor_threshold: AtomicU64,
    /// The most keys the client-side caching table holds (0: no limit).
    tracking_table_max_keys: AtomicU64,
    /// `notify-keyspace-events`'s classes.
    notify_keyspace_events: std::sync::atomic::AtomicU32,
    /// The collections' encoding thresholds, by [`ENCODINGS`]' order.
    encodings: [AtomicI64; ENCODINGS.len()],
    /// A public bind: the password may not be cleared.
    public: bool,
}

/// The thresholds Redis picks a collection's compact encoding by, with their defaults and
/// the older names that still set them. Here they change only what OBJECT ENCODING
/// reports: every collection is stored the same way.
pub const ENCODINGS: [(&str, &str, i64); 9] = [
    ("hash-max-listpack-entries", "hash-max-ziplist-entries", 128),
    ("hash-max-listpack-value", "hash-max-ziplist-value", 64),
    ("set-max-intset-entries", "", 512),
    ("set-max-listpack-entries", "", 128),
    ("set-max-listpack-value", "", 64),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries", 128),
    ("zset-max-listpack-value", "zset-max-ziplist-value", 64),
    ("list-max-listpack-size", "list-max-ziplist-size", -2),
    ("list-compress-depth", "", 0),
];

/// Why CONFIG SET refused a value.
pub enum SetError {
    /// No such parameter here.
    Unknown,
    /// The value does not fit the parameter (what Redis says after the name).
    Invalid(&'static str),
}

impl Runtime {
    /// The parameters as the flags set them.
    pub fn new(cfg: &Config) -> Runtime {
        Runtime {
            timeout: AtomicU64::new(cfg.timeout),
            maxclients: AtomicU64::new(cfg.maxclients as u64),
            requirepass: RwLock::new(cfg.requirepass.clone()),
            busy_reply_threshold: AtomicU64::new(cfg.busy_reply_threshold),
            slowlog_slower_than: AtomicI64::new(cfg.slowlog_log_slower_than),
            slowlog_max_len: AtomicU64::new(cfg.slowlog_max_len),
            max_bulk_len: AtomicU64::new(cfg.max_bulk_len as u64),
            max_query_buffer: AtomicU64::new(cfg.max_query_buffer as u64),
            client_output_buffer_limit: AtomicU64::new(cfg.client_output_buffer_limit as u64),
            // Redis's default: 32 MiB at once, or 8 MiB for 60 seconds.
            pubsub_limit: [AtomicU64::new(32 << 20), AtomicU64::new(8 << 20), AtomicU64::new(60)],
            maxmemory_clients: AtomicU64::new(cfg.maxmemory_clients as u64),
            max_multi_commands: AtomicU64::new(cfg.max_multi_commands as u64),
            encodings: ENCODINGS.map(|(_, _, v)| AtomicI64::new(v)),
            max_multi_bytes: AtomicU64::new(cfg.max_multi_bytes as u64),
            latency_monitor_threshold: AtomicU64::new(0),
            notify_keyspace_events: std::sync::atomic::AtomicU32::new(0),
            tracking_table_max_keys: AtomicU64::new(1_000_000),
            public: !cfg.bind.is_loopback(),
        }
    }

    /// Idle seconds before a client is closed (0: never).
    pub fn timeout(&self) -> u64 {
        self.timeout.load(Relaxed)
    }

    /// The most clients at once.
    pub fn maxclients(&self) -> u64 {
        self.maxclients.load(Relaxed)
    }

    /// The password, if one is set.
    pub fn requirepass(&self) -> Option<String> {
        self.requirepass.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How long a script runs before others are answered BUSY (ms).
    pub fn busy_reply_threshold(&self) -> u64 {
        self.busy_reply_threshold.load(Relaxed)
    }

    /// Commands slower than this many microseconds are logged (negative: none).
    pub fn slowlog_slower_than(&self) -> i64 {
        self.slowlog_slower_than.load(Relaxed)
    }

    /// The most entries the slow log keeps.
    pub fn slowlog_max_len(&self) -> usize {
        self.slowlog_max_len.load(Relaxed) as usize
    }

    /// The longest bulk string a request may carry (`proto-max-bulk-len`).
    pub fn max_bulk_len(&self) -> usize {
        self.max_bulk_len.load(Relaxed) as usize
    }

    /// The most unparsed request bytes a client may send (`client-query-buffer-limit`).
    pub fn max_query_buffer(&self) -> usize {
        self.max_query_buffer.load(Relaxed) as usize
    }

    /// The most reply bytes waiting for one client (0: none; `client-output-buffer-limit`'s
    /// normal class, hard limit).
    pub fn client_output_buffer_limit(&self) -> usize {
        self.client_output_buffer_limit.load(Relaxed) as usize
    }

    /// How many bytes of messages a subscriber may have waiting (`client-output-buffer-limit`'s
    /// pubsub class).
    pub fn pubsub_limit(&self) -> crate::pubsub::Limit {
        let [hard, soft, seconds] = self.pubsub_limit.each_ref().map(|a| a.load(Relaxed));
        crate::pubsub::Limit { hard: hard as usize, soft: soft as usize, seconds }
    }

    /// The most keys the client-side caching table holds (`tracking-table-max-keys`; 0: no
    /// limit).
    pub fn tracking_table_max_keys(&self) -> usize {
        self.tracking_table_max_keys.load(Relaxed) as usize
    }

    /// The keyspace event classes published (`notify-keyspace-events`; 0: none).
    pub fn notify_flags(&self) -> u32 {
        self.notify_keyspace_events.load(Relaxed)
    }

    /// The most reply bytes waiting for all clients (0: none; `maxmemory-clients`).
    pub fn maxmemory_clients(&self) -> usize {
        self.maxmemory_clients.load(Relaxed) as usize
    }

    /// The most commands and argument bytes one MULTI may queue.
    pub fn multi_limits(&self) -> (usize, usize) {
        (
            self.max_multi_commands.load(Relaxed) as usize,
            self.max_multi_bytes.load(Relaxed) as usize,
        )
    }

    /// Commands at least this many milliseconds long are latency events (0: none).
    pub fn latency_monitor_threshold(&self) -> u64 {
        self.latency_monitor_threshold.load(Relaxed)
    }

    /// The parameters and their values, as CONFIG GET shows them.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut all = vec![
            ("timeout", self.timeout().to_string()),
            ("maxclients", self.maxclients().to_string()),
            ("requirepass", self.requirepass().unwrap_or_default()),
            ("busy-reply-threshold", self.busy_reply_threshold().to_string()),
            ("lua-time-limit", self.busy_reply_threshold().to_string()),
            ("slowlog-log-slower-than", self.slowlog_slower_than().to_string()),
            ("slowlog-max-len", self.slowlog_max_len().to_string()),
            ("proto-max-bulk-len", self.max_bulk_len().to_string()),
            ("client-query-buffer-limit", self.max_query_buffer().to_string()),
            ("client-output-buffer-limit", {
                let p = self.pubsub_limit();
                format!(
                    "normal {} 0 0 slave 0 0 0 pubsub {} {} {}",
                    self.client_output_buffer_limit(),
                    p.hard,
                    p.soft,
                    p.seconds
                )
            }),
            ("maxmemory-clients", self.maxmemory_clients().to_string()),
            ("latency-monitor-threshold", self.latency_monitor_threshold().to_string()),
            ("notify-keyspace-events", crate::notify::format(self.notify_flags())),
            ("tracking-table-max-keys", self.tracking_table_max_keys().to_string()),
            ("max-multi-commands", self.max_multi_commands.load(Relaxed).to_string()),
            ("max-multi-bytes", self.max_multi_bytes.load(Relaxed).to_string()),
        ];
        for ((name, old, _), v) in ENCODINGS.iter().zip(&self.encodings) {
            all.push((name, v.load(Relaxed).to_string()));
            if !old.is_empty() {
                all.push((old, v.load(Relaxed).to_string()));
            }
        }
        all
    }

    /// The encoding threshold `name` (one of [`ENCODINGS`]).
    pub fn encoding(&self, name: &str) -> i64 {
        let i = ENCODINGS.iter().position(|e| e.0 == name);
        i.and_then(|i| self.encodings.get(i)).map_or(0, |v| v.load(Relaxed))
    }

    /// CONFIG SET of one parameter (its name in lower case).
    pub fn set(&self, name: &str, value: &str) -> Result<(), SetError> {
        const NOT_INT: SetError = SetError::Invalid("argument couldn't be parsed into an integer");
        let uint = || value.parse::<u64>().map_err(|_| NOT_INT);
        match name {
            "timeout" => self.timeout.store(uint()?, Relaxed),
            "maxclients" => self.maxclients.store(uint()?.max(1), Relaxed),
            "busy-reply-threshold" | "lua-time-limit" => {
                self.busy_reply_threshold.store(uint()?, Relaxed)
            }
            "slowlog-log-slower-than" => {
                self.slowlog_slower_than.store(value.parse().map_err(|_| NOT_INT)?, Relaxed)
            }
            "slowlog-max-len" => self.slowlog_max_len.store(uint()?, Relaxed),
            "proto-max-bulk-len" => self.max_bulk_len.store(at_least_a_mebibyte(value)?, Relaxed),
            "client-query-buffer-limit" => {
                self.max_query_buffer.store(at_least_a_mebibyte(value)?, Relaxed)
            }
            "maxmemory-clients" => self.maxmemory_clients.store(bytes(value)?, Relaxed),
            "client-output-buffer-limit" => {
                let (normal, pubsub) = classes(value)?;
                if let Some(hard) = normal {
                    self.client_output_buffer_limit.store(hard, Relaxed)
                }
                if let Some(limit) = pubsub {
                    for (slot, v) in self.pubsub_limit.iter().zip(limit) {
                        slot.store(v, Relaxed);
                    }
                }
            }
            "max-multi-commands" => self.max_multi_commands.store(uint()?.max(1), Relaxed),
            "max-multi-bytes" => self.max_multi_bytes.store(bytes(value)?, Relaxed),
            "latency-monitor-threshold" => self.latency_monitor_threshold.store(uint()?, Relaxed),
            "tracking-table-max-keys" => self.tracking_table_max_keys.store(uint()?, Relaxed),
            "notify-keyspace-events" => {
                let flags = crate::notify::parse(value).ok_or(SetError::Invalid(
                    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
                ))?;
                self.notify_keyspace_events.store(flags, Relaxed)
            }
            "requirepass" if value.is_empty() && self.public => {
                return Err(SetError::Invalid(
                    "a server bound to a public address needs a password",
                ));
            }
            // No snapshots are taken (every write is in the log): "" (none) is what is.
            "save" if value.trim().is_empty() => {}
            "save" => return Err(SetError::Invalid(
                "no snapshots are taken here (every write is in the log); only \"\" is accepted",
            )),
            "requirepass" => {
                let pass = (!value.is_empty()).then(|| value.to_owned());
                *self.requirepass.write().unwrap_or_else(|e| e.into_inner()) = pass;
            }
            _ => {
                let i =
                    ENCODINGS.iter().position(|e| e.0 == name || (!e.1.is_empty() && e.1 == name));
                let slot = i.and_then(|i| self.encodings.get(i)).ok_or(SetError::Unknown)?;
                slot.store(value.parse().map_err(|_| NOT_INT)?, Relaxed);
            }
        }
        Ok(())
    }
}

/// A memory size as Redis reads one: bytes, or with a unit (`k`, `kb`, `m`, `mb`, `g`,
/// `gb`; `k` is 1000, `kb` 1024, any case).
fn bytes(value: &str) -> Result<u64, SetError> {
    const BAD: SetError = SetError::Invalid("argument must be a memory value");
    let v = value.to_ascii_lowercase();
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match &v[digits.len()..] {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(BAD),
    };
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)).ok_or(BAD)
}

/// A memory size of at least 1 MiB (proto-max-bulk-len, client-query-buffer-limit), with
/// Redis's error below it.
fn at_least_a_mebibyte(value: &str) -> Result<u64, SetError> {
    match bytes(value)? {
        n if n < 1 << 20 => Err(SetError::Invalid(
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        )),
        n => Ok(n),
    }
}

/// `client-output-buffer-limit`'s classes (`<class> <hard> <soft> <seconds>`, repeated):
/// the normal class's hard limit and the pubsub class's three numbers, each if given (the
/// replica class has no clients here).
type Classes = (Option<u64>, Option<[u64; 3]>);

fn classes(value: &str) -> Result<Classes, SetError> {
    const BAD: SetError =
        SetError::Invalid("Wrong number of arguments in buffer limit configuration.");
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err(BAD);
    }
    let (mut normal, mut pubsub) = (None, None);
    for class in words.chunks_exact(4) {
        let [name, hard, soft, secs] = class else { return Err(BAD) };
        let known =
            ["normal", "slave", "replica", "pubsub"].contains(&name.to_ascii_lowercase().as_str());
        if !known {
            return Err(SetError::Invalid(
                "Invalid client class specified in buffer limit configuration.",
            ));
        }
        let (hard, soft, secs) =
            (bytes(hard)?, bytes(soft)?, secs.parse::<u64>().map_err(|_| BAD)?);
        if name.eq_ignore_ascii_case("normal") {
            normal = Some(hard);
        } else if name.eq_ignore_ascii_case("pubsub") {
            pubsub = Some([hard, soft, secs]);
        }
    }
    Ok((normal, pubsub))
}
