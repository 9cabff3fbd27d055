//! The publisher's side: create a repository's metadata, change targets,
//! and publish new signed versions of the roles that changed, with
//! snapshot and timestamp following.

mod bins;
mod delegation;
mod expiry;
mod keys;

pub use bins::bin_names;
pub use delegation::FirstVersion;
pub use expiry::{Days, DaysError, Expiries, MAX_DAYS};
pub use keys::Revoked;

use std::collections::{BTreeMap, BTreeSet};

use crate::editor::{self, EditError, common, meta_for, meta_version};
use crate::keys::Key;
use crate::metadata::Signed;
use crate::schema::{
    Delegations, RoleKeys, RoleName, Root, Snapshot, SuccinctRoles, TargetFile, TargetName,
    TargetNameError, Targets, Timestamp, TopRole, Version, VersionError,
};
use crate::signer::Signer;
use crate::time::UtcTime;

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
        source: crate::metadata::MetadataError,
    },
    /// A role the repository lists has no current document.
    #[error("{role}: current metadata is missing")]
    Missing {
        /// The role.
        role: RoleName,
    },
    /// A change falls in a hash bin that was not loaded ([`Bins::For`]): an
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
    Update(#[from] crate::client::UpdateError),
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

/// Whether a rotation replaces a role's keys or adds one beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKeys {
    Replace,
    Keep,
}

/// The signers the publisher holds, by role.
#[derive(Default)]
pub struct RoleSigners<'a> {
    pub root: Vec<&'a dyn Signer>,
    pub targets: Vec<&'a dyn Signer>,
    pub snapshot: Vec<&'a dyn Signer>,
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
    Timestamp,
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
    Targets,
    RootAndTargets,
    /// Only refresh snapshot and timestamp (re-sign before they expire).
    Nothing,
}

/// A role [`Repository::publish`] signed: what a trust service takes
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
const BIN_PREFIX: &str = "bins";

/// Which hash bins a publisher loads: all of them, or those holding these
/// targets (what signing a tag needs; a crowded bin still loads them all,
/// since splitting moves every target).
#[derive(Debug, Clone, Copy)]
pub enum Bins<'a> {
    All,
    For(&'a [&'a str]),
}

/// One repository's current metadata, as its publisher edits it.
#[derive(Debug, Clone)]
pub struct Repository {
    pub root: Root,
    pub targets: Targets,
    pub snapshot: Snapshot,
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

impl Repository {
    /// A new repository: one key per role, threshold 1, consistent snapshots.
    pub fn create(keys: [&Key; 4], expiries: Expiries) -> Repository {
        let now = UtcTime::now();
        let day = |d: Days| d.after(now);
        let names = [
            TopRole::Root,
            TopRole::Targets,
            TopRole::Snapshot,
            TopRole::Timestamp,
        ];
        let mut all = BTreeMap::new();
        let mut roles = BTreeMap::new();
        for (name, key) in names.into_iter().zip(keys) {
            let id = key.key_id();
            all.insert(id.clone(), key.clone());
            roles.insert(
                name,
                RoleKeys {
                    keyids: vec![id],
                    threshold: 1,
                    extra: BTreeMap::new(),
                },
            );
        }
        Repository {
            root: Root {
                common: common(TopRole::Root, Version::FIRST, day(expiries.root_days)),
                consistent_snapshot: true,
                keys: all,
                roles,
                repository: None,
                extra: BTreeMap::new(),
            },
            targets: Targets {
                common: common(TopRole::Targets, Version::FIRST, day(expiries.targets_days)),
                targets: BTreeMap::new(),
                delegations: None,
                extra: BTreeMap::new(),
            },
            snapshot: Snapshot {
                common: common(
                    TopRole::Snapshot,
                    Version::FIRST,
                    day(expiries.snapshot_days),
                ),
                meta: BTreeMap::new(),
                extra: BTreeMap::new(),
            },
            timestamp: Timestamp {
                common: common(
                    TopRole::Timestamp,
                    Version::FIRST,
                    day(expiries.timestamp_days),
                ),
                meta: BTreeMap::new(),
                extra: BTreeMap::new(),
            },
            bins: BTreeMap::new(),
            delegated: BTreeMap::new(),
            dirty_delegated: BTreeSet::new(),
            expiries,
            unloaded_bins: BTreeSet::new(),
            dirty_bins: BTreeSet::new(),
            targets_dirty: true,
        }
    }

