//! The state of one connection: identity, authentication, the queued transaction, WATCHed
//! slots, and what the connection loop must do after the current request.

use crate::reply::Out;
use crate::shared::Shared;

/// Work that must not run on a network thread (a sync, a merge, a script): the connection
/// loop runs it on a blocking thread and appends its reply in order; it returns whether it
/// wrote (so `--sync always` waits for the fsync that covers it).
pub type Deferred = Box<dyn FnOnce(&Shared, &mut Out) -> bool + Send>;

/// A blocked command: its arguments and deadline (ms since the epoch; `u64::MAX`: none).
pub struct Blocked {
    /// The command, to run again.
    pub argv: Vec<Vec<u8>>,
    /// When it answers its timeout.
    pub deadline: u64,
}

/// One connection's state.
pub struct Session {
    /// The client id (CLIENT ID).
    pub id: u64,
    /// CLIENT SETNAME.
    pub name: Option<String>,
    /// Whether AUTH succeeded (or no password is set).
    pub authed: bool,
    /// The selected database (SELECT).
    pub db: u8,
    /// The commands queued since MULTI.
    pub multi: Option<Vec<Vec<Vec<u8>>>>,
    /// Bytes of arguments queued since MULTI.
    pub multi_bytes: usize,
    /// The queue passed its limit: it was dropped and EXEC will abort.
    pub multi_overflow: bool,
    /// A command queued since MULTI was refused: EXEC will abort.
    pub multi_error: bool,
    /// WATCHed slots and their versions when watched.
    pub watched: Vec<(u16, u64)>,
    /// When the first WATCHed key that lived when watched expires (ms; 0: none does):
    /// its expiry is a change, whether or not the sweep deleted it yet.
    pub watch_deadline: u64,
    /// A write was committed by the current batch of requests (for `--sync always`).
    pub wrote: bool,
    /// QUIT: close after the replies are written.
    pub quit: bool,
    /// Work for a blocking thread before the next request runs.
    pub deferred: Option<Deferred>,
    /// A blocking command (BLPOP, ...) found nothing: it runs again when a list is pushed
    /// to, and answers its timeout at its deadline.
    pub blocked: Option<Blocked>,
    /// The deadline of the blocked command running again (ms since the epoch; `u64::MAX`:
    /// none).
    pub block_deadline: Option<u64>,
    /// Where the script (EVAL, FCALL, ...) now running may run.
    pub script_place: ScriptPlace,
    /// The peer's address.
    pub addr: String,
    /// Its entry in the client list (none for the copy a script runs with).
    pub client: Option<std::sync::Arc<crate::clients::Client>>,
    /// CLIENT REPLY: replies are dropped (OFF), or the next command's is (SKIP).
    pub reply: ReplyMode,
    /// MONITOR: after this request's reply the connection only receives this feed.
    pub monitor: Option<crate::monitor::Feed>,
    /// Bytes received and not yet processed, this request included (CLIENT LIST's qbuf).
    pub qbuf: usize,
    /// Its pub/sub subscriptions and mailbox, once it subscribed.
    pub pubsub: Option<Box<crate::pubsub::Subscriptions>>,
    /// The command's reply is pub/sub confirmations, sent even under CLIENT REPLY OFF.
    pub pushed: bool,
    /// MONITOR saw this request already (a script run again on a blocking thread).
    pub monitored: bool,
}

/// What CLIENT REPLY set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    /// Every reply is sent.
    On,
    /// No reply is sent.
    Off,
    /// The next command's reply is not sent.
    SkipNext,
    /// This command's reply is not sent (the one after CLIENT REPLY SKIP).
    Skip,
}

/// Where a script runs: on the network thread while it is short, else on a blocking thread
/// (where it holds neither the thread nor the other connections served there).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScriptPlace {
    /// Where the command runs (a blocking thread, or the network thread in EXEC).
    Here,
    /// The network thread, until it runs too long: then it stops and is moved.
    Inline,
    /// It stopped on the network thread (nothing of it kept): run it on a blocking thread.
    Moved,
}

/// The memory a queued argument costs besides its bytes: its vector's header and the
/// allocator's rounding.
const QUEUED_ARG_COST: usize = 40;

impl Session {
    /// A new connection's state.
    pub fn new(id: u64, addr: String, needs_auth: bool) -> Session {
        Session {
            id,
            name: None,
            authed: !needs_auth,
            db: 0,
            multi: None,
            multi_error: false,
            multi_bytes: 0,
            multi_overflow: false,
            watched: Vec::new(),
            watch_deadline: 0,
            wrote: false,
            quit: false,
            deferred: None,
            blocked: None,
            block_deadline: None,
            script_place: ScriptPlace::Here,
            addr,
            client: None,
            reply: ReplyMode::On,
            qbuf: 0,
            monitor: None,
            pubsub: None,
            pushed: false,
            monitored: false,
        }
    }

    /// Whether it is subscribed to anything (RESP2 then allows only the pub/sub commands).
    pub fn subscribed(&self) -> bool {
        self.pubsub.as_ref().is_some_and(|s| s.any())
    }

    /// Brings the client list's subscription counts up to date.
    pub fn pubsub_changed(&self) {
        if let (Some(c), Some(s)) = (&self.client, &self.pubsub) {
            c.subscriptions(s.counts());
        }
    }

    /// A command was refused while MULTI was queueing: EXEC will abort.
    pub fn flag_multi_error(&mut self) {
        if self.multi.is_some() {
            self.multi_error = true;
        }
    }

    /// Queues a command for EXEC; false (and the transaction is discarded) when the queue
    /// would pass `max_commands` commands or `max_bytes` bytes of arguments.
    pub fn queue(&mut self, argv: &[&[u8]], max_commands: usize, max_bytes: usize) -> bool {
        // What the queue entry costs in memory: each argument's bytes and its vector
        // (header and allocation), and the command's own vector.
        let bytes: usize = argv.iter().map(|a| a.len() + QUEUED_ARG_COST).sum::<usize>() + 48;
        let Some(q) = self.multi.as_mut() else { return true };
        if self.multi_overflow || q.len() >= max_commands || self.multi_bytes + bytes > max_bytes {
            // The queue is dropped now (its memory freed); the transaction stays open so
            // that nothing after this runs outside it, and EXEC aborts it.
            *q = Vec::new();
            self.multi_bytes = 0;
            self.multi_overflow = true;
            self.multi_error = true;
            return false;
        }
        self.multi_bytes += bytes;
        q.push(argv.iter().map(|a| a.to_vec()).collect());
        true
    }

    /// Ends a transaction (EXEC, DISCARD): forgets the queue and the WATCHed keys.
    pub fn end_multi(&mut self) {
        self.multi = None;
        self.multi_error = false;
        self.multi_bytes = 0;
        self.multi_overflow = false;
        self.watched.clear();
        self.watch_deadline = 0;
    }
}
