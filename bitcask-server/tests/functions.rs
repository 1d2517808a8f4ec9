//! Redis 7 functions (FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/KILL/DUMP/RESTORE, FCALL,
//! FCALL_RO), against a real redis-server side by side; libraries outlive a restart, and a
//! FUNCTION DUMP moves between redis-server and this server both ways.

mod common;

use common::{Raw, Reference, Reply, Server};

const MYLIB: &str = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return redis.call('nosuch') end)\nredis.register_function{function_name='f2', callback=function(keys, args) return {keys[1], args[1]} end, flags={'no-writes'}, description='d'}\n";
const SETTER: &str = "#!lua name=z\nredis.register_function('g', function(keys, args) return redis.call('set', keys[1], args[1]) end)";

fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&str]) {
    let (mut a, mut b) = (redis.cmd(cmd), ours.cmd(cmd));
    if cmd.get(1) == Some(&"LIST") {
        // Redis lists libraries and functions in its dictionaries' order.
        (a, b) = (unordered(a), unordered(b));
    }
    assert_eq!(b, a, "{cmd:?}");
}

/// Every array's items sorted (by how they print), recursively.
fn unordered(r: Reply) -> Reply {
    match r {
        Reply::Array(items) => {
            let mut items: Vec<Reply> = items.into_iter().map(unordered).collect();
            items.sort_by_key(|i| format!("{i:?}"));
            Reply::Array(items)
        }
        other => other,
    }
}

#[test]
fn functions_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let cases: &[&[&str]] = &[
        &["FUNCTION", "LOAD", MYLIB],
        &["FCALL", "f1", "0"],
        &["FCALL", "f2", "1", "k", "a"],
        &["FCALL_RO", "f1", "0"],
        &["FCALL_RO", "f2", "1", "k", "a"],
        &["FCALL", "nosuch", "0"],
        &["FCALL", "f2", "-1"],
        &["FCALL", "f2", "5", "a"],
        &["FUNCTION", "LOAD", "#!lua name=mylib\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "return 1"],
        &["FUNCTION", "LOAD", "#!foo name=x\n"],
        &["FUNCTION", "LOAD", "#!lua\n"],
        &["FUNCTION", "LOAD", "#!lua name=x foo=bar\n"],
        &["FUNCTION", "LOAD", "#!lua name=x-y\n"],
        &["FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('f1', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=y\nsyntax error"],
        &["FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('a-b', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('a', function() end) redis.register_function('a', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=y\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "my*", "WITHCODE"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "DELETE", "nosuch"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "LOAD", "#!lua name=z\nredis.register_function('g', function(keys, args) return error('boom') end)"],
        &["FCALL", "g", "0"],
        &["FUNCTION", "LOAD", "REPLACE", SETTER],
        &["FCALL", "g", "1", "fk", "fv"],
        &["GET", "fk"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FUNCTION", "LIST", "WITHCODE"],
        &["FUNCTION", "RESTORE", "garbage"],
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "LIST"],
    ];
    for cmd in cases {
        same(&mut ours, &mut redis, cmd);
    }
}

#[test]
fn libraries_outlive_a_restart_and_dumps_move_both_ways() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    assert_eq!(redis.cmd(&["FUNCTION", "LOAD", MYLIB]), Reply::bulk("mylib"));
    let Reply::Bulk(theirs) = redis.cmd(&["FUNCTION", "DUMP"]) else { panic!() };
    assert_eq!(ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &theirs]), Reply::ok());
    // A clash answers as redis-server's own (no quotes around the name on RESTORE).
    assert_eq!(
        ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &theirs]),
        redis.cmd_bytes(&[b"FUNCTION", b"RESTORE", &theirs])
    );
    assert_eq!(ours.cmd(&["FUNCTION", "LOAD", SETTER]), Reply::bulk("z"));
    assert_eq!(ours.cmd(&["SET", "plain", "1"]), Reply::ok());
    // After a restart: the libraries are back, and they are not keys.
    let s = s.restart();
    let mut ours = s.raw();
    assert_eq!(ours.cmd(&["DBSIZE"]), Reply::Int(1));
    assert_eq!(
        ours.cmd(&["FCALL", "f2", "1", "k", "a"]),
        Reply::Array(vec![Reply::bulk("k"), Reply::bulk("a")])
    );
    assert_eq!(ours.cmd(&["FCALL", "g", "1", "fk", "fv"]), Reply::ok());
    // Ours back into redis-server.
    let Reply::Bulk(mine) = ours.cmd(&["FUNCTION", "DUMP"]) else { panic!() };
    assert_eq!(redis.cmd_bytes(&[b"FUNCTION", b"RESTORE", &mine, b"REPLACE"]), Reply::ok());
    assert_eq!(redis.cmd(&["FCALL", "g", "1", "fk", "fv"]), Reply::ok());
    assert_eq!(redis.cmd(&["FUNCTION", "STATS"]), ours.cmd(&["FUNCTION", "STATS"]));
    // FLUSH also outlives a restart.
    assert_eq!(ours.cmd(&["FUNCTION", "FLUSH"]), Reply::ok());
    let s = s.restart();
    assert_eq!(s.raw().cmd(&["FCALL", "g", "0"]).error_text(), "ERR Function not found");
}

