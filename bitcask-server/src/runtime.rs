//! The parameters CONFIG SET changes while the server runs (the rest of the flags are fixed
//! at start): idle timeout, client limit, password, the script time limit and the slow log's
//! threshold and length. Read where they apply, on every use.

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
    /// A public bind: the password may not be cleared.
    public: bool,
}

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

    /// The parameters and their values, as CONFIG GET shows them.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("timeout", self.timeout().to_string()),
            ("maxclients", self.maxclients().to_string()),
            ("requirepass", self.requirepass().unwrap_or_default()),
            ("busy-reply-threshold", self.busy_reply_threshold().to_string()),
            ("lua-time-limit", self.busy_reply_threshold().to_string()),
            ("slowlog-log-slower-than", self.slowlog_slower_than().to_string()),
            ("slowlog-max-len", self.slowlog_max_len().to_string()),
        ]
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
            "requirepass" if value.is_empty() && self.public => {
                return Err(SetError::Invalid(
                    "a server bound to a public address needs a password",
                ));
            }
            "requirepass" => {
                let pass = (!value.is_empty()).then(|| value.to_owned());
                *self.requirepass.write().unwrap_or_else(|e| e.into_inner()) = pass;
            }
            _ => return Err(SetError::Unknown),
        }
        Ok(())
    }
}
