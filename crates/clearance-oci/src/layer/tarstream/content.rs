//! An entry's content as a reader: stored bytes, or a sparse file with its
//! holes as zeros.

use std::io::{self, Read};

use super::sparse::Next;
use super::{TarSource, TarStream};

/// Reads the current entry's content; see [`TarStream::content`].
#[derive(Debug)]
pub struct Content<'a, S> {
    pub(super) stream: &'a mut TarStream<S>,
}

impl<S: TarSource> Read for Content<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let s = &mut *self.stream;
        let want = match &s.sparse {
            None => s.remaining,
            Some((map, cursor)) => match map.next(cursor) {
                None => 0,
                Some(Next::Zeros(n)) => {
                    let k = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                    buf[..k].fill(0);
                    if let Some((map, cursor)) = &mut s.sparse {
                        map.advance(cursor, k as u64);
                    }
                    return Ok(k);
                }
                Some(Next::Data(n)) => n.min(s.remaining),
            },
        };
        let k = buf.len().min(usize::try_from(want).unwrap_or(usize::MAX));
        if k == 0 {
            return Ok(0);
        }
        let n = s.src.read(&mut buf[..k])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        s.pos += n as u64;
        s.remaining -= n as u64;
        if let Some((map, cursor)) = &mut s.sparse {
            map.advance(cursor, n as u64);
        }
        Ok(n)
    }
}
