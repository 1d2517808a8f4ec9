//! The connected clients as CLIENT LIST, CLIENT KILL and CLIENT PAUSE see them: each
//! connection's entry (what is fixed at accept, and what changes kept in atomics that its own
//! connection stores without a lock), the registry of them, and the server-wide pause.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One connected client.
pub struct Client {
    /// CLIENT ID.
    pub id: u64,
    /// The peer's address.
    pub addr: String,
    /// The server's address on the connection.
    pub laddr: String,
    /// The socket's descriptor.
    pub fd: i64,
    /// When it connected.
    pub created: Instant,
    /// CLIENT SETNAME, CLIENT SETINFO LIB-NAME and LIB-VER (rarely changed: locked).
    names: Mutex<Names>,
    db: AtomicU8,
    resp: AtomicU8,
    /// Commands queued since MULTI (-1: not in MULTI).
    multi: AtomicI64,
    /// The last command's spec, by address (0: none yet).
    last_cmd: AtomicUsize,
    /// When it last sent a command (milliseconds since it connected).
    active_ms: AtomicU64,
    /// CLIENT KILL closed it: its connection ends after its current request.
    killed: AtomicBool,
    /// It waits in a blocking pop.
    blocked: AtomicBool,
    /// CLIENT UNBLOCK asked its pop to end: 1 as at its timeout, 2 with an error.
    unblock: AtomicU8,
    /// Its subscriptions: channels, patterns, shard channels.
    subs: [AtomicUsize; 3],
    /// Pushes for its connection (pub/sub messages, invalidations); its wake-up also
    /// wakes the connection when killed.
    pub mailbox: Arc<crate::pubsub::Mailbox>,
    /// CLIENT TRACKING's settings.
    tracking: Mutex<TrackingSettings>,
    /// Tracking is on (read without the lock).
    tracking_on: AtomicBool,
}

/// One client's CLIENT TRACKING settings.
#[derive(Default, Clone, Debug)]
pub struct TrackingSettings {
    /// Tracking is on.
    pub on: bool,
    /// BCAST mode: told of every key under its prefixes.
    pub bcast: bool,
    /// OPTIN: only keys read right after CLIENT CACHING YES are tracked.
    pub optin: bool,
    /// OPTOUT: keys read right after CLIENT CACHING NO are not tracked.
    pub optout: bool,
    /// NOLOOP: not told of its own writes.
    pub noloop: bool,
    /// CLIENT CACHING was given for the next command.
    pub caching: bool,
    /// The client invalidations go to (0: this one).
    pub redirect: u64,
    /// That client was gone when an invalidation was sent.
    pub broken: bool,
    /// BCAST's prefixes.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// A client's name and library.
#[derive(Default, Clone)]
pub struct Names {
    /// CLIENT SETNAME.
    pub name: String,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: String,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: String,
}

impl Client {
    /// A client just accepted.
    pub fn new(id: u64, addr: String, laddr: String, fd: i64) -> Client {
        Client {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            names: Mutex::default(),
            db: AtomicU8::new(0),
            resp: AtomicU8::new(2),
            multi: AtomicI64::new(-1),
            last_cmd: AtomicUsize::new(0),
            active_ms: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            unblock: AtomicU8::new(0),
            subs: Default::default(),
            mailbox: Default::default(),
            tracking: Mutex::default(),
            tracking_on: AtomicBool::new(false),
        }
    }

    /// Notes how many channels, patterns and shard channels it subscribes to.
    pub fn subscriptions(&self, (channels, patterns, shard): (usize, usize, usize)) {
        for (slot, n) in self.subs.iter().zip([channels, patterns, shard]) {
            slot.store(n, Relaxed);
        }
    }

    /// How many channels, patterns and shard channels it subscribes to.
    pub fn subscription_counts(&self) -> [usize; 3] {
        self.subs.each_ref().map(|s| s.load(Relaxed))
    }

    /// Notes the command it runs now (`spec`: the command's spec, by address).
    pub fn command(&self, spec: usize) {
        self.last_cmd.store(spec, Relaxed);
    }

    /// Notes that it sent something now (once a read, not a clock read per command).
    pub fn active(&self) {
        self.active_ms.store(self.created.elapsed().as_millis() as u64, Relaxed);
    }

    /// Notes its state after a command: database, commands queued since MULTI (if in
    /// it), RESP version.
    pub fn after(&self, db: u8, multi: Option<usize>, resp: u8) {
        self.db.store(db, Relaxed);
        self.multi.store(multi.map_or(-1, |n| n as i64), Relaxed);
        self.resp.store(resp, Relaxed);
    }

