//! What a key or the server holds: OBJECT (ENCODING, REFCOUNT, FREQ, IDLETIME) and MEMORY
//! (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE). A value lives on disk: what it holds in
//! memory is its keydir entry, and its bytes while a command reads them.

use bitcask_collections::Kind;

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_READONLY};

/// The OBJECT and MEMORY commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "object", arity: -2, group: "keyspace", summary: "A container for object introspection commands.", subs: OBJECT, ..Spec::NONE },
    Spec { name: "memory", arity: -2, group: "server", summary: "A container for memory diagnostics commands.", subs: MEMORY, ..Spec::NONE },
];

/// OBJECT's subcommands.
#[rustfmt::skip]
static OBJECT: &[Spec] = &[
    Spec { name: "encoding", arity: 3, flags: F_READONLY, keys: (2, 2, 1), group: "keyspace", syntax: "<key>", summary: "Returns the internal encoding of a value (as Redis would encode the string).", run: object_encoding, ..Spec::NONE },
    Spec { name: "refcount", arity: 3, flags: F_READONLY, keys: (2, 2, 1), group: "keyspace", syntax: "<key>", summary: "Returns the reference count of a value.", run: object_refcount, ..Spec::NONE },
    Spec { name: "freq", arity: 3, flags: F_READONLY, keys: (2, 2, 1), group: "keyspace", syntax: "<key>", summary: "Refused: no LFU policy (nothing is evicted).", run: object_freq, ..Spec::NONE },
    Spec { name: "idletime", arity: 3, flags: F_READONLY, keys: (2, 2, 1), group: "keyspace", syntax: "<key>", summary: "Refused: the keydir keeps no access times.", run: object_idletime, ..Spec::NONE },
];

/// MEMORY's subcommands.
#[rustfmt::skip]
static MEMORY: &[Spec] = &[
    Spec { name: "usage", arity: -3, flags: F_READONLY, keys: (2, 2, 1), group: "server", syntax: "<key> [SAMPLES <count>]", summary: "Estimates the memory usage of a key.", run: memory_usage, ..Spec::NONE },
    Spec { name: "stats", arity: 2, group: "server", summary: "Returns details about memory usage.", run: memory_stats, ..Spec::NONE },
    Spec { name: "doctor", arity: 2, group: "server", summary: "Outputs a memory problems report.", run: memory_doctor, ..Spec::NONE },
    Spec { name: "malloc-stats", arity: 2, group: "server", summary: "Returns the allocator statistics (none here: the system allocator).", run: memory_malloc_stats, ..Spec::NONE },
    Spec { name: "purge", arity: 2, group: "server", summary: "Asks the allocator to release memory (nothing to do here).", run: memory_purge, ..Spec::NONE },
];

/// The encoding Redis gives a string value: `int` for a canonical 64-bit integer, `embstr`
/// up to 44 bytes, `raw` past that.
pub fn encoding(value: &[u8]) -> &'static str {
    let canonical = value.len() <= 20
        && crate::number::parse_i64(value).is_some_and(|n| n.to_string().as_bytes() == value);
    match () {
        _ if canonical => "int",
        _ if value.len() <= 44 => "embstr",
        _ => "raw",
    }
}

