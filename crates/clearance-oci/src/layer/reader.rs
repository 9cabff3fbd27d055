//! Streaming a layer once: sniff the compression, walk the tar, enforce
//! limits, hash the uncompressed bytes, and hand chosen files to a visitor.

use std::io::{self, BufReader, Cursor, Read};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::layer::decode::{Counting, Decoded, LimitExceeded, Unpacked, ZstdWindow, read_up_to};
use crate::layer::path::{ImagePath, Normalised};
use crate::layer::tarstream::{
    DEFAULT_MAX_HEADER_BYTES, Sequential, TarError, TarHeader, TarStream,
};
use crate::verify::VerifyError;

/// Bounds that keep a hostile layer from exhausting memory, disk or time.
/// With the defaults, reading one layer holds at most a few MiB besides
/// the content a visitor asks for (`max_captured_file_bytes`) and the zstd
/// window (`max_zstd_window_bytes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerLimits {
    /// Total bytes after decompression (tar headers and padding included).
    pub max_uncompressed_bytes: u64,
    /// The same, over all the layers of one image (each blob counted once).
    pub max_image_uncompressed_bytes: u64,
    /// Entries in the tar.
    pub max_entries: u64,
    /// Any single entry's size (a sparse file's real size).
    pub max_file_bytes: u64,
    /// Largest file handed to a visitor in memory; bigger ones are skipped
    /// with a warning.
    pub max_captured_file_bytes: u64,
    /// Largest GNU long name or link, PAX extended header or sparse map of
    /// one entry, in bytes (Go's `archive/tar`, which runtimes use, stops
    /// at 1 MiB too).
    pub max_header_bytes: u64,
    /// Largest zstd window a layer may use, in bytes: the decoder holds one
    /// window per layer. 8 MiB covers what Docker, BuildKit, containerd
    /// and podman write, and `zstd -19`; `--long` and `--ultra` need more.
    pub max_zstd_window_bytes: u64,
}

impl Default for LayerLimits {
    fn default() -> Self {
        LayerLimits {
            max_uncompressed_bytes: 64 << 30,
            max_image_uncompressed_bytes: 128 << 30,
            max_entries: 4_000_000,
            max_file_bytes: 32 << 30,
            max_captured_file_bytes: 64 << 20,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_zstd_window_bytes: 8 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(
        "layer expands to more than {limit} bytes (decompression bomb?); raise the limit if this image is genuine"
    )]
    TooLarge { limit: u64 },
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error(
        "layer has a {kind} of {size} bytes at offset {offset}, over the limit of {limit} bytes (a runtime would refuse it too)"
    )]
    HeaderTooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
        offset: u64,
    },
    #[error(
        "layer needs a zstd window over the limit of {limit} bytes (compressed with `zstd --long` or `--ultra`?); recompress it, or raise the limit (`clearance inspect --max-zstd-window-mib N`; each layer read at once can hold that much)"
    )]
    ZstdWindowTooLarge { limit: u64 },
    #[error("layer entry {path} is {size} bytes, over the single-file limit of {limit}")]
    FileTooLarge {
        path: ImagePath,
        size: u64,
        limit: u64,
    },
    #[error(transparent)]
    Verify(VerifyError),
    #[error(
        "uncompressed layer digest mismatch: the config promises {expected}, the layer gives {actual}"
    )]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error("corrupt layer ({compression}): {message}")]
    Corrupt {
        compression: Compression,
        message: String,
    },
}

/// How a layer blob is compressed, found from its first bytes (media types lie).
/// Shown as `uncompressed`, `gzip` or `zstd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// What a tar entry is, once whiteouts are recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    /// The target as written in the archive; resolve with [`ImagePath::link_target`].
    Symlink {
        target: String,
    },
    Hardlink {
        target: ImagePath,
    },
    /// `.wh.NAME`: the entry's path is the one hidden.
    Whiteout,
    /// `.wh..wh..opq`: the entry's path is the directory emptied.
    OpaqueWhiteout,
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    pub path: ImagePath,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// Something odd in a layer that was handled safely rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerWarning {
    /// A path climbed above the root and was clamped to it.
    PathEscaped { raw: String, clamped: ImagePath },
    /// A link points above the root; it resolves inside the image only.
    LinkEscapes { path: ImagePath, target: String },
    /// A device node or FIFO, ignored.
    SpecialFileIgnored { path: ImagePath },
    /// A file the visitor wanted was too large to hand over in memory.
    NotCaptured { path: ImagePath, size: u64 },
}

