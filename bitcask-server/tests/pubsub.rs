//! Publish/subscribe: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH,
//! SPUBLISH and PUBSUB answer as redis-server 7.0.15 does side by side (confirmations,
//! messages, RESP2's subscribed mode, RESP3 pushes, errors); real client libraries (the
//! `redis` crate, redis-py) subscribe; a subscriber that does not read is closed at the
//! pub/sub output limit and holds no more than it.

mod common;

use std::time::Duration;

use common::{Raw, Reference, Reply, Server};

fn sorted(r: Reply) -> Reply {
    let mut v = r.items();
    v.sort_by_key(|r| format!("{r:?}"));
    Reply::Array(v)
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// Runs the same conversation on both servers: a subscriber, a publisher; every reply and
/// message each reads must be the same.
fn conversation(sub: &mut Raw, publ: &mut Raw) -> Vec<Reply> {
    let mut seen = Vec::new();
    let mut both = |r: Reply| seen.push(r);
    sub.send(&Raw::frame(&[b"SUBSCRIBE", b"news", b"sport"]));
    both(sub.read());
    both(sub.read());
    both(sub.cmd(&["SUBSCRIBE", "news"]));
    both(sub.cmd(&["PSUBSCRIBE", "n*"]));
    both(publ.cmd(&["PUBLISH", "news", "hello"]));
    both(sub.read());
    both(sub.read());
    both(publ.cmd(&["PUBLISH", "nothing", "x"]));
    both(sub.read());
    both(publ.cmd(&["PUBLISH", "other", "x"]));
    // RESP2's subscribed mode: PING as a message, other commands refused.
    both(sub.cmd(&["PING"]));
    both(sub.cmd(&["PING", "hi"]));
    both(sub.cmd(&["GET", "k"]));
    both(sub.cmd(&["CONFIG", "GET", "timeout"]));
    // Channels come in the order of the server's table: compared as sets.
    both(sorted(publ.cmd(&["PUBSUB", "CHANNELS"])));
    both(publ.cmd(&["PUBSUB", "CHANNELS", "s*"]));
    both(publ.cmd(&["PUBSUB", "NUMSUB", "news", "none"]));
    both(publ.cmd(&["PUBSUB", "NUMPAT"]));
    both(publ.cmd(&["PUBSUB", "CHANNELS", "a", "b"]));
    both(publ.cmd(&["PUBSUB", "NOSUCH"]));
    both(sub.cmd(&["UNSUBSCRIBE", "sport", "never"]));
    both(sub.read());
    both(sub.cmd(&["UNSUBSCRIBE"]));
    both(sub.cmd(&["PUNSUBSCRIBE"]));
    both(sub.cmd(&["PUNSUBSCRIBE"]));
    both(sub.cmd(&["UNSUBSCRIBE"]));
    // Out of subscribed mode, everything again.
    both(sub.cmd(&["PING"]));
    both(sub.cmd(&["GET", "k"]));
    both(sub.cmd(&["SUBSCRIBE"]));
    both(sub.cmd(&["PUBLISH", "a"]));
    // Shard channels (outside cluster mode: their own namespace).
    both(sub.cmd(&["SSUBSCRIBE", "s1"]));
    both(publ.cmd(&["SPUBLISH", "s1", "m"]));
    both(sub.read());
    both(publ.cmd(&["PUBLISH", "s1", "m"]));
    both(publ.cmd(&["PUBSUB", "SHARDCHANNELS"]));
    both(publ.cmd(&["PUBSUB", "SHARDNUMSUB", "s1"]));
    both(sub.cmd(&["SUNSUBSCRIBE"]));
    // RESP3: pushes, and any command while subscribed.
    let hello = sub.cmd(&["HELLO", "3"]);
    assert!(matches!(hello, Reply::Map(_)), "{hello:?}");
    both(sub.cmd(&["SUBSCRIBE", "news"]));
    both(sub.cmd(&["GET", "k"]));
    both(sub.cmd(&["PING"]));
    both(publ.cmd(&["PUBLISH", "news", "pushed"]));
    both(sub.read());
    both(sub.cmd(&["UNSUBSCRIBE"]));
    // Scripts may publish, not subscribe.
    both(publ.cmd(&["EVAL", "return redis.call('publish', 'x', 'y')", "0"]));
    both(publ.cmd(&["EVAL", "return redis.call('subscribe', 'x')", "0"]));
    seen
}

#[test]
fn subscriptions_and_messages_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let ours = conversation(&mut s.raw(), &mut s.raw());
    let theirs = conversation(&mut r.raw(), &mut r.raw());
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(b, a, "step {i}: redis-server said {a:?}, bitcask-server {b:?}");
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn confirmations_and_messages_pass_client_reply_off() {
    let s = Server::start(&[]);
    let (mut sub, mut publ) = (s.raw(), s.raw());
    sub.send(&Raw::frame(&[b"CLIENT", b"REPLY", b"OFF"]));
    let confirm = sub.cmd(&["SUBSCRIBE", "c"]);
    assert_eq!(confirm, Reply::Array(vec![bulk("subscribe"), bulk("c"), Reply::Int(1)]));
    assert_eq!(publ.cmd(&["PUBLISH", "c", "m"]), Reply::Int(1));
    assert_eq!(sub.read(), Reply::Array(vec![bulk("message"), bulk("c"), bulk("m")]));
}

#[test]
fn a_closed_or_reset_subscriber_leaves_no_subscription() {
    let s = Server::start(&[]);
    let mut publ = s.raw();
    {
        let mut sub = s.raw();
        sub.cmd(&["SUBSCRIBE", "gone"]);
        sub.cmd(&["PSUBSCRIBE", "g*"]);
        assert_eq!(publ.cmd(&["PUBLISH", "gone", "m"]), Reply::Int(2));
    }
    let numsub = || Raw::connect(s.port).cmd(&["PUBSUB", "NUMSUB", "gone"]);
    let mut left = numsub();
    for _ in 0..100 {
        if left == Reply::Array(vec![bulk("gone"), Reply::Int(0)]) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        left = numsub();
    }
    assert_eq!(left, Reply::Array(vec![bulk("gone"), Reply::Int(0)]));
    assert_eq!(publ.cmd(&["PUBSUB", "NUMPAT"]), Reply::Int(0));
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "r"]);
    let list = sub.cmd(&["CLIENT", "INFO"]);
    assert_eq!(list, Reply::err("ERR Can't execute 'client|info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"));
    let info = publ.cmd(&["CLIENT", "LIST"]).text();
    assert!(info.contains("flags=P db=0 sub=1 psub=0 ssub=0"), "{info}");
    assert_eq!(sub.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    assert_eq!(publ.cmd(&["PUBLISH", "r", "m"]), Reply::Int(0));
    assert_eq!(sub.cmd(&["GET", "k"]), Reply::Nil);
}

