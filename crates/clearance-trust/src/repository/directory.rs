//! A repository kept in a directory (`file:///DIR`): Notary's layout under
//! it (`DIR/v2/<gun>/_trust/tuf/`), every file written by the publisher,
//! each atomically, timestamp last so that a reader never sees it ahead of
//! what it names. A publisher locks the directory ([`StoreLock`]) for its
//! whole load, change and write, and a file whose version is there already
//! is not written (another publish overtook this one).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{RepositoryError, RepositoryStore};
use crate::client::{HttpTransport, PublishOutcome, ServerAddress, write_atomic};
use crate::gun::Gun;
use crate::publish::SignedFile;
use crate::schema::{RoleName, Version};

/// How long a publish waits for another publisher of the same directory
/// repository to finish.
pub const PUBLISH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The name of the lock file in a repository's metadata directory.
const LOCK_FILE: &str = ".lock";

/// An exclusive lock on a directory repository (an OS file lock on
/// `.lock` in its metadata directory, released when dropped or when the
/// process ends, so a crashed publisher leaves no stale lock), or nothing
/// for a store that needs none.
#[derive(Debug)]
pub struct StoreLock(Option<std::fs::File>);

impl StoreLock {
    /// No lock (a trust service checks each publish itself).
    pub fn none() -> StoreLock {
        StoreLock(None)
    }

    /// Whether a lock is held.
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }
}

/// A directory repository.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    address: ServerAddress,
    transport: HttpTransport,
    lock_wait: Duration,
}

impl DirectoryStore {
    /// The repositories under `dir`, read back through `transport`
    /// (`file://` URLs).
    pub fn new(dir: PathBuf, transport: HttpTransport) -> DirectoryStore {
        DirectoryStore {
            address: ServerAddress::Directory(dir),
            transport,
            lock_wait: PUBLISH_LOCK_WAIT,
        }
    }

    /// The same store, waiting at most `wait` for another publisher's lock.
    pub fn with_lock_wait(mut self, wait: Duration) -> DirectoryStore {
        self.lock_wait = wait;
        self
    }

    /// The version of `role` stored for `gun` now, if its file is there and
    /// names one.
    fn stored_version(dir: &Path, file: &SignedFile) -> Option<Version> {
        let bytes = std::fs::read(dir.join(file.role.file_name())).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let version = value.get("signed")?.get("version")?.as_u64()?;
        Version::new(version).ok()
    }

    /// The directory holding `gun`'s metadata (a [`Gun`] has no `.` or `..`
    /// component, so it stays under the base directory).
    pub fn metadata_dir(&self, gun: &Gun) -> PathBuf {
        self.address
            .metadata_dir(gun)
            .unwrap_or_else(|| PathBuf::from(gun.as_str()))
    }
}

impl RepositoryStore for DirectoryStore {
    type Transport = HttpTransport;

    fn metadata_url(&self, gun: &Gun) -> String {
        self.address.metadata_url(gun)
    }

    fn transport(&self) -> &HttpTransport {
        &self.transport
    }

    fn signs_online_roles(&self) -> bool {
        false
    }

    async fn publish(
        &self,
        gun: &Gun,
        files: &[SignedFile],
    ) -> Result<PublishOutcome, RepositoryError> {
        if files.is_empty() {
            return Ok(PublishOutcome::Stored);
        }
        let dir = self.metadata_dir(gun);
        std::fs::create_dir_all(&dir).map_err(|source| RepositoryError::Write {
            path: dir.clone(),
            source,
        })?;
        // What the caller loaded was overtaken (it should hold the lock,
        // [`RepositoryStore::lock`]): write nothing, as a service answers 409.
        for file in files {
            if let Some(stored) = Self::stored_version(&dir, file)
                && stored >= file.version
            {
                return Ok(PublishOutcome::Stale(format!(
                    "{} is at version {stored} there already, this publish would write version {}",
                    file.role, file.version
                )));
            }
        }
        // In order: timestamp last, so readers never see it ahead of what it names.
        for file in files {
            for name in file.file_names() {
                let path = dir.join(name);
                write_atomic(&path, &file.bytes)
                    .map_err(|source| RepositoryError::Write { path, source })?;
            }
        }
        Ok(PublishOutcome::Stored)
    }

    async fn check_login(&self, _gun: &Gun) -> Result<(), RepositoryError> {
        // A directory has no login.
        Ok(())
    }

    async fn lock(&self, gun: &Gun) -> Result<StoreLock, RepositoryError> {
        self.lock_dir(gun).await
    }

    async fn exists(&self, gun: &Gun) -> Result<bool, RepositoryError> {
        let dir = self.metadata_dir(gun);
        let first = RoleName::ROOT.versioned_file_name(Version::FIRST);
        Ok(has(&dir, &RoleName::ROOT.file_name()) || has(&dir, &first))
    }
}

impl DirectoryStore {
    /// Take the lock on `gun`'s metadata directory (made if missing),
    /// waiting up to the store's lock wait for another publisher.
    pub(super) async fn lock_dir(&self, gun: &Gun) -> Result<StoreLock, RepositoryError> {
        let dir = self.metadata_dir(gun);
        std::fs::create_dir_all(&dir).map_err(|source| RepositoryError::Write {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| RepositoryError::Write {
                path: path.clone(),
                source,
            })?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock(Some(file))),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(RepositoryError::Write { path, source });
                }
            }
            if started.elapsed() >= self.lock_wait {
                return Err(RepositoryError::Locked {
                    dir,
                    lock: path,
                    waited: self.lock_wait.as_secs(),
                });
            }
            if !told {
                tracing::info!(lock = %path.display(), "another publisher is writing to this repository; waiting");
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}
