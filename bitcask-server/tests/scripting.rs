//! Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT), checked against a real
//! redis-server side by side: the conversions both ways, the sandbox, the `redis` library,
//! `cjson`, `cmsgpack`, `bit` and `struct`, and every error text. Then what Redis cannot
//! show: a script's writes are one atomic batch, a runaway script is stopped by SCRIPT KILL,
//! a hostile one cannot take the server down.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Reference, Reply, Server};

fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&str]) {
    let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
    assert_eq!(b, a, "{cmd:?}: redis-server said {a:?}, bitcask-server {b:?}");
}

/// Scripts whose replies must match redis-server's byte for byte (`EVAL <script> 0`).
const SCRIPTS: &[&str] = &[
    "return 'hello'",
    "return _G",
    "local a = {}; setmetatable(a,{__index=function() foo() end}) return a",
    "return 100.5",
    "return -0.5",
    "return 9007199254740993",
    "return true",
    "return false",
    "return {ok='fine'}",
    "return {err='ERR this is an error'}",
    "return {1,2,3,'ciao',{1,2}}",
    "return {1,'a',true,false,3}",
    "return {1,{ok='x'},{err='y'}}",
    "return {double=3.5}",
    "return {map={a=1}}",
    "return a",
    "a=1",
    "syntax error here",
    "return redis.call('select',99)",
    "local x = 1\nreturn redis.call('nosuch')",
    "return redis.call()",
    "return redis.call('get', {})",
    "return redis.call('set','x')",
    "return redis.pcall('get','a','b')",
    "return redis.call('multi')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('watch', 'x')",
    "error('boom')",
    "error('x', 0)",
    "error(42)",
    "error(nil)",
    "error({err='MY boom'})",
    "error(redis.error_reply('x'))",
    "return redis.error_reply('x')",
    "return redis.error_reply('-x')",
    "return redis.error_reply('')",
    "return redis.error_reply('MY x')",
    "return {err='x'}",
    "return {err='-x'}",
    "return {err=''}",
    "return redis.status_reply('')",
    "return {ok='a b'}",
    "local t = redis.error_reply('x'); return t['err']",
    "return {1, {err='x'}}",
    "return redis.pcall('select', 99)",
    "local t = redis.pcall('select', 99); return t['err']",
    "redis.call('set','k1','v'); return redis.call('get','k1')",
    "return redis.pcall('incr','k1')",
    "local t = redis.pcall('incr','k1'); return {type(t), t['err']}",
    "redis.call('select', 5); return redis.call('get','k1')",
    "return redis.call('get', 'k1')",
    "return redis.call('incrbyfloat', 'f', '1.5')",
    "return redis.call('echo', 1.5)",
    "return redis.call('echo', 3)",
    "return redis.call('echo', 1e20)",
    "local x={}; return redis.call('ping', x)",
    "return redis.setresp(3)",
    "redis.setresp(4)",
    "redis.setresp(3); return redis.call('set', 'r3', 'v')",
    "redis.setresp(3); return redis.call('get', 'nosuchkey') == nil",
    "return redis.call('get', 'nosuchkey') == false",
    "return redis.REPL_ALL",
    "return redis.LOG_WARNING",
    "redis.log(redis.LOG_WARNING, 'from a script'); return 1",
    "redis.log(9, 'x')",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.sha1hex('Pizza & Mandolino')",
    "return redis.sha1hex('')",
    "return tostring(1e100)",
    "return cjson.encode({1,2,{a=1}})",
    "return cjson.encode({a='x/y', b={}})",
    "return cjson.decode('[1,2,{\"a\":null}]')[3]['a'] == cjson.null",
    "return cjson.decode('{\"a\":[1,2.5,\"x\"]}').a[2]",
    "return cjson.decode('[1,2')",
    "return bit.band(7,3)",
    "return bit.tohex(255)",
    "return bit.tohex(-1, -4)",
    "return bit.lshift(1, 40)",
    "return bit.tobit(4294967295)",
    "return unpack({1,2})",
    "return loadstring('return 1')()",
    "return loadstring(string.dump(function() return 1 end))()",
    "return type(setfenv)",
    "return type(require)",
    "return type(newproxy)",
    "return type(os)",
    "return type(io)",
    "return type(debug)",
    "return _VERSION",
    "setmetatable(_G, {})",
    "local g = getmetatable(_G); g.__index = {}",
    "redis = function() return 1 end",
    "_G = {}",
    "redis.call = function() return 1 end",
    "cjson.encode = function() return 1 end",
    "bit.lshift = function() return 1 end",
    "loadfile('x')",
    "dofile('x')",
    "print('x')",
    "local status, res = pcall(function() return foo end); return 'status: ' .. tostring(status) .. ' result: ' .. res",
    "return string.format('%d %s', 3, 'x')",
    "return table.concat({'a','b'}, '-')",
    "return tonumber('0x10')",
    "local r = {} for i=1,5 do r[i]=i*i end return r",
    "return #KEYS",
    // The #!lua line.
    "#!not-lua\nreturn 1",
    "#!lua\nreturn 1",
    "#!lua badger=data\nreturn 1",
    "#!lua flags=allow-oom,what?\nreturn 1",
    "#!lua flags=no-writes\nreturn redis.call('set','x',1)",
    "#!lua flags=\nreturn 2",
    "#!lua flags=allow-oom,no-cluster,allow-cross-slot-keys,allow-stale,no-writes\nreturn 3",
    // cmsgpack and cjson's settings.
    "local e = cmsgpack.pack(0.1) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
    "local e = cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -1099511627776, 'abc', string.rep('x', 40), string.rep('y', 300), {1,2,3}, {a=1}, true, false, nil, 1.5) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, {4}}, {x='y'}))}",
    "local a = {x=nil,y=5} local b = {x=a} a['x'] = b local e = cmsgpack.pack(a) return #e",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 0)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 0)}",
    "return cmsgpack.unpack('\\196')",
    "return cmsgpack.unpack('\\205\\1')",
    "cmsgpack.pack = 1",
    "return cjson.encode_max_depth(5)",
    "cjson.encode_max_depth(1) local ok = pcall(cjson.encode, {a={b=1}}) cjson.encode_max_depth(1000) return ok",
    "cjson.encode_invalid_numbers(true) local r = cjson.encode({0/0}) cjson.encode_invalid_numbers(false) return r",
    // struct, and numbers past an integer's range.
    "local function hex(e) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h end return hex(struct.pack('bBhHlLT', -1, 255, -300, 65000, -5, 7, 9))",
    "local function hex(e) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h end return hex(struct.pack('>i3I5', -1, 1099511627775))",
    "local function hex(e) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h end return hex(struct.pack('! b h x i', 1, 2, 3))",
    "local function hex(e) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h end return hex(struct.pack('>fd s c3 c0', 0.1, 0.1, 'ab', 'xyzw', 'hello'))",
    "return {struct.unpack('<h b c0', '\\255\\255\\3abcd')}",
    "return {struct.unpack('s s', 'ab\\0cd\\0')}",
    "return {struct.unpack('i', 'abcdefgh', 5)}",
    "return {struct.unpack('I9', string.rep('\\255', 9))}",
    "return {struct.size('!8 b d i h'), struct.size('z'), struct.size('i3 ! i3')}",
    "return struct.size('c0')",
    "return struct.pack('z', 1)",
    "return struct.pack('ii', 1)",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('i40', 1)",
    "return struct.pack('c99999999999', 'a')",
    "return struct.unpack('i', 'ab')",
    "return struct.unpack('s', 'ab')",
    "return struct.unpack('c0', 'ab')",
    "return struct.unpack('i', 'abcd', 0)",
    "return #{struct.unpack(string.rep('b', 9000), string.rep('a', 9000))}",
    "struct.pack = 1",
    "return {1e19, 0/0, -1e30, 2^53}",
];

