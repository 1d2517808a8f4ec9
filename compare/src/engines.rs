//! The engines compared, behind one small trait: each used the way its documentation shows
//! for the fastest non-durable single-process setup (no fsync per write).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, RwLock};

/// What every engine offers the workloads.
pub trait Engine: Sync {
    /// One put (insert or overwrite).
    fn put(&self, key: &[u8], value: &[u8]);
    /// Many puts in one atomic batch or transaction.
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]);
    /// One get, the value lent to `f` (the engine's zero-copy read where it has one);
    /// false when absent.
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;
    /// Many gets (one read transaction, or the engine's multi-get); returns how many hit.
    fn get_many(&self, keys: &[Vec<u8>], f: &mut dyn FnMut(&[u8])) -> usize {
        keys.iter().filter(|k| self.get(k, f)).count()
    }
    /// Makes everything written so far durable (between the load and the measurements,
    /// so no engine is measured with a backlog of dirty data to flush).
    fn settle(&self) {}
}

/// Opens engine `name` in the empty directory `dir`.
pub fn open(name: &str, dir: &Path) -> Box<dyn Engine> {
    match name {
        "bitcask" => Box::new(Bitcask::open(dir, true)),
        "bitcask-pwrite" => Box::new(Bitcask::open(dir, false)),
        "redb" => Box::new(Redb::open(dir)),
        "fjall" => Box::new(Fjall::open(dir)),
        "lmdb" => Box::new(Lmdb::open(dir)),
        "toy" => Box::new(Toy::open(dir)),
        other => panic!("unknown engine {other}"),
    }
}

/// The engines, in table order.
pub const ALL: [&str; 6] = ["bitcask", "bitcask-pwrite", "lmdb", "redb", "fjall", "toy"];

/// How each engine is set up (printed under the table).
pub fn setup(name: &str) -> &'static str {
    match name {
        "bitcask" => "this crate, defaults (mapped appends, mapped reads, sync never); get_with, get_many_with",
        "bitcask-pwrite" => "this crate with mmap_writes = false: one pwrite per put",
        "lmdb" => "heed 0.20 (LMDB), NO_SYNC | WRITE_MAP | NO_READ_AHEAD, one transaction per put",
        "redb" => "redb 2, Durability::None, one write transaction per put",
        "fjall" => "fjall 2 (LSM), default config, journal not fsynced per write",
        "toy" => "60 lines: HashMap<[u8;16]> keydir behind a RwLock, one write(2) per put, pread per get",
        _ => "",
    }
}

struct Bitcask(bitcask_core::Bitcask);

impl Bitcask {
    fn open(dir: &Path, mmap_writes: bool) -> Bitcask {
        let opts = bitcask_core::Options { mmap_writes, ..Default::default() };
        Bitcask(bitcask_core::Bitcask::open(dir, opts).expect("open bitcask"))
    }
}

impl Engine for Bitcask {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.0.put(key, value).expect("put");
    }
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = bitcask_core::WriteBatch::new();
        for (k, v) in pairs {
            b.put(k, v);
        }
        self.0.write(b).expect("batch");
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get_with(key, |v| f(v)).expect("get").is_some()
    }
    fn get_many(&self, keys: &[Vec<u8>], f: &mut dyn FnMut(&[u8])) -> usize {
        let mut hits = 0;
        self.0
            .get_many_with(keys, |_, v| {
                if let Some(v) = v {
                    hits += 1;
                    f(v);
                }
            })
            .expect("get_many");
        hits
    }
    fn settle(&self) {
        self.0.sync().expect("sync");
    }
}

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("t");

struct Redb(redb::Database);

impl Redb {
    fn open(dir: &Path) -> Redb {
        let db = redb::Database::create(dir.join("redb")).expect("open redb");
        let tx = db.begin_write().expect("tx");
        tx.open_table(REDB_TABLE).expect("table");
        tx.commit().expect("commit");
        Redb(db)
    }
    fn write(&self, pairs: &mut dyn Iterator<Item = (&[u8], &[u8])>) {
        let mut tx = self.0.begin_write().expect("tx");
        tx.set_durability(redb::Durability::None);
        {
            let mut t = tx.open_table(REDB_TABLE).expect("table");
            for (k, v) in pairs {
                t.insert(k, v).expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
}

impl Engine for Redb {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.write(&mut std::iter::once((key, value)));
    }
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]) {
        self.write(&mut pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let tx = self.0.begin_read().expect("tx");
        let t = tx.open_table(REDB_TABLE).expect("table");
        let got = t.get(key).expect("get");
        got.map(|g| f(g.value())).is_some()
    }
    fn get_many(&self, keys: &[Vec<u8>], f: &mut dyn FnMut(&[u8])) -> usize {
        let tx = self.0.begin_read().expect("tx");
        let t = tx.open_table(REDB_TABLE).expect("table");
        keys.iter().filter_map(|k| t.get(k.as_slice()).expect("get").map(|g| f(g.value()))).count()
    }
    fn settle(&self) {
        let tx = self.0.begin_write().expect("tx");
        tx.commit().expect("commit");
    }
}

struct Fjall {
    keyspace: fjall::Keyspace,
    part: fjall::PartitionHandle,
}

impl Fjall {
    fn open(dir: &Path) -> Fjall {
        let keyspace = fjall::Config::new(dir.join("fjall")).open().expect("open fjall");
        let part =
            keyspace.open_partition("t", fjall::PartitionCreateOptions::default()).expect("part");
        Fjall { keyspace, part }
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.part.insert(key, value).expect("insert");
    }
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = self.keyspace.batch();
        for (k, v) in pairs {
            b.insert(&self.part, k.as_slice(), v.as_slice());
        }
        b.commit().expect("batch");
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.part.get(key).expect("get").map(|v| f(&v)).is_some()
    }
    fn settle(&self) {
        self.keyspace.persist(fjall::PersistMode::SyncAll).expect("persist");
    }
}

