//! Client-side caching (CLIENT TRACKING), as Redis 7 does it. In the default mode the server
//! remembers which clients read each key (the tracking table, by key name in every
//! database); a write to the key sends each of them one `invalidate` and forgets them. In
//! BCAST mode a client names key prefixes instead, and is told of every key written under
//! them, batched per command. Invalidations go to the client as RESP3 pushes, or to the
//! client it redirects them to (RESP3 pushes, or `__redis__:invalidate` messages for a RESP2
//! connection in pub/sub mode). The table holds at most `tracking-table-max-keys` keys:
//! past it, keys are invalidated (and forgotten) until it fits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering::*;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clients::{Client, Clients, TrackingSettings as Settings};
use crate::pubsub::{Limit, Push};

/// CLIENT TRACKING ON's options.
#[derive(Default, Debug)]
pub struct Options {
    /// REDIRECT's client id (0: none).
    pub redirect: u64,
    /// BCAST.
    pub bcast: bool,
    /// OPTIN.
    pub optin: bool,
    /// OPTOUT.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
    /// The PREFIX options.
    pub prefixes: Vec<Vec<u8>>,
}

/// A BCAST prefix: its clients and the keys written under it since the last broadcast
/// (each with the client that wrote it last, for NOLOOP).
#[derive(Default)]
struct Prefix {
    clients: BTreeSet<u64>,
    written: BTreeMap<Vec<u8>, Option<u64>>,
}

/// Where invalidations go: the connected clients, and the limit on what one may hold.
pub struct Deliver<'a> {
    /// The connected clients.
    pub clients: &'a Clients,
    /// The pub/sub output limit (pushes share it).
    pub limit: Limit,
    /// The mailboxes' clock.
    pub now_ms: u64,
}

/// The tracking table and the BCAST prefixes.
#[derive(Default)]
pub struct Tracker {
    keys: Mutex<HashMap<Vec<u8>, HashSet<u64>>>,
    /// Client ids across the table (INFO's `tracking_total_items`).
    items: AtomicU64,
    prefixes: Mutex<BTreeMap<Vec<u8>, Prefix>>,
    /// Clients with tracking on (none: nothing here is looked at).
    clients: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The first of `prefixes` (in order) overlapping one of `existing` or a later one of
/// `prefixes`: Redis's error text.
pub fn collision(existing: &BTreeSet<Vec<u8>>, prefixes: &[Vec<u8>]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a.get(..n) == b.get(..n)
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Some(format!("Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.", text(p), text(e)));
        }
        if let Some(q) = prefixes.iter().skip(i + 1).find(|q| overlap(p, q)) {
            return Some(format!("Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.", text(p), text(q)));
        }
    }
    None
}

impl Tracker {
    /// Whether any client tracks (else writes need not tell this table anything).
    pub fn active(&self) -> bool {
        self.clients.load(Acquire) > 0
    }

    /// CLIENT TRACKING ON for `client` (the options already checked).
    pub fn enable(&self, client: &Client, o: Options) {
        let mut s = client.tracking();
        if !s.on {
            self.clients.fetch_add(1, AcqRel);
        }
        let (caching, prefixes) = (s.caching, std::mem::take(&mut s.prefixes));
        *s = Settings {
            on: true,
            bcast: o.bcast,
            optin: o.optin,
            optout: o.optout,
            noloop: o.noloop,
            caching,
            redirect: o.redirect,
            broken: false,
            prefixes,
        };
        if o.bcast {
            let wanted = if o.prefixes.is_empty() { vec![Vec::new()] } else { o.prefixes };
            let mut all = lock(&self.prefixes);
            for p in wanted {
                all.entry(p.clone()).or_default().clients.insert(client.id);
                s.prefixes.insert(p);
            }
        }
        drop(s);
        client.tracking_changed(true);
    }

    /// CLIENT TRACKING OFF (and a closing or RESET client): its prefixes are dropped; the
    /// keys it read stay in the table until written (then skipped).
    pub fn disable(&self, client: &Client) {
        let mut s = client.tracking();
        if !s.on {
            return;
        }
        let mut all = lock(&self.prefixes);
        for p in &s.prefixes {
            if let Some(prefix) = all.get_mut(p) {
                prefix.clients.remove(&client.id);
                if prefix.clients.is_empty() {
                    all.remove(p);
                }
            }
        }
        drop(all);
        *s = Settings::default();
        self.clients.fetch_sub(1, AcqRel);
        drop(s);
        client.tracking_changed(false);
    }

    /// Remembers that `client` read `keys` (default mode; OPTIN and OPTOUT as CLIENT
    /// CACHING said).
    pub fn remember(&self, client: &Client, keys: &[&[u8]]) {
        let s = client.tracking();
        if !s.on || s.bcast || (s.optin && !s.caching) || (s.optout && s.caching) {
            return;
        }
        drop(s);
        let mut table = lock(&self.keys);
        for k in keys {
            if table.entry(k.to_vec()).or_default().insert(client.id) {
                self.items.fetch_add(1, Relaxed);
            }
        }
    }

