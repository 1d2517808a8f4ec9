//! Lua scripting as Redis has it: Lua 5.1 (mlua, vendored), one interpreter per thread
//! that runs scripts with the sandbox of prelude.lua, the script cache shared by every thread (by SHA-1),
//! `redis.call`/`redis.pcall` through a [`Host`] (the server runs the command on the
//! script's write set), the conversions of convert.rs, and the running scripts a SCRIPT KILL
//! can stop. The engine knows nothing of commands: the host does.

mod convert;
mod functions;
mod libs;
mod msgpack;
mod structlib;

use std::cell::{Cell, RefCell};

use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Lua, Table, Value, Variadic, VmState};

use crate::number::format_g;
use crate::reply::Out;

pub use functions::{library_name, Libraries};
pub use libs::sha1_hex;

/// Instructions between two checks of the running script (killed? past its time?): the
/// longest a script runs past its deadline on a network thread, about 0.1 ms.
const HOOK_EVERY: u32 = 10_000;

/// The checks a script may pass on a network thread before it moves to a blocking thread:
/// at least 90,000 instructions (the first check may come early), about a millisecond.
const INLINE_TICKS: u32 = 10;

/// How many runs of a script that had to leave a network thread go straight to a blocking
/// thread before the network thread tries it again.
const SLOW_RUNS: u32 = 100;

/// The largest script a network thread compiles; a larger one (its first run on the
/// thread) runs on a blocking thread.
const INLINE_COMPILE_MAX: usize = 16 << 10;

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
    /// Whether writes are refused (EVAL_RO, FCALL_RO, a `no-writes` script).
    fn read_only(&self) -> bool;
    /// Refuses the script's writes from now on (its shebang says `no-writes`).
    fn make_read_only(&mut self);
}

/// What a script's `#!lua` line says (a script without one has none).
#[derive(Debug, Clone, Copy, Default)]
struct Shebang {
    present: bool,
    no_writes: bool,
}

/// The flags a script's shebang may give (as Redis 7).
const SCRIPT_FLAGS: [&str; 5] =
    ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

/// Reads a script's `#!lua [flags=a,b]` line, with Redis's errors; the body to compile (the
/// line itself left empty, so lines keep their numbers).
fn shebang(body: &[u8]) -> Result<(Shebang, &[u8]), String> {
    if !body.starts_with(b"#!") {
        return Ok((Shebang::default(), body));
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut sb = Shebang { present: true, no_writes: false };
    for opt in parts {
        let Some(flags) = opt.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {opt}"));
        };
        for f in flags.split(',').filter(|f| !f.is_empty()) {
            if !SCRIPT_FLAGS.contains(&f) {
                return Err(format!("ERR Unexpected flag in script shebang: {f}"));
            }
            sb.no_writes |= f == "no-writes";
        }
    }
    Ok((sb, body.get(end..).unwrap_or_default()))
}

/// A script that is running: when it started, whether SCRIPT KILL asked it to stop and
/// whether it wrote (a script that wrote cannot be killed).
pub struct Running {
    started: Instant,
    kill: AtomicBool,
    /// Stopped by SHUTDOWN NOSAVE: its writes are to be dropped.
    pub aborted: AtomicBool,
    /// A function (FCALL) rather than a script: FUNCTION KILL stops those, SCRIPT KILL the
    /// others.
    pub function: bool,
    /// Its name and the command that runs it, for FUNCTION STATS.
    pub name: String,
    /// The command that runs it (a function's, for FUNCTION STATS; empty for a script).
    pub command: Vec<Vec<u8>>,
    /// The script ran a write command.
    pub wrote: AtomicBool,
    /// It runs on a network thread, which it must leave by then at the latest (see
    /// [`Running::inline`]).
    deadline: Option<Instant>,
    /// It passed its deadline (or met a wait) on the network thread: stopped, its writes
    /// and reply to be dropped, and it is to run again on a blocking thread.
    moved: AtomicBool,
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
    /// The function libraries (FUNCTION LOAD).
    pub functions: Libraries,
}

