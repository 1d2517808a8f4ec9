//! DUMP and RESTORE in Redis's own serialization, against a real redis-server: a value
//! DUMPed there RESTOREs here and back unchanged (also LZF-compressed and integer-encoded
//! ones), the errors are Redis's, MIGRATE run on redis-server moves keys in, and
//! `redis-cli --cluster import` copies a live redis-server into a cluster of ours.

mod common;

use common::{need, Raw, Reference, Reply, Server};

fn bulk(r: Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(b) => b,
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn values() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> =
        [&b"hello"[..], b"12345", b"-7", b"007", b"", b"4294967296", b"-2147483648", b"3.14"]
            .iter()
            .map(|s| s.to_vec())
            .collect();
    // Long and repetitive: redis-server compresses these with LZF.
    v.push(b"x".repeat(10_000));
    v.push([b"abc".repeat(1000), b"xyz".to_vec()].concat());
    v.push((0..=255u8).cycle().take(12_800).collect());
    v
}

#[test]
fn values_dumped_by_redis_server_restore_here_and_back() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for (i, v) in values().iter().enumerate() {
        let key = format!("k{i}");
        assert_eq!(redis.cmd_bytes(&[b"SET", key.as_bytes(), v]), Reply::ok());
        let theirs = bulk(redis.cmd(&["DUMP", &key]));
        assert_eq!(ours.cmd_bytes(&[b"RESTORE", key.as_bytes(), b"0", &theirs]), Reply::ok());
        assert_eq!(bulk(ours.cmd(&["GET", &key])), *v, "value {i} from redis-server");
        let mine = bulk(ours.cmd(&["DUMP", &key]));
        let back = format!("back{i}");
        assert_eq!(redis.cmd_bytes(&[b"RESTORE", back.as_bytes(), b"0", &mine]), Reply::ok());
        assert_eq!(bulk(redis.cmd(&["GET", &back])), *v, "value {i} back in redis-server");
    }
}

#[test]
fn restore_errors_and_options_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    assert_eq!(redis.cmd(&["SET", "src", "value"]), Reply::ok());
    let p = bulk(redis.cmd(&["DUMP", "src"]));
    let mut damaged = p.clone();
    damaged[3] ^= 0x20;
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"RESTORE", b"a", b"0", &p],
        vec![b"RESTORE", b"a", b"0", &p],
        vec![b"RESTORE", b"a", b"0", &p, b"REPLACE"],
        vec![b"RESTORE", b"b", b"-1", &p],
        vec![b"RESTORE", b"b", b"x", &p],
        vec![b"RESTORE", b"b", b"0", b"garbage"],
        vec![b"RESTORE", b"b", b"0", &damaged],
        vec![b"RESTORE", b"b", b"0", &p, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"b", b"0", &p, b"FREQ", b"300"],
        vec![b"RESTORE", b"b", b"0", &p, b"FREQ", b"3", b"IDLETIME", b"4"],
        vec![b"RESTORE", b"b", b"0", &p, b"FOO"],
        vec![b"RESTORE", b"b", b"0", &p, b"IDLETIME", b"10", b"REPLACE"],
        vec![b"RESTORE", b"c", b"1", &p, b"ABSTTL"],
        vec![b"EXISTS", b"c"],
        vec![b"RESTORE", b"b", b"1", &p, b"ABSTTL", b"REPLACE"],
        vec![b"EXISTS", b"b"],
        vec![b"DUMP", b"nokey"],
        vec![b"RESTORE-ASKING", b"d", b"0", &p],
        vec![b"GET", b"d"],
    ];
    for c in &cases {
        let (a, b) = (redis.cmd_bytes(c), ours.cmd_bytes(c));
        assert_eq!(b, a, "{:?}", String::from_utf8_lossy(c[0]));
    }
    // A relative TTL is kept.
    assert_eq!(ours.cmd_bytes(&[b"RESTORE", b"t", b"5000", &p]), Reply::ok());
    assert!(matches!(ours.cmd(&["PTTL", "t"]), Reply::Int(ms) if ms > 4000 && ms <= 5000));
}

