//! Redis Cluster mode on loopback: three nodes share one configuration file; cluster-aware
//! clients (the `redis` crate's cluster client, `redis-cli -c`, `redis-benchmark
//! --cluster`) route by themselves; each key lives on exactly the node that owns its slot;
//! a slot move keeps every key readable; a SIGKILLed node loses no acknowledged write.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcask_core::sharded::key_slot;
use common::{need, Raw, Reply, Server, WriteAllOk};
use redis::Commands;

const IDS: [&str; 3] = [
    "0000000000000000000000000000000000000001",
    "0000000000000000000000000000000000000002",
    "0000000000000000000000000000000000000003",
];
const RANGES: [(u16, u16); 3] = [(0, 5119), (5120, 10239), (10240, 16383)];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Cluster {
    tmp: tempfile::TempDir,
    ports: Vec<u16>,
    nodes: Vec<Option<Server>>,
    extra: Vec<String>,
}

impl Cluster {
    fn start(extra: &[&str]) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&format!(
                "node {} 127.0.0.1:{} {}-{}\n",
                IDS[i], ports[i], RANGES[i].0, RANGES[i].1
            ));
        }
        std::fs::write(tmp.path().join("cluster.conf"), text).unwrap();
        let mut c = Cluster {
            tmp,
            ports,
            nodes: Vec::new(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        c.nodes = (0..3).map(|i| Some(c.start_node(i))).collect();
        c
    }

    fn config(&self) -> PathBuf {
        self.tmp.path().join("cluster.conf")
    }

    fn dir(&self, i: usize) -> PathBuf {
        self.tmp.path().join(format!("node{i}"))
    }

    fn start_node(&self, i: usize) -> Server {
        let config = self.config().display().to_string();
        let mut args = vec!["--shards", "16", "--cluster-config", config.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        Server::restart_killed(&self.dir(i), self.ports[i], &args)
    }

    fn client(&self) -> redis::cluster::ClusterConnection {
        let urls: Vec<String> =
            self.ports.iter().map(|p| format!("redis://127.0.0.1:{p}/")).collect();
        redis::cluster::ClusterClient::new(urls).unwrap().get_connection().unwrap()
    }

    fn raw(&self, i: usize) -> Raw {
        Raw::connect(self.ports[i])
    }
}

fn owner(slot: u16) -> usize {
    RANGES.iter().position(|&(a, b)| a <= slot && slot <= b).unwrap()
}

fn keys_of_node(c: &Cluster, i: usize) -> Vec<String> {
    c.raw(i).cmd(&["KEYS", "*"]).items().iter().map(Reply::text).collect()
}

#[test]
fn a_cluster_client_writes_100k_keys_and_each_lands_on_its_slot_owner() {
    let c = Cluster::start(&[]);
    let mut con = c.client();
    let n = 100_000;
    for chunk in (0..n).collect::<Vec<u32>>().chunks(1000) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.set(format!("key:{i}"), format!("value:{i}")).ignore();
        }
        let () = p.query(&mut con).unwrap();
    }
    for chunk in (0..n).collect::<Vec<u32>>().chunks(1000) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.get(format!("key:{i}"));
        }
        let got: Vec<String> = p.query(&mut con).unwrap();
        for (i, v) in chunk.iter().zip(got) {
            assert_eq!(v, format!("value:{i}"));
        }
    }
    let mut total = 0;
    for i in 0..3 {
        let keys = keys_of_node(&c, i);
        assert!(keys.len() > n as usize / 5, "node {i} holds {}", keys.len());
        for k in &keys {
            assert_eq!(owner(key_slot(k.as_bytes())), i, "{k} is on node {i}");
        }
        total += keys.len();
    }
    assert_eq!(total, n as usize, "every key on exactly one node");
    let v: String = con.get("key:777").unwrap();
    assert_eq!(v, "value:777");
}

