//! Client-side caching (CLIENT TRACKING): invalidations in the default mode and in BCAST,
//! redirected to a RESP2 subscriber or pushed in RESP3, NOLOOP, OPTIN/OPTOUT with CLIENT
//! CACHING, flushes, expiry, TRACKINGINFO and every option error, checked against
//! redis-server 7.0.15 side by side; the tracking table holds no more keys than
//! `tracking-table-max-keys`, whatever a client reads.

mod common;

use common::{Raw, Reference, Reply, Server};

fn id_of(c: &mut Raw) -> String {
    match c.cmd(&["CLIENT", "ID"]) {
        Reply::Int(n) => n.to_string(),
        r => panic!("{r:?}"),
    }
}

/// One conversation: a tracking client, a redirect target subscribed in RESP2, a writer.
/// Every reply and every invalidation read, in order.
fn conversation(port: u16) -> Vec<Reply> {
    let mut seen = Vec::new();
    let (mut t, mut target, mut w) = (Raw::connect(port), Raw::connect(port), Raw::connect(port));
    let target_id = id_of(&mut target);
    target.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    w.cmd(&["FLUSHALL"]);
    // Option errors.
    for bad in [
        &["CLIENT", "TRACKING", "on", "PREFIX", "a"][..],
        &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
        &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
        &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"],
        &["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"],
        &["CLIENT", "TRACKING", "on", "NOSUCH"],
        &["CLIENT", "TRACKING", "maybe"],
        &["CLIENT", "CACHING", "yes"],
    ] {
        seen.push(t.cmd(bad));
    }
    // The default mode, redirected: only keys read are invalidated, once.
    let redirect = ["CLIENT", "TRACKING", "on", "REDIRECT", &target_id];
    seen.push(t.cmd(&redirect));
    seen.push(t.cmd(&["CLIENT", "GETREDIR"]));
    seen.push(client_flags(&mut t, &target_id));
    w.cmd(&["MSET", "a", "1", "b", "1"]);
    seen.push(t.cmd(&["GET", "a"]));
    seen.push(t.cmd(&["MGET", "b", "c"]));
    w.cmd(&["INCR", "a"]);
    seen.push(target.read());
    w.cmd(&["INCR", "a"]);
    // c was read but never existed: deleting nothing is no change.
    w.cmd(&["DEL", "b", "c"]);
    seen.push(target.read());
    // A transaction's reads are tracked; its writes invalidate after it.
    t.cmd(&["MULTI"]);
    t.cmd(&["GET", "a"]);
    t.cmd(&["SET", "z", "1"]);
    seen.push(t.cmd(&["EXEC"]));
    w.cmd(&["SET", "a", "9"]);
    seen.push(target.read());
    later_modes(&mut t, &mut target, &mut w, &target_id, &mut seen);
    // The target's id differs between the servers.
    let id = Reply::Int(target_id.parse().unwrap());
    seen.into_iter().map(|r| norm(r, &id)).collect()
}