#[test]
fn a_real_client_library_subscribes_and_receives() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let mut publisher = s.client();
    let mut ps = con.as_pubsub();
    ps.subscribe("jobs").unwrap();
    ps.psubscribe("job*").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let n: i64 = redis::cmd("PUBLISH").arg("jobs").arg("run 1").query(&mut publisher).unwrap();
    assert_eq!(n, 2);
    let first = ps.get_message().unwrap();
    assert_eq!(first.get_channel_name(), "jobs");
    assert_eq!(first.get_payload::<String>().unwrap(), "run 1");
    let second = ps.get_message().unwrap();
    assert_eq!(second.get_pattern::<String>().unwrap(), "job*");
    ps.unsubscribe("jobs").unwrap();
    ps.punsubscribe("job*").unwrap();
}

#[test]
fn redis_py_subscribes_and_receives_in_both_protocols() {
    let s = Server::start(&[]);
    let py = format!(
        r#"
import redis, time
for protocol in (2, 3):
    r = redis.Redis(port={port}, protocol=protocol)
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("events")
    p.psubscribe("ev*")
    time.sleep(0.1)
    assert r.publish("events", "hello") == 2
    got = []
    deadline = time.time() + 5
    while len(got) < 2 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    assert sorted(got) == [("message", b"events", b"hello"), ("pmessage", b"events", b"hello")], got
    assert r.pubsub_numsub("events") == [(b"events", 1)]
    p.close()
print("ok")
"#,
        port = s.port
    );
    assert_eq!(common::python(&py), "ok");
}

#[test]
fn a_subscriber_that_does_not_read_is_closed_at_the_pubsub_limit() {
    let s = Server::start(&[]);
    let mut publ = s.raw();
    let limit = "normal 0 0 0 pubsub 4mb 0 0";
    assert_eq!(publ.cmd(&["CONFIG", "SET", "client-output-buffer-limit", limit]), Reply::ok());
    let stuck = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let mut sub = Raw::from_stream(stuck.try_clone().unwrap());
    sub.cmd(&["SUBSCRIBE", "flood"]);
    let before = s.rss_kib();
    // 64 MiB of messages to a subscriber that reads none of them.
    let payload = "p".repeat(64 << 10);
    let (mut receivers, mut peak) = (0, 0);
    let started = std::time::Instant::now();
    for i in 0.. {
        let Reply::Int(n) = publ.cmd(&["PUBLISH", "flood", &payload]) else { panic!() };
        receivers += n;
        if n == 0 || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        if i % 64 == 0 {
            peak = peak.max(s.rss_kib().saturating_sub(before));
        }
        if i >= 256 {
            // Past the limit: give the server time to notice and close it.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    eprintln!(
        "a subscriber that does not read: {receivers} messages taken, RSS grew at most {peak} KiB"
    );
    // The socket's buffers, the limit's 4 MiB in the mailbox and as much drained for the write.
    assert!(peak < 24 * 1024, "RSS grew {peak} KiB");
    assert!(started.elapsed() < Duration::from_secs(10), "the subscriber was never dropped");
    let mut drained = 0usize;
    let mut b = vec![0u8; 1 << 20];
    let mut stuck = stuck;
    stuck.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    loop {
        match std::io::Read::read(&mut stuck, &mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    assert!(drained < 32 << 20, "it was sent {drained} bytes before being closed");
    assert_eq!(publ.cmd(&["PUBSUB", "NUMSUB", "flood"]).items()[1], Reply::Int(0));
}
