//! Hashes and sets through a real connection: what they hold survives a clean restart and a
//! kill -9 under `--sync always`; deleting one writes O(1) bytes whatever its size, and one
//! re-created under the same key never sees the old elements (also after a crash); a key of
//! one type refuses another type's commands with WRONGTYPE; collections expire.

mod common;

use std::collections::BTreeMap;

use common::{disk_bytes, text_pairs, Raw, Reply, Server};

fn texts(r: Reply) -> Vec<String> {
    let mut v: Vec<String> = r.items().iter().map(Reply::text).collect();
    v.sort();
    v
}

fn hash_of(c: &mut Raw, key: &str) -> BTreeMap<String, String> {
    text_pairs(c.cmd(&["HGETALL", key])).into_iter().collect()
}

#[test]
fn hashes_and_sets_survive_a_restart_and_a_kill9() {
    let s = Server::start(&["--sync", "always"]);
    let mut c = s.raw();
    let mut hash = BTreeMap::new();
    for i in 0..200 {
        let (f, v) = (format!("f{i}"), format!("{}", i * 7));
        c.cmd(&["HSET", "h", &f, &v]);
        hash.insert(f, v);
        c.cmd(&["SADD", "s", &format!("m{i}")]);
    }
    for i in (0..200).step_by(3) {
        assert_eq!(c.cmd(&["HDEL", "h", &format!("f{i}")]), Reply::Int(1));
        hash.remove(&format!("f{i}"));
        assert_eq!(c.cmd(&["SREM", "s", &format!("m{i}")]), Reply::Int(1));
    }
    assert_eq!(c.cmd(&["HINCRBY", "h", "f1", "5"]), Reply::Int(12));
    hash.insert("f1".into(), "12".into());
    let members = texts(c.cmd(&["SMEMBERS", "s"]));
    assert_eq!(members.len(), 133);
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(hash_of(&mut c, "h"), hash, "after a clean restart");
    assert_eq!(texts(c.cmd(&["SMEMBERS", "s"])), members);
    let (dir, port, args) = (s.dir.clone(), s.port, s.args.clone());
    let _keep = s.kill9();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::restart_killed(&dir, port, &args);
    let mut c = s.raw();
    assert_eq!(hash_of(&mut c, "h"), hash, "after kill -9");
    assert_eq!(texts(c.cmd(&["SMEMBERS", "s"])), members);
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(2));
    assert_eq!(texts(c.cmd(&["KEYS", "*"])), ["h", "s"]);
}

#[test]
fn deleting_a_collection_writes_o1_bytes_and_a_recreated_one_never_sees_its_elements() {
    let s = Server::start(&["--sync", "always"]);
    let mut c = s.raw();
    for i in 0..2000 {
        c.cmd(&["HSET", "big", &format!("field-{i}"), &"x".repeat(50)]);
        c.cmd(&["SADD", "bigset", &format!("member-{i}")]);
    }
    let before = disk_bytes(&s.dir);
    assert_eq!(c.cmd(&["DEL", "big", "bigset"]), Reply::Int(2));
    let grew = disk_bytes(&s.dir) - before;
    assert!(grew < 200, "DEL of 4,000 elements appended {grew} bytes");
    assert_eq!(c.cmd(&["HSET", "big", "new", "1"]), Reply::Int(1));
    assert_eq!(c.cmd(&["SADD", "bigset", "member-1"]), Reply::Int(1));
    assert_eq!(c.cmd(&["HLEN", "big"]), Reply::Int(1));
    let (dir, port, args) = (s.dir.clone(), s.port, s.args.clone());
    let _keep = s.kill9();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::restart_killed(&dir, port, &args);
    let mut c = s.raw();
    assert_eq!(
        hash_of(&mut c, "big").into_iter().collect::<Vec<_>>(),
        [("new".into(), "1".into())]
    );
    assert_eq!(texts(c.cmd(&["SMEMBERS", "bigset"])), ["member-1"]);
    // A merge drops the old elements for good: nothing comes back after it either.
    c.cmd(&["BITCASK.MERGE"]);
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["HLEN", "big"]), Reply::Int(1));
    assert_eq!(c.cmd(&["SCARD", "bigset"]), Reply::Int(1));
}