/// Receives a layer's entries in archive order.
pub trait LayerVisitor {
    /// Whether the visitor wants this entry's content (regular files only).
    fn wants_content(&mut self, _entry: &LayerEntry) -> bool {
        false
    }
    /// A regular file whose content [`LayerVisitor::wants_content`] did not
    /// ask for whole, offered as a stream before [`LayerVisitor::entry`] is
    /// called for it: `content` yields at most `entry.size` bytes (a sparse
    /// file's holes as zeros), without the file ever being held. Whatever
    /// the visitor leaves unread is skipped by the reader.
    ///
    /// A read error from `content` is the layer's (truncated, corrupt, a
    /// digest mismatch): the visitor should stop and return, and the reader
    /// then fails the layer with it, whatever the visitor did with it. What
    /// the visitor makes of the bytes (a file it cannot parse) is its own
    /// business, never a layer error. The default reads nothing.
    fn stream_content(&mut self, _entry: &LayerEntry, _content: &mut dyn Read) {}
    /// An entry, with its content when it was wanted and small enough.
    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>);
}

/// What reading a layer measured.
#[derive(Debug, Clone)]
pub struct LayerStats {
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    /// sha256 of the uncompressed tar: the layer's `diff_id`.
    pub diff_id: Digest,
    pub entries: u64,
    /// The first [`MAX_WARNINGS`] warnings, in archive order.
    pub warnings: Vec<LayerWarning>,
    /// Warnings past the first [`MAX_WARNINGS`], counted but not kept.
    pub warnings_dropped: u64,
}

/// Warnings kept per layer; the rest are only counted.
pub const MAX_WARNINGS: usize = 100;
const BUFFER: usize = 256 << 10;

/// Read one layer blob to its end. The blob should already verify its own
/// digest (see [`crate::verify::VerifyingReader`]); this checks `diff_id`
/// when `expected_diff_id` is given.
pub fn read_layer(
    blob: impl Read,
    limits: &LayerLimits,
    expected_diff_id: Option<&Digest>,
    visitor: &mut dyn LayerVisitor,
) -> Result<LayerStats, LayerError> {
    let mut counted = Counting {
        inner: blob,
        count: 0,
    };
    let mut head = [0u8; 4];
    let n = read_up_to(&mut counted, &mut head).map_err(|e| io_error(e, Compression::None))?;
    let compression = match head[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        // A zstd skippable frame (0x184D2A50..=0x184D2A5F, little-endian)
        // may open a zstd stream (zstd:chunked writes one); the decoder
        // passes over it.
        [0x50..=0x5f, 0x2a, 0x4d, 0x18] => Compression::Zstd,
        _ => Compression::None,
    };
    let input = BufReader::with_capacity(BUFFER, Cursor::new(head[..n].to_vec()).chain(counted));
    let decoded = Decoded::new(input, compression, limits.max_zstd_window_bytes)
        .map_err(|e| io_error(e, compression))?;
    let mut walker = Walker {
        limits,
        visitor,
        entries: 0,
        warnings: Vec::new(),
        warnings_dropped: 0,
    };
    let mut unpacked = Unpacked {
        inner: decoded,
        hasher: Hasher::new(Algorithm::Sha256),
        count: 0,
        limit: limits.max_uncompressed_bytes,
    };
    // Reads to the end; the blob's digest is checked when its last byte has
    // been read, and the rest of the tar (padding) counts toward the limits.
    let drain = |r: &mut dyn Read| {
        io::copy(r, &mut io::sink())
            .map(drop)
            .map_err(|e| io_error(e, compression))
    };
    let walked = walker
        .walk(&mut unpacked)
        .map_err(|e| e.into_layer_error(compression))
        .and_then(|()| drain(&mut unpacked));
    let Unpacked {
        inner,
        hasher,
        count,
        ..
    } = unpacked;
    let mut rest = inner.into_inner();
    match walked {
        Ok(()) => drain(&mut rest)?,
        // A corrupt stream may be a tampered blob: read it to its end so the
        // digest check can name the real cause. Limit breaches stop at once.
        Err(e @ LayerError::Corrupt { .. }) => {
            return Err(match drain(&mut rest) {
                Err(verify @ LayerError::Verify(_)) => verify,
                _ => e,
            });
        }
        Err(e) => return Err(e),
    }
    let (_, counted) = rest.into_inner().into_inner();
    let compressed_bytes = counted.count;
    let diff_id = hasher.finish();
    if let Some(expected) = expected_diff_id
        && *expected != diff_id
    {
        return Err(LayerError::DiffIdMismatch {
            expected: expected.clone(),
            actual: diff_id,
        });
    }
    Ok(LayerStats {
        compression,
        compressed_bytes,
        uncompressed_bytes: count,
        diff_id,
        entries: walker.entries,
        warnings: walker.warnings,
        warnings_dropped: walker.warnings_dropped,
    })
}

