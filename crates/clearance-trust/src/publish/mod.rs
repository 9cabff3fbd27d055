//! The publisher's side: create a repository's metadata, change targets,
//! and publish new signed versions of the roles that changed, with
//! snapshot and timestamp following.

mod bins;
mod delegation;
mod error;
mod expiry;
mod keys;
mod load;
mod sign;
mod targets;

pub use bins::bin_names;
pub use delegation::FirstVersion;
pub use error::PublishError;
pub use expiry::{Days, DaysError, Expiries, MAX_DAYS};
pub use keys::Revoked;

use std::collections::{BTreeMap, BTreeSet};

use crate::editor::{self, common, meta_for, meta_version};
use crate::keys::Key;
use crate::metadata::Signed;
use crate::schema::BIN_PREFIX;
use crate::schema::{
    Delegations, RoleKeys, RoleName, Root, Snapshot, SuccinctRoles, TargetFile, TargetName,
    Targets, Timestamp, TopRole, Version,
};
use crate::signer::Signer;
use crate::time::UtcTime;

/// Whether a rotation replaces a role's keys or adds one beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKeys {
    /// The new key replaces the role's keys.
    Replace,
    /// The new key joins them (revoke the old ones later).
    Keep,
}

/// The signers the publisher holds, by role.
#[derive(Default)]
pub struct RoleSigners<'a> {
    /// Root keys: the current ones, and the new one in a root rotation.
    pub root: Vec<&'a dyn Signer>,
    /// Targets keys (they sign the hash bins too).
    pub targets: Vec<&'a dyn Signer>,
    /// Snapshot keys, unless the service signs snapshot.
    pub snapshot: Vec<&'a dyn Signer>,
    /// Timestamp keys, unless the service signs timestamp.
    pub timestamp: Vec<&'a dyn Signer>,
    /// Keys of delegated roles, by role name.
    pub delegated: BTreeMap<RoleName, Vec<&'a dyn Signer>>,
    /// Roles a trust service signs instead of the publisher.
    pub server: ServerSigned,
}

/// Which of snapshot and timestamp the trust service signs (with keys it
/// holds) rather than the publisher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerSigned {
    /// The publisher signs both (a file:// repository, or keys kept).
    #[default]
    Neither,
    /// The service signs timestamp, the publisher snapshot.
    Timestamp,
    /// The service signs both.
    SnapshotAndTimestamp,
}

impl std::fmt::Debug for RoleSigners<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |v: &Vec<&dyn Signer>| v.iter().map(|s| s.key_id()).collect::<Vec<_>>();
        f.debug_struct("RoleSigners")
            .field("root", &ids(&self.root))
            .field("targets", &ids(&self.targets))
            .field("snapshot", &ids(&self.snapshot))
            .field("timestamp", &ids(&self.timestamp))
            .finish()
    }
}

/// Which roles a publish re-signs (snapshot and timestamp always follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Targets (or the roles it delegates to) changed.
    Targets,
    /// Root changed too (a rotation, a revocation): root is signed by its
    /// old and new keys, and targets with it.
    RootAndTargets,
    /// Only refresh snapshot and timestamp (re-sign before they expire).
    Nothing,
    /// Only refresh timestamp: snapshot is signed again only if something
    /// else changed (a role marked for re-signing).
    TimestampOnly,
}

/// A role [`RepositoryEditor::publish`] signed: what a trust service takes
/// (`role`, `bytes`; it keeps every version itself), and what a directory
/// holds under [`SignedFile::file_names`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    /// The role signed.
    pub role: RoleName,
    /// Its new version.
    pub version: Version,
    /// The signed document.
    pub bytes: Vec<u8>,
}

