//! Commands: what a request goes through before it runs (lookup, subcommand, arity,
//! authentication, MULTI queueing), the one execution path (`run`), and the command
//! families, each declaring its commands (`COMMANDS`) beside their handlers.

mod args;
mod registry;
mod run;
mod spec;

mod bits;
mod blocking;
mod client;
mod cluster;
mod command;
mod connection;
mod databases;
mod dump;
mod functions;
mod hashes;
mod keys;
mod latency;
mod lcs;
mod lists;
mod members;
mod memory;
mod pubsub;
mod scripting;
mod server;
mod sets;
mod sort;
mod strings;
mod tracking;
mod transaction;
mod zranges;
mod zsetops;
mod zsets;

use crate::cmdstats::Counter;
use crate::reply::Out;
use crate::session::{ScriptPlace, Session};
use crate::shared::Shared;

use args::Failure;
use registry::TABLE;
use run::{run, Call, Mode};
use spec::{F_NOAUTH, F_NOMULTI, F_SCRIPT, F_TXCONTROL, F_WRITE};

/// Every command's spec address and the name INFO commandstats gives it (`client|list`
/// for a subcommand), for the counters made at start.
pub fn stat_names() -> Vec<(usize, String)> {
    let mut all = Vec::new();
    for spec in TABLE.all() {
        all.push((std::ptr::from_ref(spec) as usize, spec.name.to_owned()));
        for sub in spec.subs {
            all.push((std::ptr::from_ref(sub) as usize, format!("{}|{}", spec.name, sub.name)));
        }
    }
    all
}

/// Loads the function libraries the store holds (at start).
pub fn restore_functions(srv: &Shared) {
    functions::restore_from_store(srv);
}

/// Runs one request: `argv[0]` is the command name. Inside MULTI a command is checked and
/// queued (a refused one makes EXEC abort); otherwise it runs.
pub fn execute(srv: &Shared, sess: &mut Session, out: &mut Out, argv: &[&[u8]]) {
    dispatch(srv, sess, out, argv);
    // CLIENT CACHING's choice is spent by the next command (not by CLIENT, nor while MULTI
    // queues).
    if let Some(c) = sess.client.as_ref().filter(|c| c.is_tracking()) {
        if sess.multi.is_none() && !argv.first().is_some_and(|n| args::is(n, "client")) {
            tracking::spend_caching(c);
        }
    }
}

fn dispatch(srv: &Shared, sess: &mut Session, out: &mut Out, argv: &[&[u8]]) {
    let refuse = |sess: &mut Session, out: &mut Out, f: Failure| {
        // A refused EXEC ends the transaction, saying why (as Redis).
        if sess.multi.is_some() && argv.first().is_some_and(|n| args::is(n, "exec")) {
            sess.end_multi();
            let why = match &f {
                Failure::Err(why) => why.to_string(),
                other => other.text(),
            };
            let text = format!("EXECABORT Transaction discarded because of: {why}");
            srv.cmdstats.error(&text);
            return out.error(&text);
        }
        sess.flag_multi_error();
        srv.cmdstats.error(&f.text());
        f.reply(out);
    };
    let (spec, at) = match TABLE.resolve(argv) {
        Ok(found) => found,
        Err(f) => {
            // A known command refused for its arity counts as a rejected call of it.
            let arity = matches!(&f, Failure::Err(t) if t.starts_with("wrong number of arguments"));
            if let Some(spec) = argv.first().and_then(|n| TABLE.lookup(n)).filter(|_| arity) {
                let name = || run::full_name(spec, argv, 1);
                srv.cmdstats.with(std::ptr::from_ref(spec) as usize, name, Counter::rejected);
            }
            return refuse(sess, out, f);
        }
    };
    if let Some(client) = &sess.client {
        client.command(std::ptr::from_ref(spec) as usize);
    }
    let rejected = || {
        let name = || run::full_name(spec, argv, at);
        srv.cmdstats.with(std::ptr::from_ref(spec) as usize, name, Counter::rejected);
    };
    if srv.scripts.busy.load(std::sync::atomic::Ordering::Acquire) && !allowed_while_busy(argv) {
        rejected();
        return refuse(sess, out, Failure::coded("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."));
    }
    if !sess.authed && spec.flags & F_NOAUTH == 0 {
        rejected();
        return refuse(sess, out, Failure::coded("NOAUTH Authentication required."));
    }
    if sess.subscribed() && !out.resp3 && !ALLOWED_SUBSCRIBED.contains(&spec.name) {
        rejected();
        let name = run::full_name(spec, argv, at);
        return refuse(sess, out, Failure::err(format!("Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")));
    }
    if sess.multi.is_none() && spec.flags & F_SCRIPT != 0 {
        return run_script(srv, sess, out, spec, argv, at);
    }
    if sess.multi.is_none() || spec.flags & F_TXCONTROL != 0 {
        let call: Call<'_> = (spec, argv, at);
        return run(srv, sess, out, &[call], Mode::Plain, &TABLE);
    }
    if spec.flags & F_NOMULTI != 0 {
        return refuse(sess, out, Failure::err("Command not allowed inside a transaction"));
    }
    if let Some(r) = srv.cluster.as_ref().and_then(|c| c.route(&spec.keys_of(argv))) {
        return refuse(sess, out, Failure::coded(r.to_string()));
    }
    let (n, bytes) = srv.rt.multi_limits();
    if !sess.queue(argv, n, bytes) {
        return out.err(&format!("MULTI queue limit reached ({n} commands or {bytes} bytes); the transaction will be discarded"));
    }
    out.simple("QUEUED");
}

