//! Lua scripting as Redis has it: Lua 5.1 (mlua, vendored), one interpreter per network
//! thread with the sandbox of prelude.lua, the script cache shared by every thread (by SHA-1),
//! `redis.call`/`redis.pcall` through a [`Host`] (the server runs the command on the
//! script's write set), the conversions of convert.rs, and the running scripts a SCRIPT KILL
//! can stop. The engine knows nothing of commands: the host does.

mod convert;
mod libs;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Lua, Table, Value, Variadic, VmState};

use crate::number::format_g;
use crate::reply::Out;

pub use libs::sha1_hex;

/// The most memory one thread's interpreter may hold; past it a script fails with
/// `not enough memory`.
const MEMORY_LIMIT: usize = 256 << 20;

/// What a script needs of the server: running a command.
pub trait Host {
    /// Runs `argv` for the script: its RESP reply (RESP3 when `resp3`), or the error text
    /// of a command the script may not run here (`ERR Unknown Redis command called from
    /// script`, ...).
    fn call(&mut self, argv: &[&[u8]], resp3: bool) -> Result<Vec<u8>, String>;
    /// Where the script's reply goes.
    fn out(&mut self) -> &mut Out;
}

/// A script that is running: when it started, whether SCRIPT KILL asked it to stop and
/// whether it wrote (a script that wrote cannot be killed).
pub struct Running {
    started: Instant,
    kill: AtomicBool,
    /// Stopped by SHUTDOWN NOSAVE: its writes are to be dropped.
    pub aborted: AtomicBool,
    /// The script ran a write command.
    pub wrote: AtomicBool,
}

/// What every thread shares: the scripts by SHA-1, the running ones, the busy state.
#[derive(Default)]
pub struct Scripts {
    bodies: Mutex<HashMap<String, Arc<[u8]>>>,
    /// Moves on SCRIPT FLUSH: each thread drops what it compiled.
    generation: AtomicU64,
    running: Mutex<Vec<Arc<Running>>>,
    /// A script has run longer than the time limit: other commands answer BUSY.
    pub busy: AtomicBool,
}

/// What SCRIPT KILL found.
pub enum Kill {
    /// No script is running.
    NotBusy,
    /// The running script wrote: it cannot be stopped.
    Unkillable,
    /// The script was asked to stop.
    Killed,
}

impl Default for Running {
    fn default() -> Running {
        Running {
            started: Instant::now(),
            kill: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
        }
    }
}

impl Scripts {
    /// Caches `body`; its SHA-1.
    pub fn load(&self, body: &[u8]) -> String {
        let sha = sha1_hex(body);
        lock(&self.bodies).entry(sha.clone()).or_insert_with(|| body.into());
        sha
    }

    /// Whether a script of SHA-1 `sha` (any case) is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        lock(&self.bodies).contains_key(&sha)
    }

    /// Forgets every script.
    pub fn flush(&self) {
        lock(&self.bodies).clear();
        self.generation.fetch_add(1, AcqRel);
    }

    /// Asks the running scripts that did not write to stop.
    pub fn kill(&self) -> Kill {
        let running = lock(&self.running);
        if running.is_empty() {
            return Kill::NotBusy;
        }
        if running.iter().any(|r| r.wrote.load(Acquire)) {
            return Kill::Unkillable;
        }
        running.iter().for_each(|r| r.kill.store(true, Release));
        Kill::Killed
    }

    /// Stops every running script, those that wrote too (SHUTDOWN NOSAVE): a script's
    /// writes commit only when it ends, so a stopped one leaves nothing behind.
    pub fn kill_all(&self) {
        for r in lock(&self.running).iter() {
            r.aborted.store(true, Release);
            r.kill.store(true, Release);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One thread's interpreter.
struct Vm {
    lua: Lua,
    hooks: Table,
    visible: Table,
    /// The `redis` table behind the scripts' read-only view.
    redis: Table,
    env: Table,
    xpcall: Function,
    handler: Function,
    compiled: HashMap<String, Function>,
    generation: u64,
}

/// The script a thread runs, for the instruction hook: it, its time limit, and the state
/// the hook marks busy.
type Current = Option<(Arc<Running>, Duration, Arc<Scripts>)>;

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Current> = const { RefCell::new(None) };
}

impl Vm {
    fn new() -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            mlua::StdLib::TABLE | mlua::StdLib::STRING | mlua::StdLib::MATH,
            mlua::LuaOptions::default(),
        )?;
        lua.set_memory_limit(MEMORY_LIMIT)?;
        let hooks = lua.create_table()?;
        hooks.raw_set("libs", libs::make(&lua)?)?;
        hooks.raw_set("resp", 2)?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=prelude");
        let (env, visible, redis): (Table, Table, Table) = prelude.call(hooks.clone())?;
        let xpcall: Function = lua.globals().raw_get("xpcall")?;
        let handler = lua.create_function(|lua, e: Value| {
            let t = lua.create_table()?;
            t.raw_set(1, e)?;
            t.raw_set(2, user_line(lua))?;
            Ok(t)
        })?;
        lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), |_, _| check_running())?;
        Ok(Vm {
            lua,
            hooks,
            visible,
            redis,
            env,
            xpcall,
            handler,
            compiled: HashMap::new(),
            generation: 0,
        })
    }

    fn function(&mut self, sha: &str, body: &[u8]) -> Result<Function, String> {
        if let Some(f) = self.compiled.get(sha) {
            return Ok(f.clone());
        }
        let chunk = self.lua.load(body).set_name("@user_script").set_environment(self.env.clone());
        let f = chunk.into_function().map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                format!("ERR Error compiling script (new function): {message}")
            }
            other => format!("ERR Error compiling script (new function): {other}"),
        })?;
        self.compiled.insert(sha.to_owned(), f.clone());
        Ok(f)
    }
}