#[test]
fn redis_py_cluster_client_routes_by_itself() {
    let c = Cluster::start(&[]);
    let script = format!(
        r#"
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port={port})
n = 20000
p = rc.pipeline()
for i in range(n):
    p.set(f"py:{{i}}", i)
p.execute()
p = rc.pipeline()
for i in range(n):
    p.get(f"py:{{i}}")
vals = p.execute()
assert all(int(v) == i for i, v in enumerate(vals)), "a value came back wrong"
assert rc.dbsize(target_nodes=RedisCluster.ALL_NODES) == n
assert rc.cluster_keyslot("foo") == 12182
print("ok", n)
"#,
        port = c.ports[0]
    );
    assert_eq!(common::python(&script), "ok 20000");
    let total: usize = (0..3).map(|i| keys_of_node(&c, i).len()).sum();
    assert_eq!(total, 20_000, "each key on exactly one node");
    for i in 0..3 {
        assert!(keys_of_node(&c, i).iter().all(|k| owner(key_slot(k.as_bytes())) == i));
    }
}

#[test]
fn nodes_answer_cluster_commands_and_redirect_as_redis_cluster() {
    let c = Cluster::start(&[]);
    let mut r = c.raw(0);
    let slots = r.cmd(&["CLUSTER", "SLOTS"]).items();
    assert_eq!(slots.len(), 3);
    let first = slots[0].items();
    assert_eq!(first[..2], [Reply::Int(0), Reply::Int(5119)]);
    assert_eq!(first[2].items()[1], Reply::Int(i64::from(c.ports[0])));
    assert_eq!(r.cmd(&["CLUSTER", "MYID"]), Reply::bulk(IDS[0]));
    let nodes = r.cmd(&["CLUSTER", "NODES"]).text();
    assert!(
        nodes.contains(&format!("{} 127.0.0.1:{}@", IDS[0], c.ports[0]))
            && nodes.contains("myself,master"),
        "{nodes}"
    );
    assert!(nodes.contains("connected 10240-16383"), "{nodes}");
    let info = r.cmd(&["CLUSTER", "INFO"]).text();
    assert!(info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3"), "{info}");
    assert_eq!(r.cmd(&["CLUSTER", "SHARDS"]).items().len(), 3);
    assert_eq!(r.cmd(&["CLUSTER", "KEYSLOT", "foo"]), Reply::Int(12182));
    assert!(r.cmd(&["INFO", "cluster"]).text().contains("cluster_enabled:1"));
    // foo is in slot 12182: node 3's.
    assert_eq!(
        r.cmd(&["SET", "foo", "bar"]).error_text(),
        format!("MOVED 12182 127.0.0.1:{}", c.ports[2])
    );
    assert_eq!(c.raw(2).cmd(&["SET", "foo", "bar"]), Reply::ok());
    assert_eq!(c.raw(2).cmd(&["CLUSTER", "COUNTKEYSINSLOT", "12182"]), Reply::Int(1));
    assert_eq!(
        c.raw(2).cmd(&["CLUSTER", "GETKEYSINSLOT", "12182", "10"]),
        Reply::Array(vec![Reply::bulk("foo")])
    );
    assert_eq!(
        r.cmd(&["CLUSTER", "COUNTKEYSINSLOT", "16384"]).error_text(),
        "ERR Invalid or out of range slot"
    );
    // Several slots in one command: CROSSSLOT; one hash tag: fine.
    let mut r3 = c.raw(2);
    assert_eq!(
        r3.cmd(&["MSET", "foo", "1", "bar", "2"]).error_text(),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    let tag =
        (0..).map(|i| format!("{{t{i}}}")).find(|t| owner(key_slot(t.as_bytes())) == 2).unwrap();
    let (a, b) = (format!("{tag}.a"), format!("{tag}.b"));
    assert_eq!(r3.cmd(&["MSET", &a, "1", &b, "2"]), Reply::ok());
    r3.cmd(&["MULTI"]);
    r3.cmd(&["INCR", &a]);
    r3.cmd(&["INCR", &b]);
    assert_eq!(r3.cmd(&["EXEC"]), Reply::Array(vec![Reply::Int(2), Reply::Int(3)]));
    r3.cmd(&["MULTI"]);
    assert!(r3.cmd(&["SET", "bar", "x"]).error_text().starts_with("MOVED"));
    assert!(r3.cmd(&["EXEC"]).error_text().starts_with("EXECABORT"));
    for cmd in ["READONLY", "READWRITE", "ASKING"] {
        assert_eq!(r.cmd(&[cmd]), Reply::ok());
    }
    // Database 0 only, as Redis Cluster.
    assert_eq!(r3.cmd(&["SELECT", "0"]), Reply::ok());
    for (cmd, text) in [
        (&["SELECT", "1"][..], "ERR SELECT is not allowed in cluster mode"),
        (&["MOVE", &a, "1"], "ERR MOVE is not allowed in cluster mode"),
        (&["SWAPDB", "0", "1"], "ERR SWAPDB is not allowed in cluster mode"),
        (
            &["COPY", &a, &b, "DB", "1"],
            "ERR Copying to another database is not allowed in cluster mode",
        ),
    ] {
        assert_eq!(r3.cmd(cmd).error_text(), text);
    }
    // Without --cluster-config, CLUSTER says so.
    let plain = Server::start(&[]);
    assert_eq!(
        plain.raw().cmd(&["CLUSTER", "SLOTS"]).error_text(),
        "ERR This instance has cluster support disabled"
    );
}

#[test]
fn redis_cli_follows_redirects_and_redis_benchmark_runs_in_cluster_mode() {
    let c = Cluster::start(&[]);
    let cli = |args: &[&str]| {
        let o = Command::new(need("redis-cli"))
            .args(["-p", &c.ports[0].to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(cli(&["-c", "set", "foo", "bar"]), "OK\n");
    assert_eq!(cli(&["-c", "get", "foo"]), "bar\n");
    assert!(cli(&["get", "foo"]).starts_with("MOVED 12182"), "without -c the redirect is shown");
    let o = Command::new(need("redis-benchmark"))
        .args([
            "--cluster",
            "-p",
            &c.ports[0].to_string(),
            "-t",
            "set,get",
            "-n",
            "20000",
            "-c",
            "20",
            "-r",
            "10000",
            "--csv",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    for t in ["\"SET\"", "\"GET\""] {
        assert!(out.lines().any(|l| l.starts_with(t)), "{t} in {out}");
    }
    assert!(!out.contains("ERR") && !out.contains("MOVED"), "{out}");
    let total: usize = (0..3).map(|i| keys_of_node(&c, i).len()).sum();
    assert!(total > 1000, "the benchmark wrote on every node: {total}");
}

fn move_and_restart(c: &mut Cluster, from: usize, to: usize, slots: (u16, u16)) {
    let (_, _keep) = c.nodes[from].take().unwrap().terminate();
    let report =
        bitcask_cluster::move_slots(&c.config(), &c.dir(from), &c.dir(to), slots, IDS[to]).unwrap();
    assert_eq!(report.shards.len(), usize::from(slots.1 - slots.0 + 1) / 1024);
    // The target restarts first, then the source, with the new configuration (the other
    // way round they would redirect to each other until both run on it); the third node
    // keeps running on the old one (it redirects through the old owner).
    for i in [to, from] {
        if let Some(s) = c.nodes[i].take() {
            let (code, _) = s.terminate();
            assert_eq!(code, Some(0));
        }
        c.nodes[i] = Some(c.start_node(i));
    }
}

#[test]
fn a_slot_move_keeps_every_key_readable_and_clients_follow_it() {
    let mut c = Cluster::start(&["--sync", "always"]);
    let mut con = c.client();
    let n = 20_000;
    for chunk in (0..n).collect::<Vec<u32>>().chunks(500) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.set(format!("k{i}"), i).ignore();
        }
        let () = p.query(&mut con).unwrap();
    }
    let moved: Vec<String> =
        keys_of_node(&c, 0).into_iter().filter(|k| key_slot(k.as_bytes()) < 1024).collect();
    assert!(moved.len() > 500, "{}", moved.len());
    // Slots 0-1023 (shard 0) from node 1 to node 2.
    move_and_restart(&mut c, 0, 1, (0, 1023));
    let cfg = std::fs::read_to_string(c.config()).unwrap();
    assert!(cfg.contains(&format!("{} 127.0.0.1:{} 1024-5119", IDS[0], c.ports[0])), "{cfg}");
    assert!(
        cfg.contains(&format!("{} 127.0.0.1:{} 0-1023 5120-10239", IDS[1], c.ports[1])),
        "{cfg}"
    );
    // Every key is readable through a fresh cluster client, and a stale one recovers.
    let mut fresh = c.client();
    for chunk in (0..n).collect::<Vec<u32>>().chunks(500) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.get(format!("k{i}"));
        }
        let got: Vec<u32> = p.query(&mut fresh).unwrap();
        assert_eq!(got, chunk.to_vec());
    }
    let k = &moved[0];
    let slot = key_slot(k.as_bytes()).to_string();
    assert_eq!(
        c.raw(0).cmd(&["GET", k]).error_text(),
        format!("MOVED {slot} 127.0.0.1:{}", c.ports[1])
    );
    let on_new: Vec<String> =
        keys_of_node(&c, 1).into_iter().filter(|k| key_slot(k.as_bytes()) < 1024).collect();
    assert_eq!(on_new.len(), moved.len(), "nothing lost or duplicated");
    assert!(keys_of_node(&c, 0).iter().all(|k| key_slot(k.as_bytes()) >= 1024));
    // A client whose slot map is stale (it learned it from the node still on the old
    // configuration) is sent to the old owner, gets MOVED and follows it.
    drop(con);
    let stale_url = vec![format!("redis://127.0.0.1:{}/", c.ports[2])];
    let mut stale =
        redis::cluster::ClusterClient::new(stale_url).unwrap().get_connection().unwrap();
    let old_view = c.raw(2).cmd(&["CLUSTER", "SLOTS"]).items();
    assert_eq!(
        old_view[0].items()[..2],
        [Reply::Int(0), Reply::Int(5119)],
        "node 3 has the old map"
    );
    let v: u32 = stale.get(k.as_str()).unwrap();
    assert_eq!(v.to_string(), k[1..]);
    // The moved keys take writes on their new node.
    let () = fresh.set(k.as_str(), 7).unwrap();
    assert_eq!(c.raw(1).cmd(&["GET", k]), Reply::bulk("7"));
}

#[test]
fn a_moving_source_must_be_stopped_and_the_slots_whole_shards() {
    let c = Cluster::start(&[]);
    let err = bitcask_cluster::move_slots(&c.config(), &c.dir(0), &c.dir(1), (0, 1023), IDS[1])
        .unwrap_err();
    assert!(
        matches!(err, bitcask_cluster::ClusterError::Store(bitcask_core::Error::Locked { .. })),
        "{err}"
    );
    let err = bitcask_cluster::move_slots(&c.config(), &c.dir(0), &c.dir(1), (0, 1000), IDS[1])
        .unwrap_err();
    assert!(err.to_string().contains("not whole shards"), "{err}");
    let err = bitcask_cluster::move_slots(&c.config(), &c.dir(0), &c.dir(1), (5120, 6143), IDS[1])
        .unwrap_err();
    assert!(err.to_string().contains("owns those slots already"), "{err}");
}

#[test]
fn a_node_with_split_shards_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = tmp.path().join("c.conf");
    std::fs::write(
        &cfg,
        format!(
            "node {} 127.0.0.1:{port} 0-5460\nnode {} 127.0.0.1:1 5461-16383\n",
            IDS[0], IDS[1]
        ),
    )
    .unwrap();
    let o = common::bin()
        .args(["--port", &port.to_string(), "--shards", "16", "--cluster-config"])
        .arg(&cfg)
        .arg("--dir")
        .arg(tmp.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("must start at a multiple of 1024"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_sigkilled_node_loses_no_acknowledged_write_under_sync_always() {
    let mut c = Cluster::start(&["--sync", "always"]);
    let port = c.ports[1];
    let tag =
        (0..).map(|i| format!("{{w{i}}}")).find(|t| owner(key_slot(t.as_bytes())) == 1).unwrap();
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (acked, stop, tag) = (acked.clone(), stop.clone(), tag.clone());
            std::thread::spawn(move || {
                let mut r = Raw::connect(port);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (k, v) = (format!("{tag}.{t}.{i}"), format!("v{i}"));
                    if r.stream
                        .get_mut()
                        .write_all_ok(&Raw::frame(&[b"SET", k.as_bytes(), v.as_bytes()]))
                        .is_err()
                    {
                        return;
                    }
                    match r.try_read() {
                        Some(Reply::Simple(ok)) if ok == "OK" => {
                            acked.lock().unwrap().insert(k, v);
                        }
                        _ => return,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let _keep = c.nodes[1].take().unwrap().kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    c.nodes[1] = Some(c.start_node(1));
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "{}", acked.len());
    let mut r = c.raw(1);
    for (k, v) in &acked {
        assert_eq!(r.cmd(&["GET", k]), Reply::bulk(v), "{k} lost");
    }
}
