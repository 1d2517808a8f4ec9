//! OBJECT, MEMORY and COMMAND as tools use them, answering as redis-server 7.0.15 does side
//! by side (where the store differs, as the docs say: no access times, values on disk).

mod common;

use common::{Raw, Reference, Reply, Server};

fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&str]) {
    let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
    assert_eq!(b, a, "{cmd:?}");
}

#[test]
fn object_answers_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let long = "x".repeat(45);
    for value in ["123", "-5", "12345", "007", "-0", "hello", "9223372036854775808", &long] {
        same(&mut ours, &mut redis, &["SET", "k", value]);
        same(&mut ours, &mut redis, &["OBJECT", "ENCODING", "k"]);
        same(&mut ours, &mut redis, &["OBJECT", "REFCOUNT", "k"]);
    }
    for cmd in [
        &["OBJECT", "ENCODING", "missing"][..],
        &["OBJECT", "REFCOUNT", "missing"],
        &["OBJECT", "FREQ", "k"],
        &["OBJECT", "FREQ", "missing"],
        &["OBJECT", "IDLETIME", "missing"],
        &["OBJECT", "NOPE", "k"],
        &["OBJECT", "ENCODING"],
        &["MEMORY", "USAGE", "missing"],
        &["MEMORY", "PURGE"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
    // Access times are not kept: said, not made up.
    assert!(ours.cmd(&["OBJECT", "IDLETIME", "k"]).error_text().contains("not tracked"));
    let stats = ours.cmd(&["MEMORY", "STATS"]);
    let Reply::Array(fields) = stats else { panic!("{stats:?}") };
    let at = fields.iter().position(|f| *f == Reply::bulk("keys.count")).unwrap();
    assert_eq!(fields[at + 1], Reply::Int(1));
}

#[test]
fn command_getkeys_getkeysandflags_and_list_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for cmd in [
        &["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1"][..],
        &["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1", "GET"],
        &["COMMAND", "GETKEYSANDFLAGS", "mset", "k1", "v1", "k2", "v2"],
        &["COMMAND", "GETKEYSANDFLAGS", "get", "k"],
        &["COMMAND", "GETKEYSANDFLAGS", "del", "a", "b"],
        &["COMMAND", "GETKEYSANDFLAGS", "getdel", "a"],
        &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"],
        &["COMMAND", "GETKEYSANDFLAGS", "copy", "a", "b"],
        &["COMMAND", "GETKEYSANDFLAGS", "append", "a", "x"],
        &["COMMAND", "GETKEYSANDFLAGS", "setnx", "a", "x"],
        &["COMMAND", "GETKEYSANDFLAGS", "exists", "a"],
        &["COMMAND", "GETKEYSANDFLAGS", "ping"],
        &["COMMAND", "GETKEYSANDFLAGS", "nosuch"],
        &["COMMAND", "GETKEYS", "eval", "return 1", "0"],
        &["COMMAND", "GETKEYS", "eval", "return 1", "2", "a", "b", "c"],
        &["COMMAND", "GETKEYS", "lcs", "a", "b"],
        &["COMMAND", "GETKEYS", "memory", "usage", "k"],
        &["COMMAND", "GETKEYS", "ping"],
        &["COMMAND", "LIST", "bad_arg"],
        &["COMMAND", "LIST", "FILTERBY", "bad_arg"],
        &["COMMAND", "LIST", "FILTERBY", "bad", "arg"],
        &["COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "set"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
    let list = |c: &mut Raw, args: &[&str]| -> Vec<Reply> {
        let mut all = vec!["COMMAND", "LIST"];
        all.extend(args);
        c.cmd(&all).items()
    };
    let ours_all = list(&mut ours, &[]);
    for name in ["get", "client|list", "config|get", "client|help"] {
        assert!(ours_all.contains(&Reply::bulk(name)), "{name}");
    }
    let scripting = list(&mut ours, &["FILTERBY", "ACLCAT", "scripting"]);
    assert!(
        scripting.contains(&Reply::bulk("script|kill")) && !scripting.contains(&Reply::bulk("set"))
    );
    let configs = list(&mut ours, &["FILTERBY", "PATTERN", "config|*re*"]);
    assert!(configs.contains(&Reply::bulk("config|resetstat")), "{configs:?}");
}

#[test]
fn the_latency_monitor_records_slow_commands_once_it_is_on() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let slow = ["EVAL", "local i = 0 while i < 3000000 do i = i + 1 end return i", "0"];
    // Off by default: nothing is recorded.
    ours.cmd(&slow);
    for cmd in [
        &["LATENCY", "LATEST"][..],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "RESET", "blabla"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "HELP", "x"],
        &["CONFIG", "SET", "latency-monitor-threshold", "x"],
        &["CONFIG", "SET", "latency-monitor-threshold", "1"],
        &["CONFIG", "GET", "latency-monitor-threshold"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
    ours.cmd(&slow);
    ours.cmd(&["GET", "fast"]);
    let latest = ours.cmd(&["LATENCY", "LATEST"]).items();
    assert_eq!(latest.len(), 1, "{latest:?}");
    let event = latest[0].items();
    assert_eq!(event[0], Reply::bulk("command"));
    let (Reply::Int(latest_ms), Reply::Int(max)) = (&event[2], &event[3]) else { panic!() };
    assert!(*latest_ms >= 1 && max >= latest_ms, "{event:?}");
    assert_eq!(ours.cmd(&["LATENCY", "HISTORY", "command"]).items().len(), 1);
    assert!(ours.cmd(&["LATENCY", "GRAPH", "command"]).text().contains('#'));
    assert!(ours.cmd(&["LATENCY", "DOCTOR"]).text().contains("command"));
    assert_eq!(ours.cmd(&["LATENCY", "RESET"]), Reply::Int(1));
    assert_eq!(ours.cmd(&["LATENCY", "LATEST"]), Reply::Array(vec![]));
}
