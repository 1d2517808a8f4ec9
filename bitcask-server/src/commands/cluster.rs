//! CLUSTER (SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT),
//! READONLY, READWRITE and ASKING: what cluster-aware clients ask to route by themselves.

use bitcask_cluster::{ClusterNode, Node};
use bitcask_core::sharded::{key_slot, SLOTS};

use super::{int_arg, is, wrong_args, Cx};

pub fn accepted(cx: &mut Cx<'_>, _: &[&[u8]]) {
    if cx.srv.cluster.is_none() {
        return cx.out.err("This instance has cluster support disabled");
    }
    cx.out.ok();
}

fn slot_arg(cx: &mut Cx<'_>, arg: &[u8]) -> Option<u16> {
    let n = int_arg(cx.out, arg)?;
    if !(0..i64::from(SLOTS)).contains(&n) {
        cx.out.err("Invalid or out of range slot");
        return None;
    }
    Some(n as u16)
}

/// The keys of `slot` held here.
fn keys_in_slot(cx: &Cx<'_>, slot: u16, limit: usize) -> Vec<Vec<u8>> {
    let db = &cx.srv.ks.db;
    let Some(shard) = db.shard(db.shard_of_slot(slot)) else { return Vec::new() };
    let mut n = 0;
    shard
        .keys_where(|k| {
            let take = n < limit && key_slot(k) == slot;
            n += usize::from(take);
            take
        })
        .map(Iterator::collect)
        .unwrap_or_default()
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

pub fn cluster(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let Some(c) = cx.srv.cluster.as_ref() else {
        return cx.out.err("This instance has cluster support disabled");
    };
    let sub = argv.get(1).copied().unwrap_or_default();
    let name = String::from_utf8_lossy(sub).to_lowercase();
    let n = argv.len();
    match name.as_str() {
        "slots" if n == 2 => {
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
        }
        "shards" if n == 2 => shards_reply(cx, c),
        "nodes" if n == 2 => {
            let t = nodes_text(c);
            cx.out.bulk(t.as_bytes());
        }
        "info" if n == 2 => {
            let t = info_text(c);
            cx.out.bulk(t.as_bytes());
        }
        "myid" if n == 2 => cx.out.bulk(c.myself().id.as_bytes()),
        "keyslot" if n == 3 => {
            cx.out.int(i64::from(key_slot(argv.get(2).copied().unwrap_or_default())))
        }
        "countkeysinslot" if n == 3 => {
            let Some(slot) = slot_arg(cx, argv.get(2).copied().unwrap_or_default()) else { return };
            let keys = keys_in_slot(cx, slot, usize::MAX);
            cx.out.int(keys.len() as i64);
        }
        "getkeysinslot" if n == 4 => {
            let Some(slot) = slot_arg(cx, argv.get(2).copied().unwrap_or_default()) else { return };
            let Some(count) = int_arg(cx.out, argv.get(3).copied().unwrap_or_default()) else {
                return;
            };
            if count < 0 {
                return cx.out.err("Invalid number of keys");
            }
            let keys = keys_in_slot(cx, slot, count as usize);
            cx.out.array(keys.len());
            for k in &keys {
                cx.out.bulk(k);
            }
        }
        "slots" | "shards" | "nodes" | "info" | "myid" | "keyslot" | "countkeysinslot"
        | "getkeysinslot" => wrong_args(cx.out, &format!("cluster|{name}")),
        _ if is(sub, "help") => {
            let lines = [
                "CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
                "SLOTS",
                "SHARDS",
                "NODES",
                "INFO",
                "MYID",
                "KEYSLOT <key>",
                "COUNTKEYSINSLOT <slot>",
                "GETKEYSINSLOT <slot> <count>",
            ];
            cx.out.array(lines.len());
            for l in lines {
                cx.out.simple(l);
            }
        }
        _ => cx.out.err(&format!(
            "unknown subcommand '{}'. Try CLUSTER HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
}
