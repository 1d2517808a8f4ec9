//! A static bitcask cluster: the configuration file every node reads (which node owns which
//! Redis Cluster slots), one node's view of it (the `MOVED`, `CROSSSLOT` and `CLUSTERDOWN`
//! answers), the node id a store records, and moving slots between nodes by moving the
//! shard directories that hold them. No gossip, no failover: the file is the topology.
//! The server and the `bitcask cluster` command share it.
//!
//! ```
//! use bitcask_cluster::{ClusterConfig, Node, Redirect};
//! let text = "\
//! node 0000000000000000000000000000000000000001 127.0.0.1:7001 0-8191
//! node 0000000000000000000000000000000000000002 127.0.0.1:7002 8192-16383
//! ";
//! let config = ClusterConfig::parse(text)?;
//! let me = Node::find(config, None, 7001)?;
//! assert!(me.route(&[b"foo".as_slice()]).is_some()); // slot 12182: the other node's
//! assert_eq!(
//!     me.route(&[b"foo".as_slice()]).map(|r| r.to_string()),
//!     Some("MOVED 12182 127.0.0.1:7002".to_string())
//! );
//! assert!(matches!(me.route(&[b"a".as_slice(), b"b".as_slice()]), Some(Redirect::CrossSlot)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod moving;
mod node;
mod node_id;

pub use config::{ClusterConfig, ClusterNode};
pub use error::{ClusterError, ConfigError, Result};
pub use moving::{move_slots, MoveReport};
pub use node::{Node, Redirect};
pub use node_id::{claim_node_id, node_id, NODE_NAME};
