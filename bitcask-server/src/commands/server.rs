//! Server commands: INFO, CONFIG, COMMAND, SAVE/BGSAVE, BGREWRITEAOF, LASTSAVE, TIME,
//! SHUTDOWN, and the extensions BITCASK.STATS and BITCASK.MERGE.

use std::sync::atomic::Ordering::*;

use super::{is, wrong_args, Cx, Spec, FLAG_NAMES, TABLE};
use crate::glob;
use crate::reply::Out;
use crate::shared::Shared;

pub fn info(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let sections: Vec<String> = argv
        .get(1..)
        .unwrap_or_default()
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_lowercase())
        .collect();
    let text = crate::info::render(cx.srv, &sections, cx.sess);
    cx.out.verbatim(&text);
}

/// The values CONFIG GET reports.
fn config_pairs(srv: &Shared) -> Vec<(&'static str, String)> {
    let c = &srv.cfg;
    vec![
        ("save", String::new()),
        ("appendonly", "yes".into()),
        ("appendfsync", c.appendfsync().into()),
        ("maxclients", c.maxclients.to_string()),
        ("databases", "1".into()),
        ("port", srv.port.load(Relaxed).to_string()),
        ("bind", c.bind.to_string()),
        ("protected-mode", "yes".into()),
        ("timeout", c.timeout.to_string()),
        ("proto-max-bulk-len", c.max_bulk_len.to_string()),
        ("client-query-buffer-limit", c.max_query_buffer.to_string()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "noeviction".into()),
        ("dir", c.dir.display().to_string()),
        ("requirepass", c.requirepass.clone().unwrap_or_default()),
        ("bitcask-sync", c.sync_text()),
        ("bitcask-shards", srv.ks.db.shard_count().to_string()),
    ]
}

