//! The Redis tools people already use, against the real server: `redis-cli` (commands,
//! RESP3, --scan, --pipe mass insertion) and `redis-benchmark` (its default workloads run
//! without errors). They come from Debian's redis-tools; `make test` installs them.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{need, Reply, Server};

fn cli(s: &Server, args: &[&str]) -> String {
    let o = Command::new(need("redis-cli"))
        .args(["-p", &s.port.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn redis_cli_runs_commands_scans_and_speaks_resp3() {
    let s = Server::start(&["--shards", "4"]);
    assert_eq!(cli(&s, &["set", "user:1", "ann"]), "OK\n");
    assert_eq!(cli(&s, &["get", "user:1"]), "ann\n");
    assert_eq!(cli(&s, &["incrby", "n", "7"]), "7\n");
    assert_eq!(cli(&s, &["-3", "hello", "3"]).lines().next(), Some("server bitcask"));
    assert_eq!(cli(&s, &["-3", "get", "nothing"]), "\n", "RESP3 null");
    for i in 0..300 {
        cli(&s, &["set", &format!("scan:{i}"), "v"]);
    }
    let scanned = cli(&s, &["--scan", "--pattern", "scan:*"]);
    let mut keys: Vec<&str> = scanned.lines().collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300);
    let info = cli(&s, &["info", "keyspace"]);
    assert!(info.contains("db0:keys=302,expires=0"), "{info}");
    // Commands on stdin, as in a script.
    let mut child = Command::new(need("redis-cli"))
        .args(["-p", &s.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"set piped yes\nget piped\nunknowncmd\n").unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(out.starts_with("OK\nyes\nERR unknown command 'unknowncmd'"), "{out}");
}

#[test]
fn redis_cli_pipe_mode_inserts_in_bulk() {
    let s = Server::start(&[]);
    let mut input = Vec::new();
    for i in 0..20_000 {
        input.extend(common::Raw::frame(&[b"SET", format!("bulk:{i}").as_bytes(), b"value"]));
    }
    let mut child = Command::new(need("redis-cli"))
        .args(["-p", &s.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let o: Output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("errors: 0, replies: 20000"), "{text}");
    assert_eq!(s.raw().cmd(&["DBSIZE"]), Reply::Int(20_000));
}

#[test]
fn redis_benchmark_runs_its_workloads_without_errors() {
    let s = Server::start(&["--shards", "2", "--sync", "always"]);
    let o = Command::new(need("redis-benchmark"))
        .args([
            "-p",
            &s.port.to_string(),
            "-t",
            "ping,set,get,incr,mset",
            "-n",
            "5000",
            "-c",
            "20",
            "-P",
            "4",
            "-r",
            "1000",
            "--csv",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}\"")))
            .unwrap_or_else(|| panic!("{test} missing from {out}"));
        let rps: f64 = row.split(',').nth(1).unwrap().trim_matches('"').parse().unwrap();
        assert!(rps > 0.0, "{row}");
    }
    assert!(!out.contains("ERR") && !err.contains("ERR"), "{out}\n{err}");
    let n: i64 = match s.raw().cmd(&["DBSIZE"]) {
        Reply::Int(n) => n,
        r => panic!("{r:?}"),
    };
    assert!(n > 100, "the benchmark wrote keys: {n}");
}
