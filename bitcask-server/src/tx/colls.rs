//! A write set's collections: reads and writes of hashes and sets through their indexes
//! (changed at once, under the slot's lock the command holds) and their records (written
//! by the commit, with the elements of dropped collections forgotten after it).

use bitcask_collections::FIRST_POSITION;
use bitcask_collections::{element_key, header_key, position_member, Collection, Kind, Members};
use bitcask_core::Error;

use super::{Tx, TxError};
use crate::colls::name;
use crate::keyspace::{Entry, Keyspace};

/// A collection as a command sees it: its members, its values (the set's own writes
/// first, then the store), and (for a write) changes that become records.
pub struct Editor<'e> {
    pub(super) coll: &'e mut Collection,
    db: u8,
    key: &'e [u8],
    ks: &'e Keyspace,
    pending: &'e [(Vec<u8>, Option<Entry>)],
    pub(super) writes: Vec<(Vec<u8>, Option<Entry>)>,
}

impl Editor<'_> {
    /// Its members, in order.
    pub fn members(&self) -> &Members {
        &self.coll.members
    }

    /// How many elements it has.
    pub fn len(&self) -> usize {
        self.coll.len()
    }

    /// Whether `member` is one.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.coll.members.contains(member)
    }

    pub(super) fn element(&self, member: &[u8]) -> Vec<u8> {
        element_key(self.db, self.key, self.coll.version, member)
    }

    /// Calls `f` with the value of `member` (a hash's field), if it is one.
    pub fn with_value<R>(
        &self,
        member: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        if !self.contains(member) {
            return Ok(None);
        }
        self.lookup(self.element(member), f)
    }

    /// Calls `f` with the value of the element stored as `k`: this edit's writes first,
    /// then the write set's, then the store.
    fn lookup<R>(&self, k: Vec<u8>, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, Error> {
        let written =
            self.writes.iter().rev().chain(self.pending.iter().rev()).find(|(w, _)| *w == k);
        match written {
            Some((_, Some((v, _)))) => Ok(Some(f(v))),
            Some((_, None)) => Ok(None),
            None => self.ks.with_value(&k, f),
        }
    }

    /// The values of the elements stored as `keys` (`None`: absent): this edit's writes and
    /// the write set's first, the rest read from the store in one batch.
    fn lookup_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let mut out = vec![None; keys.len()];
        let mut stored = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let mut written = self.writes.iter().rev().chain(self.pending.iter().rev());
            match written.find(|(w, _)| w == k) {
                Some((_, Some((v, _)))) => out[i] = Some(v.clone()),
                Some((_, None)) => {}
                None => stored.push(i),
            }
        }
        if !stored.is_empty() {
            let these: Vec<&[u8]> =
                stored.iter().filter_map(|&i| keys.get(i).map(Vec::as_slice)).collect();
            self.ks.get_many_with(&these, |j, v| {
                if let (Some(&i), Some(v)) = (stored.get(j), v) {
                    out[i] = Some(v.to_vec());
                }
            })?;
        }
        Ok(out)
    }

    /// The values of hash fields `fields` (empty for a field that is none).
    pub fn values_of<M: AsRef<[u8]>>(&self, fields: &[M]) -> Result<Vec<Vec<u8>>, Error> {
        let keys: Vec<Vec<u8>> = fields.iter().map(|f| self.element(f.as_ref())).collect();
        let found = self.lookup_many(&keys)?;
        let known = fields.iter().map(|f| self.contains(f.as_ref()));
        Ok(found.into_iter().zip(known).map(|(v, k)| v.filter(|_| k).unwrap_or_default()).collect())
    }

    /// The values of a list's elements in `range` of indexes.
    pub fn range_values(&self, range: std::ops::Range<usize>) -> Result<Vec<Vec<u8>>, Error> {
        let keys: Vec<Vec<u8>> = self.coll.order.range(range).map(|&p| self.at(p)).collect();
        Ok(self.lookup_many(&keys)?.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// The value of `member`, copied.
    pub fn value(&self, member: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.with_value(member, <[u8]>::to_vec)
    }

    /// Sets `member` (with `value`: empty for a set's); whether it is new.
    pub fn insert(&mut self, member: &[u8], value: Vec<u8>) -> bool {
        let new = self.coll.members.insert(member.into());
        let k = self.element(member);
        self.writes.push((k, Some((value, 0))));
        new
    }

    /// Removes `member`; whether it was one.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        // A small collection keeps its order (as Redis's listpacks); a big one moves its
        // last member into the hole.
        let gone = if self.coll.members.len() <= 128 {
            self.coll.members.shift_remove(member)
        } else {
            self.coll.members.swap_remove(member)
        };
        if gone {
            let k = self.element(member);
            self.writes.push((k, None));
        }
        gone
    }
}

