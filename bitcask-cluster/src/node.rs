//! One node's view of the cluster: which slots it serves, and the answer a keyed command
//! gets when it cannot run here (`CROSSSLOT` for keys in several slots, `MOVED` for another
//! node's slot, `CLUSTERDOWN` for a slot nobody owns), in Redis Cluster's words.

use std::fmt;

use bitcask_core::sharded::{key_slot, slots_of_shard};

use crate::config::{ClusterConfig, ClusterNode};
use crate::error::{ClusterError, Result};

/// The cluster as one node sees it.
#[derive(Debug, Clone)]
pub struct Node {
    config: ClusterConfig,
    /// This node's index in the configuration's nodes.
    me: usize,
}

/// Why a command cannot run on this node; its `Display` is the error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// Its keys are in more than one slot.
    CrossSlot,
    /// The slot is another node's, reached at the address.
    Moved(u16, String),
    /// No node owns the slot.
    Down,
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redirect::CrossSlot => {
                f.write_str("CROSSSLOT Keys in request don't hash to the same slot")
            }
            Redirect::Moved(slot, addr) => write!(f, "MOVED {slot} {addr}"),
            Redirect::Down => f.write_str("CLUSTERDOWN Hash slot not served"),
        }
    }
}

impl Node {
    /// Finds this node in `config`: by `myid`, else by `port`.
    pub fn find(config: ClusterConfig, myid: Option<&str>, port: u16) -> Result<Node> {
        let me = match myid {
            Some(id) => config.nodes().iter().position(|n| n.is(id)),
            None => config.nodes().iter().position(|n| n.port == port),
        };
        match (me, myid) {
            (Some(me), _) => Ok(Node { config, me }),
            (None, Some(id)) => Err(ClusterError::UnknownNode { id: id.into() }),
            (None, None) => Err(ClusterError::NoNodeOnPort { port }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// This node.
    pub fn myself(&self) -> &ClusterNode {
        let me = self.config.nodes().get(self.me);
        me.unwrap_or_else(|| unreachable!("Node::find keeps an index into the nodes"))
    }

    /// This node's place among the configuration's nodes (from 0).
    pub fn index(&self) -> usize {
        self.me
    }

    /// Whether `node` is this node.
    pub fn is_me(&self, node: &ClusterNode) -> bool {
        node.is(&self.myself().id)
    }

    /// Whether this node owns `slot`.
    pub fn owns(&self, slot: u16) -> bool {
        self.myself().owns(slot)
    }

    /// Whether a shard with these slots is served here (a shard's slots have one owner:
    /// [`Node::check_shards`]).
    pub fn serves(&self, slots: std::ops::Range<u16>) -> bool {
        self.owns(slots.start)
    }

    /// Checks that each shard of a store of `shards` shards holds only this node's slots
    /// or only other nodes' (a shard is the unit that moves).
    pub fn check_shards(&self, shards: u32) -> Result<()> {
        for i in 0..shards as usize {
            let slots = slots_of_shard(shards, i);
            let (first, last) = (slots.start, slots.end - 1);
            let first_mine = self.owns(first);
            if let Some(slot) = slots.clone().find(|&s| self.owns(s) != first_mine) {
                let e = ClusterError::ShardSplitsOwners {
                    shard: i,
                    first,
                    last,
                    slot,
                    first_mine,
                    shards,
                };
                return Err(e);
            }
        }
        Ok(())
    }

    /// The check of a command's keys: `None` when it runs here (or names no key).
    pub fn route(&self, keys: &[&[u8]]) -> Option<Redirect> {
        let first = key_slot(keys.first()?);
        if keys.iter().any(|k| key_slot(k) != first) {
            return Some(Redirect::CrossSlot);
        }
        match self.config.owner(first) {
            None => Some(Redirect::Down),
            Some(n) if self.is_me(n) => None,
            Some(n) => Some(Redirect::Moved(first, n.addr())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes(split: u16) -> ClusterConfig {
        let text = format!(
            "node {:040} 127.0.0.1:7001 0-{}\nnode {:040} 127.0.0.1:7002 {}-16383\n",
            1,
            split - 1,
            2,
            split
        );
        ClusterConfig::parse(&text).unwrap()
    }

    #[test]
    fn a_node_is_found_by_id_or_port() {
        let c = two_nodes(8192);
        assert_eq!(Node::find(c.clone(), None, 7002).unwrap().myself().port, 7002);
        assert_eq!(
            Node::find(c.clone(), Some(&format!("{:040}", 1)), 1).unwrap().myself().port,
            7001
        );
        assert!(matches!(
            Node::find(c.clone(), None, 9),
            Err(ClusterError::NoNodeOnPort { port: 9 })
        ));
        assert!(matches!(Node::find(c, Some("ab"), 7001), Err(ClusterError::UnknownNode { .. })));
    }

    #[test]
    fn shards_must_not_mix_owners() {
        let n = Node::find(two_nodes(8192), None, 7001).unwrap();
        assert!(n.check_shards(16).is_ok());
        let n = Node::find(two_nodes(5000), None, 7001).unwrap();
        let e = n.check_shards(16).unwrap_err().to_string();
        assert!(
            e.contains("shard 4 holds slots 4096-5119, but slot 5000 is not this node's"),
            "{e}"
        );
        assert!(n.check_shards(16384 / 8).is_ok());
    }

    #[test]
    fn keys_are_routed_in_redis_cluster_words() {
        let n = Node::find(two_nodes(8192), None, 7001).unwrap();
        assert_eq!(n.route(&[]), None);
        assert_eq!(n.route(&[b"b"]), None); // slot 3300
        assert_eq!(n.route(&[b"a"]), Some(Redirect::Moved(15495, "127.0.0.1:7002".into())));
        assert_eq!(n.route(&[b"a", b"b"]), Some(Redirect::CrossSlot));
        assert_eq!(n.route(&[b"{b}x", b"{b}y"]), None);
        let gap = format!("node {:040} 127.0.0.1:7001 0-8191\n", 1);
        let n = Node::find(ClusterConfig::parse(&gap).unwrap(), None, 7001).unwrap();
        assert_eq!(
            n.route(&[b"a"]).map(|r| r.to_string()).as_deref(),
            Some("CLUSTERDOWN Hash slot not served")
        );
    }
}
