//! A static cluster: the configuration file every node of a bitcask cluster reads (which
//! node owns which slots), and moving slots between nodes by moving the shard directories
//! that hold them. No gossip, no failover: the file is the topology.
//!
//! ```text
//! # bitcask cluster: the same file on every node
//! node 0000000000000000000000000000000000000001 127.0.0.1:7001 0-5119
//! node 0000000000000000000000000000000000000002 127.0.0.1:7002 5120-10239
//! node 0000000000000000000000000000000000000003 127.0.0.1:7003 10240-16383
//! ```
//!
//! One line per node: `node`, a 40-character hexadecimal id (as Redis Cluster node ids),
//! `host:port`, then slot ranges (`a-b` or a single slot). `#` starts a comment. A slot is
//! owned by at most one node; slots owned by none are refused (`CLUSTERDOWN`).

use std::path::{Path, PathBuf};

use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::sharded::{shard_dir_name, SHARDS_NAME};
use crate::slot::SLOTS;
use crate::storage::OsStorage;

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

    /// Whether it owns `slot`.
    pub fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// The cluster's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The nodes, in file order.
    pub nodes: Vec<ClusterNode>,
    /// The owner (index into `nodes`) of each slot, `u16::MAX` for none.
    owner: Vec<u16>,
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && b < SLOTS).then_some((a, b))
}

impl ClusterConfig {
    /// Parses the text of a configuration file; errors name the line.
    pub fn parse(text: &str) -> std::result::Result<ClusterConfig, String> {
        let mut nodes: Vec<ClusterNode> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
            let mut words = line.split_whitespace();
            if words.next() != Some("node") {
                return Err(bad("expected `node <id> <host:port> <slots>...`"));
            }
            let id = words.next().ok_or_else(|| bad("no node id"))?.to_ascii_lowercase();
            if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("a node id is 40 hexadecimal characters"));
            }
            let addr = words.next().ok_or_else(|| bad("no host:port"))?;
            let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
            let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
            let mut slots = Vec::new();
            for w in words {
                slots.push(parse_range(w).ok_or_else(|| bad(&format!("bad slot range {w:?}")))?);
            }
            slots.sort_unstable();
            if nodes.iter().any(|x| x.id == id) {
                return Err(bad("the node id appears twice"));
            }
            nodes.push(ClusterNode { id, host: host.to_string(), port, slots });
        }
        if nodes.is_empty() {
            return Err("no nodes".into());
        }
        let mut owner = vec![u16::MAX; usize::from(SLOTS)];
        for (i, node) in nodes.iter().enumerate() {
            for &(a, b) in &node.slots {
                for slot in a..=b {
                    let o = &mut owner[usize::from(slot)];
                    if *o != u16::MAX {
                        return Err(format!(
                            "slot {slot} is owned by both {} and {}",
                            nodes[usize::from(*o)].id,
                            node.id
                        ));
                    }
                    *o = i as u16;
                }
            }
        }
        Ok(ClusterConfig { nodes, owner })
    }

    /// Reads and parses a configuration file.
    pub fn read(path: &Path) -> Result<ClusterConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        ClusterConfig::parse(&text).map_err(|e| Error::Cluster(format!("{}: {e}", path.display())))
    }

    /// The file's text (comments are not kept).
    pub fn to_text(&self) -> String {
        let mut s = String::from("# bitcask cluster: the same file on every node\n");
        for n in &self.nodes {
            s.push_str(&format!("node {} {}", n.id, n.addr()));
            for &(a, b) in &n.slots {
                if a == b {
                    s.push_str(&format!(" {a}"));
                } else {
                    s.push_str(&format!(" {a}-{b}"));
                }
            }
            s.push('\n');
        }
        s
    }

    /// Writes the file atomically (a temporary file, fsync, rename, fsync of the directory).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.to_text().as_bytes())
    }

    /// The node that owns `slot`.
    pub fn owner(&self, slot: u16) -> Option<&ClusterNode> {
        let i = *self.owner.get(usize::from(slot))?;
        self.nodes.get(usize::from(i))
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&ClusterNode> {
        self.nodes.iter().find(|n| n.id.eq_ignore_ascii_case(id))
    }

    /// Slots owned by some node.
    pub fn assigned_slots(&self) -> usize {
        self.owner.iter().filter(|&&o| o != u16::MAX).count()
    }

    /// Gives `slots` (inclusive) to the node `to`, taking them from whoever owned them.
    pub fn reassign(&mut self, slots: (u16, u16), to: &str) -> std::result::Result<(), String> {
        let to =
            self.nodes.iter().position(|n| n.id.eq_ignore_ascii_case(to)).ok_or("no such node")?;
        let mut owner = self.owner.clone();
        for s in slots.0..=slots.1 {
            owner[usize::from(s)] = to as u16;
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.slots = ranges_of(&owner, i as u16);
        }
        self.owner = owner;
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

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    write_file(&OsStorage, dir, name, bytes, DirSync::Yes).map(|_| ())
}

/// The shard count recorded in the sharded store at `dir`.
pub fn shard_count(dir: &Path) -> Result<u32> {
    let path = dir.join(SHARDS_NAME);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?;
    text.lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("shards "))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::corruption(&path, 0, "bad shard layout"))
}

