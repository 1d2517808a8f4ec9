//! The fixed header at the start of every datafile and hint file.

use crate::bytes::Cursor;
use crate::error::{err, Error, ErrorKind, Result};
use crate::limits::{FILE_HEADER_LEN, FORMAT_VERSION};

/// The four bytes every bitcask file starts with.
pub const MAGIC: [u8; 4] = *b"BCSK";

/// Which kind of file a header introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FileKind {
    /// An append-only datafile of records and batch frames.
    Data = 1,
    /// A hint file: one entry per record of a datafile, then a trailer.
    Hint = 2,
}

impl FileKind {
    fn from_u8(b: u8) -> Option<FileKind> {
        match b {
            1 => Some(FileKind::Data),
            2 => Some(FileKind::Hint),
            _ => None,
        }
    }
}

/// The header of a datafile or hint file.
///
/// ```text
/// 0      4        6      7          8                 16           20
/// +------+--------+------+----------+-----------------+------------+
/// | BCSK | ver u16| kind | reserved | file id u64     | crc32 u32  |
/// +------+--------+------+----------+-----------------+------------+
/// ```
/// All integers little-endian; the CRC32 covers bytes 0..16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// What follows the header.
    pub kind: FileKind,
    /// The format version the file was written with.
    pub version: u16,
    /// The id of the datafile (for a hint file: of the datafile it describes).
    pub file_id: u64,
}

impl FileHeader {
    /// A header of the current [`FORMAT_VERSION`].
    pub fn new(kind: FileKind, file_id: u64) -> FileHeader {
        FileHeader { kind, version: FORMAT_VERSION, file_id }
    }

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.push(self.kind as u8);
        out.push(0);
        out.extend_from_slice(&self.file_id.to_le_bytes());
        let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// The magic is checked first, then the version (a newer version is refused before
    /// anything else is interpreted), then the checksum, kind and reserved byte.
    pub fn decode(buf: &[u8]) -> Result<FileHeader> {
        let mut c = Cursor::new(buf);
        c.set_needed(FILE_HEADER_LEN as u64);
        let magic: [u8; 4] = c.array()?;
        if magic != MAGIC {
            return err(ErrorKind::BadMagic);
        }
        let version = c.u16()?;
        if version == 0 || version > FORMAT_VERSION {
            return err(ErrorKind::UnsupportedVersion { found: version });
        }
        let kind = c.u8()?;
        let reserved = c.u8()?;
        let file_id = c.u64()?;
        let covered = buf.get(..16).unwrap_or_default();
        let stored = c.u32()?;
        let computed = crc32fast::hash(covered);
        if stored != computed {
            return err(ErrorKind::ChecksumMismatch { stored, computed });
        }
        let kind = match FileKind::from_u8(kind) {
            Some(k) if reserved == 0 => k,
            _ => return Err(Error::new(ErrorKind::WrongFileKind { found: kind }, 6)),
        };
        Ok(FileHeader { kind, version, file_id })
    }

    /// Decodes a header and checks that it is of `kind` and names `file_id`.
    pub fn decode_expect(buf: &[u8], kind: FileKind, file_id: u64) -> Result<FileHeader> {
        let h = FileHeader::decode(buf)?;
        if h.kind != kind {
            return Err(Error::new(ErrorKind::WrongFileKind { found: h.kind as u8 }, 6));
        }
        if h.file_id != file_id {
            return Err(Error::new(ErrorKind::WrongFileId { found: h.file_id }, 8));
        }
        Ok(h)
    }
}