/// A script or function as a command names it.
pub enum Named<'a> {
    /// EVAL's text.
    Body(&'a [u8]),
    /// EVALSHA's SHA-1 (any case).
    Sha(&'a [u8]),
    /// FCALL's function name.
    Function(&'a [u8]),
}

/// What SCRIPT KILL found.
pub enum Kill {
    /// No script is running.
    NotBusy,
    /// The running script wrote: it cannot be stopped.
    Unkillable,
    /// The script was asked to stop.
    Killed,
    /// What runs is a function and SCRIPT KILL was asked, or the other way round.
    OtherKind,
}

/// The function running now: its name, the command that runs it, and for how long.
pub type RunningFunction = (String, Vec<Vec<u8>>, Duration);

impl Running {
    /// Asks the script to stop, as SCRIPT KILL does.
    pub fn stop(&self) {
        self.kill.store(true, Release);
    }
}

impl Running {
    /// A script (or function) about to run: its name (SHA-1 or function name) and command.
    pub fn new(function: bool, name: String, command: Vec<Vec<u8>>) -> Running {
        Running { function, name, command, ..Running::default() }
    }

    /// The same, run on a network thread: past about a millisecond of instructions, or
    /// `wall` of time, or at anything it would wait for, it stops and is
    /// [`moved`](Running::moved), to run again on a blocking thread.
    pub fn inline(self, wall: Duration) -> Running {
        Running { deadline: Some(self.started + wall), ..self }
    }

    /// Whether it runs on a network thread.
    pub fn is_inline(&self) -> bool {
        self.deadline.is_some()
    }

    /// Stops a script on a network thread, to run it again on a blocking thread.
    pub fn move_off(&self) {
        self.moved.store(true, Release);
        self.kill.store(true, Release);
    }

    /// Whether it stopped to run again on a blocking thread (its writes and reply are to
    /// be dropped).
    pub fn moved(&self) -> bool {
        self.moved.load(Acquire)
    }
}

impl Default for Running {
    fn default() -> Running {
        Running {
            function: false,
            name: String::new(),
            command: Vec::new(),
            started: Instant::now(),
            kill: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            deadline: None,
            moved: AtomicBool::new(false),
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

    /// Whether a script or function declares that it does not write (a `#!lua
    /// flags=no-writes` line, a function's `no-writes` flag).
    pub fn no_writes(&self, what: Named<'_>) -> bool {
        let body = match what {
            Named::Function(name) => {
                let name = String::from_utf8_lossy(name);
                return self.functions.find(&name).is_some_and(|(_, meta)| meta.no_writes());
            }
            Named::Sha(sha) => {
                let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                lock(&self.bodies).get(&sha).cloned().unwrap_or_default()
            }
            Named::Body(body) => body.into(),
        };
        shebang(&body).is_ok_and(|(sb, _)| sb.no_writes)
    }

    /// How many scripts are cached (INFO memory's `number_of_cached_scripts`).
    pub fn cached(&self) -> usize {
        lock(&self.bodies).len()
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

    /// Asks the running scripts (or functions) that did not write to stop.
    pub fn kill(&self, functions: bool) -> Kill {
        let running = lock(&self.running);
        if running.is_empty() {
            return Kill::NotBusy;
        }
        if running.iter().any(|r| r.function != functions) {
            return Kill::OtherKind;
        }
        if running.iter().any(|r| r.wrote.load(Acquire)) {
            return Kill::Unkillable;
        }
        running.iter().for_each(|r| r.stop());
        Kill::Killed
    }

    /// The function running now (FUNCTION STATS).
    pub fn running_function(&self) -> Option<RunningFunction> {
        let running = lock(&self.running);
        let r = running.iter().find(|r| r.function)?;
        Some((r.name.clone(), r.command.clone(), r.started.elapsed()))
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
    env: Table,
    /// prelude.lua's runner: sets KEYS, ARGV and redis.call, runs the script.
    runner: Function,
    /// prelude.lua's maker of the globals a library's code runs with at FUNCTION LOAD.
    library_globals: Function,
    /// The first argument with which prelude.lua's redis.pcall and redis.setresp call the
    /// server's function.
    markers: [usize; 2],
    handler: Function,
    compiled: HashMap<String, (Function, Shebang)>,
    generation: u64,
    /// The functions of every library, and the libraries' generation they were loaded at.
    functions: HashMap<String, Function>,
    fn_generation: Option<u64>,
    /// The scripts and functions (by SHA-1 or name) that had to leave a network thread,
    /// and how many more of their runs go straight to a blocking thread.
    slow: HashMap<String, u32>,
}

/// The script a thread runs, for the instruction hook: it, its time limit, the shared
/// state, and whether the hook has listed it among the running scripts (a script is listed
/// at its first tick, so the many short ones never touch the list).
struct Current {
    run: Arc<Running>,
    limit: Duration,
    scripts: Arc<Scripts>,
    listed: bool,
    /// How many times the hook ran during the script.
    ticks: u32,
}

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

impl Vm {
    fn new() -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            mlua::StdLib::TABLE | mlua::StdLib::STRING | mlua::StdLib::MATH,
            mlua::LuaOptions::default(),
        )?;
        let hooks = lua.create_table()?;
        hooks.raw_set("libs", libs::make(&lua)?)?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=prelude");
        type Prelude = (Table, Table, Table, Function, Table, Table, Function);
        let (env, _, _redis, runner, pcall, setresp, library_globals): Prelude =
            prelude.call(hooks)?;
        let markers = [pcall.to_pointer() as usize, setresp.to_pointer() as usize];
        let handler = lua.create_function(|lua, e: Value| {
            let t = lua.create_table()?;
            t.raw_set(1, e)?;
            t.raw_set(2, user_line(lua))?;
            Ok(t)
        })?;
        // A collection starts when the heap has grown fourfold, not twofold (Lua 5.1's
        // default): half as many cycles for the garbage every run leaves (its KEYS and
        // ARGV, its replies), on a heap that stays small.
        lua.gc_set_mode(mlua::state::GcMode::Incremental(
            mlua::state::GcIncParams::default().pause(400),
        ));
        // Global: coroutines a script creates inherit the hook, so they can be stopped too.
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), |_, _| {
            check_running()
        })?;
        Ok(Vm {
            lua,
            env,
            runner,
            library_globals,
            markers,
            handler,
            compiled: HashMap::new(),
            generation: 0,
            functions: HashMap::new(),
            fn_generation: None,
            slow: HashMap::new(),
        })
    }

    /// Loads every library again when they changed since this thread last did.
    fn load_functions(&mut self, libs: &Libraries) -> Result<(), String> {
        let generation = libs.generation.load(Acquire);
        if self.fn_generation == Some(generation) {
            return Ok(());
        }
        self.functions.clear();
        for lib in libs.all() {
            for (meta, f) in functions::register(&self.lua, &self.library_globals, &lib.code)? {
                self.functions.insert(meta.name, f);
            }
        }
        self.fn_generation = Some(generation);
        Ok(())
    }

    /// Whether a run of `sha` goes straight to a blocking thread (it left a network thread
    /// recently); counts the run.
    fn still_slow(&mut self, sha: &str) -> bool {
        let Some(left) = self.slow.get_mut(sha) else { return false };
        if *left == 0 {
            self.slow.remove(sha);
            return false;
        }
        *left -= 1;
        true
    }

    fn function(&mut self, sha: &str, body: &[u8]) -> Result<(Function, Shebang), String> {
        if let Some(f) = self.compiled.get(sha) {
            return Ok(f.clone());
        }
        let (sb, body) = shebang(body)?;
        let chunk = self.lua.load(body).set_name("@user_script").set_environment(self.env.clone());
        let f = chunk.into_function().map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                format!("ERR Error compiling script (new function): {message}")
            }
            other => format!("ERR Error compiling script (new function): {other}"),
        })?;
        self.compiled.insert(sha.to_owned(), (f.clone(), sb));
        Ok((f, sb))
    }
}

