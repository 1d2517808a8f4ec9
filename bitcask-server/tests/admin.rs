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
