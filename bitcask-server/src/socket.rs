//! A client socket and its input buffer.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read at least this much room at a time.
pub const READ_CHUNK: usize = 16 * 1024;

/// A client socket registered with the event loop.
pub struct Socket {
    stream: TcpStream,
}

impl Socket {
    /// Takes over an accepted connection.
    pub fn new(stream: TcpStream) -> io::Result<Socket> {
        stream.set_nodelay(true)?;
        Ok(Socket { stream })
    }

    /// The peer's address.
    pub fn peer(&self) -> String {
        self.stream.peer_addr().map(|a| a.to_string()).unwrap_or_default()
    }

    /// The server's address on this connection.
    pub fn local(&self) -> String {
        self.stream.local_addr().map(|a| a.to_string()).unwrap_or_default()
    }

    /// The socket's descriptor.
    pub fn fd(&self) -> i64 {
        use std::os::fd::AsRawFd;
        i64::from(self.stream.as_raw_fd())
    }

    /// Reads what is there (waiting until something is) into `into`; 0 at end of stream.
    pub async fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
        self.stream.read(into).await
    }

    /// Writes all of `data`.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data).await
    }
}

/// A connection's input: bytes `start..filled` are received and not yet parsed. The
/// vector stays initialized past `filled`, so reads need no zeroing but on growth.
#[derive(Debug, Default)]
pub struct InBuf {
    data: Vec<u8>,
    start: usize,
    filled: usize,
}

impl InBuf {
    /// The received bytes not yet consumed.
    pub fn unparsed(&self) -> &[u8] {
        self.data.get(self.start..self.filled).unwrap_or_default()
    }

    /// Marks `n` bytes at the start of [`unparsed`](Self::unparsed) as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.filled);
    }

    /// Room for the next read (at least [`READ_CHUNK`]), after moving the unparsed bytes to
    /// the front when that frees enough.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
        } else if self.start > 0
            && (self.start >= READ_CHUNK || self.data.len() - self.filled < READ_CHUNK)
        {
            self.data.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.filled < READ_CHUNK {
            let grow = (self.data.len() / 2).max(READ_CHUNK);
            self.data.resize(self.data.len() + grow, 0);
        }
        self.data.get_mut(self.filled..).unwrap_or_default()
    }

    /// `n` bytes were read into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.data.len());
    }

    /// Gives back memory after a large request (keeps the unparsed bytes).
    pub fn shrink(&mut self) {
        if self.data.len() > 1 << 20 && self.filled - self.start < READ_CHUNK {
            self.data.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            self.data.truncate(READ_CHUNK.max(self.filled));
            self.data.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_buffer_keeps_unparsed_bytes_across_compaction_and_growth() {
        let mut b = InBuf::default();
        let mut expected = Vec::new();
        let mut next = 0u8;
        for round in 0..200 {
            let spare = b.spare();
            let n = (round * 997) % spare.len().min(40_000) + 1;
            for x in spare.iter_mut().take(n) {
                *x = next;
                expected.push(next);
                next = next.wrapping_add(1);
            }
            b.filled(n);
            assert_eq!(b.unparsed(), &expected[..]);
            let eat = (round * 7919) % (expected.len() + 1);
            b.consume(eat);
            expected.drain(..eat);
            assert_eq!(b.unparsed(), &expected[..]);
            if round % 50 == 0 {
                b.shrink();
                assert_eq!(b.unparsed(), &expected[..]);
            }
        }
    }
}
