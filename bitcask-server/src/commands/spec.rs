//! What a command is (its name, arity, flags, key positions, documentation, handler and
//! subcommands, as COMMAND INFO and COMMAND DOCS tell it), what it runs with ([`Cx`]), and
//! how a request finds its command ([`Table::resolve`]). Each command family declares its
//! commands in its own file (`COMMANDS`) beside their handlers; the registry gathers them
//! into the one [`Table`].

use std::collections::HashMap;
use std::sync::OnceLock;

use super::args::{is, shown, Args, Failure, Res};
use crate::reply::Out;
use crate::session::Session;
use crate::shared::Shared;
use crate::tx::Tx;

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
    /// Whether this runs inside EXEC (nothing may block or be deferred).
    pub in_exec: bool,
    /// Every command (COMMAND, EXEC and HELP look commands up).
    pub table: &'static Table,
}

/// A handler: runs one command, writing its reply (and its writes into `cx.tx`); an `Err`
/// becomes the command's whole reply.
pub type Handler = fn(&mut Cx<'_>, &mut Args<'_>) -> Res;

/// A command or a subcommand.
pub struct Spec {
    /// Lower-case name (a subcommand's own name: `setname`).
    pub name: &'static str,
    /// Redis's arity: `n` exactly `n` arguments (the name, and a subcommand's container,
    /// included), `-n` at least `n`.
    pub arity: i32,
    /// Flags (the `F_*` constants).
    pub flags: u32,
    /// First key, last key (negative: from the end), step; `(0, 0, 0)` for none.
    pub keys: (i32, i32, i32),
    /// The documentation group (COMMAND DOCS).
    pub group: &'static str,
    /// What the arguments are, for HELP (`<name>`).
    pub syntax: &'static str,
    /// One line of documentation (COMMAND DOCS, HELP).
    pub summary: &'static str,
    /// The handler (a container of subcommands has none of its own).
    pub run: Handler,
    /// Subcommands (CLIENT SETNAME, CONFIG GET, …), dispatched by the second argument.
    pub subs: &'static [Spec],
}

impl Spec {
    /// The fields most commands leave as they are: `Spec { name, arity, .., ..Spec::NONE }`.
    pub const NONE: Spec = Spec {
        name: "",
        arity: 1,
        flags: 0,
        keys: (0, 0, 0),
        group: "",
        syntax: "",
        summary: "",
        run: no_handler,
        subs: &[],
    };

    /// Whether `n` arguments fit the arity.
    pub fn arity_ok(&self, n: usize) -> bool {
        if self.arity >= 0 {
            n == self.arity as usize
        } else {
            n >= self.arity.unsigned_abs() as usize
        }
    }

    /// The keys of `argv` under the key positions.
    pub fn keys_of<'b>(&self, argv: &[&'b [u8]]) -> Vec<&'b [u8]> {
        let mut keys = Vec::new();
        self.keys_into(argv, &mut keys);
        keys
    }

    /// Appends the keys of `argv` under the key positions to `keys`.
    pub fn keys_into<'b>(&self, argv: &[&'b [u8]], keys: &mut Vec<&'b [u8]>) {
        let (first, last, step) = self.keys;
        if first <= 0 || step <= 0 {
            return;
        }
        let n = argv.len() as i32;
        if last == STORE_KEY {
            keys.extend(argv.get(first as usize).copied());
            let rest = argv.get(first as usize + 1..).unwrap_or_default();
            let store = rest.iter().rposition(|a| a.eq_ignore_ascii_case(b"store"));
            keys.extend(store.and_then(|i| rest.get(i + 1)).copied());
            return;
        }
        if last == DEST_NUMKEYS {
            keys.extend(argv.get(first as usize).copied());
            let spec = Spec { keys: (first + 2, NUMKEYS, 1), ..Spec::NONE };
            return spec.keys_into(argv, keys);
        }
        if last == NUMKEYS {
            let count = argv.get(first as usize - 1).and_then(|c| crate::number::parse_i64(c));
            let count = count.filter(|&c| c > 0 && c <= i64::from(n - first)).unwrap_or(0);
            keys.extend(argv.iter().skip(first as usize).take(count as usize).copied());
            return;
        }
        let last = if last < 0 { n + last } else { last.min(n - 1) };
        let at = |i: i32| argv.get(i as usize).copied();
        keys.extend((first..=last).step_by(step as usize).filter_map(at));
    }

    /// The subcommand named `name` (any case).
    pub fn sub(&self, name: &[u8]) -> Option<&'static Spec> {
        self.subs.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }
}

fn no_handler(_: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    Err(Failure::err("this command needs a subcommand"))
}

/// Every command, family by family.
pub struct Table {
    families: &'static [&'static [Spec]],
    /// By lower-case name. The names are fixed, so a fast fixed hash is safe here.
    index: OnceLock<HashMap<&'static [u8], &'static Spec, foldhash::fast::FixedState>>,
}

