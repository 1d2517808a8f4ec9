//! COMMAND: what clients and proxies ask of the command table (COUNT, INFO, DOCS, LIST with
//! FILTERBY, GETKEYS, GETKEYSANDFLAGS).

use super::args::{is, Args, Failure, Res};
use super::spec::{
    Cx, Spec, Table, DEST_NUMKEYS, FLAG_NAMES, F_ADMIN, F_FAST, F_WRITE, NUMKEYS, STORE_KEY,
};
use crate::glob;
use crate::reply::Out;

/// The COMMAND command.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "command", arity: -1, group: "server", summary: "Returns detailed information about all commands.", run: command_all, subs: COMMAND, ..Spec::NONE },
];

/// COMMAND's subcommands.
#[rustfmt::skip]
static COMMAND: &[Spec] = &[
    Spec { name: "count", arity: 2, group: "server", summary: "Returns a count of commands.", run: command_count, ..Spec::NONE },
    Spec { name: "info", arity: -2, group: "server", syntax: "[<command-name> ...]", summary: "Returns information about one, multiple or all commands.", run: command_info_of, ..Spec::NONE },
    Spec { name: "docs", arity: -2, group: "server", syntax: "[<command-name> ...]", summary: "Returns documentary information about one, multiple or all commands.", run: command_docs_of, ..Spec::NONE },
    Spec { name: "list", arity: -2, group: "server", syntax: "[FILTERBY <MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>>]", summary: "Returns a list of command names.", run: command_list, ..Spec::NONE },
    Spec { name: "getkeys", arity: -4, group: "server", syntax: "<command> [<arg> ...]", summary: "Extracts the key names from an arbitrary command.", run: command_getkeys, ..Spec::NONE },
    Spec { name: "getkeysandflags", arity: -4, group: "server", syntax: "<command> [<arg> ...]", summary: "Extracts the key names and access flags for an arbitrary command.", run: command_getkeysandflags, ..Spec::NONE },
];

/// One COMMAND INFO entry (the ten fields of Redis 7; a subcommand is named
/// `container|name`).
fn command_info(out: &mut Out, s: &Spec, name: &str) {
    out.array(10);
    out.bulk(name.as_bytes());
    out.int(i64::from(s.arity));
    let mut flags: Vec<&str> =
        FLAG_NAMES.iter().filter(|(f, _)| s.flags & f != 0).map(|(_, n)| *n).collect();
    // A key count in the arguments (EVAL): Redis says "movablekeys" and 0 0 0.
    let keys = if s.keys.1 == NUMKEYS {
        flags.push("movablekeys");
        (0, 0, 0)
    } else if s.keys.1 == DEST_NUMKEYS || s.keys.1 == STORE_KEY {
        flags.push("movablekeys");
        (s.keys.0, s.keys.0, 1)
    } else {
        s.keys
    };
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(i64::from(keys.0));
    out.int(i64::from(keys.1));
    out.int(i64::from(keys.2));
    out.set(0);
    out.set(0);
    out.array(0);
    out.array(s.subs.len());
    for sub in s.subs {
        command_info(out, sub, &format!("{}|{}", s.name, sub.name));
    }
}

/// One COMMAND DOCS entry.
fn command_docs(out: &mut Out, s: &Spec) {
    out.bulk(s.name.as_bytes());
    out.map(3);
    out.bulk(b"summary");
    out.bulk(s.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(b"1.0.0");
    out.bulk(b"group");
    out.bulk(s.group.as_bytes());
}

/// The specs named by the arguments (`None` for an unknown name).
fn named(table: &'static Table, args: &mut Args<'_>) -> Vec<Option<&'static Spec>> {
    args.rest().iter().map(|n| table.lookup(n)).collect()
}

/// COMMAND alone: every command's COMMAND INFO entry.
fn command_all(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.array(cx.table.count());
    for s in cx.table.all() {
        command_info(cx.out, s, s.name);
    }
    Ok(())
}

fn command_count(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.table.count() as i64);
    Ok(())
}

fn command_info_of(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if args.left() == 0 {
        return command_all(cx, args);
    }
    let specs = named(cx.table, args);
    cx.out.array(specs.len());
    for s in specs {
        match s {
            Some(s) => command_info(cx.out, s, s.name),
            None => cx.out.null_array(),
        }
    }
    Ok(())
}

fn command_docs_of(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let specs: Vec<&Spec> = if args.left() == 0 {
        cx.table.all().collect()
    } else {
        named(cx.table, args).into_iter().flatten().collect()
    };
    cx.out.map(specs.len());
    for s in specs {
        command_docs(cx.out, s);
    }
    Ok(())
}

/// Which commands (spec and full name) COMMAND LIST names.
type Keep = Box<dyn Fn(&Spec, &str) -> bool>;

