//! MULTI / EXEC / DISCARD / WATCH / UNWATCH. EXEC runs the queue through the one execution
//! path as a whole: the slots of every queued command's keys (and the WATCHed ones) locked,
//! the WATCHed versions checked, one write set committed as one atomic batch — all or none,
//! also across a crash. A transaction whose writes span shards is refused whole (nothing
//! is written).

use bitcask_core::sharded::key_slot;

use super::args::{Args, Failure, Res};
use super::run::{run, Call, Mode};
use super::spec::{Cx, Spec, F_FAST, F_NOSCRIPT, F_TXCONTROL};

/// The transaction commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "multi", arity: 1, flags: F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "transactions", summary: "Starts a transaction.", run: multi, ..Spec::NONE },
    Spec { name: "exec", arity: 1, flags: F_TXCONTROL | F_NOSCRIPT, group: "transactions", summary: "Executes all commands in a transaction.", run: exec, ..Spec::NONE },
    Spec { name: "discard", arity: 1, flags: F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "transactions", summary: "Discards a transaction.", run: discard, ..Spec::NONE },
    Spec { name: "watch", arity: -2, flags: F_TXCONTROL | F_FAST | F_NOSCRIPT, keys: (1, -1, 1), group: "transactions", summary: "Monitors changes to keys to determine the execution of a transaction.", run: watch, ..Spec::NONE },
    Spec { name: "unwatch", arity: 1, flags: F_FAST | F_NOSCRIPT, group: "transactions", summary: "Forgets about watched keys of a transaction.", run: unwatch, ..Spec::NONE },
];

fn multi(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    if cx.sess.multi.is_some() {
        return Err(Failure::err("MULTI calls can not be nested"));
    }
    cx.sess.multi = Some(Vec::new());
    cx.out.ok();
    Ok(())
}

fn discard(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    if cx.sess.multi.is_none() {
        return Err(Failure::err("DISCARD without MULTI"));
    }
    cx.sess.end_multi();
    cx.out.ok();
    Ok(())
}

fn watch(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if cx.sess.multi.is_some() {
        return Err(Failure::err("WATCH inside MULTI is not allowed"));
    }
    for key in args.rest() {
        // A key already expired is deleted now, so that its deletion by the expiry sweep
        // later is no change to this WATCH (as Redis treats a stale watched key).
        if cx.srv.ks.reap_key(cx.sess.db, key)? {
            cx.tx.notify(crate::notify::EXPIRED, "expired", key);
        }
        let slot = key_slot(key);
        cx.sess.watched.push((slot, cx.srv.ks.version(slot)));
        if let Some(at) = cx.tx.expiry(key)?.filter(|&at| at != 0) {
            let d = &mut cx.sess.watch_deadline;
            *d = if *d == 0 { at } else { (*d).min(at) };
        }
    }
    cx.out.ok();
    Ok(())
}

fn unwatch(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.sess.watched.clear();
    cx.sess.watch_deadline = 0;
    cx.out.ok();
    Ok(())
}

fn exec(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let Some(queued) = cx.sess.multi.take() else {
        return Err(Failure::err("EXEC without MULTI"));
    };
    let aborted = cx.sess.multi_error;
    let watched = std::mem::take(&mut cx.sess.watched);
    let deadline = cx.sess.watch_deadline;
    cx.sess.end_multi();
    if aborted {
        return Err(Failure::coded("EXECABORT Transaction discarded because of previous errors."));
    }
    if deadline != 0 && crate::keyspace::now_ms() >= deadline {
        cx.out.null_array();
        return Ok(());
    }
    let argvs: Vec<Vec<&[u8]>> =
        queued.iter().map(|a| a.iter().map(Vec::as_slice).collect()).collect();
    // Every queued command was resolved when it was queued.
    let calls: Vec<Call<'_>> = argvs
        .iter()
        .filter_map(|argv| {
            cx.table.resolve(argv).ok().map(|(spec, at)| (spec, argv.as_slice(), at))
        })
        .collect();
    run(cx.srv, cx.sess, cx.out, &calls, Mode::Exec(&watched), cx.table);
    Ok(())
}
