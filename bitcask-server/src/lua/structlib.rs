//! `struct`, as Roberto Ierusalimschy's lua-struct (the one Redis bundles) packs, unpacks and
//! sizes binary records: `<` `>` byte order (native, little-endian on the machines served,
//! by default), `!n` maximum alignment (1 by default, 8 for a bare `!`), `x` a zero byte,
//! `b`/`B` `h`/`H` `l`/`L` `T` `iN`/`IN` integers of 1, 2, 8, 8 and N (default 4, at most
//! 32) bytes, `f`/`d` floats, `cN` N bytes (`c0`: the whole string when packing, the length
//! read just before when unpacking), `s` a zero-terminated string, and spaces ignored.
//! Errors carry lua-struct's own texts.

use mlua::{Lua, Table, Value, Variadic};

use crate::number::format_g;

/// The widest integer a format may name.
const MAX_INT_SIZE: usize = 32;
/// A bare `!`: the platform's strictest alignment (a double's).
const MAX_ALIGN: usize = 8;
/// Lua 5.1's bound on values a C function may leave on its stack.
const MAX_STACK: usize = 8000;

/// The `struct` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(|lua, args: Variadic<Value>| pack(lua, &args))?)?;
    t.raw_set("unpack", lua.create_function(|lua, args: Variadic<Value>| unpack(lua, &args))?)?;
    t.raw_set("size", lua.create_function(|_, args: Variadic<Value>| size(&args))?)?;
    Ok(t)
}

fn fail(text: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(text.into())
}

/// Lua's "bad argument" error for argument `n` of `func`.
fn bad(n: usize, func: &str, why: &str) -> mlua::Error {
    fail(format!("bad argument #{n} to '{func}' ({why})"))
}

/// What luaL_typename says of argument `n` of `args`: `pack` pushes a nil just past its
/// arguments (a mark it keeps on the stack), so the first missing one is "nil" there.
fn type_name(args: &[Value], n: usize, func: &str) -> &'static str {
    match args.get(n - 1) {
        None if func == "pack" && n > 1 && n == args.len() + 1 => "nil",
        None => "no value",
        Some(Value::LightUserData(_)) => "userdata",
        Some(v) => v.type_name(),
    }
}

/// Argument `n` (1-based) as a number, as luaL_checknumber takes it.
fn number(args: &[Value], n: usize, func: &str) -> mlua::Result<f64> {
    let v = args.get(n - 1);
    let parsed = match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(f)) => Some(*f),
        Some(Value::String(s)) => s.to_str().ok().and_then(|s| lua_number(&s)),
        _ => None,
    };
    parsed
        .ok_or_else(|| bad(n, func, &format!("number expected, got {}", type_name(args, n, func))))
}

/// A string as Lua 5.1 reads it as a number (decimal or `0x` hexadecimal, spaces around).
fn lua_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    let ok = t.bytes().all(|b| b.is_ascii_digit() || b".+-eE".contains(&b));
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

/// Argument `n` as bytes, as luaL_checklstring takes it (numbers as `%.14g`).
fn bytes(args: &[Value], n: usize, func: &str) -> mlua::Result<Vec<u8>> {
    match args.get(n - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Integer(i)) => Ok(i.to_string().into_bytes()),
        Some(Value::Number(f)) => Ok(format_g(*f, 14).into_bytes()),
        _ => Err(bad(n, func, &format!("string expected, got {}", type_name(args, n, func)))),
    }
}

/// The format string up to its first zero byte, as C reads it.
fn format(args: &[Value], func: &str) -> mlua::Result<Vec<u8>> {
    let mut f = bytes(args, 1, func)?;
    if let Some(end) = f.iter().position(|&b| b == 0) {
        f.truncate(end);
    }
    Ok(f)
}

/// A walk through a format string: byte order, alignment and the position in it.
struct Walk<'a> {
    fmt: &'a [u8],
    at: usize,
    big: bool,
    align: usize,
    func: &'static str,
}

