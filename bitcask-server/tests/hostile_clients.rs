//! Clients that try to make the server hold more than it should, or to get in without the
//! password: a bounded MULTI queue, and authentication without holes (an empty password
//! refused at start, PING before AUTH refused, HELLO's last AUTH the one checked, failed
//! attempts counted in INFO).

mod common;

use common::{bin, Reply, Server};

fn stat(s: &Server, pass: &str, name: &str) -> u64 {
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", pass]), Reply::ok());
    let info = c.cmd(&["INFO", "stats"]).text();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name}: {info}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_transaction_past_the_queue_limit_is_discarded_with_an_error() {
    let s = Server::start(&["--max-multi-commands", "100", "--max-multi-bytes", "100000"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    for i in 0..100 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), Reply::Simple("QUEUED".into()));
    }
    let refused = c.cmd(&["SET", "one-more", "v"]);
    assert!(refused.error_text().contains("MULTI queue limit reached"), "{refused:?}");
    // Nothing after the limit runs outside the transaction either.
    assert!(c.cmd(&["SET", "after", "v"]).error_text().contains("MULTI queue limit reached"));
    assert_eq!(
        c.cmd(&["EXEC"]).error_text(),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(c.cmd(&["EXISTS", "k0", "after"]), Reply::Int(0), "nothing of it ran");
    // The byte bound: a few large arguments (each SET of 40,000 bytes costs ~40,200).
    let big = "x".repeat(40_000);
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "a", &big]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["SET", "b", &big]), Reply::Simple("QUEUED".into()));
    assert!(c.cmd(&["SET", "c", &big]).error_text().contains("MULTI queue limit reached"));
    assert_eq!(c.cmd(&["DISCARD"]), Reply::ok());
    // A transaction under the limits still runs.
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![Reply::ok()]));
}

#[test]
fn an_empty_password_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, env) in [(Some(""), None), (None, Some(""))] {
        let mut cmd = bin();
        cmd.args(["--bind", "0.0.0.0", "--port", "0", "--dir"]).arg(tmp.path());
        if let Some(f) = flag {
            cmd.args(["--requirepass", f]);
        }
        if let Some(e) = env {
            cmd.env("BITCASK_REQUIREPASS", e);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag:?} {env:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("empty password"), "{err}");
    }
}

#[test]
fn ping_before_auth_is_refused_and_failed_attempts_are_counted() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]).error_text(), "NOAUTH Authentication required.");
    assert!(c.cmd(&["AUTH", ""]).error_text().starts_with("WRONGPASS"));
    assert!(c.cmd(&["AUTH", "s3cre"]).error_text().starts_with("WRONGPASS"));
    assert!(c.cmd(&["AUTH", "s3cret!"]).error_text().starts_with("WRONGPASS"));
    // HELLO reads every option, then checks the last AUTH given (as Redis).
    let hello = c.cmd(&["HELLO", "2", "AUTH", "default", "s3cret", "AUTH", "default", "wrong"]);
    assert!(hello.error_text().starts_with("WRONGPASS"), "{hello:?}");
    assert_eq!(c.cmd(&["GET", "k"]).error_text(), "NOAUTH Authentication required.");
    let hello = c.cmd(&["HELLO", "2", "AUTH", "default", "wrong", "AUTH", "default", "s3cret"]);
    assert!(matches!(hello, Reply::Array(_)), "{hello:?}");
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    drop(c);
    assert_eq!(stat(&s, "s3cret", "acl_access_denied_auth"), 4);
}

