//! Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO. Bit 0 is
//! the most significant bit of a string's first byte, as in Redis; a string grows with zero
//! bytes to reach a bit written past its end.

use super::args::{is, Args, Failure, Res};
use super::spec::{Cx, Spec, F_FAST, F_READONLY, F_WRITE};
use super::strings::{too_big, MAX_STRING};
use crate::number::parse_i64;

/// The bit commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "setbit", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "bitmap", summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", run: setbit, ..Spec::NONE },
    Spec { name: "getbit", arity: 3, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "bitmap", summary: "Returns a bit value by offset.", run: getbit, ..Spec::NONE },
    Spec { name: "bitcount", arity: -2, flags: F_READONLY, keys: (1, 1, 1), group: "bitmap", summary: "Counts the number of set bits (population counting) in a string.", run: bitcount, ..Spec::NONE },
    Spec { name: "bitpos", arity: -3, flags: F_READONLY, keys: (1, 1, 1), group: "bitmap", summary: "Finds the first set (1) or clear (0) bit in a string.", run: bitpos, ..Spec::NONE },
    Spec { name: "bitop", arity: -4, flags: F_WRITE, keys: (2, -1, 1), group: "bitmap", summary: "Performs bitwise operations on multiple strings, and stores the result.", run: bitop, ..Spec::NONE },
    Spec { name: "bitfield", arity: -2, flags: F_WRITE, keys: (1, 1, 1), group: "bitmap", summary: "Performs arbitrary bitfield integer operations on strings.", run: bitfield, ..Spec::NONE },
    Spec { name: "bitfield_ro", arity: -2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "bitmap", summary: "Performs arbitrary read-only bitfield integer operations on strings.", run: bitfield_ro, ..Spec::NONE },
];

fn bad_offset() -> Failure {
    Failure::err("bit offset is not an integer or out of range")
}

/// A bit offset argument; with `width`, `#n` means `n * width` (BITFIELD).
fn offset_arg(arg: &[u8], width: Option<u32>) -> Result<u64, Failure> {
    let (hash, digits) = match (arg.split_first(), width) {
        (Some((b'#', rest)), Some(w)) => (Some(w), rest),
        _ => (None, arg),
    };
    let n = parse_i64(digits).ok_or_else(bad_offset)?;
    let n = match hash {
        Some(w) => n.checked_mul(i64::from(w)).ok_or_else(bad_offset)?,
        None => n,
    };
    match u64::try_from(n) {
        Ok(n) if n >> 3 < MAX_STRING => Ok(n),
        _ => Err(bad_offset()),
    }
}

/// Bit `i` of `v` (0 past its end).
fn bit(v: &[u8], i: u64) -> u8 {
    let byte = usize::try_from(i >> 3).ok().and_then(|b| v.get(b)).copied().unwrap_or(0);
    (byte >> (7 - (i & 7))) & 1
}

/// Sets bit `i` of `v` (which reaches it) to `on`.
fn set_bit(v: &mut [u8], i: u64, on: bool) {
    if let Some(b) = usize::try_from(i >> 3).ok().and_then(|b| v.get_mut(b)) {
        let mask = 1u8 << (7 - (i & 7));
        *b = if on { *b | mask } else { *b & !mask };
    }
}

/// Grows `v` with zero bytes to hold bit `last`; `ERR string exceeds maximum allowed size`
/// past what the store holds.
fn reach(v: &mut Vec<u8>, last: u64) -> Result<(), Failure> {
    let need = (last >> 3) + 1;
    if need > bitcask_core::Options::default().max_value_size as u64 {
        return Err(too_big());
    }
    if (v.len() as u64) < need {
        v.resize(need as usize, 0);
    }
    Ok(())
}

fn setbit(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let offset = offset_arg(args.key(), None)?;
    let on = match parse_i64(args.key()) {
        Some(b @ (0 | 1)) => b == 1,
        _ => return Err(Failure::err("bit is not an integer or out of range")),
    };
    let old = cx.tx.get(key)?;
    let existed = old.is_some();
    let (mut v, at) = old.unwrap_or_default();
    let len = v.len();
    reach(&mut v, offset)?;
    let was = bit(&v, offset);
    set_bit(&mut v, offset, on);
    // Nothing to write when nothing changed (as Redis, which leaves `dirty` alone then).
    if !existed || v.len() != len || was != u8::from(on) {
        cx.tx.put(key, v, at);
        cx.tx.notify(crate::notify::STRING, "setbit", key);
    }
    cx.out.int(i64::from(was));
    Ok(())
}