#[test]
fn each_type_refuses_the_others_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
    c.cmd(&["SET", "str", "v"]);
    c.cmd(&["HSET", "h", "f", "v"]);
    c.cmd(&["SADD", "s", "m"]);
    for (cmd, key) in [("GET", "h"), ("APPEND", "s"), ("HGET", "str"), ("SADD", "h"), ("HSET", "s")]
    {
        let args: Vec<&str> = match cmd {
            "GET" => vec![cmd, key],
            "HGET" => vec![cmd, key, "f"],
            "HSET" => vec![cmd, key, "f", "v"],
            _ => vec![cmd, key, "x"],
        };
        assert_eq!(c.cmd(&args), Reply::err(wrong), "{args:?}");
    }
    let types: Vec<String> =
        ["str", "h", "s", "none"].iter().map(|k| c.cmd(&["TYPE", k]).text()).collect();
    assert_eq!(types, ["string", "hash", "set", "none"]);
    for (ty, want) in [("hash", "h"), ("SET", "s"), ("string", "str")] {
        let r = c.cmd(&["SCAN", "0", "TYPE", ty, "COUNT", "100"]).items();
        assert_eq!(r[1].items(), [Reply::bulk(want)], "SCAN TYPE {ty}");
    }
    // MGET answers nil for a key of another type; SET replaces any type.
    assert_eq!(c.cmd(&["MGET", "h", "str"]).items(), [Reply::Nil, Reply::bulk("v")]);
    assert_eq!(c.cmd(&["SET", "h", "now a string"]), Reply::ok());
    assert_eq!(c.cmd(&["TYPE", "h"]).text(), "string");
    assert_eq!(c.cmd(&["HLEN", "h"]), Reply::err(wrong));
    assert_eq!(c.cmd(&["SADD", "s", "m2"]), Reply::Int(1));
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "h"]), Reply::bulk("now a string"));
    assert_eq!(c.cmd(&["SCARD", "s"]), Reply::Int(2));
}

#[test]
fn collections_expire_and_stay_gone() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["SADD", "s", "x"]);
    assert_eq!(c.cmd(&["PEXPIRE", "h", "300"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXPIRE", "s", "1000"]), Reply::Int(1));
    assert!(matches!(c.cmd(&["PTTL", "h"]), Reply::Int(n) if n > 0 && n <= 300));
    assert_eq!(c.cmd(&["PERSIST", "s"]), Reply::Int(1));
    assert_eq!(c.cmd(&["TTL", "s"]), Reply::Int(-1));
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(c.cmd(&["EXISTS", "h"]), Reply::Int(0));
    assert_eq!(c.cmd(&["HGETALL", "h"]).items(), []);
    assert_eq!(c.cmd(&["HSET", "h", "c", "3"]), Reply::Int(1));
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(hash_of(&mut c, "h").len(), 1, "the expired hash's fields stay gone");
    assert_eq!(c.cmd(&["TTL", "h"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["SCARD", "s"]), Reply::Int(1));
}

#[test]
fn a_transaction_sees_its_own_collection_writes_and_commits_them_at_once() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MULTI"]);
    for args in [
        &["HSET", "h", "a", "1"][..],
        &["HINCRBY", "h", "a", "2"],
        &["HGET", "h", "a"],
        &["DEL", "h"],
        &["HSET", "h", "b", "9"],
        &["HGETALL", "h"],
    ] {
        assert_eq!(c.cmd(args).text(), "QUEUED");
    }
    let r = c.cmd(&["EXEC"]).items();
    assert_eq!(r[..4], [Reply::Int(1), Reply::Int(3), Reply::bulk("3"), Reply::Int(1)]);
    assert_eq!(r[5].items(), [Reply::bulk("b"), Reply::bulk("9")]);
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(hash_of(&mut c, "h").into_iter().collect::<Vec<_>>(), [("b".into(), "9".into())]);
}