#[test]
fn scan_keeps_no_copy_of_the_keyspace_per_connection() {
    let s = Server::start(&["--shards", "4"]);
    s.fill(200_000, 8);
    let before = s.rss_kib();
    let mut conns: Vec<_> = (0..300).map(|_| s.raw()).collect();
    for c in &mut conns {
        let Reply::Array(parts) = c.cmd(&["SCAN", "0", "COUNT", "1"]) else { panic!() };
        assert_ne!(parts[0], Reply::bulk("0"), "the walk goes on");
    }
    let grown = s.rss_kib().saturating_sub(before);
    // 300 connections each keeping a sixteenth of 200,000 keys would hold ~100 MB; a
    // stateless cursor holds nothing but each connection's buffers.
    eprintln!("300 SCAN cursors grew RSS by {grown} KiB");
    assert!(grown < 30 * 1024, "RSS grew {grown} KiB for 300 SCAN cursors");
    // Every key is still found by a whole walk.
    let mut c = s.raw();
    let (mut cursor, mut n) = ("0".to_string(), 0);
    loop {
        let Reply::Array(parts) = c.cmd(&["SCAN", &cursor, "COUNT", "1000"]) else { panic!() };
        n += parts[1].items().len();
        cursor = parts[0].text();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(n, 200_000);
}

#[test]
fn a_pathological_keys_pattern_does_not_stall_writers() {
    let s = Server::start(&["--shards", "4"]);
    s.fill(100_000, 8);
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let keys = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = common::Raw::connect(port);
            let stars = "*".repeat(20_000);
            let alternating = "*a".repeat(5_000);
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = if runs % 2 == 0 { &stars } else { &alternating };
                let Reply::Array(_) = c.cmd(&["KEYS", p]) else { panic!("KEYS failed") };
                runs += 1;
            }
            runs
        })
    };
    let mut c = s.raw();
    let mut worst = std::time::Duration::ZERO;
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        let t = std::time::Instant::now();
        assert_eq!(c.cmd(&["SET", &format!("w{i}"), "x"]), Reply::ok());
        worst = worst.max(t.elapsed());
        i += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = keys.join().unwrap();
    assert!(runs >= 2, "KEYS ran {runs} times");
    // Matching holds no lock; copying a thousand keys is all a writer can wait for.
    assert!(worst < std::time::Duration::from_millis(250), "a SET waited {worst:?} ({i} SETs)");
    eprintln!("{i} SETs beside {runs} pathological KEYS; the slowest took {worst:?}");
}

/// Sends `frames` without reading a byte back.
fn send_unread(port: u16, frames: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_write_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
    // The server stops reading once its replies back up: a write may then time out.
    let _ = s.write_all(frames);
    s
}

#[test]
fn replies_to_a_client_that_does_not_read_are_held_one_batch_at_a_time() {
    let s = Server::start(&[]);
    let big = "b".repeat(8 << 20);
    assert_eq!(s.raw().cmd(&["SET", "big", &big]), Reply::ok());
    let before = s.rss_kib();
    // 200 GETs of an 8 MB value (1.6 GB of replies), sent and never read.
    let frames = common::Raw::frame(&[b"GET", b"big"]).repeat(200);
    let stuck = send_unread(s.port, &frames);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let grown = s.rss_kib().saturating_sub(before);
    eprintln!("a client that does not read grew RSS by {grown} KiB");
    assert!(grown < 64 * 1024, "RSS grew {grown} KiB for a client that does not read");
    // Another client is served meanwhile.
    assert_eq!(s.raw().cmd(&["GET", "missing"]), Reply::Nil);
    // Once it reads, every reply arrives.
    let mut c = common::Raw::from_stream(stuck);
    for i in 0..200 {
        assert_eq!(c.read(), Reply::Bulk(big.as_bytes().to_vec()), "reply {i}");
    }
}

#[test]
fn a_reply_past_the_output_limit_closes_the_client_and_frees_its_memory() {
    let s = Server::start(&["--client-output-buffer-limit", "104857600"]);
    let big = "b".repeat(8 << 20);
    assert_eq!(s.raw().cmd(&["SET", "big", &big]), Reply::ok());
    let before = s.rss_kib();
    let mut args = vec!["MGET"];
    args.extend(std::iter::repeat_n("big", 600));
    let mut c = s.raw();
    c.send(&common::Raw::frame(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()));
    assert!(c.is_closed(), "a 4.8 GB MGET reply closes the connection");
    let grown = s.rss_kib().saturating_sub(before);
    eprintln!("a reply past the output limit grew RSS by {grown} KiB");
    assert!(grown < 200 * 1024, "RSS grew {grown} KiB");
    let mut d = s.raw();
    let info = d.cmd(&["INFO", "clients"]).text();
    assert!(info.contains("bitcask_output_limit_disconnections:1"), "{info}");
    // A reply under the limit is served whole.
    let Reply::Array(v) = d.cmd(&["MGET", "big", "big"]) else { panic!() };
    assert_eq!(v.len(), 2);
}

