//! INFO's text: the sections Redis clients and tools read (server, clients, memory,
//! persistence, stats, replication, cpu, errorstats, cluster, keyspace, commandstats) and the
//! store's own (bitcask, recovery).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::*;

use crate::session::Session;
use crate::shared::Shared;

/// Every section in INFO's order, and whether INFO with no argument (or `default`) shows
/// it; `all` shows every one, `everything` too (there are no modules).
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
    ("commandstats", false),
    ("bitcask", true),
    ("recovery", true),
];

/// The INFO text of the `sections` asked for (lower case; none: the default ones). Several
/// may be named at once, with `all`, `everything` and `default` among them, as Redis 7.
pub fn render(srv: &Shared, sections: &[String], _sess: &Session) -> String {
    let asked = |w: &str| sections.iter().any(|s| s == w);
    let all = asked("all") || asked("everything");
    let default = sections.is_empty() || asked("default");
    let mut out = String::new();
    for &(name, in_default) in SECTIONS {
        if all || (default && in_default) || asked(name) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            section(srv, name, &mut out);
        }
    }
    out
}

/// The CPU time of this process so far, user and system, in seconds (from /proc).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |i: usize| rest.split_whitespace().nth(i).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock
    // ticks are 100 a second on Linux.
    (field(11).unwrap_or(0.0) / 100.0, field(12).unwrap_or(0.0) / 100.0)
}

