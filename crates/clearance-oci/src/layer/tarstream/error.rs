//! What can go wrong reading a tar stream.

use std::io;

/// What went wrong reading a tar stream.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// The underlying stream failed (a digest mismatch and the uncompressed
    /// size limit arrive this way too).
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{kind} of {size} bytes at offset {offset}, over the limit of {limit} bytes")]
    HeaderTooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
        offset: u64,
    },
    #[error("tar header at offset {offset} has a bad checksum (not a tar stream, or corrupt)")]
    Checksum { offset: u64 },
    #[error("tar header at offset {offset}: the {field} field is not a number")]
    Field { offset: u64, field: &'static str },
    #[error("tar stream ends inside the block at offset {offset}")]
    Truncated { offset: u64 },
    #[error("a zero block is followed by a header at offset {offset}")]
    ZeroBlockThenHeader { offset: u64 },
    #[error("extended headers at the end of the archive describe no entry")]
    Dangling,
    #[error("bad PAX header: {0}")]
    Pax(&'static str),
    #[error("bad PAX header: {key}={value:?} is not a non-negative decimal number")]
    PaxNumber { key: String, value: String },
    #[error("bad sparse file: {0}")]
    Sparse(&'static str),
}
