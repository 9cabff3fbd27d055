//! Why a publish is refused: the publisher's metadata (or what the service
//! holds for it) does not make a repository clients would accept.

use crate::client::UpdateError;
use crate::editor::EditError;
use crate::schema::{RoleName, TopRole, Version};

/// Why a publish was refused: what the publisher uploaded (or what the
/// service holds for it) does not make a repository clients would accept.
/// Nothing of it was stored. The database's own failures are
/// [`crate::server::ServiceError::Store`], never one of these.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A document does not verify, or breaks a client's rule (TUF §5).
    #[error("{role}: {source}")]
    Invalid {
        /// The role whose document it is.
        role: RoleName,
        /// The client's reason.
        #[source]
        source: UpdateError,
    },
    /// A role is not newer than a version clients may have seen (another
    /// publish landed first: 409).
    #[error(
        "{role}: version {got} is not newer than the stored version {stored}; fetch the current metadata and publish again"
    )]
    Stale {
        /// The role.
        role: RoleName,
        /// The highest version stored or listed.
        stored: Version,
        /// The version uploaded.
        got: Version,
    },
    /// A role the service signs is at the largest version there is.
    #[error(
        "{role} is at version {}, the largest there is; no later version can follow",
        Version::MAX
    )]
    Exhausted {
        /// The role.
        role: RoleName,
    },
    /// The delegation walk met more roles than one publish may hold.
    #[error("more than {limit} delegated roles")]
    TooManyRoles {
        /// The most roles walked.
        limit: usize,
    },
    /// A delegator changed its hash bins' grant without uploading every bin
    /// (review B-11).
    #[error(
        "{delegator} gives its hash bins other keys, threshold or bit length, so every bin must be signed again and published with it; {bin} is missing"
    )]
    MissingBin {
        /// The role that delegates to the bins.
        delegator: RoleName,
        /// The first bin missing from the upload.
        bin: RoleName,
    },
    /// The service could not sign a role it holds the key for (500).
    #[error("signing {role}: {source}")]
    Sign {
        /// Snapshot or timestamp.
        role: TopRole,
        /// The signer's failure.
        #[source]
        source: EditError,
    },
    /// A new repository's first publish lacks a role it starts with.
    #[error("{role}: a new repository starts with {}", .role.role().file_name())]
    FirstPublish {
        /// Root or targets.
        role: TopRole,
    },
    /// Root names no keys for a top-level role.
    #[error("root: root names no {role} keys")]
    RootLacksKeys {
        /// The role.
        role: TopRole,
    },
    /// Snapshot or timestamp must be signed by the service, which does not
    /// hold the key root names for it, and the publisher did not upload it.
    #[error(
        "{role}: this trust service does not hold the {role} key that root names, so {role}.json must be published with the rest"
    )]
    NotServerSigned {
        /// Snapshot or timestamp.
        role: TopRole,
    },
    /// An uploaded role no role of the repository delegates to.
    #[error("{role} is not delegated by any role of this repository")]
    NotDelegated {
        /// The role.
        role: RoleName,
    },
    /// An uploaded snapshot does not list exactly what is current.
    #[error("snapshot: {0}")]
    SnapshotListing(SnapshotListing),
    /// A re-sign was asked of a repository that has nothing stored.
    #[error("nothing to publish")]
    Empty,
}

/// How an uploaded snapshot's `meta` differs from what is current.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotListing {
    /// A current role is not listed.
    #[error("does not list {entry}")]
    Missing {
        /// Its `meta` entry (`ROLE.json`).
        entry: String,
    },
    /// A role is listed at another version than its current one.
    #[error("lists {entry} at version {}, but version {} is current", shown(.listed), shown(.current))]
    Version {
        /// The `meta` entry.
        entry: String,
        /// The version the snapshot lists.
        listed: Option<Version>,
        /// The version that is current.
        current: Option<Version>,
    },
    /// A role is listed with another length than its bytes have.
    #[error("gives {entry} a length of {listed}, but it is {actual} bytes")]
    Length {
        /// The `meta` entry.
        entry: String,
        /// The length listed.
        listed: u64,
        /// The file's length.
        actual: u64,
    },
    /// A role is listed with a hash that is not its bytes'.
    #[error("gives {entry} a {algorithm} that is not the file's")]
    Hash {
        /// The `meta` entry.
        entry: String,
        /// The hash algorithm (`sha256`).
        algorithm: String,
    },
    /// The snapshot lists a role the repository does not have.
    #[error("lists {entry}, which this repository does not have")]
    Extra {
        /// The `meta` entry.
        entry: String,
    },
}

/// A listed version, or `none`.
fn shown(version: &Option<Version>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

impl Refused {
    /// A client's refusal of `role`'s document, as a refusal of the publish.
    pub(super) fn invalid(role: &RoleName) -> impl FnOnce(UpdateError) -> Refused + use<> {
        let role = role.clone();
        move |source| Refused::Invalid { role, source }
    }
}
