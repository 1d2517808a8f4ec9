//! `cmsgpack`, as lua-cmsgpack (the one Redis bundles) packs and unpacks: integers in the
//! smallest encoding, other numbers as float32 when exact else float64, tables as arrays
//! when their keys are 1..n, nesting cut at 16 levels (deeper values pack as nil).

use mlua::{Lua, Table, Value, Variadic};

/// Nesting past this packs as nil (lua-cmsgpack's limit), so a circular table ends.
const MAX_NESTING: usize = 16;

/// The `cmsgpack` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.is_empty() {
                return Err(mlua::Error::runtime("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                pack(v, &mut out, 0);
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::LuaString| {
            let bytes = s.as_bytes();
            let mut d = Decoder { lua, s: &bytes, at: 0 };
            let mut values = Variadic::new();
            while d.at < bytes.len() {
                values.push(d.value().map_err(mlua::Error::runtime)?);
            }
            Ok(values)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::LuaString, Option<i64>)| {
            unpack_limit(lua, &s.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, (s, limit, offset): (mlua::LuaString, i64, Option<i64>)| {
            unpack_limit(lua, &s.as_bytes(), limit, offset.unwrap_or(0))
        })?,
    )?;
    Ok(t)
}

/// Up to `limit` values (0: all) from byte `offset`: the offset after them (-1 at the
/// end), then the values.
fn unpack_limit(lua: &Lua, s: &[u8], limit: i64, offset: i64) -> mlua::Result<Variadic<Value>> {
    let at =
        usize::try_from(offset).map_err(|_| mlua::Error::runtime("Offset can't be negative."))?;
    if at > s.len() {
        return Err(mlua::Error::runtime("Start offset greater than input length."));
    }
    let mut d = Decoder { lua, s, at };
    let mut values = Variadic::new();
    while d.at < s.len() && (limit <= 0 || (values.len() as i64) < limit) {
        values.push(d.value().map_err(mlua::Error::runtime)?);
    }
    let next = if d.at >= s.len() { -1 } else { d.at as i64 };
    let mut out = Variadic::with_capacity(values.len() + 1);
    out.push(Value::Integer(next));
    out.extend(values);
    Ok(out)
}

fn pack(v: &Value, out: &mut Vec<u8>, depth: usize) {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => int(*i, out),
        Value::Number(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => int(*f as i64, out),
        Value::Number(f) if (*f as f32) as f64 == *f || f.is_nan() => {
            out.push(0xca);
            out.extend_from_slice(&(*f as f32).to_be_bytes());
        }
        Value::Number(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(t) if depth < MAX_NESTING => table(t, out, depth),
        _ => out.push(0xc0),
    }
}

fn int(i: i64, out: &mut Vec<u8>) {
    match i {
        0..=127 => out.push(i as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, i as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        }
        i if i > 0 => {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
        -32..=-1 => out.push(i as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, i as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn header(n: usize, fix: u8, b16: u8, b32: u8, out: &mut Vec<u8>) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn table(t: &Table, out: &mut Vec<u8>, depth: usize) {
    let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().filter_map(Result::ok).collect();
    let is_index = |k: &Value| match k {
        Value::Integer(i) => *i >= 1,
        Value::Number(f) => *f >= 1.0 && f.fract() == 0.0,
        _ => false,
    };
    let max = pairs.iter().try_fold(0i64, |m, (k, _)| match k {
        Value::Integer(i) if is_index(k) => Some(m.max(*i)),
        Value::Number(f) if is_index(k) => Some(m.max(*f as i64)),
        _ => None,
    });
    match max {
        Some(max) if max as usize == pairs.len() => {
            header(pairs.len(), 0x90, 0xdc, 0xdd, out);
            for i in 1..=max {
                pack(&t.raw_get::<Value>(i).unwrap_or(Value::Nil), out, depth + 1);
            }
        }
        _ => {
            header(pairs.len(), 0x80, 0xde, 0xdf, out);
            for (k, v) in &pairs {
                pack(k, out, depth + 1);
                pack(v, out, depth + 1);
            }
        }
    }
}

/// Reads MessagePack values.
struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    at: usize,
}

const MISSING: &str = "Missing bytes in input.";

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s: &'a [u8] = self.s;
        let end = self.at.checked_add(n).ok_or(MISSING)?;
        let b = s.get(self.at..end).ok_or(MISSING)?;
        self.at = end;
        Ok(b)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }

    fn value(&mut self) -> Result<Value, String> {
        let b = *self.take(1)?.first().ok_or(MISSING)?;
        Ok(match b {
            0x00..=0x7f => Value::Integer(i64::from(b)),
            0x80..=0x8f => self.map(usize::from(b & 0x0f))?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f))?,
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xd9 => self.sized(1, Self::str)?,
            0xda => self.sized(2, Self::str)?,
            0xdb => self.sized(4, Self::str)?,
            0xca => Value::Number(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Integer(self.uint(1)? as i64),
            0xcd => Value::Integer(self.uint(2)? as i64),
            0xce => Value::Integer(self.uint(4)? as i64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Integer(i64::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::Integer(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::Integer(i64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::Integer(self.uint(8)? as i64),
            0xdc => self.sized(2, Self::array)?,
            0xdd => self.sized(4, Self::array)?,
            0xde => self.sized(2, Self::map)?,
            0xdf => self.sized(4, Self::map)?,
            0xe0..=0xff => Value::Integer(i64::from(b as i8)),
            _ => return Err("Bad data format in input.".into()),
        })
    }

    /// A string, array or map whose length comes first, in `len_bytes` bytes.
    fn sized(
        &mut self,
        len_bytes: usize,
        read: fn(&mut Self, usize) -> Result<Value, String>,
    ) -> Result<Value, String> {
        let n = self.uint(len_bytes)? as usize;
        read(self, n)
    }

    fn str(&mut self, n: usize) -> Result<Value, String> {
        let b = self.take(n)?;
        self.lua.create_string(b).map(Value::String).map_err(|e| e.to_string())
    }

    fn array(&mut self, n: usize) -> Result<Value, String> {
        // Never reserve more than the input could hold.
        let t = self
            .lua
            .create_table_with_capacity(n.min(self.s.len()), 0)
            .map_err(|e| e.to_string())?;
        for i in 1..=n {
            let v = self.value()?;
            t.raw_set(i, v).map_err(|e| e.to_string())?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, n: usize) -> Result<Value, String> {
        let t = self.lua.create_table().map_err(|e| e.to_string())?;
        for _ in 0..n {
            let (k, v) = (self.value()?, self.value()?);
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v).map_err(|e| e.to_string())?;
            }
        }
        Ok(Value::Table(t))
    }
}
