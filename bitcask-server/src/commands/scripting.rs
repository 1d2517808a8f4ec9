//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS, FLUSH,
//! KILL). A script runs like a command of its own: its declared keys' slots are locked (as
//! any command's keys), each `redis.call` runs a command's handler on the script's write
//! set, and the writes commit at the end as one atomic batch (all or none, also across a
//! crash). A key the script did not declare has its slot locked when it is reached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask_core::sharded::key_slot;

use super::args::{Args, Failure, Res};
use super::spec::{
    Cx, Spec, F_ALLKEYS, F_ATOMIC, F_LOCKREAD, F_NOSCRIPT, F_READONLY, F_SCRIPT, F_WRITE, NUMKEYS,
};
use crate::lua::{self, Host, Kill, Running, Script};
use crate::reply::Out;
use crate::session::ScriptPlace;
use crate::shared::Shared;

/// The scripting commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "eval", arity: -3, flags: F_WRITE | F_NOSCRIPT | F_ATOMIC | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Executes a server-side Lua script.", run: eval, ..Spec::NONE },
    Spec { name: "evalsha", arity: -3, flags: F_WRITE | F_NOSCRIPT | F_ATOMIC | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Executes a server-side Lua script by SHA1 digest.", run: evalsha, ..Spec::NONE },
    Spec { name: "eval_ro", arity: -3, flags: F_READONLY | F_LOCKREAD | F_NOSCRIPT | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Executes a read-only server-side Lua script.", run: eval_ro, ..Spec::NONE },
    Spec { name: "evalsha_ro", arity: -3, flags: F_READONLY | F_LOCKREAD | F_NOSCRIPT | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Executes a read-only server-side Lua script by SHA1 digest.", run: evalsha_ro, ..Spec::NONE },
    Spec { name: "script", arity: -2, flags: F_NOSCRIPT, group: "scripting", summary: "A container for Lua scripts management commands.", subs: SCRIPT, ..Spec::NONE },
];

/// SCRIPT's subcommands.
#[rustfmt::skip]
static SCRIPT: &[Spec] = &[
    Spec { name: "load", arity: 3, flags: F_NOSCRIPT, group: "scripting", syntax: "<script>", summary: "Loads a server-side Lua script to the script cache.", run: script_load, ..Spec::NONE },
    Spec { name: "exists", arity: -3, flags: F_NOSCRIPT, group: "scripting", syntax: "<sha1> [<sha1> ...]", summary: "Determines whether server-side Lua scripts exist in the script cache.", run: script_exists, ..Spec::NONE },
    Spec { name: "flush", arity: -2, flags: F_NOSCRIPT, group: "scripting", syntax: "[ASYNC|SYNC]", summary: "Removes all server-side Lua scripts from the script cache.", run: script_flush, ..Spec::NONE },
    Spec { name: "kill", arity: 2, flags: F_NOSCRIPT, group: "scripting", summary: "Terminates a server-side Lua script during execution.", run: script_kill, ..Spec::NONE },
];

/// Arguments of a command: a run of them.
type Argv<'a> = &'a [&'a [u8]];

/// EVAL's `numkeys key... arg...`.
/// `bad_count` is the error for a count that is not an integer (Redis words it per command).
pub fn keys_and_args<'a>(
    args: &mut Args<'a>,
    bad_count: &'static str,
) -> Result<(Argv<'a>, Argv<'a>), Failure> {
    let n = args.int().map_err(|_| Failure::err(bad_count))?;
    let rest = args.rest();
    if n < 0 {
        return Err(Failure::err("Number of keys can't be negative"));
    }
    if n as u64 > rest.len() as u64 {
        return Err(Failure::err("Number of keys can't be greater than number of args"));
    }
    Ok(rest.split_at(n as usize))
}

fn eval_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, by_sha: bool, read_only: bool) -> Res {
    let first = args.key();
    let (keys, argv) = keys_and_args(args, "value is not an integer or out of range")?;
    let (sha, body) = if by_sha {
        (String::from_utf8_lossy(first).to_ascii_lowercase(), None)
    } else {
        (cx.srv.scripts.load(first), Some(first))
    };
    let command = args.argv();
    run_script(
        cx,
        &Script { sha: &sha, function: false, body, keys, args: argv },
        read_only,
        command,
    )
}

/// Runs a script or a function (FCALL) as one command (see the module).
pub fn run_script(cx: &mut Cx<'_>, script: &Script<'_>, read_only: bool, command: Argv<'_>) -> Res {
    let keys = script.keys;
    let limit = Duration::from_millis(cx.srv.rt.busy_reply_threshold());
    // FUNCTION STATS shows the command of a running function.
    let command = match script.function {
        true => command.iter().map(|a| a.to_vec()).collect(),
        false => Vec::new(),
    };
    let mut running = Running::new(script.function, script.sha.to_owned(), command);
    if cx.sess.script_place == ScriptPlace::Inline {
        running = running.inline(INLINE_WALL.min(limit));
    }
    let running = Arc::new(running);
    // The script's SELECT does not change the caller's database, and nothing it runs may
    // be deferred to another thread.
    let (db, in_exec) = (cx.tx.db, cx.in_exec);
    cx.in_exec = true;
    let atomic = cx.tx.set_atomic(true);
    let held = keys.iter().map(|k| key_slot(k)).collect();
    let mut host = ScriptHost {
        cx,
        declared: keys,
        read_only,
        running: running.clone(),
        held,
        extra: Vec::new(),
        read_any: false,
    };
    let (mark, reply_at) = (host.cx.tx.mark(), host.cx.out.mark());
    let r = lua::run(&host.cx.srv.scripts.clone(), script, limit, running.clone(), &mut host);
    let moved = running.moved();
    if moved || running.aborted.load(std::sync::atomic::Ordering::Acquire) {
        host.cx.tx.rollback(mark);
    }
    drop(host.extra);
    // Client-side caching: a script that read tracks the keys it declared (as Redis).
    if host.read_any && host.cx.srv.tracker.active() {
        super::run::remember(host.cx, keys);
    }
    (cx.in_exec, cx.tx.db, cx.sess.db) = (in_exec, db, db);
    cx.tx.set_atomic(atomic);
    if moved {
        cx.out.rollback(reply_at);
        cx.sess.script_place = ScriptPlace::Moved;
        return Ok(());
    }
    match r {
        // A script that returns an error reply failed, as Redis counts it.
        Ok(Some(counted)) => {
            let line = cx.out.buf.get(reply_at + 1..).unwrap_or_default();
            let text =
                String::from_utf8_lossy(line.strip_suffix(b"\r\n").unwrap_or(line)).into_owned();
            Err(if counted { Failure::Counted(text.into()) } else { Failure::coded(text) })
        }
        Ok(None) => Ok(()),
        Err(f) if f.from_call => Err(Failure::Counted(f.text.into())),
        Err(f) => Err(Failure::coded(f.text)),
    }
}

fn eval(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    eval_generic(cx, args, false, false)
}

fn evalsha(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    eval_generic(cx, args, true, false)
}

fn eval_ro(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    eval_generic(cx, args, false, true)
}

fn evalsha_ro(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    eval_generic(cx, args, true, true)
}

/// The longest a script runs on its network thread (also while the thread is not
/// scheduled) before it moves to a blocking thread, nothing it did kept: scripts whose
/// instructions take over a millisecond move sooner.
const INLINE_WALL: Duration = Duration::from_millis(10);

/// How long a script waits for the slot of a key it did not declare.
const UNDECLARED_WAIT: Duration = Duration::from_secs(1);

/// The server as a script sees it: each `redis.call` resolves its command, checks that a
/// script may run it, locks the slots of keys the script did not declare, and runs its
/// handler on the script's write set, capturing the reply.
struct ScriptHost<'c, 'a> {
    cx: &'c mut Cx<'a>,
    /// The keys the script declared (KEYS).
    declared: &'c [&'c [u8]],
    read_only: bool,
    running: Arc<Running>,
    /// The slots whose locks the script holds.
    held: Vec<u16>,
    /// Slot locks taken for keys the script did not declare.
    extra: Vec<std::sync::MutexGuard<'a, ()>>,
    /// It ran a read-only command (a tracking client then tracks its declared keys).
    read_any: bool,
}