#[test]
fn migrate_from_redis_server_moves_keys_in() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let mut redis = r.raw();
    for i in 0..50 {
        assert_eq!(redis.cmd(&["SET", &format!("m{i}"), &"v".repeat(i * 10)]), Reply::ok());
    }
    assert_eq!(redis.cmd(&["SET", "ttl", "v", "EX", "300"]), Reply::ok());
    let keys: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let port = s.port.to_string();
    let mut cmd = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    cmd.extend(keys.iter().map(String::as_str));
    assert_eq!(redis.cmd(&cmd), Reply::ok());
    assert_eq!(redis.cmd(&["MIGRATE", "127.0.0.1", &port, "ttl", "0", "5000"]), Reply::ok());
    assert_eq!(redis.cmd(&["DBSIZE"]), Reply::Int(0), "MIGRATE moves: the source drops them");
    let mut ours: Raw = s.raw();
    assert_eq!(ours.cmd(&["DBSIZE"]), Reply::Int(51));
    assert_eq!(ours.cmd(&["GET", "m7"]), Reply::bulk(&"v".repeat(70)));
    assert!(matches!(ours.cmd(&["TTL", "ttl"]), Reply::Int(t) if t > 290));
}

#[test]
fn redis_cli_cluster_import_copies_a_live_redis_server_in() {
    let r = Reference::start();
    let mut redis = r.raw();
    for i in 0..300 {
        redis.cmd(&["SET", &format!("key:{i}"), &format!("value {i}")]);
    }
    redis.cmd(&["SET", "expiring", "v", "EX", "1000"]);
    // A cluster of one node of ours, owning every slot.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.path().join("cluster.conf");
    let node = format!("node 0000000000000000000000000000000000000001 127.0.0.1:{port} 0-16383\n");
    std::fs::write(&conf, node).unwrap();
    let store = dir.path().join("store");
    let s = Server::start_on(&store, port, &["--cluster-config", conf.to_str().unwrap()]);
    let out = std::process::Command::new(need("redis-cli"))
        .args(["--cluster", "import", &format!("127.0.0.1:{port}")])
        .args(["--cluster-from", &format!("127.0.0.1:{}", r.port), "--cluster-copy"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let mut ours = s.raw();
    assert_eq!(ours.cmd(&["DBSIZE"]), Reply::Int(301), "{text}");
    assert_eq!(ours.cmd(&["GET", "key:123"]), Reply::bulk("value 123"));
    assert!(matches!(ours.cmd(&["TTL", "expiring"]), Reply::Int(t) if t > 990));
    // --cluster-copy leaves the source as it was.
    assert_eq!(redis.cmd(&["DBSIZE"]), Reply::Int(301));
}

#[test]
fn hashes_and_sets_dumped_by_redis_server_restore_here_and_back() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let big = "y".repeat(100);
    let long_field = "f".repeat(60_000);
    // Listpack hashes (every integer width, short and long strings), a plain one, an intset,
    // a plain set.
    let cases: [(&str, Vec<&str>); 5] = [
        (
            "HSET",
            vec![
                "a",
                "127",
                "b",
                "-1",
                "c",
                "4095",
                "d",
                "-4096",
                "e",
                "32767",
                "f",
                "8388607",
                "g",
                "-2147483648",
                "h",
                "9223372036854775807",
                "i",
                "",
                "j",
                "x",
            ],
        ),
        ("HSET", vec!["k", &big, &long_field, "v"]),
        ("SADD", vec!["1", "-70000", "5000000000", "3"]),
        ("SADD", vec!["a", "b", &big]),
        ("HSET", vec!["only", "one"]),
    ];
    for (i, (cmd, args)) in cases.iter().enumerate() {
        let key = format!("c{i}");
        let mut argv = vec![*cmd, key.as_str()];
        argv.extend(args.iter().copied());
        redis.cmd(&argv);
        let theirs = bulk(redis.cmd(&["DUMP", &key]));
        assert_eq!(ours.cmd_bytes(&[b"RESTORE", key.as_bytes(), b"0", &theirs]), Reply::ok());
        let read = if *cmd == "HSET" { "HGETALL" } else { "SMEMBERS" };
        let sorted = |r: Reply| {
            let mut v: Vec<String> = r.items().iter().map(Reply::text).collect();
            v.sort();
            v
        };
        let want = sorted(redis.cmd(&[read, &key]));
        assert_eq!(sorted(ours.cmd(&[read, &key])), want, "case {i} restored here");
        let mine = bulk(ours.cmd(&["DUMP", &key]));
        let back = format!("back{i}");
        assert_eq!(redis.cmd_bytes(&[b"RESTORE", back.as_bytes(), b"0", &mine]), Reply::ok());
        assert_eq!(sorted(redis.cmd(&[read, &back])), want, "case {i} back in redis-server");
    }
    // A field past the store's key limit is refused and leaves nothing behind.
    let huge = "f".repeat(70_000);
    let e = ours.cmd(&["HSET", "c1", &huge, "v"]);
    assert!(e.error_text().contains("exceeds the store's limit"), "{e:?}");
    assert_eq!(ours.cmd(&["HLEN", "c1"]), Reply::Int(2));
    assert_eq!(ours.cmd(&["HEXISTS", "c1", &huge]), Reply::Int(0));
    let e = ours.cmd(&["SADD", "fresh", &huge]);
    assert!(e.error_text().contains("exceeds the store's limit"), "{e:?}");
    assert_eq!(ours.cmd(&["EXISTS", "fresh"]), Reply::Int(0));
    // RENAME, COPY and MOVE carry a collection with its expiry.
    ours.cmd(&["PEXPIRE", "c0", "100000"]);
    assert_eq!(ours.cmd(&["RENAME", "c0", "r0"]), Reply::ok());
    assert_eq!(ours.cmd(&["COPY", "r0", "k0"]), Reply::Int(1));
    assert_eq!(ours.cmd(&["MOVE", "k0", "3"]), Reply::Int(1));
    assert_eq!(ours.cmd(&["EXISTS", "c0", "k0"]), Reply::Int(0));
    assert!(matches!(ours.cmd(&["PTTL", "r0"]), Reply::Int(n) if n > 90_000));
    ours.cmd(&["SELECT", "3"]);
    assert_eq!(ours.cmd(&["HGET", "k0", "h"]), Reply::bulk("9223372036854775807"));
    assert!(matches!(ours.cmd(&["PTTL", "k0"]), Reply::Int(n) if n > 90_000));
}

#[test]
fn sorted_sets_dumped_by_redis_server_restore_here_and_back() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    // A listpack (integer and float scores, inf), and one past 128 members (a skiplist,
    // dumped with binary scores).
    redis.cmd(&["ZADD", "small", "1", "a", "-2.5", "b", "inf", "c", "1e-300", "d", "-inf", "e"]);
    for i in 0..200 {
        redis.cmd(&["ZADD", "big", &format!("{}.25", i * 3 % 17), &format!("member-{i}")]);
    }
    // A DUMP made here restores in redis-server; RENAME and COPY carry the scores too.
    for key in ["small", "big"] {
        let want = redis.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]);
        let theirs = bulk(redis.cmd(&["DUMP", key]));
        assert_eq!(ours.cmd_bytes(&[b"RESTORE", key.as_bytes(), b"0", &theirs]), Reply::ok());
        assert_eq!(ours.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]), want, "{key} here");
        let mine = bulk(ours.cmd(&["DUMP", key]));
        let back = format!("back-{key}");
        assert_eq!(redis.cmd_bytes(&[b"RESTORE", back.as_bytes(), b"0", &mine]), Reply::ok());
        assert_eq!(redis.cmd(&["ZRANGE", &back, "0", "-1", "WITHSCORES"]), want, "{key} back");
        assert_eq!(ours.cmd(&["COPY", key, "copy"]), Reply::Int(1));
        assert_eq!(ours.cmd(&["RENAME", "copy", "renamed"]), Reply::ok());
        assert_eq!(ours.cmd(&["ZRANGE", "renamed", "0", "-1", "WITHSCORES"]), want, "{key} copied");
        ours.cmd(&["DEL", "renamed"]);
    }
    assert_eq!(ours.cmd(&["OBJECT", "ENCODING", "small"]), Reply::bulk("listpack"));
    assert_eq!(ours.cmd(&["OBJECT", "ENCODING", "big"]), Reply::bulk("skiplist"));
}