#[test]
fn library_loading_errors_and_its_globals_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for body in [
        "redis.register_function(1, 2)",
        "redis.register_function(1, function() end) redis.register_function(1, function() end)",
        "redis.register_function{function_name='f', callback=function() end, what=1}",
        "redis.register_function{callback=function() end}",
        "redis.register_function{function_name=1}",
        "redis.register_function{function_name='f', callback=function() end, flags='x'}",
        "redis.register_function{function_name='f', callback=function() end, flags={'x'}}",
        "redis.register_function{function_name='f', callback=2}",
        "redis.register_function{function_name={}, callback=function() end}",
        "redis.register_function{function_name='f', callback=function() end, description={}}",
        "redis.register_function{[1]='f'}",
        "redis.register_function('a', 'b', 'c')",
        "redis.register_function(5)",
        "math.random()",
        "redis.call('ping')",
        "getmetatable('')",
        "redis.setresp(3)",
        "local a = redis.math",
        "redis.x = 1",
        "x = 1",
        "local a = 1 while 1 do a = a + 1 end",
    ] {
        let code = format!("#!lua name=lib\n{body}");
        same(&mut ours, &mut redis, &["FUNCTION", "LOAD", "REPLACE", &code]);
    }
    // Once loaded, a function sees the sandbox (redis.call, math), the load-time `redis`
    // cannot be written, and registering outside a load is refused.
    let lib = "#!lua name=lib\nlocal lib = redis\n\
        lib.register_function('F1', function() return redis.call('ping') .. math.floor(1.5) end)\n\
        lib.register_function('f2', function() lib.x = 1 end)\n\
        lib.register_function('f3', function() lib.register_function('g', function() end) end)";
    for cmd in [
        &["FUNCTION", "LOAD", "REPLACE", lib][..],
        &["FCALL", "f1", "0"],
        &["FCALL", "F1", "x"],
        &["FCALL_RO", "F1", "0"],
        &["FUNCTION", "FLUSH", "SYNC", "extra"],
        &["FUNCTION", "RESTORE", "a", "b", "c"],
    ] {
        same(&mut ours, &mut redis, cmd);
    }
    for f in ["f2", "f3"] {
        let (a, b) = (ours.cmd(&["FCALL", f, "0"]), redis.cmd(&["FCALL", f, "0"]));
        let cut =
            |r: &Reply| r.error_text().split(" script:").next().unwrap_or_default().to_owned();
        assert_eq!(cut(&a), cut(&b), "{f}");
    }
}
