//! What an error chain says about the trust server: the fetch error under
//! it, wherever a library wrapped it, and whether the repository had no
//! trust data at all. Commands decide their exit code by these.

use clearance_trust::Gun;
use clearance_trust::client::{FetchError, UpdateError};
use clearance_trust::publish::PublishError;
use clearance_trust::repository::RepositoryError;

use super::common::TrustSettings;

/// The trust server's fetch error under an error chain, wherever a library
/// wrapped it (an update, a repository load).
pub fn fetch_error(e: &anyhow::Error) -> Option<&FetchError> {
    e.chain().find_map(|cause| {
        if let Some(f) = cause.downcast_ref::<FetchError>() {
            return Some(f);
        }
        match cause.downcast_ref::<UpdateError>() {
            Some(UpdateError::Fetch(f)) => return Some(f),
            Some(_) => return None,
            None => {}
        }
        match cause.downcast_ref::<PublishError>() {
            Some(PublishError::Update(UpdateError::Fetch(f))) => Some(f),
            _ => None,
        }
    })
}

/// The update error under an error chain.
pub fn update_error(e: &anyhow::Error) -> Option<&UpdateError> {
    e.chain().find_map(|cause| {
        cause
            .downcast_ref::<UpdateError>()
            .or_else(|| match cause.downcast_ref::<PublishError>() {
                Some(PublishError::Update(u)) => Some(u),
                _ => None,
            })
    })
}

/// Whether the repository has no trust data at all on its server.
pub fn no_trust_data(e: &anyhow::Error) -> bool {
    matches!(update_error(e), Some(UpdateError::NoTrustData { .. }))
}

/// The error for a repository whose root is pinned here but whose server
/// has no trust data for it (review 9 #9): the wrong server, or deleted.
pub fn vanished(trust: &TrustSettings, gun: &Gun) -> RepositoryError {
    RepositoryError::Vanished {
        gun: gun.clone(),
        url: trust.metadata_url(gun),
    }
}
