//! Databases (SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB, DBSIZE, INFO keyspace) and the
//! keys the store names in its own way: the empty key and keys that start with 0x00.

mod common;

use bitcask_core::sharded::Namespaced;
use bitcask_core::{Options, ShardedBitcask};
use common::{Reply, Server};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn keyspace(c: &mut common::Raw) -> Vec<String> {
    let info = c.cmd(&["INFO", "keyspace"]).text();
    info.lines().filter(|l| l.starts_with("db")).map(str::to_owned).collect()
}

#[test]
fn each_database_has_its_own_keys() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "zero"]), Reply::ok());
    assert_eq!(c.cmd(&["SELECT", "9"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "k", "nine"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "other", "x", "EX", "100"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
    assert_eq!(c.cmd(&["KEYS", "*"]).items().len(), 2);
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("zero"));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["KEYS", "*"]), Reply::Array(vec![Reply::bulk("k")]));
    assert_eq!(
        keyspace(&mut c),
        ["db0:keys=1,expires=0,avg_ttl=0", "db9:keys=2,expires=1,avg_ttl=0"]
    );
    // Another connection starts in database 0; RESET goes back to it.
    let mut d = s.raw();
    assert_eq!(d.cmd(&["GET", "k"]), Reply::bulk("zero"));
    assert_eq!(d.cmd(&["SELECT", "9"]), Reply::ok());
    assert_eq!(d.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    assert_eq!(d.cmd(&["GET", "k"]), Reply::bulk("zero"));
    // FLUSHDB empties one database, FLUSHALL every one.
    assert_eq!(c.cmd(&["SELECT", "9"]), Reply::ok());
    assert_eq!(c.cmd(&["FLUSHDB"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(d.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["SET", "k", "nine"]), Reply::ok());
    assert_eq!(c.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(d.cmd(&["DBSIZE"]), int(0));
    assert!(keyspace(&mut c).is_empty());
}

#[test]
fn databases_outlive_a_restart_and_the_flag_bounds_them() {
    let s = Server::start(&["--databases", "4"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SELECT", "4"]).error_text(), "ERR DB index is out of range");
    assert_eq!(c.cmd(&["SELECT", "3"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "k", "three"]), Reply::ok());
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "databases"]),
        Reply::Array(vec![Reply::bulk("databases"), Reply::bulk("4")])
    );
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Nil);
    assert_eq!(c.cmd(&["SELECT", "3"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("three"));
}

#[test]
fn move_copies_into_another_database_and_deletes_the_source() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "1000"]), Reply::ok());
    assert_eq!(
        c.cmd(&["MOVE", "k", "0"]).error_text(),
        "ERR source and destination objects are the same"
    );
    assert_eq!(c.cmd(&["MOVE", "k", "16"]).error_text(), "ERR DB index is out of range");
    assert_eq!(
        c.cmd(&["MOVE", "k", "x"]).error_text(),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(c.cmd(&["MOVE", "nope", "1"]), int(0));
    assert_eq!(c.cmd(&["MOVE", "k", "1"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert!(matches!(c.cmd(&["TTL", "k"]), Reply::Int(t) if t > 990), "the expiry moves too");
    // A key already in the target stays, and so does the source.
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "k", "new"]), Reply::ok());
    assert_eq!(c.cmd(&["MOVE", "k", "1"]), int(0));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("new"));
}

#[test]
fn copy_to_another_database() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::ok());
    assert_eq!(
        c.cmd(&["COPY", "k", "k", "DB", "0"]).error_text(),
        "ERR source and destination objects are the same"
    );
    assert_eq!(c.cmd(&["COPY", "k", "k", "DB", "99"]).error_text(), "ERR DB index is out of range");
    assert_eq!(c.cmd(&["COPY", "k", "k", "DB", "2"]), int(1));
    assert_eq!(c.cmd(&["COPY", "k", "k", "DB", "2"]), int(0));
    assert_eq!(c.cmd(&["SET", "k", "w"]), Reply::ok());
    assert_eq!(c.cmd(&["COPY", "k", "k", "DB", "2", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["SELECT", "2"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("w"));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
}

#[test]
fn swapdb_swaps_at_once_and_for_good() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "a", "in0"]), Reply::ok());
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "b", "in1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "c", "in1"]), Reply::ok());
    assert_eq!(c.cmd(&["SWAPDB", "x", "1"]).error_text(), "ERR invalid first DB index");
    assert_eq!(c.cmd(&["SWAPDB", "0", "y"]).error_text(), "ERR invalid second DB index");
    assert_eq!(c.cmd(&["SWAPDB", "0", "16"]).error_text(), "ERR DB index is out of range");
    assert_eq!(c.cmd(&["SWAPDB", "0", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Reply::bulk("in0"));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
    assert_eq!(c.cmd(&["KEYS", "*"]).items().len(), 2);
    assert_eq!(
        keyspace(&mut c),
        ["db0:keys=2,expires=0,avg_ttl=0", "db1:keys=1,expires=0,avg_ttl=0"]
    );
    // In a transaction: a write before the swap lands where Redis puts it.
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    c.cmd(&["SET", "t", "1"]);
    c.cmd(&["SWAPDB", "0", "1"]);
    c.cmd(&["GET", "a"]);
    assert_eq!(c.cmd(&["EXEC"]).items().last(), Some(&Reply::bulk("in0")));
    assert_eq!(c.cmd(&["EXISTS", "t"]), int(0));
    // The swap is recorded in the store (an odd number of swaps: 0 holds b, c and t).
    assert_eq!(c.cmd(&["SWAPDB", "1", "0"]), Reply::ok());
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "t"]), Reply::bulk("1"));
    assert_eq!(c.cmd(&["DBSIZE"]), int(3));
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Reply::bulk("in0"));
}

