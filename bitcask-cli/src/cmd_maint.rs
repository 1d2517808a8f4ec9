//! The maintenance commands: stats, merge, check, repair.

use std::io::{self, BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::SystemTime;

use crate::codec::escape;
use crate::failure::{context, usage, CmdResult, EXIT_CORRUPTION, EXIT_OTHER};
use crate::flags::Global;
use crate::out::{bar, count, size, Out};
use crate::store::{dir, open_to_read, open_to_write};

/// `stats [--json]`.
pub fn stats(g: &Global, json: bool) -> CmdResult {
    let db = open_to_read(g)?;
    let s = db.stats();
    let mut out = Out::new();
    if json {
        let files: Vec<serde_json::Value> = s
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "file_id": f.file_id.to_string(), "active": f.active, "size": f.size,
                    "live_keys": f.live_keys, "live_bytes": f.live_bytes,
                    "dead_keys": f.dead_keys, "dead_bytes": f.dead_bytes,
                    "fragmentation": f.fragmentation(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "keys": s.keys, "files": files, "live_bytes": s.live_bytes, "dead_bytes": s.dead_bytes,
            "disk_bytes": s.disk_bytes, "hint_bytes": s.hint_bytes,
            "keydir_bytes": s.keydir_bytes, "fragmentation": s.fragmentation(),
        });
        out.text(&v.to_string())?;
    } else {
        out.text(&format!("keys          {}", s.keys))?;
        out.text(&format!("files         {}", s.files.len()))?;
        out.text(&format!(
            "disk use      {} (datafiles and hint files)",
            size(s.disk_bytes + s.hint_bytes)
        ))?;
        out.text(&format!("keydir memory {}", size(s.keydir_bytes)))?;
        out.text(&format!("live bytes    {}", size(s.live_bytes)))?;
        out.text(&format!(
            "dead bytes    {} ({:.1}%)",
            size(s.dead_bytes),
            s.fragmentation() * 100.0
        ))?;
        out.text("")?;
        out.text("file              size        live keys  dead keys  fragmentation")?;
        for f in &s.files {
            out.text(&format!(
                "{}{} {:>10} {:>10} {:>10} {:>8.1}%",
                f.file_id,
                if f.active { "*" } else { " " },
                size(f.size),
                f.live_keys,
                f.dead_keys,
                f.fragmentation() * 100.0
            ))?;
        }
        out.text("(* the active file, which receives writes)")?;
    }
    out.flush()?;
    Ok(0)
}

/// `merge`, with a progress bar on a terminal.
pub fn merge(g: &Global) -> CmdResult {
    let db = open_to_write(g)?;
    let s = db.stats();
    if s.dead_bytes == 0 {
        note!(
            "nothing to reclaim: no dead records in {}; nothing rewritten",
            count(s.files.len() as u64, "file")
        );
        return Ok(0);
    }
    let pb = bar(0, "merge");
    // The engine reports every record; the bar moves every MiB (drawing is not free).
    let mut shown = None;
    let r = db
        .merge_with_progress(|p| {
            if shown.is_none_or(|s| p.bytes_done >= s + (1 << 20) || p.bytes_done == p.bytes_total)
            {
                shown = Some(p.bytes_done);
                pb.set_length(p.bytes_total);
                pb.set_position(p.bytes_done);
            }
        })
        .map_err(context("merge".into()))?;
    pb.finish_and_clear();
    note!(
        "merged {} into {} in {:.2?}: read {}, wrote {}, reclaimed {}",
        count(r.files_in as u64, "file"),
        r.files_out,
        r.duration,
        size(r.bytes_read),
        size(r.bytes_written),
        size(r.bytes_reclaimed)
    );
    db.close()?;
    Ok(0)
}

