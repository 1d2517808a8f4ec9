//! The one way commands run, alone or as the queue of an EXEC: check the cluster routes of
//! every key, take the slot locks (and, for EXEC, check the WATCHed versions), run each
//! handler against one write set (a failing command's partial reply is replaced by its
//! error), then commit the write set — per shard for a plain command, as one atomic batch
//! for EXEC — or, if the commit fails, replace every reply with its error.

use super::args::{Args, Failure};
use super::spec::{
    Cx, Spec, Table, F_ADMIN, F_ALLKEYS, F_ATOMIC, F_FAST, F_LOCKREAD, F_READONLY, F_SCRIPT,
    F_WRITE,
};
use crate::keyspace::Commit;
use crate::monitor::Source;
use crate::reply::Out;
use crate::session::{ScriptPlace, Session};
use crate::shared::Shared;
use crate::tx::Tx;

/// One command to run: its spec, its arguments, and where its own arguments start (after
/// a subcommand's name).
pub type Call<'a> = (&'static Spec, &'a [&'a [u8]], usize);

/// How the commands run.
#[derive(Clone, Copy)]
pub enum Mode<'w> {
    /// One command, outside a transaction.
    Plain,
    /// The queue of EXEC, with the slots WATCHed and their versions then.
    Exec(&'w [(u16, u64)]),
}

