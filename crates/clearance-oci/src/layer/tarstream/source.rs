//! Where tar bytes come from: a stream read front to back, or a file whose
//! data can be skipped by seeking.

use std::io::{self, Read, Seek, SeekFrom};

/// Where tar bytes come from: a stream is skipped by reading, a file by seeking.
pub trait TarSource: Read {
    /// Pass over `n` bytes; fewer left is `UnexpectedEof`.
    fn skip(&mut self, n: u64) -> io::Result<()>;
}

/// A stream read front to back (a layer being decompressed).
#[derive(Debug)]
pub struct Sequential<R>(pub R);

impl<R: Read> Read for Sequential<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> TarSource for Sequential<R> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let skipped = io::copy(&mut (&mut self.0).take(n), &mut io::sink())?;
        if skipped < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// A file of known length, skipped by seeking (an archive being indexed).
#[derive(Debug)]
pub struct Seekable<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Seekable<R> {
    /// Wrap a reader positioned at its start.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Seekable { inner, pos: 0, len })
    }
}

impl<R: Read> Read for Seekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> TarSource for Seekable<R> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let to = self.pos.checked_add(n).filter(|&to| to <= self.len);
        let to = to.ok_or(io::ErrorKind::UnexpectedEof)?;
        self.inner.seek(SeekFrom::Start(to))?;
        self.pos = to;
        Ok(())
    }
}