struct Lmdb {
    env: heed::Env,
    db: heed::Database<heed::types::Bytes, heed::types::Bytes>,
}

impl Lmdb {
    fn open(dir: &Path) -> Lmdb {
        let path = dir.join("lmdb");
        std::fs::create_dir_all(&path).expect("dir");
        let flags =
            heed::EnvFlags::NO_SYNC | heed::EnvFlags::WRITE_MAP | heed::EnvFlags::NO_READ_AHEAD;
        // SAFETY (heed's contract): the environment is opened once in this process and the
        // files are not touched by anything else while it is open.
        let env = unsafe {
            heed::EnvOpenOptions::new().map_size(8 << 30).max_dbs(1).flags(flags).open(&path)
        }
        .expect("open lmdb");
        let mut tx = env.write_txn().expect("tx");
        let db = env.create_database(&mut tx, None).expect("db");
        tx.commit().expect("commit");
        Lmdb { env, db }
    }
}

impl Engine for Lmdb {
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut tx = self.env.write_txn().expect("tx");
        self.db.put(&mut tx, key, value).expect("put");
        tx.commit().expect("commit");
    }
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]) {
        let mut tx = self.env.write_txn().expect("tx");
        for (k, v) in pairs {
            self.db.put(&mut tx, k, v).expect("put");
        }
        tx.commit().expect("commit");
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let tx = self.env.read_txn().expect("tx");
        self.db.get(&tx, key).expect("get").map(f).is_some()
    }
    fn get_many(&self, keys: &[Vec<u8>], f: &mut dyn FnMut(&[u8])) -> usize {
        let tx = self.env.read_txn().expect("tx");
        keys.iter().filter_map(|k| self.db.get(&tx, k).expect("get").map(&mut *f)).count()
    }
    fn settle(&self) {
        self.env.force_sync().expect("sync");
    }
}

/// The 60-line Bitcask the issue measured against: a `HashMap` keydir, one `write(2)` per
/// put at a tracked offset, one `pread` per get (no checksum).
struct Toy {
    file: File,
    end: Mutex<u64>,
    keydir: RwLock<HashMap<[u8; 16], (u64, u32)>>,
}

impl Toy {
    fn open(dir: &Path) -> Toy {
        let file = File::options()
            .read(true)
            .append(true)
            .create(true)
            .open(dir.join("toy.data"))
            .expect("open toy");
        Toy { file, end: Mutex::new(0), keydir: RwLock::new(HashMap::new()) }
    }
}

impl Engine for Toy {
    fn put(&self, key: &[u8], value: &[u8]) {
        use std::io::Write;
        let mut rec = Vec::with_capacity(key.len() + value.len());
        rec.extend_from_slice(key);
        rec.extend_from_slice(value);
        let mut end = self.end.lock().expect("lock");
        (&self.file).write_all(&rec).expect("write");
        let k: [u8; 16] = key.try_into().expect("16-byte keys");
        self.keydir.write().expect("lock").insert(k, (*end + 16, value.len() as u32));
        *end += rec.len() as u64;
    }
    fn put_batch(&self, pairs: &[(Vec<u8>, Vec<u8>)]) {
        for (k, v) in pairs {
            self.put(k, v);
        }
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let Ok(k) = <[u8; 16]>::try_from(key) else { return false };
        let Some(&(off, len)) = self.keydir.read().expect("lock").get(&k) else { return false };
        let mut buf = [0u8; 256];
        let buf = &mut buf[..len as usize];
        self.file.read_exact_at(buf, off).expect("pread");
        f(buf);
        true
    }
}

/// The floor of a put: one `write(2)` per record of the same size, nothing else.
pub fn write_loop(dir: &Path, n: u64, record: usize) -> f64 {
    use std::io::Write;
    let mut f = File::create(dir.join("floor")).expect("floor file");
    let rec = vec![0x5au8; record];
    let t = std::time::Instant::now();
    for _ in 0..n {
        f.write_all(&rec).expect("write");
    }
    n as f64 / t.elapsed().as_secs_f64()
}
