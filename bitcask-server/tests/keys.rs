//! Keyspace commands: DEL/EXISTS counting, RENAME/COPY, expiry (past times delete, options,
//! expired keys never listed), KEYS globs, SCAN coverage, RANDOMKEY, DBSIZE, FLUSHALL.

mod common;

use std::collections::HashSet;

use common::{Reference, Reply, Server};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

#[test]
fn del_and_exists_count_as_redis_does() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MSET", "a", "1", "b", "2"]);
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "b", "zz"]), int(3), "a repeated key counts twice");
    assert_eq!(c.cmd(&["DEL", "a", "a", "zz"]), int(1));
    assert_eq!(c.cmd(&["UNLINK", "b"]), int(1));
    assert_eq!(c.cmd(&["DEL", "b"]), int(0));
    assert_eq!(c.cmd(&["TYPE", "b"]), Reply::Simple("none".into()));
    c.cmd(&["SET", "b", "x"]);
    assert_eq!(c.cmd(&["TYPE", "b"]), Reply::Simple("string".into()));
}

#[test]
fn rename_and_copy_move_values_with_their_ttl() {
    let s = Server::start(&["--shards", "8"]);
    let mut c = s.raw();
    c.cmd(&["SET", "src", "v", "EX", "100"]);
    assert_eq!(c.cmd(&["RENAME", "src", "dst"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "src"]), Reply::Nil);
    assert_eq!(c.cmd(&["GET", "dst"]), Reply::bulk("v"));
    assert!(matches!(c.cmd(&["TTL", "dst"]), Reply::Int(99..=100)), "RENAME keeps the TTL");
    assert_eq!(c.cmd(&["RENAME", "nope", "x"]).error_text(), "ERR no such key");
    c.cmd(&["SET", "other", "o"]);
    assert_eq!(c.cmd(&["RENAMENX", "dst", "other"]), int(0));
    assert_eq!(c.cmd(&["RENAMENX", "dst", "fresh"]), int(1));
    assert_eq!(c.cmd(&["COPY", "fresh", "other"]), int(0));
    assert_eq!(c.cmd(&["COPY", "fresh", "other", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["GET", "other"]), Reply::bulk("v"));
    assert_eq!(
        c.cmd(&["COPY", "fresh", "fresh"]).error_text(),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        c.cmd(&["COPY", "fresh", "x", "DB", "16"]).error_text(),
        "ERR DB index is out of range"
    );
    assert_eq!(c.cmd(&["COPY", "nope", "x"]), int(0));
}

#[test]
fn expiry_commands_follow_redis_and_a_past_time_deletes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["TTL", "nope"]), int(-2));
    assert_eq!(c.cmd(&["EXPIRE", "nope", "10"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "XX"]), int(0), "XX: no TTL yet");
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "NX"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "GT"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "300", "LT"]), int(0));
    assert!(matches!(c.cmd(&["TTL", "k"]), Reply::Int(199..=200)));
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "1", "NX", "XX"]).error_text(),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "1", "GT", "LT"]).error_text(),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(c.cmd(&["EXPIRE", "k", "1", "FOO"]).error_text(), "ERR Unsupported option FOO");
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(0));
    assert_eq!(c.cmd(&["PEXPIRE", "k", "100000"]), int(1));
    assert!(matches!(c.cmd(&["PTTL", "k"]), Reply::Int(99_000..=100_000)));
    assert_eq!(c.cmd(&["EXPIREAT", "k", "4102444800"]), int(1));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), int(4_102_444_800));
    assert_eq!(c.cmd(&["EXPIRE", "k", "-1"]), int(1), "a time in the past deletes");
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    c.cmd(&["SET", "k2", "v"]);
    assert_eq!(c.cmd(&["PEXPIREAT", "k2", "1"]), int(1));
    assert_eq!(c.cmd(&["GET", "k2"]), Reply::Nil);
    assert_eq!(
        c.cmd(&["EXPIRE", "k2", "x"]).error_text(),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn expired_keys_never_show_in_keys_scan_or_dbsize() {
    let s = Server::start(&["--shards", "2"]);
    let mut c = s.raw();
    for i in 0..50 {
        c.cmd(&["SET", &format!("live:{i}"), "v"]);
        c.cmd(&["SET", &format!("brief:{i}"), "v", "PX", "30"]);
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(100));
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(c.cmd(&["DBSIZE"]), int(50));
    assert_eq!(c.cmd(&["KEYS", "brief:*"]).items().len(), 0);
    assert_eq!(c.cmd(&["KEYS", "*"]).items().len(), 50);
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    loop {
        let r = c.cmd(&["SCAN", &cursor, "COUNT", "7"]).items();
        cursor = r[0].text();
        seen.extend(r[1].items().iter().map(Reply::text));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|k| k.starts_with("live:")));
    let info = c.cmd(&["INFO", "keyspace"]).text();
    assert!(info.contains("db0:keys=50,expires=0,avg_ttl=0"), "{info}");
}

