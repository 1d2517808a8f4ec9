//! The libraries scripts find beside Lua's own: `redis`'s primitives made in Rust
//! (`sha1hex`, `log`; the rest of `redis` is in prelude.lua), `bit` (LuaBitOp's functions on
//! 32-bit integers) and `cjson` (JSON encode and decode, as lua-cjson does them, with its
//! settings); `cmsgpack` is in msgpack.rs, `struct` in structlib.rs.

use mlua::{LightUserData, Lua, Table, Value, Variadic};
use sha1::{Digest, Sha1};

use crate::number::format_g;

/// The libraries, by global name (`redis` holds only the primitives).
pub fn make(lua: &Lua) -> mlua::Result<Table> {
    let libs = lua.create_table()?;
    libs.raw_set("redis", redis(lua)?)?;
    libs.raw_set("bit", bit(lua)?)?;
    libs.raw_set("cjson", cjson(lua)?)?;
    libs.raw_set("cmsgpack", super::msgpack::library(lua)?)?;
    libs.raw_set("struct", super::structlib::library(lua)?)?;
    Ok(libs)
}

/// The SHA-1 of `bytes` in lower-case hexadecimal.
pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn redis(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    // The version this server reports (INFO's redis_version), as a string and as
    // 0x00MMmmpp.
    let v: Vec<i64> = crate::REDIS_VERSION.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    let part = |i: usize| v.get(i).copied().unwrap_or(0);
    t.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", (part(0) << 16) | (part(1) << 8) | part(2))?;
    t.raw_set(
        "sha1hex",
        lua.create_function(|_, v: Variadic<Value>| match v.as_slice() {
            [Value::String(s)] => Ok(sha1_hex(&s.as_bytes())),
            [Value::Integer(i)] => Ok(sha1_hex(i.to_string().as_bytes())),
            [Value::Number(f)] => Ok(sha1_hex(format_g(*f, 14).as_bytes())),
            _ => Err(mlua::Error::runtime("wrong number of arguments")),
        })?,
    )?;
    t.raw_set("killed", lua.create_function(|_, ()| Ok(super::killed()))?)?;
    t.raw_set(
        "log",
        lua.create_function(|_, (level, text): (i64, mlua::LuaString)| {
            let name = ["debug", "verbose", "notice", "warning"].get(level as usize).copied();
            eprintln!("bitcask-server: script {}: {}", name.unwrap_or("?"), text.to_string_lossy());
            Ok(())
        })?,
    )?;
    Ok(t)
}

/// A number as LuaBitOp normalises it: rounded to an integer, then its low 32 bits.
fn tobit(f: f64) -> i32 {
    // Adding 2^52 + 2^51 rounds to an integer in the low bits of the mantissa.
    (f + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn num(v: &Value) -> mlua::Result<f64> {
    match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Number(f) => Ok(*f),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| mlua::Error::runtime("bad argument (number expected)")),
        _ => Err(mlua::Error::runtime("bad argument (number expected)")),
    }
}

fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let fold = |lua: &Lua, f: fn(i32, i32) -> i32| {
        lua.create_function(move |_, v: Variadic<Value>| {
            let mut acc = tobit(num(v.first().unwrap_or(&Value::Nil))?);
            for x in v.iter().skip(1) {
                acc = f(acc, tobit(num(x)?));
            }
            Ok(acc)
        })
    };
    t.raw_set("band", fold(lua, |a, b| a & b)?)?;
    t.raw_set("bor", fold(lua, |a, b| a | b)?)?;
    t.raw_set("bxor", fold(lua, |a, b| a ^ b)?)?;
    let shift = |lua: &Lua, f: fn(i32, u32) -> i32| {
        lua.create_function(move |_, (x, n): (Value, Value)| {
            Ok(f(tobit(num(&x)?), tobit(num(&n)?) as u32 & 31))
        })
    };
    t.raw_set("lshift", shift(lua, |x, n| ((x as u32) << n) as i32)?)?;
    t.raw_set("rshift", shift(lua, |x, n| ((x as u32) >> n) as i32)?)?;
    t.raw_set("arshift", shift(lua, |x, n| x >> n)?)?;
    t.raw_set("rol", shift(lua, |x, n| (x as u32).rotate_left(n) as i32)?)?;
    t.raw_set("ror", shift(lua, |x, n| (x as u32).rotate_right(n) as i32)?)?;
    t.raw_set("tobit", lua.create_function(|_, x: Value| Ok(tobit(num(&x)?)))?)?;
    t.raw_set("bnot", lua.create_function(|_, x: Value| Ok(!tobit(num(&x)?)))?)?;
    t.raw_set("bswap", lua.create_function(|_, x: Value| Ok(tobit(num(&x)?).swap_bytes()))?)?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (Value, Option<Value>)| {
            let x = tobit(num(&x)?) as u32;
            let n = match n {
                Some(n) => tobit(num(&n)?),
                None => 8,
            };
            let digits = n.unsigned_abs().min(8) as usize;
            let hex = if n < 0 { format!("{x:08X}") } else { format!("{x:08x}") };
            Ok(hex.get(8 - digits..).unwrap_or_default().to_owned())
        })?,
    )?;
    Ok(t)
}

