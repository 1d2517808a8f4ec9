//! Scale-out through twemproxy (Debian's nutcracker): three servers behind the proxy with
//! ketama hashing. Each key lands on exactly one backend, spread evenly; MGET, MSET and DEL
//! across backends work; a killed backend's keys fail while the others' are served, and
//! come back with it.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{need, Raw, Reply, Server};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proxy {
    child: Child,
    port: u16,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(dir: &std::path::Path, backends: &[u16]) -> Proxy {
    let port = free_port();
    let mut conf = format!(
        "bitcask:\n  listen: 127.0.0.1:{port}\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  auto_eject_hosts: false\n  server_connections: 2\n  timeout: 2000\n  servers:\n"
    );
    for (i, p) in backends.iter().enumerate() {
        conf.push_str(&format!("    - 127.0.0.1:{p}:1 node{}\n", i + 1));
    }
    let path = dir.join("nutcracker.yml");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(need("nutcracker"))
        .arg("-c")
        .arg(&path)
        .args(["-s", &free_port().to_string(), "-o"])
        .arg(dir.join("nutcracker.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nutcracker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Proxy { child, port }
}

/// Waits until `f` holds (the proxy reconnects on its own schedule).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_servers_behind_twemproxy_shard_the_keys_and_survive_a_dead_node() {
    let tmp = tempfile::tempdir().unwrap();
    let mut servers: Vec<Option<Server>> = (0..3)
        .map(|i| {
            Some(Server::start_in(&tmp.path().join(format!("node{i}")), &["--sync", "always"]))
        })
        .collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.as_ref().unwrap().port).collect();
    let proxy = start_proxy(tmp.path(), &ports);
    let mut p = Raw::connect(proxy.port);
    let n = 3000;
    for i in 0..n {
        assert_eq!(p.cmd(&["SET", &format!("key:{i}"), &format!("v{i}")]), Reply::ok());
    }
    // Exactly one backend holds each key; the spread is even.
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut per_node = [0usize; 3];
    for (b, port) in ports.iter().enumerate() {
        let mut c = Raw::connect(*port);
        for k in c.cmd(&["KEYS", "*"]).items() {
            assert!(owner.insert(k.text(), b).is_none(), "{} on two backends", k.text());
            per_node[b] += 1;
        }
    }
    assert_eq!(owner.len(), n, "every key is on a backend");
    for count in per_node {
        assert!(count > n / 5 && count < n / 2, "uneven spread {per_node:?}");
    }
    // Multi-key commands that span backends.
    assert_eq!(p.cmd(&["MSET", "m:a", "1", "m:b", "2", "m:c", "3", "m:d", "4"]), Reply::ok());
    let got = p.cmd(&["MGET", "m:a", "m:b", "m:c", "m:d", "m:none"]).items();
    assert_eq!(
        got,
        [Reply::bulk("1"), Reply::bulk("2"), Reply::bulk("3"), Reply::bulk("4"), Reply::Nil]
    );
    assert_eq!(p.cmd(&["DEL", "m:a", "m:b", "m:c", "m:none"]), Reply::Int(3));
    assert_eq!(p.cmd(&["EXISTS", "m:a", "m:d"]), Reply::Int(1));
    // A dead backend: its keys fail, the others' are served.
    let dead = 1;
    let dead_dir = servers[dead].as_ref().unwrap().dir.clone();
    let _keep = servers[dead].take().unwrap().kill9();
    let keys_of = |b: usize| owner.iter().filter(move |(_, o)| **o == b).map(|(k, _)| k.clone());
    for k in keys_of(dead).take(20) {
        assert!(matches!(p.cmd(&["GET", &k]), Reply::Error(_)), "{k} of the dead node");
    }
    for b in [0, 2] {
        for k in keys_of(b).take(50) {
            let i = &k["key:".len()..];
            assert_eq!(p.cmd(&["GET", &k]), Reply::bulk(&format!("v{i}")));
        }
    }
    // Back on its port: its keys are served again (acknowledged under --sync always).
    servers[dead] = Some(Server::restart_killed(&dead_dir, ports[dead], &["--sync", "always"]));
    let sample: Vec<String> = keys_of(dead).take(50).collect();
    eventually("the proxy reconnects", || {
        let mut fresh = Raw::connect(proxy.port);
        matches!(fresh.cmd(&["GET", &sample[0]]), Reply::Bulk(_))
    });
    let mut p = Raw::connect(proxy.port);
    for k in &sample {
        let i = &k["key:".len()..];
        assert_eq!(p.cmd(&["GET", k]), Reply::bulk(&format!("v{i}")));
    }
}
