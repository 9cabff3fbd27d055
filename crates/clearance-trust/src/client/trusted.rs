//! The set of metadata the client currently trusts, and the checks of the
//! TUF client workflow (specification §5) that admit new metadata into it.
//! Pure logic over bytes: no I/O, so every rule is testable directly.

use std::collections::HashMap;

use clearance_oci::Digest;
use clearance_oci::digest::Algorithm;

use crate::client::{Expiration, OutOfOrder, UpdateError};
use crate::gun::Gun;
use crate::metadata::Signed;
use crate::notary::Dialect;
use crate::schema::{
    MetaFile, Role, RoleKeys, RoleName, Root, Snapshot, Targets, Timestamp, TopRole, Validate,
    Version,
};
use crate::time::UtcTime;

/// Trusted metadata. Root is always there; the rest arrive in order.
#[derive(Debug)]
pub struct TrustedSet {
    root: Signed<Root>,
    timestamp: Option<Signed<Timestamp>>,
    snapshot: Option<Signed<Snapshot>>,
    /// The snapshot last trusted, when it cannot be the final one (Notary,
    /// after the timestamp moved on): what a new snapshot is compared with.
    previous_snapshot: Option<Signed<Snapshot>>,
    /// Targets roles by (role, delegator): a role reached through another
    /// delegator is verified again against that delegator's keys.
    targets: HashMap<(RoleName, RoleName), Signed<Targets>>,
    /// Notary names files by hash only, so rollback of snapshot and targets
    /// is checked against the versions last trusted here (set by the updater
    /// from its store).
    floors: HashMap<RoleName, Version>,
    reference_time: UtcTime,
    expiration: Expiration,
    /// The repository every root must be for, when known.
    repository: Option<Gun>,
}

impl TrustedSet {
    /// Start from a root the user trusts: it must be signed by itself.
    pub fn new(root_bytes: &[u8], reference_time: UtcTime) -> Result<TrustedSet, UpdateError> {
        let root = Signed::<Root>::parse(root_bytes, &RoleName::ROOT)?;
        let keys = role_keys(&root.signed, TopRole::Root)?;
        root.verify(
            &root.signed.keys,
            &keys.keyids,
            keys.threshold,
            &RoleName::ROOT,
        )?;
        Ok(TrustedSet {
            root,
            timestamp: None,
            snapshot: None,
            previous_snapshot: None,
            targets: HashMap::new(),
            floors: HashMap::new(),
            reference_time,
            expiration: Expiration::Enforced,
            repository: None,
        })
    }

    /// From now on, every root must be for the repository `gun` (B-7): the
    /// trusted root is checked now, each new root as it comes. A root that
    /// names no repository is accepted (roots written before Clearance named
    /// them), unless the root before it named one.
    pub fn bind_repository(&mut self, gun: &Gun) -> Result<(), UpdateError> {
        self.repository = Some(gun.clone());
        check_repository(Some(gun), None, &self.root)
    }

    /// Whether expired metadata is refused ([`Expiration::Enforced`] unless
    /// a publisher loads its own repository to re-sign it).
    pub fn set_expiration(&mut self, expiration: Expiration) {
        self.expiration = expiration;
    }

    /// The form of the trusted root, which every other document must share:
    /// a Notary document in a TUF 1.0 repository (or the reverse) is refused.
    pub fn dialect(&self) -> Dialect {
        self.root.dialect
    }

    /// The lowest version of `role` (snapshot or a targets role) to accept
    /// where metadata does not name versions.
    pub fn set_floor(&mut self, role: &RoleName, version: Version) {
        self.floors.insert(role.clone(), version);
    }

    fn parse<T: Role + Validate>(
        &self,
        bytes: &[u8],
        role: &RoleName,
    ) -> Result<Signed<T>, UpdateError> {
        let new = Signed::<T>::parse(bytes, role)?;
        if new.dialect != self.dialect() {
            return Err(UpdateError::Dialect {
                role: role.clone(),
                got: new.dialect,
                trusted: self.dialect(),
            });
        }
        Ok(new)
    }

    /// Start an update afresh from the trusted root (5.1): one reference
    /// time, and nothing but root trusted yet.
    pub fn restart(&mut self, reference_time: UtcTime) {
        self.timestamp = None;
        self.snapshot = None;
        self.previous_snapshot = None;
        self.targets.clear();
        self.floors.clear();
        self.reference_time = reference_time;
    }