#[test]
fn scripts_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for script in SCRIPTS {
        same(&mut ours, &mut redis, &["EVAL", script, "0"]);
    }
    // The same under RESP3.
    assert!(matches!(ours.cmd(&["HELLO", "3"]), Reply::Map(_)));
    assert!(matches!(redis.cmd(&["HELLO", "3"]), Reply::Map(_)));
    for script in SCRIPTS {
        same(&mut ours, &mut redis, &["EVAL", script, "0"]);
    }
}

#[test]
fn keys_args_evalsha_and_the_script_cache_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let get = "return redis.call('get', KEYS[1])";
    let cases: &[&[&str]] = &[
        &["SET", "mykey", "myval"],
        &["EVAL", "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", "2", "a{t}", "b{t}", "c{t}", "d{t}"],
        &["EVAL", get, "1", "mykey"],
        &["EVALSHA", "fd758d1589d044dd850a6f05d52f2eefd27f033f", "1", "mykey"],
        &["EVALSHA", "FD758D1589D044DD850A6F05D52F2EEFD27F033F", "1", "mykey"],
        &["EVALSHA", "NotValidShaSUM", "0"],
        &["EVALSHA", "ffd632c7d33e571e9f24556ebed26c3479a87130", "0"],
        &["EVAL", "return 1", "x"],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return 1", "2", "a"],
        &["EVAL"],
        &["SCRIPT", "LOAD", "return 'loaded'"],
        &["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
        &[
            "SCRIPT",
            "EXISTS",
            "b534286061d4b9e4026607613b95c06c06015ae8",
            "ffffffffffffffffffffffffffffffffffffffff",
        ],
        &["SCRIPT", "FLUSH"],
        &["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8"],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "FLUSH", "FOO"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "FOO"],
        &["EVAL_RO", get, "1", "mykey"],
        &["EVAL_RO", "return redis.call('set','x','y')", "1", "x"],
        &["EVAL_RO", "local t = redis.pcall('set','x','y'); return t['err']", "1", "x"],
        &["EVALSHA_RO", "fd758d1589d044dd850a6f05d52f2eefd27f033f", "1", "mykey"],
        &["EVAL_RO", "#!lua\nreturn 1", "0"],
        &["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
        &["MULTI"],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"],
        &["EXEC"],
    ];
    for cmd in cases {
        same(&mut ours, &mut redis, cmd);
    }
}

