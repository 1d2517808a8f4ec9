//! The expiry sweep: a thread that deletes keys whose time to live has passed, so their
//! keydir entries are freed without waiting for a merge, and publishes each as an
//! `expired` keyspace event (when `notify-keyspace-events` asks for it) and counts it in
//! INFO's `expired_keys`. Readers never see an expired key either way: the sweep only
//! reclaims.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::notify::{Event, EXPIRED};
use crate::shared::Shared;

/// How often the sweep runs.
const PERIOD: Duration = Duration::from_millis(100);
/// Keydir entries looked at per step (about 10× as many slots).
const STEP: usize = 200;
/// The most one run may take before it yields the rest of the walk to the next: at most
/// 10% of a core, and only while some key has an expiry (a walk with none costs nothing).
const RUN_BUDGET: Duration = Duration::from_millis(10);

/// Starts the sweep; it ends once the server is stopping.
pub fn spawn(srv: Arc<Shared>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("expiry".into()).spawn(move || {
        let mut cursor = 0;
        while !srv.stopping.load(Acquire) {
            std::thread::sleep(PERIOD);
            cursor = run(&srv, cursor);
        }
    })
}

/// One run from `cursor`: steps through the keydir until the walk wraps or the budget is
/// spent; returns where the next run goes on.
fn run(srv: &Shared, mut cursor: u64) -> u64 {
    // CLIENT PAUSE holds expiry too (as Redis: what a pause freezes stays as it was).
    if srv.clients.paused().is_some() {
        return cursor;
    }
    let started = Instant::now();
    loop {
        let Ok((gone, next)) = srv.ks.reap_expired(cursor, STEP) else { return 0 };
        srv.stats.expired_keys.fetch_add(gone.len() as u64, Relaxed);
        let flags = srv.rt.notify_flags();
        if flags & EXPIRED != 0 && !gone.is_empty() {
            let events: Vec<Event> = gone
                .iter()
                .map(|(db, key)| Event { event: "expired", db: *db, key: key.clone() })
                .collect();
            srv.pubsub.keyspace_events(&events, flags, srv.rt.pubsub_limit());
        }
        if srv.tracker.active() && !gone.is_empty() {
            let keys: Vec<Vec<u8>> = gone.iter().map(|(_, k)| k.clone()).collect();
            srv.invalidate(&keys, false, None);
        }
        cursor = next;
        if cursor == 0 || started.elapsed() >= RUN_BUDGET {
            return cursor;
        }
    }
}
