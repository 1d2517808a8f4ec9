//! The server's own records in its store: each shard's marker (the version of the key
//! naming, keycode), the upgrade of a shard written before markers existed, and the
//! database map SWAPDB changes.

use bitcask_core::sharded::{routing_slot, Namespaced, NAMESPACED};
use bitcask_core::{Bitcask, Error, ShardedBitcask};

use crate::keycode::{decode, marker, stored, META, VERSION};

/// The number of databases the naming can hold.
pub const MAX_DATABASES: usize = 256;

/// Database `i` is physical database `map[i]` (identity until SWAPDB).
pub type DbMap = [u8; MAX_DATABASES];

/// Why a store could not be brought to the current naming.
#[derive(Debug)]
pub enum UpgradeError {
    /// The store failed.
    Store(Error),
    /// A shard's marker names a version this build does not know.
    UnknownNaming {
        /// The shard's directory.
        path: std::path::PathBuf,
        /// The marker's value.
        found: String,
    },
}

impl From<Error> for UpgradeError {
    fn from(e: Error) -> UpgradeError {
        UpgradeError::Store(e)
    }
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeError::Store(e) => write!(f, "store: {e}"),
            UpgradeError::UnknownNaming { path, found } => write!(
                f,
                "{}: keys named by version {found:?} of the server's key naming; this build knows version {}",
                path.display(),
                String::from_utf8_lossy(VERSION)
            ),
        }
    }
}

/// Brings every open shard to the current naming: a shard with a marker of this version is
/// ready; one without (written by a server before markers) has each key that starts with
/// `0x00` (a plain key then) renamed to its namespaced form, then gets its marker; a marker of
/// another version is refused. Renaming is idempotent, so a crash
/// part-way is finished by the next start. Returns how many keys were renamed.
pub fn upgrade(db: &ShardedBitcask) -> Result<usize, UpgradeError> {
    let mut renamed = 0;
    for i in 0..db.shard_count() {
        let Some(shard) = db.shard(i) else { continue };
        let m = marker(db.slots_of_shard(i));
        match shard.get(&m)? {
            Some(v) if v == VERSION => continue,
            Some(v) => {
                let path = db.path().join(bitcask_core::sharded::shard_dir_name(i));
                let found = String::from_utf8_lossy(&v).into_owned();
                return Err(UpgradeError::UnknownNaming { path, found });
            }
            None => renamed += rename_legacy(db, shard)?,
        }
        shard.put(&m, VERSION)?;
    }
    let key = map_key();
    if let Ok(shard) = db.shard_for(&key) {
        if !shard.contains(&key)? {
            shard.put(&key, &identity())?;
        }
    }
    db.sync()?;
    Ok(renamed)
}

/// How many of the server's own records the open shards hold (after [`upgrade`]): a marker
/// each, and the database map where its shard is open.
pub fn meta_records(db: &ShardedBitcask) -> usize {
    let functions = load_functions(db).ok().flatten().is_some();
    db.shards().len() + usize::from(db.shard_for(&map_key()).is_ok()) + usize::from(functions)
}

fn identity() -> DbMap {
    std::array::from_fn(|i| i as u8)
}

/// Renames the keys of `shard` that start with `0x00` to their namespaced form (database
/// 0): each is written under its new name (in its own shard), then deleted here. A key
/// that already reads as a namespaced name was renamed by an upgrade a crash cut short (a
/// plain key of exactly that shape is taken for one too).
fn rename_legacy(db: &ShardedBitcask, shard: &Bitcask) -> Result<usize, Error> {
    let legacy = |k: &[u8]| k.first() == Some(&NAMESPACED) && decode(k).is_none();
    let old: Vec<Vec<u8>> = shard.keys_where(legacy)?.collect();
    for k in &old {
        let (Some(v), Some(at)) = (shard.get(k)?, shard.expires_at(k)?) else { continue };
        let new = stored(0, k);
        let target = db.shard_for(&new)?;
        match at {
            Some(at) => target.put_expiring_at(&new, &v, at)?,
            None => target.put(&new, &v)?,
        }
        target.sync()?;
        shard.delete(k)?;
    }
    Ok(old.len())
}

/// The key of the database map (its user key is empty: slot 0).
fn map_key() -> Vec<u8> {
    Namespaced { ns: [META, 0], key: b"", rest: b"databases" }.encode()
}

/// The database map recorded in the store (identity when none is).
pub fn load_map(db: &ShardedBitcask) -> Result<DbMap, Error> {
    let mut map = identity();
    let key = map_key();
    let Some(shard) = db.shard(db.shard_of_slot(routing_slot(&key))) else { return Ok(map) };
    if let Some(v) = shard.get(&key)? {
        if v.len() == MAX_DATABASES {
            map.copy_from_slice(&v);
        }
    }
    Ok(map)
}

/// Records the database map (one write: a crash keeps the old map or the new).
pub fn save_map(db: &ShardedBitcask, map: &DbMap) -> Result<(), Error> {
    let key = map_key();
    db.shard_for(&key)?.put(&key, map)
}

/// The key of the function libraries (a FUNCTION DUMP payload; its user key is empty: slot 0).
fn functions_key() -> Vec<u8> {
    Namespaced { ns: [META, 0], key: b"", rest: b"functions" }.encode()
}

/// The function libraries recorded in the store, if the shard that keeps them is open.
pub fn load_functions(db: &ShardedBitcask) -> Result<Option<Vec<u8>>, Error> {
    let key = functions_key();
    match db.shard_for(&key) {
        Ok(shard) => shard.get(&key),
        Err(_) => Ok(None),
    }
}

/// Records the function libraries (one write: a crash keeps the old set or the new);
/// nothing when the shard that keeps them is not open here. Whether the record is new.
pub fn save_functions(db: &ShardedBitcask, payload: &[u8]) -> Result<bool, Error> {
    let key = functions_key();
    let Ok(shard) = db.shard_for(&key) else { return Ok(false) };
    let new = !shard.contains(&key)?;
    shard.put(&key, payload)?;
    Ok(new)
}
