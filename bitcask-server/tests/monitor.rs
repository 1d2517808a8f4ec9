//! MONITOR: the commands clients and scripts run, in Redis's line format and order (EXEC
//! after its commands, a script's calls after it), secrets redacted, administrative commands
//! left out.

mod common;

use common::{Raw, Reply, Server};

/// The part of a monitor line after its timestamp.
fn body(r: Reply) -> String {
    let Reply::Simple(line) = r else { panic!("{r:?}") };
    let (stamp, rest) = line.split_once(' ').unwrap();
    let (secs, micros) = stamp.split_once('.').unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000 && micros.len() == 6, "{line}");
    rest.to_owned()
}

#[test]
fn monitor_shows_each_command_as_redis_does() {
    let s = Server::start(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Reply::ok());
    let mut c = s.raw();
    let Reply::Simple(_) = c.cmd(&["PING"]) else { panic!() };
    let addr = c.cmd(&["CLIENT", "INFO"]).text();
    let addr = addr.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_owned();
    assert_eq!(body(m.read()), format!("[0 {addr}] \"PING\""));
    assert_eq!(body(m.read()), format!("[0 {addr}] \"CLIENT\" \"INFO\""));
    c.cmd(&["SELECT", "2"]);
    c.cmd_bytes(&[b"SET", b"k\n\"", b"\x01v"]);
    assert_eq!(body(m.read()), format!("[0 {addr}] \"SELECT\" \"2\""));
    assert_eq!(body(m.read()), format!("[2 {addr}] \"SET\" \"k\\n\\\"\" \"\\x01v\""));
    // A script, then the commands it ran.
    c.cmd(&["EVAL", "return redis.call('get', KEYS[1])", "1", "k"]);
    assert_eq!(
        body(m.read()),
        format!("[2 {addr}] \"EVAL\" \"return redis.call('get', KEYS[1])\" \"1\" \"k\"")
    );
    assert_eq!(body(m.read()), "[2 lua] \"get\" \"k\"");
    // A transaction: MULTI, the commands as EXEC runs them, then EXEC.
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["EXEC"]);
    for expect in ["\"MULTI\"", "\"INCR\" \"n\"", "\"EXEC\""] {
        assert_eq!(body(m.read()), format!("[2 {addr}] {expect}"));
    }
    // Secrets are redacted; administrative commands are not shown.
    c.cmd(&["CONFIG", "GET", "timeout"]);
    c.cmd(&["AUTH", "secret"]);
    c.cmd(&["HELLO", "2", "AUTH", "default", "secret"]);
    assert_eq!(body(m.read()), format!("[2 {addr}] \"AUTH\" \"(redacted)\""));
    assert_eq!(
        body(m.read()),
        format!("[2 {addr}] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"")
    );
    // MONITOR cannot be queued.
    c.cmd(&["MULTI"]);
    assert!(c.cmd(&["MONITOR"]).error_text().contains("not allowed"));
}

#[test]
fn a_script_run_again_on_a_blocking_thread_shows_once() {
    let s = Server::start(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Reply::ok());
    let mut c = s.raw();
    // Long enough to leave the network thread: the next calls start on a blocking thread.
    let slow = "local i = 0 while i < 3000000 do i = i + 1 end return redis.call('incr', KEYS[1])";
    for n in 1..=3 {
        assert_eq!(c.cmd(&["EVAL", slow, "1", "n"]), Reply::Int(n));
    }
    c.cmd(&["PING"]);
    let mut lines = Vec::new();
    loop {
        let line = body(m.read());
        if line.ends_with("\"PING\"") {
            break;
        }
        lines.push(line);
    }
    let evals = lines.iter().filter(|l| l.contains("\"EVAL\"")).count();
    assert_eq!(evals, 3, "{lines:#?}");
}

/// How much the server grows while 20,000 commands with 32 KiB arguments (640 MB of
/// monitor lines) run, with a monitor that never reads or without one; the clients left.
fn growth(monitor: bool) -> (u64, String) {
    let s = Server::start(&["--threads", "1"]);
    let mut m = s.raw();
    let first = if monitor { "MONITOR" } else { "PING" };
    assert!(!matches!(m.cmd(&[first]), Reply::Error(_)));
    let before = s.rss_kib();
    let big = vec![b'x'; 32 << 10];
    let mut c = s.raw();
    for chunk in 0..200 {
        let mut frames = Vec::new();
        for i in 0..100 {
            frames.extend(Raw::frame(&[b"SET", format!("k{chunk}:{i}").as_bytes(), &big]));
        }
        c.send(&frames);
        for _ in 0..100 {
            assert_eq!(c.read(), Reply::ok());
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    (s.rss_kib().saturating_sub(before), c.cmd(&["INFO", "clients"]).text())
}

#[test]
fn a_monitor_that_does_not_read_is_closed_and_holds_bounded_memory() {
    let (with, info) = growth(true);
    let (without, _) = growth(false);
    let extra = with.saturating_sub(without);
    eprintln!("a monitor that does not read grew RSS by {extra} KiB");
    // At most a backlog of lines (1024 of at most 64 KiB), not the 640 MB it was sent.
    assert!(extra < 80 * 1024, "RSS grew {extra} KiB more with the monitor");
    assert!(info.contains("connected_clients:1\r\n"), "the monitor was closed: {info}");
}
