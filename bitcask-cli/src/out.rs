//! Output helpers: stdout that treats a closed pipe as a quiet end, and progress bars that
//! appear only on a terminal.

use std::io::{self, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

/// Buffered stdout.
pub struct Out {
    w: io::BufWriter<io::StdoutLock<'static>>,
}

impl Out {
    pub fn new() -> Out {
        Out { w: io::BufWriter::with_capacity(64 << 10, io::stdout().lock()) }
    }

    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)
    }

    pub fn line(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.w.write_all(b"\n")
    }

    pub fn text(&mut self, s: &str) -> io::Result<()> {
        self.line(s.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The same buffered stdout as a plain writer.
    pub fn new_writer() -> impl Write {
        Out::new().w
    }
}

/// A progress bar over `total` bytes, drawn on stderr only when stderr is a terminal.
pub fn bar(total: u64, what: &str) -> ProgressBar {
    styled_bar(total, what, "{msg:>8} [{bar:40}] {bytes}/{total_bytes} ({eta})")
}

/// A progress bar over `total` operations (counted, not sized).
pub fn ops_bar(total: u64, what: &str) -> ProgressBar {
    styled_bar(total, what, "{msg:>8} [{bar:40}] {human_pos}/{human_len} ops ({eta})")
}

fn styled_bar(total: u64, what: &str, template: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// "1 file", "2 files": a count with its noun, singular or plural.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A human-readable byte count.
pub fn size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
