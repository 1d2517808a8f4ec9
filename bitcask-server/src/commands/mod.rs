//! The command table and the dispatcher: lookup (case-insensitive), arity, authentication,
//! MULTI queueing, the slot locks of a command's keys, and the commit of what it wrote.

mod cluster;
mod connection;
mod keys;
mod server;
mod strings;
mod table;
mod transaction;

use std::collections::HashMap;
use std::sync::OnceLock;

use bitcask_core::Error;

use crate::keyspace::{Commit, Tx};
use crate::reply::Out;
use crate::session::Session;
use crate::shared::Shared;

pub use table::TABLE;

/// A handler: runs one command, writing its reply (and its writes into `cx.tx`).
pub type Handler = fn(&mut Cx<'_>, &[&[u8]]);

/// What a command is, as COMMAND INFO tells it.
pub struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis's arity: `n` exactly `n` arguments (the name included), `-n` at least `n`.
    pub arity: i32,
    /// Flags (the `F_*` constants).
    pub flags: u32,
    /// First key, last key (negative: from the end), step; `(0, 0, 0)` for none.
    pub keys: (i32, i32, i32),
    /// The documentation group (COMMAND DOCS).
    pub group: &'static str,
    /// One line of documentation (COMMAND DOCS).
    pub summary: &'static str,
    /// The handler.
    pub run: Handler,
}

/// Writes to the keyspace.
pub const F_WRITE: u32 = 1;
/// Only reads.
pub const F_READONLY: u32 = 2;
/// Allowed before authentication.
pub const F_NOAUTH: u32 = 4;
/// Runs at once even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
pub const F_TXCONTROL: u32 = 8;
/// Takes the lock of every slot (FLUSHALL, FLUSHDB).
pub const F_ALLKEYS: u32 = 16;
/// Administrative.
pub const F_ADMIN: u32 = 32;
/// O(1) or O(log n).
pub const F_FAST: u32 = 64;
/// Locks the slots of its keys even though it only reads (MGET: a consistent view).
pub const F_LOCKREAD: u32 = 128;

/// The names of the flags, as COMMAND INFO lists them.
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (F_WRITE, "write"),
    (F_READONLY, "readonly"),
    (F_NOAUTH, "no_auth"),
    (F_ADMIN, "admin"),
    (F_FAST, "fast"),
];

/// The context of a running command.
pub struct Cx<'a> {
    /// The write set (shared by every command of an EXEC).
    pub tx: Tx<'a>,
    /// Where the reply goes.
    pub out: &'a mut Out,
    /// The connection's state.
    pub sess: &'a mut Session,
    /// The server's state.
    pub srv: &'a Shared,
    /// Whether this runs inside EXEC (writes must then go into `tx`).
    pub in_exec: bool,
}

fn index() -> &'static HashMap<&'static [u8], &'static Spec> {
    static INDEX: OnceLock<HashMap<&'static [u8], &'static Spec>> = OnceLock::new();
    INDEX.get_or_init(|| TABLE.iter().map(|s| (s.name.as_bytes(), s)).collect())
}

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index().get(&*lower).copied()
}