/// Runs `calls` (see the module).
pub fn run(
    srv: &Shared,
    sess: &mut Session,
    out: &mut Out,
    calls: &[Call<'_>],
    mode: Mode<'_>,
    table: &'static Table,
) {
    let flags = calls.iter().fold(0, |f, (spec, _, _)| f | spec.flags);
    let exec = matches!(mode, Mode::Exec(_));
    // The keys are needed to route and to lock (a plain read takes no lock).
    let locks_keys = exec || flags & (F_WRITE | F_LOCKREAD) != 0;
    let mut keys: Vec<&[u8]> = Vec::new();
    if srv.cluster.is_some() || locks_keys {
        keys = Vec::with_capacity(calls.iter().map(|(_, argv, _)| argv.len()).sum());
        calls.iter().for_each(|(spec, argv, _)| spec.keys_into(argv, &mut keys));
    }
    if let Some(r) = srv.cluster.as_ref().and_then(|c| c.route(&keys)) {
        return out.error(&r.to_string());
    }
    let ks = &srv.ks;
    let _locks = match mode {
        _ if flags & F_ALLKEYS != 0 => Some(ks.lock_all()),
        Mode::Exec(watched) => {
            Some(ks.lock(&keys, &watched.iter().map(|w| w.0).collect::<Vec<_>>()))
        }
        Mode::Plain if flags & (F_WRITE | F_LOCKREAD) != 0 => Some(ks.lock(&keys, &[])),
        Mode::Plain => None,
    };
    if let Mode::Exec(watched) = mode {
        if watched.iter().any(|&(slot, v)| ks.version(slot) != v) {
            return out.null_array();
        }
    }
    let mark = out.mark();
    if exec {
        out.array(calls.len());
    }
    let mut tx = Tx::new(ks, sess.db, exec);
    tx.notify = srv.rt.notify_flags();
    tx.track = srv.tracker.active();
    let mut cx = Cx { tx, out, sess, srv, in_exec: exec, table };
    for &(spec, argv, at) in calls {
        call(&mut cx, spec, argv, at);
    }
    let Cx { mut tx, out, sess, .. } = cx;
    sess.wrote |= tx.wrote();
    let (hits, misses) = tx.reads.get();
    if hits + misses > 0 {
        srv.stats.keyspace_hits.fetch_add(hits, std::sync::atomic::Ordering::Relaxed);
        srv.stats.keyspace_misses.fetch_add(misses, std::sync::atomic::Ordering::Relaxed);
    }
    let events = tx.take_events();
    let (touched, flushed) = tx.take_touched();
    let writer = sess.id;
    let publish = || {
        if !events.is_empty() {
            srv.pubsub.keyspace_events(&events, srv.rt.notify_flags(), srv.rt.pubsub_limit());
        }
        if !touched.is_empty() || flushed {
            srv.invalidate(&touched, flushed, Some(writer));
        }
    };
    if tx.is_empty() {
        return publish();
    }
    let atomic = exec || flags & F_ATOMIC != 0;
    match tx.commit(if atomic { Commit::Atomic } else { Commit::PerShard }) {
        Ok(()) => {
            sess.wrote = true;
            publish();
        }
        Err(e) => {
            out.rollback(mark);
            Failure::Store(e).reply(out);
        }
    }
}

/// Runs one handler for a client (alone or in EXEC): counted, and when it passes the
/// threshold logged in the slow log.
pub fn call(cx: &mut Cx<'_>, spec: &'static Spec, argv: &[&[u8]], at: usize) {
    // MONITOR sees a command as it starts (EXEC after its commands); not administrative
    // ones, as Redis.
    let exec = spec.name == "exec";
    let shown = spec.flags & F_ADMIN == 0 && cx.srv.monitors.any() && !cx.sess.monitored;
    if shown && !exec {
        cx.srv.monitors.feed(cx.tx.db, Source::Client(&cx.sess.addr), argv);
    }
    let db = cx.tx.db;
    let ran = run_counted(cx, spec, argv, at);
    // Client-side caching: what a tracking client reads (a script's own reads: see
    // scripting).
    if spec.flags & F_READONLY != 0 && spec.flags & F_SCRIPT == 0 && cx.srv.tracker.active() {
        remember(cx, &spec.keys_of(argv));
    }
    if shown && exec {
        cx.srv.monitors.feed(db, Source::Client(&cx.sess.addr), argv);
    }
    let Some(usec) = ran else { return };
    let latency = cx.srv.rt.latency_monitor_threshold();
    if latency > 0 && usec / 1000 >= latency {
        let event = if spec.flags & F_FAST != 0 { "fast-command" } else { "command" };
        cx.srv.latency.add(event, usec / 1000);
    }
    let threshold = cx.srv.rt.slowlog_slower_than();
    if threshold >= 0 && usec >= threshold as u64 {
        let client = (cx.sess.addr.clone(), cx.sess.name.clone().unwrap_or_default());
        cx.srv.slowlog.add(argv, usec, client, cx.srv.rt.slowlog_max_len());
    }
}

/// Runs one handler (for a client, or for a script: not logged apart); on failure its
/// partial reply becomes the error. Counted in INFO commandstats and errorstats; returns
/// the microseconds it took (none for a script that left its network thread: it did not
/// run, it will).
pub fn run_counted(cx: &mut Cx<'_>, spec: &'static Spec, argv: &[&[u8]], at: usize) -> Option<u64> {
    let (started, mark) = (std::time::Instant::now(), cx.out.mark());
    cx.tx.count_reads.set(counts_reads(spec));
    // OBJECT looks without announcing a miss (as Redis).
    cx.tx.notify_misses.set(!OBJECT_SUBCOMMANDS.contains(&spec.name));
    let failed = match (spec.run)(cx, &mut Args::new(argv, at)) {
        Ok(()) if cx.sess.script_place == ScriptPlace::Moved => return None,
        Ok(()) => false,
        Err(f) => {
            cx.out.rollback(mark);
            f.reply(cx.out);
            if !matches!(f, Failure::Counted(_)) {
                cx.srv.cmdstats.error(&f.text());
            }
            true
        }
    };
    let usec = started.elapsed().as_micros() as u64;
    let name = || full_name(spec, argv, at);
    cx.srv.cmdstats.with(std::ptr::from_ref(spec) as usize, name, |c| c.ran(usec, failed));
    Some(usec)
}

/// A command's name as INFO commandstats shows it (`client|list` for a subcommand).
pub fn full_name(spec: &Spec, argv: &[&[u8]], at: usize) -> String {
    match argv.first() {
        Some(c) if at == 2 => {
            format!("{}|{}", String::from_utf8_lossy(c).to_lowercase(), spec.name)
        }
        _ => spec.name.to_owned(),
    }
}

/// Notes that this connection's client read `keys`, if it tracks them (CLIENT TRACKING).
pub fn remember(cx: &Cx<'_>, keys: &[&[u8]]) {
    if keys.is_empty() {
        return;
    }
    // A script moved to a blocking thread runs with a copy of the session without the
    // entry: then the registry has it.
    let client = cx.sess.client.clone().or_else(|| cx.srv.clients.get(cx.sess.id));
    if let Some(client) = client.filter(|c| c.is_tracking()) {
        cx.srv.tracker.remember(&client, keys);
        cx.srv.tracker.limit(&cx.srv.deliver(), cx.srv.rt.tracking_table_max_keys());
    }
}

/// OBJECT's subcommands: their lookups are counted, never announced as `keymiss`.
const OBJECT_SUBCOMMANDS: [&str; 4] = ["encoding", "freq", "idletime", "refcount"];

/// Whether a command's lookups count as keyspace hits and misses: those of read-only
/// commands, and of the writes that read their keys first as Redis's do (GETEX, GETDEL,
/// GETSET, BITOP's sources, COPY's source; SET ... GET and a BITFIELD of GETs count in
/// their handlers); not MEMORY USAGE's.
fn counts_reads(spec: &Spec) -> bool {
    match spec.name {
        "getex" | "getdel" | "getset" | "copy" | "bitop" => true,
        "usage" => false,
        _ => spec.flags & F_READONLY != 0,
    }
}
