//! Why an update failed: the repository's metadata broke a rule of the
//! client workflow (TUF §5), could not be fetched, or the local store
//! failed.

use super::FetchError;
use crate::metadata::MetadataError;
use crate::schema::{RoleName, TopRole, Version};
use crate::time::UtcTime;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("{role}: expected version {expected}, got {got}")]
    Version {
        role: RoleName,
        expected: Version,
        got: Version,
    },
    #[error("rollback refused: {role} is at version {trusted}, the repository offers {got}")]
    Rollback {
        role: RoleName,
        trusted: Version,
        got: Version,
    },
    /// A role (or snapshot entry) listed at a lower version than the trusted
    /// timestamp or snapshot listed it (TUF 5.4.3.2, 5.5.5).
    #[error(
        "rollback refused: {entry} (per {listed_by}) is at version {trusted}, the repository offers {got}"
    )]
    ListedRollback {
        entry: String,
        listed_by: TopRole,
        trusted: Version,
        got: Version,
    },
    /// A `meta` entry (`ROLE.json`) the trusted snapshot listed is missing
    /// from the new one (TUF 5.5.5).
    #[error("rollback refused: {entry} was dropped from snapshot, which listed it before")]
    Dropped { entry: String },
    #[error(
        "{role} is at version {}, the largest there is; no later version can follow",
        Version::MAX
    )]
    Exhausted { role: RoleName },
    #[error("root has no {role} role")]
    RootLacksRole { role: TopRole },
    #[error("timestamp lists no snapshot.json")]
    NoSnapshotMeta,
    #[error(
        "root version {version} is for the repository {named}, not {expected} (a root key shared between repositories, or metadata replayed from another)"
    )]
    WrongRepository {
        expected: String,
        named: String,
        version: Version,
    },
    #[error(
        "root version {version} names no repository, but the root before it named {expected}; a root chain never drops its repository"
    )]
    RepositoryDropped { expected: String, version: Version },
    #[error("{role} metadata expired at {expired} (a frozen or stale repository)")]
    Expired { role: RoleName, expired: UtcTime },
    #[error("{what}: length or hash mismatch: {message}")]
    LengthOrHash { what: String, message: String },
    #[error("snapshot does not list {role}")]
    NotInSnapshot { role: RoleName },
    #[error("{delegator} does not delegate to {role}")]
    NotDelegated { role: RoleName, delegator: RoleName },
    /// The trusted set was updated out of the workflow's order: a caller's
    /// mistake, never the repository's.
    #[error(transparent)]
    Order(#[from] OutOfOrder),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("metadata store {path}: {source}")]
    Store {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{role} metadata is in {got:?} form but the trusted root is in {trusted:?} form (mixed repositories are refused)"
    )]
    Dialect {
        role: RoleName,
        got: crate::notary::Dialect,
        trusted: crate::notary::Dialect,
    },
    #[error("target {0:?} is not in the repository")]
    TargetNotFound(String),
    /// The repository has no timestamp: nothing was ever published there.
    #[error("no trust data at {url} (it has no timestamp.json)")]
    NoTrustData { url: String },
}

/// A step of the client workflow (TUF §5.3–5.6) taken before the one it
/// needs, or after one that fixes what it would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfOrder {
    /// Root changed after timestamp was loaded (5.3 comes first).
    #[error("root cannot change once timestamp is loaded")]
    RootAfterTimestamp,
    /// Timestamp changed after snapshot was loaded.
    #[error("timestamp cannot change once snapshot is loaded")]
    TimestampAfterSnapshot,
    /// Snapshot offered before any timestamp (5.4 comes first).
    #[error("snapshot needs a timestamp first")]
    SnapshotBeforeTimestamp,
    /// Snapshot changed after a targets role was loaded.
    #[error("snapshot cannot change once targets are loaded")]
    SnapshotAfterTargets,
    /// A targets role offered before snapshot (5.5 comes first).
    #[error("targets need a snapshot first")]
    TargetsBeforeSnapshot,
    /// A delegated role offered before the role that delegates to it.
    #[error("a delegated role needs its delegator first")]
    DelegateBeforeDelegator,
    /// A check that needs the timestamp ran without one.
    #[error("no timestamp")]
    NoTimestamp,
    /// A check that needs the snapshot ran without one.
    #[error("no snapshot")]
    NoSnapshot,
}