/// JSON null as lua-cjson gives it (a light userdata holding NULL).
fn json_null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// lua-cjson's settings (per interpreter, so per thread): the nesting bounds and whether
/// NaN and infinities encode.
#[derive(Clone, Copy)]
struct JsonSettings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
}

thread_local! {
    static JSON: std::cell::Cell<JsonSettings> = const {
        std::cell::Cell::new(JsonSettings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
        })
    };
}

fn json() -> JsonSettings {
    JSON.with(std::cell::Cell::get)
}

/// lua-cjson's setting functions: each sets its value when given one, and returns it.
fn cjson_settings(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let depth = |set: fn(&mut JsonSettings, usize), get: fn(&JsonSettings) -> usize| {
        lua.create_function(move |_, n: Option<i64>| {
            let mut s = json();
            if let Some(n) = n {
                if !(1..=i64::from(i32::MAX)).contains(&n) {
                    return Err(mlua::Error::runtime(
                        "bad argument #1 (expected integer between 1 and 2147483647)",
                    ));
                }
                set(&mut s, n as usize);
                JSON.with(|c| c.set(s));
            }
            Ok(get(&s) as i64)
        })
    };
    t.raw_set("encode_max_depth", depth(|s, n| s.encode_max_depth = n, |s| s.encode_max_depth)?)?;
    t.raw_set("decode_max_depth", depth(|s, n| s.decode_max_depth = n, |s| s.decode_max_depth)?)?;
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(|_, on: Option<bool>| {
            let mut s = json();
            if let Some(on) = on {
                s.encode_invalid_numbers = on;
                JSON.with(|c| c.set(s));
            }
            Ok(s.encode_invalid_numbers)
        })?,
    )?;
    // Accepted and kept as they are (this encoder needs no buffer, prints 14 digits, and
    // encodes sparse arrays as lua-cjson's defaults do).
    for name in [
        "encode_keep_buffer",
        "encode_number_precision",
        "encode_sparse_array",
        "decode_invalid_numbers",
    ] {
        t.raw_set(name, lua.create_function(|_, v: Variadic<Value>| Ok(v))?)?;
    }
    Ok(())
}

fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    cjson_settings(lua, &t)?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            encode(&v, &mut out, 0).map_err(mlua::Error::runtime)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, s: mlua::LuaString| {
            let bytes = s.as_bytes();
            let mut p = Parser { lua, s: &bytes, at: 0 };
            let v = p.value(0).map_err(mlua::Error::runtime)?;
            p.ws();
            if p.at < bytes.len() {
                return Err(mlua::Error::runtime(p.unexpected("the end")));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", json_null())?;
    Ok(t)
}

fn encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    if depth > json().encode_max_depth {
        return Err(format!("Cannot serialise, excessive nesting ({depth})"));
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(f) if f.is_finite() => out.extend_from_slice(format_g(*f, 14).as_bytes()),
        Value::Number(f) if json().encode_invalid_numbers => out.extend_from_slice(if f.is_nan() {
            b"nan"
        } else if *f > 0.0 {
            b"inf"
        } else {
            b"-inf"
        }),
        Value::Number(_) => return Err("Cannot serialise number: must not be NaN or Inf".into()),
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(t) => table(t, out, depth)?,
        other => return Err(format!("Cannot serialise {}: type not supported", other.type_name())),
    }
    Ok(())
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b if b < 0x20 || b == 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    out.push(b'"');
}