/// The keys of `argv` under `spec`'s key positions.
pub fn keys_of<'b>(spec: &Spec, argv: &[&'b [u8]]) -> Vec<&'b [u8]> {
    let (first, last, step) = spec.keys;
    if first <= 0 || step <= 0 {
        return Vec::new();
    }
    let n = argv.len() as i32;
    let last = if last < 0 { n + last } else { last.min(n - 1) };
    (first..=last).step_by(step as usize).filter_map(|i| argv.get(i as usize).copied()).collect()
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `, as Redis words it.
fn unknown_command(out: &mut Out, argv: &[&[u8]]) {
    let clip =
        |b: &[u8]| String::from_utf8_lossy(b.get(..b.len().min(128)).unwrap_or(b)).into_owned();
    let name = argv.first().map_or(String::new(), |n| clip(n));
    let mut text = format!("unknown command '{name}', with args beginning with: ");
    for a in argv.iter().skip(1) {
        if text.len() > 256 {
            break;
        }
        text.push_str(&format!("'{}' ", clip(a)));
    }
    out.err(&text);
}

/// `ERR wrong number of arguments for 'name' command`.
pub fn wrong_args(out: &mut Out, name: &str) {
    out.err(&format!("wrong number of arguments for '{name}' command"));
}

fn arity_ok(arity: i32, n: usize) -> bool {
    if arity >= 0 {
        n == arity as usize
    } else {
        n >= arity.unsigned_abs() as usize
    }
}

/// Runs one request: `argv[0]` is the command name.
pub fn execute(srv: &Shared, sess: &mut Session, out: &mut Out, argv: &[&[u8]]) {
    let Some(&name) = argv.first() else { return };
    let Some(spec) = lookup(name) else {
        sess.flag_multi_error();
        return unknown_command(out, argv);
    };
    if !arity_ok(spec.arity, argv.len()) {
        sess.flag_multi_error();
        return wrong_args(out, spec.name);
    }
    if !sess.authed && spec.flags & F_NOAUTH == 0 {
        sess.flag_multi_error();
        return out.error("NOAUTH Authentication required.");
    }
    if let Some(c) = &srv.cluster {
        if let Some(r) = c.route(&keys_of(spec, argv)) {
            sess.flag_multi_error();
            return out.error(&r.to_string());
        }
    }
    if sess.multi.is_some() && spec.flags & F_TXCONTROL == 0 {
        let (n, bytes) = (srv.cfg.max_multi_commands, srv.cfg.max_multi_bytes);
        if !sess.queue(argv, n, bytes) {
            return out.err(&format!("MULTI queue limit reached ({n} commands or {bytes} bytes); the transaction will be discarded"));
        }
        return out.simple("QUEUED");
    }
    run(srv, sess, out, spec, argv);
}

/// Runs `spec` outside a transaction: locks its keys' slots, runs it, commits its writes
/// (on failure its reply becomes the error).
fn run(srv: &Shared, sess: &mut Session, out: &mut Out, spec: &Spec, argv: &[&[u8]]) {
    let ks = &srv.ks;
    let _locks = if spec.flags & F_ALLKEYS != 0 {
        Some(ks.lock_all())
    } else if spec.flags & (F_WRITE | F_LOCKREAD) != 0 {
        Some(ks.lock(&keys_of(spec, argv), &[]))
    } else {
        None
    };
    let mark = out.mark();
    let mut cx = Cx { tx: Tx::new(ks), out, sess, srv, in_exec: false };
    (spec.run)(&mut cx, argv);
    let Cx { tx, out, sess, .. } = cx;
    if !tx.is_empty() {
        match tx.commit(Commit::PerShard) {
            Ok(()) => sess.wrote = true,
            Err(e) => {
                out.rollback(mark);
                store_error(out, &e);
            }
        }
    }
}

/// A store error as a reply.
pub fn store_error(out: &mut Out, e: &Error) {
    match e {
        Error::EmptyKey => out.err("empty keys are not supported by this store"),
        Error::KeyTooLarge { len, max } => {
            out.err(&format!("key of {len} bytes exceeds the store's limit of {max} bytes"))
        }
        Error::ValueTooLarge { .. } => {
            out.err("string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        e => out.err(&e.to_string()),
    }
}

/// Parses an integer argument, or replies Redis's error and returns `None`.
pub fn int_arg(out: &mut Out, arg: &[u8]) -> Option<i64> {
    let v = crate::number::parse_i64(arg);
    if v.is_none() {
        out.err("value is not an integer or out of range");
    }
    v
}

/// Whether `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Runs a store call, replying its error on failure.
pub fn check<T>(out: &mut Out, r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            store_error(out, &e);
            None
        }
    }
}
