//! [`Tx`], the write set a command (or a whole MULTI/EXEC) builds before it commits: reads
//! see its own writes first, then the store.

use std::cell::{Cell, RefCell};

use bitcask_core::Error;

use crate::keycode::stored;

mod colls;
mod ranked;
pub use colls::{Editor, Value};

/// Why a read of a key's string failed.
#[derive(Debug)]
pub enum TxError {
    /// The store failed.
    Store(Error),
    /// The key holds a collection.
    WrongType,
}

impl From<Error> for TxError {
    fn from(e: Error) -> TxError {
        TxError::Store(e)
    }
}
use crate::keyspace::{now_ms, Commit, Entry, Keyspace};
use crate::notify::{Event, KEY_MISS, NEW};

/// The write set of a command or a transaction: reads see its own writes first, then the
/// store; [`commit`](Tx::commit) applies it.
pub struct Tx<'a> {
    ks: &'a Keyspace,
    /// The time the command runs at, for every expiry it reads or sets.
    pub now: u64,
    /// The database its keys are in (SELECT).
    pub db: u8,
    /// Writes by stored key (keycode).
    ops: Vec<(Vec<u8>, Option<Entry>)>,
    /// The set of an EXEC: every write waits for the atomic commit.
    atomic: bool,
    /// A write was applied at once ([`Tx::put_now`], [`Tx::delete_all`]).
    wrote: bool,
    /// The keyspace event classes to note (`notify-keyspace-events`; 0: none).
    pub notify: u32,
    /// The keyspace events noted, published once the set commits.
    events: RefCell<Vec<Event>>,
    /// Note the keys written, for client-side caching.
    pub track: bool,
    /// The keys written (when [`track`](Self::track)).
    touched: Vec<Vec<u8>>,
    /// FLUSHDB or FLUSHALL ran.
    flushed: bool,
    /// Elements of collections dropped, to forget once the set commits.
    forgets: Vec<Vec<u8>>,
    /// The collections it wrote (physical database, key), reloaded from the store if the
    /// commit fails.
    colls_written: Vec<(u8, Vec<u8>)>,
    /// Lookups count as keyspace hits and misses (a read-only command runs).
    pub count_reads: Cell<bool>,
    /// A counted lookup that misses publishes `keymiss` (when that class is on).
    pub notify_misses: Cell<bool>,
    /// Keys found and not found by counted lookups (INFO's keyspace_hits, keyspace_misses).
    pub reads: Cell<(u64, u64)>,
}

impl<'a> Tx<'a> {
    /// An empty write set in database `db`; `atomic` for an EXEC's.
    pub fn new(ks: &'a Keyspace, db: u8, atomic: bool) -> Tx<'a> {
        Tx {
            ks,
            now: now_ms(),
            db,
            ops: Vec::new(),
            atomic,
            wrote: false,
            notify: 0,
            events: RefCell::new(Vec::new()),
            track: false,
            touched: Vec::new(),
            flushed: false,
            forgets: Vec::new(),
            colls_written: Vec::new(),
            count_reads: Cell::new(false),
            notify_misses: Cell::new(false),
            reads: Cell::new((0, 0)),
        }
    }

    /// Notes keyspace event `event` of class `class` on `key` (if that class is enabled).
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.notify & class != 0 {
            self.events.borrow_mut().push(Event { event, db: self.db, key: key.to_vec() });
        }
    }

    /// The keys written so far and whether a flush ran (for client-side caching), taken
    /// out.
    pub fn take_touched(&mut self) -> (Vec<Vec<u8>>, bool) {
        (std::mem::take(&mut self.touched), std::mem::take(&mut self.flushed))
    }

    fn touch(&mut self, key: &[u8]) {
        if self.track {
            self.touched.push(key.to_vec());
        }
    }

