//! Moving slots between cluster nodes' stores (`move_slots`): whole shards only,
//! the source must be stopped, and a move interrupted at any step can be run again with
//! nothing lost or duplicated.

use std::path::Path;

use bitcask_cluster::{claim_node_id, move_slots, ClusterConfig, ClusterError};
use bitcask_core::sharded::{key_slot, shard_dir_name};
use bitcask_core::{Options, ShardedBitcask, Store};

const ID1: &str = "0000000000000000000000000000000000000001";
const ID2: &str = "0000000000000000000000000000000000000002";

fn setup(root: &Path) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let conf = root.join("cluster.conf");
    std::fs::write(
        &conf,
        format!("node {ID1} 127.0.0.1:7001 0-8191\nnode {ID2} 127.0.0.1:7002 8192-16383\n"),
    )
    .unwrap();
    let a =
        Store::Sharded(ShardedBitcask::open(root.join("a"), Options::default(), Some(8)).unwrap());
    let keys: Vec<Vec<u8>> = (0..4000u32)
        .map(|i| format!("key:{i}").into_bytes())
        .filter(|k| key_slot(k) < 2048)
        .collect();
    for k in &keys {
        a.put(k, k).unwrap();
    }
    a.close().unwrap();
    ShardedBitcask::open(root.join("b"), Options::default(), Some(8)).unwrap().close().unwrap();
    // What each node records in its store when it starts in cluster mode.
    claim_node_id(&root.join("a"), ID1).unwrap();
    claim_node_id(&root.join("b"), ID2).unwrap();
    (conf, keys)
}

fn check_moved(root: &Path, conf: &Path, keys: &[Vec<u8>]) {
    let b = Store::Sharded(ShardedBitcask::open(root.join("b"), Options::default(), None).unwrap());
    assert_eq!(b.len(), keys.len());
    for k in keys {
        assert_eq!(b.get(k).unwrap().as_deref(), Some(k.as_slice()));
    }
    let a = ShardedBitcask::open(root.join("a"), Options::default(), None).unwrap();
    assert_eq!(a.len(), 0, "no key is left on the source");
    let c = ClusterConfig::read(conf).unwrap();
    assert_eq!(c.owner(0).unwrap().id, ID2);
    assert_eq!(c.owner(2048).unwrap().id, ID1);
}

#[test]
fn a_move_copies_the_shard_and_hands_its_slots_over() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, keys) = setup(tmp.path());
    let r =
        move_slots(&conf, &tmp.path().join("a"), &tmp.path().join("b"), (0, 2047), ID2).unwrap();
    assert_eq!(r.shards, vec![0]);
    check_moved(tmp.path(), &conf, &keys);
}

#[test]
fn a_move_interrupted_before_the_configuration_changed_runs_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, keys) = setup(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // Interrupted after the copy was renamed into place (the configuration still says the
    // source owns the slots), and a half-made `.moving` copy of another attempt.
    let src = a.join(shard_dir_name(0));
    let dst = b.join(shard_dir_name(0));
    std::fs::remove_dir_all(&dst).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    std::fs::create_dir_all(b.join(format!("{}.moving", shard_dir_name(0)))).unwrap();
    std::fs::write(b.join(format!("{}.moving", shard_dir_name(0))).join("junk.data"), b"partial")
        .unwrap();
    move_slots(&conf, &a, &b, (0, 2047), ID2).unwrap();
    check_moved(tmp.path(), &conf, &keys);
}

#[test]
fn a_move_interrupted_after_the_configuration_changed_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, keys) = setup(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    move_slots(&conf, &a, &b, (0, 2047), ID2).unwrap();
    // Running it again (the operator did not know it had finished) is refused: the target
    // owns the slots; nothing changes.
    let err = move_slots(&conf, &a, &b, (0, 2047), ID2).unwrap_err();
    assert!(matches!(err, ClusterError::AlreadyOwner { .. }), "{err}");
    check_moved(tmp.path(), &conf, &keys);
}

#[test]
fn a_running_source_or_a_differently_sharded_target_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, _) = setup(tmp.path());
    let running = ShardedBitcask::open(tmp.path().join("a"), Options::default(), None).unwrap();
    let err = move_slots(&conf, &tmp.path().join("a"), &tmp.path().join("b"), (0, 2047), ID2)
        .unwrap_err();
    assert!(matches!(err, ClusterError::Store(bitcask_core::Error::Locked { .. })), "{err}");
    drop(running);
    ShardedBitcask::open(tmp.path().join("c"), Options::default(), Some(4))
        .unwrap()
        .close()
        .unwrap();
    let err = move_slots(&conf, &tmp.path().join("a"), &tmp.path().join("c"), (0, 2047), ID2)
        .unwrap_err();
    assert!(matches!(err, ClusterError::ShardCountsDiffer { from: 8, to: 4 }), "{err}");
    let err = move_slots(&conf, &tmp.path().join("a"), &tmp.path().join("b"), (0, 1000), ID2)
        .unwrap_err();
    assert!(err.to_string().contains("not whole shards"), "{err}");
    assert!(matches!(err, ClusterError::NotWholeShards { first: 0, last: 1000, shards: 8 }));
}

#[test]
fn a_move_from_a_store_that_is_not_the_owners_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, keys) = setup(tmp.path());
    let before = std::fs::read(&conf).unwrap();
    // --from names the target's own store.
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let err = move_slots(&conf, &b, &a, (0, 2047), ID2).unwrap_err();
    assert!(matches!(err, ClusterError::NotTheOwnersStore { .. }), "{err}");
    // A store that records no node id.
    ShardedBitcask::open(tmp.path().join("c"), Options::default(), Some(8))
        .unwrap()
        .close()
        .unwrap();
    let c = tmp.path().join("c");
    let err = move_slots(&conf, &c, &b, (0, 2047), ID2).unwrap_err();
    assert!(matches!(err, ClusterError::NoNodeId { .. }), "{err}");
    // The owner's id, but no data where the slots live.
    claim_node_id(&c, ID1).unwrap();
    std::fs::remove_dir_all(c.join(shard_dir_name(0))).unwrap();
    let err = move_slots(&conf, &c, &b, (0, 2047), ID2).unwrap_err();
    assert!(matches!(err, ClusterError::NothingToMove { .. }), "{err}");
    // --to names a store of a third node.
    let d = tmp.path().join("d");
    ShardedBitcask::open(&d, Options::default(), Some(8)).unwrap().close().unwrap();
    claim_node_id(&d, "0000000000000000000000000000000000000003").unwrap();
    let err = move_slots(&conf, &a, &d, (0, 2047), ID2).unwrap_err();
    assert!(matches!(err, ClusterError::ForeignStore { .. }), "{err}");
    assert_eq!(std::fs::read(&conf).unwrap(), before, "the configuration is unchanged");
    let a = ShardedBitcask::open(&a, Options::default(), None).unwrap();
    assert_eq!(a.len(), keys.len(), "the owner's data is untouched");
}

#[test]
fn a_store_claimed_by_one_node_is_refused_to_another() {
    let tmp = tempfile::tempdir().unwrap();
    claim_node_id(tmp.path(), ID1).unwrap();
    claim_node_id(tmp.path(), ID1).unwrap();
    let err = claim_node_id(tmp.path(), ID2).unwrap_err();
    assert!(err.to_string().contains("belongs to cluster node"), "{err}");
}
