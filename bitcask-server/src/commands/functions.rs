//! Redis 7 functions: FCALL, FCALL_RO and FUNCTION (LOAD, DELETE, FLUSH, LIST, STATS, KILL,
//! DUMP, RESTORE). A function runs exactly as a script does (scripting.rs); the libraries
//! are kept in the store (as a FUNCTION DUMP payload), so they outlive a restart.

use super::args::{Args, Failure, Res};
use super::scripting::{keys_and_args, run_script};
use super::spec::{
    Cx, Spec, F_ATOMIC, F_LOCKREAD, F_NOSCRIPT, F_READONLY, F_SCRIPT, F_WRITE, NUMKEYS,
};
use crate::glob;
use crate::lua::{self, Script};
use crate::rdb;
use crate::shared::Shared;

/// The function commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "fcall", arity: -3, flags: F_WRITE | F_NOSCRIPT | F_ATOMIC | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Invokes a function.", run: fcall, ..Spec::NONE },
    Spec { name: "fcall_ro", arity: -3, flags: F_READONLY | F_LOCKREAD | F_NOSCRIPT | F_SCRIPT, keys: (3, NUMKEYS, 1), group: "scripting", summary: "Invokes a read-only function.", run: fcall_ro, ..Spec::NONE },
    Spec { name: "function", arity: -2, flags: F_NOSCRIPT, group: "scripting", summary: "A container for function commands.", subs: FUNCTION, ..Spec::NONE },
];

/// FUNCTION's subcommands.
#[rustfmt::skip]
static FUNCTION: &[Spec] = &[
    Spec { name: "load", arity: -3, flags: F_NOSCRIPT, group: "scripting", syntax: "[REPLACE] <function-code>", summary: "Creates a library.", run: load, ..Spec::NONE },
    Spec { name: "delete", arity: 3, flags: F_NOSCRIPT, group: "scripting", syntax: "<library-name>", summary: "Deletes a library and its functions.", run: delete, ..Spec::NONE },
    Spec { name: "flush", arity: -2, flags: F_NOSCRIPT, group: "scripting", syntax: "[ASYNC|SYNC]", summary: "Deletes all libraries and functions.", run: flush, ..Spec::NONE },
    Spec { name: "list", arity: -2, flags: F_NOSCRIPT, group: "scripting", syntax: "[LIBRARYNAME <pattern>] [WITHCODE]", summary: "Returns information about all libraries.", run: list, ..Spec::NONE },
    Spec { name: "stats", arity: 2, flags: F_NOSCRIPT, group: "scripting", summary: "Returns information about a function during execution.", run: stats, ..Spec::NONE },
    Spec { name: "kill", arity: 2, flags: F_NOSCRIPT, group: "scripting", summary: "Terminates a function during execution.", run: function_kill, ..Spec::NONE },
    Spec { name: "dump", arity: 2, flags: F_NOSCRIPT, group: "scripting", summary: "Dumps all libraries into a serialized binary payload.", run: dump, ..Spec::NONE },
    Spec { name: "restore", arity: -3, flags: F_NOSCRIPT, group: "scripting", syntax: "<serialized-value> [FLUSH|APPEND|REPLACE]", summary: "Restores all libraries from a payload.", run: restore, ..Spec::NONE },
];

fn fcall_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, ro: bool) -> Res {
    let name = String::from_utf8_lossy(args.key()).into_owned();
    // The function first (its name in any case), then its arguments, as Redis checks them.
    let Some((_, meta)) = cx.srv.scripts.functions.find(&name) else {
        return Err(Failure::err("Function not found"));
    };
    let name = meta.name.clone();
    let (keys, argv) = keys_and_args(args, "Bad number of keys provided")?;
    if ro && !meta.no_writes() {
        return Err(Failure::err("Can not execute a script with write flag using *_ro command."));
    }
    let script = Script { sha: &name, function: true, body: None, keys, args: argv };
    run_script(cx, &script, ro || meta.no_writes(), args.argv())
}

fn fcall(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    fcall_generic(cx, args, false)
}

fn fcall_ro(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    fcall_generic(cx, args, true)
}

/// Records the libraries in the store, so they outlive a restart.
fn persist(srv: &Shared) -> Result<(), Failure> {
    let libs = srv.scripts.functions.all();
    let payload = rdb::dump_functions(libs.iter().map(|l| &*l.code));
    Ok(srv.ks.save_functions(&payload)?)
}

/// Loads the libraries the store holds (at start); a library that no longer loads is
/// logged and left out.
pub fn restore_from_store(srv: &Shared) {
    let Ok(Some(payload)) = srv.ks.load_functions() else { return };
    let Ok(codes) = rdb::restore_functions(&payload) else {
        eprintln!("bitcask-server: the stored function libraries are damaged; none loaded");
        return;
    };
    for code in codes {
        if let Err(e) = lua::load_library(&srv.scripts, &code, true) {
            eprintln!("bitcask-server: a stored function library does not load: {e}");
        }
    }
}