    /// Keep a snapshot from the store that is no longer final but still
    /// verifies, so the next one may neither go below its version nor drop
    /// a role it lists. Ignored otherwise.
    pub fn remember_snapshot(&mut self, bytes: &[u8]) {
        let Ok(old) = self.parse::<Snapshot>(bytes, &RoleName::SNAPSHOT) else {
            return;
        };
        if self.verify_top(&old, TopRole::Snapshot).is_ok() {
            self.set_floor(&RoleName::SNAPSHOT, old.version());
            self.previous_snapshot = Some(old);
        }
    }

    /// `new` signed by a threshold of the keys root gives `role`.
    fn verify_top<T: Role + Validate>(
        &self,
        new: &Signed<T>,
        role: TopRole,
    ) -> Result<(), UpdateError> {
        let keys = role_keys(&self.root.signed, role)?;
        new.verify(
            &self.root.signed.keys,
            &keys.keyids,
            keys.threshold,
            &role.role(),
        )?;
        Ok(())
    }

    fn check_floor(&self, role: &RoleName, got: Version) -> Result<(), UpdateError> {
        match self.floors.get(role) {
            Some(&trusted) if got < trusted => Err(UpdateError::Rollback {
                role: role.clone(),
                trusted,
                got,
            }),
            _ => Ok(()),
        }
    }

    /// The trusted root (always there).
    pub fn root(&self) -> &Signed<Root> {
        &self.root
    }

    /// The timestamp trusted in this update, once loaded.
    pub fn timestamp(&self) -> Option<&Signed<Timestamp>> {
        self.timestamp.as_ref()
    }

    /// The snapshot trusted in this update, once loaded.
    pub fn snapshot(&self) -> Option<&Signed<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// The targets role `role` as `delegator` vouched for it (top-level
    /// targets: delegator [`RoleName::ROOT`]), once loaded.
    pub fn targets(&self, role: &RoleName, delegator: &RoleName) -> Option<&Signed<Targets>> {
        self.targets.get(&(role.clone(), delegator.clone()))
    }

