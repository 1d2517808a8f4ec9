//! Publish/subscribe: who listens to which channel, pattern or shard channel, and each
//! connection's mailbox of pushes (pub/sub messages, client-side caching invalidations).
//! PUBLISH puts a message in every matching subscriber's mailbox and wakes its connection,
//! which writes it out; a mailbox past the pub/sub output limit (`client-output-buffer-limit
//! pubsub`) stops taking pushes and its connection closes, so a client that does not read
//! holds at most that many bytes.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::glob::Pattern;

/// The three namespaces a client may subscribe in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// SUBSCRIBE: channels by name.
    Channel,
    /// PSUBSCRIBE: channels by glob pattern.
    Pattern,
    /// SSUBSCRIBE: shard channels (in cluster mode, owned by the slot of their name).
    Shard,
}

impl Kind {
    /// The word a subscription's confirmation starts with (`subscribe`, ...).
    pub fn verb(self, subscribe: bool) -> &'static str {
        match (self, subscribe) {
            (Kind::Channel, true) => "subscribe",
            (Kind::Channel, false) => "unsubscribe",
            (Kind::Pattern, true) => "psubscribe",
            (Kind::Pattern, false) => "punsubscribe",
            (Kind::Shard, true) => "ssubscribe",
            (Kind::Shard, false) => "sunsubscribe",
        }
    }
}

/// A published message on its way to one subscriber.
#[derive(Clone, Debug)]
pub struct Message {
    /// The pattern it matched (a `pmessage`), if it came through one.
    pub pattern: Option<Arc<[u8]>>,
    /// The channel it was published to.
    pub channel: Arc<[u8]>,
    /// What was published.
    pub payload: Arc<[u8]>,
    /// Published with SPUBLISH (an `smessage`).
    pub shard: bool,
}

impl Message {
    /// What the message costs its mailbox: its bytes and a fixed overhead.
    fn cost(&self) -> usize {
        64 + self.channel.len() + self.payload.len() + self.pattern.as_ref().map_or(0, |p| p.len())
    }

    /// Appends the message as its subscriber reads it: a push in RESP3, an array in RESP2.
    pub fn encode(&self, resp3: bool, out: &mut Vec<u8>) {
        let head = if resp3 { b'>' } else { b'*' };
        let parts: &[&[u8]] = match (&self.pattern, self.shard) {
            (Some(p), _) => &[b"pmessage", p, &self.channel, &self.payload],
            (None, true) => &[b"smessage", &self.channel, &self.payload],
            (None, false) => &[b"message", &self.channel, &self.payload],
        };
        line(out, head, parts.len() as i64);
        parts.iter().for_each(|p| bulk(out, p));
    }
}

/// Something sent to a connection that did not ask for it now.
#[derive(Clone, Debug)]
pub enum Push {
    /// A published message.
    Message(Message),
    /// Client-side caching: these keys changed (None: every key, after a flush). Sent as a
    /// RESP3 `invalidate` push, or to a RESP2 connection it was redirected to while in
    /// pub/sub mode as a `__redis__:invalidate` message; else dropped. `null3`: how the
    /// tracking client's protocol writes the null of a flush.
    Invalidate { keys: Option<Arc<[Vec<u8>]>>, redirected: bool, null3: bool },
    /// The connection invalidations were redirected to is gone (RESP3 only).
    RedirectBroken(u64),
}

impl Push {
    fn cost(&self) -> usize {
        match self {
            Push::Message(m) => m.cost(),
            Push::Invalidate { keys, .. } => {
                64 + keys.as_ref().map_or(0, |k| k.iter().map(|k| k.len() + 16).sum())
            }
            Push::RedirectBroken(_) => 64,
        }
    }

