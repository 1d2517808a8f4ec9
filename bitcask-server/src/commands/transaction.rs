//! MULTI / EXEC / DISCARD / WATCH / UNWATCH. EXEC locks the slots of every queued
//! command's keys (and the WATCHed ones), checks the WATCHed versions, runs the commands
//! against one write set and commits it as one atomic batch: all or none, also across a
//! crash. A transaction whose writes span shards is refused whole (nothing is written).

use bitcask_core::sharded::key_slot;

use super::{keys_of, lookup, store_error, Cx, F_ALLKEYS};
use crate::keyspace::Commit;

pub fn multi(cx: &mut Cx<'_>, _: &[&[u8]]) {
    if cx.sess.multi.is_some() {
        return cx.out.err("MULTI calls can not be nested");
    }
    cx.sess.multi = Some(Vec::new());
    cx.out.ok();
}

pub fn discard(cx: &mut Cx<'_>, _: &[&[u8]]) {
    if cx.sess.multi.is_none() {
        return cx.out.err("DISCARD without MULTI");
    }
    cx.sess.end_multi();
    cx.out.ok();
}

pub fn watch(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    if cx.sess.multi.is_some() {
        return cx.out.err("WATCH inside MULTI is not allowed");
    }
    for key in argv.get(1..).unwrap_or_default() {
        let slot = key_slot(key);
        cx.sess.watched.push((slot, cx.srv.ks.version(slot)));
    }
    cx.out.ok();
}

pub fn unwatch(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.sess.watched.clear();
    cx.out.ok();
}

pub fn exec(cx: &mut Cx<'_>, _: &[&[u8]]) {
    let Some(queued) = cx.sess.multi.take() else {
        return cx.out.err("EXEC without MULTI");
    };
    if cx.sess.multi_error {
        cx.sess.end_multi();
        return cx.out.error("EXECABORT Transaction discarded because of previous errors.");
    }
    let ks = &cx.srv.ks;
    let argvs: Vec<Vec<&[u8]>> =
        queued.iter().map(|a| a.iter().map(Vec::as_slice).collect()).collect();
    let specs: Vec<_> = argvs.iter().filter_map(|a| a.first().and_then(|n| lookup(n))).collect();
    let all = specs.iter().any(|s| s.flags & F_ALLKEYS != 0);
    let keys: Vec<&[u8]> = specs.iter().zip(&argvs).flat_map(|(s, a)| keys_of(s, a)).collect();
    if let Some(c) = &cx.srv.cluster {
        if let Some(r) = c.route(&keys) {
            cx.sess.end_multi();
            return cx.out.error(&r.to_string());
        }
    }
    let watched: Vec<u16> = cx.sess.watched.iter().map(|(s, _)| *s).collect();
    let _locks = if all { ks.lock_all() } else { ks.lock(&keys, &watched) };
    let changed = cx.sess.watched.iter().any(|&(slot, v)| ks.version(slot) != v);
    cx.sess.end_multi();
    if changed {
        return cx.out.null_array();
    }
    let mark = cx.out.mark();
    cx.out.array(specs.len());
    cx.in_exec = true;
    for (spec, argv) in specs.iter().zip(&argvs) {
        (spec.run)(cx, argv);
    }
    cx.in_exec = false;
    let tx = std::mem::replace(&mut cx.tx, crate::keyspace::Tx::new(ks));
    if tx.is_empty() {
        return;
    }
    match tx.commit(Commit::Atomic) {
        Ok(()) => cx.sess.wrote = true,
        Err(e) => {
            cx.out.rollback(mark);
            store_error(cx.out, &e);
        }
    }
}