pub fn config(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let sub = argv.get(1).copied().unwrap_or_default();
    if is(sub, "get") {
        let patterns = argv.get(2..).unwrap_or_default();
        if patterns.is_empty() {
            return wrong_args(cx.out, "config|get");
        }
        let pairs: Vec<_> = config_pairs(cx.srv)
            .into_iter()
            .filter(|(k, _)| {
                patterns.iter().any(|p| glob::matches(&p.to_ascii_lowercase(), k.as_bytes()))
            })
            .collect();
        cx.out.map(pairs.len());
        for (k, v) in pairs {
            cx.out.bulk(k.as_bytes());
            cx.out.bulk(v.as_bytes());
        }
    } else if is(sub, "set") {
        let name = argv.get(2).map_or(String::new(), |n| String::from_utf8_lossy(n).into_owned());
        cx.out.err(&format!("Unknown option or number of arguments for CONFIG SET - '{name}'"));
    } else if is(sub, "resetstat") {
        cx.out.ok();
    } else if is(sub, "rewrite") {
        cx.out.err("The server is running without a config file");
    } else {
        cx.out.err(&format!(
            "unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// One COMMAND INFO entry (the ten fields of Redis 7).
fn command_info(out: &mut Out, s: &Spec) {
    out.array(10);
    out.bulk(s.name.as_bytes());
    out.int(i64::from(s.arity));
    let flags: Vec<&str> =
        FLAG_NAMES.iter().filter(|(f, _)| s.flags & f != 0).map(|(_, n)| *n).collect();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(i64::from(s.keys.0));
    out.int(i64::from(s.keys.1));
    out.int(i64::from(s.keys.2));
    out.set(0);
    out.set(0);
    out.array(0);
    out.array(0);
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

fn named<'b>(argv: &[&'b [u8]]) -> Vec<(&'b [u8], Option<&'static Spec>)> {
    argv.get(2..).unwrap_or_default().iter().map(|n| (*n, super::lookup(n))).collect()
}

pub fn command(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let Some(sub) = argv.get(1) else {
        cx.out.array(TABLE.len());
        for s in TABLE {
            command_info(cx.out, s);
        }
        return;
    };
    if is(sub, "count") {
        cx.out.int(TABLE.len() as i64);
    } else if is(sub, "info") {
        let specs: Vec<Option<&Spec>> = if argv.len() == 2 {
            TABLE.iter().map(Some).collect()
        } else {
            named(argv).into_iter().map(|(_, s)| s).collect()
        };
        cx.out.array(specs.len());
        for s in specs {
            match s {
                Some(s) => command_info(cx.out, s),
                None => cx.out.null_array(),
            }
        }
    } else if is(sub, "docs") {
        let specs: Vec<&Spec> = if argv.len() == 2 {
            TABLE.iter().collect()
        } else {
            named(argv).into_iter().filter_map(|(_, s)| s).collect()
        };
        cx.out.map(specs.len());
        for s in specs {
            command_docs(cx.out, s);
        }
    } else if is(sub, "list") {
        cx.out.array(TABLE.len());
        for s in TABLE {
            cx.out.bulk(s.name.as_bytes());
        }
    } else if is(sub, "getkeys") {
        let rest = argv.get(2..).unwrap_or_default();
        let Some(spec) = rest.first().and_then(|n| super::lookup(n)) else {
            return cx.out.err("Invalid command specified");
        };
        let keys = super::keys_of(spec, rest);
        if keys.is_empty() {
            return cx.out.err("The command has no key arguments");
        }
        cx.out.array(keys.len());
        for k in keys {
            cx.out.bulk(k);
        }
    } else {
        cx.out.err(&format!(
            "unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// Syncs every shard; SAVE and BGSAVE reply with it, and LASTSAVE moves.
fn save_now(srv: &Shared) -> Result<(), String> {
    let result = srv.ks.db.sync().map_err(|e| e.to_string());
    *srv.last_save_error.lock().unwrap_or_else(|e| e.into_inner()) = result.clone().err();
    result?;
    srv.last_save.store(crate::keyspace::now_ms() / 1000, Release);
    srv.ks.dirty.store(0, Relaxed);
    Ok(())
}

pub fn save(cx: &mut Cx<'_>, _: &[&[u8]]) {
    // The fsync runs off the network threads; the reply follows it.
    cx.sess.deferred = Some(Box::new(|srv, out| match save_now(srv) {
        Ok(()) => out.ok(),
        Err(e) => out.err(&e),
    }));
}

pub fn bgsave(cx: &mut Cx<'_>, _: &[&[u8]]) {
    let srv = cx.srv.me();
    std::thread::spawn(move || {
        let _ = save_now(&srv);
    });
    cx.out.simple("Background saving started");
}

pub fn lastsave(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.out.int(cx.srv.last_save.load(Acquire) as i64);
}

pub fn time(cx: &mut Cx<'_>, _: &[&[u8]]) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    cx.out.array(2);
    cx.out.bulk(d.as_secs().to_string().as_bytes());
    cx.out.bulk(d.subsec_micros().to_string().as_bytes());
}

pub fn shutdown(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    for opt in argv.get(1..).unwrap_or_default() {
        if is(opt, "abort") {
            return cx.out.err("No shutdown in progress.");
        }
        if !["nosave", "save", "now", "force"].iter().any(|w| is(opt, w)) {
            return cx.out.err("syntax error");
        }
    }
    // As Redis: no reply; the connection closes when the store has been closed.
    cx.sess.quit = true;
    cx.srv.request_shutdown();
}

/// Runs a merge of every shard on a blocking thread; `done` writes the reply.
fn merge_in_background(srv: &Shared) -> Option<Result<Vec<bitcask_core::MergeReport>, String>> {
    if srv.merging.swap(true, AcqRel) {
        return None;
    }
    let r = srv.ks.db.merge().map_err(|e| e.to_string());
    srv.merging.store(false, Release);
    Some(r)
}

pub fn bgrewriteaof(cx: &mut Cx<'_>, _: &[&[u8]]) {
    if cx.srv.merging.load(Acquire) {
        return cx.out.err("Background append only file rewriting already in progress");
    }
    let srv = cx.srv.me();
    std::thread::spawn(move || {
        let _ = merge_in_background(&srv);
    });
    cx.out.simple("Background append only file rewriting started");
}

pub fn bitcask_merge(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.sess.deferred = Some(Box::new(|srv, out| match merge_in_background(srv) {
        None => out.err("a merge is already running"),
        Some(Err(e)) => out.err(&e),
        Some(Ok(reports)) => {
            let inputs: usize = reports.iter().map(|r| r.files_in).sum();
            let outputs: usize = reports.iter().map(|r| r.files_out).sum();
            let reclaimed: u64 = reports.iter().map(|r| r.bytes_reclaimed).sum();
            out.map(3);
            out.bulk(b"files_merged");
            out.int(inputs as i64);
            out.bulk(b"files_written");
            out.int(outputs as i64);
            out.bulk(b"bytes_reclaimed");
            out.int(reclaimed as i64);
        }
    }));
}

pub fn bitcask_stats(cx: &mut Cx<'_>, _: &[&[u8]]) {
    let stats = cx.srv.ks.db.stats();
    let sum = |f: fn(&bitcask_core::Stats) -> u64| stats.iter().map(f).sum::<u64>();
    let rows: Vec<(&str, i64)> = vec![
        ("shards", stats.len() as i64),
        ("keys", sum(|s| s.keys) as i64),
        ("files", stats.iter().map(|s| s.files.len()).sum::<usize>() as i64),
        ("live_bytes", sum(|s| s.live_bytes) as i64),
        ("dead_bytes", sum(|s| s.dead_bytes) as i64),
        ("disk_bytes", sum(|s| s.disk_bytes) as i64),
        ("hint_bytes", sum(|s| s.hint_bytes) as i64),
        ("keydir_bytes", sum(|s| s.keydir_bytes) as i64),
    ];
    cx.out.map(rows.len() + 1);
    for (k, v) in rows {
        cx.out.bulk(k.as_bytes());
        cx.out.int(v);
    }
    cx.out.bulk(b"sync");
    cx.out.bulk(cx.srv.cfg.sync_text().as_bytes());
}