#[test]
fn a_scripts_writes_are_seen_by_it_and_kept_as_redis_keeps_them() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    // The script fails after two writes: as in Redis, what it wrote before the error stays.
    let script = "redis.call('set', KEYS[1], 'a'); redis.call('set', KEYS[2], 'b'); return redis.call('nosuch')";
    same(&mut ours, &mut redis, &["EVAL", script, "2", "{t}1", "{t}2"]);
    same(&mut ours, &mut redis, &["EXISTS", "{t}1", "{t}2"]);
    let mut c = ours;
    // Reads inside the script see its own writes.
    let script = "redis.call('set', KEYS[1], 'v'); return redis.call('get', KEYS[1])";
    assert_eq!(c.cmd(&["EVAL", script, "1", "k"]), Reply::bulk("v"));
    // A script's SELECT does not move the caller.
    assert_eq!(
        c.cmd(&["EVAL", "redis.call('select', 3); return redis.call('set', 'in3', 'x')", "0"]),
        Reply::ok()
    );
    assert_eq!(c.cmd(&["EXISTS", "in3"]), Reply::Int(0));
    assert_eq!(c.cmd(&["SELECT", "3"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "in3"]), Reply::bulk("x"));
}

#[test]
fn concurrent_scripts_lose_no_update() {
    let s = Server::start(&[]);
    let script = "local v = tonumber(redis.call('get', KEYS[1]) or '0'); redis.call('set', KEYS[1], v + 1); return v + 1";
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let port = s.port;
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for _ in 0..500 {
                    assert!(matches!(c.cmd(&["EVAL", script, "1", "counter"]), Reply::Int(_)));
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(s.raw().cmd(&["GET", "counter"]), Reply::bulk("2000"));
}

#[test]
fn a_runaway_script_answers_busy_to_others_until_script_kill() {
    let s = Server::start(&["--busy-reply-threshold", "200"]);
    let mut runner = s.raw();
    runner.send(&Raw::frame(&[b"EVAL", b"while true do end", b"0"]));
    std::thread::sleep(Duration::from_millis(600));
    // A new connection is served by a thread the script does not occupy.
    let mut other = s.raw();
    let busy = other.cmd(&["GET", "x"]);
    assert_eq!(
        busy.error_text(),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    let killed = runner.read();
    assert!(killed.error_text().contains("Script killed by user with SCRIPT KILL"), "{killed:?}");
    assert_eq!(
        other.cmd(&["SCRIPT", "KILL"]).error_text(),
        "NOTBUSY No scripts in execution right now."
    );
    assert_eq!(other.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(runner.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn a_transaction_meeting_a_runaway_script_is_discarded_whole() {
    let s = Server::start(&["--busy-reply-threshold", "100"]);
    let (mut runner, mut tx, mut killer) = (s.raw(), s.raw(), s.raw());
    assert_eq!(tx.cmd(&["SET", "xx", "1"]), Reply::ok());
    // MULTI passes while the script runs; a command refused with BUSY makes EXEC abort.
    runner.send(&Raw::frame(&[b"EVAL", b"while true do end", b"0"]));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(tx.cmd(&["MULTI"]), Reply::ok());
    assert!(tx.cmd(&["INCR", "xx"]).error_text().starts_with("BUSY "));
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    runner.read();
    assert_eq!(tx.cmd(&["INCR", "xx"]), Reply::Simple("QUEUED".into()));
    assert_eq!(
        tx.cmd(&["EXEC"]).error_text(),
        "EXECABORT Transaction discarded because of previous errors."
    );
    // An EXEC refused with BUSY ends the transaction, saying why.
    assert_eq!(tx.cmd(&["MULTI"]), Reply::ok());
    assert_eq!(tx.cmd(&["INCR", "xx"]), Reply::Simple("QUEUED".into()));
    runner.send(&Raw::frame(&[b"EVAL", b"while true do end", b"0"]));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        tx.cmd(&["EXEC"]).error_text(),
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    runner.read();
    assert_eq!(tx.cmd(&["EXEC"]).error_text(), "ERR EXEC without MULTI");
    assert_eq!(tx.cmd(&["GET", "xx"]), Reply::bulk("1"));
}

#[test]
fn a_runaway_script_that_wrote_is_unkillable_but_shutdown_nosave_stops_it() {
    let s = Server::start(&["--busy-reply-threshold", "200"]);
    let mut runner = s.raw();
    runner.send(&Raw::frame(&[
        b"EVAL",
        b"redis.call('set','w','1') while true do end",
        b"1",
        b"w",
    ]));
    std::thread::sleep(Duration::from_millis(600));
    let mut other = s.raw();
    assert!(other.cmd(&["SCRIPT", "KILL"]).error_text().starts_with("UNKILLABLE"));
    let started = Instant::now();
    let (code, tmp) = s.stop_with(|child, port| {
        let mut c = Raw::connect(port);
        c.send(&Raw::frame(&[b"SHUTDOWN", b"NOSAVE"]));
        common::wait_for(child)
    });
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(10));
    // SHUTDOWN NOSAVE stopped the script before its writes were committed.
    let dir = tmp.as_ref().unwrap().path().join("data");
    let s = Server::start_in(&dir, &[]);
    assert_eq!(s.raw().cmd(&["EXISTS", "w"]), Reply::Int(0));
}

#[test]
fn hostile_scripts_get_errors_and_the_server_goes_on() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    // Memory: a string that doubles until the interpreter's bound.
    let r = c.cmd(&["EVAL", "local s = 'x' while true do s = s .. s end", "0"]);
    assert!(r.error_text().contains("not enough memory"), "{r:?}");
    // Deep recursion, a reply nested past the limit, error values of every type.
    let r = c.cmd(&["EVAL", "local function f() return f() + 1 end return f()", "0"]);
    assert!(r.error_text().starts_with("ERR"), "{r:?}");
    assert!(c.cmd(&["EVAL", "error({})", "0"]).error_text().starts_with("ERR"));
    assert!(c.cmd(&["EVAL", "error(function() end)", "0"]).error_text().starts_with("ERR"));
    assert!(c
        .cmd(&["EVAL", "return coroutine.wrap(function() error('x') end)()", "0"])
        .error_text()
        .starts_with("ERR"));
    assert_eq!(c.cmd(&["EVAL", "return 'still here'", "0"]), Reply::bulk("still here"));
}

#[test]
fn redis_py_lock_and_a_lua_rate_limiter_work() {
    let s = Server::start(&[]);
    let py = format!(
        r#"
import redis, time
r = redis.Redis(port={port})
lock = r.lock("resource", timeout=5)
assert lock.acquire(blocking=False)
assert not r.lock("resource", timeout=5).acquire(blocking=False)
assert lock.extend(5)
assert r.pttl("resource") > 5000
lock.release()
assert r.get("resource") is None
# A fixed-window rate limiter as libraries write it.
limiter = r.register_script('''
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1
''')
allowed = [limiter(keys=["rl:user"], args=[3, 10000]) for _ in range(5)]
assert allowed == [1, 1, 1, 0, 0], allowed
print("ok")
"#,
        port = s.port
    );
    assert_eq!(common::python(&py), "ok");
}

#[test]
fn sigterm_stops_a_runaway_script_and_the_server_exits() {
    let s = Server::start(&[]);
    let mut runner = s.raw();
    runner.send(&Raw::frame(&[b"EVAL", b"redis.call('set','w','1') while true do end", b"0"]));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (code, _tmp) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(10), "shutdown waited for the script");
}

#[test]
fn with_one_network_thread_other_clients_still_get_busy_and_can_kill_the_script() {
    // Scripts run off the network thread, so the clients it serves go on being served.
    let s = Server::start(&["--threads", "1", "--busy-reply-threshold", "100"]);
    let (mut runner, mut other) = (s.raw(), s.raw());
    runner.send(&Raw::frame(&[b"EVAL", b"while true do end", b"0"]));
    std::thread::sleep(Duration::from_millis(400));
    assert!(other.cmd(&["GET", "x"]).error_text().starts_with("BUSY"));
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    assert!(runner.read().error_text().contains("Script killed by user with SCRIPT KILL"));
    assert_eq!(other.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn a_killed_script_cannot_catch_its_end_with_pcall() {
    let s = Server::start(&["--busy-reply-threshold", "100"]);
    let mut runner = s.raw();
    let script = b"local f = function() while true do end end while true do pcall(f) xpcall(f, function() end) end";
    runner.send(&Raw::frame(&[b"EVAL", script, b"0"]));
    std::thread::sleep(Duration::from_millis(400));
    let mut other = s.raw();
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    assert!(runner.read().error_text().contains("Script killed by user with SCRIPT KILL"));
    assert_eq!(other.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn a_script_that_outgrows_the_network_thread_runs_once_on_a_blocking_thread() {
    // A script starts on the network thread; one that runs long stops there, nothing of it
    // kept (its write, its reply, a pcall that would catch the stop), and runs again on a
    // blocking thread, where its later runs go straight.
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.raw();
    let script = "redis.call('INCR', KEYS[1]) \
        local ok = pcall(function() local i = 0 while i < 3000000 do i = i + 1 end end) \
        return {ok and 1 or 0, redis.call('GET', KEYS[1])}";
    let expect = |n: &str| Reply::Array(vec![Reply::Int(1), Reply::bulk(n)]);
    assert_eq!(c.cmd(&["EVAL", script, "1", "n"]), expect("1"));
    assert_eq!(c.cmd(&["EVAL", script, "1", "n"]), expect("2"));
    assert_eq!(c.cmd(&["GET", "n"]), Reply::bulk("2"));
    let stats = c.cmd(&["INFO", "commandstats"]).text();
    assert!(stats.contains("cmdstat_eval:calls=2,"), "{stats}");
    // A short script answers from the network thread meanwhile, in order.
    c.send(&Raw::frame(&[b"EVAL", script.as_bytes(), b"1", b"n"]));
    c.send(&Raw::frame(&[b"EVAL", b"return redis.call('INCR', KEYS[1])", b"1", b"n"]));
    assert_eq!(c.read(), expect("3"));
    assert_eq!(c.read(), Reply::Int(4));
}

#[test]
fn info_memory_counts_the_cached_scripts() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for i in 0..3 {
        let Reply::Bulk(_) = c.cmd(&["SCRIPT", "LOAD", &format!("return {i}")]) else { panic!() };
    }
    assert!(c.cmd(&["INFO", "memory"]).text().contains("number_of_cached_scripts:3\r\n"));
    assert_eq!(c.cmd(&["SCRIPT", "FLUSH", "ASYNC"]), Reply::ok());
    assert!(c.cmd(&["INFO", "memory"]).text().contains("number_of_cached_scripts:0\r\n"));
}