    /// Its names, to change or read.
    pub fn names(&self) -> std::sync::MutexGuard<'_, Names> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last command's spec address, database, commands queued since MULTI (-1: not
    /// in MULTI), protocol and idle seconds.
    pub fn state(&self) -> (usize, u8, i64, u8, u64) {
        let active = Duration::from_millis(self.active_ms.load(Relaxed));
        let idle = self.created.elapsed().saturating_sub(active).as_secs();
        (
            self.last_cmd.load(Relaxed),
            self.db.load(Relaxed),
            self.multi.load(Relaxed),
            self.resp.load(Relaxed),
            idle,
        )
    }

    /// Its CLIENT TRACKING settings, to read or change (then
    /// [`tracking_changed`](Self::tracking_changed)).
    pub fn tracking(&self) -> std::sync::MutexGuard<'_, TrackingSettings> {
        self.tracking.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes whether tracking is on after its settings changed.
    pub fn tracking_changed(&self, on: bool) {
        self.tracking_on.store(on, Release);
    }

    /// Whether tracking is on (no lock).
    pub fn is_tracking(&self) -> bool {
        self.tracking_on.load(Acquire)
    }

    /// Its protocol (2 or 3) as of its last command.
    pub fn resp(&self) -> u8 {
        self.resp.load(Relaxed)
    }

    /// Notes whether it waits in a blocking pop.
    pub fn set_blocked(&self, blocked: bool) {
        self.blocked.store(blocked, Release);
        if !blocked {
            self.unblock.store(0, Release);
        }
    }

    /// CLIENT UNBLOCK: asks its pop to end (with an error, or as at its timeout) and wakes
    /// its connection; whether it was blocked.
    pub fn unblock(&self, error: bool) -> bool {
        if !self.blocked.load(Acquire) {
            return false;
        }
        self.unblock.store(if error { 2 } else { 1 }, Release);
        self.mailbox.wake.notify_one();
        true
    }

    /// What CLIENT UNBLOCK asked, once: `Some(true)` an error, `Some(false)` a timeout.
    pub fn take_unblock(&self) -> Option<bool> {
        match self.unblock.swap(0, AcqRel) {
            0 => None,
            n => Some(n == 2),
        }
    }

    /// Whether CLIENT KILL closed it.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Acquire)
    }
}

/// What CLIENT KILL and CLIENT LIST select clients by.
#[derive(Default)]
pub struct Filter {
    /// ID: any of these ids.
    pub ids: Option<Vec<u64>>,
    /// ADDR.
    pub addr: Option<String>,
    /// LADDR.
    pub laddr: Option<String>,
    /// TYPE: false for a type no client here has (master, replica, pubsub).
    pub normal: Option<bool>,
    /// SKIPME: this client's id.
    pub skip: Option<u64>,
}

impl Filter {
    fn matches(&self, c: &Client) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&c.id))
            && self.addr.as_ref().is_none_or(|a| *a == c.addr)
            && self.laddr.as_ref().is_none_or(|a| *a == c.laddr)
            && self.normal.unwrap_or(true)
            && self.skip != Some(c.id)
    }
}

/// A server-wide CLIENT PAUSE: until when, and whether every command waits or only those
/// that write.
#[derive(Clone, Copy)]
pub struct Pause {
    /// When it ends.
    pub until: Instant,
    /// ALL rather than WRITE.
    pub all: bool,
}

/// The connected clients, and the pause.
#[derive(Default)]
pub struct Clients {
    all: Mutex<HashMap<u64, Arc<Client>>>,
    pause: Mutex<Option<Pause>>,
    /// A pause was set and not yet seen to end: checked (without the lock) before each
    /// command.
    pausing: AtomicBool,
    /// Clients waiting for the pause to end (INFO's `blocked_clients`).
    pub paused_now: AtomicU64,
}

impl Clients {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Client>>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lists a client just accepted.
    pub fn add(&self, c: Arc<Client>) {
        self.map().insert(c.id, c);
    }

    /// Takes a client off the list (it closed, or was killed); whether it was listed.
    pub fn remove(&self, id: u64) -> bool {
        self.map().remove(&id).is_some()
    }

    /// The client with id `id`, if connected.
    pub fn get(&self, id: u64) -> Option<Arc<Client>> {
        self.map().get(&id).cloned()
    }

    /// Every connected client.
    pub fn all(&self) -> Vec<Arc<Client>> {
        self.map().values().cloned().collect()
    }

    /// The clients `f` selects, by id.
    pub fn select(&self, f: &Filter) -> Vec<Arc<Client>> {
        let mut v: Vec<Arc<Client>> =
            self.map().values().filter(|c| f.matches(c)).cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// Closes the clients `f` selects: off the list at once (so they are no longer counted),
    /// each connection ending after its current request. How many.
    pub fn kill(&self, f: &Filter) -> Vec<Arc<Client>> {
        let chosen = self.select(f);
        let mut map = self.map();
        for c in &chosen {
            map.remove(&c.id);
            c.killed.store(true, Release);
            c.mailbox.wake.notify_one();
        }
        chosen
    }

    /// CLIENT PAUSE for `ms` milliseconds: a pause in force is extended, never shortened,
    /// and stays ALL if it was.
    pub fn pause(&self, ms: u64, all: bool) {
        let now = Instant::now();
        let until = now + Duration::from_millis(ms);
        let mut p = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        *p = Some(match p.filter(|old| old.until > now) {
            Some(old) => Pause { until: old.until.max(until), all: old.all || all },
            None => Pause { until, all },
        });
        self.pausing.store(true, Release);
    }

    /// CLIENT UNPAUSE.
    pub fn unpause(&self) {
        // The flag changes under the lock, so a pause set meanwhile is never lost.
        let mut p = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        *p = None;
        self.pausing.store(false, Release);
    }

    /// The pause in force, if any.
    pub fn paused(&self) -> Option<Pause> {
        if !self.pausing.load(Acquire) {
            return None;
        }
        let mut p = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_some_and(|p| p.until <= Instant::now()) {
            *p = None;
            self.pausing.store(false, Release);
        }
        *p
    }
}