#[test]
fn keys_globs_and_scan_options() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "user:1", "user:22"] {
        c.cmd(&["SET", k, "v"]);
    }
    let keys = |c: &mut common::Raw, p: &str| {
        let mut v: Vec<String> = c.cmd(&["KEYS", p]).items().iter().map(Reply::text).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&mut c, "h?llo"), ["hallo", "hello", "hxllo"]);
    assert_eq!(keys(&mut c, "h*llo"), ["hallo", "heeeello", "hello", "hllo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[ae]llo"), ["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h[^e]llo"), ["hallo", "hxllo"]);
    assert_eq!(keys(&mut c, "user:?"), ["user:1"]);
    let r = c.cmd(&["SCAN", "0", "MATCH", "user:*", "COUNT", "1000"]).items();
    assert_eq!(r[0].text(), "0");
    assert_eq!(r[1].items().len(), 2);
    let r = c.cmd(&["SCAN", "0", "TYPE", "hash"]).items();
    assert_eq!(r[1].items().len(), 0);
    assert_eq!(c.cmd(&["SCAN", "x"]).error_text(), "ERR invalid cursor");
    assert_eq!(c.cmd(&["SCAN", "0", "COUNT", "0"]).error_text(), "ERR syntax error");
    assert_eq!(c.cmd(&["SCAN", "0", "BOGUS", "1"]).error_text(), "ERR syntax error");
}

#[test]
fn a_scan_returns_every_key_present_throughout_while_others_change() {
    let s = Server::start(&["--shards", "4"]);
    let mut c = s.raw();
    let mut w = s.raw();
    for chunk in (0..3000).collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["MSET".to_string()];
        for i in chunk {
            args.push(format!("stay:{i}"));
            args.push("v".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(c.cmd(&refs), Reply::ok());
    }
    let (mut cursor, mut seen, mut step) = ("0".to_string(), HashSet::new(), 0);
    loop {
        let r = c.cmd(&["SCAN", &cursor]).items();
        cursor = r[0].text();
        seen.extend(r[1].items().iter().map(Reply::text));
        // Meanwhile keys come and go.
        w.cmd(&["SET", &format!("churn:{step}"), "v"]);
        w.cmd(&["DEL", &format!("churn:{}", step / 2)]);
        step += 1;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..3000 {
        assert!(seen.contains(&format!("stay:{i}")), "stay:{i} missed");
    }
}

#[test]
fn randomkey_dbsize_and_flushall() {
    let s = Server::start(&["--shards", "2"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["RANDOMKEY"]), Reply::Nil);
    for i in 0..20 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    let mut picked = HashSet::new();
    for _ in 0..40 {
        let k = c.cmd(&["RANDOMKEY"]).text();
        assert!(k.starts_with('k'));
        picked.insert(k);
    }
    assert!(picked.len() > 1, "RANDOMKEY varies: {picked:?}");
    assert_eq!(c.cmd(&["DBSIZE"]), int(20));
    assert_eq!(c.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["FLUSHDB", "ASYNC"]), Reply::ok());
    assert_eq!(c.cmd(&["KEYS", "*"]), Reply::Array(vec![]));
    assert_eq!(c.cmd(&["FLUSHALL", "BAD"]).error_text(), "ERR syntax error");
}

#[test]
fn memory_usage_counts_key_and_value() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", &"v".repeat(1000)]);
    let Reply::Int(n) = c.cmd(&["MEMORY", "USAGE", "k"]) else { panic!() };
    assert!((1001..1200).contains(&n), "{n}");
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "nope"]), Reply::Nil);
    assert_eq!(
        c.cmd(&["MEMORY", "FOO"]).error_text(),
        "ERR unknown subcommand 'FOO'. Try MEMORY HELP."
    );
}

#[test]
fn randomkey_finds_every_key_of_a_keydir_left_sparse_by_deletes() {
    let s = Server::start(&["--shards", "2"]);
    s.fill(20_000, 4);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(c.cmd(&["RANDOMKEY"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "foo", "x"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "bar", "y"]), Reply::ok());
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        match c.cmd(&["RANDOMKEY"]) {
            Reply::Bulk(k) => {
                seen.insert(k);
            }
            other => panic!("RANDOMKEY with two keys: {other:?}"),
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[test]
fn expire_options_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let script: &[&[&str]] = &[
        &["SET", "k", "v"],
        // The options are checked before the time.
        &["EXPIRE", "k", "x", "NX", "XX"],
        &["EXPIRE", "k", "x", "GT", "LT"],
        &["EXPIRE", "k", "x", "FOO"],
        &["EXPIRE", "k", "x"],
        // A key without a TTL has an endless one for GT and LT; XX still wants a TTL.
        &["EXPIRE", "k", "200", "LT", "XX"],
        &["EXPIRE", "k", "200", "GT"],
        &["EXPIRE", "k", "200", "LT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "100", "XX", "LT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "300", "XX", "GT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "50", "GT"],
        &["EXPIRE", "k", "500", "LT"],
        &["EXPIRE", "k", "100", "NX"],
        &["EXPIRE", "nokey", "100"],
        &["PEXPIRE", "k", "9223372036854775807"],
        &["EXPIRE", "k", "9223372036854775807"],
    ];
    for cmd in script {
        let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
        assert_eq!(b, a, "{cmd:?}");
    }
}
