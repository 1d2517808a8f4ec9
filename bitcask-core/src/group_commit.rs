//! Group commit: which writes are durable, and one fsync for every write made before it
//! started. Writes are numbered in order (the engine's write sequence); a writer that must
//! be durable waits here for a sync covering its number, running that sync itself when no
//! other thread is. A caller that cannot block (an event loop) leaves a callback instead;
//! the store's sync thread runs one sync for every callback queued and calls them.

use std::sync::{Condvar, Mutex};

use crate::error::Result;
use crate::util::lock;

/// What is told when the writes a caller waited for are durable, or why they are not.
pub(crate) type Done = Box<dyn FnOnce(Result<()>) + Send>;

#[derive(Default)]
struct State {
    /// Every write numbered up to here is durable.
    synced: u64,
    /// A thread is running a sync now.
    in_progress: bool,
}

#[derive(Default)]
struct Queue {
    /// Callbacks and the write each waits for.
    waiting: Vec<(u64, Done)>,
    /// The store is closing: no callback is queued any more.
    stopped: bool,
}

/// The group-commit state of one store.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    changed: Condvar,
    queue: Mutex<Queue>,
    queued: Condvar,
}

impl GroupCommit {
    /// Whether write number `seq` is durable.
    pub(crate) fn covers(&self, seq: u64) -> bool {
        lock(&self.state).synced >= seq
    }

    /// Records that every write up to `seq` is durable (a sync ran outside the group
    /// commit: rotation, `sync()`, a merge).
    pub(crate) fn mark_synced(&self, seq: u64) {
        let mut st = lock(&self.state);
        st.synced = st.synced.max(seq);
        drop(st);
        self.changed.notify_all();
    }

    /// Wakes every waiter to look again (the store was poisoned).
    pub(crate) fn wake_all(&self) {
        let _st = lock(&self.state);
        self.changed.notify_all();
    }

    /// Waits until write `seq` is durable. `refused` says whether waiting is over without
    /// that (the store was poisoned since); `sync` runs one sync and returns the write it
    /// covered, called when no other thread is syncing.
    pub(crate) fn wait_for(
        &self,
        seq: u64,
        refused: impl Fn() -> Result<()>,
        sync: impl Fn() -> Result<u64>,
    ) -> Result<()> {
        let mut st = lock(&self.state);
        loop {
            // A sync that covered this write succeeded: it is durable, whatever failed since.
            if st.synced >= seq {
                return Ok(());
            }
            refused()?;
            if st.in_progress {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.in_progress = true;
            drop(st);
            let result = sync();
            st = lock(&self.state);
            st.in_progress = false;
            if let Ok(upto) = result {
                st.synced = st.synced.max(upto);
            }
            self.changed.notify_all();
            result?;
        }
    }

    /// Leaves `done` to be called once write `seq` is durable; false (and `done` not kept)
    /// when the store is closing.
    pub(crate) fn enqueue(&self, seq: u64, done: Done) -> std::result::Result<(), Done> {
        let mut q = lock(&self.queue);
        if q.stopped {
            return Err(done);
        }
        q.waiting.push((seq, done));
        drop(q);
        self.queued.notify_one();
        Ok(())
    }

    /// For the sync thread: waits for queued callbacks and takes them all, with the largest
    /// write they wait for. `None` once the store is closing and none is left.
    pub(crate) fn next_batch(&self) -> Option<(u64, Vec<Done>)> {
        let mut q = lock(&self.queue);
        while q.waiting.is_empty() {
            if q.stopped {
                return None;
            }
            q = self.queued.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        let upto = q.waiting.iter().map(|(seq, _)| *seq).max().unwrap_or(0);
        Some((upto, q.waiting.drain(..).map(|(_, done)| done).collect()))
    }

    /// The store is closing: the sync thread ends once the queue is empty.
    pub(crate) fn stop(&self) {
        lock(&self.queue).stopped = true;
        self.queued.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::*};
    use std::sync::Arc;

    #[test]
    fn one_sync_covers_every_waiter_that_arrived_before_it() {
        let gc = Arc::new(GroupCommit::default());
        let (syncs, written) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gc, syncs, written) = (gc.clone(), syncs.clone(), written.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let seq = written.fetch_add(1, AcqRel) + 1;
                        gc.wait_for(
                            seq,
                            || Ok(()),
                            || {
                                syncs.fetch_add(1, AcqRel);
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                Ok(written.load(Acquire))
                            },
                        )
                        .unwrap();
                        assert!(gc.covers(seq));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(syncs.load(Acquire) < 400, "{} syncs for 400 writes", syncs.load(Acquire));
    }

    #[test]
    fn queued_callbacks_are_taken_together_and_refused_after_stop() {
        let gc = GroupCommit::default();
        assert!(gc.enqueue(3, Box::new(|_| {})).is_ok());
        assert!(gc.enqueue(7, Box::new(|_| {})).is_ok());
        let (upto, batch) = gc.next_batch().unwrap();
        assert_eq!((upto, batch.len()), (7, 2));
        gc.stop();
        assert!(gc.enqueue(9, Box::new(|_| {})).is_err());
        assert!(gc.next_batch().is_none());
    }
}