/// `check`: every record and hint file verified.
pub fn check(g: &Global) -> CmdResult {
    let d = dir(g)?;
    let pb = bar(0, "check");
    let report = bitcask_core::tools::check(d, |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(context(format!("checking {}", d.display())))?;
    pb.finish_and_clear();
    let mut out = Out::new();
    for f in &report.files {
        for p in &f.problems {
            out.text(&format!(
                "{}: offset {}, {} bytes: {}",
                f.path.display(),
                p.offset,
                p.len,
                p.detail
            ))?;
        }
        for k in &f.damaged_keys {
            out.text(&format!("{}: damaged record of key {}", f.path.display(), escape(k)))?;
        }
    }
    for q in &report.quarantined {
        out.text(&format!(
            "{}: {} set aside by an earlier open from {}.data at offset {} (not part of the store)",
            q.path.display(),
            crate::out::size(q.len),
            q.file,
            q.offset
        ))?;
    }
    out.flush()?;
    let records: u64 = report
        .files
        .iter()
        .filter(|f| f.kind == bitcask_core::tools::CheckedKind::Data)
        .map(|f| f.records)
        .sum();
    if report.is_clean() {
        note!(
            "ok: {}, {} verified",
            count(report.files.len() as u64, "file"),
            count(records, "record")
        );
        Ok(0)
    } else {
        note!(
            "damage found: {} problems in {} of {} files ({} valid records); `bitcask repair` can salvage them",
            report.problem_count(),
            report.files.iter().filter(|f| !f.problems.is_empty()).count(),
            report.files.len(),
            records
        );
        Ok(EXIT_CORRUPTION)
    }
}

/// Whether to go on: `--yes`, or a "y" typed at the terminal.
fn confirm(yes: bool) -> Result<bool, crate::failure::Failure> {
    if yes {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        return Err(usage("repair needs confirmation: pass --yes"));
    }
    {
        use std::io::Write;
        let _ = write!(io::stderr(), "rewrite these files? [y/N] ");
    }
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `repair [--yes] [--backup DIR]`.
pub fn repair(g: &Global, yes: bool, backup: Option<PathBuf>) -> CmdResult {
    let d = dir(g)?;
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let backup = backup.unwrap_or_else(|| d.join(format!("repair-backup-{stamp}")));
    let mut refusal = None;
    // The lock is taken before anything is announced; the question is asked under it.
    let done = bitcask_core::tools::repair_confirmed(d, &backup, |report| {
        note!("damaged files:");
        for f in report.files.iter().filter(|f| !f.problems.is_empty()) {
            let lost: u64 = f.problems.iter().map(|p| p.len).sum();
            note!(
                "  {} ({}, {})",
                f.path.display(),
                count(f.problems.len() as u64, "problem"),
                count(lost, "byte")
            );
        }
        note!("originals will be moved to {}", backup.display());
        match confirm(yes) {
            Ok(go) => go,
            Err(f) => {
                refusal = Some(f);
                false
            }
        }
    })
    .map_err(context(format!("repairing {}", d.display())))?;
    if let Some(f) = refusal {
        return Err(f);
    }
    let Some(r) = done else {
        note!("nothing changed");
        return Ok(EXIT_OTHER);
    };
    if r.files.is_empty() {
        note!("nothing to repair: every record and hint file is valid");
        return Ok(0);
    }
    let mut out = Out::new();
    for f in &r.files {
        out.text(&format!(
            "{}: kept {} records; original (with the damaged bytes) in {}",
            f.path.display(),
            f.records_kept,
            f.backup.display()
        ))?;
        for p in &f.lost {
            out.text(&format!("  lost offset {}, {} bytes: {}", p.offset, p.len, p.detail))?;
        }
    }
    let rb = &r.rollback;
    for (keys, what) in [
        (&rb.rolled_back, "lost its newest value: it now reads an older value, or nothing"),
        (&rb.uncertain, "(as its damaged record claims) lost its newest record: a lost value reads an older one, a lost delete lets an older value back"),
        (
            &rb.deletes_kept,
            "lost its delete, which the hint named: written again, it stays deleted",
        ),
    ] {
        for k in keys {
            out.text(&format!("  key {} {what}", escape(k)))?;
        }
    }
    out.flush()?;
    note!(
        "repaired {}; {} could not be saved",
        count(r.files.len() as u64, "file"),
        count(r.bytes_lost(), "byte")
    );
    Ok(0)
}