    /// Appends it as a connection in `resp3` (subscribed to something: `subscribed`) reads
    /// it, or nothing when it cannot be sent there.
    pub fn encode(&self, resp3: bool, subscribed: bool, out: &mut Vec<u8>) {
        match self {
            Push::Message(m) => m.encode(resp3, out),
            Push::Invalidate { keys, redirected, null3 } => {
                if resp3 {
                    out.extend_from_slice(b">2\r\n");
                    bulk(out, b"invalidate");
                } else if *redirected && subscribed {
                    out.extend_from_slice(b"*3\r\n");
                    bulk(out, b"message");
                    bulk(out, b"__redis__:invalidate");
                } else {
                    return;
                }
                match keys {
                    Some(keys) => {
                        line(out, b'*', keys.len() as i64);
                        keys.iter().for_each(|k| bulk(out, k));
                    }
                    None if *null3 => out.extend_from_slice(b"_\r\n"),
                    None => out.extend_from_slice(b"$-1\r\n"),
                }
            }
            Push::RedirectBroken(id) if resp3 => {
                out.extend_from_slice(b">2\r\n");
                bulk(out, b"tracking-redir-broken");
                line(out, b':', *id as i64);
            }
            Push::RedirectBroken(_) => {}
        }
    }
}

/// `<prefix><n>\r\n`.
fn line(out: &mut Vec<u8>, prefix: u8, n: i64) {
    let mut b = [0u8; 20];
    out.push(prefix);
    out.extend_from_slice(crate::number::itoa(n, &mut b));
    out.extend_from_slice(b"\r\n");
}

/// A bulk string.
fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    line(out, b'$', b.len() as i64);
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// The pub/sub output limit: a mailbox past `hard` bytes, or past `soft` bytes for
/// `seconds` (0: no such limit), overflows.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// Bytes never to pass (0: none).
    pub hard: usize,
    /// Bytes not to stay past for `seconds` (0: none).
    pub soft: usize,
    /// How long the soft limit may be passed.
    pub seconds: u64,
}

/// One connection's pushes not yet written.
#[derive(Debug)]
pub struct Mailbox {
    queue: Mutex<VecDeque<Push>>,
    bytes: AtomicUsize,
    overflow: AtomicBool,
    /// When the soft limit was first passed (ms since the hub started; 0: it is not).
    soft_since: AtomicU64,
    /// Woken when a push arrives, the mailbox overflows, or CLIENT KILL closes the client.
    pub wake: tokio::sync::Notify,
}

impl Default for Mailbox {
    fn default() -> Mailbox {
        Mailbox::new()
    }
}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Mailbox {
        Mailbox {
            queue: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            overflow: AtomicBool::new(false),
            soft_since: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Whether the mailbox passed the output limit (its connection must close).
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Acquire)
    }

    /// Whether nothing waits (no lock taken).
    pub fn is_empty(&self) -> bool {
        self.bytes.load(Relaxed) == 0
    }

    /// Puts a push in the mailbox and wakes its connection (dropped once it overflowed).
    pub fn put(&self, m: Push, limit: Limit, now_ms: u64) {
        if self.overflowed() {
            return;
        }
        let cost = m.cost();
        let mut q = lock(&self.queue);
        let bytes = self.bytes.load(Relaxed) + cost;
        let soft_over = limit.soft > 0 && bytes > limit.soft;
        let since = match (soft_over, self.soft_since.load(Relaxed)) {
            (false, _) => {
                self.soft_since.store(0, Relaxed);
                None
            }
            (true, 0) => {
                self.soft_since.store(now_ms.max(1), Relaxed);
                None
            }
            (true, t) => Some(t),
        };
        let soft_expired = since.is_some_and(|t| now_ms.saturating_sub(t) >= limit.seconds * 1000);
        if (limit.hard > 0 && bytes > limit.hard) || soft_expired {
            q.clear();
            self.bytes.store(0, Relaxed);
            self.overflow.store(true, Release);
        } else {
            q.push_back(m);
            self.bytes.store(bytes, Relaxed);
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Takes every waiting push, encoding them into `out` for a connection in `resp3`
    /// (subscribed to something: `subscribed`).
    pub fn drain_into(&self, resp3: bool, subscribed: bool, out: &mut Vec<u8>) {
        let taken: VecDeque<Push> = std::mem::take(&mut *lock(&self.queue));
        self.bytes.store(0, Relaxed);
        self.soft_since.store(0, Relaxed);
        for m in &taken {
            m.encode(resp3, subscribed, out);
        }
    }
}

/// A connection's subscriptions (in the session) and its mailbox (also in the hub).
#[derive(Debug)]
pub struct Subscriptions {
    /// The client id.
    pub id: u64,
    /// Where messages for it wait.
    pub mailbox: Arc<Mailbox>,
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    shard: BTreeSet<Vec<u8>>,
}

impl Subscriptions {
    /// No subscriptions yet, for client `id` whose pushes go to `mailbox`.
    pub fn new(id: u64, mailbox: Arc<Mailbox>) -> Subscriptions {
        Subscriptions {
            id,
            mailbox,
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            shard: BTreeSet::new(),
        }
    }

    fn set(&mut self, kind: Kind) -> &mut BTreeSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The names subscribed to in `kind`, in order.
    pub fn names(&self, kind: Kind) -> Vec<Vec<u8>> {
        let set = match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        };
        set.iter().cloned().collect()
    }

    /// The count a (un)subscribe confirmation gives: channels and patterns for those,
    /// shard channels for the shard ones (as Redis 7.0).
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// The counts CLIENT LIST shows: channels, patterns, shard channels.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.channels.len(), self.patterns.len(), self.shard.len())
    }

    /// Whether any subscription is left (the connection is in pub/sub mode).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

