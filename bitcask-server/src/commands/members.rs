//! What the collection families share: reading and writing a collection through the write
//! set (a failure as Redis's error), cursor scans of members, and random picks.

use bitcask_collections::{Kind, Members};

use super::args::{is, Args, Failure};
use super::keys::random;
use super::spec::Cx;
use crate::glob::Pattern;
use crate::notify::GENERIC;
use crate::number::parse_i64;
use crate::tx::Editor;

/// Runs `f` on collection `key` of `kind` for reading (`None`: absent).
pub fn read<R>(
    cx: &Cx<'_>,
    key: &[u8],
    kind: Kind,
    f: impl FnOnce(&Editor<'_>) -> R,
) -> Result<Option<R>, Failure> {
    Ok(cx.tx.read_collection(key, kind, f)?)
}

/// Runs `f` on collection `key` of `kind` for writing, created when absent and `create`.
pub fn write<R>(
    cx: &mut Cx<'_>,
    key: &[u8],
    kind: Kind,
    create: bool,
    f: impl FnOnce(&mut Editor<'_>) -> R,
) -> Result<Option<R>, Failure> {
    Ok(cx.tx.write_collection(key, kind, create, f)?)
}

/// A scan's options: MATCH and COUNT.
pub struct ScanOpts {
    pattern: Option<Pattern>,
    count: usize,
}

impl ScanOpts {
    /// Reads the cursor and the options of HSCAN, SSCAN (and ZSCAN).
    pub fn parse(args: &mut Args<'_>) -> Result<(u64, ScanOpts), Failure> {
        let cursor = std::str::from_utf8(args.key()).ok().and_then(|s| s.parse::<u64>().ok());
        let cursor = cursor.ok_or_else(|| Failure::err("invalid cursor"))?;
        let mut opts = ScanOpts { pattern: None, count: 10 };
        while args.left() > 0 {
            if args.left() < 2 {
                return Err(Failure::syntax());
            } else if args.eat("match") {
                opts.pattern = Some(Pattern::new(args.key()));
            } else if args.eat("count") {
                opts.count = match args.int()? {
                    n if n >= 1 => n as usize,
                    _ => return Err(Failure::syntax()),
                };
            } else {
                return Err(Failure::syntax());
            }
        }
        Ok((cursor, opts))
    }

    /// The members a step of the scan from `cursor` returns, and the next cursor (0: done).
    /// A cursor counts the positions left to visit, from the last down: a member removed
    /// meanwhile moves the last one (already visited) into its place, or shifts the later
    /// ones down, so every member present for the whole scan is returned. A small
    /// collection is returned whole at once (as Redis's listpacks are).
    pub fn step<'m>(&self, members: &'m Members, cursor: u64) -> (Vec<&'m [u8]>, u64) {
        let len = members.len();
        let (from, count) = match len <= 128 {
            true => (len, len),
            false if cursor == 0 => (len, self.count),
            false => ((cursor as usize).min(len), self.count),
        };
        let to = from.saturating_sub(count);
        let picked = (to..from)
            .rev()
            .filter_map(|i| members.get_index(i))
            .map(|m| &**m)
            .filter(|m| self.pattern.as_ref().is_none_or(|p| p.matches(m)))
            .collect();
        (picked, to as u64)
    }
}

/// A random position below `len` (which is not 0).
pub fn pick(len: usize) -> usize {
    (random() % len as u64) as usize
}

/// `n` distinct random positions below `len` (`n < len`), in random order.
pub fn distinct(len: usize, n: usize) -> Vec<usize> {
    let mut chosen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    // Floyd's sampling: n draws, each adds one new position.
    for j in len - n..len {
        let t = pick(j + 1);
        let p = if chosen.insert(t) { t } else { j };
        chosen.insert(p);
        out.push(p);
    }
    out
}

/// `RANDFIELD`-style count: (how many, whether repeats are allowed); `value is out of
/// range` when twice it (with values) would overflow.
pub fn rand_count(count: i64, with_values: bool) -> Result<(usize, bool), Failure> {
    let limit = if with_values { i64::MAX / 2 } else { i64::MAX };
    if count < -limit {
        return Err(Failure::err("value is out of range"));
    }
    Ok((count.unsigned_abs() as usize, count < 0))
}

/// Notes event `event` of `class` on `key` after a removal, and `del` when it emptied the
/// key (as Redis sends them).
pub fn removed(cx: &mut Cx<'_>, class: u32, event: &'static str, key: &[u8]) {
    cx.tx.notify(class, event, key);
    if cx.tx.kind_of(key).is_none() {
        cx.tx.notify(GENERIC, "del", key);
    }
}

/// The arguments of LMPOP, ZMPOP (and their blocking forms) from `numkeys` on: the keys,
/// the end (read by `end`), the count.
pub fn mpop_args<'a, E>(
    args: &mut Args<'a>,
    end: fn(&[u8]) -> Result<E, Failure>,
) -> Result<(&'a [&'a [u8]], E, usize), Failure> {
    let n = match parse_i64(args.key()) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(Failure::err("numkeys should be greater than 0")),
    };
    let rest = args.rest();
    if n >= rest.len() {
        return Err(Failure::syntax());
    }
    let (keys, opts) = rest.split_at(n);
    let (which, opts) = opts.split_first().ok_or_else(Failure::syntax)?;
    let which = end(which)?;
    let count = match opts {
        [] => 1,
        [c, v] if is(c, "count") => match parse_i64(v) {
            Some(n) if n > 0 => n as usize,
            _ => return Err(Failure::err("count should be greater than 0")),
        },
        _ => return Err(Failure::syntax()),
    };
    Ok((keys, which, count))
}
