//! Drives the real `bitcask` binary: bench, demo and cluster move.

mod common;
use common::*;

#[test]
fn bench_runs_every_workload_on_a_temporary_store() {
    let o = bin()
        .args(["bench", "--keys", "3000", "--threads", "2"])
        .env_remove("BITCASK_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&o.stderr));
    for w in [
        "put ",
        "batch ",
        "get ",
        "mixed ",
        "multiget ",
        "ycsb-a ",
        "ycsb-b ",
        "ycsb-c ",
        "ycsb-f ",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(w))
            .unwrap_or_else(|| panic!("no {w} line in {text}"));
        assert!(line.contains("ops/s") && line.contains("p999"), "{line}");
    }
    assert!(text.contains("store: 3000 keys"), "{text}");
}

#[test]
fn demo_shows_the_engine_working() {
    let o = bin().arg("demo").env_remove("BITCASK_DIR").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("every check passed"), "{text}");
    assert!(text.contains("merged"), "{text}");
    // A writer child process killed mid-stream, and every acknowledged put found again.
    assert!(text.contains("with SIGKILL after 50000 acknowledged puts"), "{text}");
    assert!(text.contains("50000 of 50000 acknowledged puts present"), "{text}");
}

#[test]
fn bench_never_writes_to_bitcask_dir() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    let o = bin()
        .args(["bench", "--workload", "put", "--keys", "500"])
        .env("BITCASK_DIR", &d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.exists(), "bench wrote to BITCASK_DIR");
    // --store names the store to benchmark.
    let s = t.path().join("bench-store");
    let o = bin()
        .args(["bench", "--workload", "put", "--keys", "500", "--store"])
        .arg(&s)
        .env_remove("BITCASK_DIR")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(ok(&s, &["stats", "--json"]).contains("\"keys\":500"));
}

#[test]
fn cluster_move_moves_whole_shards_and_rewrites_the_configuration() {
    use bitcask_core::sharded::key_slot;
    use bitcask_core::{Options, ShardedBitcask, Store};
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let id1 = "0000000000000000000000000000000000000001";
    let id2 = "0000000000000000000000000000000000000002";
    let conf = tmp.path().join("cluster.conf");
    std::fs::write(
        &conf,
        format!("node {id1} 127.0.0.1:7001 0-8191\nnode {id2} 127.0.0.1:7002 8192-16383\n"),
    )
    .unwrap();
    let src = Store::Sharded(ShardedBitcask::open(&a, Options::default(), Some(16)).unwrap());
    let keys: Vec<String> =
        (0..5000).map(|i| format!("k{i}")).filter(|k| key_slot(k.as_bytes()) < 1024).collect();
    for k in &keys {
        src.put(k.as_bytes(), b"v").unwrap();
    }
    src.close().unwrap();
    ShardedBitcask::open(&b, Options::default(), Some(16)).unwrap().close().unwrap();
    let run_move = |slots: &str| {
        bin()
            .args(["cluster", "move", "--config"])
            .arg(&conf)
            .args(["--slots", slots, "--from"])
            .arg(&a)
            .arg("--to")
            .arg(&b)
            .args(["--to-node", id2])
            .output()
            .unwrap()
    };
    // A store that records no node id is refused (a node records it when it starts).
    let o = run_move("0-1023");
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("records no node id"), "{}", stderr(&o));
    bitcask_cluster::claim_node_id(&a, id1).unwrap();
    let o = run_move("0-1000");
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("not whole shards"), "{}", stderr(&o));
    let o = run_move("0-1023");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&format!("node {id1} 127.0.0.1:7001 1024-8191")), "{text}");
    assert!(text.contains(&format!("node {id2} 127.0.0.1:7002 0-1023 8192-16383")), "{text}");
    let moved = Store::Sharded(ShardedBitcask::open(&b, Options::default(), None).unwrap());
    assert_eq!(moved.len(), keys.len());
    assert!(keys.iter().all(|k| moved.contains(k.as_bytes()).unwrap()));
    let left = ShardedBitcask::open(&a, Options::default(), None).unwrap();
    assert_eq!(left.len(), 0, "the source's shard is emptied");
}
