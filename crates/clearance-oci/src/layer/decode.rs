//! The bytes under the tar walk: a blob counted, sniffed, decompressed
//! (gzip, zstd with a bounded window, or plain), hashed for its `diff_id`
//! and held to the uncompressed limit.

use std::io::{self, BufRead, Read};

use crate::digest::Hasher;
use crate::layer::reader::Compression;

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(super) struct Counting<R> {
    pub inner: R,
    pub count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("uncompressed size limit of {0} bytes exceeded")]
pub(super) struct LimitExceeded(pub u64);

/// The decompressed stream: hashed for `diff_id`, counted against the limit.
pub(super) struct Unpacked<R> {
    pub inner: R,
    pub hasher: Hasher,
    pub count: u64,
    pub limit: u64,
}

impl<R: Read> Read for Unpacked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(LimitExceeded(self.limit)));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub(super) enum Decoded<B: BufRead> {
    Plain(B),
    Gzip(Box<flate2::bufread::MultiGzDecoder<B>>),
    Zstd(zstd::stream::read::Decoder<'static, B>, u64),
}

/// The zstd decoder refused a frame's window as larger than the limit.
#[derive(Debug, thiserror::Error)]
#[error("zstd window over the limit of {0} bytes")]
pub(super) struct ZstdWindow(pub u64);

impl<B: BufRead> Decoded<B> {
    pub fn new(input: B, compression: Compression, max_window: u64) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decoded::Plain(input),
            Compression::Gzip => {
                Decoded::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(input)))
            }
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(input)?;
                // zstd windows are powers of two (plus eighths): the limit's
                // floor log2, at least zstd's minimum of 2^10.
                d.window_log_max(max_window.max(1 << 10).ilog2())?;
                Decoded::Zstd(d, max_window)
            }
        })
    }

    pub fn into_inner(self) -> B {
        match self {
            Decoded::Plain(b) => b,
            Decoded::Gzip(d) => d.into_inner(),
            Decoded::Zstd(d, _) => d.finish(),
        }
    }
}

impl<B: BufRead> Read for Decoded<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(b) => b.read(buf),
            Decoded::Gzip(d) => d.read(buf),
            // libzstd's one error for a window over `window_log_max`
            // (ZSTD_error_frameParameter_windowTooLarge).
            Decoded::Zstd(d, limit) => d.read(buf).map_err(|e| {
                if e.to_string().contains("requires too much memory") {
                    io::Error::other(ZstdWindow(*limit))
                } else {
                    e
                }
            }),
        }
    }
}
