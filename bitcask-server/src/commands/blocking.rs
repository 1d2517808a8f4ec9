//! The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP of lists, BZPOPMIN,
//! BZPOPMAX, BZMPOP of sorted sets. Each pops at once when it can; otherwise (outside a
//! transaction or a script, where it answers its timeout at once) the client is blocked: its
//! connection runs the command again whenever a list or sorted set is added to (and every
//! 100 ms), and at its deadline the command answers its timeout.

use bitcask_collections::Kind;

use super::args::{Args, Failure, Res};
use super::lists::{move_value, mpop, pop_values, reply_keyed, End};
use super::members::mpop_args;
use super::spec::{Cx, Spec, F_BLOCKING, F_FAST, F_NOSCRIPT, F_WRITE, NUMKEYS};
use super::zsets::{mpop_scored, pop_scored, reply_mpop, End as ZEnd};
use crate::number::parse_f64;
use crate::session::Blocked;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "blpop", arity: -3, flags: F_WRITE | F_NOSCRIPT | F_BLOCKING, keys: (1, -2, 1), group: "list", summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", run: blpop, ..Spec::NONE },
    Spec { name: "brpop", arity: -3, flags: F_WRITE | F_NOSCRIPT | F_BLOCKING, keys: (1, -2, 1), group: "list", summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", run: brpop, ..Spec::NONE },
    Spec { name: "blmove", arity: 6, flags: F_WRITE | F_NOSCRIPT | F_BLOCKING, keys: (1, 2, 1), group: "list", summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", run: blmove, ..Spec::NONE },
    Spec { name: "brpoplpush", arity: 4, flags: F_WRITE | F_NOSCRIPT | F_BLOCKING, keys: (1, 2, 1), group: "list", summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", run: brpoplpush, ..Spec::NONE },
    Spec { name: "bzpopmin", arity: -3, flags: F_WRITE | F_FAST | F_NOSCRIPT | F_BLOCKING, keys: (1, -2, 1), group: "sorted-set", summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", run: bzpopmin, ..Spec::NONE },
    Spec { name: "bzpopmax", arity: -3, flags: F_WRITE | F_FAST | F_NOSCRIPT | F_BLOCKING, keys: (1, -2, 1), group: "sorted-set", summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", run: bzpopmax, ..Spec::NONE },
    Spec { name: "bzmpop", arity: -5, flags: F_WRITE | F_BLOCKING, keys: (3, NUMKEYS, 1), group: "sorted-set", summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", run: bzmpop, ..Spec::NONE },
    Spec { name: "blmpop", arity: -5, flags: F_WRITE | F_BLOCKING, keys: (3, NUMKEYS, 1), group: "list", summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", run: blmpop, ..Spec::NONE },
];

/// The deadline of a blocking command whose timeout (seconds, a float) is `arg`: ms since
/// the epoch, `u64::MAX` for none (0). A command running again keeps its first deadline.
fn deadline(cx: &Cx<'_>, arg: &[u8]) -> Result<u64, Failure> {
    let secs = parse_f64(arg).ok_or(Failure::err("timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(Failure::err("timeout is negative"));
    }
    let ms = (secs * 1000.0).ceil();
    if !ms.is_finite() || ms >= 9.2e18 {
        return Err(Failure::err("timeout is out of range"));
    }
    if let Some(d) = cx.sess.block_deadline {
        return Ok(d);
    }
    Ok(if ms == 0.0 { u64::MAX } else { cx.tx.now.saturating_add(ms as u64) })
}

/// Nothing to pop: blocks the client until `deadline`, or answers the timeout with
/// `timed_out` (inside a transaction or a script, or at the deadline). The first time, the
/// client joins the queues of `keys` (popping from a `kind`).
fn block(
    cx: &mut Cx<'_>,
    args: &Args<'_>,
    deadline: u64,
    timed_out: fn(&mut Cx<'_>),
    (keys, kind): (&[&[u8]], Kind),
) -> Res {
    if cx.in_exec || cx.tx.now >= deadline {
        timed_out(cx);
        return Ok(());
    }
    if cx.sess.block_deadline.is_none() {
        cx.srv.waiters.join(cx.sess.id, cx.tx.db, keys, kind);
        if let Some(c) = &cx.sess.client {
            c.set_blocked(true);
        }
    }
    let argv = args.argv().iter().map(|a| a.to_vec()).collect();
    cx.sess.blocked = Some(Blocked { argv, deadline });
    Ok(())
}

fn bpop(cx: &mut Cx<'_>, args: &mut Args<'_>, end: End) -> Res {
    let all = args.rest();
    let (timeout, keys) = all.split_last().ok_or_else(Failure::syntax)?;
    let deadline = deadline(cx, timeout)?;
    for k in keys {
        if !servable(cx, k, Kind::List) {
            continue;
        }
        if let Some(v) = pop_values(cx, k, end, 1)? {
            reply_keyed(cx, k, &v, false);
            return Ok(());
        }
    }
    block(cx, args, deadline, |cx| cx.out.null_array(), (keys, Kind::List))
}

/// Whether a blocking command may pop from `key`: when it runs again, only a key of `kind`
/// wakes it (a key of another type made meanwhile leaves it blocked, as Redis does); and
/// only when no client blocked on the key before it still waits (outside transactions and
/// scripts, which never block).
fn servable(cx: &Cx<'_>, key: &[u8], kind: Kind) -> bool {
    let first_run = cx.sess.block_deadline.is_none();
    (first_run || cx.tx.kind_of(key) == Some(kind))
        && (cx.in_exec || cx.srv.waiters.may_serve(cx.sess.id, cx.tx.db, key, kind))
}

fn blpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bpop(cx, args, End::Left)
}

fn brpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bpop(cx, args, End::Right)
}

fn bmove(cx: &mut Cx<'_>, args: &mut Args<'_>, from: End, to: End, timeout: &[u8]) -> Res {
    let (src, dst) = (args.argv()[1], args.argv()[2]);
    let deadline = deadline(cx, timeout)?;
    let waits = (&[src][..], Kind::List);
    if !servable(cx, src, Kind::List) {
        return block(cx, args, deadline, |cx| cx.out.null(), waits);
    }
    match move_value(cx, src, dst, from, to)? {
        Some(v) => {
            cx.out.bulk(&v);
            Ok(())
        }
        None => block(cx, args, deadline, |cx| cx.out.null(), waits),
    }
}

fn blmove(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (_, _) = (args.key(), args.key());
    let (from, to) = (End::parse(args.key())?, End::parse(args.key())?);
    let timeout = args.key();
    bmove(cx, args, from, to, timeout)
}

fn brpoplpush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (_, _, timeout) = (args.key(), args.key(), args.key());
    bmove(cx, args, End::Right, End::Left, timeout)
}

fn blmpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let timeout = args.key();
    let deadline = deadline(cx, timeout)?;
    let (keys, end, count) = mpop_args(args, End::parse)?;
    let ready: Vec<&[u8]> = keys.iter().copied().filter(|k| servable(cx, k, Kind::List)).collect();
    match mpop(cx, &ready, end, count)? {
        Some((k, v)) => {
            reply_keyed(cx, &k, &v, true);
            Ok(())
        }
        None => block(cx, args, deadline, |cx| cx.out.null_array(), (keys, Kind::List)),
    }
}

fn bzpop(cx: &mut Cx<'_>, args: &mut Args<'_>, end: ZEnd) -> Res {
    let all = args.rest();
    let (timeout, keys) = all.split_last().ok_or_else(Failure::syntax)?;
    let deadline = deadline(cx, timeout)?;
    for k in keys {
        if !servable(cx, k, Kind::Zset) {
            continue;
        }
        if let Some((m, s)) = pop_scored(cx, k, end, 1)?.and_then(|p| p.into_iter().next()) {
            cx.out.array(3);
            cx.out.bulk(k);
            cx.out.bulk(&m);
            cx.out.double(s);
            return Ok(());
        }
    }
    block(cx, args, deadline, |cx| cx.out.null_array(), (keys, Kind::Zset))
}

fn bzpopmin(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bzpop(cx, args, ZEnd::Min)
}

fn bzpopmax(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bzpop(cx, args, ZEnd::Max)
}

fn bzmpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let timeout = args.key();
    let deadline = deadline(cx, timeout)?;
    let (keys, end, count) = mpop_args(args, ZEnd::parse)?;
    let ready: Vec<&[u8]> = keys.iter().copied().filter(|k| servable(cx, k, Kind::Zset)).collect();
    match mpop_scored(cx, &ready, end, count)? {
        Some((k, popped)) => {
            reply_mpop(cx, &k, &popped);
            Ok(())
        }
        None => block(cx, args, deadline, |cx| cx.out.null_array(), (keys, Kind::Zset)),
    }
}
