//! Trusted metadata on disk: `ROLE.json` files (role names percent-encoded),
//! written atomically so a crash leaves the previous version.

use std::path::{Path, PathBuf};

use crate::files::{Access, Existing, write_file};

use crate::client::UpdateError;
use crate::schema::RoleName;

/// Most bytes read back from a stored file (the largest role limit).
const MAX_STORED: u64 = 16 << 20;

/// A directory of trusted metadata, one `ROLE.json` file per role (the
/// name percent-encoded: [`RoleName::file_name`]).
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// The store in `dir`, created (with its parents) if missing, each
    /// directory made mode 0700 whatever the umask
    /// ([`crate::files::create_private_dir`]).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<DirStore> {
        let dir = dir.into();
        crate::files::create_private_dir(&dir)?;
        Ok(DirStore { dir })
    }

    /// The directory the store keeps its files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `role`, for messages.
    pub fn path_of(&self, role: &RoleName) -> String {
        self.file(role).display().to_string()
    }

    fn file(&self, role: &RoleName) -> PathBuf {
        self.dir.join(role.file_name())
    }

    /// The stored bytes of `role` (at most 16 MiB read), `None` if it has none.
    pub fn load(&self, role: &RoleName) -> Result<Option<Vec<u8>>, UpdateError> {
        use std::io::Read as _;
        let path = self.file(role);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(UpdateError::Store {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_STORED)
            .read_to_end(&mut bytes)
            .map_err(|source| UpdateError::Store {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Some(bytes))
    }

    /// Replace `role`'s file with `bytes`, atomically.
    pub fn save(&self, role: &RoleName, bytes: &[u8]) -> Result<(), UpdateError> {
        let path = self.file(role);
        write_atomic(&path, bytes).map_err(|source| UpdateError::Store {
            path: path.display().to_string(),
            source,
        })
    }
}

/// A store that pins nothing until the update it serves has succeeded: the
/// files go to a temporary directory beside the real store, and
/// [`StagedStore::commit`] replaces the real store's files with them (root
/// last). Dropped without a commit, it leaves the real store as it was.
#[derive(Debug)]
pub struct StagedStore {
    staging: tempfile::TempDir,
    store: DirStore,
    dest: DirStore,
}

impl StagedStore {
    /// Stage `root` (checked when an `Updater` starts from the staged store)
    /// for `dest`.
    pub fn new(dest: &DirStore, root: &[u8]) -> Result<StagedStore, UpdateError> {
        let io = |source| UpdateError::Store {
            path: dest.dir.display().to_string(),
            source,
        };
        let parent = dest.dir.parent().unwrap_or(Path::new("."));
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(parent)
            .map_err(io)?;
        let store = DirStore::new(staging.path()).map_err(io)?;
        store.save(&RoleName::ROOT, root)?;
        Ok(StagedStore {
            staging,
            store,
            dest: dest.clone(),
        })
    }

    /// The staged store, for the `Updater`.
    pub fn store(&self) -> DirStore {
        self.store.clone()
    }

    /// Pin what was staged: the real store's files are replaced by the
    /// staged ones, root written last.
    pub fn commit(self) -> Result<(), UpdateError> {
        let files = |dir: &Path| -> Result<Vec<PathBuf>, UpdateError> {
            let mut out = Vec::new();
            let entries = std::fs::read_dir(dir).map_err(|source| UpdateError::Store {
                path: dir.display().to_string(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                    out.push(path);
                }
            }
            Ok(out)
        };
        let err = |path: &Path, source| UpdateError::Store {
            path: path.display().to_string(),
            source,
        };
        let root = self.dest.file(&RoleName::ROOT);
        // The old root first, so a crash midway leaves nothing pinned.
        let mut old = files(&self.dest.dir)?;
        old.sort_by_key(|p| *p != root);
        for path in old {
            std::fs::remove_file(&path).map_err(|e| err(&path, e))?;
        }
        let mut staged = files(self.staging.path())?;
        staged.sort_by_key(|p| p.file_name() == root.file_name());
        for path in staged {
            let bytes = std::fs::read(&path).map_err(|e| err(&path, e))?;
            let target = self.dest.dir.join(path.file_name().unwrap_or_default());
            write_atomic(&target, &bytes).map_err(|e| err(&target, e))?;
        }
        Ok(())
    }
}

/// As [`write_atomic`], readable by the owner only (mode 0600 from creation).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, Access::OwnerOnly, Existing::Replace)
}

/// Write through an exclusive, randomly named temporary file beside
/// `path`, sync it, then rename it over (see [`crate::files`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, Access::Readable, Existing::Replace)
}

/// Percent-encode everything but unreserved characters, as Python's
/// `urllib.parse.quote(name, "")` does: role and target names become safe
/// single file names and URL segments.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo [`quote`] (or any percent-encoding); `None` for a bad escape or
/// bytes that are not UTF-8.
pub fn unquote(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting_leaves_no_separators() {
        for name in ["a/b c", "targets/releases", "x%y", "plain"] {
            assert_eq!(super::unquote(&super::quote(name)).as_deref(), Some(name));
        }
        assert_eq!(super::unquote("%zz"), None);
        assert_eq!(super::unquote("%4"), None);
        assert_eq!(super::quote("a/b c"), "a%2Fb%20c");
        assert_eq!(super::quote("../../etc"), "..%2F..%2Fetc");
        assert_eq!(super::quote("role-1_x.y~"), "role-1_x.y~");
    }
}
