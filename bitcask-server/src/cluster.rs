//! Cluster mode: which node this is, which slots it serves, and the check every keyed
//! command passes (`CROSSSLOT` for keys in several slots, `MOVED` for another node's slot,
//! `CLUSTERDOWN` for a slot nobody owns).

use bitcask_core::cluster::{ClusterConfig, ClusterNode};
use bitcask_core::sharded::{key_slot, SLOTS};

/// The cluster as this node sees it.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The configuration.
    pub config: ClusterConfig,
    /// This node's index in `config.nodes`.
    pub me: usize,
}

/// Why a command cannot run here.
pub enum Redirect {
    /// Its keys are in more than one slot.
    CrossSlot,
    /// The slot is another node's.
    Moved(u16, String),
    /// No node owns the slot.
    Down,
}

impl Redirect {
    /// The error reply, in Redis Cluster's words.
    pub fn text(&self) -> String {
        match self {
            Redirect::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".into(),
            Redirect::Moved(slot, addr) => format!("MOVED {slot} {addr}"),
            Redirect::Down => "CLUSTERDOWN Hash slot not served".into(),
        }
    }
}

impl Cluster {
    /// Finds this node in `config`: by `myid`, else by `port`.
    pub fn new(config: ClusterConfig, myid: Option<&str>, port: u16) -> Result<Cluster, String> {
        let me = match myid {
            Some(id) => config.nodes.iter().position(|n| n.id.eq_ignore_ascii_case(id)),
            None => config.nodes.iter().position(|n| n.port == port),
        }
        .ok_or_else(|| match myid {
            Some(id) => format!("node {id} is not in the cluster configuration"),
            None => {
                format!("no node of the cluster configuration has port {port}: pass --cluster-myid")
            }
        })?;
        Ok(Cluster { config, me })
    }

    /// Checks that each shard of a store of `shards` shards holds only this node's slots
    /// or only other nodes' (a shard is the unit that moves).
    pub fn check_shards(&self, shards: u32) -> Result<(), String> {
        let c = self;
        let per = SLOTS / shards as u16;
        for i in 0..shards as u16 {
            let (a, b) = (i * per, (i + 1) * per - 1);
            let mine = c.owns(a);
            if let Some(s) = (a..=b).find(|&s| c.owns(s) != mine) {
                return Err(format!(
                    "shard {i} holds slots {a}-{b}, but slot {s} is {} while slot {a} is {}: with {shards} shards, a node's slot ranges must start at a multiple of {per} (or use more shards)",
                    if c.owns(s) { "this node's" } else { "not this node's" },
                    if mine { "this node's" } else { "not" }
                ));
            }
        }
        Ok(())
    }

    /// This node.
    pub fn myself(&self) -> &ClusterNode {
        &self.config.nodes[self.me]
    }

    /// Whether this node owns `slot`.
    pub fn owns(&self, slot: u16) -> bool {
        self.myself().owns(slot)
    }

    /// Whether a shard with these slots is served here.
    pub fn serves(&self, slots: std::ops::Range<u16>) -> bool {
        self.owns(slots.start)
    }

    /// The check of a command's keys: `None` when it runs here.
    pub fn route(&self, keys: &[&[u8]]) -> Option<Redirect> {
        let first = key_slot(keys.first()?);
        if keys.iter().any(|k| key_slot(k) != first) {
            return Some(Redirect::CrossSlot);
        }
        match self.config.owner(first) {
            None => Some(Redirect::Down),
            Some(n) if n.id == self.myself().id => None,
            Some(n) => Some(Redirect::Moved(first, n.addr())),
        }
    }
}