impl<'a> Walk<'a> {
    fn new(fmt: &'a [u8], func: &'static str) -> Self {
        Walk { fmt, at: 0, big: false, align: 1, func }
    }

    fn next_opt(&mut self) -> Option<u8> {
        let opt = *self.fmt.get(self.at)?;
        self.at += 1;
        Some(opt)
    }

    /// The number written after an option, or `default` when none is.
    fn num(&mut self, default: usize) -> mlua::Result<usize> {
        let mut seen = false;
        let mut a: usize = 0;
        while let Some(d) = self.fmt.get(self.at).filter(|b| b.is_ascii_digit()) {
            let d = usize::from(d - b'0');
            if a > (i32::MAX as usize) / 10 || a * 10 > i32::MAX as usize - d {
                return Err(fail("integral size overflow"));
            }
            a = a * 10 + d;
            self.at += 1;
            seen = true;
        }
        Ok(if seen { a } else { default })
    }

    /// The bytes option `opt` takes (0 for those that take none or vary).
    fn size(&mut self, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'f' => 4,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'c' => self.num(1)?,
            b'i' | b'I' => {
                let n = self.num(4)?;
                if n > MAX_INT_SIZE {
                    return Err(fail(format!(
                        "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                n
            }
            _ => 0,
        })
    }

    /// Padding before an item of `size` bytes at position `len`.
    fn padding(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.align);
        size.wrapping_sub(len & (size - 1)) & (size - 1)
    }

    /// The options that set byte order and alignment (and spaces); any other is an error.
    fn control(&mut self, opt: u8) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => self.big = true,
            b'<' => self.big = false,
            b'!' => {
                let a = self.num(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(fail(format!("alignment {a} is not a power of 2")));
                }
                self.align = a;
            }
            _ => {
                let why = format!("invalid format option '{}'", char::from(opt));
                return Err(bad(1, self.func, &why));
            }
        }
        Ok(())
    }
}

fn is_integer(opt: u8) -> bool {
    b"bBhHlLTiI".contains(&opt)
}

