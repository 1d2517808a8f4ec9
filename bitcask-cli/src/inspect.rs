//! `bitcask inspect FILE`: decodes a datafile or hint file record by record.

use std::path::Path;

use bitcask_format::{
    decode_entry, Entry, FileHeader, FileKind, HintReader, Record, FILE_HEADER_LEN,
};

use crate::codec::{escape, Codec};
use crate::failure::{CmdResult, Failure, EXIT_CORRUPTION, EXIT_OTHER};
use crate::flags::Global;
use crate::out::Out;

fn show(enc: Codec, b: &[u8]) -> String {
    match enc {
        Codec::Raw => format!("\"{}\"", escape(b)),
        _ => String::from_utf8_lossy(&enc.encode(b)).into_owned(),
    }
}

fn record_line(enc: Codec, offset: u64, len: usize, r: &Record<'_>) -> String {
    let kind = if r.tombstone { "delete" } else { "put" };
    let mut s = format!("{offset:>10} {len:>8}  {kind:<6} key={}", show(enc, r.key));
    if !r.tombstone {
        s.push_str(&format!(" value_len={}", r.value.len()));
    }
    if let Some(e) = r.expiry {
        s.push_str(&format!(" expires_at_ms={e}"));
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
    /// The records of a datafile; false when it is damaged.
    fn datafile(&mut self, buf: &[u8]) -> std::io::Result<bool> {
        self.out.text("    offset      len  record")?;
        let mut pos = FILE_HEADER_LEN;
        while pos < buf.len() && self.shown < self.limit {
            match decode_entry(&buf[pos..]) {
                Ok((Entry::Record(r), len)) => {
                    self.out.text(&record_line(self.enc, pos as u64, len, &r))?;
                    self.shown += 1;
                    pos += len;
                }
                Ok((Entry::Batch(b), len)) => {
                    self.out.text(&format!("{pos:>10} {len:>8}  batch of {} records", b.count))?;
                    for (at, l, r) in b.records() {
                        let at = (pos + b.body_offset + at) as u64;
                        self.out.text(&format!("  {}", record_line(self.enc, at, l, &r)))?;
                        self.shown += 1;
                    }
                    pos += len;
                }
                Err(e) => {
                    let what = if e.is_truncated() {
                        "torn record (the file ends inside it)".to_string()
                    } else {
                        e.kind.to_string()
                    };
                    self.out.text(&format!(
                        "{pos:>10}           damaged: {what}; {} bytes not decoded",
                        buf.len() - pos
                    ))?;
                    return Ok(false);
                }
            }
        }
        if pos >= buf.len() {
            self.out.text(&format!("end: {} records, clean end at offset {pos}", self.shown))?;
        }
        Ok(true)
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
                s.push_str(&format!(" expires_at_ms={x}"));
            }
            self.out.text(&s)?;
            self.shown += 1;
        }
        Ok(true)
    }
}