impl SignedFile {
    /// The files a directory repository with consistent snapshots holds it
    /// under (TUF 1.0 §5.6, §5.7): `VERSION.ROLE.json` and the current
    /// `ROLE.json`, the name percent-encoded; timestamp only under
    /// `timestamp.json` (§5.4 fetches it by that name alone).
    pub fn file_names(&self) -> Vec<String> {
        if self.role == TopRole::Timestamp {
            return vec![self.role.file_name()];
        }
        vec![
            self.role.versioned_file_name(self.version),
            self.role.file_name(),
        ]
    }
}

/// The bins `selection` asks for.
fn wanted_bins(s: &SuccinctRoles, selection: Bins<'_>) -> Vec<RoleName> {
    match selection {
        Bins::All => bin_names(s),
        Bins::For(targets) => targets.iter().map(|t| s.bin_for(t)).collect(),
    }
}

/// A role as published.
fn push_signed(files: &mut Vec<SignedFile>, role: &RoleName, version: Version, bytes: Vec<u8>) {
    files.push(SignedFile {
        role: role.clone(),
        version,
        bytes,
    });
}

/// A delegated role that has no metadata yet: empty, at version 1, signed
/// by its own keys the first time they sign a target.
fn unpublished_role(expiries: Expiries) -> Targets {
    Targets {
        common: common(
            TopRole::Targets,
            Version::FIRST,
            expiries.targets_days.after(UtcTime::now()),
        ),
        targets: BTreeMap::new(),
        delegations: None,
        extra: BTreeMap::new(),
    }
}

/// Move `version` to the next one; an error past [`Version::MAX`].
fn bump(role: &RoleName, version: &mut Version) -> Result<(), PublishError> {
    *version = version.next().map_err(|source| PublishError::Version {
        role: role.clone(),
        source,
    })?;
    Ok(())
}

/// Past this many targets a repository moves them into hash bins.
pub const BIN_THRESHOLD: usize = 2048;
/// About this many targets per bin when bins are made.
const TARGETS_PER_BIN: usize = 32;
/// Past this many targets per bin on average, bins are split.
const CROWDED_BIN: usize = 8 * TARGETS_PER_BIN;
/// The most bins a repository is given (2^16).
const MAX_BIN_BITS: u32 = 16;

/// Which hash bins a publisher loads: all of them, or those holding these
/// targets (what signing a tag needs; a crowded bin still loads them all,
/// since splitting moves every target).
#[derive(Debug, Clone, Copy)]
pub enum Bins<'a> {
    /// Every bin.
    All,
    /// The bins these target names fall in.
    For(&'a [&'a str]),
}

/// One repository's current metadata, as its publisher edits it.
#[derive(Debug, Clone)]
pub struct RepositoryEditor {
    /// Root as it will next be signed.
    pub root: Root,
    /// Top-level targets.
    pub targets: Targets,
    /// Snapshot (its `meta` lists every targets role).
    pub snapshot: Snapshot,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Hash-bin roles (TAP 15), by name, when targets delegates to bins:
    /// those loaded (see [`Bins`]).
    pub bins: BTreeMap<RoleName, Targets>,
    /// Bins the delegation names that were not loaded.
    unloaded_bins: BTreeSet<RoleName>,
    /// Named delegated roles (teams, releases), by name.
    pub delegated: BTreeMap<RoleName, Targets>,
    dirty_delegated: BTreeSet<RoleName>,
    /// How long each role's signatures last when it is next signed.
    pub expiries: Expiries,
    dirty_bins: BTreeSet<RoleName>,
    targets_dirty: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_role_is_filed_by_version_and_by_name_and_timestamp_by_name_only() {
        let file = |role: RoleName| SignedFile {
            role,
            version: Version::new(3).unwrap(),
            bytes: Vec::new(),
        };
        assert_eq!(
            file(RoleName::new("targets/releases").unwrap()).file_names(),
            ["3.targets%2Freleases.json", "targets%2Freleases.json"]
        );
        assert_eq!(
            file(RoleName::ROOT).file_names(),
            ["3.root.json", "root.json"]
        );
        assert_eq!(file(RoleName::TIMESTAMP).file_names(), ["timestamp.json"]);
    }
}