/// A list's positions are this far apart when pushed, so an insertion between two
/// neighbours finds a free position (halving the gap) about 20 times before the list is
/// renumbered.
const STEP: u64 = 1 << 20;

/// A list's elements, by index (0: the head).
impl Editor<'_> {
    fn at(&self, p: u64) -> Vec<u8> {
        self.element(&position_member(p))
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Result<Option<Vec<u8>>, Error> {
        match self.coll.order.get(index) {
            Some(&p) => self.lookup(self.at(p), <[u8]>::to_vec),
            None => Ok(None),
        }
    }

    /// Adds `value` at the head (`front`) or the tail.
    pub fn push(&mut self, front: bool, value: Vec<u8>) {
        let p = match (front, self.coll.order.front(), self.coll.order.back()) {
            (_, None, _) => FIRST_POSITION,
            (true, Some(&h), _) => h.saturating_sub(STEP),
            (false, _, Some(&t)) => t.saturating_add(STEP),
            (false, _, None) => FIRST_POSITION,
        };
        let edge = if front { self.coll.order.front() } else { self.coll.order.back() };
        if edge == Some(&p) {
            // The end of the range (after 2^43 pushes one way): insert renumbers.
            let i = if front { 0 } else { self.coll.order.len() };
            self.insert_at(i, value);
            return;
        }
        if front {
            self.coll.order.push_front(p);
        } else {
            self.coll.order.push_back(p);
        }
        let k = self.at(p);
        self.writes.push((k, Some((value, 0))));
    }

    /// Removes and returns the element at `index`.
    pub fn take(&mut self, index: usize) -> Result<Option<Vec<u8>>, Error> {
        let Some(&p) = self.coll.order.get(index) else { return Ok(None) };
        let k = self.at(p);
        let Some(v) = self.lookup(k.clone(), <[u8]>::to_vec)? else { return Ok(None) };
        self.coll.order.remove(index);
        self.writes.push((k, None));
        Ok(Some(v))
    }

    /// Replaces the value at `index` (which exists).
    pub fn set(&mut self, index: usize, value: Vec<u8>) {
        if let Some(&p) = self.coll.order.get(index) {
            let k = self.at(p);
            self.writes.push((k, Some((value, 0))));
        }
    }

    /// Inserts `value` before the element at `index` (at the tail when `index` is the
    /// length), renumbering the list when its neighbours leave no position between them.
    pub fn insert_at(&mut self, index: usize, value: Vec<u8>) {
        let order = &self.coll.order;
        let before = index.checked_sub(1).and_then(|i| order.get(i)).copied();
        let after = order.get(index).copied();
        let p = match (before, after) {
            (Some(a), Some(b)) if b - a >= 2 => Some(a + (b - a) / 2),
            (None, Some(b)) if b >= 1 => Some(b.saturating_sub(STEP).max(b / 2)),
            (Some(a), None) if a < u64::MAX => {
                Some(a.saturating_add(STEP).max(a + (u64::MAX - a) / 2))
            }
            (None, None) => Some(FIRST_POSITION),
            _ => None,
        };
        match p {
            Some(p) => {
                self.coll.order.insert(index, p);
                let k = self.at(p);
                self.writes.push((k, Some((value, 0))));
            }
            None => self.renumber(index, value),
        }
    }

    /// Writes every element again at evenly spaced positions, `value` inserted at `index`.
    fn renumber(&mut self, index: usize, value: Vec<u8>) {
        let mut values = Vec::with_capacity(self.coll.order.len() + 1);
        for i in 0..self.coll.order.len() {
            // A value that cannot be read is kept empty rather than lost with its place.
            values.push(self.get(i).ok().flatten().unwrap_or_default());
        }
        values.insert(index.min(values.len()), value);
        for p in std::mem::take(&mut self.coll.order) {
            let k = self.at(p);
            self.writes.push((k, None));
        }
        let start = FIRST_POSITION - (values.len() as u64 / 2) * STEP;
        for (i, v) in values.into_iter().enumerate() {
            let p = start + i as u64 * STEP;
            self.coll.order.push_back(p);
            let k = self.at(p);
            self.writes.push((k, Some((v, 0))));
        }
    }
}

impl<'a> Tx<'a> {
    /// Whether `key` holds a live collection.
    #[inline]
    pub(super) fn is_collection(&self, key: &[u8]) -> bool {
        self.ks.colls.any() && self.kind_of(key).is_some()
    }

