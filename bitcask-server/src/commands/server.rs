//! Server commands: INFO, CONFIG, MONITOR, SLOWLOG, SAVE/BGSAVE, BGREWRITEAOF, LASTSAVE, TIME,
//! SHUTDOWN, and the extensions BITCASK.STATS and BITCASK.MERGE.

use std::sync::atomic::Ordering::*;

use super::args::{shown, Args, Failure, Res};
use super::spec::{Cx, Spec, F_ADMIN, F_FAST, F_NOMULTI, F_NOSCRIPT, F_READONLY};
use crate::glob;

/// The server commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "info", arity: -1, group: "server", summary: "Returns information and statistics about the server.", run: info, ..Spec::NONE },
    Spec { name: "config", arity: -2, flags: F_ADMIN | F_NOSCRIPT, group: "server", summary: "A container for server configuration commands.", subs: CONFIG, ..Spec::NONE },
    Spec { name: "save", arity: 1, flags: F_ADMIN | F_NOMULTI | F_NOSCRIPT, group: "server", summary: "Makes every write durable (fsync of every shard).", run: save, ..Spec::NONE },
    Spec { name: "bgsave", arity: -1, flags: F_ADMIN | F_NOSCRIPT, group: "server", summary: "Makes every write durable in the background.", run: bgsave, ..Spec::NONE },
    Spec { name: "bgrewriteaof", arity: 1, flags: F_ADMIN | F_NOSCRIPT, group: "server", summary: "Merges the datafiles in the background.", run: bgrewriteaof, ..Spec::NONE },
    Spec { name: "lastsave", arity: 1, flags: F_FAST, group: "server", summary: "Returns the Unix timestamp of the last successful sync.", run: lastsave, ..Spec::NONE },
    Spec { name: "time", arity: 1, flags: F_FAST, group: "server", summary: "Returns the server time.", run: time, ..Spec::NONE },
    Spec { name: "shutdown", arity: -1, flags: F_ADMIN | F_NOMULTI | F_NOSCRIPT, group: "server", summary: "Closes the store cleanly and stops the server.", run: shutdown, ..Spec::NONE },
    Spec { name: "bitcask.stats", arity: 1, flags: F_READONLY, group: "bitcask", summary: "Returns the store's statistics: keys, files, live and dead bytes.", run: bitcask_stats, ..Spec::NONE },
    Spec { name: "bitcask.merge", arity: 1, flags: F_ADMIN | F_NOSCRIPT, group: "bitcask", summary: "Merges every shard's datafiles now and reports what it did.", run: bitcask_merge, ..Spec::NONE },
    Spec { name: "monitor", arity: 1, flags: F_ADMIN | F_NOSCRIPT | F_NOMULTI, group: "server", summary: "Listens for all requests received by the server in real-time.", run: monitor, ..Spec::NONE },
    Spec { name: "slowlog", arity: -2, flags: F_ADMIN, group: "server", summary: "A container for slow log commands.", subs: SLOWLOG, ..Spec::NONE },
];

/// CONFIG's subcommands.
#[rustfmt::skip]
static CONFIG: &[Spec] = &[
    Spec { name: "get", arity: -3, flags: F_ADMIN, group: "server", syntax: "<pattern> [<pattern> ...]", summary: "Returns the effective values of configuration parameters.", run: config_get, ..Spec::NONE },
    Spec { name: "set", arity: -4, flags: F_ADMIN, group: "server", syntax: "<directive> <value> [<directive> <value> ...]", summary: "Sets configuration parameters in-flight.", run: config_set, ..Spec::NONE },
    Spec { name: "resetstat", arity: 2, flags: F_ADMIN, group: "server", summary: "Resets the server's statistics.", run: config_resetstat, ..Spec::NONE },
    Spec { name: "rewrite", arity: 2, flags: F_ADMIN, group: "server", summary: "Refused: the server runs without a config file.", run: config_rewrite, ..Spec::NONE },
];

use crate::reply::Out;
use crate::shared::Shared;