/// The rest of [`conversation`]: OPTIN, BCAST, a flush, a broken redirect, RESP3.
fn later_modes(t: &mut Raw, target: &mut Raw, w: &mut Raw, target_id: &str, seen: &mut Vec<Reply>) {
    // OPTIN: only after CLIENT CACHING YES.
    t.cmd(&["CLIENT", "TRACKING", "off"]);
    seen.push(t.cmd(&["CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", target_id]));
    seen.push(t.cmd(&["CLIENT", "TRACKINGINFO"]));
    seen.push(t.cmd(&["CLIENT", "CACHING", "no"]));
    t.cmd(&["GET", "k1"]);
    seen.push(t.cmd(&["CLIENT", "CACHING", "yes"]));
    seen.push(t.cmd(&["CLIENT", "TRACKINGINFO"]));
    t.cmd(&["GET", "k2"]);
    w.cmd(&["SET", "k1", "x"]);
    w.cmd(&["SET", "k2", "x"]);
    seen.push(target.read());
    // BCAST with prefixes and NOLOOP.
    t.cmd(&["CLIENT", "TRACKING", "off"]);
    let bcast = ["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "REDIRECT", target_id];
    seen.push(t.cmd(&[&bcast[..], &["PREFIX", "user:", "PREFIX", "job:"]].concat()));
    seen.push(t.cmd(&[&bcast[..], &["PREFIX", "use"]].concat()));
    seen.push(t.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", target_id]));
    seen.push(t.cmd(&["CLIENT", "TRACKINGINFO"]));
    seen.push(client_flags(t, target_id));
    w.cmd(&["MSET", "user:1", "a", "other", "b"]);
    seen.push(target.read());
    t.cmd(&["SET", "user:2", "mine"]);
    w.cmd(&["SET", "job:1", "x"]);
    seen.push(target.read());
    // A flush invalidates everything.
    w.cmd(&["FLUSHDB"]);
    seen.push(target.read());
    // The redirect target gone: broken, and TRACKINGINFO says so.
    t.cmd(&["CLIENT", "TRACKING", "off"]);
    t.cmd(&["HELLO", "3"]);
    t.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", target_id]);
    t.cmd(&["GET", "gone"]);
    target.cmd(&["QUIT"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    w.cmd(&["SET", "gone", "1"]);
    seen.push(t.read());
    seen.push(t.cmd(&["CLIENT", "TRACKINGINFO"]));
    seen.push(client_flags(t, target_id));
    // RESP3 without a redirect: pushes on the tracking connection itself.
    t.cmd(&["CLIENT", "TRACKING", "off"]);
    t.cmd(&["CLIENT", "TRACKING", "on"]);
    t.cmd(&["GET", "self"]);
    w.cmd(&["SET", "self", "1"]);
    seen.push(t.read());
    // Its own write invalidates what it read too (no NOLOOP), after the reply.
    seen.push(t.cmd(&["GET", "self"]));
    seen.push(t.cmd(&["SET", "self", "2"]));
    seen.push(t.read());
}

/// CLIENT INFO's `flags` field, and whether `redir` names the target (ids differ between
/// the servers).
fn client_flags(c: &mut Raw, target_id: &str) -> Reply {
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    let field = |name: &str| {
        info.split_whitespace().find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_owned()
    };
    let redir = match field("redir=").as_str() {
        r if r == target_id => "target".to_owned(),
        r => r.to_owned(),
    };
    Reply::bulk(&format!("flags={} redir={redir}", field("flags=")))
}

/// `r` with the client id `id` written `target`, at any depth.
fn norm(r: Reply, id: &Reply) -> Reply {
    match r {
        r if r == *id => Reply::bulk("target"),
        Reply::Array(v) => Reply::Array(v.into_iter().map(|r| norm(r, id)).collect()),
        Reply::Push(v) => Reply::Push(v.into_iter().map(|r| norm(r, id)).collect()),
        Reply::Map(v) => Reply::Map(v.into_iter().map(|(k, r)| (k, norm(r, id))).collect()),
        r => r,
    }
}

#[test]
fn tracking_answers_and_invalidates_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (theirs, ours) = (conversation(r.port), conversation(s.port));
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(b, a, "step {i}: redis-server said {a:?}, bitcask-server {b:?}");
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn the_tracking_table_holds_at_most_its_limit() {
    let s = Server::start(&[]);
    let (mut t, mut target) = (s.raw(), s.raw());
    let target_id = id_of(&mut target);
    target.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    assert_eq!(t.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1000"]), Reply::ok());
    t.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &target_id]);
    // A client reading 20,000 distinct keys.
    for chunk in 0..20 {
        let keys: Vec<String> = (0..1000).map(|i| format!("k{}", chunk * 1000 + i)).collect();
        let mut argv = vec!["MGET"];
        argv.extend(keys.iter().map(String::as_str));
        t.cmd(&argv);
    }
    let info = t.cmd(&["INFO", "stats"]).text();
    let keys: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("tracking_total_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    eprintln!("20,000 keys read under a limit of 1,000: {keys} in the table");
    assert!(keys <= 1000, "{keys} keys tracked");
    // Each key pushed out was invalidated: 19,000 messages of one key.
    let mut told = 0;
    while told < 19_000 {
        let Reply::Array(m) = target.read() else { panic!() };
        told += m[2].items().len();
    }
    assert_eq!(told, 19_000);
}
