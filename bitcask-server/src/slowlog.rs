//! The slow log: commands that ran longer than `slowlog-log-slower-than` microseconds, the
//! newest `slowlog-max-len` of them, as SLOWLOG GET shows them (arguments cut as Redis cuts
//! them: 32 at most, 128 bytes each).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Arguments kept of a command (the last one says how many more there were).
const MAX_ARGS: usize = 32;
/// Bytes kept of an argument.
const MAX_ARG_BYTES: usize = 128;

/// One slow command.
pub struct Entry {
    /// Its number (the first is 0).
    pub id: u64,
    /// When it ran (Unix seconds).
    pub time: u64,
    /// How long it ran.
    pub usec: u64,
    /// Its arguments, cut.
    pub args: Vec<Vec<u8>>,
    /// The client's address and name.
    pub client: (String, String),
}

/// The slow log.
#[derive(Default)]
pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
}

/// `argv` as the slow log keeps it.
fn cut(argv: &[&[u8]]) -> Vec<Vec<u8>> {
    let keep = if argv.len() > MAX_ARGS { MAX_ARGS - 1 } else { argv.len() };
    let mut args: Vec<Vec<u8>> = argv
        .iter()
        .take(keep)
        .map(|a| match a.get(..MAX_ARG_BYTES) {
            Some(head) if a.len() > MAX_ARG_BYTES => {
                let more = format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES);
                [head, more.as_bytes()].concat()
            }
            _ => a.to_vec(),
        })
        .collect();
    if argv.len() > keep {
        args.push(format!("... ({} more arguments)", argv.len() - keep).into_bytes());
    }
    args
}

impl SlowLog {
    /// Logs a command that ran `usec` microseconds, keeping the newest `max_len` entries.
    pub fn add(&self, argv: &[&[u8]], usec: u64, client: (String, String), max_len: usize) {
        let id = self.next_id.fetch_add(1, Relaxed);
        let time = crate::keyspace::now_ms() / 1000;
        let entry = Entry { id, time, usec, args: cut(argv), client };
        let mut all = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        all.push_front(entry);
        all.truncate(max_len);
    }

    /// The newest `n` entries, newest first, as `f` reads them.
    pub fn newest<R>(&self, n: usize, f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R) -> R {
        let all = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut all.iter().take(n))
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Forgets every entry.
    pub fn reset(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