type Listeners = HashMap<u64, Arc<Mailbox>>;

#[derive(Default)]
struct PatternListeners {
    pattern: Option<Pattern>,
    listeners: Listeners,
}

/// Every subscription of every connection.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<Vec<u8>, Listeners>>,
    shard: Mutex<HashMap<Vec<u8>, Listeners>>,
    patterns: Mutex<HashMap<Vec<u8>, PatternListeners>>,
    /// Patterns with listeners (PUBLISH skips the pattern table when 0).
    npatterns: AtomicUsize,
    started: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub { started: Some(Instant::now()), ..Hub::default() }
    }

    fn now_ms(&self) -> u64 {
        self.started.map_or(0, |s| s.elapsed().as_millis() as u64)
    }

    /// Subscribes `subs` to `name` in `kind`; false if it already was.
    pub fn subscribe(&self, subs: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        if !subs.set(kind).insert(name.to_vec()) {
            return false;
        }
        let mb = subs.mailbox.clone();
        match kind {
            Kind::Channel => {
                lock(&self.channels).entry(name.to_vec()).or_default().insert(subs.id, mb);
            }
            Kind::Shard => {
                lock(&self.shard).entry(name.to_vec()).or_default().insert(subs.id, mb);
            }
            Kind::Pattern => {
                let mut all = lock(&self.patterns);
                let entry = all.entry(name.to_vec()).or_default();
                if entry.listeners.is_empty() {
                    entry.pattern = Some(Pattern::new(name));
                    self.npatterns.fetch_add(1, Relaxed);
                }
                entry.listeners.insert(subs.id, mb);
            }
        }
        true
    }

    /// Unsubscribes `subs` from `name` in `kind`; false if it was not subscribed.
    pub fn unsubscribe(&self, subs: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        if !subs.set(kind).remove(name) {
            return false;
        }
        let forget = |map: &mut HashMap<Vec<u8>, Listeners>| {
            if let Some(l) = map.get_mut(name) {
                l.remove(&subs.id);
                if l.is_empty() {
                    map.remove(name);
                }
            }
        };
        match kind {
            Kind::Channel => forget(&mut lock(&self.channels)),
            Kind::Shard => forget(&mut lock(&self.shard)),
            Kind::Pattern => {
                let mut all = lock(&self.patterns);
                if let Some(p) = all.get_mut(name) {
                    p.listeners.remove(&subs.id);
                    if p.listeners.is_empty() {
                        all.remove(name);
                        self.npatterns.fetch_sub(1, Relaxed);
                    }
                }
            }
        }
        true
    }

    /// Drops every subscription of a connection (it closed, or RESET).
    pub fn forget(&self, subs: &mut Subscriptions) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in subs.names(kind) {
                self.unsubscribe(subs, kind, &name);
            }
        }
    }

    /// The time pushes are stamped with (for the soft output limit).
    pub fn clock_ms(&self) -> u64 {
        self.now_ms()
    }

    /// Publishes `payload` to `channel` (a shard channel when `shard`): how many
    /// subscribers, by name and by pattern, it was given to.
    pub fn publish(&self, channel: &[u8], payload: &[u8], shard: bool, limit: Limit) -> usize {
        let now = self.now_ms();
        let (channel, payload): (Arc<[u8]>, Arc<[u8]>) = (channel.into(), payload.into());
        let message = |pattern: Option<Arc<[u8]>>| Message {
            pattern,
            channel: channel.clone(),
            payload: payload.clone(),
            shard,
        };
        let mut n = 0;
        {
            let map = lock(if shard { &self.shard } else { &self.channels });
            for mb in map.get(&*channel).into_iter().flat_map(|l| l.values()) {
                mb.put(Push::Message(message(None)), limit, now);
                n += 1;
            }
        }
        if shard || self.npatterns.load(Relaxed) == 0 {
            return n;
        }
        let all = lock(&self.patterns);
        for (name, p) in all.iter() {
            if !p.pattern.as_ref().is_some_and(|p| p.matches(&channel)) {
                continue;
            }
            let name: Arc<[u8]> = name.as_slice().into();
            for mb in p.listeners.values() {
                mb.put(Push::Message(message(Some(name.clone()))), limit, now);
                n += 1;
            }
        }
        n
    }

    /// Publishes keyspace events as `flags` (`notify-keyspace-events`) asks.
    pub fn keyspace_events(&self, events: &[crate::notify::Event], flags: u32, limit: Limit) {
        for e in events {
            for (channel, message) in e.messages(flags) {
                self.publish(&channel, &message, false, limit);
            }
        }
    }

    /// The channels (shard channels when `shard`) with subscribers, those matching
    /// `pattern` if given.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let p = pattern.map(Pattern::new);
        let map = lock(if shard { &self.shard } else { &self.channels });
        map.keys().filter(|c| p.as_ref().is_none_or(|p| p.matches(c))).cloned().collect()
    }

    /// How many channels have subscribers (by name).
    pub fn channel_count(&self) -> usize {
        lock(&self.channels).len()
    }

    /// How many connections subscribe to `channel` by name (not by pattern).
    pub fn subscribers(&self, shard: bool, channel: &[u8]) -> usize {
        let map = lock(if shard { &self.shard } else { &self.channels });
        map.get(channel).map_or(0, HashMap::len)
    }

    /// How many distinct patterns have subscribers.
    pub fn patterns(&self) -> usize {
        self.npatterns.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: Limit = Limit { hard: 0, soft: 0, seconds: 0 };

    #[test]
    fn a_message_reaches_name_and_pattern_subscribers() {
        let hub = Hub::new();
        let (mut a, mut b) =
            (Subscriptions::new(1, Default::default()), Subscriptions::new(2, Default::default()));
        assert!(hub.subscribe(&mut a, Kind::Channel, b"news"));
        assert!(!hub.subscribe(&mut a, Kind::Channel, b"news"));
        assert!(hub.subscribe(&mut b, Kind::Pattern, b"n*"));
        assert_eq!(hub.publish(b"news", b"hi", false, NO_LIMIT), 2);
        assert_eq!(hub.publish(b"news", b"hi", true, NO_LIMIT), 0);
        let mut out = Vec::new();
        b.mailbox.drain_into(false, true, &mut out);
        assert_eq!(out, b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
        hub.forget(&mut a);
        hub.forget(&mut b);
        assert_eq!(hub.publish(b"news", b"hi", false, NO_LIMIT), 0);
        assert_eq!(hub.patterns(), 0);
    }

    #[test]
    fn a_mailbox_past_the_hard_limit_overflows_and_drops_its_messages() {
        let hub = Hub::new();
        let mut a = Subscriptions::new(1, Default::default());
        hub.subscribe(&mut a, Kind::Channel, b"c");
        let limit = Limit { hard: 1000, soft: 0, seconds: 0 };
        for _ in 0..10 {
            hub.publish(b"c", &[0; 100], false, limit);
        }
        assert!(a.mailbox.overflowed());
        let mut out = Vec::new();
        a.mailbox.drain_into(false, true, &mut out);
        assert!(out.is_empty(), "an overflowed mailbox keeps nothing");
    }
}