    /// The events noted so far, taken out.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.take()
    }

    /// Notes the `new` event when `key` does not exist yet (only when that class is on:
    /// it costs a lookup).
    fn note_new(&mut self, key: &[u8]) {
        // The uncounted lookup: this is the write's own check, not a read (no hit, miss or
        // keymiss).
        if self.notify & NEW != 0 && !self.exists_stored(&self.key(key)).unwrap_or(true) {
            self.notify(NEW, "new", key);
        }
    }

    /// Whether it holds writes to commit.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Makes every later write wait for the commit (a script's writes are one batch);
    /// returns what it was.
    pub fn set_atomic(&mut self, atomic: bool) -> bool {
        std::mem::replace(&mut self.atomic, atomic)
    }

    /// A mark to drop the writes made after it ([`Tx::rollback`]).
    pub fn mark(&self) -> usize {
        self.ops.len()
    }

    /// Drops the writes made since `mark` (a script stopped by SHUTDOWN NOSAVE).
    pub fn rollback(&mut self, mark: usize) {
        self.ops.truncate(mark);
    }

    /// Whether a write was applied at once.
    pub fn wrote(&self) -> bool {
        self.wrote
    }

    /// Runs `f` with the set's keys in database `db` (MOVE, COPY ... DB).
    pub fn in_db<R>(&mut self, db: u8, f: impl FnOnce(&mut Tx<'a>) -> R) -> R {
        let was = std::mem::replace(&mut self.db, db);
        let r = f(self);
        self.db = was;
        r
    }

    /// Sets `key` to `value` (expiring at `at`, 0: never) at once when this set holds
    /// nothing else and is no EXEC's (the common SET: no copy of the value); otherwise as
    /// [`Tx::put`]. The caller holds the key's slot lock.
    #[inline]
    pub fn put_now(&mut self, key: &[u8], value: &[u8], at: u64) -> Result<(), Error> {
        if self.atomic || !self.ops.is_empty() || self.is_collection(key) {
            self.put(key, value.to_vec(), at);
            return Ok(());
        }
        self.note_new(key);
        self.touch(key);
        self.ks.put(&self.key(key), value, at)?;
        self.wrote = true;
        Ok(())
    }

    /// Deletes every key of database `db`, or of every database (FLUSHDB, FLUSHALL; the
    /// caller holds every slot lock): at once, shard by shard, outside EXEC; inside it, as
    /// one delete per key of the atomic commit.
    pub fn delete_all(&mut self, db: Option<u8>) -> Result<(), Error> {
        self.flushed = true;
        if !self.atomic {
            self.wrote |= self.ks.flush(db)? > 0;
            return Ok(());
        }
        let mut cursor = 0;
        loop {
            let (keys, next) = self.ks.scan_stored(db, cursor, 10_000)?;
            for k in keys {
                if let Some(crate::keycode::Decoded::Collection { db, key }) =
                    crate::keycode::decode(&k)
                {
                    self.drop_collection_in(db, key);
                } else if self.exists_stored(&k)? {
                    self.ops.push((k, None));
                }
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// The stored form of `key` in the set's database.
    #[inline]
    fn key<'k>(&self, key: &'k [u8]) -> std::borrow::Cow<'k, [u8]> {
        stored(self.ks.physical(self.db), key)
    }

    fn pending(&self, stored: &[u8]) -> Option<&Option<Entry>> {
        self.ops.iter().rev().find(|(k, _)| k == stored).map(|(_, e)| e)
    }

    fn live(&self, e: &Option<Entry>) -> bool {
        e.as_ref().is_some_and(|(_, at)| *at == 0 || *at > self.now)
    }

    /// Counts a lookup of `key`'s outcome when reads are counted (a miss is also a
    /// `keymiss` event when asked for).
    #[inline]
    fn seen<T>(&self, key: &[u8], found: Result<Option<T>, Error>) -> Result<Option<T>, Error> {
        if self.count_reads.get() {
            if let Ok(f) = &found {
                let (hits, misses) = self.reads.get();
                self.reads.set((hits + u64::from(f.is_some()), misses + u64::from(f.is_none())));
                if f.is_none() && self.notify & KEY_MISS != 0 && self.notify_misses.get() {
                    let e = Event { event: "keymiss", db: self.db, key: key.to_vec() };
                    self.events.borrow_mut().push(e);
                }
            }
        }
        found
    }

    /// The value and expiry of string `key`, if it is present (and not expired);
    /// [`TxError::WrongType`] when it holds a collection.
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>, TxError> {
        let k = self.key(key);
        let found = match self.pending(&k) {
            Some(e) => Ok(e.clone().filter(|_| self.live(e))),
            None => self.ks.get(&k),
        };
        self.string_or_wrong(key, self.seen(key, found))
    }

    /// A string lookup's result, or [`TxError::WrongType`] when it missed because `key`
    /// holds a collection.
    #[inline]
    fn string_or_wrong<T>(
        &self,
        key: &[u8],
        r: Result<Option<T>, Error>,
    ) -> Result<Option<T>, TxError> {
        match r? {
            None if self.is_collection(key) => Err(TxError::WrongType),
            found => Ok(found),
        }
    }

    /// Calls `f` with the value of `key` without copying it when no write of this set
    /// covers it.
    pub fn with_value<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, TxError> {
        let k = self.key(key);
        let found = match self.pending(&k) {
            Some(e) => Ok(e.as_ref().filter(|_| self.live(e)).map(|(v, _)| f(v))),
            None => self.ks.with_value(&k, f),
        };
        self.string_or_wrong(key, self.seen(key, found))
    }

    fn exists_stored(&self, k: &[u8]) -> Result<bool, Error> {
        match self.pending(k) {
            Some(e) => Ok(self.live(e)),
            None => self.ks.contains(k),
        }
    }

    /// Whether `key` is present (a string or a collection).
    pub fn exists(&self, key: &[u8]) -> Result<bool, Error> {
        let found = self
            .exists_stored(&self.key(key))
            .map(|e| (e || self.is_collection(key)).then_some(()));
        Ok(self.seen(key, found)?.is_some())
    }

    /// The expiry of `key`: `None` when absent, `Some(0)` when it has none.
    pub fn expiry(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        let k = self.key(key);
        let found = match self.pending(&k) {
            Some(e) => Ok(e.as_ref().filter(|_| self.live(e)).map(|(_, at)| *at)),
            None => self.ks.expiry(&k),
        };
        let found = match found {
            Ok(None) if self.ks.colls.any() => Ok(self.collection_expiry(key)),
            other => other,
        };
        self.seen(key, found)
    }

    /// Sets `key` to `value`, expiring at `at` (0: never), replacing what it held.
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, at: u64) {
        self.note_new(key);
        self.drop_collection(key);
        self.touch(key);
        self.ops.push((self.key(key).into_owned(), Some((value, at))));
    }

    /// Sets the expiry of `key` (a string or a collection) to `at` (0: none); whether it is
    /// present.
    pub fn set_expiry(&mut self, key: &[u8], at: u64) -> Result<bool, Error> {
        match self.get(key) {
            Ok(Some((v, _))) => {
                self.put(key, v, at);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(TxError::WrongType) => Ok(self.expire_collection(key, at)),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// Deletes `key` (a string or a collection); returns whether it was present.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        let k = self.key(key).into_owned();
        let existed = self.exists_stored(&k)?;
        if existed {
            self.ops.push((k, None));
            self.touch(key);
            return Ok(true);
        }
        Ok(self.drop_collection(key))
    }

    /// Applies the write set: a single write is a plain put or delete; several are one
    /// batch per shard (`PerShard`) or one batch that must stay in one shard (`Atomic`).
    pub fn commit(self, how: Commit) -> Result<(), Error> {
        match self.ks.apply(&self.ops, how) {
            Ok(()) => self.ks.forget(&self.forgets),
            Err(e) => {
                // The collections' indexes ran ahead of the store: read them back.
                if !self.colls_written.is_empty() {
                    self.ks.reload_collections(&self.colls_written)?;
                }
                Err(e)
            }
        }
    }
}