fn table(t: &Table, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    let pairs: Vec<(Value, Value)> =
        t.pairs::<Value, Value>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let index = |k: &Value| match k {
        Value::Integer(i) if *i >= 1 => Some(*i as usize),
        Value::Number(f) if *f >= 1.0 && f.fract() == 0.0 => Some(*f as usize),
        _ => None,
    };
    let max = pairs.iter().map(|(k, _)| index(k)).try_fold(0usize, |m, i| i.map(|i| m.max(i)));
    match max {
        Some(max) if !pairs.is_empty() => {
            // An array, unless it is excessively sparse (lua-cjson's default ratio 2, safe 10).
            if max > 10 && max > pairs.len() * 2 {
                return Err("Cannot serialise table: excessively sparse array".into());
            }
            out.push(b'[');
            for i in 1..=max {
                if i > 1 {
                    out.push(b',');
                }
                encode(&t.raw_get::<Value>(i).unwrap_or(Value::Nil), out, depth + 1)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            for (n, (k, v)) in pairs.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                match k {
                    Value::String(s) => string(&s.as_bytes(), out),
                    Value::Integer(i) => string(i.to_string().as_bytes(), out),
                    Value::Number(f) => string(format_g(*f, 14).as_bytes(), out),
                    _ => {
                        return Err(
                            "Cannot serialise table: table key must be a number or string".into()
                        )
                    }
                }
                out.push(b':');
                encode(v, out, depth + 1)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON text into Lua values.
struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn unexpected(&self, what: &str) -> String {
        let found = if self.at >= self.s.len() { "T_END" } else { "invalid token" };
        format!("Expected {what} but found {found} at character {}", self.at + 1)
    }

    fn lit(&mut self, word: &[u8], v: Value) -> Result<Value, String> {
        if self.s.get(self.at..self.at + word.len()) == Some(word) {
            self.at += word.len();
            Ok(v)
        } else {
            Err(self.unexpected("value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > json().decode_max_depth {
            return Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.at + 1
            ));
        }
        self.ws();
        let lua_err = |e: mlua::Error| e.to_string();
        match self.s.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let t = self.lua.create_table().map_err(lua_err)?;
                self.ws();
                if self.s.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.ws();
                    let Value::String(k) = self.value(depth + 1)? else {
                        return Err(self.unexpected("object key string"));
                    };
                    self.ws();
                    if self.s.get(self.at) != Some(&b':') {
                        return Err(self.unexpected("colon"));
                    }
                    self.at += 1;
                    let v = self.value(depth + 1)?;
                    t.raw_set(k, v).map_err(lua_err)?;
                    self.ws();
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.unexpected("comma or object end")),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let t = self.lua.create_table().map_err(lua_err)?;
                self.ws();
                if self.s.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Value::Table(t));
                }
                for i in 1.. {
                    let v = self.value(depth + 1)?;
                    t.raw_set(i, v).map_err(lua_err)?;
                    self.ws();
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            break;
                        }
                        _ => return Err(self.unexpected("comma or array end")),
                    }
                }
                Ok(Value::Table(t))
            }
            Some(b'"') => self.string(),
            Some(b't') => self.lit(b"true", Value::Boolean(true)),
            Some(b'f') => self.lit(b"false", Value::Boolean(false)),
            Some(b'n') => self.lit(b"null", json_null()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("value")),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self.s.get(self.at).is_some_and(|b| b"+-.eE0123456789".contains(b)) {
            self.at += 1;
        }
        let text =
            std::str::from_utf8(self.s.get(start..self.at).unwrap_or_default()).unwrap_or("");
        text.parse::<f64>().map(Value::Number).map_err(|_| {
            format!("Expected value but found invalid number at character {}", start + 1)
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.at..self.at + 4).and_then(|h| std::str::from_utf8(h).ok());
        let v = h.and_then(|h| u32::from_str_radix(h, 16).ok());
        self.at += 4;
        v.ok_or_else(|| {
            format!(
                "Expected value but found invalid unicode escape code at character {}",
                self.at - 3
            )
        })
    }

    fn string(&mut self) -> Result<Value, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.at) else {
                return Err(format!(
                    "Expected value but found unexpected end of string at character {}",
                    self.at + 1
                ));
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = self.s.get(self.at).copied();
                    self.at += 1;
                    match e {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let mut c = self.hex4()?;
                            if (0xd800..0xdc00).contains(&c)
                                && self.s.get(self.at..self.at + 2) == Some(b"\\u")
                            {
                                self.at += 2;
                                let low = self.hex4()?;
                                c = 0x10000
                                    + ((c - 0xd800) << 10)
                                    + (low.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let ch = char::from_u32(c).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            return Err(format!(
                                "Expected value but found invalid escape code at character {}",
                                self.at
                            ))
                        }
                    }
                }
                b => out.push(b),
            }
        }
        self.lua.create_string(&out).map(Value::String).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_normalises_as_luabitop() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(-1.0), -1);
    }

    #[test]
    fn sha1_of_the_empty_string() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
