//! Readers that check a blob against its digest and size while it streams.
//!
//! A mismatch surfaces as an `io::Error` wrapping [`VerifyError`] at the end
//! of the stream (or as soon as the size is exceeded), so no caller can take
//! the bytes of a bad blob as finished. Callers must read to the end.

use std::io::{self, Read};

use crate::digest::{Digest, Hasher};

/// A blob whose bytes do not match what was promised.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("size mismatch for {what} ({expected}): expected {size} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: Digest,
        size: u64,
        actual: String,
    },
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
}

impl VerifyError {
    /// Find a `VerifyError` inside an `io::Error` produced by these readers.
    pub fn from_io(err: &io::Error) -> Option<&VerifyError> {
        err.get_ref()?.downcast_ref::<VerifyError>()
    }
}

/// Wraps a reader; hashes and counts what passes through.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: R,
    what: String,
    expected: Digest,
    size: Option<u64>,
    hasher: Option<Hasher>,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    /// `what` names the blob in errors (a path or URL); `size` is the declared
    /// length when known (a descriptor's size), which is then enforced too.
    pub fn new(inner: R, what: impl Into<String>, expected: Digest, size: Option<u64>) -> Self {
        let hasher = Some(Hasher::new(expected.algorithm()));
        VerifyingReader {
            inner,
            what: what.into(),
            expected,
            size,
            hasher,
            read: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    fn size_error(&self, actual: String) -> io::Error {
        io::Error::other(VerifyError::SizeMismatch {
            what: self.what.clone(),
            expected: self.expected.clone(),
            size: self.size.unwrap_or_default(),
            actual,
        })
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hasher) = self.hasher.as_mut() else {
            return Ok(0); // verified already: the stream is over
        };
        // Never ask for more than one byte past the declared size.
        let want = match self.size {
            Some(size) => buf
                .len()
                .min(usize::try_from(size.saturating_sub(self.read) + 1).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        let n = self.inner.read(&mut buf[..want])?;
        if n > 0 {
            hasher.update(&buf[..n]);
            self.read += n as u64;
            if self.size.is_some_and(|size| self.read > size) {
                return Err(self.size_error(format!("more than {}", self.read - 1)));
            }
            return Ok(n);
        }
        if self.size.is_some_and(|size| self.read != size) {
            return Err(self.size_error(self.read.to_string()));
        }
        let actual = self.hasher.take().map(Hasher::finish);
        match actual {
            Some(actual) if actual == self.expected => Ok(0),
            Some(actual) => Err(io::Error::other(VerifyError::DigestMismatch {
                what: self.what.clone(),
                expected: self.expected.clone(),
                actual,
            })),
            None => Ok(0),
        }
    }
}

/// Read a whole small blob, refusing more than `limit` bytes, and verify it.
pub fn read_verified(
    reader: impl Read,
    what: &str,
    expected: &Digest,
    size: Option<u64>,
    limit: u64,
) -> io::Result<Vec<u8>> {
    if size.is_some_and(|s| s > limit) {
        return Err(io::Error::other(VerifyError::TooLarge {
            what: what.to_owned(),
            limit,
        }));
    }
    let mut verifying = VerifyingReader::new(reader, what, expected.clone(), size);
    let mut out = Vec::new();
    let n = (&mut verifying).take(limit + 1).read_to_end(&mut out)?;
    if n as u64 > limit {
        return Err(io::Error::other(VerifyError::TooLarge {
            what: what.to_owned(),
            limit,
        }));
    }
    // `read_to_end` saw the end of the stream, so the digest was checked.
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &[u8], expected: &Digest, size: Option<u64>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        VerifyingReader::new(data, "blob", expected.clone(), size).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn passes_matching_bytes() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(check(b"hello", &d, Some(5)).unwrap(), b"hello");
        assert_eq!(check(b"hello", &d, None).unwrap(), b"hello");
    }

    #[test]
    fn names_expected_and_actual_digest_on_mismatch() {
        let d = Digest::sha256_of(b"hello");
        let err = check(b"jello", &d, Some(5)).unwrap_err();
        let VerifyError::DigestMismatch {
            expected, actual, ..
        } = VerifyError::from_io(&err).unwrap()
        else {
            panic!("{err}")
        };
        assert_eq!(expected, &d);
        assert_eq!(actual, &Digest::sha256_of(b"jello"));
    }

    #[test]
    fn refuses_short_and_long_bodies() {
        let d = Digest::sha256_of(b"hello");
        for (data, size) in [(&b"hell"[..], 5), (b"hello!", 5), (b"hello", 4)] {
            let err = check(data, &d, Some(size)).unwrap_err();
            assert!(
                matches!(
                    VerifyError::from_io(&err),
                    Some(VerifyError::SizeMismatch { .. })
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn stops_reading_an_endless_body_just_past_the_declared_size() {
        let d = Digest::sha256_of(b"hello");
        let mut endless = VerifyingReader::new(io::repeat(7), "endless", d, Some(5));
        let err = io::copy(&mut endless, &mut io::sink()).unwrap_err();
        assert!(
            matches!(
                VerifyError::from_io(&err),
                Some(VerifyError::SizeMismatch { size: 5, actual, .. }) if actual == "more than 5"
            ),
            "{err}"
        );
        assert_eq!(endless.bytes_read(), 6);
    }

    #[test]
    fn read_verified_enforces_the_limit() {
        let data = vec![1u8; 100];
        let d = Digest::sha256_of(&data);
        assert_eq!(read_verified(&data[..], "c", &d, None, 100).unwrap(), data);
        assert!(read_verified(&data[..], "c", &d, None, 99).is_err());
        assert!(read_verified(&data[..], "c", &d, Some(100), 99).is_err());
        let bad = Digest::sha256_of(b"other");
        assert!(read_verified(&data[..], "c", &bad, None, 100).is_err());
    }
}
