//! The write path: validate, encode under the writer lock, rotate when the active file is
//! full, append with one positioned write, point the keydir at the new records, account,
//! and (under `SyncPolicy::Always`) wait for a shared fsync.

use std::sync::Arc;

use bitcask_format::{batch_frame_len, encode_batch, Record};

use crate::accounting::Delta;
use crate::active_log::MAX_WRITE_LEN;
use crate::batch::WriteBatch;
use crate::datafile::DataFile;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keydir::Loc;
use crate::options::SyncPolicy;
use crate::util::now_ms;

/// The record of a put (`value` with an expiry, 0 for none) or of a delete (`None`).
fn record<'a>(key: &'a [u8], value: Option<&'a [u8]>, expiry: u64) -> Record<'a> {
    match value {
        Some(v) if expiry != 0 => Record::put_expiring(key, v, expiry),
        Some(v) => Record::put(key, v),
        None => Record::tombstone(key),
    }
}

impl Engine {
    pub(crate) fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        if key.len() > self.opts.max_key_size {
            return Err(Error::KeyTooLarge { len: key.len(), max: self.opts.max_key_size });
        }
        Ok(())
    }

    pub(crate) fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_value_size {
            return Err(Error::ValueTooLarge { len: value.len(), max: self.opts.max_value_size });
        }
        Ok(())
    }

    pub(crate) fn write_one(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        expiry: u64,
    ) -> Result<Option<Loc>> {
        // No condition: the keydir is probed once, by the update itself.
        let written =
            self.write_one_if(key, value, expiry, None::<fn(Option<Loc>) -> Result<bool>>)?;
        Ok(written.flatten())
    }

    /// Writes the record if `cond` (called under the writer lock, so no other write can
    /// come between) accepts the key's current location, or unconditionally without one.
    /// Returns `None` when it did not, else the location the write superseded.
    pub(crate) fn write_one_if(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        expiry: u64,
        cond: Option<impl FnOnce(Option<Loc>) -> Result<bool>>,
    ) -> Result<Option<Option<Loc>>> {
        self.check_key(key)?;
        if let Some(v) = value {
            self.check_value(v)?;
        }
        let rec = record(key, value, expiry);
        let keydir = &self.index.keydir;
        let encode = |buf: &mut Vec<u8>| {
            // Under the writer lock: no other write can come between the check and the write.
            if let Some(cond) = cond {
                if !cond(keydir.get(key))? {
                    return Ok(None);
                }
            }
            Ok(Some(rec.encode(buf).map_err(Error::Encode)? as u32))
        };
        let apply = |active: &DataFile, offset: u64, len: u32| {
            let new = value.is_some().then_some(Loc { file: active.num, offset, len, expiry });
            let old = keydir.set(key, new);
            let mut delta = Delta::default();
            delta.record(active.num, len, new, old);
            self.index.account(&delta, active);
            old
        };
        let Some(done) = self.log.append(&self.life, &self.index, encode, apply)? else {
            return Ok(None);
        };
        self.after_append(done.sealed, done.seq)?;
        Ok(Some(done.value))
    }

    /// Replaces the value of `key` with `new` (`None`: deletes it) if its current value is
    /// `expected` (`None`: absent), atomically with respect to every other write.
    pub(crate) fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        let now = now_ms();
        let matches = |loc: Option<Loc>| -> Result<bool> {
            if loc.is_none_or(|l| l.expired(now)) {
                return Ok(expected.is_none());
            }
            Ok(self.get_with(key, |v| Some(v) == expected)?.unwrap_or(expected.is_none()))
        };
        if new.is_none() {
            // Deleting an absent key writes nothing.
            let absent = self.index.keydir.get(key).is_none_or(|l| l.expired(now));
            if absent && expected.is_none() {
                self.life.check_writable()?;
                return Ok(true);
            }
        }
        Ok(self.write_one_if(key, new, 0, Some(matches))?.is_some())
    }

    /// Drops `keys` from the keydir, writing nothing: their records turn dead for merge.
    /// Returns how many were present.
    pub(crate) fn forget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<usize> {
        self.log.locked(&self.life, |active| {
            let mut delta = Delta::default();
            let mut n = 0;
            for k in keys {
                if let Some(old) = self.index.keydir.set(k.as_ref(), None) {
                    delta.supersede(old);
                    n += 1;
                }
            }
            self.index.account(&delta, active);
            n
        })
    }

    /// Deletes `key` if its record's expiry has passed (a tombstone, as a delete writes);
    /// false when it is absent, lives on, or was written again since.
    pub(crate) fn delete_expired(&self, key: &[u8]) -> Result<bool> {
        let now = now_ms();
        let is_expired = |loc: Option<Loc>| loc.is_some_and(|l| l.expiry != 0 && l.expired(now));
        // A key that lives (the common case of a WATCH) takes no writer lock; the check is
        // made again under it.
        if self.index.ttl_keys() == 0 || !is_expired(self.index.keydir.get(key)) {
            return Ok(false);
        }
        Ok(self.write_one_if(key, None, 0, Some(|loc| Ok(is_expired(loc))))?.is_some())
    }

    pub(crate) fn write_batch(&self, batch: &WriteBatch) -> Result<()> {
        let now = now_ms();
        let mut ops = Vec::with_capacity(batch.len());
        for op in batch.ops() {
            self.check_key(op.key)?;
            if let Some(v) = op.value {
                self.check_value(v)?;
            }
            let expiry = match (op.value, op.expiry, op.absolute) {
                (None, ..) | (_, 0, _) => 0,
                (_, e, true) => e,
                (_, e, false) => now.saturating_add(e),
            };
            ops.push((op.key, op.value, expiry));
        }
        let records: Vec<Record<'_>> = ops.iter().map(|&(k, v, e)| record(k, v, e)).collect();
        // A frame must fit in a fresh datafile, so that every offset stays addressable.
        let frame_len = batch_frame_len(&records);
        if frame_len > MAX_WRITE_LEN {
            return Err(Error::BatchTooLarge { len: frame_len, max: MAX_WRITE_LEN });
        }
        let meta: Vec<(&[u8], bool, u64)> =
            ops.iter().map(|&(k, v, e)| (k, v.is_some(), e)).collect();
        self.append(
            |buf| {
                let (_, positions) = encode_batch(&records, buf).map_err(|e| match e.kind {
                    bitcask_format::ErrorKind::BatchTooLarge { len } => {
                        Error::BatchTooLarge { len, max: MAX_WRITE_LEN }
                    }
                    _ => Error::Encode(e),
                })?;
                Ok(positions)
            },
            &meta,
        )?;
        Ok(())
    }

    /// The write path of a batch: encode under the writer lock, append (rotating if the
    /// active file is full), point the keydir at the new records, account, and (for
    /// `SyncPolicy::Always`) wait for a shared fsync.
    ///
    /// `ops` holds (key, is_put, expiry) for each record the encoder writes, in order.
    pub(crate) fn append(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<Vec<(usize, usize)>>,
        ops: &[(&[u8], bool, u64)],
    ) -> Result<Vec<Option<Loc>>> {
        let apply = |active: &DataFile, offset: u64, positions: Vec<(usize, usize)>| {
            let changes: Vec<(&[u8], Option<Loc>)> = ops
                .iter()
                .zip(&positions)
                .map(|(&(key, is_put, expiry), &(at, len))| {
                    let loc = Loc {
                        file: active.num,
                        offset: offset + at as u64,
                        len: len as u32,
                        expiry,
                    };
                    (key, is_put.then_some(loc))
                })
                .collect();
            let olds = self.index.keydir.set_all(&changes);
            let mut delta = Delta::default();
            for ((_, new), (old, &(_, len))) in changes.iter().zip(olds.iter().zip(&positions)) {
                delta.record(active.num, len as u32, *new, *old);
            }
            self.index.account(&delta, active);
            olds
        };
        let encode = |buf: &mut Vec<u8>| encode(buf).map(Some);
        let Some(done) = self.log.append(&self.life, &self.index, encode, apply)? else {
            unreachable!("a batch's encoder always writes")
        };
        self.after_append(done.sealed, done.seq)?;
        Ok(done.value)
    }

    /// Work after the writer lock is released: the sealed file's hint, and the shared sync
    /// under `SyncPolicy::Always`.
    fn after_append(&self, sealed: Option<Arc<DataFile>>, seq: u64) -> Result<()> {
        if let Some(old) = sealed {
            // Off the lock: other writers go on while the sealed file's hint is written.
            let _ = self.write_hint(&old);
        }
        if self.opts.sync == SyncPolicy::Always {
            self.sync_to(seq)?;
        }
        Ok(())
    }
}
