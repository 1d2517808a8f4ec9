//! `bitcask cluster move`: moving slots between the nodes of a static cluster, thin over
//! `bitcask_cluster::move_slots`.

use crate::failure::CmdResult;
use crate::flags::ClusterCommand;

pub fn run(c: &ClusterCommand) -> CmdResult {
    match c {
        ClusterCommand::Move { config, slots, from, to, to_node } => {
            let r = bitcask_cluster::move_slots(config, from, to, *slots, to_node)?;
            note!(
                "moved slots {}-{} (shards {:?}, {} bytes) to {to_node}; copy {} to every node and restart the source and the target",
                slots.0,
                slots.1,
                r.shards,
                r.bytes,
                config.display()
            );
            Ok(0)
        }
    }
}
