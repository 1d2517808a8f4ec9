//! A walk over a whole datafile held in memory, for the tools that must see past damage
//! (`check`, `repair`, `inspect`): each valid entry, and each damaged region up to where
//! the next valid entry starts. Recovery streams a file with [`Scanner`](crate::Scanner)
//! instead, stopping at damage to judge it.

use crate::error::{Error, ErrorKind};
use crate::limits::FILE_HEADER_LEN;
use crate::record::{decode_entry, Entry};
use crate::scan::{is_unused_tail, next_entry_start};

/// One step of a [`Walk`].
#[derive(Debug)]
pub enum Walked<'a> {
    /// A valid entry.
    Entry {
        /// Where it starts in the file.
        offset: usize,
        /// Its length in bytes.
        len: usize,
        /// The entry.
        entry: Entry<'a>,
    },
    /// Bytes that hold no valid entry, up to where the next one starts (or the end). A sync
    /// point claiming durable bytes past itself is damaged too.
    Damaged {
        /// Where the damage starts.
        offset: usize,
        /// How many bytes it spans.
        len: usize,
        /// What is wrong with the first of them.
        error: Error,
    },
    /// The rest of the file is zeros: space preallocated for appends and never written
    /// (reported only when the walk was asked to expect it).
    UnusedTail {
        /// Where the zeros start.
        offset: usize,
    },
}

/// The entries of a datafile after its header (the header is the caller's to check).
///
/// ```
/// use bitcask_format::{walk, FileHeader, FileKind, Record, Walked, FILE_HEADER_LEN};
/// let mut file = Vec::new();
/// FileHeader::new(FileKind::Data, 1).encode(&mut file);
/// Record::put(b"k", b"v").encode(&mut file)?;
/// file.extend_from_slice(&[0xff; 5]);
/// Record::put(b"k2", b"v2").encode(&mut file)?;
/// let steps: Vec<Walked<'_>> = walk(&file, false).collect();
/// assert!(matches!(steps[0], Walked::Entry { offset: FILE_HEADER_LEN, .. }));
/// assert!(matches!(steps[1], Walked::Damaged { len: 5, .. }));
/// assert!(matches!(steps[2], Walked::Entry { .. }));
/// # Ok::<(), bitcask_format::Error>(())
/// ```
pub struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The newest file may end in zeros (preallocated space).
    newest: bool,
}

/// Walks `buf`, a whole datafile; `newest` when it is the store's newest file (which may end
/// in preallocated zeros).
pub fn walk(buf: &[u8], newest: bool) -> Walk<'_> {
    Walk { buf, pos: FILE_HEADER_LEN, newest }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Walked<'a>;

    fn next(&mut self) -> Option<Walked<'a>> {
        let (buf, pos) = (self.buf, self.pos);
        let rest = buf.get(pos..).filter(|r| !r.is_empty())?;
        let damaged = |error: Error| {
            let next = next_entry_start(buf, pos + 1);
            (Walked::Damaged { offset: pos, len: next - pos, error }, next)
        };
        let (step, next) = match decode_entry(rest) {
            // A sync point vouches only for bytes before itself.
            Ok((Entry::SyncPoint { durable_end }, _)) if durable_end > pos as u64 => {
                damaged(Error::new(ErrorKind::BadSyncPoint, pos as u64))
            }
            Ok((entry, len)) => (Walked::Entry { offset: pos, len, entry }, pos + len),
            Err(_) if self.newest && is_unused_tail(rest) => {
                (Walked::UnusedTail { offset: pos }, buf.len())
            }
            Err(mut e) => {
                e.offset += pos as u64;
                damaged(e)
            }
        };
        self.pos = next;
        Some(step)
    }
}
