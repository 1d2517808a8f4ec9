//! The configuration file: the same on every node, one line per node.
//!
//! ```text
//! # bitcask cluster: the same file on every node
//! node 0000000000000000000000000000000000000001 127.0.0.1:7001 0-5119
//! node 0000000000000000000000000000000000000002 127.0.0.1:7002 5120-10239
//! node 0000000000000000000000000000000000000003 127.0.0.1:7003 10240-16383
//! ```
//!
//! `node`, a 40-character hexadecimal id (as Redis Cluster node ids), `host:port`, then slot
//! ranges (`a-b` or a single slot). `#` starts a comment. A slot is owned by at most one
//! node; slots owned by none are refused (`CLUSTERDOWN`).

use std::path::Path;

use bitcask_core::sharded::SLOTS;
use bitcask_core::storage::OsStorage;

use crate::error::{ClusterError, ConfigError, Result};

/// One node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// 40 lowercase hexadecimal characters.
    pub id: String,
    /// Where clients reach it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The slot ranges it owns, inclusive, sorted.
    pub slots: Vec<(u16, u16)>,
}

impl ClusterNode {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Its slot ranges as the config file and CLUSTER NODES write them: ` a-b` for a range,
    /// ` a` for one slot, each preceded by a space.
    pub fn slots_text(&self) -> String {
        let mut s = String::new();
        for &(a, b) in &self.slots {
            if a == b {
                s.push_str(&format!(" {a}"));
            } else {
                s.push_str(&format!(" {a}-{b}"));
            }
        }
        s
    }

    /// Whether it owns `slot`.
    pub fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }

    /// Whether its id is `id` (ids compare without case).
    pub fn is(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
    }
}

/// No node: the owner of an unowned slot.
const NOBODY: u16 = u16::MAX;

/// The cluster's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The nodes, in file order.
    nodes: Vec<ClusterNode>,
    /// The owner (index into `nodes`) of each slot, [`NOBODY`] for none.
    owner: Vec<u16>,
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && b < SLOTS).then_some((a, b))
}

/// Parses one line (without its comment) that names a node.
fn parse_node(line: &str) -> std::result::Result<ClusterNode, String> {
    let mut words = line.split_whitespace();
    if words.next() != Some("node") {
        return Err("expected `node <id> <host:port> <slots>...`".into());
    }
    let id = words.next().ok_or("no node id")?.to_ascii_lowercase();
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a node id is 40 hexadecimal characters".into());
    }
    let addr = words.next().ok_or("no host:port")?;
    let (host, port) = addr.rsplit_once(':').ok_or("expected host:port")?;
    let port: u16 = port.parse().map_err(|_| "bad port")?;
    let mut slots = Vec::new();
    for w in words {
        slots.push(parse_range(w).ok_or_else(|| format!("bad slot range {w:?}"))?);
    }
    slots.sort_unstable();
    Ok(ClusterNode { id, host: host.to_string(), port, slots })
}

/// The owner of each slot, refusing a slot owned twice.
fn owners(nodes: &[ClusterNode]) -> std::result::Result<Vec<u16>, ConfigError> {
    let mut owner = vec![NOBODY; usize::from(SLOTS)];
    for (i, node) in nodes.iter().enumerate() {
        for slot in node.slots.iter().flat_map(|&(a, b)| a..=b) {
            let Some(o) = owner.get_mut(usize::from(slot)) else { continue };
            if let Some(first) = nodes.get(usize::from(*o)) {
                let (first, second) = (first.id.clone(), node.id.clone());
                return Err(ConfigError::SlotOwnedTwice { slot, first, second });
            }
            *o = i as u16;
        }
    }
    Ok(owner)
}

