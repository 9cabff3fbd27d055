//! A repository kept in a directory (`file:///DIR`): Notary's layout under
//! it (`DIR/v2/<gun>/_trust/tuf/`), every file written by the publisher,
//! each atomically, timestamp last so that a reader never sees it ahead of
//! what it names.

use std::path::{Path, PathBuf};

use super::{RepositoryError, RepositoryStore};
use crate::client::{HttpTransport, PublishOutcome, ServerAddress, write_atomic};
use crate::gun::Gun;
use crate::publish::SignedFile;
use crate::schema::{RoleName, Version};

/// A directory repository.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    address: ServerAddress,
    transport: HttpTransport,
}

impl DirectoryStore {
    /// The repositories under `dir`, read back through `transport`
    /// (`file://` URLs).
    pub fn new(dir: PathBuf, transport: HttpTransport) -> DirectoryStore {
        DirectoryStore {
            address: ServerAddress::Directory(dir),
            transport,
        }
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

    async fn exists(&self, gun: &Gun) -> Result<bool, RepositoryError> {
        let dir = self.metadata_dir(gun);
        let first = RoleName::ROOT.versioned_file_name(Version::FIRST);
        Ok(has(&dir, &RoleName::ROOT.file_name()) || has(&dir, &first))
    }
}

fn has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}