struct Walker<'a> {
    limits: &'a LayerLimits,
    visitor: &'a mut dyn LayerVisitor,
    entries: u64,
    warnings: Vec<LayerWarning>,
    warnings_dropped: u64,
}

enum WalkError {
    Layer(LayerError),
    Io(io::Error),
    Tar(TarError),
}

impl WalkError {
    fn into_layer_error(self, compression: Compression) -> LayerError {
        match self {
            WalkError::Layer(e) => e,
            WalkError::Io(e) | WalkError::Tar(TarError::Io(e)) => io_error(e, compression),
            WalkError::Tar(TarError::HeaderTooLarge {
                kind,
                size,
                limit,
                offset,
            }) => LayerError::HeaderTooLarge {
                kind,
                size,
                limit,
                offset,
            },
            WalkError::Tar(e) => LayerError::Corrupt {
                compression,
                message: e.to_string(),
            },
        }
    }
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

impl Walker<'_> {
    fn walk<R: Read>(&mut self, unpacked: &mut R) -> Result<(), WalkError> {
        let mut stream = TarStream::new(Sequential(unpacked), self.limits.max_header_bytes);
        while let Some(header) = stream.next_entry().map_err(WalkError::Tar)? {
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(WalkError::Layer(LayerError::TooManyEntries {
                    limit: self.limits.max_entries,
                }));
            }
            let raw = String::from_utf8_lossy(&header.path).into_owned();
            let (path, how) = ImagePath::normalise(&raw);
            if how == Normalised::Escaped {
                self.warn(LayerWarning::PathEscaped {
                    raw: raw.clone(),
                    clamped: path.clone(),
                });
            }
            let size = header.size;
            if size > self.limits.max_file_bytes {
                return Err(WalkError::Layer(LayerError::FileTooLarge {
                    path,
                    size,
                    limit: self.limits.max_file_bytes,
                }));
            }
            let Some(kind) = self.kind(&header, &path) else {
                continue;
            };
            let (path, kind) = whiteout(path, kind);
            let entry_meta = LayerEntry {
                path,
                kind,
                size,
                mode: header.mode,
                uid: header.uid,
                gid: header.gid,
            };
            let wanted =
                entry_meta.kind == EntryKind::File && self.visitor.wants_content(&entry_meta);
            let content = if !wanted {
                if entry_meta.kind == EntryKind::File {
                    let mut content = Guarded {
                        inner: stream.content(),
                        failed: None,
                    };
                    self.visitor.stream_content(&entry_meta, &mut content);
                    if let Some(e) = content.failed {
                        return Err(WalkError::Io(e));
                    }
                }
                None
            } else if size > self.limits.max_captured_file_bytes {
                self.warn(LayerWarning::NotCaptured {
                    path: entry_meta.path.clone(),
                    size,
                });
                None
            } else {
                // The declared size is not trusted for the allocation: the
                // buffer grows with the bytes that really arrive.
                let mut buf = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
                stream.content().read_to_end(&mut buf)?;
                Some(buf)
            };
            self.visitor.entry(entry_meta, content);
        }
        Ok(())
    }

    fn kind(&mut self, header: &TarHeader, path: &ImagePath) -> Option<EntryKind> {
        use tar::EntryType as T;
        let link = || String::from_utf8_lossy(&header.link).into_owned();
        Some(match header.entry_type {
            T::Regular | T::Continuous | T::GNUSparse => EntryKind::File,
            T::Directory => EntryKind::Directory,
            T::Symlink => {
                let target = link();
                if path.link_target(&target).1 == Normalised::Escaped {
                    self.warn(LayerWarning::LinkEscapes {
                        path: path.clone(),
                        target: target.clone(),
                    });
                }
                EntryKind::Symlink { target }
            }
            T::Link => {
                let raw = link();
                let (target, how) = ImagePath::normalise(&raw);
                if how == Normalised::Escaped {
                    self.warn(LayerWarning::LinkEscapes {
                        path: path.clone(),
                        target: raw,
                    });
                }
                EntryKind::Hardlink { target }
            }
            T::Char | T::Block | T::Fifo => {
                self.warn(LayerWarning::SpecialFileIgnored { path: path.clone() });
                return None;
            }
            _ => return None, // PAX global headers and other metadata
        })
    }

    fn warn(&mut self, w: LayerWarning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.warnings_dropped += 1;
        }
    }
}