fn getbit(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let offset = offset_arg(args.key(), None)?;
    let b = cx.tx.with_value(key, |v| bit(v, offset))?;
    cx.out.int(i64::from(b.unwrap_or(0)));
    Ok(())
}

/// A range of bits, both ends included.
type Bits = (u64, u64);

/// The bits `start..=end` of a string of `len` bytes, counted in bits or bytes, negative
/// from the end, clamped to the string as Redis clamps them; `None` when empty.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<Bits> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let fix = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (fix(start), fix(end).min(total - 1));
    if start > end {
        return None;
    }
    let (s, e) = (start as u64, end as u64);
    Some(if in_bits { (s, e) } else { (s * 8, e * 8 + 7) })
}

/// The number of set bits of `v` in `range`.
fn count_ones(v: &[u8], (first, last): Bits) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let bytes = v.get(fb..=lb).unwrap_or_default();
    let all: u64 = bytes.iter().map(|b| u64::from(b.count_ones())).sum();
    // Take away the bits of the end bytes that are outside the range.
    let before = !(0xffu8 >> (first & 7));
    let after = (0xffu16 >> ((last & 7) + 1)) as u8;
    let head = bytes.first().map_or(0, |b| (b & before).count_ones());
    let tail = bytes.last().map_or(0, |b| (b & after).count_ones());
    all - u64::from(head) - u64::from(tail)
}

/// The unit and ends of BITCOUNT's and BITPOS's optional range: `start [end [BYTE|BIT]]`.
struct RangeArgs {
    start: i64,
    end: Option<i64>,
    in_bits: bool,
}

fn range_args(args: &mut Args<'_>) -> Result<Option<RangeArgs>, Failure> {
    if args.left() == 0 {
        return Ok(None);
    }
    let start = args.int()?;
    let end = if args.left() > 0 { Some(args.int()?) } else { None };
    let in_bits = match args.next() {
        None => false,
        Some(u) if is(u, "bit") => true,
        Some(u) if is(u, "byte") => false,
        Some(_) => return Err(Failure::syntax()),
    };
    args.done()?;
    Ok(Some(RangeArgs { start, end, in_bits }))
}

/// BITCOUNT: a missing key counts 0 whatever the arguments (Redis looks the key up
/// first).
fn bitcount(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let n = cx.tx.with_value(key, |v| {
        let (start, end, in_bits) = match range_args(args)? {
            None => (0, -1, false),
            Some(RangeArgs { end: None, .. }) => return Err(Failure::syntax()),
            Some(r) => (r.start, r.end.unwrap_or(-1), r.in_bits),
        };
        if start < 0 && end < 0 && start > end {
            return Ok(0);
        }
        Ok(bit_range(v.len(), start, end, in_bits).map_or(0, |r| count_ones(v, r)))
    })?;
    cx.out.int(n.transpose()?.unwrap_or(0) as i64);
    Ok(())
}

