//! A file as the body of an upload: hashed through once to learn its
//! digest, then streamed and hashed again, its last chunk held back until
//! the two agree (so a file that changes under an upload is cut off before
//! the registry could complete it).

use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::digest::{Algorithm, Digest, Hasher};
use crate::registry::error::RegistryError;
use crate::registry::upload::Progress;
use crate::verify::VerifyError;

/// Read size when hashing and streaming a file.
const CHUNK: usize = 256 << 10;

/// The sha256 digest and size of a file, read through once.
pub(crate) fn hash_file(path: &Path) -> Result<(Digest, u64), RegistryError> {
    let file_error = |source| RegistryError::File {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(file_error)?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(file_error)?;
        if n == 0 {
            return Ok((hasher.finish(), size));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

/// The file at `path` as a streamed body, hashed as it goes. Its last
/// chunk is held back until the file has proved to be `size` bytes with
/// the `expected` digest: otherwise the stream fails before the last byte
/// (so the request is cut off and the registry stores nothing) and
/// `changed` holds why.
pub(crate) fn file_body(
    path: &Path,
    expected: &Digest,
    size: u64,
    progress: Progress,
    changed: Arc<Mutex<Option<VerifyError>>>,
) -> reqwest::Body {
    let chunks = match std::fs::File::open(path) {
        Ok(file) => {
            tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), CHUNK)
                .boxed()
        }
        Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
    };
    let state = Streamed {
        chunks,
        hasher: Hasher::new(expected.algorithm()),
        sent: 0,
        check: Arc::new(Check {
            what: path.display().to_string(),
            expected: expected.clone(),
            size,
            progress,
            changed,
        }),
    };
    let stream = futures_util::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let check = state.check.clone();
        match state.chunks.next().await {
            Some(Ok(bytes)) => {
                state.sent += bytes.len() as u64;
                if state.sent > check.size {
                    return check.refuse(check.grew());
                }
                state.hasher.update(&bytes);
                if state.sent < check.size {
                    (check.progress)(bytes.len() as u64);
                    return Some((Ok(bytes), Some(state)));
                }
                // The last chunk: sent only if nothing follows it and the
                // whole file hashed to what was announced.
                match state.chunks.next().await {
                    Some(Ok(more)) if !more.is_empty() => return check.refuse(check.grew()),
                    Some(Err(e)) => return Some((Err(e), None)),
                    _ => {}
                }
                let actual = state.hasher.finish();
                if actual != check.expected {
                    return check.refuse(check.mismatch(actual));
                }
                (check.progress)(bytes.len() as u64);
                Some((Ok(bytes), None))
            }
            Some(Err(e)) => Some((Err(e), None)),
            None if state.sent != check.size => check.refuse(VerifyError::SizeMismatch {
                what: format!("{} (it shrank while it was uploaded)", check.what),
                expected: check.expected.clone(),
                size: check.size,
                actual: state.sent.to_string(),
            }),
            // Only an empty file ends here.
            None => {
                let actual = state.hasher.finish();
                if actual == check.expected {
                    None
                } else {
                    check.refuse(check.mismatch(actual))
                }
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}

/// Where a streamed file upload is.
struct Streamed {
    chunks: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
    hasher: Hasher,
    sent: u64,
    check: Arc<Check>,
}

/// What a streamed file must turn out to be, and whom to tell.
struct Check {
    what: String,
    expected: Digest,
    size: u64,
    progress: Progress,
    changed: Arc<Mutex<Option<VerifyError>>>,
}

type Step = Option<(std::io::Result<Bytes>, Option<Streamed>)>;

impl Check {
    /// End the stream with `e`, kept for the caller to report.
    fn refuse(&self, e: VerifyError) -> Step {
        let io = std::io::Error::other(e.to_string());
        if let Ok(mut slot) = self.changed.lock() {
            *slot = Some(e);
        }
        Some((Err(io), None))
    }

    fn grew(&self) -> VerifyError {
        VerifyError::SizeMismatch {
            what: format!("{} (it grew while it was uploaded)", self.what),
            expected: self.expected.clone(),
            size: self.size,
            actual: format!("more than {}", self.size),
        }
    }

    fn mismatch(&self, actual: Digest) -> VerifyError {
        VerifyError::DigestMismatch {
            what: format!("{} (it changed while it was uploaded)", self.what),
            expected: self.expected.clone(),
            actual,
        }
    }
}
