//! [`Tx`], the write set a command (or a whole MULTI/EXEC) builds before it commits: reads
//! see its own writes first, then the store.

use bitcask_core::Error;

use crate::keyspace::{now_ms, Commit, Entry, Keyspace};

/// The write set of a command or a transaction: reads see its own writes first, then the
/// store; [`commit`](Tx::commit) applies it.
pub struct Tx<'a> {
    ks: &'a Keyspace,
    /// The time the command runs at, for every expiry it reads or sets.
    pub now: u64,
    ops: Vec<(Vec<u8>, Option<Entry>)>,
    /// The set of an EXEC: every write waits for the atomic commit.
    atomic: bool,
    /// A write was applied at once ([`Tx::put_now`], [`Tx::delete_all`]).
    wrote: bool,
}

impl<'a> Tx<'a> {
    /// An empty write set; `atomic` for an EXEC's.
    pub fn new(ks: &'a Keyspace, atomic: bool) -> Tx<'a> {
        Tx { ks, now: now_ms(), ops: Vec::new(), atomic, wrote: false }
    }

    /// Whether it holds writes to commit.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether a write was applied at once.
    pub fn wrote(&self) -> bool {
        self.wrote
    }

    /// Sets `key` to `value` (expiring at `at`, 0: never) at once when this set holds
    /// nothing else and is no EXEC's (the common SET: no copy of the value); otherwise as
    /// [`Tx::put`]. The caller holds the key's slot lock.
    #[inline]
    pub fn put_now(&mut self, key: &[u8], value: &[u8], at: u64) -> Result<(), Error> {
        if self.atomic || !self.ops.is_empty() {
            self.put(key, value.to_vec(), at);
            return Ok(());
        }
        self.ks.put(key, value, at)?;
        self.wrote = true;
        Ok(())
    }

    /// Deletes every key (FLUSHALL; the caller holds every slot lock): at once, shard by
    /// shard, outside EXEC; inside it, as one delete per key of the atomic commit.
    pub fn delete_all(&mut self) -> Result<(), Error> {
        if !self.atomic {
            self.wrote |= self.ks.flush()? > 0;
            return Ok(());
        }
        let mut cursor = 0;
        loop {
            let (keys, next) = self.ks.scan_keys(cursor, 10_000)?;
            for k in keys {
                self.delete(&k)?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn pending(&self, key: &[u8]) -> Option<&Option<Entry>> {
        self.ops.iter().rev().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    /// The value and expiry of `key`, if it is present (and not expired).
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.clone().filter(|(_, at)| *at == 0 || *at > self.now));
        }
        if key.is_empty() {
            return Ok(None);
        }
        self.ks.get(key)
    }

    /// Calls `f` with the value of `key` without copying it when no write of this set
    /// covers it.
    pub fn with_value<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        if self.pending(key).is_some() {
            return Ok(self.get(key)?.map(|(v, _)| f(&v)));
        }
        if key.is_empty() {
            return Ok(None);
        }
        self.ks.with_value(key, f)
    }

    /// Whether `key` is present.
    pub fn exists(&self, key: &[u8]) -> Result<bool, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.as_ref().is_some_and(|(_, at)| *at == 0 || *at > self.now));
        }
        if key.is_empty() {
            return Ok(false);
        }
        self.ks.contains(key)
    }

    /// The expiry of `key`: `None` when absent, `Some(0)` when it has none.
    pub fn expiry(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.as_ref().filter(|(_, at)| *at == 0 || *at > self.now).map(|(_, at)| *at));
        }
        if key.is_empty() {
            return Ok(None);
        }
        self.ks.expiry(key)
    }

    /// Sets `key` to `value`, expiring at `at` (0: never).
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, at: u64) {
        self.ops.push((key.to_vec(), Some((value, at))));
    }

    /// Deletes `key`; returns whether it was present.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        let existed = self.exists(key)?;
        if existed {
            self.ops.push((key.to_vec(), None));
        }
        Ok(existed)
    }

    /// Applies the write set: a single write is a plain put or delete; several are one
    /// batch per shard (`PerShard`) or one batch that must stay in one shard (`Atomic`).
    pub fn commit(self, how: Commit) -> Result<(), Error> {
        self.ks.apply(&self.ops, how)
    }
}