/// The encoding Redis would give collection `key` (of `kind`) by the thresholds set
/// (CONFIG SET hash-max-listpack-entries, ...): the store keeps every collection the same
/// way, so this is only what Redis would report.
fn collection_encoding(cx: &Cx<'_>, key: &[u8], kind: Kind) -> Result<&'static str, Failure> {
    let rt = &cx.srv.rt;
    let (prefix, ints) = match kind {
        Kind::Hash => ("hash", false),
        Kind::Set => ("set", true),
        Kind::Zset => ("zset", false),
        Kind::List => {
            let n = cx.tx.read_collection(key, kind, |c| c.len())?.unwrap_or(0);
            return Ok(if n <= 128 { "listpack" } else { "quicklist" });
        }
    };
    let entries = rt.encoding(&format!("{prefix}-max-listpack-entries")).max(0) as usize;
    let value = rt.encoding(&format!("{prefix}-max-listpack-value")).max(0) as usize;
    let intset = rt.encoding("set-max-intset-entries").max(0) as usize;
    let e = cx.tx.read_collection(key, kind, |c| {
        let m = c.members();
        let int = |x: &[u8]| encoding(x) == "int";
        if ints && m.len() <= intset && m.iter().all(|x| int(x)) {
            return Ok("intset");
        }
        let mut small = m.len() <= entries && m.iter().all(|x| x.len() <= value);
        if small && kind == Kind::Hash {
            for f in m {
                small &= c.with_value(f, |v| v.len() <= value)?.unwrap_or(true);
            }
        }
        let big = if kind == Kind::Zset { "skiplist" } else { "hashtable" };
        Ok::<_, bitcask_core::Error>(if small { "listpack" } else { big })
    })?;
    Ok(e.transpose()?.unwrap_or("hashtable"))
}

fn object_encoding(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    if let Some(kind) = cx.tx.kind_of(key) {
        let e = collection_encoding(cx, key, kind)?;
        cx.out.bulk(e.as_bytes());
        return Ok(());
    }
    match cx.tx.with_value(key, encoding)? {
        Some(e) => cx.out.bulk(e.as_bytes()),
        None => cx.out.null(),
    }
    Ok(())
}

fn object_refcount(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    // Redis shares the integers 0 to 9999 (a count of INT_MAX); any other value has one.
    let shared = |v: &[u8]| {
        encoding(v) == "int"
            && crate::number::parse_i64(v).is_some_and(|n| (0..10_000).contains(&n))
    };
    let key = args.key();
    if cx.tx.kind_of(key).is_some() {
        cx.out.int(1);
        return Ok(());
    }
    match cx.tx.with_value(key, shared)? {
        Some(true) => cx.out.int(i64::from(i32::MAX)),
        Some(false) => cx.out.int(1),
        None => cx.out.null(),
    }
    Ok(())
}

fn object_freq(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if !cx.tx.exists(args.key())? {
        cx.out.null();
        return Ok(());
    }
    Err(Failure::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
}

fn object_idletime(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if !cx.tx.exists(args.key())? {
        cx.out.null();
        return Ok(());
    }
    Err(Failure::err("idle time is not tracked by this server: the keydir keeps no access times (they would cost memory for every key)"))
}

fn memory_usage(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    if args.eat("samples") {
        args.int()?;
    }
    args.done()?;
    // The record on disk is not memory; the keydir entry (about 48 bytes beside the key)
    // and the value as a read copies it are. A collection's are its index and one keydir
    // entry per element.
    if let Some(kind) = cx.tx.kind_of(key) {
        let used = cx.tx.read_collection(key, kind, |c| {
            let m = c.members();
            m.iter().map(|x| 48 + 16 + key.len() + 2 * x.len() + 33).sum::<usize>() + 64 + key.len()
        })?;
        cx.out.int(used.unwrap_or(0) as i64);
        return Ok(());
    }
    match cx.tx.with_value(key, <[u8]>::len)? {
        Some(len) => cx.out.int((48 + key.len() + len) as i64),
        None => cx.out.null(),
    }
    Ok(())
}

/// The server's memory as MEMORY STATS names it: the keydir is the dataset's overhead (the
/// values are on disk).
fn memory_stats(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let stats = cx.srv.ks.stats();
    let keydir: u64 = stats.iter().map(|s| s.keydir_bytes).sum();
    let counts = cx.srv.ks.key_counts().unwrap_or_default();
    let keys = counts.iter().map(|c| c.1 as u64).sum::<u64>();
    let rss = resident_bytes();
    let clients = cx.srv.stats.output_bytes.load(std::sync::atomic::Ordering::Relaxed);
    let fields: [(&str, i64); 9] = [
        ("peak.allocated", rss as i64),
        ("total.allocated", rss as i64),
        ("startup.allocated", 0),
        ("clients.normal", clients as i64),
        ("keys.count", keys as i64),
        ("keys.bytes-per-key", keydir.checked_div(keys).unwrap_or(0) as i64),
        ("dataset.bytes", keydir as i64),
        ("overhead.total", rss.saturating_sub(keydir) as i64),
        ("bitcask.keydir.bytes", keydir as i64),
    ];
    cx.out.map(fields.len());
    for (name, v) in fields {
        cx.out.bulk(name.as_bytes());
        cx.out.int(v);
    }
    Ok(())
}

/// The process's resident memory in bytes (0 where /proc is missing).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    kib.unwrap_or(0) * 1024
}

fn memory_doctor(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.verbatim("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base: the keydir is in RAM, the values are on disk.");
    Ok(())
}

fn memory_malloc_stats(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.verbatim("Stats not supported for the current allocator");
    Ok(())
}

fn memory_purge(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.ok();
    Ok(())
}
