//! The layout rules of docs/architecture.md, checked on the sources of every crate (the
//! format, the core, the collections, the C ABI, the CLI, the server): no function longer than 80 lines (in
//! the tests too), and no import circle between the modules of a crate (a module uses only
//! modules below it; a name the crate root re-exports counts as a use of its module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 80;

const CRATES: [&str; 8] = [
    "bitcask-format",
    "bitcask-core",
    "bitcask-collections",
    "bitcask-ffi",
    "bitcask-cli",
    "bitcask-server",
    "bitcask-cluster",
    "bitcask-testkit",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Each crate's `src/`.
fn crates() -> Vec<PathBuf> {
    CRATES.iter().map(|c| root().join(c).join("src")).collect()
}

/// Each crate's `src/` and `tests/`, and the benches and examples.
fn all_code() -> Vec<PathBuf> {
    let dirs = ["src", "tests", "benches", "examples"];
    let all = CRATES.iter().flat_map(|c| dirs.iter().map(move |d| root().join(c).join(d)));
    all.filter(|p| p.is_dir()).collect()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line without string literals and comments, for counting braces.
fn code(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '/' if !in_str && chars.peek() == Some(&'/') => break,
            '\'' if !in_str => {
                // A char literal like '{' (a lifetime has no closing quote nearby).
                let rest: String = chars.clone().take(3).collect();
                if rest.len() >= 2 && rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            _ if !in_str => out.push(c),
            _ => {}
        }
    }
    out
}

/// (name, first line, length) of every function with a body.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let Some(at) = t.find("fn ") else { continue };
        let head = &t[..at];
        let is_fn = head.split_whitespace().all(|w| {
            ["pub", "pub(crate)", "pub(super)", "unsafe", "extern", "\"C\"", "const", "async"]
                .contains(&w)
        });
        if !is_fn || t.starts_with("//") {
            continue;
        }
        let name: String =
            t[at + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let (mut depth, mut opened) = (0i32, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            let c = code(l);
            if !opened && c.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            for ch in c.chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth == 0 {
                out.push((name.clone(), i + 1, j - i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_80_lines() {
    let mut long = Vec::new();
    for dir in all_code() {
        let mut files = Vec::new();
        sources(&dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (name, line, len) in functions(&text) {
                if len > MAX_FN_LINES {
                    long.push(format!("{}:{line} {name}: {len} lines", f.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", long.join("\n"));
}

/// The names the crate root re-exports (`pub use module::{A, B}` in lib.rs), each with the
/// module it comes from: `crate::A` is a use of that module.
fn reexports(dir: &Path) -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(dir.join("lib.rs")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for stmt in lib.split("pub use ").skip(1) {
        let stmt = stmt.split(';').next().unwrap_or_default();
        let Some((module, names)) = stmt.split_once("::") else { continue };
        let module = module.trim().trim_start_matches("crate::").to_owned();
        for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !name.is_empty() && name != module {
                out.insert(name.to_owned(), module.clone());
            }
        }
    }
    out
}

/// The module a file is (its first path component under src/), and the modules it uses.
fn module_uses(dir: &Path, file: &Path) -> (String, BTreeSet<String>) {
    let rel = file.strip_prefix(dir).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    let module = first.trim_end_matches(".rs").to_owned();
    let text = std::fs::read_to_string(file).unwrap();
    // Unit tests may use anything; doc comments only name things.
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| [l, "\n"])
        .collect();
    let mut uses = BTreeSet::new();
    for part in text.split("crate::").skip(1) {
        let name: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            uses.insert(name);
        }
    }
    (module, uses)
}

/// Fails if some module of `graph` reaches itself again.
fn assert_no_circle(graph: &BTreeMap<String, BTreeSet<String>>, what: &str) {
    for (m, deps) in graph {
        let mut deps = deps.clone();
        deps.remove(m);
        // Every module reachable from m must not reach back to m.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = deps.into_iter().collect();
        while let Some(d) = stack.pop() {
            assert!(&d != m, "{what}: module {m} imports itself through a circle");
            if seen.insert(d.clone()) {
                stack.extend(graph.get(&d).into_iter().flatten().filter(|x| **x != d).cloned());
            }
        }
    }
}

/// The code of a file without its unit tests and comment lines.
fn plain_code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default().to_owned();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).flat_map(|l| [l, "\n"]).collect()
}

/// The first identifier of `s`.
fn ident(s: &str) -> String {
    s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The modules of a directory module (`dir/mod.rs` is `mod`, the others their file names)
/// that each of them uses: `super::x` and `use super::{x, y}` in a child, `x::` in mod.rs.
/// A name from `super::` that is not a sibling is an item of mod.rs.
fn sibling_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let siblings: BTreeSet<String> = files.iter().map(|f| stem(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let (me, text) = (stem(f), plain_code(f));
        let uses = graph.entry(me.clone()).or_default();
        if me == "mod" {
            for line in text.lines().filter(|l| l.trim_start().starts_with("use ")) {
                uses.insert(ident(line.trim_start().trim_start_matches("use ")));
            }
            continue;
        }
        for part in text.split("super::").skip(1) {
            let names: Vec<String> = match part.strip_prefix('{') {
                Some(group) => {
                    group.split('}').next().unwrap_or_default().split(',').map(ident).collect()
                }
                None => vec![ident(part)],
            };
            for n in names.into_iter().filter(|n| !n.is_empty()) {
                uses.insert(if siblings.contains(&n) { n } else { "mod".into() });
            }
        }
    }
    for deps in graph.values_mut() {
        deps.retain(|d| siblings.contains(d));
    }
    graph
}

/// Every directory under `dir` that is a module of several files.
fn directory_modules(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.join("mod.rs").exists() {
                out.push(p.clone());
            }
            directory_modules(&p, out);
        }
    }
}

#[test]
fn no_module_imports_in_a_circle() {
    for dir in crates() {
        let mut files = Vec::new();
        sources(&dir, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let names = reexports(&dir);
        for f in &files {
            let (m, uses) = module_uses(&dir, f);
            let uses = uses.into_iter().map(|u| names.get(&u).cloned().unwrap_or(u));
            graph.entry(m).or_default().extend(uses);
        }
        let modules: BTreeSet<String> = graph.keys().cloned().collect();
        for deps in graph.values_mut() {
            deps.retain(|d| modules.contains(d));
        }
        assert_no_circle(&graph, &dir.display().to_string());
        let mut nested = Vec::new();
        directory_modules(&dir, &mut nested);
        for d in nested {
            assert_no_circle(&sibling_graph(&d), &d.display().to_string());
        }
    }
}
