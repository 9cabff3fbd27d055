//! The TUF client (specification §5, "detailed client workflow"): update
//! root through its rotation chain, then timestamp, snapshot and targets,
//! search delegations for a target, and download it with its length and
//! hashes checked. Only verified metadata reaches the store, written
//! atomically, bytes exactly as received.

mod address;
mod store;
mod transport;
mod trusted;

use std::collections::BTreeSet;

pub use address::{AddressError, ServerAddress};
pub use store::{DirStore, StagedStore, quote, unquote, write_atomic, write_private};
pub use transport::{FetchError, HttpTransport, PublishOutcome, TlsProblem, Transport};
pub use trusted::{TrustedSet, check_hashes, check_length_and_hashes};

use crate::gun::Gun;
use crate::metadata::MetadataError;
use crate::notary::{self, Dialect};
use crate::schema::{RoleName, TargetFile, TargetName, Targets, TopRole, Version};
use crate::time::{SharedClock, UtcTime};

/// Bounds on what a repository can make the client do.
#[derive(Debug, Clone)]
pub struct UpdaterSettings {
    pub max_root_rotations: u64,
    pub max_delegations: usize,
    pub root_max_bytes: u64,
    pub timestamp_max_bytes: u64,
    pub snapshot_max_bytes: u64,
    pub targets_max_bytes: u64,
    /// Whether expired metadata is refused (always, for consumers).
    pub expiration: Expiration,
    /// Where the reference time of each update (TUF 5.1) comes from: the
    /// system's clock (in test builds, `CLEARANCE_TEST_NOW` when set; see
    /// [`crate::test_hooks`]).
    pub clock: SharedClock,
}

/// Whether the client refuses expired metadata (TUF 5.3.10, 5.4.4, 5.5.6,
/// 5.6.6: a freeze attack). A publisher that loads its repository to
/// re-sign what expired must read it anyway, as tough's editor does
/// (`ExpirationEnforcement::Unsafe`); every other check still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expiration {
    #[default]
    Enforced,
    /// For publishers only: expired metadata is loaded, so that it can be
    /// signed again.
    NotEnforcedToRepublish,
}

impl Default for UpdaterSettings {
    fn default() -> Self {
        UpdaterSettings {
            max_root_rotations: 256,
            max_delegations: 32,
            root_max_bytes: 512_000,
            timestamp_max_bytes: 16_384,
            snapshot_max_bytes: 2_000_000,
            targets_max_bytes: 5_000_000,
            expiration: Expiration::Enforced,
            clock: crate::test_hooks::clock_or_system(),
        }
    }
}

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

/// A target found by the delegation search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTarget {
    pub target: TargetFile,
    /// The role whose metadata lists it.
    pub role: RoleName,
    /// The role that delegated to it ([`RoleName::ROOT`] for targets).
    pub delegator: RoleName,
    /// When that role's signature expires.
    pub expires: UtcTime,
}

/// A TUF client bound to one repository.
#[derive(Debug)]
pub struct Updater<T> {
    store: DirStore,
    transport: T,
    metadata_url: String,
    settings: UpdaterSettings,
    trusted: TrustedSet,
    refreshed: bool,
}