fn section(srv: &Shared, name: &str, o: &mut String) {
    match name {
        "server" => server(srv, o),
        "clients" | "stats" => counters(srv, name, o),
        "memory" => {
            let keydir: u64 = srv.ks.stats().iter().map(|s| s.keydir_bytes).sum();
            let mib = keydir as f64 / (1 << 20) as f64;
            let scripts = srv.scripts.cached();
            let _ = write!(o, "# Memory\r\nused_memory:{keydir}\r\nused_memory_human:{mib:.2}M\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\nmem_allocator:libc\r\nnumber_of_cached_scripts:{scripts}\r\n");
        }
        "persistence" => persistence(srv, o),
        "replication" => o.push_str(
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
        ),
        "cpu" => {
            let (user, sys) = cpu_seconds();
            let _ = write!(o, "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n");
        }
        "modules" => o.push_str("# Modules\r\n"),
        "errorstats" => srv.cmdstats.errorstats(o),
        "commandstats" => srv.cmdstats.commandstats(o),
        "cluster" => {
            let _ =
                write!(o, "# Cluster\r\ncluster_enabled:{}\r\n", u8::from(srv.cluster.is_some()));
        }
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for (db, keys, expires) in srv.ks.key_counts().unwrap_or_default() {
                let _ = write!(o, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        "bitcask" => bitcask(srv, o),
        "recovery" => recovery(srv, o),
        _ => {}
    }
}

/// `# Server`.
fn server(srv: &Shared, o: &mut String) {
    let uptime = srv.started.elapsed().as_secs();
    // Writing to a String cannot fail.
    let _ = write!(
        o,
        "# Server\r\nredis_version:{}\r\nbitcask_version:{}\r\nredis_mode:{}\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:bitcask-server\r\nconfig_file:\r\n",
        crate::REDIS_VERSION,
        env!("CARGO_PKG_VERSION"),
        if srv.cluster.is_some() { "cluster" } else { "standalone" },
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::process::id(),
        srv.port.load(Relaxed),
        uptime / 86_400,
    );
}

/// `# Clients` or `# Stats`: the server's counters.
fn counters(srv: &Shared, name: &str, o: &mut String) {
    let st = &srv.stats;
    let _ = if name == "clients" {
        write!(
            o,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nbitcask_output_bytes_pending:{}\r\nbitcask_output_limit_disconnections:{}\r\n",
            st.connected_clients.load(Relaxed),
            srv.rt.maxclients(),
            srv.clients.paused_now.load(Relaxed),
            srv.tracker.counts().3,
            st.output_bytes.load(Relaxed),
            st.output_limit_closed.load(Relaxed),
        )
    } else {
        let tracking = srv.tracker.counts();
        write!(
            o,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\nacl_access_denied_auth:{}\r\ntotal_error_replies:{}\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\n",
            st.connections_received.load(Relaxed),
            st.commands_processed.load(Relaxed),
            st.net_input_bytes.load(Relaxed),
            st.net_output_bytes.load(Relaxed),
            st.rejected_connections.load(Relaxed),
            st.expired_keys.load(Relaxed),
            st.keyspace_hits.load(Relaxed),
            st.keyspace_misses.load(Relaxed),
            srv.pubsub.channel_count(),
            srv.pubsub.patterns(),
            st.auth_failures.load(Relaxed),
            srv.cmdstats.total_errors.load(Relaxed),
            tracking.0,
            tracking.1,
            tracking.2,
        )
    };
}

/// `# Bitcask`: the store's files and bytes, all shards together.
fn bitcask(srv: &Shared, o: &mut String) {
    let stats = srv.ks.stats();
    let _ = write!(
        o,
        "# Bitcask\r\nshards:{}\r\ndatafiles:{}\r\nlive_bytes:{}\r\ndead_bytes:{}\r\ndisk_bytes:{}\r\n",
        stats.len(),
        stats.iter().map(|s| s.files.len()).sum::<usize>(),
        stats.iter().map(|s| s.live_bytes).sum::<u64>(),
        stats.iter().map(|s| s.dead_bytes).sum::<u64>(),
        stats.iter().map(|s| s.disk_bytes + s.hint_bytes).sum::<u64>(),
    );
}

/// `# Persistence`: the real state of writes (refused after a failed write or fsync, with
/// the error) and of the last SAVE/BGSAVE.
fn persistence(srv: &Shared, o: &mut String) {
    let write_error = srv.ks.write_error();
    let save_error = srv.last_save_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let status = |e: &Option<String>| if e.is_some() { "err" } else { "ok" };
    let clean = |e: Option<String>| e.unwrap_or_default().replace(['\r', '\n'], " ");
    let _ = write!(
        o,
        "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\naof_enabled:1\r\naof_rewrite_in_progress:{}\r\naof_last_write_status:{}\r\nbitcask_sync:{}\r\nbitcask_writes_refused:{}\r\nbitcask_write_error:{}\r\nbitcask_last_save_error:{}\r\n",
        srv.ks.dirty.load(Relaxed),
        srv.last_save.load(Relaxed),
        status(&save_error),
        u8::from(srv.merging.load(Relaxed)),
        status(&write_error),
        srv.cfg.sync_text(),
        u8::from(write_error.is_some()),
        clean(write_error),
        clean(save_error),
    );
}

/// `# Recovery`: what opening the store found, summed over shards, then one line per
/// damaged region (cut or skipped, and where its bytes were set aside).
fn recovery(srv: &Shared, o: &mut String) {
    let reports = srv.ks.recovery_reports();
    let sum = |f: &dyn Fn(&bitcask_core::RecoveryReport) -> u64| {
        reports.iter().map(|r| f(r)).sum::<u64>()
    };
    let regions = sum(&|r| r.damaged().count() as u64);
    let _ = write!(
        o,
        "# Recovery\r\nrecovery_clean:{}\r\nrecovery_mode:{}\r\nrecovery_damaged_regions:{regions}\r\nrecovery_bytes_truncated:{}\r\nrecovery_bytes_skipped:{}\r\nrecovery_hints_ignored:{}\r\nrecovery_merges_completed:{}\r\n",
        u8::from(reports.iter().all(|r| r.is_clean())),
        if srv.cfg.recovery == bitcask_core::RecoveryMode::Strict { "strict" } else { "skip" },
        sum(&|r| r.bytes_truncated),
        sum(&|r| r.skipped.iter().map(|s| s.len).sum()),
        sum(&|r| r.hints_rejected as u64),
        sum(&|r| u64::from(r.merge_completed)),
    );
    let mut n = 0;
    for (i, r) in reports.iter().enumerate() {
        for (what, d) in
            r.truncated.iter().map(|d| ("cut", d)).chain(r.skipped.iter().map(|d| ("skipped", d)))
        {
            let kept = d.quarantine.as_ref().map_or(String::new(), |q| q.display().to_string());
            let _ = write!(
                o,
                "recovery_region{n}:shard={i},file={}.data,offset={},len={},action={what},quarantine={kept}\r\n",
                d.file, d.offset, d.len
            );
            n += 1;
        }
    }
}