/// The shards of a store of `n` shards that hold exactly the slots `a..=b`, or an error
/// saying where the range should end.
pub fn shards_of_slots(
    n: u32,
    (a, b): (u16, u16),
) -> std::result::Result<std::ops::Range<usize>, String> {
    let per = usize::from(SLOTS) / n as usize;
    let (a, b) = (usize::from(a), usize::from(b));
    if a % per != 0 || (b + 1) % per != 0 {
        return Err(format!(
            "slots {a}-{b} are not whole shards: with {n} shards, each holds {per} slots (ranges start at a multiple of {per} and end one before one)"
        ));
    }
    Ok(a / per..(b + 1) / per)
}

/// What [`move_slots`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReport {
    /// The shard directories moved.
    pub shards: Vec<usize>,
    /// Bytes copied.
    pub bytes: u64,
}

fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("creating", to, e))?;
    let mut bytes = 0;
    for e in std::fs::read_dir(from).map_err(|e| Error::io("listing", from, e))? {
        let e = e.map_err(|e| Error::io("listing", from, e))?;
        let name = e.file_name();
        if name == "LOCK" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        bytes += std::fs::copy(&src, &dst).map_err(|e| Error::io("copying", &src, e))?;
        std::fs::File::open(&dst)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("syncing", &dst, e))?;
    }
    std::fs::File::open(to).and_then(|d| d.sync_all()).map_err(|e| Error::io("syncing", to, e))?;
    Ok(bytes)
}

/// Whether a shard directory holds records (any datafile).
fn holds_data(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("listing", dir, e)),
        Ok(rd) => Ok(rd
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".data"))),
    }
}

/// The file in a cluster node's store directory that names the node it belongs to.
pub const NODE_NAME: &str = "NODE";

/// The node id recorded in the store at `dir` (`None` when none is).
pub fn node_id(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(NODE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", &path, e)),
    }
}

/// Records that the store at `dir` belongs to node `id` (written once: temporary file,
/// fsync, rename, directory fsync), or checks that it already does: a store of another node
/// is refused, so a node never serves (and a move never takes) another node's data.
pub fn claim_node_id(dir: &Path, id: &str) -> Result<()> {
    match node_id(dir)? {
        Some(have) if have.eq_ignore_ascii_case(id) => Ok(()),
        Some(have) => Err(Error::Cluster(format!(
            "the store in {} belongs to cluster node {have}, not {id}",
            dir.display()
        ))),
        None => {
            let text = format!("{id}\n");
            write_file(&OsStorage, dir, NODE_NAME, text.as_bytes(), DirSync::Yes).map(|_| ())
        }
    }
}

/// Checks that the store at `from_dir` is node `source`'s and holds data in every shard of
/// `shards`, and that the store at `to_dir` is not another node's than `target`.
fn check_move_ends(
    from_dir: &Path,
    to_dir: &Path,
    source: &str,
    target: &str,
    shards: std::ops::Range<usize>,
) -> Result<()> {
    let bad = |m: String| Err(Error::Cluster(m));
    match node_id(from_dir)? {
        Some(id) if id.eq_ignore_ascii_case(source) => {}
        Some(id) => {
            return bad(format!(
                "{} is the store of node {id}, but node {source} owns those slots: pass its store as --from",
                from_dir.display()
            ))
        }
        None => {
            return bad(format!(
                "{} records no node id: start node {source} on it once in cluster mode (it records its id), then move",
                from_dir.display()
            ))
        }
    }
    if let Some(id) = node_id(to_dir)?.filter(|id| !id.eq_ignore_ascii_case(target)) {
        return bad(format!("{} is the store of node {id}, not of {target}", to_dir.display()));
    }
    for i in shards {
        let src = from_dir.join(shard_dir_name(i));
        if !holds_data(&src)? {
            return bad(format!(
                "{} holds no data for the slots being moved: refusing to move nothing and give the slots away",
                src.display()
            ));
        }
    }
    Ok(())
}