#[test]
fn a_transaction_queue_holds_no_more_memory_than_its_limit() {
    let s = Server::start(&["--max-multi-bytes", "33554432"]);
    let before = s.rss_kib();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    // Small commands cost most per byte: queue them until the limit discards the queue.
    let frame = common::Raw::frame(&[b"SET", b"k", b"v"]);
    let batch = frame.repeat(10_000);
    let mut queued = 0;
    let refused = 'outer: loop {
        c.send(&batch);
        for _ in 0..10_000 {
            match c.read() {
                Reply::Simple(q) if q == "QUEUED" => queued += 1,
                other => break 'outer other,
            }
        }
        assert!(queued < 2_000_000, "the queue never filled");
    };
    assert!(refused.error_text().contains("MULTI queue limit reached"), "{refused:?}");
    let peak = s.rss_kib().saturating_sub(before);
    // 32 MiB of accounted queue; the real cost may differ somewhat from the estimate.
    eprintln!("{queued} queued commands grew RSS by {peak} KiB");
    assert!(peak < 64 * 1024, "{queued} queued commands grew RSS by {peak} KiB");
    assert!(queued > 100_000, "{queued}");
    eprintln!("{queued} commands queued in {peak} KiB before the limit");
}

#[test]
fn scripts_at_once_are_bounded_per_network_thread() {
    // Sixteen clients each run a script that holds 32 MiB for a second: at most eight run at
    // once on a network thread (the rest wait their turn), so at most eight interpreters'
    // memory (256 MiB each at worst) is held.
    let s = Server::start(&["--threads", "1"]);
    let before = s.rss_kib();
    let script = "local function now() local t = redis.call('TIME') return t[1] * 1e6 + t[2] end \
                  local c = now() local s = string.rep('x', 33554432) \
                  while now() - c < 1000000 do end return {c, now(), #s}";
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let mut c = s.raw();
            c.send(&common::Raw::frame(&[b"EVAL", script.as_bytes(), b"0"]));
            c
        })
        .collect();
    let waiting =
        std::thread::spawn(move || clients.into_iter().map(|mut c| c.read()).collect::<Vec<_>>());
    let mut peak = 0;
    while !waiting.is_finished() {
        peak = peak.max(s.rss_kib().saturating_sub(before));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let runs: Vec<(i64, i64)> = waiting
        .join()
        .unwrap()
        .into_iter()
        .map(|r| match r {
            Reply::Array(v) => match v.as_slice() {
                [Reply::Int(from), Reply::Int(to), Reply::Int(33_554_432)] => (*from, *to),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    // The most scripts running at one moment: at a script's start, those begun and not ended.
    let most = runs
        .iter()
        .map(|&(at, _)| runs.iter().filter(|&&(from, to)| from <= at && at < to).count())
        .max()
        .unwrap();
    eprintln!("16 scripts of 32 MiB: at most {most} at once; RSS grew by at most {peak} KiB");
    assert!((2..=8).contains(&most), "{most} scripts ran at once");
    assert!(peak < 8 * 256 * 1024, "RSS grew {peak} KiB for 16 scripts of 32 MiB");
}

/// Sends `n` one-argument `cmd`s for the names `name(i)` in one write and reads their
/// confirmations.
fn subscribe_many(c: &mut common::Raw, cmd: &str, n: usize, name: impl Fn(usize) -> String) {
    let mut frames = Vec::new();
    for i in 0..n {
        frames.extend(common::Raw::frame(&[cmd.as_bytes(), name(i).as_bytes()]));
    }
    c.send(&frames);
    for _ in 0..n {
        c.read();
    }
}

#[test]
fn subscriptions_and_patterns_cost_what_the_limits_table_says() {
    let s = Server::start(&[]);
    let before = s.rss_kib();
    let mut sub = s.raw();
    subscribe_many(&mut sub, "SUBSCRIBE", 100_000, |i| format!("channel:{i:08}"));
    let per = (s.rss_kib().saturating_sub(before) * 1024) / 100_000;
    eprintln!("100,000 subscriptions to 16-byte channels: {per} bytes each");
    assert!(per < 1024, "{per} bytes a subscription");
    // PUBLISH matches every distinct pattern under the patterns' lock: linear, no worse.
    let mut pat = s.raw();
    subscribe_many(&mut pat, "PSUBSCRIBE", 100_000, |i| format!("pat:{i}:*"));
    let mut w = s.raw();
    let started = std::time::Instant::now();
    for _ in 0..100 {
        assert_eq!(w.cmd(&["PUBLISH", "abc", "x"]), Reply::Int(0));
    }
    let each = started.elapsed() / 100;
    eprintln!("PUBLISH beside 100,000 patterns: {each:?} each");
    assert!(each < std::time::Duration::from_millis(200), "{each:?} a PUBLISH");
}
