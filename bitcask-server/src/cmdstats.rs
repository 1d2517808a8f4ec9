//! Per-command and per-error counters, as INFO's `commandstats` and `errorstats` show them:
//! calls, time, rejected and failed calls of each command (a subcommand as
//! `container|name`), and how many error replies of each code were sent. Every command's
//! counters are made at start and found without a lock (a command's call touches only its
//! own counters); the HELP shared by every container is counted by name. CONFIG RESETSTAT
//! zeroes them all.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// One command's counters.
#[derive(Default)]
pub struct Counter {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

/// Every command's counters, and the error replies by code.
pub struct CmdStats {
    /// By the address of the command's spec (stable: specs are statics); fixed at start.
    by_spec: HashMap<usize, (String, Counter), foldhash::fast::FixedState>,
    /// Commands whose spec serves several names (a container's HELP), by name.
    by_name: Mutex<HashMap<String, Arc<Counter>>>,
    errors: Mutex<HashMap<String, u64>>,
    /// Error replies sent, all codes together.
    pub total_errors: AtomicU64,
}

impl CmdStats {
    /// Counters for these commands: each spec's address and name.
    pub fn new(commands: impl IntoIterator<Item = (usize, String)>) -> CmdStats {
        CmdStats {
            by_spec: commands
                .into_iter()
                .map(|(k, name)| (k, (name, Counter::default())))
                .collect(),
            by_name: Mutex::default(),
            errors: Mutex::default(),
            total_errors: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the counters of the command whose spec is at `key` (named `name()` when
    /// the spec is not one of those given at start).
    pub fn with(&self, key: usize, name: impl FnOnce() -> String, f: impl FnOnce(&Counter)) {
        if let Some((_, c)) = self.by_spec.get(&key) {
            return f(c);
        }
        let c = lock(&self.by_name).entry(name()).or_default().clone();
        f(&c);
    }

    /// Counts an error reply whose text is `text` (its code is the first word).
    pub fn error(&self, text: &str) {
        let code = text.split(' ').next().unwrap_or("ERR");
        self.total_errors.fetch_add(1, Relaxed);
        let mut errors = lock(&self.errors);
        // A bounded table: codes come from the server, but a script's error_reply picks its
        // own.
        if errors.len() < 128 || errors.contains_key(code) {
            *errors.entry(code.to_owned()).or_insert(0) += 1;
        } else {
            *errors.entry("ERRORSTATS_OVERFLOW".to_owned()).or_insert(0) += 1;
        }
    }

    /// Zeroes every counter (CONFIG RESETSTAT).
    pub fn reset(&self) {
        let named = lock(&self.by_name);
        let all = self.by_spec.values().map(|(_, c)| c).chain(named.values().map(|c| &**c));
        for c in all {
            for a in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                a.store(0, Relaxed);
            }
        }
        lock(&self.errors).clear();
        self.total_errors.store(0, Relaxed);
    }

    /// INFO's `# Commandstats` lines, by command name.
    pub fn commandstats(&self, o: &mut String) {
        o.push_str("# Commandstats\r\n");
        let named = lock(&self.by_name);
        let mut rows: Vec<(&String, &Counter)> =
            self.by_spec.values().map(|(n, c)| (n, c)).collect();
        rows.extend(named.iter().map(|(n, c)| (n, &**c)));
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (name, c) in rows {
            let (calls, usec) = (c.calls.load(Relaxed), c.usec.load(Relaxed));
            let (rejected, failed) = (c.rejected.load(Relaxed), c.failed.load(Relaxed));
            if calls + rejected + failed == 0 {
                continue;
            }
            let per = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
            let _ = write!(o, "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n");
        }
    }

    /// INFO's `# Errorstats` lines, by code.
    pub fn errorstats(&self, o: &mut String) {
        o.push_str("# Errorstats\r\n");
        let errors = lock(&self.errors);
        let mut rows: Vec<(&String, &u64)> = errors.iter().collect();
        rows.sort();
        for (code, n) in rows {
            let _ = write!(o, "errorstat_{code}:count={n}\r\n");
        }
    }
}

impl Counter {
    /// A call that ran for `usec` microseconds; `failed` when it replied with an error.
    pub fn ran(&self, usec: u64, failed: bool) {
        self.calls.fetch_add(1, Relaxed);
        self.usec.fetch_add(usec, Relaxed);
        if failed {
            self.failed.fetch_add(1, Relaxed);
        }
    }

    /// A call refused before it ran (arity, authentication, BUSY, ...).
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