/// Moves the slots `slots` (whole shards) from the node whose store is `from_dir` to the
/// node `to_node` whose store is `to_dir`, and rewrites the configuration at `config`.
///
/// The source must be stopped (its shards' locks free), must own the slots, and its store
/// must record its node id (`NODE`, written by the node at start) and hold data in every
/// shard moved; the target's store must not record another node's id; the target
/// must have the same shard count and no data in those shards (a copy left by an
/// interrupted move is replaced). Steps, each durable before the next: copy each shard
/// into `shard-NNNN.moving` beside the target's, rename it into place, rewrite the
/// configuration, then empty the source's shards. A crash before the configuration is
/// rewritten leaves the source owning the slots with its data intact; after, the target
/// owns them with a complete copy. Nothing is lost or served twice.
pub fn move_slots(
    config: &Path,
    from_dir: &Path,
    to_dir: &Path,
    slots: (u16, u16),
    to_node: &str,
) -> Result<MoveReport> {
    let bad = |m: String| Error::Cluster(m);
    let mut cfg = ClusterConfig::read(config)?;
    if cfg.node(to_node).is_none() {
        return Err(bad(format!("no node {to_node} in {}", config.display())));
    }
    let source = cfg.owner(slots.0).map(|n| n.id.clone());
    for s in slots.0..=slots.1 {
        if cfg.owner(s).map(|n| n.id.clone()) != source {
            return Err(bad(format!("slots {}-{} have more than one owner", slots.0, slots.1)));
        }
    }
    let Some(source) = source else {
        return Err(bad(format!("slot {} has no owner", slots.0)));
    };
    if source.eq_ignore_ascii_case(to_node) {
        return Err(bad(format!("node {to_node} owns those slots already")));
    }
    let n = shard_count(from_dir)?;
    if shard_count(to_dir)? != n {
        return Err(bad("the two stores have different shard counts".into()));
    }
    let shards = shards_of_slots(n, slots).map_err(bad)?;
    check_move_ends(from_dir, to_dir, &source, to_node, shards.clone())?;
    let mut bytes = 0;
    for i in shards.clone() {
        let (src, dst) = (from_dir.join(shard_dir_name(i)), to_dir.join(shard_dir_name(i)));
        let storage = crate::storage::OsStorage;
        let lock = src.join("LOCK");
        if crate::storage::Storage::try_lock(&storage, &lock)
            .map_err(|e| Error::io("locking", &lock, e))?
            .is_none()
        {
            return Err(Error::Locked { path: src });
        }
        let moving: PathBuf = to_dir.join(format!("{}.moving", shard_dir_name(i)));
        let _ = std::fs::remove_dir_all(&moving);
        bytes += copy_dir(&src, &moving)?;
        if holds_data(&dst)? {
            // Left by an interrupted move: the configuration still says the source owns
            // these slots, so the target never served this copy.
            std::fs::remove_dir_all(&dst).map_err(|e| Error::io("removing", &dst, e))?;
        } else if dst.exists() {
            std::fs::remove_dir_all(&dst).map_err(|e| Error::io("removing", &dst, e))?;
        }
        std::fs::rename(&moving, &dst).map_err(|e| Error::io("renaming", &moving, e))?;
        std::fs::File::open(to_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("syncing", to_dir, e))?;
    }
    cfg.reassign(slots, to_node).map_err(|e| bad(e.to_string()))?;
    cfg.write(config)?;
    for i in shards.clone() {
        let src = from_dir.join(shard_dir_name(i));
        std::fs::remove_dir_all(&src).map_err(|e| Error::io("removing", &src, e))?;
        std::fs::create_dir_all(&src).map_err(|e| Error::io("creating", &src, e))?;
    }
    std::fs::File::open(from_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing", from_dir, e))?;
    Ok(MoveReport { shards: shards.collect(), bytes })
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
            (String::new(), "no nodes"),
        ] {
            let e = ClusterConfig::parse(&text).unwrap_err();
            assert!(e.contains(want), "{e} should say {want}");
        }
    }

    #[test]
    fn slot_ranges_must_be_whole_shards() {
        assert_eq!(shards_of_slots(16, (0, 1023)).unwrap(), 0..1);
        assert_eq!(shards_of_slots(16, (5120, 10239)).unwrap(), 5..10);
        assert!(shards_of_slots(16, (0, 5460)).unwrap_err().contains("not whole shards"));
        assert_eq!(shards_of_slots(1, (0, 16383)).unwrap(), 0..1);
    }
}
