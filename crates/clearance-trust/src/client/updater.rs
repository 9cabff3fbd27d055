//! The client workflow (TUF §5.3–5.6): update root through its rotation
//! chain, then timestamp, snapshot and targets, each fetched within its
//! length limit, checked by the [`TrustedSet`], and only then stored.

use super::{DirStore, FetchError, Transport, TrustedSet, UpdateError, UpdaterSettings};
use crate::gun::Gun;
use crate::notary::{self, Dialect};
use crate::schema::{RoleName, Targets, Version};

/// A TUF client bound to one repository.
#[derive(Debug)]
pub struct Updater<T> {
    pub(super) store: DirStore,
    pub(super) transport: T,
    pub(super) metadata_url: String,
    pub(super) settings: UpdaterSettings,
    pub(super) trusted: TrustedSet,
    pub(super) refreshed: bool,
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
        // A pinned root that does not verify by itself was altered here
        // (finding 14 #5): say which file, and how to pin it again.
        let mut trusted =
            TrustedSet::new(&root, settings.clock.now()).map_err(|e| UpdateError::PinnedRoot {
                path: store.path_of(&RoleName::ROOT),
                source: Box::new(e),
            })?;
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

    /// What this update trusts so far (root at least).
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
    pub(super) async fn load_targets(
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

pub(super) fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}