impl<T: Transport> Updater<T> {
    /// Load the trusted root from the store (it must verify by itself).
    pub fn new(
        store: DirStore,
        transport: T,
        metadata_url: &str,
        settings: UpdaterSettings,
    ) -> Result<Self, UpdateError> {
        let root = store
            .load(&RoleName::ROOT)?
            .ok_or_else(|| UpdateError::Store {
                path: store.path_of(&RoleName::ROOT),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no trusted root: initialise first",
                ),
            })?;
        let mut trusted = TrustedSet::new(&root, settings.clock.now())?;
        trusted.set_expiration(settings.expiration);
        Ok(Updater {
            store,
            transport,
            metadata_url: with_slash(metadata_url),
            settings,
            trusted,
            refreshed: false,
        })
    }

    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// Accept only roots for the repository `gun` (those naming another are
    /// refused; roots that name none, written before roots named theirs,
    /// are accepted): see [`TrustedSet::bind_repository`].
    pub fn bind_repository(mut self, gun: &Gun) -> Result<Self, UpdateError> {
        self.trusted.bind_repository(gun)?;
        Ok(self)
    }

    /// Update root, timestamp, snapshot and top-level targets (§5.3–5.6).
    pub async fn refresh(&mut self) -> Result<(), UpdateError> {
        // 5.1: one reference time for the whole update.
        self.trusted.restart(self.settings.clock.now());
        self.load_root().await?;
        self.load_timestamp().await?;
        self.load_snapshot().await?;
        self.load_targets(&RoleName::TARGETS, &RoleName::ROOT)
            .await?;
        self.refreshed = true;
        Ok(())
    }

    /// Search the delegation graph for `target` (§5.6.7, pre-order depth-first).
    pub async fn target_info(&mut self, target: &str) -> Result<Option<TargetFile>, UpdateError> {
        Ok(self.find_target(target).await?.map(|found| found.target))
    }

    /// As [`Updater::target_info`], also naming the role that signed it and
    /// the delegator that vouched for that role. In a Notary repository,
    /// only `targets/releases`, then targets, as Docker Content Trust does.
    pub async fn find_target(&mut self, target: &str) -> Result<Option<FoundTarget>, UpdateError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        if self.trusted.dialect() == Dialect::Notary {
            return self.find_as_docker(target).await;
        }
        let mut to_visit = vec![(RoleName::TARGETS, RoleName::ROOT)];
        let mut visited: BTreeSet<(RoleName, RoleName)> = BTreeSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.len() > self.settings.max_delegations {
                tracing::debug!(
                    target,
                    "delegation search stopped at {} roles",
                    visited.len()
                );
                break;
            }
            if !visited.insert((role.clone(), delegator.clone())) {
                continue; // a cycle
            }
            match self.load_targets(&role, &delegator).await {
                Ok(()) => {}
                // A delegated role snapshot has never listed has no metadata
                // yet (delegated to someone else's key, who has not signed
                // anything): it signs nothing, and the search goes on, as
                // Notary's client does. A role listed once can never be
                // dropped (`update_snapshot`), so this hides nothing signed.
                Err(UpdateError::NotInSnapshot { .. }) if role != TopRole::Targets => {
                    tracing::debug!(%role, "delegated role has no metadata yet");
                    continue;
                }
                Err(e) => return Err(e),
            }
            let Some(targets) = self.trusted.targets(&role, &delegator) else {
                continue;
            };
            if let Some(found) = targets.signed.targets.get(target) {
                return Ok(Some(FoundTarget {
                    target: found.clone(),
                    expires: targets.signed.common.expires,
                    role,
                    delegator,
                }));
            }
            let Some(delegations) = &targets.signed.delegations else {
                continue;
            };
            let mut children = Vec::new();
            for child in delegations.roles_for(target) {
                let terminating = child.terminating;
                children.push((child.name, role.clone()));
                if terminating {
                    to_visit.clear();
                    break;
                }
            }
            to_visit.extend(children.into_iter().rev());
        }
        Ok(None)
    }

    /// Docker Content Trust's rule for Notary repositories: a tag counts
    /// only if `targets/releases` signs it or, failing that, targets itself;
    /// other delegations (`targets/ci`, …) do not make a tag trusted.
    async fn find_as_docker(&mut self, target: &str) -> Result<Option<FoundTarget>, UpdateError> {
        let releases = notary::releases_role();
        let delegated = self
            .trusted
            .targets(&RoleName::TARGETS, &RoleName::ROOT)
            .and_then(|t| t.signed.delegations.as_ref())
            .is_some_and(|d| d.roles_for(target).iter().any(|r| r.name == releases));
        if delegated {
            match self.load_targets(&releases, &RoleName::TARGETS).await {
                // Never listed (a dropped listing is refused with the snapshot).
                Ok(()) | Err(UpdateError::NotInSnapshot { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let found = [
            (releases, RoleName::TARGETS),
            (RoleName::TARGETS, RoleName::ROOT),
        ]
        .into_iter()
        .find_map(|(role, delegator)| {
            let t = self.trusted.targets(&role, &delegator)?;
            t.signed.targets.get(target).map(|found| FoundTarget {
                target: found.clone(),
                expires: t.signed.common.expires,
                role,
                delegator,
            })
        });
        Ok(found)
    }

    /// The verified bytes of a delegated role (loaded as the search would
    /// load it), or `None` when snapshot does not list it.
    pub async fn role_bytes(
        &mut self,
        role: &RoleName,
        delegator: &RoleName,
    ) -> Result<Option<Vec<u8>>, UpdateError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        match self.load_targets(role, delegator).await {
            Ok(()) => Ok(self.trusted.targets(role, delegator).map(|t| t.raw.clone())),
            Err(UpdateError::NotInSnapshot { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Download a target to `dir`, unless a verified copy is already there.
    /// Returns the file's path: `dir` joined with the percent-quoted name, a
    /// single file name that a [`TargetName`] keeps from being `.` or `..`.
    pub async fn download_target(
        &self,
        target: &TargetName,
        info: &TargetFile,
        dir: &std::path::Path,
        base_url: &str,
    ) -> Result<std::path::PathBuf, UpdateError> {
        let name = target.as_str();
        let path = dir.join(store::quote(name));
        if let Ok(existing) = std::fs::read(&path)
            && existing.len() as u64 == info.length
            && check_hashes(&existing, &info.hashes, name).is_ok()
        {
            return Ok(path);
        }
        let mut remote = name.to_owned();
        if self.trusted.root().signed.consistent_snapshot
            && let Some(hash) = info.hashes.values().next()
        {
            remote = match name.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{hash}.{base}"),
                None => format!("{hash}.{name}"),
            };
        }
        let url = format!("{}{remote}", with_slash(base_url));
        let bytes = self
            .transport
            .fetch(&url, info.length)
            .await?
            .ok_or_else(|| UpdateError::TargetNotFound(name.to_owned()))?;
        if bytes.len() as u64 != info.length {
            return Err(UpdateError::LengthOrHash {
                what: name.to_owned(),
                message: format!("expected {} bytes, got {}", info.length, bytes.len()),
            });
        }
        check_hashes(&bytes, &info.hashes, name)?;
        store::write_atomic(&path, &bytes).map_err(|source| UpdateError::Store {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }

    /// 5.3: walk the root chain, N+1, N+2, … until the repository has no more.
    async fn load_root(&mut self) -> Result<(), UpdateError> {
        // No overflow: versions are at most i64::MAX, and past that the
        // chain ends (update_root refuses a version it cannot follow).
        let first = self.trusted.root().version().get().saturating_add(1);
        for version in first..first.saturating_add(self.settings.max_root_rotations) {
            // Past the largest version there is, the chain has ended.
            let Ok(version) = Version::new(version) else {
                break;
            };
            let url = format!(
                "{}{}",
                self.metadata_url,
                RoleName::ROOT.versioned_file_name(version)
            );
            let Some(bytes) = self
                .transport
                .fetch(&url, self.settings.root_max_bytes)
                .await?
            else {
                break;
            };
            self.trusted.update_root(&bytes)?;
            self.save(&RoleName::ROOT, &bytes)?;
        }
        Ok(())
    }

    /// 5.4: the local timestamp (if it still verifies) guards the remote one.
    async fn load_timestamp(&mut self) -> Result<(), UpdateError> {
        if let Some(local) = self.store.load(&RoleName::TIMESTAMP)?
            && let Err(e) = self.trusted.update_timestamp(&local)
        {
            tracing::debug!(error = %e, "local timestamp is not usable as final");
        }
        let url = format!("{}{}", self.metadata_url, RoleName::TIMESTAMP.file_name());
        let bytes = self
            .transport
            .fetch(&url, self.settings.timestamp_max_bytes)
            .await?
            .ok_or_else(|| UpdateError::NoTrustData { url: url.clone() })?;
        if self.trusted.update_timestamp(&bytes)? {
            self.save(&RoleName::TIMESTAMP, &bytes)?;
        }
        Ok(())
    }

    /// 5.5: a valid local snapshot at the right version saves a download.
    async fn load_snapshot(&mut self) -> Result<(), UpdateError> {
        if let Some(local) = self.store.load(&RoleName::SNAPSHOT)? {
            match self.trusted.update_snapshot(&local, true) {
                Ok(()) => return Ok(()),
                Err(e) => tracing::debug!(error = %e, "local snapshot is not usable as final"),
            }
            if self.trusted.dialect() == Dialect::Notary {
                // Not final (another hash), but still what was last trusted:
                // the new snapshot may not go below it or drop a role it lists.
                self.trusted.remember_snapshot(&local);
            }
        }
        let meta = self
            .trusted
            .timestamp()
            .and_then(|t| t.signed.snapshot_meta())
            .ok_or(UpdateError::NoSnapshotMeta)?
            .clone();
        let path = RoleName::SNAPSHOT.file_name();
        let bytes = self
            .fetch_listed(&path, &meta, self.settings.snapshot_max_bytes)
            .await?;
        self.trusted.update_snapshot(&bytes, false)?;
        self.save(&RoleName::SNAPSHOT, &bytes)
    }

    /// 5.6 / 5.7: a targets role, from the store if it is still the version
    /// snapshot names, else from the repository.
    async fn load_targets(
        &mut self,
        role: &RoleName,
        delegator: &RoleName,
    ) -> Result<(), UpdateError> {
        if self.trusted.targets(role, delegator).is_some() {
            return Ok(());
        }
        if let Some(local) = self.store.load(role)? {
            match self.trusted.update_targets(&local, role, delegator) {
                Ok(()) => return Ok(()),
                Err(e) => tracing::debug!(%role, error = %e, "local metadata is not usable"),
            }
            if self.trusted.dialect() == Dialect::Notary
                && let Ok(local) = crate::metadata::Signed::<Targets>::parse(&local, role)
            {
                // Notary names files by hash alone: the version last trusted
                // here is the floor for the next one.
                self.trusted.set_floor(role, local.version());
            }
        }
        let meta = self
            .trusted
            .snapshot()
            .and_then(|s| s.signed.meta.get(&role.meta_name()))
            .ok_or_else(|| UpdateError::NotInSnapshot { role: role.clone() })?
            .clone();
        let file = match self.trusted.dialect() {
            Dialect::Tuf1 => role.file_name(),
            Dialect::Notary => notary::role_path(role)
                .map(|path| format!("{path}.json"))
                .ok_or_else(|| UpdateError::NotDelegated {
                    role: role.clone(),
                    delegator: delegator.clone(),
                })?,
        };
        let bytes = self
            .fetch_listed(&file, &meta, self.settings.targets_max_bytes)
            .await?;
        self.trusted.update_targets(&bytes, role, delegator)?;
        self.save(role, &bytes)
    }

    /// The file `meta` describes (`file`, `ROLE.json`), at
    /// `<version>.ROLE.json` with consistent snapshots; never more than
    /// `cap` bytes, whatever length the metadata signs.
    async fn fetch_listed(
        &self,
        file: &str,
        meta: &crate::schema::MetaFile,
        cap: u64,
    ) -> Result<Vec<u8>, UpdateError> {
        let name = match meta.version {
            Some(version) if self.trusted.root().signed.consistent_snapshot => {
                format!("{version}.{file}")
            }
            _ => file.to_owned(),
        };
        let url = format!("{}{name}", self.metadata_url);
        let max = meta.length.map_or(cap, |l| l.min(cap));
        Ok(self
            .transport
            .fetch(&url, max)
            .await?
            .ok_or(FetchError::NotFound { url })?)
    }

    fn save(&self, role: &RoleName, bytes: &[u8]) -> Result<(), UpdateError> {
        self.store.save(role, bytes)
    }
}

/// Whether the root `newer` descends from the root `older` through the
/// repository's root chain (TUF 5.3: each version signed by the one before
/// and by itself): the versions between are fetched from `metadata_url`
/// and checked in turn, and the last must be `newer` (same signed bytes).
/// What a consumer that pinned `older` would reach; used to tell a later
/// version of a pinned root from another root.
pub async fn root_descends<T: Transport>(
    transport: &T,
    metadata_url: &str,
    older: &[u8],
    newer: &[u8],
    settings: &UpdaterSettings,
) -> Result<bool, UpdateError> {
    let mut set = TrustedSet::new(older, settings.clock.now())?;
    let target = crate::metadata::Signed::<crate::schema::Root>::parse(newer, &RoleName::ROOT)?;
    let base = with_slash(metadata_url);
    let first = set.root().version().get().saturating_add(1);
    let last = target.version().get();
    if last.saturating_sub(first) >= settings.max_root_rotations {
        return Ok(false);
    }
    for version in first..=last {
        let url = format!(
            "{base}{}",
            RoleName::ROOT.versioned_file_name(version_of(version)?)
        );
        let Some(bytes) = transport.fetch(&url, settings.root_max_bytes).await? else {
            return Ok(false);
        };
        if set.update_root(&bytes).is_err() {
            return Ok(false);
        }
    }
    Ok(set.root().canonical == target.canonical)
}

/// A version of the root chain walked by number: at most `i64::MAX` (the
/// chain ends at the largest version there is).
fn version_of(n: u64) -> Result<Version, UpdateError> {
    Version::new(n).map_err(|_| UpdateError::Exhausted {
        role: RoleName::ROOT,
    })
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}
