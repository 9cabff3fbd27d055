//! Why the editor could not load, change or sign a repository.

use crate::client::UpdateError;
use crate::editor::EditError;
use crate::metadata::MetadataError;
use crate::schema::{RoleName, TargetNameError, TopRole, VersionError};

/// Why the editor could not load, change or sign a repository.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Signing failed (a signer refused, or the role does not serialise).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// A role's current document does not parse as TUF 1.0 metadata.
    #[error("{role}: current metadata is unreadable: {source}")]
    Load {
        /// The role.
        role: RoleName,
        /// Why.
        #[source]
        source: MetadataError,
    },
    /// A role the repository lists has no current document.
    #[error("{role}: current metadata is missing")]
    Missing {
        /// The role.
        role: RoleName,
    },
    /// A change falls in a hash bin that was not loaded ([`super::Bins::For`]): an
    /// error, never a lost change.
    #[error(
        "{bin}: this hash bin was not loaded (load the repository for this target, or every bin)"
    )]
    BinNotLoaded {
        /// The bin.
        bin: RoleName,
    },
    /// Verifying the repository from the pinned root failed.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// Fewer keys are at hand than a role's threshold.
    #[error("no signing key for {role}: need {threshold} of {keyids:?}")]
    MissingKey {
        /// The role.
        role: RoleName,
        /// Signatures it needs.
        threshold: u64,
        /// The key ids root (or its delegator) gives it.
        keyids: Vec<String>,
    },
    /// Named delegations were asked of a repository that keeps its targets
    /// in hash bins.
    #[error("this repository keeps its targets in hash bins; named delegations cannot be added")]
    HashBinsOnly,
    /// A delegation was given a top-level role's name, or the hash bins'.
    #[error("{name:?} is a reserved role name")]
    ReservedName {
        /// The name.
        name: RoleName,
    },
    /// A delegation's threshold is 0 or more than its keys.
    #[error("a threshold of {threshold} cannot be met by {keys} keys")]
    Threshold {
        /// The threshold asked for.
        threshold: u64,
        /// The keys given.
        keys: usize,
    },
    /// A delegation was given no path pattern.
    #[error("name at least one path pattern (--paths)")]
    NoPaths,
    /// Targets does not delegate to the role named.
    #[error("targets does not delegate to {role:?}")]
    NotDelegated {
        /// The role.
        role: RoleName,
    },
    /// A delegated role was asked to sign a target outside its paths.
    #[error("{role} may not sign {target:?}: its paths are {paths:?}")]
    OutsidePaths {
        /// The role.
        role: RoleName,
        /// The target.
        target: String,
        /// The patterns it may sign.
        paths: Vec<String>,
    },
    /// A target name that is not safe as a path (review B-18).
    #[error(transparent)]
    TargetName(#[from] TargetNameError),
    /// A role is at the largest version there is.
    #[error("{role}: {source}")]
    Version {
        /// The role.
        role: RoleName,
        /// Why no next version exists.
        #[source]
        source: VersionError,
    },
    /// Root names no keys for a top-level role.
    #[error("root names no keys for {role}")]
    UnknownRole {
        /// The role.
        role: TopRole,
    },
    /// A revocation named a key no role uses.
    #[error(
        "key {keyid} is not used by any role of this repository (root's roles or targets' delegations)"
    )]
    UnknownKey {
        /// The key id.
        keyid: String,
    },
    /// A rotation to a key the role already has (review B-7).
    #[error(
        "{role} already has key {keyid}: a rotation needs a new key (on a token, another object label)"
    )]
    KeyAlreadyInRole {
        /// The role.
        role: TopRole,
        /// The key id.
        keyid: String,
    },
    /// A revocation would leave a top-level role below its threshold.
    #[error(
        "revoking {keyid} would leave {role} with {left} keys, below its threshold of {threshold}; rotate in a new key first (trust rotate {role} --keep-old)"
    )]
    BelowThreshold {
        /// The key id.
        keyid: String,
        /// The role.
        role: TopRole,
        /// Keys it would keep.
        left: usize,
        /// Its threshold.
        threshold: u64,
    },
    /// A revocation would leave a delegated role below its threshold.
    #[error(
        "revoking {keyid} would leave the delegated role {role} with {left} keys, below its threshold of {threshold}: give it another key first (trust delegate add with its keys and the new one), or stop delegating to it (trust delegate remove)"
    )]
    DelegationBelowThreshold {
        /// The key id.
        keyid: String,
        /// The role.
        role: RoleName,
        /// Keys it would keep.
        left: usize,
        /// Its threshold.
        threshold: u64,
    },
}
