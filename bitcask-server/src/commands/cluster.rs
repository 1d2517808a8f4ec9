//! CLUSTER (SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT),
//! READONLY, READWRITE and ASKING: what cluster-aware clients ask to route by themselves.

use bitcask_cluster::{ClusterNode, Node};
use bitcask_core::sharded::{key_slot, SLOTS};

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_FAST};

/// The cluster commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "cluster", arity: -2, group: "cluster", summary: "A container for Redis Cluster commands.", subs: CLUSTER, ..Spec::NONE },
    Spec { name: "readonly", arity: 1, flags: F_FAST, group: "cluster", summary: "Accepted (no replicas to read from).", run: accepted, ..Spec::NONE },
    Spec { name: "readwrite", arity: 1, flags: F_FAST, group: "cluster", summary: "Accepted (no replicas to read from).", run: accepted, ..Spec::NONE },
    Spec { name: "asking", arity: 1, flags: F_FAST, group: "cluster", summary: "Accepted (slots never migrate while served).", run: accepted, ..Spec::NONE },
];

/// CLUSTER's subcommands.
#[rustfmt::skip]
static CLUSTER: &[Spec] = &[
    Spec { name: "slots", arity: 2, group: "cluster", summary: "Returns the mapping of cluster slots to nodes.", run: slots, ..Spec::NONE },
    Spec { name: "shards", arity: 2, group: "cluster", summary: "Returns the mapping of cluster slots to shards.", run: shards, ..Spec::NONE },
    Spec { name: "nodes", arity: 2, group: "cluster", summary: "Returns the cluster configuration for a node.", run: nodes, ..Spec::NONE },
    Spec { name: "info", arity: 2, group: "cluster", summary: "Returns information about the state of a node.", run: info, ..Spec::NONE },
    Spec { name: "myid", arity: 2, group: "cluster", summary: "Returns the ID of a node.", run: myid, ..Spec::NONE },
    Spec { name: "keyslot", arity: 3, group: "cluster", syntax: "<key>", summary: "Returns the hash slot for a key.", run: keyslot, ..Spec::NONE },
    Spec { name: "countkeysinslot", arity: 3, group: "cluster", syntax: "<slot>", summary: "Returns the number of keys in a hash slot.", run: countkeysinslot, ..Spec::NONE },
    Spec { name: "getkeysinslot", arity: 4, group: "cluster", syntax: "<slot> <count>", summary: "Returns the key names in a hash slot.", run: getkeysinslot, ..Spec::NONE },
];

/// This node's view of the cluster, or the error of a server not in cluster mode.
fn node<'a>(cx: &Cx<'a>) -> Result<&'a Node, Failure> {
    cx.srv.cluster.as_ref().ok_or(Failure::err("This instance has cluster support disabled"))
}

fn accepted(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    node(cx)?;
    cx.out.ok();
    Ok(())
}

fn slot_arg(args: &mut Args<'_>) -> Result<u16, Failure> {
    let n = args.int()?;
    if !(0..i64::from(SLOTS)).contains(&n) {
        return Err(Failure::err("Invalid or out of range slot"));
    }
    Ok(n as u16)
}

fn nodes_text(c: &Node) -> String {
    let mut s = String::new();
    for (i, n) in c.config().nodes().iter().enumerate() {
        let flags = if i == c.index() { "myself,master" } else { "master" };
        s.push_str(&format!(
            "{} {}:{}@{} {flags} - 0 0 {} connected",
            n.id,
            n.host,
            n.port,
            u32::from(n.port) + 10_000,
            i + 1
        ));
        s.push_str(&n.slots_text());
        s.push('\n');
    }
    s
}

fn info_text(c: &Node) -> String {
    let assigned = c.config().assigned_slots();
    let size = c.config().nodes().iter().filter(|n| !n.slots.is_empty()).count();
    format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{assigned}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{}\r\ncluster_size:{size}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n",
        if assigned == usize::from(SLOTS) { "ok" } else { "fail" },
        c.config().nodes().len(),
        c.config().nodes().len(),
        c.index() + 1,
    )
}

fn node_entry(cx: &mut Cx<'_>, n: &ClusterNode) {
    cx.out.array(3);
    cx.out.bulk(n.host.as_bytes());
    cx.out.int(i64::from(n.port));
    cx.out.bulk(n.id.as_bytes());
}

fn shards_reply(cx: &mut Cx<'_>, c: &Node) {
    let owners: Vec<&ClusterNode> =
        c.config().nodes().iter().filter(|n| !n.slots.is_empty()).collect();
    cx.out.array(owners.len());
    for n in owners {
        cx.out.map(2);
        cx.out.bulk(b"slots");
        cx.out.array(n.slots.len() * 2);
        for &(a, b) in &n.slots {
            cx.out.int(i64::from(a));
            cx.out.int(i64::from(b));
        }
        cx.out.bulk(b"nodes");
        cx.out.array(1);
        cx.out.map(7);
        for (k, v) in [
            ("id", n.id.clone()),
            ("ip", n.host.clone()),
            ("endpoint", n.host.clone()),
            ("role", "master".into()),
            ("health", "online".into()),
        ] {
            cx.out.bulk(k.as_bytes());
            cx.out.bulk(v.as_bytes());
        }
        cx.out.bulk(b"port");
        cx.out.int(i64::from(n.port));
        cx.out.bulk(b"replication-offset");
        cx.out.int(0);
    }
}

fn slots(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let c = node(cx)?;
    let ranges: Vec<(u16, u16, &ClusterNode)> = c
        .config()
        .nodes()
        .iter()
        .flat_map(|n| n.slots.iter().map(move |&(a, b)| (a, b, n)))
        .collect();
    cx.out.array(ranges.len());
    for (a, b, node) in ranges {
        cx.out.array(3);
        cx.out.int(i64::from(a));
        cx.out.int(i64::from(b));
        node_entry(cx, node);
    }
    Ok(())
}

fn shards(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let c = node(cx)?;
    shards_reply(cx, c);
    Ok(())
}

fn nodes(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let t = nodes_text(node(cx)?);
    cx.out.bulk(t.as_bytes());
    Ok(())
}

fn info(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let t = info_text(node(cx)?);
    cx.out.bulk(t.as_bytes());
    Ok(())
}

fn myid(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let id = &node(cx)?.myself().id;
    cx.out.bulk(id.as_bytes());
    Ok(())
}

fn keyslot(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    node(cx)?;
    cx.out.int(i64::from(key_slot(args.key())));
    Ok(())
}

fn countkeysinslot(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    node(cx)?;
    let slot = slot_arg(args)?;
    let keys = cx.srv.ks.keys_in_slot(slot, usize::MAX)?;
    cx.out.int(keys.len() as i64);
    Ok(())
}

fn getkeysinslot(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    node(cx)?;
    let slot = slot_arg(args)?;
    let count = args.int()?;
    if count < 0 {
        return Err(Failure::err("Invalid number of keys"));
    }
    let keys = cx.srv.ks.keys_in_slot(slot, count as usize)?;
    cx.out.array(keys.len());
    for k in &keys {
        cx.out.bulk(k);
    }
    Ok(())
}
