//! Builds the C and C++ test programs with warnings as errors and sanitizers, links them
//! against the library cargo just built, and runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds libbitcask.a and libbitcask.so (`cargo test` itself builds only the rlib), once,
/// in a target directory of their own beside this test's (so no build lock is shared), and
/// returns the directory holding them.
fn lib_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test binary>
        let target = exe.ancestors().nth(3).unwrap().to_path_buf();
        let target_dir = target.join("c-api");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(Command::new(cargo)
            .args(["build", "--quiet", "-p", "bitcask-ffi", "--lib", "--target-dir"])
            .arg(&target_dir)
            .current_dir(crate_dir()));
        let dir = target_dir.join("debug");
        assert!(dir.join("libbitcask.a").exists(), "libbitcask.a not found in {}", dir.display());
        dir
    })
    .clone()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    for marker in ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"] {
        assert!(!stderr.contains(marker), "{cmd:?} reported a sanitizer error:\n{stderr}");
    }
    stdout
}

const SANITIZE: &[&str] = &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"];
const WARN: &[&str] = &["-Wall", "-Wextra", "-Werror", "-pedantic"];

fn compile(compiler: &str, std: &str, src: &str, out: &Path, link: &[String]) {
    let include = crate_dir().join("../include");
    let mut cmd = Command::new(compiler);
    cmd.arg(format!("-std={std}"))
        .args(WARN)
        .args(SANITIZE)
        .arg("-I")
        .arg(&include)
        .arg(crate_dir().join(src))
        .arg("-o")
        .arg(out)
        .args(link);
    run(&mut cmd);
}

fn static_link() -> Vec<String> {
    let mut v = vec![lib_dir().join("libbitcask.a").display().to_string()];
    v.extend(NATIVE_LIBS.iter().map(|s| s.to_string()));
    v
}

fn exec(bin: &Path, arg: &Path) -> String {
    // cargo test puts target/<profile> on LD_LIBRARY_PATH, which beats the binary's RUNPATH:
    // a stale libbitcask.so there would be tested instead of the one just built.
    run(Command::new(bin)
        .env_remove("LD_LIBRARY_PATH")
        .arg(arg)
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"))
}

#[test]
fn c11_program_calls_every_function_under_sanitizers() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("api_test");
    compile("gcc", "c11", "tests/c/api_test.c", &bin, &static_link());
    let scratch = t.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    assert!(exec(&bin, &scratch).contains("c api test: ok"));
}

#[test]
fn cpp17_program_calls_every_function_under_sanitizers() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("api_test_cpp");
    compile("g++", "c++17", "tests/c/api_test.cpp", &bin, &static_link());
    let scratch = t.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    assert!(exec(&bin, &scratch).contains("c++ api test: ok"));
}

#[test]
fn pthreads_share_one_handle() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("threads_test");
    let mut link = static_link();
    link.push("-pthread".into());
    compile("gcc", "c11", "tests/c/threads_test.c", &bin, &link);
    assert!(exec(&bin, &t.path().join("store")).contains("threads test: ok"));
}

#[test]
fn the_shared_library_links_and_runs() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("api_test_shared");
    let dir = lib_dir();
    let link = vec![
        format!("-L{}", dir.display()),
        format!("-Wl,-rpath,{}", dir.display()),
        "-lbitcask".to_string(),
    ];
    compile("gcc", "c11", "tests/c/api_test.c", &bin, &link);
    let ldd = run(Command::new("ldd").arg(&bin));
    assert!(ldd.contains("libbitcask.so"), "not dynamically linked:\n{ldd}");
    let scratch = t.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    assert!(exec(&bin, &scratch).contains("c api test: ok"));
}

/// The `bc_*` function names declared in the header.
fn header_functions() -> std::collections::BTreeSet<String> {
    let header = std::fs::read_to_string(crate_dir().join("../include/bitcask.h")).unwrap();
    header
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && l.contains('('))
        .filter_map(|l| {
            let before = &l[..l.find('(')?];
            let name = before.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next()?;
            name.starts_with("bc_").then(|| name.to_string())
        })
        .collect()
}

#[test]
fn exported_symbols_match_the_header() {
    let declared = header_functions();
    assert!(declared.len() >= 25, "{declared:?}");
    let so = lib_dir().join("libbitcask.so");
    let nm = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    let exported: std::collections::BTreeSet<String> = nm
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "T" && name.starts_with("bc_")).then(|| name.to_string())
        })
        .collect();
    assert_eq!(exported, declared);
}

#[test]
fn pkg_config_install_builds_the_example() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("prefix");
    let root = crate_dir().join("..");
    run(Command::new("make")
        .current_dir(&root)
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("LIBDIR_SRC={}", lib_dir().display()))
        .arg("NO_BUILD=1"));
    for f in [
        "include/bitcask.h",
        "lib/libbitcask.a",
        "lib/libbitcask.so",
        "lib/pkgconfig/bitcask.pc",
        "lib/pkgconfig/bitcask-static.pc",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }
    let pc_path = prefix.join("lib/pkgconfig");
    let flags = run(Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", &pc_path)
        .args(["--cflags", "--libs", "bitcask"]));
    let bin = t.path().join("hello");
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11"]).args(WARN).arg(crate_dir().join("examples/hello.c")).arg("-o").arg(&bin);
    cmd.args(flags.split_whitespace());
    run(&mut cmd);
    // The binary finds the library through the rpath the .pc file adds: no LD_LIBRARY_PATH.
    let out =
        run(Command::new(&bin).arg(t.path().join("hello-store")).env_remove("LD_LIBRARY_PATH"));
    assert!(out.starts_with("hello, bitcask (bitcask "), "{out}");
    // Static linking: the README's recipe, `pkg-config --cflags --libs bitcask-static`.
    let flags = run(Command::new("pkg-config").env("PKG_CONFIG_PATH", &pc_path).args([
        "--cflags",
        "--libs",
        "bitcask-static",
    ]));
    let bin = t.path().join("hello-static");
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11"]).arg(crate_dir().join("examples/hello.c")).arg("-o").arg(&bin);
    cmd.args(flags.split_whitespace());
    run(&mut cmd);
    let ldd = run(Command::new("ldd").arg(&bin));
    assert!(!ldd.contains("libbitcask"), "not statically linked:\n{ldd}");
    assert!(
        run(Command::new(&bin).arg(t.path().join("static-store"))).starts_with("hello, bitcask")
    );
}