/// The line of the innermost running function of the script (0 when none).
fn user_line(lua: &Lua) -> usize {
    (0..200)
        .map_while(|level| {
            lua.inspect_stack(level, |d| {
                let s = d.source();
                let user = matches!(s.source.as_deref(), Some("@user_script" | "@user_function"));
                user.then(|| d.current_line()).flatten()
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
        if let Some(cur) = c.borrow_mut().as_mut() {
            if !cur.listed {
                lock(&cur.scripts.running).push(cur.run.clone());
                cur.listed = true;
            }
            cur.ticks += 1;
            // On a network thread: past its instructions (CPU it used, whatever the
            // scheduler did) or its wall-clock time (a slow command it called).
            if cur.run.deadline.is_some_and(|d| cur.ticks > INLINE_TICKS || Instant::now() > d) {
                cur.run.move_off();
            }
            if cur.run.kill.load(Acquire) {
                return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
            }
            if cur.run.started.elapsed() > cur.limit {
                cur.scripts.busy.store(true, Release);
            }
        }
        Ok(VmState::Continue)
    })
}

/// Whether the thread's current script was asked to stop (the sandbox's pcall and xpcall
/// then pass the error on: a killed script cannot catch its end).
fn killed() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|cur| cur.run.kill.load(Acquire)))
}

