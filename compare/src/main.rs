//! `bitcask-compare`: the same workloads against bitcask, LMDB (heed), redb, fjall and a toy
//! Bitcask, one engine after another in one run (each in a fresh process), printing one
//! table of medians-free single measurements in M ops/s and writing them as TSV for
//! `compare/chart.py`.
//!
//!     cargo run --release --manifest-path compare/Cargo.toml -- --out compare/results.tsv
//!
//! Flags: `--records N` (1000000), `--ops N` per phase (1000000), `--cap SECS` per phase
//! (4), `--engines a,b,...`, `--rounds N` (1; with more, each engine runs N times,
//! alternating, and the table shows medians), `--out FILE`.

mod engines;
mod workloads;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use workloads::{Limits, Mix, Zipf};

/// The phases, in table order: (name, what it runs).
const PHASES: [&str; 17] = [
    "put, 1 thread (load)",
    "put (update), 1 thread",
    "put (update), 2 threads",
    "batched put, 1000 per batch",
    "get, 1 thread",
    "get, 2 threads",
    "multi-get, 100 keys per call",
    "YCSB A (50/50), 1 thread",
    "YCSB A (50/50), 2 threads",
    "YCSB B (95/5), 1 thread",
    "YCSB B (95/5), 2 threads",
    "YCSB C (read only), 1 thread",
    "YCSB C (read only), 2 threads",
    "YCSB F (read-modify-write), 1 thread",
    "YCSB F (read-modify-write), 2 threads",
    "floor: write(2) loop, 123 B",
    "heap per key after the load, B",
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn limits(args: &[String]) -> Limits {
    let num = |n: &str, d: u64| arg(args, n).map_or(d, |s| s.parse().expect("a number"));
    Limits {
        records: num("--records", 1_000_000),
        ops: num("--ops", 1_000_000),
        cap: Duration::from_secs(num("--cap", 4)),
    }
}

fn report(engine: &str, phase: usize, rate: f64) {
    println!("RESULT\t{engine}\t{}\t{rate}", PHASES[phase]);
}

/// Runs every phase against one engine (in this, a fresh process).
fn child(engine: &str, l: Limits) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = engines::open(engine, dir.path());
    let rss0 = rss_bytes();
    report(engine, 0, workloads::load(db.as_ref(), l));
    let per_key = rss_bytes().saturating_sub(rss0) as f64 / l.records as f64;
    report(engine, 1, workloads::updates(db.as_ref(), 1, l));
    report(engine, 2, workloads::updates(db.as_ref(), 2, l));
    report(engine, 3, workloads::batches(db.as_ref(), 1000, l));
    db.settle();
    report(engine, 4, workloads::gets(db.as_ref(), 1, l));
    report(engine, 5, workloads::gets(db.as_ref(), 2, l));
    report(engine, 6, workloads::multi_gets(db.as_ref(), 100, l));
    let zipf = Zipf::new(l.records);
    let mixes =
        [Mix::ReadUpdate(0.5), Mix::ReadUpdate(0.95), Mix::ReadUpdate(1.0), Mix::ReadModifyWrite];
    for (m, mix) in mixes.into_iter().enumerate() {
        for threads in [1, 2] {
            let rate = workloads::ycsb(db.as_ref(), mix, threads, l, &zipf);
            report(engine, 7 + m * 2 + (threads as usize - 1), rate);
        }
    }
    if engine == "bitcask" {
        let n = l.ops.min(2_000_000);
        report(engine, 15, engines::write_loop(dir.path(), n, 16 + 100 + 7));
    }
    report(engine, 16, per_key);
}

/// Anonymous resident memory of this process (Linux `RssAnon`): heap, not the page cache
/// that mapped files show as resident. 0 where unknown.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("RssAnon:")).unwrap_or("0 kB");
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap_or(0) * 1024
}

type Results = BTreeMap<(String, String), Vec<f64>>;

fn run_child(engine: &str, args: &[String], results: &mut Results) {
    eprintln!("compare: {engine} ...");
    let exe = std::env::current_exe().expect("exe");
    let mut cmd = Command::new(exe);
    cmd.arg("--child").arg(engine);
    for flag in ["--records", "--ops", "--cap"] {
        if let Some(v) = arg(args, flag) {
            cmd.arg(flag).arg(v);
        }
    }
    let out = cmd.output().expect("run child");
    assert!(out.status.success(), "{engine}: {}", String::from_utf8_lossy(&out.stderr));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let ["RESULT", e, phase, rate] = f[..] {
            let rate: f64 = rate.parse().expect("rate");
            results.entry((e.to_string(), phase.to_string())).or_default().push(rate);
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn print_table(engines: &[String], results: &Results, out: Option<&str>) {
    let mut table =
        format!("| workload | {} |\n|---|{}\n", engines.join(" | "), "---:|".repeat(engines.len()));
    let mut tsv = format!("workload\t{}\n", engines.join("\t"));
    for phase in PHASES {
        let cells: Vec<Option<f64>> = engines
            .iter()
            .map(|e| results.get(&(e.clone(), phase.to_string())).map(|v| median(v)))
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let memory = phase.starts_with("heap");
        let fmt = |c: &Option<f64>| match c {
            Some(x) if memory => format!("{x:.0}"),
            Some(x) => format!("{:.3}", x / 1e6),
            None => "—".into(),
        };
        table +=
            &format!("| {phase} | {} |\n", cells.iter().map(fmt).collect::<Vec<_>>().join(" | "));
        let raw: Vec<String> =
            cells.iter().map(|c| c.map_or(String::new(), |x| x.to_string())).collect();
        tsv += &format!("{phase}\t{}\n", raw.join("\t"));
    }
    println!("{table}\nM operations per second (heap row: anonymous resident bytes per key after the load; LMDB and redb keep their index in the mapped or cached file instead).");
    for e in engines {
        println!("- {e}: {}", engines::setup(e));
    }
    if let Some(path) = out {
        std::fs::write(path, tsv).expect("write results");
        eprintln!("compare: wrote {path}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(engine) = arg(&args, "--child") {
        child(&engine, limits(&args));
        return;
    }
    let engines: Vec<String> = arg(&args, "--engines").map_or_else(
        || engines::ALL.iter().map(|s| s.to_string()).collect(),
        |s| s.split(',').map(str::to_string).collect(),
    );
    let rounds: u64 = arg(&args, "--rounds").map_or(1, |s| s.parse().expect("a number"));
    let mut results = Results::new();
    for _ in 0..rounds {
        for e in &engines {
            run_child(e, &args, &mut results);
        }
    }
    print_table(&engines, &results, arg(&args, "--out").as_deref());
}