/// What a RESP2 connection subscribed to anything may run.
const ALLOWED_SUBSCRIBED: [&str; 9] = [
    "ping",
    "subscribe",
    "ssubscribe",
    "psubscribe",
    "unsubscribe",
    "sunsubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Whether a request may write (CLIENT PAUSE WRITE holds it): a write command, a script
/// or function not declared `no-writes`, EXEC of a transaction with one of those queued.
pub fn may_write(srv: &Shared, sess: &Session, argv: &[&[u8]]) -> bool {
    let Ok((spec, _)) = TABLE.resolve(argv) else { return false };
    if args::is(spec.name.as_bytes(), "exec") {
        let queued = sess.multi.iter().flatten();
        return queued
            .map(|q| q.iter().map(Vec::as_slice).collect::<Vec<_>>())
            .any(|argv| may_write(srv, sess, &argv));
    }
    if spec.flags & F_WRITE == 0 {
        return false;
    }
    use crate::lua::Named;
    let first = argv.get(1).copied().unwrap_or_default();
    let named = match spec.name {
        "eval" => Named::Body(first),
        "evalsha" => Named::Sha(first),
        "fcall" => Named::Function(first),
        _ => return true,
    };
    !srv.scripts.no_writes(named)
}

/// Runs a script (EVAL, FCALL, ...) on the network thread while it is short; one that runs
/// longer (or would wait for a lock) stops, nothing of it kept, and runs again on a
/// blocking thread.
fn run_script(
    srv: &Shared,
    sess: &mut Session,
    out: &mut Out,
    spec: &'static spec::Spec,
    argv: &[&[u8]],
    at: usize,
) {
    let mark = out.mark();
    sess.script_place = ScriptPlace::Inline;
    run(srv, sess, out, &[(spec, argv, at)], Mode::Plain, &TABLE);
    if std::mem::replace(&mut sess.script_place, ScriptPlace::Here) == ScriptPlace::Moved {
        out.rollback(mark);
        defer_script(sess, spec, argv, at);
    }
}

/// Runs a script on a blocking thread: a long one holds neither its network thread nor the
/// other connections served there (they get BUSY, and may SCRIPT KILL it). The run is the
/// same as any command's, on a copy of what the session gives a command (its id, address,
/// name and database: a script changes none of them).
fn defer_script(sess: &mut Session, spec: &'static spec::Spec, argv: &[&[u8]], at: usize) {
    let owned: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    let (id, addr, name, db) = (sess.id, sess.addr.clone(), sess.name.clone(), sess.db);
    sess.deferred = Some(Box::new(move |srv, out| {
        let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let mut s = Session::new(id, addr, false);
        (s.name, s.db, s.monitored) = (name, db, true);
        run(srv, &mut s, out, &[(spec, &argv, at)], Mode::Plain, &TABLE);
        s.wrote
    }));
}

/// What a client may run while a script runs past the time limit: SCRIPT KILL, FUNCTION
/// KILL, FUNCTION STATS, SHUTDOWN NOSAVE and the transaction commands but EXEC (as Redis:
/// a command refused inside MULTI makes EXEC abort).
fn allowed_while_busy(argv: &[&[u8]]) -> bool {
    match argv {
        [c, ..] if ["multi", "discard", "watch", "unwatch"].iter().any(|n| args::is(c, n)) => true,
        [c, k] if (args::is(c, "script") || args::is(c, "function")) && args::is(k, "kill") => true,
        [c, s] if args::is(c, "function") && args::is(s, "stats") => true,
        [c, n] if args::is(c, "shutdown") && args::is(n, "nosave") => true,
        _ => false,
    }
}