/// Ends the thread's current script: off the list of running scripts, and the server no
/// longer busy when none is left.
fn finish() {
    let Some(cur) = CURRENT.with(|c| c.borrow_mut().take()) else { return };
    if cur.listed {
        let mut all = lock(&cur.scripts.running);
        all.retain(|r| !Arc::ptr_eq(r, &cur.run));
        if all.is_empty() {
            cur.scripts.busy.store(false, Release);
        }
    }
}

/// A script to run.
pub struct Script<'a> {
    /// Its SHA-1 (lower case), or the function's name.
    pub sha: &'a str,
    /// A function of a library (FCALL) rather than a script.
    pub function: bool,
    /// Its text, for EVAL; EVALSHA finds it in the cache.
    pub body: Option<&'a [u8]>,
    /// KEYS.
    pub keys: &'a [&'a [u8]],
    /// ARGV.
    pub args: &'a [&'a [u8]],
}

/// Why a script produced no reply.
#[derive(Debug)]
pub struct Failed {
    /// The error reply's text (`NOSCRIPT ...`, `ERR Error compiling script ...`, `<error>
    /// script: <sha>, on @user_script:<line>.`).
    pub text: String,
    /// The error was raised by a command the script called (its failure was counted
    /// there).
    pub from_call: bool,
}

impl From<String> for Failed {
    fn from(text: String) -> Failed {
        Failed { text, from_call: false }
    }
}

impl From<&str> for Failed {
    fn from(text: &str) -> Failed {
        Failed { text: text.to_owned(), from_call: false }
    }
}

/// The error of a script stopped on a network thread to run again on a blocking thread
/// (never a reply: the caller drops the run).
const MOVED: &str = "ERR the script left the network thread";

