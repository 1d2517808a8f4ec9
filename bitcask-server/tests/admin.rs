//! CONFIG SET of the parameters that change at run time (each takes effect at once: a
//! password, an idle timeout, a client limit, the slow log), with redis-server's errors; and
//! SLOWLOG as Redis keeps it.

mod common;

use std::time::Duration;

use common::{Raw, Reference, Reply, Server};

fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&str]) {
    let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
    assert_eq!(b, a, "{cmd:?}");
}

#[test]
fn config_set_answers_as_redis_server_and_changes_nothing_on_error() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for cmd in [
        &["CONFIG", "SET", "slowlog-max-len", "7", "timeout", "100"][..],
        &["CONFIG", "GET", "slowlog-max-len"],
        &["CONFIG", "GET", "timeout"],
        &["CONFIG", "SET", "timeout", "x"],
        &["CONFIG", "SET", "slowlog-max-len", "9", "timeout", "x"],
        &["CONFIG", "GET", "slowlog-max-len"],
        &["CONFIG", "SET", "nosuch", "1"],
        &["CONFIG", "SET", "timeout"],
        &["CONFIG", "SET", "lua-time-limit", "3000"],
        &["CONFIG", "GET", "busy-reply-threshold"],
        &["CONFIG", "SET", "timeout", "0"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
}

#[test]
fn a_new_password_limit_and_timeout_apply_at_once() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.cmd(&["CONFIG", "SET", "requirepass", "s3cret"]), Reply::ok());
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "k"]).error_text(), "NOAUTH Authentication required.");
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), Reply::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), Reply::ok());
    let mut third = s.raw();
    assert_eq!(third.cmd(&["PING"]), Reply::Simple("PONG".into()));
    // maxclients: with three connected (each has had a reply, so each is counted, and none
    // is a closed one the server may not have noticed yet), a fourth is refused.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "3"]), Reply::ok());
    let mut fourth = s.raw();
    assert_eq!(fourth.read().error_text(), "ERR max number of clients reached");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "100"]), Reply::ok());
    // timeout: an idle connection is closed after it.
    assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "1"]), Reply::ok());
    let mut idle = s.raw();
    assert_eq!(idle.cmd(&["PING"]), Reply::Simple("PONG".into()));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.is_closed(), "an idle client outlived the new timeout");
}

/// A slow log entry without what differs between servers (id, time, duration, client).
fn args_of(entry: &Reply) -> Reply {
    entry.items()[3].clone()
}

#[test]
fn slowlog_keeps_and_cuts_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let long = "A".repeat(200);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut mset = vec!["MSET"];
    for k in &many {
        mset.extend([k.as_str(), "v"]);
    }
    for c in [&mut ours, &mut redis] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3"]),
            Reply::ok()
        );
        assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), Reply::ok());
        c.cmd(&["SET", "foo", &long]);
        c.cmd(&mset);
        c.cmd(&["GET", "foo"]);
        c.cmd(&["DEL", "foo"]);
    }
    same(&mut ours, &mut redis, &["SLOWLOG", "LEN"]);
    let (a, b) =
        (redis.cmd(&["SLOWLOG", "GET", "-1"]).items(), ours.cmd(&["SLOWLOG", "GET", "-1"]).items());
    assert_eq!(b.len(), 3);
    assert_eq!(
        b.iter().map(args_of).collect::<Vec<_>>(),
        a.iter().map(args_of).collect::<Vec<_>>()
    );
    assert_eq!(ours.cmd(&["SLOWLOG", "GET", "1"]).items().len(), 1);
    same(&mut ours, &mut redis, &["SLOWLOG", "GET", "-2"]);
    same(&mut ours, &mut redis, &["SLOWLOG", "RESET"]);
    same(&mut ours, &mut redis, &["SLOWLOG", "LEN"]);
    // A negative threshold logs nothing more.
    assert_eq!(ours.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]), Reply::ok());
    let before = ours.cmd(&["SLOWLOG", "LEN"]);
    ours.cmd(&["GET", "foo"]);
    assert_eq!(ours.cmd(&["SLOWLOG", "LEN"]), before);
}

#[test]
fn the_limits_change_at_run_time_with_redis_server_errors() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    for cmd in [
        &["CONFIG", "SET", "proto-max-bulk-len", "10"][..],
        &["CONFIG", "SET", "proto-max-bulk-len", "lots"],
        &["CONFIG", "SET", "client-query-buffer-limit", "1000"],
        &["CONFIG", "SET", "client-output-buffer-limit", "normal 1"],
        &["CONFIG", "SET", "client-output-buffer-limit", "vip 1 0 0"],
        &["CONFIG", "SET", "proto-max-bulk-len", "1mb"],
        &["CONFIG", "GET", "proto-max-bulk-len"],
        &["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"],
        &["CONFIG", "SET", "maxmemory-clients", "0"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
    // The new bulk limit holds for the next request, on connections already open.
    assert_eq!(c.cmd(&["SET", "small", &"x".repeat(1 << 20)]), Reply::ok());
    // (Only the header: the server answers and closes at the length.)
    c.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", (1 << 20) + 1).as_bytes());
    let e = c.read();
    assert!(e.error_text().contains("invalid bulk length"), "{e:?}");
    // The reply limit too: a 2 MB reply past 1 MB closes the client.
    assert_eq!(ours.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]), Reply::ok());
    assert_eq!(ours.cmd(&["SET", "v", &"y".repeat(2 << 20)]), Reply::ok());
    let mut reader = s.raw();
    reader.send(&Raw::frame(&[b"GET", b"v"]));
    assert!(reader.is_closed(), "a reply past the new output limit closes the client");
    // MULTI's queue limit.
    assert_eq!(ours.cmd(&["CONFIG", "SET", "max-multi-commands", "2"]), Reply::ok());
    assert_eq!(ours.cmd(&["MULTI"]), Reply::ok());
    ours.cmd(&["PING"]);
    ours.cmd(&["PING"]);
    assert!(ours.cmd(&["PING"]).error_text().contains("MULTI queue limit reached"));
}
