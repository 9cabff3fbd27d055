//! Why an update failed: the repository's metadata broke a rule of the
//! client workflow (TUF §5), could not be fetched, or the local store
//! failed.

use super::FetchError;
use crate::metadata::MetadataError;
use crate::schema::{RoleName, TopRole, Version};
use crate::time::UtcTime;

/// Why an update (or a download) failed. Each variant names the role or
/// file at fault; library callers match variants, people read messages.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// A document does not parse, or is not signed by its threshold.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A role is not at the version that names it (TUF 5.3.5 for root,
    /// 5.5.4 / 5.6.4 for the version snapshot or timestamp lists).
    #[error("{role}: expected version {expected}, got {got}")]
    Version {
        /// The role.
        role: RoleName,
        /// The version it must have.
        expected: Version,
        /// The version it has.
        got: Version,
    },
    /// A role is older than the version trusted before (5.4.3.1, 5.5.5).
    #[error("rollback refused: {role} is at version {trusted}, the repository offers {got}")]
    Rollback {
        /// The role.
        role: RoleName,
        /// The version trusted.
        trusted: Version,
        /// The older version offered.
        got: Version,
    },
    /// A role (or snapshot entry) listed at a lower version than the trusted
    /// timestamp or snapshot listed it (TUF 5.4.3.2, 5.5.5).
    #[error(
        "rollback refused: {entry} (per {listed_by}) is at version {trusted}, the repository offers {got}"
    )]
    ListedRollback {
        /// The entry listed (`snapshot`, or a snapshot `meta` key).
        entry: String,
        /// The role whose listing went back: timestamp or snapshot.
        listed_by: TopRole,
        /// The version listed before.
        trusted: Version,
        /// The version listed now.
        got: Version,
    },
    /// A `meta` entry (`ROLE.json`) the trusted snapshot listed is missing
    /// from the new one (TUF 5.5.5).
    #[error("rollback refused: {entry} was dropped from snapshot, which listed it before")]
    Dropped {
        /// The `meta` entry.
        entry: String,
    },
    /// A role is at the largest version there is: nothing can follow.
    #[error(
        "{role} is at version {}, the largest there is; no later version can follow",
        Version::MAX
    )]
    Exhausted {
        /// The role.
        role: RoleName,
    },
    /// Root names no keys for a top-level role.
    #[error("root has no {role} role")]
    RootLacksRole {
        /// The role.
        role: TopRole,
    },
    /// Timestamp lists no `snapshot.json` (5.4).
    #[error("timestamp lists no snapshot.json")]
    NoSnapshotMeta,
    /// A root names another repository than the one expected (review B-7).
    #[error(
        "root version {version} is for the repository {named}, not {expected} (a root key shared between repositories, or metadata replayed from another)"
    )]
    WrongRepository {
        /// The repository the client or service expects.
        expected: String,
        /// The repository the root names.
        named: String,
        /// The root's version.
        version: Version,
    },
    /// A root names no repository where the root before it named one.
    #[error(
        "root version {version} names no repository, but the root before it named {expected}; a root chain never drops its repository"
    )]
    RepositoryDropped {
        /// The repository the root before named.
        expected: String,
        /// The root's version.
        version: Version,
    },
    /// A role expired before the update's reference time (5.3.10, 5.4.4,
    /// 5.5.6, 5.6.6: a freeze attack).
    #[error("{role} metadata expired at {expired} (a frozen or stale repository)")]
    Expired {
        /// The role.
        role: RoleName,
        /// When it expired.
        expired: UtcTime,
    },
    /// A file's length or hashes are not those its listing signs (5.5.2,
    /// 5.6.2, 5.7.3).
    #[error("{what}: length or hash mismatch: {message}")]
    LengthOrHash {
        /// The role or target.
        what: String,
        /// What differs.
        message: String,
    },
    /// Snapshot does not list the role (it has no metadata to trust).
    #[error("snapshot does not list {role}")]
    NotInSnapshot {
        /// The role.
        role: RoleName,
    },
    /// The role offered is not one the delegator delegates to.
    #[error("{delegator} does not delegate to {role}")]
    NotDelegated {
        /// The role.
        role: RoleName,
        /// The role that was to delegate to it.
        delegator: RoleName,
    },
    /// The trusted set was updated out of the workflow's order: a caller's
    /// mistake, never the repository's.
    #[error(transparent)]
    Order(#[from] OutOfOrder),
    /// The trust server could not be asked, or refused.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The pinned root does not verify by itself (altered or damaged).
    #[error(
        "the pinned root {path} does not verify ({source}): it was altered or damaged after it was pinned. Get the genuine root.json from the repository's publisher and pin it again: `clearance trust verify --root ROOT.json --repin REPO:TAG`"
    )]
    PinnedRoot {
        /// The pinned root's file.
        path: String,
        /// Why it does not verify.
        source: Box<UpdateError>,
    },
    /// The local metadata store could not be read or written.
    #[error("metadata store {path}: {source}")]
    Store {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document in the other dialect than the trusted root's.
    #[error(
        "{role} metadata is in {got:?} form but the trusted root is in {trusted:?} form (mixed repositories are refused)"
    )]
    Dialect {
        /// The role.
        role: RoleName,
        /// The document's form.
        got: crate::notary::Dialect,
        /// The trusted root's form.
        trusted: crate::notary::Dialect,
    },
    /// A target to download is not where its metadata says (404).
    #[error("target {0:?} is not in the repository")]
    TargetNotFound(String),
    /// The repository has no timestamp: nothing was ever published there.
    #[error("no trust data at {url} (it has no timestamp.json)")]
    NoTrustData {
        /// Where timestamp.json was asked for.
        url: String,
    },
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