/// Runs a script, writing its reply through `host`. Returns whether the reply is an error
/// (and if so whether it was counted already, see [`convert::to_reply`]). A run on a
/// network thread may instead stop [`moved`](Running::moved): the caller drops its writes
/// and reply and runs it again on a blocking thread (as this thread then always does).
pub fn run(
    scripts: &Arc<Scripts>,
    script: &Script<'_>,
    time_limit: Duration,
    running: Arc<Running>,
    host: &mut dyn Host,
) -> Result<Option<bool>, Failed> {
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
        if script.function {
            vm.load_functions(&scripts.functions)?;
        }
        // What this thread compiled first: the shared cache only on a miss.
        let found = if script.function {
            vm.functions.get(script.sha).map(|f| (f.clone(), Shebang::default()))
        } else {
            vm.compiled.get(script.sha).cloned()
        };
        let inline = running.is_inline();
        if inline && vm.still_slow(script.sha) {
            running.move_off();
            return Err(MOVED.into());
        }
        let (f, sb) = match found {
            Some(f) => f,
            None if script.function => return Err("ERR Function not found".into()),
            None => {
                let body: Arc<[u8]> = match script.body {
                    Some(b) => b.into(),
                    None => lock(&scripts.bodies)
                        .get(script.sha)
                        .cloned()
                        .ok_or("NOSCRIPT No matching script. Please use EVAL.")?,
                };
                if inline && body.len() > INLINE_COMPILE_MAX {
                    running.move_off();
                    return Err(MOVED.into());
                }
                vm.function(script.sha, &body)?
            }
        };
        if sb.present && !sb.no_writes && host.read_only() {
            return Err("ERR Can not execute a script with write flag using *_ro command.".into());
        }
        if sb.no_writes {
            host.make_read_only();
        }
        let (run, limit, scripts) = (running.clone(), time_limit, scripts.clone());
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(Current { run, limit, scripts, listed: false, ticks: 0 })
        });
        let result = call(vm, &f, script, host);
        finish();
        if running.moved() {
            // What the stopped run built is garbage now: freed before the next script.
            let _ = vm.lua.gc_collect();
            vm.slow.insert(script.sha.to_owned(), SLOW_RUNS);
            return Err(MOVED.into());
        }
        match result {
            Ok((v, r3)) => Ok(convert::to_reply(host.out(), &v, r3)),
            Err((e, line, from_call)) => {
                let chunk = if script.function { "user_function" } else { "user_script" };
                let text = format!("{e} script: {}, on @{chunk}:{line}.", script.sha);
                Err(Failed { text, from_call })
            }
        }
    })
}

