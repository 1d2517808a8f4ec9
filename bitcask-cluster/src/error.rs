//! What can go wrong reading a cluster's configuration, starting a node, or moving slots.

use std::io;
use std::path::PathBuf;

/// A configuration text that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A line that is not `node <id> <host:port> <slots>...`.
    #[error("line {line}: {problem}: {text:?}")]
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
        /// The line (without its comment).
        text: String,
    },
    /// No line names a node.
    #[error("no nodes")]
    NoNodes,
    /// Two nodes claim one slot.
    #[error("slot {slot} is owned by both {first} and {second}")]
    SlotOwnedTwice {
        /// The slot.
        slot: u16,
        /// The node named first.
        first: String,
        /// The node named later.
        second: String,
    },
}

/// A cluster operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The configuration file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The configuration file's text is wrong.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: ConfigError,
    },
    /// This node is not in the configuration.
    #[error("node {id} is not in the cluster configuration")]
    UnknownNode {
        /// The id asked for.
        id: String,
    },
    /// No node of the configuration listens on this node's port.
    #[error("no node of the cluster configuration has port {port}: pass --cluster-myid")]
    NoNodeOnPort {
        /// The port.
        port: u16,
    },
    /// A shard would hold slots of this node and of others (a shard is the unit that moves).
    #[error("shard {shard} holds slots {first}-{last}, but slot {slot} is {} while slot {first} is {}: with {shards} shards, a node's slot ranges must start at a multiple of {} (or use more shards)", mine(!*first_mine), mine(*first_mine), 16384 / shards)]
    ShardSplitsOwners {
        /// The shard.
        shard: usize,
        /// Its first slot.
        first: u16,
        /// Its last slot.
        last: u16,
        /// A slot whose owner differs from the first slot's.
        slot: u16,
        /// Whether the first slot is this node's.
        first_mine: bool,
        /// The store's shard count.
        shards: u32,
    },
    /// The store belongs to another node.
    #[error("the store in {dir} belongs to cluster node {owner}, not {node}")]
    ForeignStore {
        /// The store's directory.
        dir: PathBuf,
        /// The node it records.
        owner: String,
        /// The node that wanted it.
        node: String,
    },
    /// A move's source is not the store of the slots' owner.
    #[error("{dir} is the store of node {owner}, but node {node} owns those slots: pass its store as --from")]
    NotTheOwnersStore {
        /// The store given as the source.
        dir: PathBuf,
        /// The node it records.
        owner: String,
        /// The node that owns the slots.
        node: String,
    },
    /// A move's source records no node id.
    #[error("{dir} records no node id: start node {node} on it once in cluster mode (it records its id), then move")]
    NoNodeId {
        /// The store given as the source.
        dir: PathBuf,
        /// The node that owns the slots.
        node: String,
    },
    /// A move's source holds no data for the slots.
    #[error("{dir} holds no data for the slots being moved: refusing to move nothing and give the slots away")]
    NothingToMove {
        /// The shard directory.
        dir: PathBuf,
    },
    /// The slots to move have no single owner.
    #[error("slots {first}-{last} have more than one owner")]
    SeveralOwners {
        /// The first slot.
        first: u16,
        /// The last slot.
        last: u16,
    },
    /// A slot to move has no owner.
    #[error("slot {slot} has no owner")]
    NoOwner {
        /// The slot.
        slot: u16,
    },
    /// The target owns the slots already.
    #[error("node {node} owns those slots already")]
    AlreadyOwner {
        /// The target.
        node: String,
    },
    /// The two stores of a move have different shard counts.
    #[error("the two stores have different shard counts ({from} and {to})")]
    ShardCountsDiffer {
        /// The source's.
        from: u32,
        /// The target's.
        to: u32,
    },
    /// The slots to move are not whole shards.
    #[error("slots {first}-{last} are not whole shards: with {shards} shards, each holds {} slots (ranges start at a multiple of {} and end one before one)", 16384 / shards, 16384 / shards)]
    NotWholeShards {
        /// The first slot.
        first: u16,
        /// The last slot.
        last: u16,
        /// The stores' shard count.
        shards: u32,
    },
    /// The store failed (reading its layout, copying a shard, a locked shard).
    #[error(transparent)]
    Store(#[from] bitcask_core::Error),
}

fn mine(yes: bool) -> &'static str {
    if yes {
        "this node's"
    } else {
        "not this node's"
    }
}

/// A cluster operation's result.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
