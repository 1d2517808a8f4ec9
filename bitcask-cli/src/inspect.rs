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

pub fn inspect(g: &Global, file: &Path, limit: Option<usize>) -> CmdResult {
    let buf = std::fs::read(file).map_err(|e| Failure {
        code: EXIT_OTHER,
        msg: format!("reading {}: {e}", file.display()),
    })?;
    let header = FileHeader::decode(&buf).map_err(|e| Failure {
        code: EXIT_CORRUPTION,
        msg: format!("{}: not a readable bitcask file: {e}", file.display()),
    })?;
    let enc = g.codec();
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Out::new();
    let kind = match header.kind {
        FileKind::Data => "datafile",
        FileKind::Hint => "hint file",
    };
    out.text(&format!(
        "{}: {kind}, format version {}, file id {:016x}, {} bytes",
        file.display(),
        header.version,
        header.file_id,
        buf.len()
    ))?;
    let mut shown = 0usize;
    let mut damaged = false;
    match header.kind {
        FileKind::Data => {
            out.text("    offset      len  record")?;
            let mut pos = FILE_HEADER_LEN;
            while pos < buf.len() && shown < limit {
                match decode_entry(&buf[pos..]) {
                    Ok((Entry::Record(r), len)) => {
                        out.text(&record_line(enc, pos as u64, len, &r))?;
                        shown += 1;
                        pos += len;
                    }
                    Ok((Entry::Batch(b), len)) => {
                        out.text(&format!("{pos:>10} {len:>8}  batch of {} records", b.count))?;
                        for (at, l, r) in b.records() {
                            out.text(&format!(
                                "  {}",
                                record_line(enc, (pos + b.body_offset + at) as u64, l, &r)
                            ))?;
                            shown += 1;
                        }
                        pos += len;
                    }
                    Err(e) => {
                        let what = if e.is_truncated() {
                            "torn record (the file ends inside it)".to_string()
                        } else {
                            e.kind.to_string()
                        };
                        out.text(&format!(
                            "{pos:>10}           damaged: {what}; {} bytes not decoded",
                            buf.len() - pos
                        ))?;
                        damaged = true;
                        break;
                    }
                }
            }
            if !damaged && pos >= buf.len() {
                out.text(&format!("end: {shown} records, clean end at offset {pos}"))?;
            }
        }
        FileKind::Hint => match HintReader::new(&buf, header.file_id, u64::MAX) {
            Err(e) => {
                out.text(&format!("damaged: {e}"))?;
                damaged = true;
            }
            Ok(reader) => {
                let t = reader.trailer();
                out.text(&format!(
                    "trailer: {} entries describing the first {} bytes of the datafile",
                    t.count, t.data_len
                ))?;
                out.text("    offset      len  entry")?;
                for e in reader {
                    if shown >= limit {
                        break;
                    }
                    match e {
                        Ok(h) => {
                            let kind = if h.tombstone { "delete" } else { "put" };
                            let mut s = format!(
                                "{:>10} {:>8}  {kind:<6} key={}",
                                h.offset,
                                h.len,
                                show(enc, h.key)
                            );
                            if let Some(x) = h.expiry {
                                s.push_str(&format!(" expires_at_ms={x}"));
                            }
                            out.text(&s)?;
                            shown += 1;
                        }
                        Err(e) => {
                            out.text(&format!("damaged: {e}"))?;
                            damaged = true;
                            break;
                        }
                    }
                }
            }
        },
    }
    out.flush()?;
    Ok(if damaged { EXIT_CORRUPTION } else { 0 })
}
