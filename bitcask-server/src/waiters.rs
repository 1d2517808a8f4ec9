//! The clients blocked in a pop, queued per key in the order they blocked: a key that gets
//! elements serves its first waiter first (a newcomer does not take them from it).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bitcask_collections::Kind;

/// A key a pop waits on: its database, its name, the kind it pops from.
type Wait = (u8, Vec<u8>, Kind);

/// The queues of waiting clients, by key.
#[derive(Default)]
pub struct Waiters {
    queues: Mutex<HashMap<Wait, VecDeque<u64>>>,
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Wait, VecDeque<u64>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues client `id` on `keys` of database `db` (popping from a `kind`).
    pub fn join(&self, id: u64, db: u8, keys: &[&[u8]], kind: Kind) {
        let mut queues = self.lock();
        for k in keys {
            let q = queues.entry((db, k.to_vec(), kind)).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
    }

    /// Whether client `id` may pop from `key`: nobody waits on it, or `id` waits first.
    pub fn may_serve(&self, id: u64, db: u8, key: &[u8], kind: Kind) -> bool {
        let queues = self.lock();
        match queues.get(&(db, key.to_vec(), kind)).and_then(VecDeque::front) {
            None => true,
            Some(&first) => first == id,
        }
    }

    /// Takes client `id` off every queue (it was served, timed out, or left).
    pub fn leave(&self, id: u64) {
        let mut queues = self.lock();
        queues.retain(|_, q| {
            q.retain(|&c| c != id);
            !q.is_empty()
        });
    }

    /// How many clients wait on `key`.
    #[cfg(test)]
    fn waiting(&self, db: u8, key: &[u8], kind: Kind) -> usize {
        self.lock().get(&(db, key.to_vec(), kind)).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_waiter_is_served_first_and_others_after_it_leaves() {
        let w = Waiters::default();
        assert!(w.may_serve(9, 0, b"k", Kind::List), "nobody waits");
        w.join(1, 0, &[b"k", b"other"], Kind::List);
        w.join(2, 0, &[b"k"], Kind::List);
        w.join(2, 0, &[b"k"], Kind::List);
        assert_eq!(w.waiting(0, b"k", Kind::List), 2);
        assert!(w.may_serve(1, 0, b"k", Kind::List));
        assert!(!w.may_serve(2, 0, b"k", Kind::List));
        assert!(!w.may_serve(3, 0, b"k", Kind::List), "a newcomer waits its turn");
        assert!(w.may_serve(2, 0, b"k", Kind::Zset), "a sorted-set pop has its own queue");
        assert!(w.may_serve(2, 1, b"k", Kind::List), "another database");
        w.leave(1);
        assert!(w.may_serve(2, 0, b"k", Kind::List));
        assert_eq!(w.waiting(0, b"other", Kind::List), 0);
        w.leave(2);
        assert!(w.lock().is_empty());
    }
}