    /// A repository as a trust service or a `file://` directory holds it,
    /// verified first from the updater's trusted root as a consumer verifies
    /// it (so a publisher never re-signs what a tampering server, or anyone
    /// who can write to the directory, put there: review B-12), every
    /// delegated role and hash bin included. Give the updater
    /// [`crate::client::Expiration::NotEnforcedToRepublish`] to load
    /// metadata that expired in order to sign it again.
    pub async fn load_verified<T: crate::client::Transport>(
        updater: &mut crate::client::Updater<T>,
        expiries: Expiries,
        bins: Bins<'_>,
    ) -> Result<Repository, PublishError> {
        updater.refresh().await?;
        let missing = |role: RoleName| PublishError::Missing { role };
        let trusted = updater.trusted();
        let root = trusted.root().raw.clone();
        let timestamp = trusted
            .timestamp()
            .ok_or_else(|| missing(RoleName::TIMESTAMP))?
            .raw
            .clone();
        let snapshot = trusted
            .snapshot()
            .ok_or_else(|| missing(RoleName::SNAPSHOT))?
            .raw
            .clone();
        let targets = trusted
            .targets(&RoleName::TARGETS, &RoleName::ROOT)
            .ok_or_else(|| missing(RoleName::TARGETS))?
            .clone();
        let mut fetched = std::collections::HashMap::new();
        let mut selection = bins;
        loop {
            if let Some(d) = &targets.signed.delegations {
                let mut names: Vec<RoleName> =
                    d.roles.iter().flatten().map(|r| r.name.clone()).collect();
                if let Some(s) = &d.succinct_roles {
                    names.extend(wanted_bins(s, selection));
                }
                for name in names {
                    if !fetched.contains_key(&name)
                        && let Some(bytes) = updater.role_bytes(&name, &RoleName::TARGETS).await?
                    {
                        fetched.insert(name, bytes);
                    }
                }
            }
            let repo = Repository::load_bins(
                &root,
                &targets.raw,
                &snapshot,
                &timestamp,
                expiries,
                selection,
                |name: &RoleName| fetched.get(name).cloned(),
            )?;
            if !repo.needs_every_bin() {
                return Ok(repo);
            }
            selection = Bins::All;
        }
    }

    /// Load the current versions of the four roles, every named delegation
    /// and every hash bin; `fetch_role` gives the current bytes of a
    /// delegated role (a named delegation or a hash bin) by name. Nothing is
    /// verified here: for bytes already verified (or made by this process);
    /// metadata from elsewhere goes through [`Repository::load_verified`].
    pub fn load(
        root: &[u8],
        targets: &[u8],
        snapshot: &[u8],
        timestamp: &[u8],
        expiries: Expiries,
        fetch_role: impl FnMut(&RoleName) -> Option<Vec<u8>>,
    ) -> Result<Repository, PublishError> {
        Repository::load_bins(
            root,
            targets,
            snapshot,
            timestamp,
            expiries,
            Bins::All,
            fetch_role,
        )
    }

    /// Loaded for some bins only, but one of them is crowded: splitting
    /// needs every target.
    pub fn needs_every_bin(&self) -> bool {
        !self.unloaded_bins.is_empty() && self.bins.values().any(|b| b.targets.len() > CROWDED_BIN)
    }