fn pack(lua: &Lua, args: &[Value]) -> mlua::Result<mlua::LuaString> {
    let fmt = format(args, "pack")?;
    let mut w = Walk::new(&fmt, "pack");
    let mut out = Vec::new();
    let mut arg = 2;
    while let Some(opt) = w.next_opt() {
        let mut size = w.size(opt)?;
        let pad = w.padding(out.len(), opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_integer(opt) => {
                let n = number(args, arg, "pack")?;
                arg += 1;
                let mut v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let start = out.len();
                for _ in 0..size {
                    out.push(v as u8);
                    v >>= 8;
                }
                if w.big {
                    out.get_mut(start..).unwrap_or_default().reverse();
                }
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let n = number(args, arg, "pack")?;
                arg += 1;
                let le = if opt == b'f' {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                let start = out.len();
                out.extend_from_slice(&le);
                if w.big {
                    out.get_mut(start..).unwrap_or_default().reverse();
                }
            }
            b'c' | b's' => {
                let s = bytes(args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                let part = s.get(..size).ok_or_else(|| bad(arg, "pack", "string too short"))?;
                out.extend_from_slice(part);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => w.control(opt)?,
        }
    }
    lua.create_string(&out)
}

/// An integer of `size` bytes as lua-struct reads it into a 64-bit word.
fn read_integer(b: &[u8], big: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |byte: &u8| l = (l << 8) | u64::from(*byte);
    if big {
        b.iter().for_each(&mut push);
    } else {
        b.iter().rev().for_each(&mut push);
    }
    if !signed {
        return l as f64;
    }
    let shift = (b.len() as u32).wrapping_mul(8).wrapping_sub(1);
    let mask = u64::MAX.wrapping_shl(shift);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: &[Value]) -> mlua::Result<Variadic<Value>> {
    let fmt = format(args, "unpack")?;
    let data = bytes(args, 2, "unpack")?;
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => number(args, 3, "unpack")?,
    };
    if start < 1.0 {
        return Err(bad(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start as usize - 1;
    let too_short = || bad(2, "unpack", "data string too short");
    let mut w = Walk::new(&fmt, "unpack");
    let mut out = Variadic::new();
    while let Some(opt) = w.next_opt() {
        let mut size = w.size(opt)?;
        pos = pos.saturating_add(w.padding(pos, opt, size));
        let end = pos.checked_add(size).filter(|&e| e <= data.len()).ok_or_else(too_short)?;
        if args.len() + out.len() + 2 > MAX_STACK {
            return Err(fail("stack overflow (too many results)"));
        }
        let item = data.get(pos..end).unwrap_or_default();
        match opt {
            _ if is_integer(opt) => {
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(read_integer(item, w.big, signed)));
            }
            b'x' => {}
            b'f' | b'd' => {
                let mut b = item.to_vec();
                if w.big {
                    b.reverse();
                }
                let v = match (opt, <[u8; 4]>::try_from(b.as_slice()), <[u8; 8]>::try_from(b)) {
                    (b'f', Ok(b4), _) => f64::from(f32::from_le_bytes(b4)),
                    (_, _, Ok(b8)) => f64::from_le_bytes(b8),
                    _ => return Err(too_short()),
                };
                out.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    size = previous_size(&mut out)?;
                    pos.checked_add(size).filter(|&e| e <= data.len()).ok_or_else(too_short)?;
                }
                let part = data.get(pos..pos + size).unwrap_or_default();
                out.push(Value::String(lua.create_string(part)?));
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let nul = rest.iter().position(|&b| b == 0);
                let len = nul.ok_or_else(|| fail("unfinished string in data"))?;
                out.push(Value::String(lua.create_string(rest.get(..len).unwrap_or_default())?));
                size = len + 1;
            }
            _ => w.control(opt)?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out)
}

/// `c0` when unpacking: the value read just before, taken off the results as the length.
fn previous_size(out: &mut Variadic<Value>) -> mlua::Result<usize> {
    let n = match out.last() {
        Some(Value::Number(f)) => Some(*f),
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::String(s)) => s.to_str().ok().and_then(|s| lua_number(&s)),
        _ => None,
    };
    let n = n.ok_or_else(|| fail("format 'c0' needs a previous size"))?;
    out.pop();
    // C converts a negative length to a huge one, which the length check then refuses.
    Ok(if n < 0.0 { usize::MAX } else { n as usize })
}

fn size(args: &[Value]) -> mlua::Result<f64> {
    let fmt = format(args, "size")?;
    let mut w = Walk::new(&fmt, "size");
    let mut pos: usize = 0;
    while let Some(opt) = w.next_opt() {
        let size = w.size(opt)?;
        pos = pos.saturating_add(w.padding(pos, opt, size));
        if opt == b's' {
            return Err(bad(1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(bad(1, "size", "option 'c0' has no fixed size"));
        }
        // Letters lua-struct does not know are skipped here, as it skips them.
        if !opt.is_ascii_alphanumeric() {
            w.control(opt)?;
        }
        pos = pos.saturating_add(size);
    }
    Ok(pos as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_back_signed_and_unsigned() {
        assert_eq!(read_integer(&[0xff, 0xff], true, true), -1.0);
        assert_eq!(read_integer(&[0xff, 0xff], true, false), 65535.0);
        assert_eq!(read_integer(&[0x01, 0x00], false, false), 1.0);
        assert_eq!(read_integer(&[0x00, 0x80], false, true), -32768.0);
    }

    #[test]
    fn lua_reads_numbers_in_strings() {
        assert_eq!(lua_number(" 12 "), Some(12.0));
        assert_eq!(lua_number("0x10"), Some(16.0));
        assert_eq!(lua_number("1e2"), Some(100.0));
        assert_eq!(lua_number("abc"), None);
    }
}