    /// The kind of the live collection `key` holds, if it holds one.
    pub fn kind_of(&self, key: &[u8]) -> Option<Kind> {
        let n = name(self.ks.physical(self.db), key);
        let slot = self.ks.colls.slot(key);
        slot.get(n.as_slice()).filter(|c| !c.expired(self.now)).map(|c| c.kind)
    }

    /// The expiry of the live collection `key` holds (0: none).
    pub(super) fn collection_expiry(&self, key: &[u8]) -> Option<u64> {
        let n = name(self.ks.physical(self.db), key);
        let slot = self.ks.colls.slot(key);
        slot.get(n.as_slice()).filter(|c| !c.expired(self.now)).map(|c| c.expire_at)
    }

    /// Runs `f` on collection `key` of `kind` for reading: `None` when the key is absent,
    /// [`TxError::WrongType`] when it holds anything else.
    pub fn read_collection<R>(
        &self,
        key: &[u8],
        kind: Kind,
        f: impl FnOnce(&Editor<'_>) -> R,
    ) -> Result<Option<R>, TxError> {
        let db = self.ks.physical(self.db);
        let mut slot = self.ks.colls.slot(key);
        let found = slot.get_mut(name(db, key).as_slice()).filter(|c| !c.expired(self.now));
        let found = self.seen(key, Ok(found))?;
        match found {
            Some(c) if c.kind != kind => Err(TxError::WrongType),
            Some(coll) => {
                let ed =
                    Editor { coll, db, key, ks: self.ks, pending: &self.ops, writes: Vec::new() };
                Ok(Some(f(&ed)))
            }
            None => {
                drop(slot);
                self.no_string(key)?;
                Ok(None)
            }
        }
    }

    /// [`TxError::WrongType`] when `key` holds a string.
    fn no_string(&self, key: &[u8]) -> Result<(), TxError> {
        match self.exists_stored(&self.key(key))? {
            true => Err(TxError::WrongType),
            false => Ok(()),
        }
    }

    /// Runs `f` on collection `key` of `kind` for writing, creating it empty first when
    /// absent and `create` (else `None`); [`TxError::WrongType`] when the key holds
    /// anything else. What `f` changes becomes records of the set; a collection left empty
    /// is deleted.
    pub fn write_collection<R>(
        &mut self,
        key: &[u8],
        kind: Kind,
        create: bool,
        f: impl FnOnce(&mut Editor<'_>) -> R,
    ) -> Result<Option<R>, TxError> {
        let db = self.ks.physical(self.db);
        let n = name(db, key);
        let mut slot = self.ks.colls.slot(key);
        if slot.get(n.as_slice()).is_some_and(|c| c.expired(self.now)) {
            if let Some(old) = slot.remove(n.as_slice()) {
                self.ks.colls.counted(-1);
                self.forgets.extend(old.element_keys(db, key));
            }
        }
        let existed = match slot.get(n.as_slice()) {
            Some(c) if c.kind != kind => return Err(TxError::WrongType),
            Some(_) => true,
            None => {
                if !create {
                    drop(slot);
                    self.no_string(key)?;
                    return Ok(None);
                }
                if self.exists_stored(&self.key(key))? {
                    return Err(TxError::WrongType);
                }
                slot.insert(
                    n.as_slice().into(),
                    Collection::new(kind, self.ks.colls.new_version()),
                );
                false
            }
        };
        let Some(coll) = slot.get_mut(n.as_slice()) else { return Ok(None) };
        let mut ed = Editor { coll, db, key, ks: self.ks, pending: &self.ops, writes: Vec::new() };
        let r = f(&mut ed);
        let (writes, header, empty) = (ed.writes, ed.coll.header(), ed.coll.is_empty());
        if empty {
            slot.remove(n.as_slice());
            if existed {
                self.ks.colls.counted(-1);
                self.ops.push((header_key(db, key), None));
            }
        } else if !existed {
            self.ks.colls.counted(1);
            self.ops.push((header_key(db, key), Some((header.encode().to_vec(), 0))));
        }
        drop(slot);
        if !writes.is_empty() || !existed {
            self.ops.extend(writes.into_iter().filter(|_| !empty || existed));
            self.note_written(db, key);
        }
        Ok(Some(r))
    }

    /// Notes that collection `key` of physical database `db` was written (for client-side
    /// caching, and to read it back should the commit fail).
    fn note_written(&mut self, db: u8, key: &[u8]) {
        if !self.colls_written.iter().any(|(d, k)| *d == db && k == key) {
            self.colls_written.push((db, key.to_vec()));
        }
        self.touch(key);
    }

    /// Drops the collection `key` holds, if it holds a live one: one header tombstone, its
    /// elements forgotten once the set commits. Whether it did.
    pub fn drop_collection(&mut self, key: &[u8]) -> bool {
        self.ks.colls.any() && self.drop_collection_in(self.ks.physical(self.db), key)
    }

    /// [`Tx::drop_collection`] of `key` of physical database `db`.
    pub(super) fn drop_collection_in(&mut self, db: u8, key: &[u8]) -> bool {
        let gone = self.ks.colls.slot(key).remove(name(db, key).as_slice());
        let Some(old) = gone else { return false };
        self.ks.colls.counted(-1);
        self.forgets.extend(old.element_keys(db, key));
        self.ops.push((header_key(db, key), None));
        self.note_written(db, key);
        !old.expired(self.now)
    }

    /// Sets the expiry of the collection `key` holds to `at` (0: none); whether it holds
    /// one.
    pub fn expire_collection(&mut self, key: &[u8], at: u64) -> bool {
        let db = self.ks.physical(self.db);
        let mut slot = self.ks.colls.slot(key);
        let found = slot.get_mut(name(db, key).as_slice()).filter(|c| !c.expired(self.now));
        let Some(c) = found else { return false };
        c.expire_at = at;
        let header = c.header().encode().to_vec();
        drop(slot);
        self.ops.push((header_key(db, key), Some((header, at))));
        self.note_written(db, key);
        true
    }
}

/// What a key holds, whole (RENAME, COPY, MOVE move it as it is).
pub enum Value {
    /// A string.
    String(Vec<u8>),
    /// A collection: its kind and its (member, value) pairs (a list's values in order, with
    /// empty members; a sorted set's scores as 8 bytes, big-endian).
    Collection(Kind, Vec<(Vec<u8>, Vec<u8>)>),
}

impl<'a> Tx<'a> {
    /// What `key` holds and its expiry (0: none), if it is present.
    pub fn value(&self, key: &[u8]) -> Result<Option<(Value, u64)>, Error> {
        let kind = match self.get(key) {
            Ok(found) => return Ok(found.map(|(v, at)| (Value::String(v), at))),
            Err(TxError::Store(e)) => return Err(e),
            Err(TxError::WrongType) => self.kind_of(key),
        };
        let Some(kind) = kind else { return Ok(None) };
        let at = self.collection_expiry(key).unwrap_or(0);
        let all = self.read_collection(key, kind, |c| {
            let mut all = Vec::with_capacity(c.len());
            if kind == Kind::List {
                all.extend(c.range_values(0..c.len())?.into_iter().map(|v| (Vec::new(), v)));
                return Ok(all);
            }
            if kind == Kind::Zset {
                let scored = c.members().iter().zip(c.scores());
                all.extend(scored.map(|(m, s)| (m.to_vec(), s.to_be_bytes().to_vec())));
                return Ok(all);
            }
            let members: Vec<&[u8]> = c.members().iter().map(|m| &**m).collect();
            let values = c.values_of(&members)?;
            all.extend(members.iter().map(|m| m.to_vec()).zip(values));
            Ok::<_, Error>(all)
        });
        match all {
            Ok(Some(all)) => Ok(Some((Value::Collection(kind, all?), at))),
            Ok(None) => Ok(None),
            Err(TxError::Store(e)) => Err(e),
            Err(TxError::WrongType) => Ok(None),
        }
    }

    /// Makes `key` hold `v` (replacing what it held), expiring at `at` (0: never).
    pub fn put_value(&mut self, key: &[u8], v: Value, at: u64) -> Result<(), Error> {
        let (kind, all) = match v {
            Value::String(s) => {
                self.put(key, s, at);
                return Ok(());
            }
            Value::Collection(kind, all) => (kind, all),
        };
        self.delete(key)?;
        let made = self.write_collection(key, kind, true, |c| {
            for (m, v) in all {
                match kind {
                    Kind::List => c.push(false, v),
                    Kind::Zset => {
                        let s = v.first_chunk::<8>().map_or(0.0, |b| f64::from_be_bytes(*b));
                        c.set_score(&m, s);
                    }
                    _ => {
                        c.insert(&m, v);
                    }
                }
            }
        });
        match made {
            Err(TxError::Store(e)) => return Err(e),
            Err(TxError::WrongType) | Ok(_) => {}
        }
        if at != 0 {
            self.expire_collection(key, at);
        }
        Ok(())
    }
}