impl ClusterConfig {
    /// Parses the text of a configuration file; errors name the line.
    pub fn parse(text: &str) -> std::result::Result<ClusterConfig, ConfigError> {
        let mut nodes: Vec<ClusterNode> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad =
                |problem: String| ConfigError::Line { line: n + 1, problem, text: line.into() };
            let node = parse_node(line).map_err(bad)?;
            if nodes.iter().any(|x| x.id == node.id) {
                return Err(bad("the node id appears twice".into()));
            }
            nodes.push(node);
        }
        if nodes.is_empty() {
            return Err(ConfigError::NoNodes);
        }
        let owner = owners(&nodes)?;
        Ok(ClusterConfig { nodes, owner })
    }

    /// Reads and parses a configuration file.
    pub fn read(path: &Path) -> Result<ClusterConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ClusterError::Read { path: path.into(), source })?;
        ClusterConfig::parse(&text)
            .map_err(|source| ClusterError::Config { path: path.into(), source })
    }

    /// The file's text (comments are not kept).
    pub fn to_text(&self) -> String {
        let mut s = String::from("# bitcask cluster: the same file on every node\n");
        for n in &self.nodes {
            s.push_str(&format!("node {} {}{}\n", n.id, n.addr(), n.slots_text()));
        }
        s
    }

    /// Writes the file atomically and durably (a crash leaves the old file or the new).
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(bitcask_core::tools::replace_file(&OsStorage, path, self.to_text().as_bytes())?)
    }

    /// The nodes, in file order.
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// The node that owns `slot`.
    pub fn owner(&self, slot: u16) -> Option<&ClusterNode> {
        let i = *self.owner.get(usize::from(slot))?;
        self.nodes.get(usize::from(i))
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&ClusterNode> {
        self.nodes.iter().find(|n| n.is(id))
    }

    /// Slots owned by some node.
    pub fn assigned_slots(&self) -> usize {
        self.owner.iter().filter(|&&o| o != NOBODY).count()
    }

    /// Gives `slots` (inclusive) to the node `to`, taking them from whoever owned them.
    pub fn reassign(&mut self, (first, last): (u16, u16), to: &str) -> Result<()> {
        let Some(to) = self.nodes.iter().position(|n| n.is(to)) else {
            return Err(ClusterError::UnknownNode { id: to.into() });
        };
        for o in self.owner.iter_mut().take(usize::from(last) + 1).skip(usize::from(first)) {
            *o = to as u16;
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.slots = ranges_of(&self.owner, i as u16);
        }
        Ok(())
    }
}

/// The ranges of slots whose owner is `i`.
fn ranges_of(owner: &[u16], i: u16) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (s, &o) in owner.iter().enumerate() {
        if o != i {
            continue;
        }
        let s = s as u16;
        match out.last_mut() {
            Some((_, b)) if *b + 1 == s => *b = s,
            _ => out.push((s, s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID1: &str = "0000000000000000000000000000000000000001";
    const ID2: &str = "0000000000000000000000000000000000000002";

    #[test]
    fn a_configuration_round_trips_and_finds_owners() {
        let text = format!(
            "# c\nnode {ID1} 127.0.0.1:7001 0-8191\nnode {ID2} 127.0.0.1:7002 8192-16383 # two\n"
        );
        let c = ClusterConfig::parse(&text).unwrap();
        assert_eq!(c.owner(0).unwrap().port, 7001);
        assert_eq!(c.owner(16383).unwrap().port, 7002);
        assert_eq!(c.assigned_slots(), 16384);
        assert_eq!(ClusterConfig::parse(&c.to_text()).unwrap(), c);
        let mut m = c.clone();
        m.reassign((4096, 8191), ID2).unwrap();
        assert_eq!(m.node(ID1).unwrap().slots, vec![(0, 4095)]);
        assert_eq!(m.node(ID2).unwrap().slots, vec![(4096, 16383)]);
        assert!(matches!(m.reassign((0, 1), "ff"), Err(ClusterError::UnknownNode { .. })));
    }

    #[test]
    fn bad_configurations_name_their_line() {
        for (text, want) in [
            (format!("node {ID1} 127.0.0.1:7001 0-9\nnode {ID2} h:1 5-20\n"), "owned by both"),
            ("node abc h:1 0-1\n".to_string(), "line 1: a node id is 40"),
            (format!("node {ID1} nohostport 0\n"), "expected host:port"),
            (format!("node {ID1} h:1 9-2\n"), "bad slot range"),
            (format!("node {ID1} h:1 16384\n"), "bad slot range"),
            (format!("server {ID1} h:1 0\n"), "expected `node"),
            (format!("node {ID1} h:1 0\nnode {ID1} h:2 1\n"), "line 2: the node id appears twice"),
            (String::new(), "no nodes"),
        ] {
            let e = ClusterConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should say {want}");
        }
    }
}