fn load(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mut replace = false;
    while args.left() > 1 {
        let opt = args.key();
        if !super::args::is(opt, "replace") {
            let opt = String::from_utf8_lossy(opt);
            return Err(Failure::err(format!("Unknown option given: {opt}")));
        }
        replace = true;
    }
    let code = args.key();
    let name = lua::load_library(&cx.srv.scripts, code, replace).map_err(Failure::coded)?;
    persist(cx.srv)?;
    cx.out.bulk(name.as_bytes());
    Ok(())
}

fn delete(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let name = String::from_utf8_lossy(args.key()).into_owned();
    if !cx.srv.scripts.functions.delete(&name) {
        return Err(Failure::err("Library not found"));
    }
    persist(cx.srv)?;
    cx.out.ok();
    Ok(())
}

/// Redis's error for a FUNCTION subcommand given too many arguments (its name as given).
fn sub_syntax(args: &Args<'_>) -> Failure {
    let name = args.argv().get(1).map(|n| String::from_utf8_lossy(n)).unwrap_or_default();
    Failure::err(format!(
        "unknown subcommand or wrong number of arguments for '{name}'. Try FUNCTION HELP."
    ))
}

fn flush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if args.left() > 1 {
        return Err(sub_syntax(args));
    }
    if args.left() > 0 && !(args.eat("async") || args.eat("sync")) {
        return Err(Failure::err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    cx.srv.scripts.functions.flush();
    persist(cx.srv)?;
    cx.out.ok();
    Ok(())
}

fn list(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (mut pattern, mut with_code) = (None, false);
    while let Some(a) = args.next() {
        if super::args::is(a, "withcode") && !with_code {
            with_code = true;
        } else if super::args::is(a, "libraryname") && pattern.is_none() {
            let p = args.next().ok_or(Failure::err("library name argument was not given"))?;
            pattern = Some(glob::Pattern::new(p));
        } else {
            return Err(Failure::err(format!("Unknown argument {}", String::from_utf8_lossy(a))));
        }
    }
    let libs: Vec<_> = cx.srv.scripts.functions.all();
    let libs: Vec<_> = libs
        .iter()
        .filter(|l| pattern.as_ref().is_none_or(|p| p.matches(l.name.as_bytes())))
        .collect();
    let out = &mut *cx.out;
    out.array(libs.len());
    for l in libs {
        out.map(3 + usize::from(with_code));
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            out.opt_bulk(f.description.as_deref().map(str::as_bytes));
            out.bulk(b"flags");
            out.set(f.flags.len());
            for flag in &f.flags {
                out.simple(flag);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

fn stats(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let libs = cx.srv.scripts.functions.all();
    let functions: usize = libs.iter().map(|l| l.functions.len()).sum();
    let out = &mut *cx.out;
    out.map(2);
    out.bulk(b"running_script");
    match cx.srv.scripts.running_function() {
        None => out.null(),
        Some((name, command, took)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for a in &command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(took.as_millis() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs.len() as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
    Ok(())
}

fn function_kill(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    super::scripting::kill(cx, true)
}

fn dump(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let libs = cx.srv.scripts.functions.all();
    cx.out.bulk(&rdb::dump_functions(libs.iter().map(|l| &*l.code)));
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: APPEND (the default) refuses a library
/// that exists, REPLACE replaces it, FLUSH drops every library first. All or nothing.
fn restore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let payload = args.key();
    if args.left() > 1 {
        return Err(sub_syntax(args));
    }
    let policy = match args.next() {
        None => "append",
        Some(p) if super::args::is(p, "append") => "append",
        Some(p) if super::args::is(p, "replace") => "replace",
        Some(p) if super::args::is(p, "flush") => "flush",
        Some(_) => {
            return Err(Failure::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    args.done()?;
    let codes = rdb::restore_functions(payload)
        .map_err(|_| Failure::err("DUMP payload version or checksum are wrong"))?;
    let funcs = &cx.srv.scripts.functions;
    let before: Vec<_> = funcs.all();
    if policy == "append" {
        // A clash refuses the whole payload before anything loads (worded as Redis words
        // it on RESTORE: no quotes).
        let names = codes.iter().filter_map(|c| lua::library_name(c).ok());
        if let Some(name) = names.into_iter().find(|n| before.iter().any(|l| l.name == *n)) {
            return Err(Failure::err(format!("Library {name} already exists")));
        }
    }
    if policy == "flush" {
        funcs.flush();
    }
    for code in &codes {
        if let Err(e) = lua::load_library(&cx.srv.scripts, code, policy != "append") {
            // Put back what there was.
            funcs.flush();
            for l in &before {
                let _ = lua::load_library(&cx.srv.scripts, &l.code, true);
            }
            return Err(Failure::coded(e));
        }
    }
    persist(cx.srv)?;
    cx.out.ok();
    Ok(())
}
