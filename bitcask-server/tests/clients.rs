//! CLIENT as applications and tools use it: CLIENT LIST and INFO with Redis's fields and
//! filters, CLIENT KILL in both forms with redis-server's errors, CLIENT REPLY, CLIENT PAUSE
//! and UNPAUSE, and RESET clearing the name everywhere.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Reference, Reply, Server};

fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&str]) {
    let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
    assert_eq!(b, a, "{cmd:?}");
}

/// The value of `field` in a CLIENT LIST line.
fn field<'a>(line: &'a str, field: &str) -> &'a str {
    let at = format!("{field}=");
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(at.as_str()))
        .unwrap_or_else(|| panic!("{field} in {line}"))
}

#[test]
fn client_list_shows_what_each_client_is_doing() {
    let s = Server::start(&[]);
    let (mut me, mut other) = (s.raw(), s.raw());
    assert_eq!(other.cmd(&["CLIENT", "SETNAME", "worker"]), Reply::ok());
    assert_eq!(other.cmd(&["SELECT", "3"]), Reply::ok());
    assert_eq!(other.cmd(&["MULTI"]), Reply::ok());
    assert_eq!(other.cmd(&["SET", "k", "v"]), Reply::Simple("QUEUED".into()));
    // The other client connected right after this one: the next id.
    let Reply::Int(other_id) = me.cmd(&["CLIENT", "ID"]) else { panic!() };
    let other_id = other_id + 1;
    let list = me.cmd(&["CLIENT", "LIST"]).text();
    let line = list.lines().find(|l| l.contains("name=worker")).expect("the named client");
    assert_eq!(field(line, "id"), other_id.to_string());
    assert_eq!(field(line, "db"), "3");
    assert_eq!(field(line, "flags"), "x");
    assert_eq!(field(line, "multi"), "1");
    assert_eq!(field(line, "cmd"), "set");
    assert!(field(line, "laddr").ends_with(&format!(":{}", s.port)), "{line}");
    assert!(field(line, "fd").parse::<i64>().unwrap() > 2, "{line}");
    // This client's own line: its command and its query buffer (the request itself).
    let mine = me.cmd(&["CLIENT", "INFO"]).text();
    assert_eq!(field(&mine, "cmd"), "client|info");
    assert_eq!(field(&mine, "qbuf"), "26");
    assert_eq!(field(&mine, "multi"), "-1");
    // Filters.
    let only = me.cmd(&["CLIENT", "LIST", "ID", &other_id.to_string()]).text();
    assert_eq!(only.lines().count(), 1, "{only}");
    assert!(only.contains("name=worker"));
    assert_eq!(me.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]).text(), "");
    assert_eq!(me.cmd(&["CLIENT", "LIST", "TYPE", "normal"]).text().lines().count(), 2);
    // RESET clears the name in the list too.
    assert_eq!(other.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    let list = me.cmd(&["CLIENT", "LIST", "ID", &other_id.to_string()]).text();
    assert_eq!(field(&list, "name"), "", "{list}");
    assert_eq!(field(&list, "db"), "0", "{list}");
}

#[test]
fn client_kill_and_list_errors_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for cmd in [
        &["CLIENT", "KILL"][..],
        &["CLIENT", "KILL", "id", "10", "wrong_arg"],
        &["CLIENT", "KILL", "id", "str"],
        &["CLIENT", "KILL", "id", "-1"],
        &["CLIENT", "KILL", "id", "0"],
        &["CLIENT", "KILL", "type", "wrong_type"],
        &["CLIENT", "KILL", "user", "wrong_user"],
        &["CLIENT", "KILL", "skipme", "yes_or_no"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "id", "9999"],
        &["CLIENT", "LIST", "TYPE", "nope"],
        &["CLIENT", "LIST", "ID", "x"],
        &["CLIENT", "LIST", "FOO"],
        &["CLIENT", "REPLY", "maybe"],
        &["CLIENT", "PAUSE", "x"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "10", "SOME"],
        &["CLIENT", "GETREDIR"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
}

#[test]
fn client_kill_closes_the_clients_it_selects_at_once() {
    let s = Server::start(&[]);
    let mut me = s.raw();
    let (mut a, mut b) = (s.raw(), s.raw());
    // (Each has had a reply: the server has listed it.)
    assert_eq!(a.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(b.cmd(&["PING"]), Reply::Simple("PONG".into()));
    let addr = field(&a.cmd(&["CLIENT", "INFO"]).text(), "addr").to_owned();
    // The old form, by address.
    assert_eq!(me.cmd(&["CLIENT", "KILL", &addr]), Reply::ok());
    assert!(a.is_closed());
    // SKIPME yes (the default) closes every other client, and the count drops at once.
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "SKIPME", "yes"]), Reply::Int(2));
    let info = me.cmd(&["INFO", "clients"]).text();
    assert!(info.contains("connected_clients:1\r\n"), "{info}");
    assert!(b.is_closed() && c.is_closed());
    // SKIPME no closes this client too, after its reply.
    assert_eq!(me.cmd(&["CLIENT", "KILL", "SKIPME", "no"]), Reply::Int(1));
    assert!(me.is_closed());
    assert_eq!(s.raw().cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn client_reply_off_and_skip_silence_replies() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send(&Raw::frame(&[b"CLIENT", b"REPLY", b"OFF"]));
    c.send(&Raw::frame(&[b"SET", b"k", b"1"]));
    c.send(&Raw::frame(&[b"PING", b"silenced"]));
    c.send(&Raw::frame(&[b"CLIENT", b"REPLY", b"ON"]));
    assert_eq!(c.read(), Reply::ok());
    c.send(&Raw::frame(&[b"CLIENT", b"REPLY", b"SKIP"]));
    c.send(&Raw::frame(&[b"PING", b"skipped"]));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("1"));
    // ON right after SKIP answers, and clears the skip.
    c.send(&Raw::frame(&[b"CLIENT", b"REPLY", b"SKIP"]));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), Reply::ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn client_pause_write_holds_writes_not_reads_until_unpause() {
    let s = Server::start(&[]);
    let (mut admin, mut writer, mut reader) = (s.raw(), s.raw(), s.raw());
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]), Reply::ok());
    assert_eq!(reader.cmd(&["GET", "k"]), Reply::Nil);
    assert_eq!(reader.cmd(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]), Reply::Int(1));
    writer.send(&Raw::frame(&[b"SET", b"k", b"v"]));
    let held = Instant::now();
    loop {
        let info = admin.cmd(&["INFO", "clients"]).text();
        if info.contains("blocked_clients:1\r\n") {
            break;
        }
        assert!(held.elapsed() < Duration::from_secs(10), "the write is not held: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(reader.cmd(&["GET", "k"]), Reply::Nil, "the write waits");
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), Reply::ok());
    assert_eq!(writer.read(), Reply::ok());
    assert_eq!(reader.cmd(&["GET", "k"]), Reply::bulk("v"));
    // ALL holds reads too, until the pause ends by itself.
    let started = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "300"]), Reply::ok());
    assert_eq!(reader.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
}
