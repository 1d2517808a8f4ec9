//! Moving slots between nodes: the configuration names a new owner only once the target's
//! store holds a complete, durable copy of the shards that hold them.

use std::ops::Range;
use std::path::Path;

use bitcask_core::sharded::{
    copy_shard, empty_shard, shard_count_at, shard_dir_name, shard_holds_data, shards_of_slots,
};
use bitcask_core::storage::OsStorage;

use crate::config::ClusterConfig;
use crate::error::{ClusterError, Result};
use crate::node_id::node_id;

/// What [`move_slots`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReport {
    /// The shard directories moved.
    pub shards: Vec<usize>,
    /// Bytes copied.
    pub bytes: u64,
}

/// Moves the slots `slots` (whole shards) from the node whose store is `from_dir` to the
/// node `to_node` whose store is `to_dir`, and rewrites the configuration at `config`.
///
/// The source must be stopped (its shards' locks free), must own the slots, and its store
/// must record its node id (`NODE`, written by the node at start) and hold data in every
/// shard moved; the target's store must not record another node's id; the two stores
/// must have the same shard count. Steps, each durable before the next: copy each shard
/// into the target's store (under a temporary name, then renamed into place: a copy left
/// by an interrupted move is replaced), rewrite the configuration, then empty the source's
/// shards. A crash before the configuration is rewritten leaves the source owning the slots
/// with its data intact; after, the target owns them with a complete copy. Nothing is lost
/// or served twice.
pub fn move_slots(
    config: &Path,
    from_dir: &Path,
    to_dir: &Path,
    slots: (u16, u16),
    to_node: &str,
) -> Result<MoveReport> {
    let mut cfg = ClusterConfig::read(config)?;
    let source = owner_of(&cfg, slots, to_node)?;
    let (from, to) = (shard_count_at(&OsStorage, from_dir)?, shard_count_at(&OsStorage, to_dir)?);
    if from != to {
        return Err(ClusterError::ShardCountsDiffer { from, to });
    }
    let shards = shards_of_slots(from, slots).ok_or(ClusterError::NotWholeShards {
        first: slots.0,
        last: slots.1,
        shards: from,
    })?;
    check_ends(from_dir, to_dir, &source, to_node, shards.clone())?;
    let mut bytes = 0;
    for i in shards.clone() {
        bytes += copy_shard(&OsStorage, from_dir, to_dir, i)?;
    }
    cfg.reassign(slots, to_node)?;
    cfg.write(config)?;
    for i in shards.clone() {
        empty_shard(&OsStorage, from_dir, i)?;
    }
    Ok(MoveReport { shards: shards.collect(), bytes })
}

/// The one node that owns every slot of `slots`, which must not be `to_node` (a node of
/// the configuration).
fn owner_of(cfg: &ClusterConfig, (first, last): (u16, u16), to_node: &str) -> Result<String> {
    if cfg.node(to_node).is_none() {
        return Err(ClusterError::UnknownNode { id: to_node.into() });
    }
    let source = cfg.owner(first).map(|n| n.id.clone());
    if (first..=last).any(|s| cfg.owner(s).map(|n| &n.id) != source.as_ref()) {
        return Err(ClusterError::SeveralOwners { first, last });
    }
    match source {
        None => Err(ClusterError::NoOwner { slot: first }),
        Some(s) if s.eq_ignore_ascii_case(to_node) => {
            Err(ClusterError::AlreadyOwner { node: to_node.into() })
        }
        Some(s) => Ok(s),
    }
}

/// Checks that the store at `from_dir` is node `source`'s and holds data in every shard of
/// `shards`, and that the store at `to_dir` is not another node's than `target`.
fn check_ends(
    from_dir: &Path,
    to_dir: &Path,
    source: &str,
    target: &str,
    shards: Range<usize>,
) -> Result<()> {
    match node_id(from_dir)? {
        Some(id) if id.eq_ignore_ascii_case(source) => {}
        Some(owner) => {
            let (dir, node) = (from_dir.into(), source.into());
            return Err(ClusterError::NotTheOwnersStore { dir, owner, node });
        }
        None => return Err(ClusterError::NoNodeId { dir: from_dir.into(), node: source.into() }),
    }
    if let Some(owner) = node_id(to_dir)?.filter(|id| !id.eq_ignore_ascii_case(target)) {
        return Err(ClusterError::ForeignStore { dir: to_dir.into(), owner, node: target.into() });
    }
    for i in shards {
        if !shard_holds_data(&OsStorage, from_dir, i)? {
            return Err(ClusterError::NothingToMove { dir: from_dir.join(shard_dir_name(i)) });
        }
    }
    Ok(())
}