/// The line of the innermost running function of the script (0 when none).
fn user_line(lua: &Lua) -> usize {
    (0..200)
        .map_while(|level| {
            lua.inspect_stack(level, |d| {
                let s = d.source();
                (s.source.as_deref() == Some("@user_script")).then(|| d.current_line()).flatten()
            })
        })
        .flatten()
        .find(|&l| l > 0)
        .unwrap_or(0)
}

/// The instruction hook: stops a killed script, and marks the server busy once the
/// running script passes the time limit.
fn check_running() -> mlua::Result<VmState> {
    CURRENT.with(|c| {
        if let Some((run, limit, scripts)) = c.borrow().as_ref() {
            if run.kill.load(Acquire) {
                return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
            }
            if run.started.elapsed() > *limit {
                scripts.busy.store(true, Release);
            }
        }
        Ok(VmState::Continue)
    })
}

/// A script to run.
pub struct Script<'a> {
    /// Its SHA-1 (lower case).
    pub sha: &'a str,
    /// Its text, for EVAL; EVALSHA finds it in the cache.
    pub body: Option<&'a [u8]>,
    /// KEYS.
    pub keys: &'a [&'a [u8]],
    /// ARGV.
    pub args: &'a [&'a [u8]],
}

/// Runs a script, writing its reply through `host`; the error reply's text on failure
/// (`NOSCRIPT ...`, `ERR Error compiling script ...`, `<error> script: <sha>, on
/// @user_script:<line>.`).
pub fn run(
    scripts: &Arc<Scripts>,
    script: &Script<'_>,
    time_limit: Duration,
    running: Arc<Running>,
    host: &mut dyn Host,
) -> Result<(), String> {
    let body = match script.body {
        Some(b) => b.into(),
        None => lock(&scripts.bodies)
            .get(script.sha)
            .cloned()
            .ok_or("NOSCRIPT No matching script. Please use EVAL.")?,
    };
    VM.with(|cell| {
        let mut slot = cell.borrow_mut();
        let generation = scripts.generation.load(Acquire);
        if slot.as_ref().is_none_or(|vm| vm.generation != generation) {
            // A new interpreter: SCRIPT FLUSH also frees what scripts left in memory.
            let mut vm = Vm::new().map_err(|e| format!("ERR cannot start Lua: {e}"))?;
            vm.generation = generation;
            *slot = Some(vm);
        }
        let vm = slot.as_mut().ok_or("ERR cannot start Lua")?;
        let f = vm.function(script.sha, &body)?;
        lock(&scripts.running).push(running.clone());
        CURRENT.with(|c| *c.borrow_mut() = Some((running.clone(), time_limit, scripts.clone())));
        let result = call(vm, &f, script, host);
        CURRENT.with(|c| *c.borrow_mut() = None);
        let mut all = lock(&scripts.running);
        all.retain(|r| !Arc::ptr_eq(r, &running));
        if all.is_empty() {
            scripts.busy.store(false, Release);
        }
        drop(all);
        match result {
            Ok(v) => {
                let r3 = matches!(vm.hooks.raw_get::<Value>("resp"), Ok(Value::Integer(3)));
                convert::to_reply(host.out(), &v, r3);
                Ok(())
            }
            Err((e, line)) => Err(format!("{e} script: {}, on @user_script:{line}.", script.sha)),
        }
    })
}

fn strings<'a>(lua: &Lua, items: impl Iterator<Item = &'a &'a [u8]>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, s) in items.enumerate() {
        t.raw_set(i + 1, lua.create_string(s)?)?;
    }
    Ok(t)
}

