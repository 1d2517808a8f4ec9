//! `bitcask inspect FILE`: decodes a datafile or hint file record by record.

use std::path::Path;

use bitcask_format::{Entry, FileHeader, FileKind, HintReader, Record, Walked, FILE_HEADER_LEN};

use crate::codec::{escape, Codec};
use crate::failure::{CmdResult, Failure, EXIT_CORRUPTION, EXIT_OTHER};
use crate::flags::Global;
use crate::out::Out;

/// A key for display: quoted and escaped (or encoded), cut when long.
fn show(enc: Codec, b: &[u8]) -> String {
    match enc {
        Codec::Raw => format!("\"{}\"", escape(b)),
        _ => {
            let s = String::from_utf8_lossy(&enc.encode(b)).into_owned();
            if s.len() > 64 {
                format!("{}... ({} bytes)", &s[..64], b.len())
            } else {
                s
            }
        }
    }
}

/// Milliseconds since the Unix epoch as a UTC time, e.g. `2026-12-01T20:57:35.123Z`.
fn time(ms: u64) -> String {
    let (days, rem) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

fn record_line(enc: Codec, offset: u64, len: usize, r: &Record<'_>) -> String {
    let kind = if r.tombstone { "delete" } else { "put" };
    let mut s = format!("{offset:>10} {len:>8}  {kind:<6} key={}", show(enc, r.key));
    if !r.tombstone {
        s.push_str(&format!(" value_len={}", r.value.len()));
    }
    if let Some(e) = r.expiry {
        s.push_str(&format!(" expires={}", time(e)));
    }
    s
}

/// `inspect FILE [--limit N]`: decodes a datafile or hint file entry by entry; exit code 3
/// when it is damaged.
pub fn inspect(g: &Global, file: &Path, limit: Option<usize>) -> CmdResult {
    let buf = std::fs::read(file).map_err(|e| Failure {
        code: EXIT_OTHER,
        msg: format!("reading {}: {e}", file.display()),
    })?;
    let header = FileHeader::decode(&buf).map_err(|e| Failure {
        code: EXIT_CORRUPTION,
        msg: format!("{}: not a readable bitcask file: {e}", file.display()),
    })?;
    let mut p =
        Printer { out: Out::new(), enc: g.codec(), limit: limit.unwrap_or(usize::MAX), shown: 0 };
    let kind = match header.kind {
        FileKind::Data => "datafile",
        FileKind::Hint => "hint file",
    };
    p.out.text(&format!(
        "{}: {kind}, format version {}, file id {:016x}, {} bytes",
        file.display(),
        header.version,
        header.file_id,
        buf.len()
    ))?;
    let clean = match header.kind {
        FileKind::Data => p.datafile(&buf)?,
        FileKind::Hint => p.hint_file(&buf, header.file_id)?,
    };
    p.out.flush()?;
    Ok(if clean { 0 } else { EXIT_CORRUPTION })
}

/// Prints entries until the limit.
struct Printer {
    out: Out,
    enc: Codec,
    limit: usize,
    shown: usize,
}

impl Printer {
    /// The records of a datafile, resuming after each damaged region where the next valid
    /// entry starts (as `repair` does); false when it is damaged.
    fn datafile(&mut self, buf: &[u8]) -> std::io::Result<bool> {
        self.out.text("    offset      len  record")?;
        let (mut clean, mut end) = (true, FILE_HEADER_LEN);
        for step in bitcask_format::walk(buf, false) {
            if self.shown >= self.limit {
                break;
            }
            end = match step {
                Walked::Entry { offset, len, entry } => self.entry(offset, len, &entry)?,
                Walked::Damaged { offset, len, error } => {
                    let what = if error.is_truncated() && offset + len == buf.len() {
                        "torn record (the file ends inside it)".to_string()
                    } else {
                        error.kind.to_string()
                    };
                    let next = offset + len;
                    let line = format!(
                        "{offset:>10} {len:>8}  damaged: {what}; resuming at offset {next}"
                    );
                    self.out.text(&line)?;
                    clean = false;
                    next
                }
                Walked::UnusedTail { .. } => buf.len(),
            };
        }
        if end >= buf.len() {
            let how = if clean { "clean end" } else { "end" };
            self.out.text(&format!("end: {} records, {how} at offset {end}", self.shown))?;
        }
        Ok(clean)
    }

    /// Prints one valid entry; returns where it ends.
    fn entry(&mut self, pos: usize, len: usize, entry: &Entry<'_>) -> std::io::Result<usize> {
        match entry {
            Entry::Record(r) => {
                self.out.text(&record_line(self.enc, pos as u64, len, r))?;
                self.shown += 1;
            }
            Entry::Batch(b) => {
                self.out.text(&format!("{pos:>10} {len:>8}  batch of {} records", b.count))?;
                for (at, l, r) in b.records() {
                    let at = (pos + b.body_offset + at) as u64;
                    self.out.text(&format!("  {}", record_line(self.enc, at, l, &r)))?;
                    self.shown += 1;
                }
            }
            Entry::SyncPoint { durable_end } => {
                let line = format!("{pos:>10} {len:>8}  sync point: durable up to {durable_end}");
                self.out.text(&line)?;
            }
        }
        Ok(pos + len)
    }

    /// The entries of a hint file; false when it is damaged.
    fn hint_file(&mut self, buf: &[u8], file_id: u64) -> std::io::Result<bool> {
        let reader = match HintReader::new(buf, file_id, u64::MAX) {
            Ok(r) => r,
            Err(e) => {
                self.out.text(&format!("damaged: {e}"))?;
                return Ok(false);
            }
        };
        let t = reader.trailer();
        self.out.text(&format!(
            "trailer: {} entries describing the first {} bytes of the datafile",
            t.count, t.data_len
        ))?;
        self.out.text("    offset      len  entry")?;
        for e in reader.take(self.limit) {
            let h = match e {
                Ok(h) => h,
                Err(e) => {
                    self.out.text(&format!("damaged: {e}"))?;
                    return Ok(false);
                }
            };
            let kind = if h.tombstone { "delete" } else { "put" };
            let key = show(self.enc, h.key);
            let mut s = format!("{:>10} {:>8}  {kind:<6} key={key}", h.offset, h.len);
            if let Some(x) = h.expiry {
                s.push_str(&format!(" expires={}", time(x)));
            }
            self.out.text(&s)?;
            self.shown += 1;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_dates() {
        assert_eq!(super::time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(super::time(1_796_158_655_123), "2026-12-01T20:57:35.123Z");
    }
}