    /// As [`Repository::load`], loading only the hash bins `bins` selects.
    pub fn load_bins(
        root: &[u8],
        targets: &[u8],
        snapshot: &[u8],
        timestamp: &[u8],
        expiries: Expiries,
        bins: Bins<'_>,
        mut fetch_role: impl FnMut(&RoleName) -> Option<Vec<u8>>,
    ) -> Result<Repository, PublishError> {
        let selection = bins;
        let load = |role: &RoleName, source| PublishError::Load {
            role: role.clone(),
            source,
        };
        let targets = Signed::<Targets>::parse_tuf1(targets, &RoleName::TARGETS)
            .map_err(|e| load(&RoleName::TARGETS, e))?
            .signed;
        let snapshot = Signed::<Snapshot>::parse_tuf1(snapshot, &RoleName::SNAPSHOT)
            .map_err(|e| load(&RoleName::SNAPSHOT, e))?
            .signed;
        let mut delegated = BTreeMap::new();
        for r in targets
            .delegations
            .iter()
            .flat_map(|d| d.roles.iter().flatten())
        {
            let role = match fetch_role(&r.name) {
                Some(bytes) => {
                    Signed::<Targets>::parse_tuf1(&bytes, &r.name)
                        .map_err(|e| load(&r.name, e))?
                        .signed
                }
                // Delegated to a key the delegator does not hold: nothing is
                // signed until its keys sign their first target (newcomer 2).
                None if !snapshot.meta.contains_key(&r.name.meta_name()) => {
                    unpublished_role(expiries)
                }
                None => {
                    return Err(PublishError::Missing {
                        role: r.name.clone(),
                    });
                }
            };
            delegated.insert(r.name.clone(), role);
        }
        let mut bins = BTreeMap::new();
        let mut unloaded_bins = BTreeSet::new();
        if let Some(s) = targets
            .delegations
            .as_ref()
            .and_then(|d| d.succinct_roles.as_ref())
        {
            let wanted: BTreeSet<RoleName> = wanted_bins(s, selection).into_iter().collect();
            for bin in bin_names(s) {
                if !wanted.contains(&bin) {
                    unloaded_bins.insert(bin);
                    continue;
                }
                let bytes =
                    fetch_role(&bin).ok_or_else(|| PublishError::Missing { role: bin.clone() })?;
                let role = Signed::<Targets>::parse_tuf1(&bytes, &bin)
                    .map_err(|e| load(&bin, e))?
                    .signed;
                bins.insert(bin, role);
            }
        }
        Ok(Repository {
            root: Signed::<Root>::parse_tuf1(root, &RoleName::ROOT)
                .map_err(|e| load(&RoleName::ROOT, e))?
                .signed,
            targets,
            snapshot,
            timestamp: Signed::<Timestamp>::parse_tuf1(timestamp, &RoleName::TIMESTAMP)
                .map_err(|e| load(&RoleName::TIMESTAMP, e))?
                .signed,
            bins,
            unloaded_bins,
            delegated,
            dirty_delegated: BTreeSet::new(),
            expiries,
            dirty_bins: BTreeSet::new(),
            targets_dirty: false,
        })
    }

    /// A bin `name` falls in that was not loaded: an error, never a lost change.
    fn check_loaded(&self, bin: &RoleName) -> Result<(), PublishError> {
        if self.unloaded_bins.contains(bin) {
            return Err(PublishError::BinNotLoaded { bin: bin.clone() });
        }
        Ok(())
    }

    /// Every hash bin is loaded (what re-signing them all needs).
    pub(super) fn require_every_bin(&self) -> Result<(), PublishError> {
        match self.unloaded_bins.first() {
            Some(bin) => self.check_loaded(bin),
            None => Ok(()),
        }
    }

    /// Sign `name` (a safe [`TargetName`]) as `target` at the next publish,
    /// in its hash bin when the repository has them.
    pub fn set_target(&mut self, name: &str, target: TargetFile) -> Result<(), PublishError> {
        TargetName::new(name)?;
        match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => {
                self.check_loaded(&bin)?;
                if let Some(role) = self.bins.get_mut(&bin) {
                    role.targets.insert(name.to_owned(), target);
                    self.dirty_bins.insert(bin);
                }
            }
            None => {
                self.targets.targets.insert(name.to_owned(), target);
                self.targets_dirty = true;
                if self.targets.targets.len() > BIN_THRESHOLD && self.delegated.is_empty() {
                    let bins = (self.targets.targets.len() / TARGETS_PER_BIN).next_power_of_two();
                    self.use_bins(bins.trailing_zeros().clamp(4, MAX_BIN_BITS));
                }
            }
        }
        Ok(())
    }