fn command_list(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let keep: Keep = match args.rest() {
        [] => Box::new(|_, _| true),
        [f, by, v] if is(f, "filterby") && is(by, "module") => {
            let _ = v;
            Box::new(|_, _| false)
        }
        [f, by, cat] if is(f, "filterby") && is(by, "aclcat") => {
            let cat = String::from_utf8_lossy(cat).to_lowercase();
            Box::new(move |s: &Spec, _: &str| acl_categories(s).contains(&cat.as_str()))
        }
        [f, by, pat] if is(f, "filterby") && is(by, "pattern") => {
            let pat = glob::Pattern::new(&pat.to_ascii_lowercase());
            Box::new(move |_: &Spec, name: &str| pat.matches(name.as_bytes()))
        }
        _ => return Err(Failure::syntax()),
    };
    let mut names = Vec::new();
    for s in cx.table.all() {
        if keep(s, s.name) {
            names.push(s.name.to_owned());
        }
        for sub in s.subs {
            let name = format!("{}|{}", s.name, sub.name);
            if keep(sub, &name) {
                names.push(name);
            }
        }
        // Every container answers HELP.
        let help = format!("{}|help", s.name);
        if !s.subs.is_empty() && keep(s, &help) {
            names.push(help);
        }
    }
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// The ACL categories a command belongs to: its group, and read/write/fast/slow/admin/
/// dangerous/keyspace as its flags say.
fn acl_categories(s: &Spec) -> Vec<&'static str> {
    let mut cats = vec![s.group];
    cats.push(if s.flags & F_WRITE != 0 { "write" } else { "read" });
    cats.push(if s.flags & F_FAST != 0 { "fast" } else { "slow" });
    if s.flags & F_ADMIN != 0 {
        cats.extend(["admin", "dangerous"]);
    }
    if s.keys != (0, 0, 0) {
        cats.push("keyspace");
    }
    cats
}

fn command_getkeys(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (_, keys) = keys_of(cx, args)?;
    cx.out.array(keys.len());
    for (k, _) in keys {
        cx.out.bulk(k);
    }
    Ok(())
}

fn command_getkeysandflags(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (_, keys) = keys_of(cx, args)?;
    cx.out.array(keys.len());
    for (k, flags) in keys {
        cx.out.array(2);
        cx.out.bulk(k);
        cx.out.set(flags.len());
        for f in flags {
            cx.out.simple(f);
        }
    }
    Ok(())
}

/// The keys of the command in the arguments, each with its key-spec flags as Redis gives
/// them; an error for an unknown command or one that takes no keys.
type KeysAndFlags<'a> = (&'static Spec, Vec<(&'a [u8], &'static [&'static str])>);

fn keys_of<'a>(cx: &Cx<'_>, args: &mut Args<'a>) -> Result<KeysAndFlags<'a>, Failure> {
    let rest = args.rest();
    let (spec, _) =
        cx.table.resolve(rest).map_err(|_| Failure::err("Invalid command specified"))?;
    if spec.keys == (0, 0, 0) {
        return Err(Failure::err("The command has no key arguments"));
    }
    let keys = spec.keys_of(rest);
    let tagged = keys.iter().enumerate().map(|(i, k)| (*k, key_flags(spec, i, rest))).collect();
    Ok((spec, tagged))
}

/// The flags of the `i`-th key of a command, as Redis's key specs give them.
fn key_flags(spec: &Spec, i: usize, argv: &[&[u8]]) -> &'static [&'static str] {
    const OW: &[&str] = &["OW", "update"];
    const RO: &[&str] = &["RO", "access"];
    const RW: &[&str] = &["RW", "access", "update"];
    const RM: &[&str] = &["RM", "delete"];
    const MOVE_FROM: &[&str] = &["RW", "access", "delete"];
    let with_get = argv.iter().skip(3).any(|a| is(a, "get"));
    match (spec.name, i) {
        ("set", _) if with_get => RW,
        ("set" | "mset" | "msetnx" | "setex" | "psetex" | "restore" | "restore-asking", _) => OW,
        ("setnx", _) => &["OW", "insert"],
        ("append", _) => &["RW", "insert"],
        ("setrange" | "expire" | "pexpire" | "expireat" | "pexpireat" | "persist", _) => {
            &["RW", "update"]
        }
        ("del" | "unlink", _) => RM,
        ("getdel", _) => MOVE_FROM,
        ("rename" | "renamenx" | "move", 0) => MOVE_FROM,
        ("rename" | "renamenx", _) => OW,
        ("copy", 0) => RO,
        ("copy", _) => OW,
        ("bitop", 0) => OW,
        ("bitop", _) => RO,
        ("exists" | "type" | "ttl" | "pttl" | "expiretime" | "pexpiretime" | "touch", _) => &["RO"],
        ("object" | "usage" | "dump" | "strlen", _) => &["RO"],
        _ if spec.flags & F_WRITE != 0 => RW,
        _ => RO,
    }
}
