//! String commands against the real server: Redis's semantics and exact reply texts.

mod common;

use common::{Reply, Server};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

#[test]
fn set_options_follow_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "k", "v2", "NX"]), Reply::Nil);
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("v1"));
    assert_eq!(c.cmd(&["SET", "k", "v2", "XX", "GET"]), Reply::bulk("v1"));
    assert_eq!(c.cmd(&["SET", "missing", "v", "XX"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "k", "v3", "NX", "GET"]), Reply::bulk("v2"));
    assert_eq!(c.cmd(&["SET", "k", "v", "NX", "XX"]).error_text(), "ERR syntax error");
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "10", "PX", "5"]).error_text(), "ERR syntax error");
    assert_eq!(c.cmd(&["SET", "k", "v", "EX"]).error_text(), "ERR syntax error");
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "0"]).error_text(),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "-5"]).error_text(),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "1x"]).error_text(),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "100"]), Reply::ok());
    let ttl = c.cmd(&["TTL", "k"]);
    assert!(matches!(ttl, Reply::Int(99..=100)), "{ttl:?}");
    assert_eq!(c.cmd(&["SET", "k", "w", "KEEPTTL"]), Reply::ok());
    assert!(matches!(c.cmd(&["TTL", "k"]), Reply::Int(99..=100)));
    // A plain SET clears the TTL.
    assert_eq!(c.cmd(&["SET", "k", "x"]), Reply::ok());
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    let future =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            + 60_000)
            .to_string();
    assert_eq!(c.cmd(&["SET", "k", "x", "PXAT", &future]), Reply::ok());
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), Reply::Int(future.parse().unwrap()));
    assert_eq!(c.cmd(&["SET", "k", "x", "EXAT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Nil, "EXAT in the past: gone");
    assert_eq!(
        c.cmd(&["SET", "k"]).error_text(),
        "ERR wrong number of arguments for 'set' command"
    );
}

#[test]
fn counters_parse_integers_strictly_and_keep_the_ttl() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["INCR", "n"]), int(1));
    assert_eq!(c.cmd(&["INCRBY", "n", "41"]), int(42));
    assert_eq!(c.cmd(&["DECR", "n"]), int(41));
    assert_eq!(c.cmd(&["DECRBY", "n", "-9"]), int(50));
    for bad in ["+1", "007", " 1", "1.0", "", "abc"] {
        assert_eq!(c.cmd(&["SET", "b", bad]), Reply::ok());
        assert_eq!(
            c.cmd(&["INCR", "b"]).error_text(),
            "ERR value is not an integer or out of range",
            "{bad:?}"
        );
        assert_eq!(
            c.cmd(&["INCRBY", "n", bad]).error_text(),
            "ERR value is not an integer or out of range"
        );
    }
    assert_eq!(c.cmd(&["SET", "big", "9223372036854775807"]), Reply::ok());
    assert_eq!(c.cmd(&["INCR", "big"]).error_text(), "ERR increment or decrement would overflow");
    assert_eq!(
        c.cmd(&["DECRBY", "n", "-9223372036854775808"]).error_text(),
        "ERR decrement would overflow"
    );
    assert_eq!(c.cmd(&["SETEX", "t", "100", "5"]), Reply::ok());
    assert_eq!(c.cmd(&["INCR", "t"]), int(6));
    assert!(matches!(c.cmd(&["TTL", "t"]), Reply::Int(99..=100)), "INCR keeps the TTL");
    assert_eq!(c.cmd(&["APPEND", "t", "0"]), int(2));
    assert!(matches!(c.cmd(&["TTL", "t"]), Reply::Int(99..=100)), "APPEND keeps the TTL");
    assert_eq!(c.cmd(&["SET", "f", "10.5"]), Reply::ok());
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "0.1"]), Reply::bulk("10.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "-5e0"]), Reply::bulk("5.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "x"]).error_text(), "ERR value is not a valid float");
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "f", "inf"]).error_text(),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(c.cmd(&["SET", "f", "3"]), Reply::ok());
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "2.0"]), Reply::bulk("5"));
}

