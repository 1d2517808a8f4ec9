//! DUMP and RESTORE (and RESTORE-ASKING, which MIGRATE sends): a value in Redis's own
//! serialization (rdb.rs), so a DUMP from redis-server RESTOREs here and back, and MIGRATE
//! from a live Redis moves keys in.

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_READONLY, F_WRITE};
use bitcask_collections::Kind;

use crate::rdb::{self, DecodeError, Object};
use crate::tx::Value;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "dump", arity: 2, flags: F_READONLY, keys: (1, 1, 1), group: "generic", summary: "Returns a serialized representation of the value stored at a key.", run: dump, ..Spec::NONE },
    Spec { name: "restore", arity: -4, flags: F_WRITE, keys: (1, 1, 1), group: "generic", summary: "Creates a key from the serialized representation of a value.", run: restore, ..Spec::NONE },
    Spec { name: "restore-asking", arity: -4, flags: F_WRITE, keys: (1, 1, 1), group: "generic", summary: "An internal command for migrating keys in a cluster.", run: restore, ..Spec::NONE },
];

fn dump(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    if cx.tx.kind_of(key).is_none() {
        // A string is serialized without a copy.
        let out = &mut *cx.out;
        if cx.tx.with_value(key, |v| out.bulk(&rdb::dump_string(v)))?.is_none() {
            out.null();
        }
        return Ok(());
    }
    let payload = match cx.tx.value(key)? {
        Some((Value::Collection(Kind::Hash, pairs), _)) => rdb::dump_hash(&pairs),
        Some((Value::Collection(Kind::Set, all), _)) => {
            rdb::dump_set(&all.into_iter().map(|(m, _)| m).collect::<Vec<_>>())
        }
        Some((Value::Collection(Kind::List, all), _)) => {
            rdb::dump_list(&all.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
        }
        Some((Value::Collection(Kind::Zset, all), _)) => rdb::dump_zset(&scored(all)),
        Some((Value::String(v), _)) => rdb::dump_string(&v),
        None => {
            cx.out.null();
            return Ok(());
        }
    };
    cx.out.bulk(&payload);
    Ok(())
}

/// A sorted set's (member, score) pairs from its whole value's (member, 8-byte score).
fn scored(all: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, f64)> {
    let score = |s: &[u8]| s.first_chunk::<8>().map_or(0.0, |b| f64::from_be_bytes(*b));
    all.into_iter().map(|(m, s)| (m, score(&s))).collect()
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct RestoreOpts {
    replace: bool,
    absttl: bool,
}

fn restore_opts(args: &mut Args<'_>) -> Result<RestoreOpts, Failure> {
    let (mut o, mut idle, mut freq) = (RestoreOpts::default(), false, false);
    while args.left() > 0 {
        if args.eat("replace") {
            o.replace = true;
        } else if args.eat("absttl") {
            o.absttl = true;
        } else if !freq && args.left() > 1 && args.eat("idletime") {
            if args.int()? < 0 {
                return Err(Failure::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = true;
        } else if !idle && args.left() > 1 && args.eat("freq") {
            if !(0..=255).contains(&args.int()?) {
                return Err(Failure::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = true;
        } else {
            return Err(Failure::syntax());
        }
    }
    Ok(o)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]: the checks in Redis's
/// order; a TTL already past deletes the key instead (as Redis).
fn restore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let ttl = args.int()?;
    let payload = args.key();
    let o = restore_opts(args)?;
    if ttl < 0 {
        return Err(Failure::err("Invalid TTL value, must be >= 0"));
    }
    if !o.replace && cx.tx.exists(key)? {
        return Err(Failure::coded("BUSYKEY Target key name already exists."));
    }
    let value = rdb::restore_object(payload).map_err(|e| match e {
        DecodeError::VersionOrChecksum => {
            Failure::err("DUMP payload version or checksum are wrong")
        }
        DecodeError::BadFormat => Failure::err("Bad data format"),
    })?;
    let at = match (ttl, o.absttl) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => cx.tx.now.saturating_add(t as u64),
    };
    if at != 0 && at <= cx.tx.now {
        if cx.tx.delete(key)? {
            cx.tx.notify(crate::notify::GENERIC, "del", key);
        }
    } else {
        let value = match value {
            Object::String(v) => Value::String(v),
            Object::Hash(pairs) => Value::Collection(Kind::Hash, pairs),
            Object::List(all) => {
                Value::Collection(Kind::List, all.into_iter().map(|v| (Vec::new(), v)).collect())
            }
            Object::Set(all) => {
                Value::Collection(Kind::Set, all.into_iter().map(|m| (m, Vec::new())).collect())
            }
            Object::Zset(all) => {
                let all = all.into_iter().map(|(m, s)| (m, s.to_be_bytes().to_vec()));
                Value::Collection(Kind::Zset, all.collect())
            }
        };
        cx.tx.put_value(key, value, at)?;
        cx.tx.notify(crate::notify::GENERIC, "restore", key);
    }
    cx.out.ok();
    Ok(())
}
