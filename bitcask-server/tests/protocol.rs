//! The wire: inline commands, pipelining, frames split anywhere, malformed input (each
//! answered with Redis's protocol error and that connection closed, everyone else served),
//! the limits (bulk length, arguments, query buffer, unauthenticated peers, idle
//! connections, maxclients) and thousands of clients at once.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Raw, Reply, Server};

#[test]
fn inline_commands_work_as_redis_benchmark_sends_them() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send(b"PING\r\n");
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
    c.send(b"SET \"a key\" 'it''s'\r\n");
    assert_eq!(c.read().error_text(), "ERR Protocol error: unbalanced quotes in request");
    let mut c = s.raw();
    c.send(b"SET \"a key\" \"x\\x41y\"\nGET \"a key\"\r\n");
    assert_eq!(c.read(), Reply::ok());
    assert_eq!(c.read(), Reply::bulk("xAy"));
    c.send(b"\r\n\r\nPING\r\n");
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
}

#[test]
fn a_pipeline_of_a_thousand_frames_gets_every_reply_in_order() {
    let s = Server::start(&["--shards", "4"]);
    let mut c = s.raw();
    let mut all = Vec::new();
    for i in 0..1000 {
        all.extend(Raw::frame(&[b"SET", format!("k{i}").as_bytes(), format!("v{i}").as_bytes()]));
        all.extend(Raw::frame(&[b"GET", format!("k{i}").as_bytes()]));
    }
    c.send(&all);
    for i in 0..1000 {
        assert_eq!(c.read(), Reply::ok());
        assert_eq!(c.read(), Reply::bulk(&format!("v{i}")));
    }
}

#[test]
fn frames_split_at_every_byte_still_parse() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let frame = Raw::frame(&[b"SET", b"split", b"value with\r\nCRLF inside"]);
    for b in &frame {
        c.send(std::slice::from_ref(b));
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(c.read(), Reply::ok());
    assert_eq!(c.cmd(&["GET", "split"]), Reply::bulk("value with\r\nCRLF inside"));
}

fn protocol_error(s: &Server, bytes: &[u8]) -> String {
    let mut c = s.raw();
    c.send(bytes);
    let e = c.read().error_text().to_string();
    assert!(c.is_closed(), "the connection is closed after {e}");
    e
}

#[test]
fn malformed_frames_get_the_protocol_error_and_only_their_connection_closes() {
    let s = Server::start(&["--max-bulk-len", "1000"]);
    let mut bystander = s.raw();
    assert_eq!(bystander.cmd(&["SET", "safe", "kept"]), Reply::ok());
    let cases: &[(&[u8], &str)] = &[
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*-\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*99999999999\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$1001\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n+PING\r\n", "ERR Protocol error: expected '$', got '+'"),
        (b"*1\r\n$4\r\nPINGxx", "ERR Protocol error: expected CRLF after a bulk string"),
    ];
    for (bytes, want) in cases {
        assert_eq!(protocol_error(&s, bytes), *want, "{:?}", String::from_utf8_lossy(bytes));
    }
    assert_eq!(
        protocol_error(&s, &vec![b'a'; 70_000]),
        "ERR Protocol error: too big inline request"
    );
    let mut long_count = b"*".to_vec();
    long_count.extend(vec![b'1'; 70_000]);
    assert_eq!(protocol_error(&s, &long_count), "ERR Protocol error: too big mbulk count string");
    // The other client never noticed.
    assert_eq!(bystander.cmd(&["GET", "safe"]), Reply::bulk("kept"));
}

#[test]
fn random_garbage_never_takes_the_server_down() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "safe", "kept"]);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..300 {
        let mut junk = Vec::new();
        let len = 1 + round % 200;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias toward protocol bytes.
            let b = match x % 8 {
                0 => b'*',
                1 => b'$',
                2 => b'\r',
                3 => b'\n',
                4 => b'0' + (x >> 8) as u8 % 10,
                5 => b'-',
                _ => (x >> 16) as u8,
            };
            junk.push(b);
        }
        let mut t = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        t.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let _ = t.write_all(&junk);
        let mut sink = [0u8; 4096];
        let _ = t.read(&mut sink);
    }
    assert_eq!(c.cmd(&["GET", "safe"]), Reply::bulk("kept"));
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn unauthenticated_peers_may_not_send_big_frames() {
    let s = Server::start(&["--requirepass", "pw"]);
    assert_eq!(protocol_error(&s, b"*11\r\n"), "ERR Protocol error: invalid multibulk length");
    assert_eq!(protocol_error(&s, b"*1\r\n$20000\r\n"), "ERR Protocol error: invalid bulk length");
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", "pw"]), Reply::ok());
    let big = "x".repeat(20_000);
    let mut args = vec!["MSET"];
    for _ in 0..6 {
        args.extend(["k", big.as_str()]);
    }
    assert_eq!(c.cmd(&args), Reply::ok());
}

#[test]
fn a_client_past_the_query_buffer_limit_is_closed() {
    let s = Server::start(&["--max-query-buffer", "100000"]);
    let mut c = s.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000\r\n");
    let chunk = vec![b'x'; 10_000];
    let mut closed = false;
    for _ in 0..50 {
        if c.stream.get_mut().write_all(&chunk).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(closed || c.is_closed(), "the connection was closed");
    assert_eq!(s.raw().cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn idle_connections_are_closed_after_the_timeout() {
    let s = Server::start(&["--timeout", "1"]);
    let mut idle = s.raw();
    let mut busy = s.raw();
    for _ in 0..15 {
        assert_eq!(busy.cmd(&["PING"]), Reply::Simple("PONG".into()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(idle.is_closed(), "the idle connection was closed");
    assert_eq!(busy.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn clients_past_maxclients_are_refused_with_the_redis_error() {
    let s = Server::start(&["--maxclients", "3"]);
    let mut held: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for c in &mut held {
        assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
    let mut extra = s.raw();
    assert_eq!(extra.read().error_text(), "ERR max number of clients reached");
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(s.raw().cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn two_thousand_clients_at_once_are_all_served() {
    rlimit::increase_nofile_limit(4096).unwrap();
    let s = Server::start(&["--shards", "4"]);
    let mut conns: Vec<Raw> = (0..2000).map(|_| s.raw()).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.send(&Raw::frame(&[b"SET", format!("client:{i}").as_bytes(), i.to_string().as_bytes()]));
    }
    for c in &mut conns {
        assert_eq!(c.read(), Reply::ok());
    }
    for (i, c) in conns.iter_mut().enumerate() {
        assert_eq!(c.cmd(&["GET", &format!("client:{i}")]), Reply::bulk(&i.to_string()));
    }
    let info = conns[0].cmd(&["INFO", "clients"]).text();
    assert!(info.contains("connected_clients:2000"), "{info}");
}
