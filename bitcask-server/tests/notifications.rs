//! Keyspace notifications (`notify-keyspace-events`) and the expiry sweep: every string and
//! generic command publishes the events redis-server 7.0.15 publishes (and a read that
//! misses, `keymiss`), in its order, checked side by side; a key whose time to live passes
//! is deleted by the sweep and announced as `expired`; WATCH sees a watched key expire as a
//! change, and a key already expired when watched as none; CLIENT PAUSE holds the sweep.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Reference, Reply, Server};

/// Commands that write, each publishing its events (or none), and reads that miss (a
/// `keymiss` event, except OBJECT's).
const WRITES: &[&[&str]] = &[
    &["GET", "nosuch"],
    &["MGET", "nosuch", "other"],
    &["EXISTS", "nosuch"],
    &["TTL", "nosuch"],
    &["TYPE", "nosuch"],
    &["STRLEN", "nosuch"],
    &["GETRANGE", "nosuch", "0", "1"],
    &["OBJECT", "ENCODING", "nosuch"],
    &["DUMP", "nosuch"],
    &["SET", "nosuch", "1", "GET"],
    &["SET", "a", "1"],
    &["SET", "a", "2", "EX", "100"],
    &["SET", "a", "3", "KEEPTTL"],
    &["SETNX", "a", "x"],
    &["SETNX", "b", "x"],
    &["SETEX", "c", "100", "v"],
    &["PSETEX", "c", "100000", "v"],
    &["GETSET", "a", "4"],
    &["MSET", "m1", "1", "m2", "2"],
    &["MSETNX", "m1", "1", "m3", "3"],
    &["MSETNX", "m4", "1", "m5", "3"],
    &["INCR", "n"],
    &["DECRBY", "n", "5"],
    &["INCRBYFLOAT", "f", "1.5"],
    &["APPEND", "s", "abc"],
    &["SETRANGE", "s", "1", "xy"],
    &["SETRANGE", "s", "1", ""],
    &["SETBIT", "bits", "3", "1"],
    &["SETBIT", "bits", "3", "1"],
    &["BITFIELD", "bf", "SET", "u8", "0", "7"],
    &["BITFIELD", "bf", "GET", "u8", "0"],
    &["BITOP", "OR", "dest", "bits", "bf"],
    &["BITOP", "AND", "dest", "nothing", "none"],
    &["GETEX", "a", "EX", "50"],
    &["GETEX", "a", "PERSIST"],
    &["GETEX", "a", "PERSIST"],
    &["GETDEL", "b"],
    &["GETDEL", "b"],
    &["EXPIRE", "m1", "100"],
    &["PEXPIRE", "m1", "100000", "NX"],
    &["PERSIST", "m1"],
    &["PERSIST", "m1"],
    &["EXPIRE", "m2", "-1"],
    &["RENAME", "m4", "m6"],
    &["RENAMENX", "m6", "a"],
    &["COPY", "a", "copied"],
    &["MOVE", "copied", "1"],
    &["DEL", "a", "nosuch", "s"],
    &["UNLINK", "n"],
    &["RESTORE", "r", "0", "<the DUMP of src>"],
    &["FLUSHDB"],
];

/// Sets `classes`, runs [`WRITES`] and returns every message a `PSUBSCRIBE *` client read,
/// up to a PING after them.
fn events(port: u16, classes: &str) -> Vec<Reply> {
    let mut w = Raw::connect(port);
    assert_eq!(w.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(w.cmd(&["CONFIG", "SET", "notify-keyspace-events", classes]), Reply::ok());
    w.cmd(&["SET", "src", "hello"]);
    let Reply::Bulk(dump) = w.cmd(&["DUMP", "src"]) else { panic!("DUMP") };
    let mut sub = Raw::connect(port);
    sub.cmd(&["PSUBSCRIBE", "*"]);
    for cmd in WRITES {
        let r = match cmd {
            ["RESTORE", key, ttl, _] => {
                w.cmd_bytes(&[b"RESTORE", key.as_bytes(), ttl.as_bytes(), &dump])
            }
            _ => w.cmd(cmd),
        };
        assert!(!matches!(r, Reply::Error(_)), "{cmd:?}: {r:?}");
    }
    sub.send(&Raw::frame(&[b"PING", b"end"]));
    let mut seen = Vec::new();
    loop {
        let r = sub.read();
        if r == Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("end")]) {
            break;
        }
        seen.push(r);
    }
    assert_eq!(w.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]), Reply::ok());
    seen
}