    /// 5.3.4–5.3.9: the next root must be signed by a threshold of the
    /// current root's root keys and of its own, and be exactly one version on.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), UpdateError> {
        if self.timestamp.is_some() {
            return Err(UpdateError::Order(OutOfOrder::RootAfterTimestamp));
        }
        let new = self.parse::<Root>(bytes, &RoleName::ROOT)?;
        // 5.3.4: signed by a threshold of the trusted root's root keys.
        self.verify_top(&new, TopRole::Root)?;
        // 5.3.5: version N+1 exactly (checked: a root at the largest
        // version has no successor).
        let expected = self
            .root
            .version()
            .next()
            .map_err(|_| UpdateError::Exhausted {
                role: RoleName::ROOT,
            })?;
        if new.version() != expected {
            return Err(UpdateError::Version {
                role: RoleName::ROOT,
                expected,
                got: new.version(),
            });
        }
        // 5.3.4: and by a threshold of its own root keys.
        let new_keys = role_keys(&new.signed, TopRole::Root)?;
        new.verify(
            &new.signed.keys,
            &new_keys.keyids,
            new_keys.threshold,
            &RoleName::ROOT,
        )?;
        check_repository(self.repository.as_ref(), Some(&self.root), &new)?;
        self.root = new;
        Ok(())
    }

    /// 5.4: a timestamp signed by root's timestamp keys, never older than the
    /// trusted one, never pointing at an older snapshot. Returns `false` when
    /// it is the same version as the trusted one (keep the old one).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<bool, UpdateError> {
        if self.snapshot.is_some() {
            return Err(UpdateError::Order(OutOfOrder::TimestampAfterSnapshot));
        }
        // 5.3.10: the final root must not have expired (a freeze attack).
        self.check_expiry(&RoleName::ROOT, self.root.signed.common.expires)?;
        let new = self.parse::<Timestamp>(bytes, &RoleName::TIMESTAMP)?;
        // 5.4.2: signed by a threshold of root's timestamp keys.
        self.verify_top(&new, TopRole::Timestamp)?;
        if let Some(old) = &self.timestamp {
            // 5.4.3.1 rollback of timestamp
            if new.version() < old.version() {
                return Err(UpdateError::Rollback {
                    role: RoleName::TIMESTAMP,
                    trusted: old.version(),
                    got: new.version(),
                });
            }
            if new.version() == old.version() {
                return Ok(false);
            }
            // 5.4.3.2 rollback of the snapshot it points at
            if let (Some(old_snap), Some(new_snap)) =
                (snapshot_meta(old)?.version, snapshot_meta(&new)?.version)
                && new_snap < old_snap
            {
                return Err(UpdateError::ListedRollback {
                    entry: RoleName::SNAPSHOT.to_string(),
                    listed_by: TopRole::Timestamp,
                    trusted: old_snap,
                    got: new_snap,
                });
            }
        }
        // Kept even if expired: it still guards against rollback of the next one.
        self.timestamp = Some(new);
        self.check_final_timestamp()?;
        Ok(true)
    }

    /// 5.5: a snapshot matching the timestamp's hashes and length (unless it
    /// comes from the local store), signed by root's snapshot keys, and never
    /// dropping or rolling back a role the trusted snapshot lists.
    pub fn update_snapshot(&mut self, bytes: &[u8], from_store: bool) -> Result<(), UpdateError> {
        let Some(timestamp) = &self.timestamp else {
            return Err(UpdateError::Order(OutOfOrder::SnapshotBeforeTimestamp));
        };
        if self.targets.values().next().is_some() {
            return Err(UpdateError::Order(OutOfOrder::SnapshotAfterTargets));
        }
        self.check_final_timestamp()?;
        let meta = snapshot_meta(timestamp)?.clone();
        // A stored snapshot is bound to the timestamp by version (below);
        // without a version, only its hashes can bind it.
        if !from_store || meta.version.is_none() {
            check_length_and_hashes(bytes, &meta, RoleName::SNAPSHOT.as_str())?;
        }
        let new = self.parse::<Snapshot>(bytes, &RoleName::SNAPSHOT)?;
        // 5.5.3: signed by a threshold of root's snapshot keys.
        self.verify_top(&new, TopRole::Snapshot)?;
        if let Some(old) = self.snapshot.as_ref().or(self.previous_snapshot.as_ref()) {
            for (name, old_meta) in &old.signed.meta {
                let Some(new_meta) = new.signed.meta.get(name) else {
                    return Err(UpdateError::Dropped {
                        entry: name.clone(),
                    });
                };
                if let (Some(old_version), Some(new_version)) = (old_meta.version, new_meta.version)
                    && new_version < old_version
                {
                    return Err(UpdateError::ListedRollback {
                        entry: name.clone(),
                        listed_by: TopRole::Snapshot,
                        trusted: old_version,
                        got: new_version,
                    });
                }
            }
        }
        self.check_floor(&RoleName::SNAPSHOT, new.version())?;
        self.snapshot = Some(new);
        self.check_final_snapshot()
    }

    /// 5.6 and 5.7.x: a targets role listed in snapshot with matching version,
    /// length and hashes, signed by the keys its delegator gives it.
    pub fn update_targets(
        &mut self,
        bytes: &[u8],
        role: &RoleName,
        delegator: &RoleName,
    ) -> Result<(), UpdateError> {
        self.check_final_snapshot()?;
        let Some(snapshot) = &self.snapshot else {
            return Err(UpdateError::Order(OutOfOrder::TargetsBeforeSnapshot));
        };
        let meta = snapshot
            .signed
            .meta
            .get(&role.meta_name())
            .ok_or_else(|| UpdateError::NotInSnapshot { role: role.clone() })?
            .clone();
        check_length_and_hashes(bytes, &meta, role.as_str())?;
        let new = self.parse::<Targets>(bytes, role)?;
        let (keys, keyids, threshold) = if *delegator == TopRole::Root {
            let k = role_keys(&self.root.signed, TopRole::Targets)?;
            (&self.root.signed.keys, k.keyids.clone(), k.threshold)
        } else {
            let parent = self
                .targets
                .iter()
                .find(|((r, _), _)| r == delegator)
                .map(|(_, t)| t)
                .ok_or(UpdateError::Order(OutOfOrder::DelegateBeforeDelegator))?;
            let not_delegated = || UpdateError::NotDelegated {
                role: role.clone(),
                delegator: delegator.clone(),
            };
            let delegations = parent
                .signed
                .delegations
                .as_ref()
                .ok_or_else(not_delegated)?;
            let granted = delegations.role(role).ok_or_else(not_delegated)?;
            (&delegations.keys, granted.keyids, granted.threshold)
        };
        new.verify(keys, &keyids, threshold, role)?;
        match meta.version {
            Some(expected) if new.version() != expected => {
                return Err(UpdateError::Version {
                    role: role.clone(),
                    expected,
                    got: new.version(),
                });
            }
            Some(_) => {}
            None => self.check_floor(role, new.version())?,
        }
        self.check_expiry(role, new.signed.common.expires)?;
        self.targets.insert((role.clone(), delegator.clone()), new);
        Ok(())
    }

    fn check_final_timestamp(&self) -> Result<(), UpdateError> {
        match &self.timestamp {
            Some(t) => self.check_expiry(&RoleName::TIMESTAMP, t.signed.common.expires),
            None => Err(UpdateError::Order(OutOfOrder::NoTimestamp)),
        }
    }

    /// The snapshot in use must be unexpired and the version timestamp names.
    fn check_final_snapshot(&self) -> Result<(), UpdateError> {
        let (Some(snapshot), Some(timestamp)) = (&self.snapshot, &self.timestamp) else {
            return Err(UpdateError::Order(OutOfOrder::NoSnapshot));
        };
        self.check_expiry(&RoleName::SNAPSHOT, snapshot.signed.common.expires)?;
        // Without a version the snapshot was bound by hash when admitted.
        if let Some(expected) = snapshot_meta(timestamp)?.version
            && snapshot.version() != expected
        {
            return Err(UpdateError::Version {
                role: RoleName::SNAPSHOT,
                expected,
                got: snapshot.version(),
            });
        }
        Ok(())
    }

    fn check_expiry(&self, role: &RoleName, expires: UtcTime) -> Result<(), UpdateError> {
        if self.expiration == Expiration::Enforced && self.reference_time >= expires {
            return Err(UpdateError::Expired {
                role: role.clone(),
                expired: expires,
            });
        }
        Ok(())
    }
}