    pub fn remove_target(&mut self, name: &str) -> Result<bool, PublishError> {
        Ok(match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => {
                self.check_loaded(&bin)?;
                let removed = self
                    .bins
                    .get_mut(&bin)
                    .is_some_and(|r| r.targets.remove(name).is_some());
                if removed {
                    self.dirty_bins.insert(bin);
                }
                removed
            }
            None => {
                let removed = self.targets.targets.remove(name).is_some();
                self.targets_dirty |= removed;
                removed
            }
        })
    }

    /// The entry `name` has where [`Repository::set_target`] keeps it (top-level
    /// targets, or its hash bin), if it is signed there.
    pub fn target(&self, name: &str) -> Option<&TargetFile> {
        match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => self.bins.get(&bin)?.targets.get(name),
            None => self.targets.targets.get(name),
        }
    }

    /// Every target and its current entry, wherever it is kept (in the
    /// hash bins loaded).
    pub fn all_targets(&self) -> impl Iterator<Item = (&String, &TargetFile)> {
        self.targets
            .targets
            .iter()
            .chain(self.bins.values().flat_map(|b| b.targets.iter()))
            .chain(self.delegated.values().flat_map(|b| b.targets.iter()))
    }

    /// Sign the changed roles (at their next versions) and then snapshot and
    /// timestamp. Returns the files to publish, by name: versioned names for
    /// consistent snapshots, and the unversioned current names.
    pub fn publish(
        &mut self,
        changed: Changed,
        signers: &RoleSigners<'_>,
        first: bool,
    ) -> Result<Vec<SignedFile>, PublishError> {
        let now = UtcTime::now();
        let day = |d: Days| d.after(now);
        let mut files = Vec::new();
        self.split_crowded_bins();
        if matches!(changed, Changed::RootAndTargets) || first {
            if !first {
                bump(&RoleName::ROOT, &mut self.root.common.version)?;
                self.root.common.expires = day(self.expiries.root_days);
            }
            self.require(TopRole::Root, &signers.root)?;
            let bytes = editor::sign(&self.root, &signers.root)?;
            push_signed(&mut files, &RoleName::ROOT, self.root.common.version, bytes);
        }
        let mut delegated = std::mem::take(&mut self.dirty_delegated);
        // A role with no metadata yet is signed when its keys are given
        // (a delegator that holds them); else its keys sign it later.
        delegated.extend(
            self.delegated
                .keys()
                .filter(|name| !self.is_published(name) && self.can_sign(name, signers))
                .cloned()
                .collect::<Vec<_>>(),
        );
        for name in delegated {
            let signers_for = signers.delegated.get(&name).cloned().unwrap_or_default();
            let (keyids, threshold) = self
                .delegation(&name)
                .map(|r| (r.keyids.clone(), r.threshold))
                .unwrap_or_default();
            let held = signers_for
                .iter()
                .filter(|s| keyids.contains(&s.key_id()))
                .count() as u64;
            if held < threshold {
                return Err(PublishError::MissingKey {
                    role: name.clone(),
                    threshold,
                    keyids,
                });
            }
            let listed = self.snapshot.meta.contains_key(&name.meta_name());
            let Some(role) = self.delegated.get_mut(&name) else {
                continue;
            };
            if listed {
                bump(&name, &mut role.common.version)?;
            }
            role.common.expires = day(self.expiries.targets_days);
            let bytes = editor::sign(&*role, &signers_for)?;
            let version = role.common.version;
            self.snapshot
                .meta
                .insert(name.meta_name(), meta_version(version));
            push_signed(&mut files, &name, version, bytes);
        }
        let targets_changed =
            self.targets_dirty || matches!(changed, Changed::RootAndTargets) || first;
        let dirty: Vec<RoleName> = std::mem::take(&mut self.dirty_bins).into_iter().collect();
        if !dirty.is_empty() {
            self.require(TopRole::Targets, &signers.targets)?;
        }
        for name in dirty {
            let Some(bin) = self.bins.get_mut(&name) else {
                continue;
            };
            if self.snapshot.meta.contains_key(&name.meta_name()) {
                bump(&name, &mut bin.common.version)?;
            }
            bin.common.expires = day(self.expiries.targets_days);
            let bytes = editor::sign(&*bin, &signers.targets)?;
            let version = bin.common.version;
            self.snapshot
                .meta
                .insert(name.meta_name(), meta_version(version));
            push_signed(&mut files, &name, version, bytes);
        }
        if targets_changed {
            if !first {
                bump(&RoleName::TARGETS, &mut self.targets.common.version)?;
                self.targets.common.expires = day(self.expiries.targets_days);
            }
            self.require(TopRole::Targets, &signers.targets)?;
            let bytes = editor::sign(&self.targets, &signers.targets)?;
            self.snapshot.meta.insert(
                RoleName::TARGETS.meta_name(),
                meta_for(self.targets.common.version, &bytes),
            );
            push_signed(
                &mut files,
                &RoleName::TARGETS,
                self.targets.common.version,
                bytes,
            );
            self.targets_dirty = false;
        }
        if signers.server == ServerSigned::SnapshotAndTimestamp {
            return Ok(files);
        }
        if !first {
            bump(&RoleName::SNAPSHOT, &mut self.snapshot.common.version)?;
            bump(&RoleName::TIMESTAMP, &mut self.timestamp.common.version)?;
        }
        self.snapshot.common.expires = day(self.expiries.snapshot_days);
        self.require(TopRole::Snapshot, &signers.snapshot)?;
        let snapshot = editor::sign(&self.snapshot, &signers.snapshot)?;
        self.timestamp.meta.insert(
            RoleName::SNAPSHOT.meta_name(),
            meta_for(self.snapshot.common.version, &snapshot),
        );
        push_signed(
            &mut files,
            &RoleName::SNAPSHOT,
            self.snapshot.common.version,
            snapshot,
        );
        if signers.server == ServerSigned::Timestamp {
            return Ok(files);
        }
        self.timestamp.common.expires = day(self.expiries.timestamp_days);
        self.require(TopRole::Timestamp, &signers.timestamp)?;
        let timestamp = editor::sign(&self.timestamp, &signers.timestamp)?;
        push_signed(
            &mut files,
            &RoleName::TIMESTAMP,
            self.timestamp.common.version,
            timestamp,
        );
        Ok(files)
    }

    /// Whether `signers` meet the threshold targets gives delegated `role`.
    fn can_sign(&self, role: &RoleName, signers: &RoleSigners<'_>) -> bool {
        let (Some(delegation), Some(given)) = (self.delegation(role), signers.delegated.get(role))
        else {
            return false;
        };
        let held = given
            .iter()
            .filter(|s| delegation.keyids.contains(&s.key_id()))
            .count() as u64;
        held >= delegation.threshold
    }

    /// Refuse to publish what would not meet its threshold.
    fn require(&self, role: TopRole, signers: &[&dyn Signer]) -> Result<(), PublishError> {
        let Some(keys) = self.root.roles.get(&role) else {
            return Err(PublishError::MissingKey {
                role: role.role(),
                threshold: 1,
                keyids: Vec::new(),
            });
        };
        let held = signers
            .iter()
            .filter(|s| keys.keyids.contains(&s.key_id()))
            .count() as u64;
        if held < keys.threshold {
            return Err(PublishError::MissingKey {
                role: role.role(),
                threshold: keys.threshold,
                keyids: keys.keyids.clone(),
            });
        }
        Ok(())
    }
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