#[test]
fn a_watched_key_sees_swapdb_and_flushdb() {
    let s = Server::start(&[]);
    let (mut c, mut d) = (s.raw(), s.raw());
    for other in [&["SWAPDB", "0", "5"][..], &["FLUSHDB"]] {
        assert_eq!(c.cmd(&["WATCH", "k"]), Reply::ok());
        assert_eq!(d.cmd(&["SET", "k", "1"]), Reply::ok());
        let _ = c.cmd(&["UNWATCH"]);
        assert_eq!(c.cmd(&["WATCH", "k"]), Reply::ok());
        assert_eq!(d.cmd(other), Reply::ok());
        assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
        c.cmd(&["GET", "k"]);
        assert_eq!(c.cmd(&["EXEC"]), Reply::NilArray, "{other:?}");
    }
}

#[test]
fn the_empty_key_and_keys_starting_with_a_zero_byte_are_keys() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "", "empty"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", ""]), Reply::bulk("empty"));
    assert_eq!(c.cmd_bytes(&[b"SET", b"\0k", b"zero"]), Reply::ok());
    assert_eq!(c.cmd_bytes(&[b"GET", b"\0k"]), Reply::bulk("zero"));
    assert_eq!(c.cmd(&["SET", "plain", "p"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(3));
    let mut keys: Vec<Vec<u8>> = c
        .cmd(&["KEYS", "*"])
        .items()
        .into_iter()
        .map(|r| match r {
            Reply::Bulk(b) => b,
            other => panic!("{other:?}"),
        })
        .collect();
    keys.sort();
    assert_eq!(keys, [&b""[..], b"\0k", b"plain"]);
    assert_eq!(c.cmd(&["EXISTS", ""]), int(1));
    assert_eq!(c.cmd(&["APPEND", "", "!"]), int(6));
    assert_eq!(c.cmd(&["DEL", ""]), int(1));
    assert_eq!(c.cmd(&["GET", ""]), Reply::Nil);
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
}

#[test]
fn the_cli_reads_a_servers_plain_keys_as_they_are() {
    let s = Server::start(&["--shards", "4"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "hello", "world"]), Reply::ok());
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "hello", "one"]), Reply::ok());
    let (_, tmp) = s.terminate();
    let dir = tmp.as_ref().unwrap().path().join("data");
    let db = ShardedBitcask::open(&dir, Options::default(), None).unwrap();
    assert_eq!(db.shard_for(b"hello").unwrap().get(b"hello").unwrap(), Some(b"world".to_vec()));
    // Database 1's key is namespaced, in the same shard as its plain form.
    let keys: Vec<Vec<u8>> = db.keys().unwrap().collect();
    let named: Vec<Namespaced<'_>> = keys.iter().filter_map(|k| Namespaced::parse(k)).collect();
    assert!(named.iter().any(|n| n.key == b"hello" && n.ns == [1, 1]), "{named:?}");
    db.close().unwrap();
}

#[test]
fn a_store_written_before_namespaced_keys_is_upgraded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        // As an older server left it: plain keys, one starting with 0x00, no markers.
        let db = ShardedBitcask::open(&dir, Options::default(), Some(4)).unwrap();
        for (k, v) in [(&b"\0old"[..], &b"zero"[..]), (b"plain", b"p")] {
            db.shard_for(k).unwrap().put(k, v).unwrap();
        }
        db.close().unwrap();
    }
    for _ in 0..2 {
        let s = Server::start_in(&dir, &[]);
        let mut c = s.raw();
        assert_eq!(c.cmd_bytes(&[b"GET", b"\0old"]), Reply::bulk("zero"));
        assert_eq!(c.cmd(&["GET", "plain"]), Reply::bulk("p"));
        assert_eq!(c.cmd(&["DBSIZE"]), int(2));
        assert_eq!(s.terminate().0, Some(0));
    }
}

#[test]
fn a_store_of_an_unknown_key_naming_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        let s = Server::start_in(&dir, &[]);
        assert_eq!(s.terminate().0, Some(0));
        let db = ShardedBitcask::open(&dir, Options::default(), None).unwrap();
        let shard = db.shard(0).unwrap();
        let marker: Vec<Vec<u8>> = shard
            .keys()
            .unwrap()
            .filter(|k| Namespaced::parse(k).is_some_and(|n| n.rest == b"keyspace"))
            .collect();
        assert_eq!(marker.len(), 1);
        shard.put(&marker[0], b"2").unwrap();
        db.close().unwrap();
    }
    let out = common::bin().arg("--dir").arg(&dir).args(["--port", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("version \"2\" of the server's key naming"), "{err}");
}