    /// `keys` were written (by client `writer`, if a client wrote them): every client that
    /// read one is told and forgotten, and BCAST prefixes note them for [`broadcast`].
    ///
    /// [`broadcast`]: Self::broadcast
    pub fn invalidate(&self, d: &Deliver<'_>, keys: &[Vec<u8>], writer: Option<u64>) {
        {
            let mut all = lock(&self.prefixes);
            if !all.is_empty() {
                for k in keys {
                    for (p, prefix) in all.iter_mut() {
                        if k.starts_with(p) {
                            prefix.written.insert(k.clone(), writer);
                        }
                    }
                }
            }
        }
        for k in keys {
            let Some(ids) = lock(&self.keys).remove(k) else { continue };
            self.items.fetch_sub(ids.len() as u64, Relaxed);
            let key: Arc<[Vec<u8>]> = Arc::from(vec![k.clone()]);
            for id in ids {
                let Some(target) = d.clients.get(id) else { continue };
                let s = target.tracking();
                if !s.on || s.bcast || (s.noloop && writer == Some(id)) {
                    continue;
                }
                drop(s);
                send(d, &target, Some(key.clone()));
            }
        }
    }

    /// Tells each BCAST client the keys written under its prefixes since the last call
    /// (one message per prefix; a NOLOOP client not of its own writes).
    pub fn broadcast(&self, d: &Deliver<'_>) {
        let mut batches = Vec::new();
        {
            let mut all = lock(&self.prefixes);
            for prefix in all.values_mut() {
                if prefix.written.is_empty() {
                    continue;
                }
                let written = std::mem::take(&mut prefix.written);
                batches.push((prefix.clients.clone(), written));
            }
        }
        for (clients, written) in batches {
            let every: Arc<[Vec<u8>]> = written.keys().cloned().collect();
            for id in clients {
                let Some(target) = d.clients.get(id) else { continue };
                let noloop = target.tracking().noloop;
                let keys = if noloop {
                    let own: Vec<Vec<u8>> = written
                        .iter()
                        .filter(|(_, w)| **w != Some(id))
                        .map(|(k, _)| k.clone())
                        .collect();
                    if own.is_empty() {
                        continue;
                    }
                    own.into()
                } else {
                    every.clone()
                };
                send(d, &target, Some(keys));
            }
        }
    }

    /// FLUSHALL or FLUSHDB: every tracking client is told that everything changed, and the
    /// table is emptied.
    pub fn flush(&self, d: &Deliver<'_>) {
        if self.active() {
            for c in d.clients.all() {
                if c.is_tracking() {
                    send(d, &c, None);
                }
            }
        }
        lock(&self.keys).clear();
        self.items.store(0, Relaxed);
    }

    /// Invalidates keys until the table holds at most `max` (0: no limit).
    pub fn limit(&self, d: &Deliver<'_>, max: usize) {
        if max == 0 {
            return;
        }
        loop {
            let victim = {
                let table = lock(&self.keys);
                if table.len() <= max {
                    return;
                }
                table.keys().next().cloned()
            };
            let Some(k) = victim else { return };
            self.invalidate(d, &[k], None);
        }
    }

    /// INFO's counts: keys in the table, client ids across it, BCAST prefixes, tracking
    /// clients.
    pub fn counts(&self) -> (usize, u64, usize, usize) {
        (
            lock(&self.keys).len(),
            self.items.load(Relaxed),
            lock(&self.prefixes).len(),
            self.clients.load(Relaxed),
        )
    }
}

/// Sends one invalidation meant for `target`: to it, or to the client it redirects to (if
/// that one is gone, `target` is told so, in RESP3).
fn send(d: &Deliver<'_>, target: &Client, keys: Option<Arc<[Vec<u8>]>>) {
    let null3 = target.resp() == 3;
    let redirect = target.tracking().redirect;
    if redirect == 0 {
        let push = Push::Invalidate { keys, redirected: false, null3 };
        return target.mailbox.put(push, d.limit, d.now_ms);
    }
    match d.clients.get(redirect) {
        Some(to) => {
            let push = Push::Invalidate { keys, redirected: true, null3 };
            to.mailbox.put(push, d.limit, d.now_ms);
        }
        None => {
            target.tracking().broken = true;
            target.mailbox.put(Push::RedirectBroken(redirect), d.limit, d.now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_prefixes_are_named_as_redis_names_them() {
        let none = BTreeSet::new();
        let p = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let e = collision(&none, &p(&["FOOBAR", "FOO"])).unwrap();
        assert!(e.starts_with("Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'"));
        let have: BTreeSet<Vec<u8>> = p(&["FOO", "BAR"]).into_iter().collect();
        let e = collision(&have, &p(&["BARB"])).unwrap();
        assert!(e.starts_with("Prefix 'BARB' overlaps with an existing prefix 'BAR'"));
        assert!(collision(&have, &p(&["BAZ"])).is_none());
    }
}
