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

/// Runs a library's code in `lua` with the globals prelude.lua's `library_globals` makes
/// (only `redis.register_function`, `redis.log` and the constants, as Redis): what it
/// registered, or Redis's error. Its functions then see the sandbox's globals.
pub(super) fn register(
    lua: &Lua,
    library_globals: &Function,
    code: &[u8],
) -> Result<Vec<(FunctionMeta, Function)>, String> {
    let (globals, slot, finish): (Table, Table, Function) =
        library_globals.call(()).map_err(|e| format!("ERR cannot start Lua: {e}"))?;
    // The shebang line is not Lua: compiled as an empty line, so lines keep their numbers.
    let body = code.iter().position(|&b| b == b'\n').map_or(&[][..], |i| &code[i..]);
    let f = lua
        .load(body)
        .set_name("@user_function")
        .set_environment(globals)
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
            let name = &entry.0.name;
            if all.iter().any(|(m, _): &(FunctionMeta, Function)| m.name.eq_ignore_ascii_case(name))
            {
                return Err(mlua::Error::runtime("ERR Function already exists in the library"));
            }
            all.push(entry);
            Ok(())
        })?;
        slot.raw_set("register", reg)?;
        let r = f.call::<Value>(());
        finish.call::<()>(())?;
        r
    });
    if let Err(e) = outcome {
        // The error as Redis words it: its first line, with an error code.
        let message = super::root_message(&e);
        let message = message.split("\nstack traceback:").next().unwrap_or_default();
        let code = if message.starts_with("ERR ") { "" } else { "ERR " };
        return Err(format!("ERR Error registering functions: {code}{message}"));
    }
    let found = found.into_inner();
    if found.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(found)
}

/// A registration's string argument: a string, or a number as Lua turns it into one.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(crate::number::format_g(*n, 14)),
        _ => None,
    }
}

/// `register_function(name, callback)` or `register_function{function_name=, callback=,
/// flags=, description=}`, with Redis's errors.
fn registration(args: &[Value]) -> Result<(FunctionMeta, Function), String> {
    let (name, callback, flags, description) = match args {
        [name, callback] => {
            let name = text(name)
                .ok_or("ERR first argument to redis.register_function must be a string")?;
            let Value::Function(f) = callback else {
                return Err("ERR second argument to redis.register_function must be a function".into());
            };
            (name, f.clone(), Vec::new(), None)
        }
        [Value::Table(t)] => named(t)?,
        [_] => return Err("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into()),
        _ => return Err("ERR wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        // Redis 7.0 words a bad function name as a bad library name.
        return Err(BAD_NAME.into());
    }
    Ok((FunctionMeta { name, description, flags }, callback))
}

/// A registration's named arguments.
type Named = (String, Function, Vec<String>, Option<String>);

fn named(t: &Table) -> Result<Named, String> {
    let (mut name, mut callback, mut flags, mut description) = (None, None, Vec::new(), None);
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| format!("ERR {e}"))?;
        let key = text(&k)
            .ok_or("ERR named argument key given to redis.register_function is not a string")?
            .to_ascii_lowercase();
        match key.as_str() {
            "function_name" => {
                name = Some(text(&v).ok_or(
                    "ERR function_name argument given to redis.register_function must be a string",
                )?)
            }
            "description" => {
                description = Some(text(&v).ok_or(
                    "ERR description argument given to redis.register_function must be a string",
                )?)
            }
            "callback" => {
                match v {
                    Value::Function(f) => callback = Some(f),
                    _ => return Err(
                        "ERR callback argument given to redis.register_function must be a function"
                            .into(),
                    ),
                }
            }
            "flags" => {
                let Value::Table(fl) = v else {
                    return Err("ERR flags argument to redis.register_function must be a table representing function flags".into());
                };
                for f in fl.sequence_values::<Value>().flatten() {
                    match text(&f) {
                        Some(f) if FLAGS.contains(&f.as_str()) => flags.push(f),
                        _ => return Err("ERR unknown flag given".into()),
                    }
                }
            }
            _ => return Err("ERR unknown argument given to redis.register_function".into()),
        }
    }
    let name = name.ok_or("ERR redis.register_function must get a function name argument")?;
    let callback = callback.ok_or("ERR redis.register_function must get a callback argument")?;
    Ok((name, callback, flags, description))
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
            let clash = libs.values().any(|l| {
                l.name != name && l.functions.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name))
            });
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

    /// The function `name` (in any case, as Redis) and its library.
    pub fn find(&self, name: &str) -> Option<(Arc<Library>, FunctionMeta)> {
        let libs = lock(&self.libs);
        libs.values().find_map(|l| {
            let f = l.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))?;
            Some((l.clone(), f.clone()))
        })
    }
}