/// Calls the script's function in the sandbox: its result, or its error's text and line.
fn call(
    vm: &Vm,
    f: &Function,
    script: &Script<'_>,
    host: &mut dyn Host,
) -> Result<Value, (String, usize)> {
    let lua = &vm.lua;
    let lua_err = |e: mlua::Error| (error_text(&Value::Error(Box::new(e)), 0), 0);
    vm.visible
        .raw_set("KEYS", strings(lua, script.keys.iter()).map_err(lua_err)?)
        .map_err(lua_err)?;
    vm.visible
        .raw_set("ARGV", strings(lua, script.args.iter()).map_err(lua_err)?)
        .map_err(lua_err)?;
    vm.hooks.raw_set("resp", 2).map_err(lua_err)?;
    let host = RefCell::new(host);
    let resp3 = || matches!(vm.hooks.raw_get::<Value>("resp"), Ok(Value::Integer(3)));
    let outcome = lua.scope(|scope| {
        // C functions, so a `return redis.call(...)` keeps the script's frame (its line).
        let call = scope.create_function(|lua, args: Variadic<Value>| {
            let mut h = host.borrow_mut();
            match redis_call(lua, &mut **h, &args, resp3())? {
                (Value::Table(t), true) => {
                    let text = t.raw_get::<mlua::LuaString>("err")?.to_string_lossy();
                    Err(mlua::Error::external(CallError(text)))
                }
                (v, _) => Ok(v),
            }
        })?;
        let pcall = scope.create_function(|lua, args: Variadic<Value>| {
            let mut h = host.borrow_mut();
            Ok(redis_call(lua, &mut **h, &args, resp3())?.0)
        })?;
        vm.redis.raw_set("call", call)?;
        vm.redis.raw_set("pcall", pcall)?;
        let r = vm.xpcall.call::<(bool, Value)>((f.clone(), vm.handler.clone()));
        vm.redis.raw_set("call", Value::Nil)?;
        vm.redis.raw_set("pcall", Value::Nil)?;
        r
    });
    match outcome {
        Ok((true, v)) => Ok(v),
        Ok((false, Value::Table(t))) => {
            let e = t.raw_get::<Value>(1).unwrap_or(Value::Nil);
            let line = t.raw_get::<usize>(2).unwrap_or(0);
            Err((error_text(&e, line), line))
        }
        Ok((false, e)) => Err((error_text(&e, 0), 0)),
        Err(e) => Err(lua_err(e)),
    }
}

/// A command a script ran with `redis.call` failed: its error reply's text.
#[derive(Debug)]
struct CallError(String);

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallError {}

/// Runs `command, args...` for a script: the reply as a Lua value, and whether it is an
/// error (then a table with `err`).
fn redis_call(
    lua: &Lua,
    host: &mut dyn Host,
    args: &[Value],
    resp3: bool,
) -> mlua::Result<(Value, bool)> {
    let fail = |text: &str| -> mlua::Result<(Value, bool)> {
        let t = lua.create_table()?;
        t.raw_set("err", text)?;
        Ok((Value::Table(t), true))
    };
    let mut owned: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args {
        owned.push(match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(i) => i.to_string().into_bytes(),
            Value::Number(f) => format_g(*f, 14).into_bytes(),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        });
    }
    if owned.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    match host.call(&argv, resp3) {
        Ok(bytes) => convert::from_resp(lua, &bytes, &mut 0),
        Err(text) => fail(&text),
    }
}

/// The text of a script's error as Redis gives it: an error table's `err` or a failed
/// `redis.call`'s error as they are, a string or number after `ERR `, a library's error
/// with the script's line (`ERR user_script:<line>: ...`).
fn error_text(e: &Value, line: usize) -> String {
    match e {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "ERR unknown error".into(),
        },
        Value::String(s) => format!("ERR {}", s.to_string_lossy()),
        Value::Integer(i) => format!("ERR {i}"),
        Value::Number(f) => format!("ERR {}", format_g(*f, 14)),
        Value::Nil => "ERR nil".into(),
        Value::Error(e) => match call_error(e) {
            Some(text) => text,
            None if line > 0 => format!("ERR user_script:{line}: {}", root_message(e)),
            None => format!("ERR {}", root_message(e)),
        },
        other => format!("ERR {}", other.type_name()),
    }
}

fn call_error(e: &mlua::Error) -> Option<String> {
    match e {
        mlua::Error::CallbackError { cause, .. } => call_error(cause),
        mlua::Error::ExternalError(x) => x.downcast_ref::<CallError>().map(|c| c.0.clone()),
        _ => None,
    }
}

fn root_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::MemoryError(_) => "not enough memory".into(),
        other => other.to_string(),
    }
}
