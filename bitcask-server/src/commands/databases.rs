//! Database commands: SELECT, MOVE, SWAPDB (COPY ... DB is with COPY). A database is a
//! part of the key naming (keycode), so a key and its copy in another database share a
//! slot and a shard: MOVE is one atomic write. Cluster mode has database 0 only.

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_ALLKEYS, F_FAST, F_WRITE};

/// The database commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "select", arity: 2, flags: F_FAST, group: "connection", summary: "Changes the selected database.", run: select, ..Spec::NONE },
    Spec { name: "move", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Moves a key to another database.", run: move_, ..Spec::NONE },
    Spec { name: "swapdb", arity: 3, flags: F_WRITE | F_FAST | F_ALLKEYS, group: "server", summary: "Swaps two Redis databases.", run: swapdb, ..Spec::NONE },
];

/// Refuses `cmd` in cluster mode (`ERR <cmd> is not allowed in cluster mode`).
fn not_in_cluster(cx: &Cx<'_>, cmd: &str) -> Result<(), Failure> {
    match cx.srv.cluster {
        Some(_) => Err(Failure::err(format!("{cmd} is not allowed in cluster mode"))),
        None => Ok(()),
    }
}

/// A database index `n` (already read): `ERR DB index is out of range` unless
/// `0 <= n < --databases`.
pub fn db_index(cx: &Cx<'_>, n: i64) -> Result<u8, Failure> {
    match u8::try_from(n) {
        Ok(db) if u16::from(db) < cx.srv.cfg.databases => Ok(db),
        _ => Err(Failure::err("DB index is out of range")),
    }
}

fn select(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = args.int()?;
    if n != 0 {
        not_in_cluster(cx, "SELECT")?;
    }
    let db = db_index(cx, n)?;
    (cx.sess.db, cx.tx.db) = (db, db);
    cx.out.ok();
    Ok(())
}

fn move_(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    not_in_cluster(cx, "MOVE")?;
    let key = args.key();
    let to = args.int()?;
    let to = db_index(cx, to)?;
    if to == cx.tx.db {
        return Err(Failure::err("source and destination objects are the same"));
    }
    let Some((v, at)) = cx.tx.value(key)? else {
        cx.out.int(0);
        return Ok(());
    };
    if cx.tx.in_db(to, |tx| tx.exists(key))? {
        cx.out.int(0);
        return Ok(());
    }
    cx.tx.in_db(to, |tx| tx.put_value(key, v, at))?;
    cx.tx.delete(key)?;
    cx.tx.notify(crate::notify::GENERIC, "move_from", key);
    cx.tx.in_db(to, |tx| tx.notify(crate::notify::GENERIC, "move_to", key));
    cx.out.int(1);
    Ok(())
}

fn swapdb(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    not_in_cluster(cx, "SWAPDB")?;
    let a = args.int().map_err(|_| Failure::err("invalid first DB index"))?;
    let b = args.int().map_err(|_| Failure::err("invalid second DB index"))?;
    let (a, b) = (db_index(cx, a)?, db_index(cx, b)?);
    // The swap is applied at once. Writes this transaction queued before it name physical
    // databases, so they land where Redis puts them (a SET then SWAPDB 0 1 leaves the key
    // in database 1).
    if a != b {
        cx.srv.ks.swap_dbs(a, b)?;
    }
    cx.out.ok();
    Ok(())
}
