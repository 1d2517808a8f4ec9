//! Datafile ids and the names of the files in a store directory.

use std::fmt;
use std::path::{Path, PathBuf};

/// A datafile id. The high 40 bits are the generation (each new active file takes the next
/// one), the low 24 bits a merge sequence (merge outputs take the generation of their newest
/// input and a higher sequence, so they sort exactly where their inputs were). Records are
/// ordered by (file id, offset).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u64);

const SEQ_BITS: u32 = 24;
pub(crate) const MAX_SEQ: u64 = (1 << SEQ_BITS) - 1;

impl FileId {
    pub(crate) fn new(generation: u64, seq: u64) -> FileId {
        FileId((generation << SEQ_BITS) | (seq & MAX_SEQ))
    }
    /// The generation.
    pub fn generation(self) -> u64 {
        self.0 >> SEQ_BITS
    }
    /// The merge sequence within the generation (0 for a file written by puts).
    pub fn seq(self) -> u64 {
        self.0 & MAX_SEQ
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Data(FileId),
    Hint(FileId),
    /// Bytes open cut or skipped from datafile `id` at an offset, set aside.
    Quarantine(FileId, u64),
    /// A temporary file of one of the store's own names.
    Tmp,
    Manifest,
    Lock,
    Other,
}

pub(crate) const LOCK_NAME: &str = "LOCK";
pub(crate) const MANIFEST_NAME: &str = "MERGE";

pub(crate) fn data_name(id: FileId) -> String {
    format!("{id}.data")
}

pub(crate) fn hint_name(id: FileId) -> String {
    format!("{id}.hint")
}

pub(crate) fn tmp_name(name: &str) -> String {
    format!("{name}.tmp")
}

/// The file that keeps the bytes open cut or skipped at `offset` of datafile `id`.
pub(crate) fn quarantine_name(id: FileId, offset: u64) -> String {
    format!("{id}-{offset:016x}.quarantine")
}

/// What `name` is. Only names the store itself creates are anything but `Other`: a
/// temporary file is `Tmp` only when it is one of the store's names with `.tmp` added, so
/// open never removes a file it did not make.
pub(crate) fn parse_name(name: &str) -> Name {
    if let Some(stem) = name.strip_suffix(".tmp") {
        return match parse_name(stem) {
            Name::Data(_) | Name::Hint(_) | Name::Manifest | Name::Quarantine(..) => Name::Tmp,
            _ => Name::Other,
        };
    }
    if name == MANIFEST_NAME {
        return Name::Manifest;
    }
    if name == LOCK_NAME {
        return Name::Lock;
    }
    let id = |stem: &str| {
        (stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| u64::from_str_radix(stem, 16).ok())
            .flatten()
            .map(FileId)
    };
    if let Some(stem) = name.strip_suffix(".data") {
        if let Some(id) = id(stem) {
            return Name::Data(id);
        }
    }
    if let Some(stem) = name.strip_suffix(".hint") {
        if let Some(id) = id(stem) {
            return Name::Hint(id);
        }
    }
    if let Some((file, offset)) = name.strip_suffix(".quarantine").and_then(|s| s.split_once('-')) {
        if let (Some(file), Some(offset)) = (id(file), id(offset)) {
            return Name::Quarantine(file, offset.0);
        }
    }
    Name::Other
}

pub(crate) fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        let a = FileId::new(5, 0);
        let b = FileId::new(5, 3);
        let c = FileId::new(6, 0);
        assert!(a < b && b < c);
        assert_eq!((b.generation(), b.seq()), (5, 3));
        assert_eq!(parse_name(&data_name(b)), Name::Data(b));
        assert_eq!(parse_name(&hint_name(c)), Name::Hint(c));
        assert_eq!(parse_name(&tmp_name(&data_name(c))), Name::Tmp);
        assert_eq!(parse_name("MERGE"), Name::Manifest);
        assert_eq!(parse_name("0000000000000001.DATA"), Name::Other);
        assert_eq!(parse_name("000000000000001.data"), Name::Other);
        assert_eq!(parse_name("notes.txt"), Name::Other);
        let q = quarantine_name(c, 0x1234);
        assert_eq!(parse_name(&q), Name::Quarantine(c, 0x1234));
        assert_eq!(parse_name(&tmp_name(&q)), Name::Tmp);
        assert_eq!(parse_name(&tmp_name(MANIFEST_NAME)), Name::Tmp);
        // Open removes temporary files of its own names only.
        assert_eq!(parse_name("notes.tmp"), Name::Other);
        assert_eq!(parse_name("0000000000000001.data.tmp.tmp"), Name::Other);
        assert_eq!(parse_name("SHARDS.tmp"), Name::Other);
    }
}