/// `root` must be for `bound` when it names a repository, and must name the
/// repository the root before it named, if that one named any.
fn check_repository(
    bound: Option<&Gun>,
    before: Option<&Signed<Root>>,
    root: &Signed<Root>,
) -> Result<(), UpdateError> {
    let named = root.signed.repository.as_deref();
    if let (Some(gun), Some(named)) = (bound, named)
        && named != gun.as_str()
    {
        return Err(UpdateError::WrongRepository {
            expected: gun.to_string(),
            named: named.to_owned(),
            version: root.version(),
        });
    }
    match (before.and_then(|b| b.signed.repository.as_deref()), named) {
        (Some(previous), None) => Err(UpdateError::RepositoryDropped {
            expected: previous.to_owned(),
            version: root.version(),
        }),
        (Some(previous), Some(named)) if previous != named => Err(UpdateError::WrongRepository {
            expected: previous.to_owned(),
            named: named.to_owned(),
            version: root.version(),
        }),
        _ => Ok(()),
    }
}

fn role_keys(root: &Root, role: TopRole) -> Result<&RoleKeys, UpdateError> {
    root.roles
        .get(&role)
        .ok_or(UpdateError::RootLacksRole { role })
}

fn snapshot_meta(t: &Signed<Timestamp>) -> Result<&MetaFile, UpdateError> {
    t.signed.snapshot_meta().ok_or(UpdateError::NoSnapshotMeta)
}

/// Length and every listed hash must match; an unknown hash algorithm fails.
pub fn check_length_and_hashes(
    bytes: &[u8],
    meta: &MetaFile,
    role: &str,
) -> Result<(), UpdateError> {
    if let Some(length) = meta.length
        && bytes.len() as u64 != length
    {
        return Err(UpdateError::LengthOrHash {
            what: role.to_owned(),
            message: format!("expected {length} bytes, got {}", bytes.len()),
        });
    }
    if let Some(hashes) = &meta.hashes {
        check_hashes(bytes, hashes, role)?;
    }
    Ok(())
}

/// `bytes` match every hash in `hashes` (sha256, sha512; any other
/// algorithm fails: TUF 5.7.3 checks what is listed); `what` names the role
/// or target in the error.
pub fn check_hashes(
    bytes: &[u8],
    hashes: &std::collections::BTreeMap<String, String>,
    what: &str,
) -> Result<(), UpdateError> {
    for (algorithm, expected) in hashes {
        let actual = match algorithm.as_str() {
            "sha256" => Digest::of(Algorithm::Sha256, bytes),
            "sha512" => Digest::of(Algorithm::Sha512, bytes),
            other => {
                return Err(UpdateError::LengthOrHash {
                    what: what.to_owned(),
                    message: format!("unsupported hash algorithm {other:?}"),
                });
            }
        };
        let actual = actual.hex();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(UpdateError::LengthOrHash {
                what: what.to_owned(),
                message: format!("{algorithm} is {actual}, expected {expected}"),
            });
        }
    }
    Ok(())
}
