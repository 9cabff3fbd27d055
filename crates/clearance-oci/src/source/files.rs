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
    /// A layout directory: `path` as given (for messages), `root` its
    /// canonical form, which no file read may resolve outside of.
    Dir {
        path: PathBuf,
        root: PathBuf,
    },
    Tar {
        path: PathBuf,
        index: ArchiveIndex,
    },
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

/// Why a local file was refused before anything was read from it.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    #[error(
        "{path} is {found}, not a regular file; an image layout holds only regular files \
         (symlinks to regular files inside the layout are followed)"
    )]
    NotRegular { path: PathBuf, found: &'static str },
    #[error(
        "{path} resolves to {target}, outside the layout {root}; refusing to read a file \
         outside the layout (copy it into the layout instead of linking to it)"
    )]
    OutsideLayout {
        path: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error(
        "{path} is a file, not an OCI layout directory: read a tar of a layout as \
         oci-archive:{path}, or the output of docker save as docker-archive:{path}"
    )]
    LayoutIsAFile { path: PathBuf },
    #[error(
        "{path} is a directory, not an archive: read an OCI layout directory as oci:{path} \
         (docker-archive: and oci-archive: read a tar file)"
    )]
    ArchiveIsADirectory { path: PathBuf },
    #[error(
        "{path} is {found}, not a regular file: docker-archive: and oci-archive: read the \
         archive by offset, so save the stream to a file first (for example \
         `docker save IMAGE -o image.tar`) and read that"
    )]
    ArchiveNotRegular { path: PathBuf, found: &'static str },
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
    /// A layout directory. Files are read only if they resolve inside it
    /// (see [`Files::open`]).
    pub fn dir(path: &Path) -> Result<Files, SourceError> {
        let io_err = |source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SourceError::NotFound {
                    what: format!("OCI layout directory {}", path.display()),
                });
            }
            Err(e) => return Err(io_err(e)),
            Ok(m) if m.is_file() => {
                return Err(LocalFileError::LayoutIsAFile {
                    path: path.to_owned(),
                }
                .into());
            }
            Ok(m) if !m.is_dir() => {
                return Err(LocalFileError::NotRegular {
                    path: path.to_owned(),
                    found: file_kind(&m),
                }
                .into());
            }
            Ok(_) => {}
        }
        let root = std::fs::canonicalize(path).map_err(io_err)?;
        Ok(Files::Dir {
            path: path.to_owned(),
            root,
        })
    }

    /// Index an uncompressed tar archive.
    pub fn tar(path: &Path) -> Result<Files, SourceError> {
        let io_err = |source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = open_regular(path).map_err(|e| match e {
            Opened::Io(source) => io_err(source),
            Opened::Directory => LocalFileError::ArchiveIsADirectory {
                path: path.to_owned(),
            }
            .into(),
            Opened::Other(found) => LocalFileError::ArchiveNotRegular {
                path: path.to_owned(),
                found,
            }
            .into(),
        })?;
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
            Files::Dir { path, .. } => path.join(rel).display().to_string(),
            Files::Tar { path, .. } => format!("{}:{rel}", path.display()),
        }
    }

    /// Open a file for streaming, with its size.
    pub fn open(&self, rel: &str) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        let rel = ImagePath::normalise(rel).0;
        match self {
            Files::Dir { path: dir, root } => {
                let (file, size) = open_inside(dir, root, rel.as_str())?;
                Ok((Box::new(file), size))
            }
            Files::Tar { path, index } => {
                let mut name = rel.as_str().to_owned();
                for _ in 0..=MAX_LINK_HOPS {
                    match index.get(&name) {
                        Some(TarItem::File { offset, size }) => {
                            let mut file = open_regular(path).map_err(|e| match e {
                                Opened::Io(source) => SourceError::Io {
                                    path: path.clone(),
                                    source,
                                },
                                Opened::Directory => {
                                    LocalFileError::ArchiveIsADirectory { path: path.clone() }
                                        .into()
                                }
                                Opened::Other(found) => LocalFileError::ArchiveNotRegular {
                                    path: path.clone(),
                                    found,
                                }
                                .into(),
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

/// Open `rel` under a layout directory: only a regular file, only inside
/// `root` (the directory's canonical path). A symlink is followed when
/// where it leads stays inside the layout; a FIFO never blocks the open.
fn open_inside(dir: &Path, root: &Path, rel: &str) -> Result<(File, u64), SourceError> {
    let path = dir.join(rel);
    let io_err = |path: &Path, source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let target = std::fs::canonicalize(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SourceError::NotFound {
            what: path.display().to_string(),
        },
        _ => io_err(&path, e),
    })?;
    if !target.starts_with(root) {
        return Err(LocalFileError::OutsideLayout {
            path,
            target,
            root: root.to_owned(),
        }
        .into());
    }
    let file = open_regular(&target).map_err(|e| match e {
        Opened::Io(source) => io_err(&path, source),
        Opened::Directory => LocalFileError::NotRegular {
            path: path.clone(),
            found: "a directory",
        }
        .into(),
        Opened::Other(found) => LocalFileError::NotRegular {
            path: path.clone(),
            found,
        }
        .into(),
    })?;
    let size = file.metadata().map_err(|e| io_err(&path, e))?.len();
    Ok((file, size))
}

/// Why [`open_regular`] gave no file.
enum Opened {
    Io(io::Error),
    Directory,
    /// Neither a regular file nor a directory: what it is.
    Other(&'static str),
}

/// Open a file for reading only if it is a regular file. The open does not
/// block on a FIFO without a writer (`O_NONBLOCK`, which reads of a regular
/// file ignore), and what is checked is the opened file's own metadata
/// (`fstat`), so a file swapped after a check is still caught.
fn open_regular(path: &Path) -> Result<File, Opened> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(Opened::Io)?;
    let metadata = file.metadata().map_err(Opened::Io)?;
    if metadata.is_file() {
        Ok(file)
    } else if metadata.is_dir() {
        Err(Opened::Directory)
    } else {
        Err(Opened::Other(file_kind(&metadata)))
    }
}

/// What a file that is not a regular file is, for messages.
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = metadata.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symlink"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}