fn info(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let sections: Vec<String> =
        args.rest().iter().map(|s| String::from_utf8_lossy(s).to_lowercase()).collect();
    let text = crate::info::render(cx.srv, &sections, cx.sess);
    cx.out.verbatim(&text);
    Ok(())
}

/// SLOWLOG's subcommands.
#[rustfmt::skip]
static SLOWLOG: &[Spec] = &[
    Spec { name: "get", arity: -2, flags: F_ADMIN, group: "server", syntax: "[<count>]", summary: "Returns the slow log's entries.", run: slowlog_get, ..Spec::NONE },
    Spec { name: "len", arity: 2, flags: F_ADMIN, group: "server", summary: "Returns the number of entries in the slow log.", run: slowlog_len, ..Spec::NONE },
    Spec { name: "reset", arity: 2, flags: F_ADMIN, group: "server", summary: "Clears all entries from the slow log.", run: slowlog_reset, ..Spec::NONE },
];

/// SLOWLOG GET [count]: the newest `count` entries (10 by default, -1 all), newest first,
/// each as Redis shows it: id, Unix time, microseconds, arguments, client address, name.
fn slowlog_get(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = match args.next() {
        None => 10,
        Some(c) => match crate::number::parse_i64(c) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            _ => return Err(Failure::err("count should be greater than or equal to -1")),
        },
    };
    let out = &mut *cx.out;
    cx.srv.slowlog.newest(n, |entries| {
        let entries: Vec<_> = entries.collect();
        out.array(entries.len());
        for e in entries {
            out.array(6);
            out.int(e.id as i64);
            out.int(e.time as i64);
            out.int(e.usec as i64);
            out.array(e.args.len());
            for a in &e.args {
                out.bulk(a);
            }
            out.bulk(e.client.0.as_bytes());
            out.bulk(e.client.1.as_bytes());
        }
    });
    Ok(())
}

fn slowlog_len(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.srv.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.srv.slowlog.reset();
    cx.out.ok();
    Ok(())
}

/// The values CONFIG GET reports.
fn config_pairs(srv: &Shared) -> Vec<(&'static str, String)> {
    let c = &srv.cfg;
    let mut pairs = srv.rt.pairs();
    pairs.extend([
        ("save", String::new()),
        ("appendonly", "yes".into()),
        ("appendfsync", c.appendfsync().into()),
        ("databases", srv.cfg.databases.to_string()),
        ("port", srv.port.load(Relaxed).to_string()),
        ("bind", c.bind.to_string()),
        ("protected-mode", "yes".into()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "noeviction".into()),
        ("dir", c.dir.display().to_string()),
        ("bitcask-sync", c.sync_text()),
        ("bitcask-shards", srv.ks.shard_count().to_string()),
    ]);
    pairs
}

fn config_get(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let patterns = args.rest();
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
    Ok(())
}

/// CONFIG SET name value [name value ...]: every pair checked before any is applied (as
/// Redis 7); the parameters that change at run time are in runtime.rs.
fn config_set(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    use crate::runtime::SetError;
    let pairs = args.rest();
    if !pairs.len().is_multiple_of(2) {
        return Err(Failure::arity("config|set"));
    }
    let pairs: Vec<(String, String)> = pairs
        .chunks_exact(2)
        .filter_map(|p| match p {
            [n, v] => Some((
                String::from_utf8_lossy(n).to_lowercase(),
                String::from_utf8_lossy(v).into_owned(),
            )),
            _ => None,
        })
        .collect();
    // A trial run on a copy first: nothing changes unless every pair is good.
    let trial = crate::runtime::Runtime::new(&cx.srv.cfg);
    for (name, value) in &pairs {
        match trial.set(name, value) {
            Ok(()) => {}
            Err(SetError::Unknown) => {
                return Err(Failure::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    shown(name.as_bytes())
                )));
            }
            Err(SetError::Invalid(why)) => {
                return Err(Failure::err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - {why}"
                )));
            }
        }
    }
    for (name, value) in &pairs {
        let _ = cx.srv.rt.set(name, value);
    }
    // A smaller tracking table applies at once: keys past it are invalidated.
    cx.srv.tracker.limit(&cx.srv.deliver(), cx.srv.rt.tracking_table_max_keys());
    cx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT: the counters INFO stats, commandstats and errorstats show start again
