//! Files of a local image: a directory, or an uncompressed tar read in place
//! (entries are located once, then read by offset; nothing is extracted).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::layer::ImagePath;
use crate::layer::tarstream::{DEFAULT_MAX_HEADER_BYTES, Seekable, TarError, TarStream};
use crate::source::SourceError;

/// Most members indexed in an archive (an image archive holds a few per
/// blob), the most bytes of member names kept, and symlinks followed to
/// open one: together they bound the index's memory.
const MAX_ARCHIVE_ENTRIES: usize = 100_000;
const MAX_ARCHIVE_NAME_BYTES: usize = 16 << 20;
const MAX_LINK_HOPS: usize = 8;

/// Where a local image's files live.
#[derive(Debug)]
pub enum Files {
    Dir(PathBuf),
    Tar { path: PathBuf, index: ArchiveIndex },
}

/// A member of an indexed archive.
#[derive(Debug, Clone)]
pub enum TarItem {
    /// A regular file's data: `size` bytes at `offset` in the archive.
    File { offset: u64, size: u64 },
    /// A hard or symbolic link, its target normalised inside the archive.
    Link(String),
    /// A sparse file (no image tool writes one into an archive).
    Sparse,
}

/// The members of an uncompressed tar archive by normalised name, found in
/// one pass that seeks over their data; nothing is extracted. Bounded in
/// members ([`MAX_ARCHIVE_ENTRIES`]), name bytes and per-member metadata.
#[derive(Debug, Default)]
pub struct ArchiveIndex {
    items: HashMap<String, TarItem>,
}

/// Why an archive could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a readable tar archive: {0}")]
    Tar(#[from] TarError),
    #[error("more than {limit} members")]
    TooManyMembers { limit: usize },
    #[error("member names add up to more than {limit} bytes")]
    NamesTooLong { limit: usize },
}

impl ArchiveIndex {
    /// Index a tar archive from its start; later members of the same name
    /// replace earlier ones, as extraction would.
    pub fn read<R: Read + Seek>(reader: R) -> Result<ArchiveIndex, ArchiveError> {
        let mut stream = TarStream::new(
            Seekable::new(reader).map_err(TarError::Io)?,
            DEFAULT_MAX_HEADER_BYTES,
        );
        let mut items = HashMap::new();
        let mut name_bytes = 0usize;
        while let Some(h) = stream.next_entry()? {
            let name = ImagePath::normalise(&String::from_utf8_lossy(&h.path)).0;
            let link = || String::from_utf8_lossy(&h.link).into_owned();
            let item = match h.entry_type {
                _ if h.sparse => TarItem::Sparse,
                tar::EntryType::Regular | tar::EntryType::Continuous => TarItem::File {
                    offset: h.data_offset,
                    size: h.size,
                },
                tar::EntryType::Symlink => {
                    TarItem::Link(name.link_target(&link()).0.as_str().to_owned())
                }
                tar::EntryType::Link => {
                    TarItem::Link(ImagePath::normalise(&link()).0.as_str().to_owned())
                }
                _ => continue,
            };
            if items.len() >= MAX_ARCHIVE_ENTRIES {
                return Err(ArchiveError::TooManyMembers {
                    limit: MAX_ARCHIVE_ENTRIES,
                });
            }
            name_bytes += name.as_str().len()
                + if let TarItem::Link(t) = &item {
                    t.len()
                } else {
                    0
                };
            if name_bytes > MAX_ARCHIVE_NAME_BYTES {
                return Err(ArchiveError::NamesTooLong {
                    limit: MAX_ARCHIVE_NAME_BYTES,
                });
            }
            items.insert(name.as_str().to_owned(), item);
        }
        Ok(ArchiveIndex { items })
    }

    /// Members indexed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every member.
    pub fn items(&self) -> impl Iterator<Item = &TarItem> {
        self.items.values()
    }

    /// The member a normalised name refers to.
    pub fn get(&self, name: &str) -> Option<&TarItem> {
        self.items.get(name)
    }
}

impl Files {
    pub fn dir(path: &Path) -> Result<Files, SourceError> {
        if !path.is_dir() {
            return Err(SourceError::NotFound {
                what: format!("OCI layout directory {}", path.display()),
            });
        }
        Ok(Files::Dir(path.to_owned()))
    }

    /// Index an uncompressed tar archive.
    pub fn tar(path: &Path) -> Result<Files, SourceError> {
        let io_err = |source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(io_err)?;
        if n >= 2 && (magic[..2] == [0x1f, 0x8b] || magic == [0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(SourceError::Archive {
                path: path.to_owned(),
                message: "the archive is compressed; decompress it first (gunzip or zstd -d)"
                    .into(),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let index =
            ArchiveIndex::read(io::BufReader::new(file)).map_err(|e| SourceError::Archive {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Files::Tar {
            path: path.to_owned(),
            index,
        })
    }

    /// Where a relative path is, for error messages.
    pub fn describe(&self, rel: &str) -> String {
        match self {
            Files::Dir(dir) => dir.join(rel).display().to_string(),
            Files::Tar { path, .. } => format!("{}:{rel}", path.display()),
        }
    }

    /// Open a file for streaming, with its size.
    pub fn open(&self, rel: &str) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        let rel = ImagePath::normalise(rel).0;
        match self {
            Files::Dir(dir) => {
                let path = dir.join(rel.as_str());
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => SourceError::NotFound {
                        what: path.display().to_string(),
                    },
                    _ => SourceError::Io {
                        path: path.clone(),
                        source: e,
                    },
                })?;
                let size = file
                    .metadata()
                    .map_err(|e| SourceError::Io { path, source: e })?
                    .len();
                Ok((Box::new(file), size))
            }
            Files::Tar { path, index } => {
                let mut name = rel.as_str().to_owned();
                for _ in 0..=MAX_LINK_HOPS {
                    match index.get(&name) {
                        Some(TarItem::File { offset, size }) => {
                            let mut file = File::open(path).map_err(|source| SourceError::Io {
                                path: path.clone(),
                                source,
                            })?;
                            file.seek(SeekFrom::Start(*offset)).map_err(|source| {
                                SourceError::Io {
                                    path: path.clone(),
                                    source,
                                }
                            })?;
                            return Ok((Box::new(file.take(*size)), *size));
                        }
                        Some(TarItem::Link(target)) => name = target.clone(),
                        Some(TarItem::Sparse) => {
                            return Err(SourceError::Archive {
                                path: path.clone(),
                                message: format!(
                                    "member {name} is a sparse file, which image archives never hold"
                                ),
                            });
                        }
                        None => break,
                    }
                }
                Err(SourceError::NotFound {
                    what: self.describe(rel.as_str()),
                })
            }
        }
    }

    /// Read a whole small file, refusing more than `limit` bytes.
    pub fn read_small(&self, rel: &str, limit: u64) -> Result<Vec<u8>, SourceError> {
        let (reader, size) = self.open(rel)?;
        if size > limit {
            return Err(SourceError::TooLarge {
                what: self.describe(rel),
                limit,
            });
        }
        let mut out = Vec::new();
        reader
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|source| SourceError::Io {
                path: PathBuf::from(self.describe(rel)),
                source,
            })?;
        Ok(out)
    }
}