/// Calls the script's function in the sandbox: its result and whether it chose RESP3, or
/// its error's text and line. The memory bound holds while the script runs (mlua then
/// guards every allocation, which costs: the arguments are made before).
fn call(
    vm: &Vm,
    f: &Function,
    script: &Script<'_>,
    host: &mut dyn Host,
) -> Result<(Value, bool), (String, usize, bool)> {
    let lua = &vm.lua;
    let lua_err = |e: mlua::Error| (error_text(&Value::Error(Box::new(e)), 0), 0, false);
    let strings = |all: &[&[u8]]| {
        let t = lua.create_table_with_capacity(all.len(), 0)?;
        for (i, a) in all.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(a)?)?;
        }
        Ok(t)
    };
    let (keys, argv) =
        (strings(script.keys).map_err(lua_err)?, strings(script.args).map_err(lua_err)?);
    let host = RefCell::new(host);
    let resp3 = Cell::new(false);
    let outcome = lua.scope(|scope| {
        // One C function: redis.call (so a `return redis.call(...)` keeps the script's frame,
        // its line), also redis.pcall and redis.setresp behind their markers.
        let server = scope.create_function(|lua, args: Variadic<Value>| {
            let marker = match args.first() {
                Some(Value::Table(t)) => {
                    vm.markers.iter().position(|&m| m == t.to_pointer() as usize)
                }
                _ => None,
            };
            if marker == Some(1) {
                resp3.set(matches!(args.get(1), Some(Value::Integer(3))));
                return Ok(Value::Nil);
            }
            let argv = args.get(usize::from(marker.is_some())..).unwrap_or_default();
            let mut h = host.borrow_mut();
            match redis_call(lua, &mut **h, argv, resp3.get())? {
                (Value::Table(t), true) if marker.is_none() => {
                    let text = t.raw_get::<mlua::LuaString>("err")?.to_string_lossy();
                    Err(mlua::Error::external(CallError(text)))
                }
                (v, _) => Ok(v),
            }
        })?;
        lua.set_memory_limit(MEMORY_LIMIT)?;
        let r = vm.runner.call::<(bool, Value)>((
            f.clone(),
            vm.handler.clone(),
            server,
            script.function,
            keys,
            argv,
        ));
        lua.set_memory_limit(0)?;
        r
    });
    match outcome {
        Ok((true, v)) => Ok((v, resp3.get())),
        Ok((false, Value::Table(t))) => {
            let e = t.raw_get::<Value>(1).unwrap_or(Value::Nil);
            let line = t.raw_get::<usize>(2).unwrap_or(0);
            let from_call = matches!(&e, Value::Error(x) if call_error(x).is_some());
            Err((error_text(&e, line), line, from_call))
        }
        Ok((false, e)) => Err((error_text(&e, 0), 0, false)),
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
    // Strings are borrowed from Lua (no copy); numbers are written out.
    let mut held: SmallVec<[Arg; 8]> = SmallVec::with_capacity(args.len());
    for a in args {
        held.push(match a {
            Value::String(s) => Arg::Lua(s.as_bytes()),
            Value::Integer(i) => Arg::Own(i.to_string().into_bytes()),
            Value::Number(f) => Arg::Own(format_g(*f, 14).into_bytes()),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        });
    }
    if held.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let argv: SmallVec<[&[u8]; 8]> = held.iter().map(Arg::bytes).collect();
    match host.call(&argv, resp3) {
        Ok(bytes) => {
            // The reply becomes Lua values of at most eight times its size: refused past the
            // bound first, then made without mlua guarding each allocation (which costs
            // more than a short reply's conversion), the bound back on after.
            if lua.used_memory().saturating_add(bytes.len().saturating_mul(8)) > MEMORY_LIMIT {
                return Err(mlua::Error::MemoryError("not enough memory".into()));
            }
            lua.set_memory_limit(0)?;
            let v = convert::from_resp(lua, &bytes, &mut 0);
            lua.set_memory_limit(MEMORY_LIMIT)?;
            v
        }
        Err(text) => fail(&text),
    }
}

/// One argument of a `redis.call`: a Lua string's own bytes, or a number written out.
enum Arg {
    Lua(mlua::BorrowedBytes),
    Own(Vec<u8>),
}

impl Arg {
    fn bytes(&self) -> &[u8] {
        match self {
            Arg::Lua(b) => b,
            Arg::Own(v) => v,
        }
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

/// FUNCTION LOAD: checks `code` in an interpreter of its own (its run stopped after half a
/// second, as Redis's load timeout) and adds the library; its name.
pub fn load_library(scripts: &Scripts, code: &[u8], replace: bool) -> Result<String, String> {
    scripts.functions.add(code, replace, |code| {
        let vm = Vm::new().map_err(|e| format!("ERR cannot start Lua: {e}"))?;
        let run = Arc::new(Running::default());
        let (stopper, current) = (run.clone(), run.clone());
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let timer = std::thread::spawn(move || {
            if done_rx.recv_timeout(Duration::from_millis(500)).is_err() {
                stopper.stop();
            }
        });
        let limit = Duration::from_secs(3600);
        let shared = Arc::new(Scripts::default());
        CURRENT.with(|c| {
            *c.borrow_mut() =
                Some(Current { run: current, limit, scripts: shared, listed: false, ticks: 0 })
        });
        let found = functions::register(&vm.lua, &vm.library_globals, code);
        finish();
        let _ = done_tx.send(());
        let _ = timer.join();
        if found.is_err() && run.kill.load(Acquire) {
            return Err("ERR Error registering functions: ERR FUNCTION LOAD timeout".into());
        }
        Ok(found?.into_iter().map(|(m, _)| m).collect())
    })
}