impl ScriptHost<'_, '_> {
    /// Locks the slots of `keys` this command has not locked yet (the declared keys' slots
    /// are held by the run; an undeclared one is waited for, briefly, as another command may
    /// hold it).
    fn lock_undeclared(&mut self, spec: &Spec, argv: &[&[u8]]) -> Result<(), String> {
        let srv: &Shared = self.cx.srv;
        let keys = spec.keys_of(argv);
        if let Some(cluster) = &srv.cluster {
            let mut all = keys.clone();
            all.extend(self.declared.iter().copied());
            if cluster.route(&all).is_some() {
                return Err(
                    "ERR Script attempted to access a non local key in a cluster node".into()
                );
            }
        }
        for k in keys {
            let slot = key_slot(k);
            if self.held.contains(&slot) {
                continue;
            }
            let deadline = Instant::now() + UNDECLARED_WAIT;
            let guard = loop {
                if let Some(g) = srv.ks.try_lock_slot(slot) {
                    break g;
                }
                if self.running.is_inline() {
                    // A network thread does not wait: the script runs again where it may.
                    self.running.move_off();
                    return Err("ERR the script left the network thread".into());
                }
                if Instant::now() > deadline {
                    return Err("ERR the script reached a key it did not declare, whose slot another command holds: declare every key a script uses in KEYS".into());
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            self.extra.push(guard);
            self.held.push(slot);
        }
        Ok(())
    }
}

impl ScriptHost<'_, '_> {
    /// Whether a script may run `spec`: not a command scripts cannot run, no write from a
    /// read-only script. A write marks the script as one that wrote.
    fn may_run(&self, spec: &Spec) -> Result<(), String> {
        if spec.flags & (F_NOSCRIPT | F_ALLKEYS) != 0 {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        if spec.flags & F_WRITE != 0 {
            if self.read_only {
                return Err("ERR Write commands are not allowed from read-only scripts.".into());
            }
            self.running.wrote.store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }
}

impl Host for ScriptHost<'_, '_> {
    fn call(&mut self, argv: &[&[u8]], resp3: bool) -> Result<Vec<u8>, String> {
        let (spec, at) = self.cx.table.resolve(argv).map_err(|f| {
            let text = match f {
                Failure::Err(t) if t.starts_with("unknown command") => {
                    "ERR Unknown Redis command called from script".to_owned()
                }
                Failure::Err(t) if t.starts_with("wrong number of arguments") => {
                    "ERR Wrong number of args calling Redis command from script".to_owned()
                }
                other => other.text(),
            };
            self.cx.srv.cmdstats.error(&text);
            text
        })?;
        if let Err(text) = self.may_run(spec) {
            // Refused before it ran: a rejected call of it, its error counted here (the
            // script's failure that follows is not counted again).
            let stats = &self.cx.srv.cmdstats;
            let name = || super::run::full_name(spec, argv, at);
            stats.with(std::ptr::from_ref(spec) as usize, name, crate::cmdstats::Counter::rejected);
            stats.error(&text);
            return Err(text);
        }
        self.lock_undeclared(spec, argv)?;
        let out = &mut *self.cx.out;
        let (mark, was) = (out.mark(), out.resp3);
        out.resp3 = resp3;
        let srv = self.cx.srv;
        srv.monitors.feed(self.cx.tx.db, crate::monitor::Source::Script, argv);
        super::run::run_counted(self.cx, spec, argv, at);
        self.read_any |= spec.flags & super::spec::F_READONLY != 0;
        let out = &mut *self.cx.out;
        let reply = out.buf.get(mark..).unwrap_or_default().to_vec();
        out.rollback(mark);
        out.resp3 = was;
        Ok(reply)
    }

    fn out(&mut self) -> &mut Out {
        self.cx.out
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn make_read_only(&mut self) {
        self.read_only = true;
    }
}

fn script_load(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let sha = cx.srv.scripts.load(args.key());
    cx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let shas = args.rest();
    cx.out.array(shas.len());
    for sha in shas {
        cx.out.int(i64::from(cx.srv.scripts.exists(sha)));
    }
    Ok(())
}

fn script_flush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if args.left() > 0 && !(args.eat("async") || args.eat("sync")) || args.left() > 0 {
        return Err(Failure::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    cx.srv.scripts.flush();
    cx.out.ok();
    Ok(())
}

/// SCRIPT KILL and FUNCTION KILL: the running scripts (functions) that did not write are
/// asked to stop.
pub fn script_kill(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    kill(cx, false)
}

/// SCRIPT KILL (`functions` false) or FUNCTION KILL.
pub fn kill(cx: &mut Cx<'_>, functions: bool) -> Res {
    match cx.srv.scripts.kill(functions) {
        Kill::OtherKind => Err(Failure::coded(if functions {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a function. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        })),
        Kill::NotBusy => Err(Failure::coded("NOTBUSY No scripts in execution right now.")),
        Kill::Unkillable => Err(Failure::coded("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")),
        Kill::Killed => {
            cx.out.ok();
            Ok(())
        }
    }
}
