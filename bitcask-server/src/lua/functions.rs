//! Redis 7 functions: libraries of Lua code that start with `#!lua name=<library>` and
//! register functions with `redis.register_function`; kept by name, with a generation each
//! thread's interpreter follows (a thread loads every library again when it moves).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, Table, Value};

/// A function's name, description and flags.
#[derive(Debug, Clone)]
pub struct FunctionMeta {
    /// Its name (FCALL's).
    pub name: String,
    /// What `description` said, if anything.
    pub description: Option<String>,
    /// `no-writes`, `allow-oom`, `allow-stale`, `no-cluster`, `allow-cross-slot-keys`.
    pub flags: Vec<String>,
}

impl FunctionMeta {
    /// Whether FCALL_RO may run it.
    pub fn no_writes(&self) -> bool {
        self.flags.iter().any(|f| f == "no-writes")
    }
}

/// A loaded library.
#[derive(Debug)]
pub struct Library {
    /// Its name.
    pub name: String,
    /// Its code, as FUNCTION LOAD got it.
    pub code: Arc<[u8]>,
    /// What it registered.
    pub functions: Vec<FunctionMeta>,
}

/// Every library, by name.
#[derive(Default)]
pub struct Libraries {
    libs: Mutex<BTreeMap<String, Arc<Library>>>,
    /// Moves on every change: threads load the libraries again.
    pub generation: AtomicU64,
}

const FLAGS: [&str; 5] =
    ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The library name in the first line (`#!lua name=<name>`), with Redis's errors.
pub fn library_name(code: &[u8]) -> Result<String, String> {
    let first = code.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let Some(header) = first.strip_prefix("#!") else {
        return Err("ERR Missing library metadata".into());
    };
    let mut parts = header.split(' ');
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let mut name = None;
    for p in parts.filter(|p| !p.is_empty()) {
        match p.strip_prefix("name=") {
            Some(_) if name.is_some() => {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into()
                )
            }
            // A quoted name is the name (Redis splits the line as arguments).
            Some(n) => name = Some(n.trim_matches('"').to_owned()),
            None => return Err(format!("ERR Invalid metadata value given: {p}")),
        }
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    Ok(name)
}

/// Runs a library's code in `lua` with `redis.register_function` set on the real `redis`
/// table: what it registered, or Redis's error.
pub(super) fn register(
    lua: &Lua,
    env: &Table,
    redis: &Table,
    code: &[u8],
) -> Result<Vec<(FunctionMeta, Function)>, String> {
    // The shebang line is not Lua: compiled as an empty line, so lines keep their numbers.
    let body = code.iter().position(|&b| b == b'\n').map_or(&[][..], |i| &code[i..]);
    let f = lua
        .load(body)
        .set_name("@user_function")
        .set_environment(env.clone())
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                format!("ERR Error compiling function: {message}")
            }
            other => format!("ERR Error compiling function: {other}"),
        })?;
    let found = std::cell::RefCell::new(Vec::new());
    let outcome = lua.scope(|scope| {
        let reg = scope.create_function(|_, args: mlua::Variadic<Value>| {
            let entry = registration(&args).map_err(mlua::Error::runtime)?;
            let mut all = found.borrow_mut();
            if all.iter().any(|(m, _): &(FunctionMeta, Function)| m.name == entry.0.name) {
                return Err(mlua::Error::runtime("ERR Function already exists in the library"));
            }
            all.push(entry);
            Ok(())
        })?;
        redis.raw_set("register_function", reg)?;
        let r = f.call::<Value>(());
        redis.raw_set("register_function", Value::Nil)?;
        r
    });
    if let Err(e) = outcome {
        return Err(format!("ERR Error registering functions: {}", super::root_message(&e)));
    }
    let found = found.into_inner();
    if found.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(found)
}

/// `register_function(name, callback)` or `register_function{function_name=, callback=,
/// flags=, description=}`.
fn registration(args: &[Value]) -> Result<(FunctionMeta, Function), String> {
    let bad = || "ERR wrong arguments given to redis.register_function".to_owned();
    let (name, callback, flags, description) = match args {
        [Value::String(n), Value::Function(f)] => {
            (n.to_string_lossy(), f.clone(), Vec::new(), None)
        }
        [Value::Integer(n), Value::Function(f)] => (n.to_string(), f.clone(), Vec::new(), None),
        [_, _] => return Err(bad()),
        [_, _, _, ..] | [] => {
            return Err("ERR wrong number of arguments to redis.register_function".into())
        }
        [v] if !matches!(v, Value::Table(_)) => {
            return Err("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into())
        }
        [Value::Table(t)] => {
            let name = match t.raw_get::<Value>("function_name") {
                Ok(Value::String(s)) => s.to_string_lossy(),
                _ => return Err(bad()),
            };
            let Ok(Value::Function(f)) = t.raw_get::<Value>("callback") else { return Err(bad()) };
            let mut flags = Vec::new();
            if let Ok(Value::Table(fl)) = t.raw_get::<Value>("flags") {
                for v in fl.sequence_values::<Value>().flatten() {
                    match v {
                        Value::String(s) if FLAGS.contains(&s.to_string_lossy().as_str()) => {
                            flags.push(s.to_string_lossy())
                        }
                        _ => return Err("ERR unknown flag given".into()),
                    }
                }
            }
            let description = match t.raw_get::<Value>("description") {
                Ok(Value::String(s)) => Some(s.to_string_lossy()),
                _ => None,
            };
            (name, f, flags, description)
        }
        _ => return Err(bad()),
    };
    if !valid_name(&name) {
        // Redis 7.0 words a bad function name as a bad library name.
        return Err(BAD_NAME.into());
    }
    Ok((FunctionMeta { name, description, flags }, callback))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Libraries {
    /// Adds (or with `replace`, replaces) a library checked by `check` (which runs its code
    /// and returns what it registered); its name.
    pub fn add(
        &self,
        code: &[u8],
        replace: bool,
        check: impl FnOnce(&[u8]) -> Result<Vec<FunctionMeta>, String>,
    ) -> Result<String, String> {
        let name = library_name(code)?;
        if !replace && lock(&self.libs).contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let functions = check(code)?;
        let mut libs = lock(&self.libs);
        for f in &functions {
            let clash = libs
                .values()
                .any(|l| l.name != name && l.functions.iter().any(|g| g.name == f.name));
            if clash {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
        libs.insert(
            name.clone(),
            Arc::new(Library { name: name.clone(), code: code.into(), functions }),
        );
        self.generation.fetch_add(1, AcqRel);
        Ok(name)
    }

    /// Removes a library; whether it was there.
    pub fn delete(&self, name: &str) -> bool {
        let gone = lock(&self.libs).remove(name).is_some();
        self.generation.fetch_add(1, AcqRel);
        gone
    }

    /// Removes every library.
    pub fn flush(&self) {
        lock(&self.libs).clear();
        self.generation.fetch_add(1, AcqRel);
    }

    /// Every library, by name.
    pub fn all(&self) -> Vec<Arc<Library>> {
        lock(&self.libs).values().cloned().collect()
    }

    /// The function `name` and its library.
    pub fn find(&self, name: &str) -> Option<(Arc<Library>, FunctionMeta)> {
        let libs = lock(&self.libs);
        libs.values().find_map(|l| {
            l.functions.iter().find(|f| f.name == name).map(|f| (l.clone(), f.clone()))
        })
    }
}
