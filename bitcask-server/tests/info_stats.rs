//! INFO: sections as Redis 7 picks them (several at once, `all`, `everything`, `default`,
//! any case), and commandstats, errorstats and total_error_replies counting calls, rejected
//! and failed calls and error replies as redis-server does — scripts included — with
//! CONFIG RESETSTAT starting them again; keyspace hits and misses as redis-server counts
//! them.

mod common;

use common::{Raw, Reference, Server};

fn info(c: &mut Raw, args: &[&str]) -> String {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    c.cmd(&cmd).text()
}

#[test]
fn sections_are_picked_as_redis_7_picks_them() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for arg in [&[][..], &["all"], &["default"], &["everything"]] {
        let text = info(&mut c, arg);
        assert!(text.contains("redis_version") && text.contains("used_cpu_user"), "{arg:?}");
        let all = !arg.is_empty() && arg[0] != "default";
        assert_eq!(text.contains("rejected_calls"), all, "{arg:?}: commandstats only in all");
    }
    let cpu = info(&mut c, &["cpu"]);
    assert!(cpu.contains("used_cpu_user") && !cpu.contains("used_memory"));
    assert!(info(&mut c, &["commandSTATS"]).contains("rejected_calls"));
    let two = info(&mut c, &["cpu", "keyspace"]);
    assert!(two.contains("# CPU") && two.contains("# Keyspace") && !two.contains("# Memory"));
    let once = info(&mut c, &["cpu", "all"]);
    assert_eq!(once.matches("used_cpu_user_children").count(), 1, "a section once");
}

/// INFO commandstats (without times), errorstats and total_error_replies, sorted.
fn counters(c: &mut Raw) -> Vec<String> {
    let mut lines: Vec<String> = info(c, &["commandstats"])
        .lines()
        .filter(|l| {
            l.starts_with("cmdstat_")
                && !l.starts_with("cmdstat_info")
                && !l.starts_with("cmdstat_config")
        })
        .map(|l| {
            let (name, fields) = l.split_once(':').unwrap();
            let kept: Vec<&str> = fields.split(',').filter(|f| !f.starts_with("usec")).collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect();
    lines.extend(
        info(c, &["errorstats"]).lines().filter(|l| l.starts_with("errorstat_")).map(String::from),
    );
    lines.extend(
        info(c, &["stats"])
            .lines()
            .filter(|l| l.starts_with("total_error_replies"))
            .map(String::from),
    );
    lines.sort();
    lines
}

#[test]
fn calls_failures_and_errors_are_counted_as_redis_server_counts_them() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let script: &[&[&str]] = &[
        &["CONFIG", "RESETSTAT"],
        &["SET", "a", "1"],
        &["SET", "s", "x"],
        &["INCR", "s"],
        &["GET", "a", "b"],
        &["NOSUCH"],
        &["CLIENT", "FOO"],
        &["MULTI"],
        &["EXEC", "x"],
        &["EVAL", "return redis.call('incr','s')", "0"],
        &["EVAL", "return redis.pcall('incr','s')", "0"],
        &["EVAL", "return redis.error_reply('MY x')", "0"],
        &["EVAL", "local t = redis.pcall('incr','s') return 1", "0"],
        &["EVAL", "return redis.call('select', 99)", "0"],
        &["EVAL_RO", "return redis.call('set','x','y')", "1", "x"],
    ];
    for cmd in script {
        let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
        assert_eq!(b, a, "{cmd:?}");
    }
    assert_eq!(counters(&mut ours), counters(&mut redis));
    // RESETSTAT starts every counter again.
    for c in [&mut ours, &mut redis] {
        c.cmd(&["CONFIG", "RESETSTAT"]);
    }
    assert_eq!(counters(&mut ours), counters(&mut redis));
    assert!(counters(&mut ours).contains(&"total_error_replies:0".to_owned()));
}

/// INFO stats' keyspace_hits and keyspace_misses after a command.
fn hits(c: &mut Raw) -> (u64, u64) {
    let text = info(c, &["stats"]);
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().parse().unwrap()
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

#[test]
fn keyspace_hits_and_misses_count_as_redis_servers() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let cmds: &[&[&str]] = &[
        &["GET", "a"],
        &["GET", "nosuch"],
        &["MGET", "a", "b", "nosuch"],
        &["EXISTS", "a", "nosuch", "a"],
        &["TYPE", "nosuch"],
        &["TTL", "a"],
        &["STRLEN", "a"],
        &["GETRANGE", "a", "0", "1"],
        &["BITCOUNT", "a"],
        &["GETEX", "a"],
        &["GETDEL", "b"],
        &["GETSET", "c", "1"],
        &["SET", "d", "1", "GET"],
        &["SET", "d", "1", "NX"],
        &["INCR", "n"],
        &["MEMORY", "USAGE", "a"],
        &["COPY", "a", "f"],
        &["RENAME", "f", "g"],
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "a"],
        &["KEYS", "*"],
        &["BITOP", "AND", "dest", "a", "nosuch"],
        &["BITFIELD", "a", "GET", "u8", "0"],
        &["BITFIELD", "nosuch", "GET", "u8", "0"],
        &["BITFIELD", "a", "SET", "u8", "0", "1"],
        &["OBJECT", "ENCODING", "nosuch"],
        &["SETNX", "nosuch2", "1"],
    ];
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        c.cmd(&["MSET", "a", "hello", "b", "x", "c", "y"]);
    }
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for cmd in cmds {
        let (o0, r0) = (hits(&mut ours), hits(&mut redis));
        ours.cmd(cmd);
        redis.cmd(cmd);
        let (o1, r1) = (hits(&mut ours), hits(&mut redis));
        let delta = |a: (u64, u64), b: (u64, u64)| (b.0 - a.0, b.1 - a.1);
        assert_eq!(delta(o0, o1), delta(r0, r1), "{cmd:?}: (hits, misses) differ");
    }
}