#[test]
fn string_and_generic_commands_publish_redis_servers_events() {
    let (s, r) = (Server::start(&[]), Reference::start());
    for classes in ["KEA", "KEAn", "E$", "Kg", "En", "Km", "KEAm"] {
        let (theirs, ours) = (events(r.port, classes), events(s.port, classes));
        assert!(!theirs.is_empty(), "{classes}: redis-server published nothing");
        for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
            assert_eq!(
                b, a,
                "{classes}, message {i}: redis-server sent {a:?}, bitcask-server {b:?}"
            );
        }
        assert_eq!(ours.len(), theirs.len(), "{classes}: {ours:?}");
    }
}

#[test]
fn the_classes_read_and_show_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for classes in ["gKE", "$lshzxeKE", "KA", "EA", "AnmK", "", "Kq", "A?"] {
        let set = ["CONFIG", "SET", "notify-keyspace-events", classes];
        assert_eq!(ours.cmd(&set), redis.cmd(&set), "{classes}");
        let get = ["CONFIG", "GET", "notify-keyspace-events"];
        assert_eq!(ours.cmd(&get), redis.cmd(&get), "{classes}");
    }
}

#[test]
fn a_key_whose_ttl_passes_is_deleted_and_announced() {
    let s = Server::start(&[]);
    let mut w = s.raw();
    assert_eq!(w.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]), Reply::ok());
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:expired"]);
    for i in 0..50 {
        w.cmd(&["SET", &format!("short{i}"), "v", "PX", "100"]);
    }
    w.cmd(&["SET", "long", "v", "EX", "1000"]);
    let started = Instant::now();
    let mut expired = Vec::new();
    while expired.len() < 50 {
        let Reply::Array(m) = sub.read() else { panic!() };
        expired.push(m[2].text());
    }
    eprintln!("50 keys of 100 ms announced expired within {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(5));
    expired.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("short{i}")).collect();
    want.sort();
    assert_eq!(expired, want);
    let info = w.cmd(&["INFO", "stats"]).text();
    assert!(info.contains("expired_keys:50\r\n"), "{info}");
    // Deleted, not merely hidden: the keydir holds the one live key (and the server's own
    // records), not the 50 expired ones.
    let stats = w.cmd(&["BITCASK.STATS"]).items();
    let at = stats.iter().position(|r| *r == Reply::bulk("keys")).unwrap();
    let Reply::Int(keys) = stats[at + 1] else { panic!("{stats:?}") };
    assert!(keys < 10, "{keys} keys in the keydir");
}

#[test]
fn watch_sees_a_key_expire_and_ignores_one_already_expired() {
    let (s, r) = (Server::start(&[]), Reference::start());
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        // A key that lives when watched, then expires: EXEC fails.
        c.cmd(&["SET", "x", "v", "PX", "200"]);
        c.cmd(&["WATCH", "x"]);
        std::thread::sleep(Duration::from_millis(300));
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        assert_eq!(c.cmd(&["EXEC"]), Reply::NilArray, "port {port}");
        // A key already expired when watched: EXEC runs, whenever it is deleted.
        c.cmd(&["SET", "y", "v", "PX", "10"]);
        std::thread::sleep(Duration::from_millis(50));
        c.cmd(&["WATCH", "y"]);
        std::thread::sleep(Duration::from_millis(300));
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        assert_eq!(
            c.cmd(&["EXEC"]),
            Reply::Array(vec![Reply::Simple("PONG".into())]),
            "port {port}"
        );
    }
}

#[test]
fn client_pause_holds_the_expiry_sweep() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let expired = |c: &mut Raw| {
        let info = c.cmd(&["INFO", "stats"]).text();
        info.lines().find_map(|l| l.strip_prefix("expired_keys:")).unwrap().trim().to_owned()
    };
    c.cmd(&["SET", "a", "1", "PX", "50"]);
    c.cmd(&["SET", "b", "1", "PX", "50"]);
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]), Reply::ok());
    std::thread::sleep(Duration::from_millis(500));
    // Expired for readers, not deleted while the pause holds.
    assert_eq!(c.cmd(&["GET", "a"]), Reply::Nil);
    assert_eq!(expired(&mut c), "0");
    assert_eq!(c.cmd(&["CLIENT", "UNPAUSE"]), Reply::ok());
    let started = Instant::now();
    while expired(&mut c) != "2" {
        assert!(started.elapsed() < Duration::from_secs(5), "the sweep never went on");
        std::thread::sleep(Duration::from_millis(20));
    }
}
