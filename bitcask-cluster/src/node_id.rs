//! The node id a cluster node records in its store (`NODE`), so a node never serves, and a
//! move never takes, another node's data.

use std::path::Path;

use bitcask_core::storage::OsStorage;

use crate::error::{ClusterError, Result};

/// The file in a cluster node's store directory that names the node it belongs to.
pub const NODE_NAME: &str = "NODE";

/// The node id recorded in the store at `dir` (`None` when none is).
pub fn node_id(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(NODE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClusterError::Read { path, source }),
    }
}

/// Records that the store at `dir` belongs to node `id` (written once, atomically and
/// durably), or checks that it already does: a store of another node is refused.
pub fn claim_node_id(dir: &Path, id: &str) -> Result<()> {
    match node_id(dir)? {
        Some(have) if have.eq_ignore_ascii_case(id) => Ok(()),
        Some(owner) => Err(ClusterError::ForeignStore { dir: dir.into(), owner, node: id.into() }),
        None => {
            let text = format!("{id}\n");
            Ok(bitcask_core::tools::replace_file(
                &OsStorage,
                &dir.join(NODE_NAME),
                text.as_bytes(),
            )?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(node_id(dir.path()).unwrap(), None);
        claim_node_id(dir.path(), "AB").unwrap();
        claim_node_id(dir.path(), "ab").unwrap();
        assert_eq!(node_id(dir.path()).unwrap().as_deref(), Some("AB"));
        let e = claim_node_id(dir.path(), "cd").unwrap_err();
        assert!(matches!(e, ClusterError::ForeignStore { ref owner, .. } if owner == "AB"), "{e}");
    }
}
