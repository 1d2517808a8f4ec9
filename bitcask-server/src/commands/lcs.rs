//! LCS: the longest common subsequence of two strings (LEN, IDX, MINMATCHLEN,
//! WITHMATCHLEN), by the table of prefix lengths Redis builds, walked back from the end so
//! the matches come out in Redis's order. The table is bounded as Redis bounds it (4 bytes a
//! cell, at most `proto-max-bulk-len`); a large one is built on a blocking thread, so the
//! other connections of the network thread go on meanwhile.

use super::args::{is, Args, Failure, Res};
use super::spec::{Cx, Spec, F_READONLY};
use crate::reply::Out;

/// The LCS command.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "lcs", arity: -3, flags: F_READONLY, keys: (1, 2, 1), group: "string", summary: "Finds the longest common substring.", run: lcs, ..Spec::NONE },
];

/// Tables of more cells than this are built off the network thread.
const INLINE_CELLS: u64 = 1 << 20;

/// What LCS replies.
#[derive(Clone, Copy)]
struct Want {
    len: bool,
    idx: bool,
    min_len: u64,
    with_len: bool,
}

fn options(args: &mut Args<'_>) -> Result<Want, Failure> {
    let mut w = Want { len: false, idx: false, min_len: 0, with_len: false };
    while let Some(o) = args.next() {
        if is(o, "idx") {
            w.idx = true;
        } else if is(o, "len") {
            w.len = true;
        } else if is(o, "withmatchlen") {
            w.with_len = true;
        } else if is(o, "minmatchlen") && args.left() > 0 {
            w.min_len = args.int()?.max(0) as u64;
        } else {
            return Err(Failure::syntax());
        }
    }
    if w.idx && w.len {
        return Err(Failure::err("If you want both the length and indexes, please just use IDX."));
    }
    Ok(w)
}

fn lcs(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (ka, kb) = (args.key(), args.key());
    let want = options(args)?;
    let a = cx.tx.get(ka)?.map(|(v, _)| v).unwrap_or_default();
    let b = cx.tx.get(kb)?.map(|(v, _)| v).unwrap_or_default();
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > cx.srv.rt.max_bulk_len() as u64 {
        return Err(Failure::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    if cells <= INLINE_CELLS || cx.in_exec {
        return reply(cx.out, &a, &b, want);
    }
    cx.sess.deferred = Some(Box::new(move |_, out| {
        if let Err(f) = reply(out, &a, &b, want) {
            f.reply(out);
        }
        false
    }));
    Ok(())
}

/// `table[i * (b.len() + 1) + j]`: the LCS length of `a[..i]` and `b[..j]`.
fn table(a: &[u8], b: &[u8]) -> Result<Vec<u32>, Failure> {
    let w = b.len() + 1;
    let mut t: Vec<u32> = Vec::new();
    t.try_reserve_exact((a.len() + 1) * w).map_err(|_| {
        Failure::err("Insufficient memory, failed allocating transient memory for LCS")
    })?;
    t.resize((a.len() + 1) * w, 0);
    for (i, &x) in a.iter().enumerate() {
        let (prev, row) = t.split_at_mut((i + 1) * w);
        let prev = prev.get(i * w..).unwrap_or_default();
        for (j, &y) in b.iter().enumerate() {
            let v = if x == y {
                prev.get(j).map_or(0, |v| v + 1)
            } else {
                let up = prev.get(j + 1).copied().unwrap_or(0);
                let left = row.get(j).copied().unwrap_or(0);
                up.max(left)
            };
            if let Some(c) = row.get_mut(j + 1) {
                *c = v;
            }
        }
    }
    Ok(t)
}

/// A match: its ranges in `a` and in `b`, both ends included.
type Match = ((usize, usize), (usize, usize));

/// The common subsequence (built backwards) and the matching ranges, last first.
fn walk_back(a: &[u8], b: &[u8], t: &[u32]) -> (Vec<u8>, Vec<Match>) {
    let w = b.len() + 1;
    let at = |i: usize, j: usize| t.get(i * w + j).copied().unwrap_or(0);
    let (mut i, mut j) = (a.len(), b.len());
    let (mut seq, mut matches) = (Vec::new(), Vec::new());
    let mut open: Option<Match> = None;
    while i > 0 && j > 0 {
        let close;
        if a.get(i - 1) == b.get(j - 1) {
            seq.extend(a.get(i - 1));
            open = match open {
                None => Some(((i - 1, i - 1), (j - 1, j - 1))),
                Some(((sa, ea), (sb, eb))) if sa == i && sb == j => {
                    Some(((i - 1, ea), (j - 1, eb)))
                }
                Some(m) => {
                    matches.push(m);
                    Some(((i - 1, i - 1), (j - 1, j - 1)))
                }
            };
            // A match that reached the start of either string ends here.
            close = i == 1 || j == 1;
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            close = open.is_some();
        }
        if close {
            matches.extend(open.take());
        }
    }
    seq.reverse();
    (seq, matches)
}

fn reply(out: &mut Out, a: &[u8], b: &[u8], want: Want) -> Res {
    let t = table(a, b)?;
    let len = t.last().copied().unwrap_or(0);
    if want.len && !want.idx {
        out.int(i64::from(len));
        return Ok(());
    }
    let (seq, matches) = walk_back(a, b, &t);
    if !want.idx {
        out.bulk(&seq);
        return Ok(());
    }
    let kept: Vec<&Match> =
        matches.iter().filter(|((s, e), _)| (e - s + 1) as u64 >= want.min_len).collect();
    out.map(2);
    out.bulk(b"matches");
    out.array(kept.len());
    for &&((sa, ea), (sb, eb)) in &kept {
        out.array(2 + usize::from(want.with_len));
        out.array(2);
        out.int(sa as i64);
        out.int(ea as i64);
        out.array(2);
        out.int(sb as i64);
        out.int(eb as i64);
        if want.with_len {
            out.int((ea - sa + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(i64::from(len));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subsequence_and_its_matches_follow_redis() {
        // The example of Redis's documentation.
        let (a, b) = (b"ohmytext", b"mynewtext");
        let t = table(a, b).unwrap();
        let (seq, matches) = walk_back(a, b, &t);
        assert_eq!(seq, b"mytext");
        assert_eq!(matches, [((4, 7), (5, 8)), ((2, 3), (0, 1))]);
    }
}
