//! A repository on a trust service (`clearance serve --trust`, or another
//! Notary-compatible server): read over HTTP(S), published as one multipart
//! POST that the service checks and stores, or refuses.

use super::{RepositoryError, RepositoryStore};
use crate::client::{FetchError, HttpTransport, PublishOutcome, ServerAddress, Transport as _};
use crate::gun::Gun;
use crate::keys::Key;
use crate::publish::SignedFile;
use crate::schema::{RoleName, TopRole, Version};

/// Most bytes of a first root read to learn whether a repository exists.
const ROOT_MAX_BYTES: u64 = 512_000;

/// A trust service at a base URL.
#[derive(Debug, Clone)]
pub struct ServiceStore {
    address: ServerAddress,
    transport: HttpTransport,
}

impl ServiceStore {
    /// The service at `address` (an `http(s)://` address), reached through
    /// `transport` (its login and CA).
    pub fn new(address: ServerAddress, transport: HttpTransport) -> ServiceStore {
        ServiceStore { address, transport }
    }

    /// The public key the service holds for `gun`'s `role` (timestamp or
    /// snapshot), made on first request (which needs push).
    pub async fn server_key(&self, gun: &Gun, role: TopRole) -> Result<Key, FetchError> {
        self.transport
            .server_key(&self.metadata_url(gun), role)
            .await
    }

    /// Ask the service for a new key for `gun`'s `role`; it signs with it
    /// once a published root names it.
    pub async fn rotate_server_key(&self, gun: &Gun, role: TopRole) -> Result<Key, FetchError> {
        self.transport
            .rotate_server_key(&self.metadata_url(gun), role)
            .await
    }
}

impl RepositoryStore for ServiceStore {
    type Transport = HttpTransport;

    fn metadata_url(&self, gun: &Gun) -> String {
        self.address.metadata_url(gun)
    }

    fn transport(&self) -> &HttpTransport {
        &self.transport
    }

    fn signs_online_roles(&self) -> bool {
        true
    }

    async fn publish(
        &self,
        gun: &Gun,
        files: &[SignedFile],
    ) -> Result<PublishOutcome, RepositoryError> {
        if files.is_empty() {
            // An empty publish is not sent (a service answers it with 400).
            return Ok(PublishOutcome::Stored);
        }
        // The service keeps every version itself: each role once, by name.
        let current: Vec<(RoleName, Vec<u8>)> = files
            .iter()
            .map(|f| (f.role.clone(), f.bytes.clone()))
            .collect();
        let url = self.metadata_url(gun);
        self.transport
            .publish(&url, &current)
            .await
            .map_err(|source| RepositoryError::Publish { url, source })
    }

    async fn check_login(&self, gun: &Gun) -> Result<(), RepositoryError> {
        self.transport
            .check_push(&self.metadata_url(gun))
            .await
            .map_err(|source| RepositoryError::Login {
                gun: gun.clone(),
                source,
            })
    }

    async fn exists(&self, gun: &Gun) -> Result<bool, RepositoryError> {
        let url = format!(
            "{}{}",
            self.metadata_url(gun),
            RoleName::ROOT.versioned_file_name(Version::FIRST)
        );
        match self.transport.fetch(&url, ROOT_MAX_BYTES).await {
            // Something that is no root is not a repository there: a server
            // that answers 200 to everything is not a trust server.
            Ok(Some(bytes)) => {
                match crate::metadata::Signed::<crate::schema::Root>::parse(&bytes, &RoleName::ROOT)
                {
                    Ok(_) => Ok(true),
                    Err(_) => Err(RepositoryError::NotTrustServer { url }),
                }
            }
            Ok(None) => Ok(false),
            Err(source) => Err(RepositoryError::Exists {
                gun: gun.clone(),
                url,
                source,
            }),
        }
    }
}