impl Table {
    /// The table of these families' commands.
    pub const fn new(families: &'static [&'static [Spec]]) -> Table {
        Table { families, index: OnceLock::new() }
    }

    /// The name CLIENT LIST shows for the command whose spec is at `addr` (`client|list`
    /// for a subcommand; `NULL` for none).
    pub fn name_of(&self, addr: usize) -> String {
        let at = |s: &Spec| std::ptr::from_ref(s) as usize == addr;
        for spec in self.all() {
            if at(spec) {
                return spec.name.to_owned();
            }
            if let Some(sub) = spec.subs.iter().find(|s| at(s)) {
                return format!("{}|{}", spec.name, sub.name);
            }
        }
        "NULL".to_owned()
    }

    /// Every command, family by family.
    pub fn all(&self) -> impl Iterator<Item = &'static Spec> {
        self.families.iter().flat_map(|f| f.iter())
    }

    /// How many commands there are.
    pub fn count(&self) -> usize {
        self.families.iter().map(|f| f.len()).sum()
    }

    /// The command named `name` (any case).
    pub fn lookup(&self, name: &[u8]) -> Option<&'static Spec> {
        let index = self.index.get_or_init(|| self.all().map(|s| (s.name.as_bytes(), s)).collect());
        let mut buf = [0u8; 32];
        let lower = buf.get_mut(..name.len())?;
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        index.get(&*lower).copied()
    }

    /// The command (or subcommand) `argv` names and where its own arguments start, or why
    /// it cannot run: unknown, a wrong number of arguments, an unknown subcommand.
    #[inline]
    pub fn resolve(&self, argv: &[&[u8]]) -> Result<(&'static Spec, usize), Failure> {
        let name = argv.first().copied().unwrap_or_default();
        let Some(spec) = self.lookup(name) else { return Err(unknown_command(argv)) };
        if !spec.arity_ok(argv.len()) {
            return Err(Failure::arity(spec.name));
        }
        if spec.subs.is_empty() || argv.len() == 1 {
            return Ok((spec, 1));
        }
        let sub_name = argv.get(1).copied().unwrap_or_default();
        let sub = spec.sub(sub_name).or_else(|| is(sub_name, "help").then_some(&HELP));
        let Some(sub) = sub else {
            let (sub, container) = (shown(sub_name), spec.name.to_uppercase());
            return Err(Failure::err(format!("unknown subcommand '{sub}'. Try {container} HELP.")));
        };
        if !sub.arity_ok(argv.len()) {
            return Err(Failure::arity(&format!("{}|{}", spec.name, sub.name)));
        }
        Ok((sub, 2))
    }
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `, as Redis words it.
fn unknown_command(argv: &[&[u8]]) -> Failure {
    let name = argv.first().map_or(String::new(), |n| shown(n));
    let mut text = format!("unknown command '{name}', with args beginning with: ");
    for a in argv.iter().skip(1) {
        if text.len() > 256 {
            break;
        }
        text.push_str(&format!("'{}' ", shown(a)));
    }
    Failure::err(text)
}

/// `<CONTAINER> HELP`, which every command with subcommands has.
pub static HELP: Spec = Spec {
    name: "help",
    arity: 2,
    flags: F_FAST,
    summary: "Print this help.",
    run: help,
    ..Spec::NONE
};

/// The lines of HELP, as Redis prints them: the usage, then each subcommand with its
/// arguments and, indented, what it does.
fn help(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let container = args.argv().first().and_then(|n| cx.table.lookup(n));
    let Some(container) = container else { return Ok(()) };
    let name = container.name.to_uppercase();
    let mut lines =
        vec![format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")];
    for s in container.subs.iter().chain([&HELP]) {
        let usage = format!("{} {}", s.name.to_uppercase(), s.syntax);
        lines.push(usage.trim_end().to_owned());
        lines.push(format!("    {}", s.summary));
    }
    cx.out.array(lines.len());
    for l in &lines {
        cx.out.simple(l);
    }
    Ok(())
}

/// Writes to the keyspace.
pub const F_WRITE: u32 = 1;
/// Only reads.
pub const F_READONLY: u32 = 2;
/// Allowed before authentication.
pub const F_NOAUTH: u32 = 4;
/// Runs at once even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET; UNWATCH is queued, as in Redis).
pub const F_TXCONTROL: u32 = 8;
/// Takes the lock of every slot (FLUSHALL, FLUSHDB).
pub const F_ALLKEYS: u32 = 16;
/// Administrative.
pub const F_ADMIN: u32 = 32;
/// O(1) or O(log n).
pub const F_FAST: u32 = 64;
/// Locks the slots of its keys even though it only reads (MGET: a consistent view).
pub const F_LOCKREAD: u32 = 128;
/// Refused inside MULTI (`ERR Command not allowed inside a transaction`): SAVE, SHUTDOWN.
pub const F_NOMULTI: u32 = 256;
/// Refused from a script (`ERR This Redis command is not allowed from script`).
pub const F_NOSCRIPT: u32 = 512;
/// Its writes commit as one atomic batch even outside EXEC (EVAL, FCALL).
pub const F_ATOMIC: u32 = 1024;
/// Runs a script: outside MULTI it runs on a blocking thread (EVAL, FCALL and their
/// variants).
pub const F_SCRIPT: u32 = 2048;
/// May block the client (BLPOP, BZPOPMIN, ...).
pub const F_BLOCKING: u32 = 4096;
/// A spec's `keys.1` for commands whose key count is the argument before the first key
/// (EVAL, FCALL): `(3, NUMKEYS, 1)` takes `argv[2]` keys from `argv[3]`.
pub const NUMKEYS: i32 = i32::MIN;
/// A spec's `keys.1` for commands with a destination key before a key count (ZUNIONSTORE):
/// `(1, DEST_NUMKEYS, 1)` takes `argv[1]`, then `argv[2]` keys from `argv[3]`.
pub const DEST_NUMKEYS: i32 = i32::MIN + 1;
/// A spec's `keys.1` for SORT: `(1, STORE_KEY, 1)` takes `argv[1]` and the argument after
/// the last `STORE`.
pub const STORE_KEY: i32 = i32::MIN + 2;

/// The names of the flags, as COMMAND INFO lists them.
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (F_WRITE, "write"),
    (F_READONLY, "readonly"),
    (F_NOAUTH, "no_auth"),
    (F_ADMIN, "admin"),
    (F_FAST, "fast"),
    (F_NOMULTI, "no_multi"),
    (F_NOSCRIPT, "noscript"),
    (F_BLOCKING, "blocking"),
];
