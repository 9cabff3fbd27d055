//! Files of a local image: a directory, or an uncompressed tar read in place
//! (entries are located once, then read by offset; nothing is extracted).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::layer::ImagePath;
use crate::source::SourceError;

/// Most entries indexed in an archive, and symlinks followed to open one.
const MAX_ARCHIVE_ENTRIES: usize = 1_000_000;
const MAX_LINK_HOPS: usize = 8;

/// Where a local image's files live.
#[derive(Debug)]
pub enum Files {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        index: HashMap<String, TarItem>,
    },
}

#[derive(Debug, Clone)]
pub enum TarItem {
    File { offset: u64, size: u64 },
    Link(String),
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
        let mut archive = tar::Archive::new(file);
        let mut index = HashMap::new();
        let bad = |e: io::Error| SourceError::Archive {
            path: path.to_owned(),
            message: format!("not a readable tar archive: {e}"),
        };
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            if index.len() >= MAX_ARCHIVE_ENTRIES {
                return Err(SourceError::Archive {
                    path: path.to_owned(),
                    message: format!("more than {MAX_ARCHIVE_ENTRIES} entries"),
                });
            }
            let name = ImagePath::normalise(&String::from_utf8_lossy(&entry.path_bytes())).0;
            let item = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => TarItem::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink => {
                    let target =
                        String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default())
                            .into_owned();
                    TarItem::Link(name.link_target(&target).0.as_str().to_owned())
                }
                tar::EntryType::Link => {
                    let target =
                        String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default())
                            .into_owned();
                    TarItem::Link(ImagePath::normalise(&target).0.as_str().to_owned())
                }
                _ => continue,
            };
            index.insert(name.as_str().to_owned(), item);
        }
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
