//! Making a repository, and loading one: verified through the client from
//! the pinned root (every delegated role, and every hash bin or those some
//! tags fall in), or from bytes already verified.

use super::*;

impl RepositoryEditor {
    /// A new repository: one key per role, threshold 1, consistent snapshots.
    pub fn create(keys: [&Key; 4], expiries: Expiries) -> RepositoryEditor {
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
        RepositoryEditor {
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
    ) -> Result<RepositoryEditor, PublishError> {
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
            let repo = RepositoryEditor::load_bins(
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
    /// metadata from elsewhere goes through [`RepositoryEditor::load_verified`].
    pub fn load(
        root: &[u8],
        targets: &[u8],
        snapshot: &[u8],
        timestamp: &[u8],
        expiries: Expiries,
        fetch_role: impl FnMut(&RoleName) -> Option<Vec<u8>>,
    ) -> Result<RepositoryEditor, PublishError> {
        RepositoryEditor::load_bins(
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

    /// As [`RepositoryEditor::load`], loading only the hash bins `bins` selects.
    pub fn load_bins(
        root: &[u8],
        targets: &[u8],
        snapshot: &[u8],
        timestamp: &[u8],
        expiries: Expiries,
        bins: Bins<'_>,
        mut fetch_role: impl FnMut(&RoleName) -> Option<Vec<u8>>,
    ) -> Result<RepositoryEditor, PublishError> {
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
        Ok(RepositoryEditor {
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
    pub(super) fn check_loaded(&self, bin: &RoleName) -> Result<(), PublishError> {
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
}
