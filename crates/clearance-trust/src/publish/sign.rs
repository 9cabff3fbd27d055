//! Signing what changed: the changed roles at their next versions, then
//! snapshot and timestamp (unless the trust service signs them), each
//! refused below its threshold.

use super::*;

impl RepositoryEditor {
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
        // Only timestamp is due, and nothing else was signed: snapshot stays.
        let snapshot_stays = changed == Changed::TimestampOnly && files.is_empty() && !first;
        if snapshot_stays {
            if signers.server == ServerSigned::Timestamp {
                return Ok(files);
            }
            bump(&RoleName::TIMESTAMP, &mut self.timestamp.common.version)?;
            return self.sign_timestamp(signers, files, day(self.expiries.timestamp_days));
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
        self.sign_timestamp(signers, files, day(self.expiries.timestamp_days))
    }

    /// Sign timestamp (its version already set), expiring at `expires`,
    /// after `files`.
    fn sign_timestamp(
        &mut self,
        signers: &RoleSigners<'_>,
        mut files: Vec<SignedFile>,
        expires: UtcTime,
    ) -> Result<Vec<SignedFile>, PublishError> {
        self.timestamp.common.expires = expires;
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
