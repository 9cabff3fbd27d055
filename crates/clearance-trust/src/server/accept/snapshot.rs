//! Check 3: snapshot and timestamp, uploaded and checked, or signed by the
//! service with the keys it holds.

use std::collections::BTreeMap;

use super::{AcceptedRoot, AcceptedTargets, Check, Refused, SnapshotListing, parse};
use crate::editor::{self, common, meta_for};
use crate::schema::{MetaFile, RoleName, Root, Snapshot, Timestamp, TopRole};
use crate::signer::{LocalSigner, Signer as _};

impl Check<'_> {
    /// Snapshot lists every targets role at the version now current: built
    /// from the previous snapshot's entries, raised only by uploads that
    /// passed `check_newer` (newer than both the stored and the listed
    /// version), so it never drops or lowers one (TUF 5.5.5); an uploaded
    /// snapshot must list exactly that and be newer. `keep_stored`: a
    /// re-sign of timestamp alone keeps the stored snapshot. Else the
    /// service signs it, with the key root names among `signers`, to last
    /// `lifetime_secs`. Returns the snapshot's bytes.
    pub(super) fn snapshot(
        &mut self,
        root: &AcceptedRoot,
        targets: &AcceptedTargets,
        uploaded: Option<Vec<u8>>,
        keep_stored: bool,
        signers: &[LocalSigner],
        lifetime_secs: i64,
    ) -> Result<Vec<u8>, Refused> {
        let mut meta = self.floors.listed.clone();
        let targets_entry = RoleName::TARGETS.meta_name();
        if targets.uploaded || !meta.contains_key(&targets_entry) {
            meta.insert(
                targets_entry,
                meta_for(targets.targets.common.version, &targets.bytes),
            );
        }
        for (role, bytes, version) in &targets.walk.uploaded {
            meta.insert(role.meta_name(), meta_for(*version, bytes));
        }
        let bytes = match (uploaded, &self.old_snapshot) {
            (Some(bytes), _) => {
                let s = parse::<Snapshot>(&bytes, &RoleName::SNAPSHOT)?;
                self.floors
                    .check_newer(&RoleName::SNAPSHOT, s.common.version)?;
                check_snapshot_lists(&s, &meta)?;
                bytes
            }
            (None, Some(old)) if keep_stored => old.clone(),
            (None, _) => {
                let signer = server_signer(&root.root, TopRole::Snapshot, signers)?;
                let snapshot = Snapshot {
                    common: common(
                        TopRole::Snapshot,
                        self.floors.next(&RoleName::SNAPSHOT)?,
                        self.now.plus_seconds(lifetime_secs),
                    ),
                    meta,
                    extra: BTreeMap::new(),
                };
                editor::sign(&snapshot, &[signer]).map_err(|source| Refused::Sign {
                    role: TopRole::Snapshot,
                    source,
                })?
            }
        };
        let version = parse::<Snapshot>(&bytes, &RoleName::SNAPSHOT)?
            .common
            .version;
        if self.floors.stored.get(&RoleName::SNAPSHOT) != Some(&version) {
            self.store_file(&RoleName::SNAPSHOT, version, &bytes);
        }
        Ok(bytes)
    }

    /// Timestamp names the snapshot (TUF 5.4): uploaded, it must be newer
    /// than any clients hold (5.4.3); else the service signs a new version
    /// with the key root names among `signers`, to last `lifetime_secs`.
    /// Returns the timestamp's bytes.
    pub(super) fn timestamp(
        &mut self,
        root: &AcceptedRoot,
        snapshot: &[u8],
        uploaded: Option<Vec<u8>>,
        signers: &[LocalSigner],
        lifetime_secs: i64,
    ) -> Result<Vec<u8>, Refused> {
        let (version, bytes) = match uploaded {
            Some(bytes) => {
                let version = parse::<Timestamp>(&bytes, &RoleName::TIMESTAMP)?
                    .common
                    .version;
                self.floors.check_newer(&RoleName::TIMESTAMP, version)?;
                (version, bytes)
            }
            None => {
                let signer = server_signer(&root.root, TopRole::Timestamp, signers)?;
                let version = self.floors.next(&RoleName::TIMESTAMP)?;
                let snapshot_version = parse::<Snapshot>(snapshot, &RoleName::SNAPSHOT)?
                    .common
                    .version;
                let timestamp = Timestamp {
                    common: common(
                        TopRole::Timestamp,
                        version,
                        self.now.plus_seconds(lifetime_secs),
                    ),
                    meta: BTreeMap::from([(
                        RoleName::SNAPSHOT.meta_name(),
                        meta_for(snapshot_version, snapshot),
                    )]),
                    extra: BTreeMap::new(),
                };
                let bytes =
                    editor::sign(&timestamp, &[signer]).map_err(|source| Refused::Sign {
                        role: TopRole::Timestamp,
                        source,
                    })?;
                (version, bytes)
            }
        };
        self.store_file(&RoleName::TIMESTAMP, version, &bytes);
        Ok(bytes)
    }
}

/// An uploaded snapshot must list exactly what is now current.
fn check_snapshot_lists(
    snapshot: &Snapshot,
    expected: &BTreeMap<String, MetaFile>,
) -> Result<(), Refused> {
    let refuse = |listing| Err(Refused::SnapshotListing(listing));
    for (name, want) in expected {
        let entry = || name.clone();
        let Some(got) = snapshot.meta.get(name) else {
            return refuse(SnapshotListing::Missing { entry: entry() });
        };
        if got.version != want.version {
            return refuse(SnapshotListing::Version {
                entry: entry(),
                listed: got.version,
                current: want.version,
            });
        }
        if let (Some(listed), Some(actual)) = (got.length, want.length)
            && listed != actual
        {
            return refuse(SnapshotListing::Length {
                entry: entry(),
                listed,
                actual,
            });
        }
        if let (Some(h), Some(w)) = (&got.hashes, &want.hashes) {
            for (algorithm, value) in h {
                if w.get(algorithm)
                    .is_some_and(|v| !v.eq_ignore_ascii_case(value))
                {
                    return refuse(SnapshotListing::Hash {
                        entry: entry(),
                        algorithm: algorithm.clone(),
                    });
                }
            }
        }
    }
    if let Some(extra) = snapshot.meta.keys().find(|k| !expected.contains_key(*k)) {
        return refuse(SnapshotListing::Extra {
            entry: extra.clone(),
        });
    }
    Ok(())
}

/// The server's key for `role` if root names it (threshold 1).
fn server_signer<'a>(
    root: &Root,
    role: TopRole,
    candidates: &'a [LocalSigner],
) -> Result<&'a dyn crate::signer::Signer, Refused> {
    let named = root
        .roles
        .get(&role)
        .filter(|k| k.threshold == 1)
        .and_then(|k| candidates.iter().find(|s| k.keyids.contains(&s.key_id())));
    named
        .map(|s| s as &dyn crate::signer::Signer)
        .ok_or(Refused::NotServerSigned { role })
}
