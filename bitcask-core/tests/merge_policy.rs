//! Merge policy: the statistics merges keep exact, the triggers that select files and say
//! why, progress, and the background merge thread.

mod common;
use common::*;

use bitcask_core::{MergeOptions, MergeReason, Options};
use bitcask_testkit::SimStorage;

#[test]
fn stats_stay_exact_through_puts_deletes_and_merges() {
    let sim = SimStorage::new(10);
    let db = open(&sim, small(500));
    for i in 0..100usize {
        db.put(&key(i % 17), &[i as u8; 9]).unwrap();
        if i % 4 == 0 {
            db.delete(&key(i % 5)).unwrap();
        }
        if i % 30 == 29 {
            db.merge().unwrap();
        }
    }
    let s = db.stats();
    let live_keys: u64 = s.files.iter().map(|f| f.live_keys).sum();
    assert_eq!(live_keys, db.len() as u64);
    for f in &s.files {
        assert_eq!(f.live_bytes + f.dead_bytes + 20, f.size, "{f:?}");
    }
    drop(db);
    // Open rebuilds exactly the same figures.
    let db = open(&sim, small(500));
    let again = db.stats();
    let strip = |s: &bitcask_core::Stats| {
        s.files
            .iter()
            .map(|f| (f.file_id, f.live_keys, f.live_bytes, f.dead_keys, f.dead_bytes))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(&s));
}

#[test]
fn triggers_select_files_and_say_why() {
    let sim = SimStorage::new(11);
    let opts = Options {
        max_file_size: 400,
        merge: MergeOptions {
            fragmentation: 0.6,
            dead_bytes: 1 << 30,
            small_file: 0,
            total_dead_bytes: 1 << 30,
            ..MergeOptions::default()
        },
        ..Options::default()
    };
    let db = open(&sim, opts.clone());
    for i in 0..30 {
        db.put(&key(i), b"0123456789").unwrap();
    }
    assert!(db.needs_merge().is_empty());
    assert_eq!(db.merge_if_needed().unwrap(), None);
    // Overwrite the keys of the first file only.
    for i in 0..10 {
        db.put(&key(i), b"x").unwrap();
    }
    let plan = db.needs_merge();
    assert!(!plan.is_empty());
    for (_, why) in &plan.files {
        assert!(matches!(why[0], MergeReason::Fragmentation(f) if f >= 0.6));
    }
    let report = db.merge_if_needed().unwrap().unwrap();
    assert!(report.files_in >= 1);
    assert!(db.needs_merge().is_empty());
    // Small files: two or more below the threshold.
    let opts2 =
        Options { merge: MergeOptions { small_file: 1 << 20, ..opts.merge.clone() }, ..opts };
    drop(db);
    let db = open(&sim, opts2);
    let plan = db.needs_merge();
    assert!(plan.files.len() >= 2);
    assert!(plan
        .files
        .iter()
        .all(|(_, w)| w.iter().any(|r| matches!(r, MergeReason::SmallFile(_)))));
}

#[test]
fn progress_reaches_the_total() {
    let sim = SimStorage::new(12);
    let db = open(&sim, small(300));
    for i in 0..50 {
        db.put(&key(i), b"0123456789").unwrap();
    }
    let mut last = None;
    db.merge_with_progress(|p| {
        if let Some((done, _)) = last {
            assert!(p.bytes_done >= done);
        }
        last = Some((p.bytes_done, p.bytes_total));
    })
    .unwrap();
    let (done, total) = last.unwrap();
    assert!(done > 0 && done <= total, "{done} / {total}");
}

#[test]
fn background_merge_runs_when_triggered() {
    let sim = SimStorage::new(13);
    let opts = Options {
        max_file_size: 300,
        merge: MergeOptions {
            fragmentation: 0.5,
            background: true,
            check_interval: std::time::Duration::from_millis(5),
            min_interval: std::time::Duration::ZERO,
            ..MergeOptions::default()
        },
        ..Options::default()
    };
    let db = open(&sim, opts);
    for round in 0..6u8 {
        for i in 0..10 {
            db.put(&key(i), &[round; 10]).unwrap();
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !db.needs_merge().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(db.needs_merge().is_empty(), "the background merge did not run");
    for i in 0..10 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(vec![5u8; 10]));
    }
}
