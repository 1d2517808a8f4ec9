//! Test kit: start the real `bitcask-server` binary on a free loopback port, talk to it
//! with a raw RESP client (exact reply texts) or the `redis` crate, stop or kill it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    /// The flags it was started with (for restarts).
    pub args: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bitcask-server"))
}

impl Server {
    /// A server on a new temporary store with extra flags.
    pub fn start(args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut s = Server::start_in(&dir, args);
        s._tmp = Some(tmp);
        s
    }

    /// A server on the store in `dir` (created if missing).
    pub fn start_in(dir: &Path, args: &[&str]) -> Server {
        Server::start_on(dir, 0, args)
    }

    /// A server on `dir` and `port` (0: any free one).
    pub fn start_on(dir: &Path, port: u16, args: &[&str]) -> Server {
        let mut child = bin()
            .arg("--dir")
            .arg(dir)
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("the server exited before listening: {seen:?} {:?}", child.wait());
            };
            if let Some(rest) = line.strip_prefix("bitcask-server: listening on ") {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse().unwrap();
            }
            seen.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            port,
            dir: dir.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            _tmp: None,
        }
    }

    /// The server's resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Writes `n` keys `key:0`.. with `size`-byte values, through pipelined MSETs.
    pub fn fill(&self, n: usize, size: usize) {
        let mut c = self.raw();
        let value = vec![b'v'; size];
        let mut i = 0;
        while i < n {
            let end = (i + 1000).min(n);
            let keys: Vec<Vec<u8>> = (i..end).map(|j| format!("key:{j}").into_bytes()).collect();
            let mut args: Vec<&[u8]> = vec![b"MSET"];
            for k in &keys {
                args.push(k);
                args.push(&value);
            }
            assert_eq!(c.cmd_bytes(&args), Reply::ok());
            i = end;
        }
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Sends SIGTERM and waits: the exit status code (the store stays).
    pub fn terminate(mut self) -> (Option<i32>, Option<tempfile::TempDir>) {
        signal(&self.child, libc::SIGTERM);
        (wait_for(&mut self.child), self._tmp.take())
    }

    /// Kills the process with SIGKILL (no chance to sync or close); the store stays.
    pub fn kill9(mut self) -> Option<tempfile::TempDir> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self._tmp.take()
    }

    /// Stops with `stop` (which returns the exit code); the store stays.
    pub fn stop_with(
        mut self,
        stop: impl FnOnce(&mut Child, u16) -> Option<i32>,
    ) -> (Option<i32>, Option<tempfile::TempDir>) {
        let code = stop(&mut self.child, self.port);
        (code, self._tmp.take())
    }

    /// Stops with SIGTERM (which must exit 0) and starts again on the same store, port and
    /// flags; the temporary directory goes with it.
    pub fn restart(self) -> Server {
        let (dir, port, args) = (self.dir.clone(), self.port, self.args.clone());
        let (code, tmp) = self.terminate();
        assert_eq!(code, Some(0), "the server did not stop cleanly");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut s = Server::restart_killed(&dir, port, &args);
        s._tmp = tmp;
        s
    }

    /// Restarts on the same store and port.
    pub fn restart_killed(dir: &Path, port: u16, args: &[&str]) -> Server {
        // The port may linger for a moment after a kill.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => {
                    drop(l);
                    break;
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("port {port} stays busy: {e}"),
            }
        }
        Server::start_on(dir, port, args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Waits up to 30 s for `child` to exit; its status code.
pub fn wait_for(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `write_all` that reports a broken connection instead of panicking.
pub trait WriteAllOk {
    fn write_all_ok(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

impl WriteAllOk for TcpStream {
    fn write_all_ok(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }
}

/// A reply, as the raw client reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    /// A RESP3 push (pub/sub messages and confirmations).
    Push(Vec<Reply>),
    NilArray,
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Verbatim(String),
    Double(String),
    Bool(bool),
    BigNumber(String),
}

impl Reply {
    pub fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    pub fn err(s: &str) -> Reply {
        Reply::Error(s.into())
    }

    /// The error text, or a panic.
    pub fn error_text(&self) -> &str {
        match self {
            Reply::Error(e) => e,
            r => panic!("not an error: {r:?}"),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Simple(s) | Reply::Verbatim(s) | Reply::Double(s) => s.clone(),
            r => panic!("not text: {r:?}"),
        }
    }

    pub fn items(&self) -> Vec<Reply> {
        match self {
            Reply::Array(v) | Reply::Set(v) => v.clone(),
            r => panic!("not an array: {r:?}"),
        }
    }
}

/// A raw RESP connection (speaks what the server sends back, RESP2 or RESP3).
pub struct Raw {
    pub stream: BufReader<TcpStream>,
}

impl Raw {
    /// A raw client over a stream already connected.
    pub fn from_stream(s: TcpStream) -> Raw {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Raw { stream: BufReader::new(s) }
    }

    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Raw { stream: BufReader::new(s) }
    }

    /// Encodes `args` as a multibulk frame.
    pub fn frame(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).unwrap();
    }

    /// Sends one command and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&Raw::frame(args));
        self.read()
    }

    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        self.stream.read_line(&mut l).ok()?;
        if !l.ends_with("\r\n") {
            return None;
        }
        l.truncate(l.len() - 2);
        Some(l)
    }

    /// Whether the server closed the connection (EOF before any byte).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }

    pub fn read(&mut self) -> Reply {
        self.try_read().expect("a whole reply before the connection ended")
    }

    /// One reply, or `None` when the connection broke (the server died).
    pub fn try_read(&mut self) -> Option<Reply> {
        let l = self.line()?;
        let (kind, rest) = l.split_at(1);
        let n = || rest.parse::<i64>().unwrap();
        Some(match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(n()),
            "," => Reply::Double(rest.into()),
            "#" => Reply::Bool(rest == "t"),
            "(" => Reply::BigNumber(rest.into()),
            "_" => Reply::Nil,
            "$" | "=" if n() < 0 => Reply::Nil,
            "$" | "=" => {
                let mut b = vec![0u8; n() as usize + 2];
                self.stream.read_exact(&mut b).ok()?;
                b.truncate(b.len() - 2);
                if kind == "=" {
                    Reply::Verbatim(String::from_utf8(b[4..].to_vec()).unwrap())
                } else {
                    Reply::Bulk(b)
                }
            }
            "*" if n() < 0 => Reply::NilArray,
            "*" => Reply::Array((0..n()).map(|_| self.try_read()).collect::<Option<_>>()?),
            ">" => Reply::Push((0..n()).map(|_| self.try_read()).collect::<Option<_>>()?),
            "~" => Reply::Set((0..n()).map(|_| self.try_read()).collect::<Option<_>>()?),
            "%" => Reply::Map(
                (0..n())
                    .map(|_| Some((self.try_read()?, self.try_read()?)))
                    .collect::<Option<_>>()?,
            ),
            _ => panic!("unknown reply type {l:?}"),
        })
    }
}

