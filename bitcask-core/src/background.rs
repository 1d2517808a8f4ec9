//! A store's background threads: the periodic flusher of `SyncPolicy::EveryMillis`, the
//! merge scheduler, and the sync thread that serves `Bitcask::when_synced`. They share the
//! engine and end when the store closes.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::engine::Engine;
use crate::error::Error;
use crate::options::SyncPolicy;
use crate::util::lock;

/// The running threads of one store.
#[derive(Default)]
pub(crate) struct Background {
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Whether the sync thread runs (it starts with the first `when_synced`).
    syncer: AtomicBool,
}

impl Background {
    /// Starts the flusher (under `EveryMillis`) and the merge scheduler (when background
    /// merges are on) of a writable store.
    pub(crate) fn start(&self, engine: &Arc<Engine>) {
        if let SyncPolicy::EveryMillis(ms) = engine.opts.sync {
            self.spawn(engine, move |engine| flush_every(&engine, Duration::from_millis(ms)));
        }
        if engine.opts.merge.background {
            self.spawn(engine, |engine| merge_when_due(&engine));
        }
    }

    /// Starts the sync thread unless it runs: it takes every queued waiter, runs one group
    /// commit for them all, and tells each the result.
    pub(crate) fn start_syncer(&self, engine: &Arc<Engine>) {
        if !self.syncer.swap(true, AcqRel) {
            self.spawn(engine, |engine| serve_waiters(&engine));
        }
    }

    /// Tells every thread the store is closing and waits for them to end (the sync thread
    /// serves the waiters queued before it ends).
    pub(crate) fn stop(&self, engine: &Engine) {
        engine.life.stop();
        engine.log.commit().stop();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }

    fn spawn(&self, engine: &Arc<Engine>, run: impl FnOnce(Arc<Engine>) + Send + 'static) {
        let engine = engine.clone();
        lock(&self.threads).push(std::thread::spawn(move || run(engine)));
    }
}

fn flush_every(engine: &Engine, every: Duration) {
    while engine.life.sleep(every) {
        let written = engine.log.written();
        if engine.log.has_unsynced() {
            let _ = engine.sync_to(written);
        }
    }
}

fn merge_when_due(engine: &Engine) {
    let every = engine.opts.merge.check_interval;
    while engine.life.sleep(every) {
        let due =
            lock(&engine.last_merge).is_none_or(|t| t.elapsed() >= engine.opts.merge.min_interval);
        if due && !engine.life.is_poisoned() {
            let _ = crate::merge::merge_needed(engine, &mut |_| {});
        }
    }
}

fn serve_waiters(engine: &Engine) {
    while let Some((upto, waiting)) = engine.log.commit().next_batch() {
        let result = engine.sync_to(upto);
        for done in waiting {
            done(result.as_ref().map(|_| ()).map_err(Error::for_another_waiter));
        }
    }
}
