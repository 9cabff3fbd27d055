//! What the trust service could not do, and how each failure answers over
//! HTTP: the status and the wire code live here, beside the enum (as
//! `clearance_auth::Denied` and Garage's `http_status_code()`/`aws_code()`
//! do), so the router only writes the envelope.

use axum::http::StatusCode;
use clearance_auth::ErrorCode;

use super::accept::Refused;
use super::keys::KeyError;
use super::store::StoreError;
use crate::gun::Gun;
use crate::schema::TopRole;

/// Something the service could not do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The publish was refused; nothing was stored. (A store failure met
    /// while checking it is a [`ServiceError::Store`]: a conflict has one
    /// place only.)
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The metadata database failed, or another publish landed first
    /// ([`StoreError::Conflict`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server-held key could not be made or unsealed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A stored public key is not valid JSON.
    #[error("the stored public {role} key of {gun} is corrupt: {source}")]
    CorruptKey {
        /// The repository.
        gun: Gun,
        /// Snapshot or timestamp.
        role: TopRole,
        /// The JSON parser's reason.
        #[source]
        source: serde_json::Error,
    },
    /// The blocking task that checks a publish stopped before it finished.
    #[error("checking the publish to {gun} stopped: {source}")]
    Interrupted {
        /// The repository.
        gun: Gun,
        /// Why the task stopped (a panic, a shutdown).
        #[source]
        source: tokio::task::JoinError,
    },
    /// A key asked for of a role the service never holds (the name as
    /// given in the URL).
    #[error("{role} keys are not held by the trust service (only timestamp and snapshot)")]
    NotServerRole {
        /// The name in the URL.
        role: String,
    },
    /// A rotation asked for before the service holds a key to rotate.
    #[error(
        "the trust service holds no {role} key for this repository yet, so there is none to rotate"
    )]
    NoServerKey {
        /// Snapshot or timestamp.
        role: TopRole,
    },
}

impl ServiceError {
    /// The HTTP status: 409 when another publish landed first, 400 for a
    /// refused publish, 404 for a key the service does not hold, 500 for a
    /// failure of the service itself.
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Refused(Refused::Stale { .. })
            | ServiceError::Store(StoreError::Conflict { .. }) => StatusCode::CONFLICT,
            // The service failed to sign what it holds the keys for.
            ServiceError::Refused(Refused::Sign { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
            // Every other refusal is about the publisher's metadata.
            ServiceError::Refused(_) => StatusCode::BAD_REQUEST,
            ServiceError::Store(e) => store_status(e),
            ServiceError::NotServerRole { .. } | ServiceError::NoServerKey { .. } => {
                StatusCode::NOT_FOUND
            }
            ServiceError::Key(_)
            | ServiceError::CorruptKey { .. }
            | ServiceError::Interrupted { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code in the OCI error envelope.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Refused(Refused::Stale { .. })
            | ServiceError::Store(StoreError::Conflict { .. }) => ErrorCode::MetadataStale,
            ServiceError::Refused(Refused::Sign { .. }) => ErrorCode::Unknown,
            ServiceError::Refused(_) => ErrorCode::MetadataInvalid,
            ServiceError::Store(e) => store_code(e),
            ServiceError::NotServerRole { .. } | ServiceError::NoServerKey { .. } => {
                ErrorCode::NotFound
            }
            ServiceError::Key(_)
            | ServiceError::CorruptKey { .. }
            | ServiceError::Interrupted { .. } => ErrorCode::Unknown,
        }
    }

    /// Whether the failure is the service's own (500): its detail goes to
    /// the server log, and the client is told only to look there.
    pub fn is_internal(&self) -> bool {
        self.status().is_server_error()
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::Conflict { .. } => StatusCode::CONFLICT,
        StoreError::Open { .. }
        | StoreError::Query(_)
        | StoreError::BadVersion { .. }
        | StoreError::BadRole { .. }
        | StoreError::KeyVanished { .. }
        | StoreError::InjectedFault { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::Conflict { .. } => ErrorCode::MetadataStale,
        StoreError::Open { .. }
        | StoreError::Query(_)
        | StoreError::BadVersion { .. }
        | StoreError::BadRole { .. }
        | StoreError::KeyVanished { .. }
        | StoreError::InjectedFault { .. } => ErrorCode::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{RoleName, Version};

    fn conflict() -> StoreError {
        StoreError::Conflict {
            gun: Gun::new("r/a").unwrap(),
            role: RoleName::TIMESTAMP,
            version: Version::new(3).unwrap(),
        }
    }

    #[test]
    fn a1_4_each_error_carries_its_status_and_code() {
        let cases = [
            (
                ServiceError::from(Refused::Stale {
                    role: RoleName::TARGETS,
                    stored: Version::new(4).unwrap(),
                    got: Version::new(4).unwrap(),
                }),
                StatusCode::CONFLICT,
                ErrorCode::MetadataStale,
            ),
            (
                ServiceError::from(conflict()),
                StatusCode::CONFLICT,
                ErrorCode::MetadataStale,
            ),
            (
                ServiceError::from(Refused::Empty),
                StatusCode::BAD_REQUEST,
                ErrorCode::MetadataInvalid,
            ),
            (
                ServiceError::from(Refused::Sign {
                    role: TopRole::Timestamp,
                    source: crate::editor::EditError::Serialize("token removed".into()),
                }),
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Unknown,
            ),
            (
                ServiceError::from(Refused::NotDelegated {
                    role: RoleName::new("targets/x").unwrap(),
                }),
                StatusCode::BAD_REQUEST,
                ErrorCode::MetadataInvalid,
            ),
            (
                ServiceError::from(StoreError::Query("disk full".into())),
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Unknown,
            ),
            (
                ServiceError::from(KeyError::Crypto("bad".into())),
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Unknown,
            ),
            (
                ServiceError::NotServerRole {
                    role: "root".into(),
                },
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                ServiceError::NoServerKey {
                    role: TopRole::Snapshot,
                },
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status(), error.code()), (status, code), "{error}");
            assert_eq!(error.is_internal(), status.is_server_error(), "{error}");
        }
    }
}