/// The first bit equal to `want` in `range` of `v`.
fn first_bit(v: &[u8], (first, last): Bits, want: u8) -> Option<u64> {
    let skip = if want == 1 { 0x00 } else { 0xff };
    let mut i = first;
    while i <= last {
        if i & 7 == 0 && i + 7 <= last {
            let byte = v.get((i >> 3) as usize).copied().unwrap_or(0);
            if byte == skip {
                i += 8;
                continue;
            }
        }
        if bit(v, i) == want {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// BITPOS: a missing key is an endless run of zeros whatever the range (Redis looks the
/// key up before it reads the range).
fn bitpos(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let want = match args.int()? {
        b @ (0 | 1) => b as u8,
        _ => return Err(Failure::err("The bit argument must be 1 or 0.")),
    };
    let pos = cx.tx.with_value(key, |v| {
        let range = range_args(args)?;
        let (start, end, in_bits) = match &range {
            None => (0, -1, false),
            Some(r) => (r.start, r.end.unwrap_or(i64::MAX), r.in_bits),
        };
        let Some(r) = bit_range(v.len(), start, end, in_bits) else {
            return Ok::<i64, Failure>(-1);
        };
        Ok(match first_bit(v, r, want) {
            Some(p) => p as i64,
            // Looking for a clear bit with no end given: the string goes on with zeros.
            None if want == 0 && range.as_ref().is_none_or(|r| r.end.is_none()) => r.1 as i64 + 1,
            None => -1,
        })
    })?;
    cx.out.int(pos.transpose()?.unwrap_or(-i64::from(want)));
    Ok(())
}

fn bitop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let op = args.key();
    let dest = args.key();
    let srcs = args.rest();
    let op =
        ["and", "or", "xor", "not"].iter().position(|o| is(op, o)).ok_or_else(Failure::syntax)?;
    if op == 3 && srcs.len() != 1 {
        return Err(Failure::err("BITOP NOT must be called with a single source key."));
    }
    let mut values = Vec::with_capacity(srcs.len());
    for k in srcs {
        values.push(cx.tx.get(k)?.map(|(v, _)| v).unwrap_or_default());
    }
    let len = values.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![0u8; len];
    for (i, o) in out.iter_mut().enumerate() {
        let mut bytes = values.iter().map(|v| v.get(i).copied().unwrap_or(0));
        let first = bytes.next().unwrap_or(0);
        *o = match op {
            0 => bytes.fold(first, |a, b| a & b),
            1 => bytes.fold(first, |a, b| a | b),
            2 => bytes.fold(first, |a, b| a ^ b),
            _ => !first,
        };
    }
    if len == 0 {
        if cx.tx.delete(dest)? {
            cx.tx.notify(crate::notify::GENERIC, "del", dest);
        }
    } else {
        cx.tx.put(dest, out, 0);
        cx.tx.notify(crate::notify::STRING, "set", dest);
    }
    cx.out.int(len as i64);
    Ok(())
}

/// What BITFIELD does when a value does not fit its field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A field: signed or not, its width in bits.
#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
}

impl Field {
    fn parse(arg: &[u8]) -> Result<Field, Failure> {
        let bad = || {
            Failure::err("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
        };
        let (signed, digits) = match arg.split_first() {
            Some((b'i', d)) => (true, d),
            Some((b'u', d)) => (false, d),
            _ => return Err(bad()),
        };
        match parse_i64(digits) {
            Some(n @ 1..=64) if signed => Ok(Field { signed, bits: n as u32 }),
            Some(n @ 1..=63) => Ok(Field { signed, bits: n as u32 }),
            _ => Err(bad()),
        }
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// The field at bit `at` of `v`.
    fn get(self, v: &[u8], at: u64) -> i64 {
        let raw =
            (0..u64::from(self.bits)).fold(0u64, |acc, i| (acc << 1) | u64::from(bit(v, at + i)));
        self.wrap(i128::from(raw))
    }

    /// Writes `value` (already in range) at bit `at` of `v` (which reaches it).
    fn set(self, v: &mut [u8], at: u64, value: i64) {
        for i in 0..u64::from(self.bits) {
            set_bit(v, at + i, (value as u64 >> (u64::from(self.bits) - 1 - i)) & 1 == 1);
        }
    }

    /// `n` modulo the field's width, read back as the field reads it.
    fn wrap(self, n: i128) -> i64 {
        let m = n.rem_euclid(1i128 << self.bits);
        (if m > self.max() { m - (1i128 << self.bits) } else { m }) as i64
    }

    /// `n` as the field holds it under `mode`; `None` when it does not fit and `mode` is
    /// FAIL.
    fn fit(self, n: i128, mode: Overflow) -> Option<i64> {
        if (self.min()..=self.max()).contains(&n) {
            return Some(n as i64);
        }
        match mode {
            Overflow::Wrap => Some(self.wrap(n)),
            Overflow::Sat if n > self.max() => Some(self.max() as i64),
            Overflow::Sat => Some(self.min() as i64),
            Overflow::Fail => None,
        }
    }

    /// SET's value as the field sees it: an unsigned field takes the value's 64 bits as
    /// unsigned, as Redis does.
    fn input(self, value: i64) -> i128 {
        if self.signed {
            i128::from(value)
        } else {
            i128::from(value as u64)
        }
    }
}

/// One BITFIELD operation.
enum Op {
    Get(Field, u64),
    Set(Field, u64, i64, Overflow),
    Incr(Field, u64, i64, Overflow),
}

/// BITFIELD's operations, and the last bit a write reaches (if any writes).
fn bitfield_ops(args: &mut Args<'_>) -> Result<(Vec<Op>, Option<u64>), Failure> {
    let (mut ops, mut last_write, mut mode) = (Vec::new(), None::<u64>, Overflow::Wrap);
    while let Some(word) = args.next() {
        let left = args.left();
        let write = if is(word, "get") && left >= 2 {
            false
        } else if (is(word, "set") || is(word, "incrby")) && left >= 3 {
            true
        } else if is(word, "overflow") && left >= 1 {
            let m = args.key();
            mode = [("wrap", Overflow::Wrap), ("sat", Overflow::Sat), ("fail", Overflow::Fail)]
                .iter()
                .find(|(w, _)| is(m, w))
                .map(|(_, m)| *m)
                .ok_or(Failure::err("Invalid OVERFLOW type specified"))?;
            continue;
        } else {
            return Err(Failure::syntax());
        };
        let field = Field::parse(args.key())?;
        let at = offset_arg(args.key(), Some(field.bits))?;
        if !write {
            ops.push(Op::Get(field, at));
            continue;
        }
        let value = args.int()?;
        let end = at + u64::from(field.bits) - 1;
        last_write = Some(last_write.map_or(end, |l| l.max(end)));
        ops.push(if is(word, "set") {
            Op::Set(field, at, value, mode)
        } else {
            Op::Incr(field, at, value, mode)
        });
    }
    Ok((ops, last_write))
}

/// Runs `ops` on `v`, replying to each; whether any changed `v`.
fn run_ops(cx: &mut Cx<'_>, v: &mut [u8], ops: &[Op]) -> bool {
    let mut changed = false;
    cx.out.array(ops.len());
    for op in ops {
        let r = match *op {
            Op::Get(f, at) => Some(f.get(v, at)),
            Op::Set(f, at, value, mode) => f.fit(f.input(value), mode).map(|new| {
                let old = f.get(v, at);
                changed |= old != new;
                f.set(v, at, new);
                old
            }),
            Op::Incr(f, at, by, mode) => {
                let old = f.get(v, at);
                let new = f.fit(i128::from(old) + i128::from(by), mode);
                changed |= new.is_some_and(|n| n != old);
                new.inspect(|&n| f.set(v, at, n))
            }
        };
        match r {
            Some(n) => cx.out.int(n),
            None => cx.out.null(),
        }
    }
    changed
}

fn bitfield_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, read_only: bool) -> Res {
    let key = args.key();
    let (ops, last_write) = bitfield_ops(args)?;
    let Some(last) = last_write else {
        // Only GETs: a read, counted as a keyspace hit or miss (as Redis).
        cx.tx.count_reads.set(true);
        let mut v = cx.tx.get(key)?.map(|(v, _)| v).unwrap_or_default();
        run_ops(cx, &mut v, &ops);
        return Ok(());
    };
    if read_only {
        return Err(Failure::err("BITFIELD_RO only supports the GET subcommand"));
    }
    let old = cx.tx.get(key)?;
    let existed = old.is_some();
    let (mut v, at) = old.unwrap_or_default();
    let len = v.len();
    reach(&mut v, last)?;
    if run_ops(cx, &mut v, &ops) || !existed || v.len() != len {
        cx.tx.put(key, v, at);
        cx.tx.notify(crate::notify::STRING, "setbit", key);
    }
    Ok(())
}

fn bitfield(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bitfield_generic(cx, args, false)
}

fn bitfield_ro(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    bitfield_generic(cx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_clamp_as_redis() {
        assert_eq!(bit_range(3, 0, -1, false), Some((0, 23)));
        assert_eq!(bit_range(3, -100, 100, false), Some((0, 23)));
        assert_eq!(bit_range(3, 2, 1, false), None);
        assert_eq!(bit_range(3, 5, 10, true), Some((5, 10)));
        assert_eq!(bit_range(0, 0, -1, false), None);
    }

    #[test]
    fn counts_and_positions_respect_partial_bytes() {
        let v = [0b1111_0000u8, 0b0000_1111];
        assert_eq!(count_ones(&v, (0, 15)), 8);
        assert_eq!(count_ones(&v, (2, 13)), 4);
        assert_eq!(first_bit(&v, (4, 15), 1), Some(12));
        assert_eq!(first_bit(&v, (0, 15), 0), Some(4));
    }

    #[test]
    fn fields_wrap_saturate_and_fail() {
        let u8f = Field { signed: false, bits: 8 };
        let i8f = Field { signed: true, bits: 8 };
        assert_eq!(u8f.fit(300, Overflow::Wrap), Some(44));
        assert_eq!(u8f.fit(-1, Overflow::Sat), Some(0));
        assert_eq!(u8f.fit(u8f.input(-1), Overflow::Sat), Some(255));
        assert_eq!(i8f.fit(128, Overflow::Wrap), Some(-128));
        assert_eq!(i8f.fit(-129, Overflow::Sat), Some(-128));
        assert_eq!(i8f.fit(200, Overflow::Fail), None);
        let mut v = vec![0u8; 2];
        i8f.set(&mut v, 4, -2);
        assert_eq!(v, [0x0f, 0xe0]);
        assert_eq!(i8f.get(&v, 4), -2);
        assert_eq!(u8f.get(&v, 4), 254);
        let i64f = Field { signed: true, bits: 64 };
        assert_eq!(i64f.fit(i128::from(i64::MAX) + 1, Overflow::Wrap), Some(i64::MIN));
    }
}
