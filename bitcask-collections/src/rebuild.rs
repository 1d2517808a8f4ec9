//! Rebuilding the collections of a store at open: one walk over the keydir's collection
//! records (no value is read but the headers'), attaching each element to the collection
//! whose header carries its version. Elements no header claims are orphans (of a
//! collection deleted or replaced, or of a header that did not survive a crash): the
//! caller forgets them.

use std::collections::HashMap;

use bitcask_core::{Bitcask, Error};

use crate::collection::{member_position, Collection};
use crate::header::{Header, HeaderError, Kind};
use crate::key::{is_collection_record, parse, Stored};
use crate::score::member_score;

/// A collection found by [`rebuild`].
#[derive(Debug)]
pub struct Loaded {
    /// Its database.
    pub db: u8,
    /// Its key.
    pub key: Vec<u8>,
    /// Its index.
    pub collection: Collection,
}

/// What [`rebuild`] found in a store.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// Every live collection.
    pub collections: Vec<Loaded>,
    /// The stored keys of elements no live header claims.
    pub orphans: Vec<Vec<u8>>,
    /// Headers this build cannot read (a newer format, a foreign record), left as they
    /// are with their elements: (stored key, why).
    pub unreadable: Vec<(Vec<u8>, HeaderError)>,
    /// The highest version any record carries (a new collection takes a higher one).
    pub max_version: u64,
}

/// Rebuilds the collections of `store`.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use bitcask_collections::{element_key, header_key, rebuild, Header, Kind};
/// let store = bitcask_core::Bitcask::open(dir.path(), Default::default())?;
/// store.put(&header_key(0, b"h"), &Header { kind: Kind::Hash, version: 7 }.encode())?;
/// store.put(&element_key(0, b"h", 7, b"field"), b"value")?;
/// store.put(&element_key(0, b"h", 6, b"old"), b"value")?;
/// let found = rebuild(&store)?;
/// assert_eq!(found.collections[0].collection.members.len(), 1);
/// assert_eq!(found.orphans, vec![element_key(0, b"h", 6, b"old")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rebuild(store: &Bitcask) -> Result<Rebuilt, Error> {
    let keys: Vec<Vec<u8>> = store.keys_where(is_collection_record)?.collect();
    let mut found = Rebuilt::default();
    let mut by_key: HashMap<(u8, Vec<u8>), usize> = HashMap::new();
    let mut unreadable: HashMap<(u8, Vec<u8>), ()> = HashMap::new();
    for k in &keys {
        let Some(Stored::Header { db, key }) = parse(k) else { continue };
        let (Some(bytes), Some(at)) = (store.get(k)?, store.expires_at(k)?) else { continue };
        match Header::decode(&bytes) {
            Ok(h) => {
                let mut c = Collection::new(h.kind, h.version);
                c.expire_at = at.map_or(0, crate::ms_since_epoch);
                found.max_version = found.max_version.max(h.version);
                by_key.insert((db, key.to_vec()), found.collections.len());
                found.collections.push(Loaded { db, key: key.to_vec(), collection: c });
            }
            Err(e) => {
                unreadable.insert((db, key.to_vec()), ());
                found.unreadable.push((k.clone(), e));
            }
        }
    }
    for k in keys {
        let Some(Stored::Element { db, key, version, member }) = parse(&k) else { continue };
        found.max_version = found.max_version.max(version);
        let owner = (db, key.to_vec());
        match by_key.get(&owner).and_then(|&i| found.collections.get_mut(i)) {
            Some(l) if l.collection.version == version => match l.collection.kind {
                Kind::List => match member_position(member) {
                    Some(p) => l.collection.order.push_back(p),
                    None => found.orphans.push(k),
                },
                Kind::Zset => match member_score(member) {
                    Some((s, m)) if l.collection.score(m).is_none() => {
                        l.collection.set_score(m, s);
                    }
                    _ => found.orphans.push(k),
                },
                _ => {
                    l.collection.members.insert(member.into());
                }
            },
            _ if unreadable.contains_key(&owner) => {}
            _ => found.orphans.push(k),
        }
    }
    for l in &mut found.collections {
        l.collection.order.make_contiguous().sort_unstable();
    }
    Ok(found)
}