/// Fails loudly when a tool the test needs is missing (`make test` installs them).
pub fn need(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|p| p.join(tool)).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: run the tests with `make test`, which installs redis-tools, redis-server and nutcracker")
    })
}

/// Runs a Python script (redis-py installed by `make test`): what it printed, trimmed; a
/// failing script fails the test with its stderr.
pub fn python(script: &str) -> String {
    let o = Command::new("python3").args(["-c", script]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("No module named 'redis'"),
        "redis-py is not installed: run the tests with `make test`"
    );
    assert!(o.status.success(), "{err}");
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// A real `redis-server` on a free loopback port, without persistence: the reference a
/// test compares replies with. Stopped (by PID) when dropped.
pub struct Reference {
    child: Child,
    pub port: u16,
}

impl Reference {
    pub fn start() -> Reference {
        let bin = need("redis-server");
        // A free port: bind one, release it, start redis-server on it (retried if taken).
        for _ in 0..20 {
            let port =
                std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                .args(["--appendonly", "no", "--daemonize", "no", "--dir", "/tmp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(_exited) = child.try_wait().unwrap() {
                    break;
                }
                if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                    // Whoever answers must be this redis-server: another test's server may
                    // have taken the port first.
                    let mut c = Raw::from_stream(s);
                    let info = c.cmd(&["INFO", "server"]);
                    let pid = format!("process_id:{}\r\n", child.id());
                    if matches!(&info, Reply::Bulk(b) if String::from_utf8_lossy(b).contains(&pid))
                    {
                        return Reference { child, port };
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bytes of every file under `dir`.
pub fn disk_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() { disk_bytes(&e.path()) } else { m.len() };
    }
    n
}

/// A flat reply of alternating names and values (HGETALL, ZRANGE WITHSCORES) as pairs of
/// texts.
pub fn text_pairs(r: Reply) -> Vec<(String, String)> {
    let items: Vec<String> = r.items().iter().map(Reply::text).collect();
    items.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}