/// A file's content handed to [`LayerVisitor::stream_content`]: the first
/// read error is kept for the reader (the visitor gets one of the same
/// kind, and the same again if it reads on), so a visitor cannot swallow a
/// broken layer.
struct Guarded<R> {
    inner: R,
    failed: Option<io::Error>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io::Error::new(e.kind(), "the layer could not be read"));
        }
        match self.inner.read(buf) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                let kind = e.kind();
                self.failed = Some(e);
                Err(io::Error::new(kind, "the layer could not be read"))
            }
            other => other,
        }
    }
}

/// Turn `.wh.` entries into whiteouts of the path they name.
fn whiteout(path: ImagePath, kind: EntryKind) -> (ImagePath, EntryKind) {
    let name = path.file_name();
    let Some(hidden) = name.strip_prefix(".wh.") else {
        return (path, kind);
    };
    let parent = path.parent().unwrap_or(ImagePath::ROOT);
    if hidden == ".wh..opq" {
        (parent, EntryKind::OpaqueWhiteout)
    } else if hidden.starts_with(".wh.") || hidden.is_empty() {
        // AUFS metadata (`.wh..wh.plnk` and friends): not part of the image.
        (path, EntryKind::Directory)
    } else {
        (parent.join(hidden), EntryKind::Whiteout)
    }
}

fn io_error(e: io::Error, compression: Compression) -> LayerError {
    if let Some(v) = VerifyError::from_io(&e) {
        return LayerError::Verify(v.clone());
    }
    if let Some(limit) = e.get_ref().and_then(|i| i.downcast_ref::<LimitExceeded>()) {
        return LayerError::TooLarge { limit: limit.0 };
    }
    if let Some(window) = e.get_ref().and_then(|i| i.downcast_ref::<ZstdWindow>()) {
        return LayerError::ZstdWindowTooLarge { limit: window.0 };
    }
    let message = match e.kind() {
        // Go's gzip reader, as runtimes use it, fails alike: after a member
        // it reads the next header, so trailing junk reads as a cut member.
        io::ErrorKind::UnexpectedEof if compression == Compression::Gzip => {
            format!(
                "the stream is cut short, or followed by bytes that are not another gzip member: {e}"
            )
        }
        io::ErrorKind::UnexpectedEof => format!("truncated stream: {e}"),
        _ => e.to_string(),
    };
    LayerError::Corrupt {
        compression,
        message,
    }
}
