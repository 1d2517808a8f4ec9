//! The live/dead accounting of datafiles (what merge triggers and `stats` read) and the
//! count of keys with an expiry. Every path that changes which records are live — a write, a
//! batch, an open loading a file, a merge repointing keys — builds one [`Delta`] by the same
//! rules ([`Delta::record`]) and applies it once ([`Delta::apply`]).

use std::sync::atomic::{AtomicU64, Ordering::AcqRel};

use crate::datafile::{Counts, DataFile};
use crate::keydir::Loc;

/// Where a delta keeps its per-file counts.
pub(crate) trait PerFile: Default {
    /// The counts of file `num`, zero until changed.
    fn at(&mut self, num: u32) -> &mut Counts;
    /// Each file's counts.
    fn each(&self, f: impl FnMut(u32, &Counts));
}

/// A few files (a write touches its active file and the files of what it superseded): two
/// inline, more in a list.
#[derive(Default)]
pub(crate) struct Few {
    inline: [(u32, Counts); 2],
    used: usize,
    more: Vec<(u32, Counts)>,
}

impl PerFile for Few {
    #[inline(always)]
    fn at(&mut self, num: u32) -> &mut Counts {
        let used = self.used;
        if let Some(i) = self.inline.iter().take(used).position(|e| e.0 == num) {
            return &mut self.inline[i].1;
        }
        if used < self.inline.len() {
            self.inline[used] = (num, Counts::default());
            self.used += 1;
            return &mut self.inline[used].1;
        }
        match self.more.iter().position(|e| e.0 == num) {
            Some(i) => &mut self.more[i].1,
            None => {
                self.more.push((num, Counts::default()));
                let last = self.more.len() - 1;
                &mut self.more[last].1
            }
        }
    }

    #[inline(always)]
    fn each(&self, mut f: impl FnMut(u32, &Counts)) {
        for (num, c) in self.inline.iter().take(self.used) {
            f(*num, c);
        }
        for (num, c) in &self.more {
            f(*num, c);
        }
    }
}

/// Every file of a store (an open counts millions of records over all its files), by number.
#[derive(Default)]
pub(crate) struct All(Vec<Counts>);

impl PerFile for All {
    fn at(&mut self, num: u32) -> &mut Counts {
        let n = num as usize;
        if self.0.len() <= n {
            self.0.resize(n + 1, Counts::default());
        }
        &mut self.0[n]
    }

    fn each(&self, mut f: impl FnMut(u32, &Counts)) {
        for (num, c) in self.0.iter().enumerate() {
            if *c != Counts::default() {
                f(num as u32, c);
            }
        }
    }
}

/// A change to the accounting: per file, and to the keys with an expiry.
#[derive(Default)]
pub(crate) struct Delta<M: PerFile = Few> {
    files: M,
    ttl_keys: i64,
}

impl<M: PerFile> Delta<M> {
    /// A record of `len` bytes in file `file` was written (or found by an open): it is the
    /// key's value now (`new`), or a tombstone or an expired record (`None`: dead from the
    /// start); either way it supersedes `old`.
    #[inline(always)]
    pub(crate) fn record(&mut self, file: u32, len: u32, new: Option<Loc>, old: Option<Loc>) {
        if let Some(old) = old {
            self.supersede(old);
        }
        match new {
            Some(new) => self.live(new),
            None => self.dead(file, len),
        }
    }

    /// The live record at `loc` stopped being its key's value.
    #[inline(always)]
    pub(crate) fn supersede(&mut self, loc: Loc) {
        let c = self.files.at(loc.file);
        c.live_keys -= 1;
        c.live_bytes -= i64::from(loc.len);
        c.dead_keys += 1;
        c.dead_bytes += u64::from(loc.len);
        self.ttl_keys -= i64::from(loc.expiry != 0);
    }

    /// The record at `loc` became its key's value.
    #[inline(always)]
    pub(crate) fn live(&mut self, loc: Loc) {
        let c = self.files.at(loc.file);
        c.live_keys += 1;
        c.live_bytes += i64::from(loc.len);
        self.ttl_keys += i64::from(loc.expiry != 0);
    }

    /// A record of `len` bytes in file `file` that never was its key's value.
    #[inline(always)]
    pub(crate) fn dead(&mut self, file: u32, len: u32) {
        let c = self.files.at(file);
        c.dead_keys += 1;
        c.dead_bytes += u64::from(len);
    }

    /// Adds another delta (one built on another thread).
    pub(crate) fn absorb(&mut self, other: Delta<M>) {
        other.files.each(|num, c| self.files.at(num).add(c));
        self.ttl_keys += other.ttl_keys;
    }

    /// Applies it: each file's counts through `file` (files it cannot find are gone: a
    /// merge removed them), and the count of keys with an expiry.
    #[inline(always)]
    pub(crate) fn apply<'f>(
        &self,
        file: impl Fn(u32) -> Option<&'f DataFile>,
        ttl_keys: &AtomicU64,
    ) {
        self.files.each(|num, c| {
            if let Some(f) = file(num) {
                f.count(c);
            }
        });
        if self.ttl_keys > 0 {
            ttl_keys.fetch_add(self.ttl_keys as u64, AcqRel);
        } else if self.ttl_keys < 0 {
            ttl_keys.fetch_sub(self.ttl_keys.unsigned_abs(), AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: u32, len: u32, expiry: u64) -> Loc {
        Loc { file, offset: 0, len, expiry }
    }

    fn counts<M: PerFile>(d: &Delta<M>) -> Vec<(u32, Counts)> {
        let mut out = Vec::new();
        d.files.each(|n, c| out.push((n, *c)));
        out.sort_by_key(|e| e.0);
        out
    }

    #[test]
    fn a_record_moves_its_predecessor_to_dead_and_counts_ttls() {
        let mut d = Delta::<Few>::default();
        d.record(5, 10, Some(loc(5, 10, 99)), Some(loc(2, 7, 0)));
        d.record(5, 3, None, Some(loc(5, 10, 99)));
        d.record(9, 4, Some(loc(9, 4, 0)), Some(loc(3, 1, 1)));
        let c = |live_keys, live_bytes, dead_keys, dead_bytes| Counts {
            live_keys,
            live_bytes,
            dead_keys,
            dead_bytes,
        };
        assert_eq!(
            counts(&d),
            [(2, c(-1, -7, 1, 7)), (3, c(-1, -1, 1, 1)), (5, c(0, 0, 2, 13)), (9, c(1, 4, 0, 0))]
        );
        assert_eq!(d.ttl_keys, -1);
        let mut all = Delta::<All>::default();
        all.record(5, 10, Some(loc(5, 10, 99)), Some(loc(2, 7, 0)));
        let mut other = Delta::<All>::default();
        other.dead(7, 2);
        all.absorb(other);
        assert_eq!(counts(&all), [(2, c(-1, -7, 1, 7)), (5, c(1, 10, 0, 0)), (7, c(0, 0, 1, 2))]);
    }
}
