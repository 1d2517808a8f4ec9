-- The sandbox every script runs in, built once per Lua state from trusted code. Scripts see
-- a read-only view of the globals below: reading a name that is not there and writing any
-- global are errors, and the library tables cannot be changed, as in Redis.
--
-- `hooks` is private to this file and the server: `hooks.libs` holds the libraries made in
-- Rust (redis's primitives, cjson, bit). For each run the server gives `runner` (below) its
-- redis.call, redis.pcall and the function that notes redis.setresp's choice.
local hooks = ...

local real_setmetatable, real_getmetatable = setmetatable, getmetatable
local real_rawset, real_setfenv, real_loadstring = rawset, setfenv, loadstring
local error, type, tostring, select = error, type, tostring, select

local READONLY = "Attempt to modify a readonly table"
local protected = real_setmetatable({}, { __mode = "k" })

local function refuse()
    error(READONLY, 2)
end

-- A read-only view of `t`.
local function readonly(t)
    local guard, view = {}, {}
    real_setmetatable(guard, { __index = {}, __newindex = refuse, __metatable = guard })
    real_setmetatable(view, { __index = t, __newindex = refuse, __metatable = guard })
    protected[guard], protected[view] = true, true
    return view
end

local function setmetatable(t, mt)
    if protected[t] then
        error(READONLY, 0)
    end
    return real_setmetatable(t, mt)
end

local function rawset(t, k, v)
    if protected[t] then
        error(READONLY, 0)
    end
    return real_rawset(t, k, v)
end

local string_meta = readonly({})
local function getmetatable(v)
    if type(v) == "string" then
        return string_meta
    end
    return real_getmetatable(v)
end

-- The redis library: the server's primitives and the rest, in Lua.
local redis = {}
for k, v in pairs(hooks.libs.redis) do
    if k ~= "killed" then
        redis[k] = v
    end
end
local function fail(text)
    error({ err = text }, 0)
end
-- The server's function for the running script (redis.call); these markers as its first
-- argument ask it for redis.pcall and redis.setresp instead (scripts cannot reach them).
local PCALL, SETRESP = {}, {}
redis.pcall = function(...)
    return redis.call(PCALL, ...)
end
redis.setresp = function(v)
    if v ~= 2 and v ~= 3 then
        fail("ERR RESP version must be 2 or 3.")
    end
    redis.call(SETRESP, v)
end
redis.error_reply = function(s)
    if type(s) ~= "string" then
        fail("ERR wrong number or type of arguments")
    end
    if s:sub(1, 1) == "-" then
        s = s:sub(2)
    end
    if not s:find(" ", 1, true) then
        s = "ERR " .. s
    end
    return { err = s }
end
redis.status_reply = function(s)
    if type(s) ~= "string" then
        fail("ERR wrong number or type of arguments")
    end
    return { ok = s }
end
redis.log = function(level, ...)
    if select("#", ...) < 1 then
        fail("ERR redis.log() requires two arguments or more.")
    end
    if type(level) ~= "number" or level < 0 or level > 3 then
        fail("ERR Invalid debug level.")
    end
    local parts = {}
    for i = 1, select("#", ...) do
        parts[i] = tostring((select(i, ...)))
    end
    hooks.libs.redis.log(level, table.concat(parts, " "))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.set_repl = function(v)
    if type(v) ~= "number" or v < 0 or v > 3 then
        fail("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
    end
end
redis.replicate_commands = function()
    return true
end
redis.breakpoint = function()
    return false
end
redis.debug = function() end

-- pcall and xpcall that cannot catch a script's end (SCRIPT KILL): the error goes on.
local killed, real_pcall, real_xpcall = hooks.libs.redis.killed, pcall, xpcall
local function pass_kill(ok, ...)
    if not ok and killed() then
        error((...), 0)
    end
    return ok, ...
end
local function sandbox_pcall(f, ...)
    return pass_kill(real_pcall(f, ...))
end
local function sandbox_xpcall(f, handler)
    return pass_kill(real_xpcall(f, handler))
end

local visible = {
    assert = assert, collectgarbage = collectgarbage, error = error, gcinfo = gcinfo,
    getmetatable = getmetatable, ipairs = ipairs, next = next, pairs = pairs, pcall = sandbox_pcall,
    rawequal = rawequal, rawget = rawget, rawset = rawset, select = select,
    setmetatable = setmetatable, tonumber = tonumber, tostring = tostring, type = type,
    unpack = unpack, xpcall = sandbox_xpcall, _VERSION = _VERSION,
    coroutine = readonly(coroutine), string = readonly(string), table = readonly(table),
    math = readonly(math), redis = readonly(redis),
}
for name, lib in pairs(hooks.libs) do
    if name ~= "redis" then
        visible[name] = readonly(lib)
    end
end

-- Globals are found in `visible` (a table, so a hit costs no function call); a miss reaches
-- its own __index, which refuses.
real_setmetatable(visible, {
    __index = function(_, k)
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end,
})
local env = {}
real_setmetatable(env, { __index = visible, __newindex = refuse, __metatable = readonly({}) })
protected[env] = true
visible._G = env

-- loadstring compiles text into the sandbox, never a binary chunk.
visible.loadstring = function(text, name)
    if type(text) == "string" and text:byte(1) == 27 then
        return nil, "binary chunks are not allowed"
    end
    local f, err = real_loadstring(text, name)
    if f then
        real_setfenv(f, env)
    end
    return f, err
end

-- Runs a script (KEYS and ARGV as globals) or a function (as parameters) with the server's
-- function as redis.call, under `handler`.
local function runner(f, handler, server, as_function, keys, argv)
    redis.call = server
    local ok, result
    if as_function then
        -- A function (FCALL) takes its keys and arguments as parameters.
        ok, result = xpcall(function()
            return f(keys, argv)
        end, handler)
    else
        visible.KEYS, visible.ARGV = keys, argv
        ok, result = xpcall(f, handler)
    end
    redis.call = nil
    return ok, result
end

-- What a library's code sees while FUNCTION LOAD runs it (as Redis): only `redis`, with
-- register_function, log and the constants; reading anything else, or writing, is an error.
-- Once loaded, its functions see the sandbox: `finish` points their globals at it, and
-- register_function then refuses. `slot.register` is the server's registration while
-- the load runs.
local function nonexistent(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function strict(t)
    protected[t] = true
    return real_setmetatable(t, { __index = nonexistent, __newindex = refuse, __metatable = false })
end
local function library_globals()
    local slot = {}
    local function register_function(...)
        if not slot.register then
            fail("ERR redis.register_function can only be called on FUNCTION LOAD command")
        end
        return slot.register(...)
    end
    local api = strict({
        redis = strict({
            register_function = register_function,
            log = redis.log,
            LOG_DEBUG = redis.LOG_DEBUG,
            LOG_VERBOSE = redis.LOG_VERBOSE,
            LOG_NOTICE = redis.LOG_NOTICE,
            LOG_WARNING = redis.LOG_WARNING,
            REDIS_VERSION = redis.REDIS_VERSION,
            REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
        }),
    })
    local meta = { __index = api, __newindex = refuse, __metatable = false }
    local globals = real_setmetatable({}, meta)
    protected[globals] = true
    local function finish()
        slot.register = nil
        meta.__index = env
    end
    return globals, slot, finish
end

return env, visible, redis, runner, PCALL, SETRESP, library_globals