/// from zero (as Redis's).
fn config_resetstat(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let st = &cx.srv.stats;
    for c in [
        &st.connections_received,
        &st.commands_processed,
        &st.net_input_bytes,
        &st.net_output_bytes,
        &st.rejected_connections,
        &st.expired_keys,
        &st.keyspace_hits,
        &st.keyspace_misses,
        &st.auth_failures,
    ] {
        c.store(0, Relaxed);
    }
    cx.srv.cmdstats.reset();
    cx.out.ok();
    Ok(())
}

fn config_rewrite(_: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    Err(Failure::err("The server is running without a config file"))
}

/// Syncs every shard; SAVE and BGSAVE reply with it, and LASTSAVE moves.
fn save_now(srv: &Shared) -> Result<(), String> {
    let result = srv.ks.sync().map_err(|e| e.to_string());
    *srv.last_save_error.lock().unwrap_or_else(|e| e.into_inner()) = result.clone().err();
    result?;
    srv.last_save.store(crate::keyspace::now_ms() / 1000, Release);
    srv.ks.dirty.store(0, Relaxed);
    Ok(())
}

fn save(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    // The fsync runs off the network threads; the reply follows it.
    cx.sess.deferred = Some(Box::new(|srv, out| {
        match save_now(srv) {
            Ok(()) => out.ok(),
            Err(e) => out.err(&e),
        }
        false
    }));
    Ok(())
}

fn bgsave(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let srv = cx.srv.me();
    std::thread::spawn(move || {
        let _ = save_now(&srv);
    });
    cx.out.simple("Background saving started");
    Ok(())
}

fn lastsave(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.srv.last_save.load(Acquire) as i64);
    Ok(())
}

/// MONITOR: after its OK the connection only receives the feed (see monitor.rs).
fn monitor(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.sess.monitor = Some(cx.srv.monitors.subscribe());
    cx.out.ok();
    Ok(())
}

fn time(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    cx.out.array(2);
    cx.out.bulk(d.as_secs().to_string().as_bytes());
    cx.out.bulk(d.subsec_micros().to_string().as_bytes());
    Ok(())
}

fn shutdown(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    while args.left() > 0 {
        if args.eat("abort") {
            return Err(Failure::err("No shutdown in progress."));
        }
        if !["nosave", "save", "now", "force"].iter().any(|w| args.eat(w)) {
            return Err(Failure::syntax());
        }
    }
    // As Redis: no reply; the connection closes when the store has been closed. A script
    // still running is stopped; its writes were never committed.
    cx.srv.scripts.kill_all();
    cx.sess.quit = true;
    cx.srv.request_shutdown();
    Ok(())
}

/// Runs a merge of every shard (on the caller's thread: a blocking one); `None` when one
/// is running already.
fn merge_in_background(srv: &Shared) -> Option<Result<Vec<bitcask_core::MergeReport>, String>> {
    if srv.merging.swap(true, AcqRel) {
        return None;
    }
    let r = srv.ks.merge().map_err(|e| e.to_string());
    srv.merging.store(false, Release);
    Some(r)
}

fn bgrewriteaof(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    if cx.srv.merging.load(Acquire) {
        return Err(Failure::err("Background append only file rewriting already in progress"));
    }
    let srv = cx.srv.me();
    std::thread::spawn(move || {
        let _ = merge_in_background(&srv);
    });
    cx.out.simple("Background append only file rewriting started");
    Ok(())
}

fn bitcask_merge(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.sess.deferred = Some(Box::new(|srv, out| {
        merge_reply(srv, out);
        false
    }));
    Ok(())
}

/// BITCASK.MERGE's reply: what a merge of every shard did.
fn merge_reply(srv: &Shared, out: &mut Out) {
    match merge_in_background(srv) {
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
    }
}

fn bitcask_stats(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let stats = cx.srv.ks.stats();
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
    Ok(())
}