#[test]
fn ranges_append_and_lengths() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["APPEND", "s", "Hello"]), int(5));
    assert_eq!(c.cmd(&["APPEND", "s", " World"]), int(11));
    assert_eq!(c.cmd(&["STRLEN", "s"]), int(11));
    assert_eq!(c.cmd(&["STRLEN", "none"]), int(0));
    assert_eq!(c.cmd(&["GETRANGE", "s", "0", "4"]), Reply::bulk("Hello"));
    assert_eq!(c.cmd(&["GETRANGE", "s", "-5", "-1"]), Reply::bulk("World"));
    assert_eq!(c.cmd(&["GETRANGE", "s", "5", "1"]), Reply::bulk(""));
    assert_eq!(c.cmd(&["GETRANGE", "s", "0", "100"]), Reply::bulk("Hello World"));
    assert_eq!(c.cmd(&["GETRANGE", "none", "0", "1"]), Reply::bulk(""));
    assert_eq!(c.cmd(&["SETRANGE", "s", "6", "Redis"]), int(11));
    assert_eq!(c.cmd(&["GET", "s"]), Reply::bulk("Hello Redis"));
    assert_eq!(c.cmd(&["SETRANGE", "pad", "3", "x"]), int(4));
    assert_eq!(c.cmd(&["GET", "pad"]), Reply::Bulk(b"\0\0\0x".to_vec()));
    assert_eq!(c.cmd(&["SETRANGE", "none2", "5", ""]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "none2"]), int(0));
    assert_eq!(c.cmd(&["SETRANGE", "s", "-1", "x"]).error_text(), "ERR offset is out of range");
    assert_eq!(
        c.cmd(&["SETRANGE", "s", "536870911", "xx"]).error_text(),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn multi_key_and_get_then_change_commands() {
    let s = Server::start(&["--shards", "4"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]), Reply::ok());
    assert_eq!(
        c.cmd(&["MGET", "a", "x", "c"]),
        Reply::Array(vec![Reply::bulk("1"), Reply::Nil, Reply::bulk("3")])
    );
    assert_eq!(
        c.cmd(&["MSET", "a", "1", "b"]).error_text(),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(c.cmd(&["MSETNX", "a", "9", "new", "9"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "new"]), int(0));
    assert_eq!(c.cmd(&["MSETNX", "n1", "1", "n2", "2"]), int(1));
    assert_eq!(c.cmd(&["SETNX", "n1", "x"]), int(0));
    assert_eq!(c.cmd(&["SETNX", "n3", "x"]), int(1));
    assert_eq!(c.cmd(&["GETDEL", "n3"]), Reply::bulk("x"));
    assert_eq!(c.cmd(&["GETDEL", "n3"]), Reply::Nil);
    assert_eq!(c.cmd(&["GETEX", "a", "EX", "50"]), Reply::bulk("1"));
    assert!(matches!(c.cmd(&["TTL", "a"]), Reply::Int(49..=50)));
    assert_eq!(c.cmd(&["GETEX", "a", "PERSIST"]), Reply::bulk("1"));
    assert_eq!(c.cmd(&["TTL", "a"]), int(-1));
    assert_eq!(c.cmd(&["GETEX", "a", "EX"]).error_text(), "ERR syntax error");
    assert_eq!(c.cmd(&["PSETEX", "p", "100000", "v"]), Reply::ok());
    assert!(matches!(c.cmd(&["PTTL", "p"]), Reply::Int(99_000..=100_000)));
    assert_eq!(
        c.cmd(&["SETEX", "p", "0", "v"]).error_text(),
        "ERR invalid expire time in 'setex' command"
    );
}

#[test]
fn keys_and_values_are_binary_safe_and_limits_are_clear_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let key: Vec<u8> = (0..=255u8).collect();
    let value: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.cmd_bytes(&[b"SET", &key, &value]), Reply::ok());
    assert_eq!(c.cmd_bytes(&[b"GET", &key]), Reply::Bulk(value));
    // The empty key is a key, as in Redis.
    assert_eq!(c.cmd(&["GET", ""]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "", "v"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", ""]), Reply::bulk("v"));
    // What Redis holds but the store cannot: a key over 64 KiB.
    let long = "k".repeat(70_000);
    assert_eq!(
        c.cmd(&["SET", &long, "v"]).error_text(),
        "ERR key of 70000 bytes exceeds the store's limit of 65536 bytes"
    );
    // The connection goes on serving.
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn the_redis_crate_reads_and_writes() {
    use redis::Commands;
    let s = Server::start(&[]);
    let mut con = s.client();
    let _: () = con.set("greeting", "hello").unwrap();
    let got: String = con.get("greeting").unwrap();
    assert_eq!(got, "hello");
    let n: i64 = con.incr("counter", 5).unwrap();
    assert_eq!(n, 5);
    let _: () = con.set_ex("temp", "x", 30).unwrap();
    let ttl: i64 = con.ttl("temp").unwrap();
    assert!((29..=30).contains(&ttl));
    let vals: Vec<Option<String>> = con.mget(&["greeting", "nope"]).unwrap();
    assert_eq!(vals, vec![Some("hello".into()), None]);
    let err = con.incr::<_, _, i64>("greeting", 1).unwrap_err();
    assert!(err.to_string().contains("value is not an integer or out of range"), "{err}");
}
