//! Key changes and upkeep: rotate, revoke, and refresh what expires.

use std::collections::BTreeSet;

use super::*;

/// What [`RepositoryEditor::revoke`] took the key out of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    /// Top-level roles (root is signed again).
    pub roles: Vec<TopRole>,
    /// Named delegated roles (targets is signed again, and each role that
    /// has metadata, by its remaining keys).
    pub delegations: Vec<RoleName>,
}

impl RepositoryEditor {
    /// Roles whose signatures expire within `days` (timestamp last, when it
    /// does).
    pub fn expiring(&self, days: u32) -> Vec<RoleName> {
        let limit = UtcTime::now().plus_seconds(i64::from(days) * 86_400);
        let mut roles: Vec<RoleName> = [
            (RoleName::ROOT, self.root.common.expires),
            (RoleName::TARGETS, self.targets.common.expires),
            (RoleName::SNAPSHOT, self.snapshot.common.expires),
        ]
        .into_iter()
        .filter(|(_, e)| *e <= limit)
        .map(|(r, _)| r)
        .collect();
        roles.extend(
            self.bins
                .iter()
                .filter(|(_, b)| b.common.expires <= limit)
                .map(|(n, _)| n.clone()),
        );
        roles.extend(self.expiring_delegated(days));
        if self.timestamp.common.expires <= limit {
            roles.push(RoleName::TIMESTAMP);
        }
        roles
    }

    /// Named delegated roles with metadata that expires within `days`
    /// (their own keys re-sign them: [`RepositoryEditor::resign_delegated`]).
    pub fn expiring_delegated(&self, days: u32) -> Vec<RoleName> {
        let limit = UtcTime::now().plus_seconds(i64::from(days) * 86_400);
        self.delegated
            .iter()
            .filter(|(name, role)| self.is_published(name) && role.common.expires <= limit)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Sign the named delegated role `name` again at the next publish (a
    /// new version with a new expiry), with its keys in
    /// [`RoleSigners::delegated`].
    pub fn resign_delegated(&mut self, name: &RoleName) -> Result<(), PublishError> {
        if !self.delegated.contains_key(name) {
            return Err(PublishError::NotDelegated { role: name.clone() });
        }
        self.dirty_delegated.insert(name.clone());
        Ok(())
    }

    /// Mark the top-level roles and hash bins that expire within `days` for
    /// re-signing (named delegated roles are the caller's to choose, by the
    /// keys it holds: [`RepositoryEditor::resign_delegated`]); returns what the
    /// next [`RepositoryEditor::publish`] must be told (root needs its keys).
    pub fn refresh(&mut self, days: u32) -> Changed {
        self.refresh_held(days, |_| true).0
    }

    /// As [`RepositoryEditor::refresh`], for a publisher that holds only
    /// some keys (a delegate, review 9 #2): targets and the hash bins are
    /// marked only if `holds(Targets)`, root only if `holds(Root)` and
    /// `holds(Targets)` (a root publish re-signs targets too). Returns what
    /// to tell [`RepositoryEditor::publish`], and the expiring roles left
    /// out, for the caller to name.
    pub fn refresh_held(
        &mut self,
        days: u32,
        holds: impl Fn(TopRole) -> bool,
    ) -> (Changed, Vec<RoleName>) {
        let expiring = self.expiring(days);
        let targets_held = holds(TopRole::Targets);
        let root_held = holds(TopRole::Root) && targets_held;
        let mut left_out = Vec::new();
        for role in &expiring {
            if self.delegated.contains_key(role) || role.top() == Some(TopRole::Snapshot) {
                continue;
            } else if *role == TopRole::Root {
                if !root_held {
                    left_out.push(role.clone());
                }
            } else if *role == TopRole::Targets || self.bins.contains_key(role) {
                if !targets_held {
                    left_out.push(role.clone());
                } else if *role == TopRole::Targets {
                    self.targets_dirty = true;
                } else {
                    self.dirty_bins.insert(role.clone());
                }
            }
        }
        let changed = if root_held && expiring.iter().any(|r| *r == TopRole::Root) {
            Changed::RootAndTargets
        } else if self.targets_dirty || !self.dirty_bins.is_empty() {
            Changed::Targets
        } else {
            Changed::Nothing
        };
        (changed, left_out)
    }

    /// Give a top-level role a new key, replacing its keys or beside them.
    /// Root changes: publish with [`Changed::RootAndTargets`], root signed by
    /// the old root keys and (when root rotates) the new one.
    pub fn rotate(&mut self, role: TopRole, key: &Key, old: OldKeys) -> Result<(), PublishError> {
        self.require_every_bin()?;
        let keyid = key.key_id();
        let entry = self
            .root
            .roles
            .get_mut(&role)
            .ok_or(PublishError::UnknownRole { role })?;
        // Rotating to a key the role already has would change nothing but
        // root's version (B-7): refused, so "rotated" always means a new key.
        if entry.keyids.contains(&keyid) {
            return Err(PublishError::KeyAlreadyInRole { role, keyid });
        }
        if old == OldKeys::Replace {
            entry.keyids.clear();
        }
        entry.keyids.push(keyid.clone());
        self.root.keys.insert(keyid, key.clone());
        self.sync_bin_keys();
        self.forget_unused_keys();
        self.targets_dirty = true;
        Ok(())
    }

    /// Name the repository (GUN) in root, so that clients and the trust
    /// service refuse this root, and everything it signs for, anywhere else
    /// (review B-7). Written when root is next published.
    pub fn name_repository(&mut self, gun: &crate::gun::Gun) {
        self.root.repository = Some(gun.to_string());
    }

    /// Every key id the repository names: root's keys, and the keys targets
    /// gives its delegated roles and hash bins.
    pub fn key_ids(&self) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self.root.keys.keys().cloned().collect();
        if let Some(d) = &self.targets.delegations {
            ids.extend(d.keys.keys().cloned());
        }
        ids
    }

    /// Remove a key from every role that lists it: root's roles, and the
    /// named roles targets delegates to. Refused when a role would be left
    /// below its threshold. Root changes when a top-level role did (publish
    /// with [`Changed::RootAndTargets`]); targets always does, and each
    /// delegated role that lost the key and has metadata is signed again,
    /// by its remaining keys, at the next publish (what it holds may carry
    /// only the revoked key's signature).
    pub fn revoke(&mut self, keyid: &str) -> Result<Revoked, PublishError> {
        self.require_every_bin()?;
        let mut revoked = Revoked::default();
        for (role, keys) in &self.root.roles {
            if keys.keyids.iter().any(|k| k == keyid) {
                let left = keys.keyids.len() - 1;
                if (left as u64) < keys.threshold {
                    return Err(PublishError::BelowThreshold {
                        keyid: keyid.to_owned(),
                        role: *role,
                        left,
                        threshold: keys.threshold,
                    });
                }
                revoked.roles.push(*role);
            }
        }
        for r in self
            .targets
            .delegations
            .iter()
            .flat_map(|d| d.roles.iter().flatten())
        {
            if r.keyids.iter().any(|k| k == keyid) {
                let left = r.keyids.len() - 1;
                if (left as u64) < r.threshold {
                    return Err(PublishError::DelegationBelowThreshold {
                        keyid: keyid.to_owned(),
                        role: r.name.clone(),
                        left,
                        threshold: r.threshold,
                    });
                }
                revoked.delegations.push(r.name.clone());
            }
        }
        if revoked.roles.is_empty() && revoked.delegations.is_empty() {
            return Err(PublishError::UnknownKey {
                keyid: keyid.to_owned(),
            });
        }
        for role in &revoked.roles {
            if let Some(keys) = self.root.roles.get_mut(role) {
                keys.keyids.retain(|k| k != keyid);
            }
        }
        if let Some(roles) = self
            .targets
            .delegations
            .as_mut()
            .and_then(|d| d.roles.as_mut())
        {
            for r in roles.iter_mut() {
                r.keyids.retain(|k| k != keyid);
            }
        }
        for name in &revoked.delegations {
            if self.is_published(name) {
                self.dirty_delegated.insert(name.clone());
            }
        }
        self.sync_bin_keys();
        self.forget_unused_keys();
        self.prune_delegation_keys();
        self.targets_dirty = true;
        Ok(revoked)
    }

    pub(super) fn forget_unused_keys(&mut self) {
        let used: BTreeSet<String> = self
            .root
            .roles
            .values()
            .flat_map(|r| r.keyids.iter().cloned())
            .collect();
        self.root.keys.retain(|id, _| used.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::{KeyKind, LocalSigner};

    fn repo() -> (RepositoryEditor, Vec<LocalSigner>) {
        let keys: Vec<LocalSigner> = (0..4)
            .map(|_| LocalSigner::generate(KeyKind::Ed25519).unwrap())
            .collect();
        let repo = RepositoryEditor::create(
            [
                keys[0].public_key(),
                keys[1].public_key(),
                keys[2].public_key(),
                keys[3].public_key(),
            ],
            Expiries::default(),
        );
        (repo, keys)
    }

    #[test]
    fn a_crowded_bin_loaded_alone_asks_for_every_bin_and_never_splits_partly() {
        let (mut repo, _) = repo();
        repo.use_bins(4);
        for i in 0..5000 {
            repo.set_target(
                &format!("v{i}"),
                crate::image::target_for_manifest(b"m", None),
            )
            .unwrap();
        }
        // As if loaded for one tag: the other fifteen bins left out.
        let keep = repo.bins.keys().next().unwrap().clone();
        let others: Vec<RoleName> = repo.bins.keys().filter(|b| **b != keep).cloned().collect();
        for bin in others {
            repo.bins.remove(&bin);
            repo.unloaded_bins.insert(bin);
        }
        assert!(repo.bins[&keep].targets.len() > CROWDED_BIN);
        assert!(repo.needs_every_bin());
        repo.split_crowded_bins();
        assert_eq!(
            repo.succinct().unwrap().bit_length,
            4,
            "no split from one bin"
        );
    }

    #[test]
    fn rotation_replaces_or_adds_keys_and_forgets_unused_ones() {
        let (mut repo, keys) = repo();
        let fresh = LocalSigner::generate(KeyKind::Ed25519).unwrap();
        repo.rotate(TopRole::Targets, fresh.public_key(), OldKeys::Keep)
            .unwrap();
        assert_eq!(
            repo.root.roles[&TopRole::Targets].keyids,
            [keys[1].key_id(), fresh.key_id()]
        );
        let revoked = repo.revoke(&keys[1].key_id()).unwrap();
        assert_eq!(revoked.roles, [TopRole::Targets]);
        assert_eq!(repo.root.roles[&TopRole::Targets].keyids, [fresh.key_id()]);
        assert!(
            !repo.root.keys.contains_key(&keys[1].key_id()),
            "an unused key is dropped from root"
        );
        let other = LocalSigner::generate(KeyKind::Ed25519).unwrap();
        repo.rotate(TopRole::Snapshot, other.public_key(), OldKeys::Replace)
            .unwrap();
        assert_eq!(repo.root.roles[&TopRole::Snapshot].keyids, [other.key_id()]);
    }

    #[test]
    fn b7_a_rotation_to_a_key_the_role_already_has_is_refused() {
        let (mut repo, keys) = repo();
        for mode in [OldKeys::Replace, OldKeys::Keep] {
            assert!(matches!(
                repo.rotate(TopRole::Root, keys[0].public_key(), mode),
                Err(PublishError::KeyAlreadyInRole { role: TopRole::Root, keyid })
                    if keyid == keys[0].key_id()
            ));
        }
        assert_eq!(repo.root.roles[&TopRole::Root].keyids, [keys[0].key_id()]);
    }

    #[test]
    fn revoking_below_a_threshold_or_an_unknown_key_is_refused() {
        let (mut repo, keys) = repo();
        let err = repo.revoke(&keys[2].key_id()).unwrap_err();
        assert!(
            matches!(
                &err,
                PublishError::BelowThreshold {
                    role: TopRole::Snapshot,
                    left: 0,
                    threshold: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("--keep-old"), "{err}");
        assert!(matches!(
            repo.revoke("00ff"),
            Err(PublishError::UnknownKey { .. })
        ));
    }

    #[test]
    fn n6_a_delegation_key_is_revoked_threshold_safe_and_the_role_re_signed() {
        let (mut repo, _) = repo();
        let (a, b) = (
            LocalSigner::generate(KeyKind::Ed25519).unwrap(),
            LocalSigner::generate(KeyKind::Ed25519).unwrap(),
        );
        let keys = [a.public_key().clone(), b.public_key().clone()];
        let (qa, solo) = (RoleName::new("qa").unwrap(), RoleName::new("solo").unwrap());
        repo.add_delegation(&qa, &keys, 1, vec!["qa-*".into()], false)
            .unwrap();
        repo.add_delegation(&solo, &keys[..1], 1, vec!["s-*".into()], false)
            .unwrap();
        // a signs solo alone: revoking it would leave solo no key.
        assert!(matches!(
            repo.revoke(&a.key_id()),
            Err(PublishError::DelegationBelowThreshold { role, left: 0, .. }) if role == "solo"
        ));
        repo.remove_delegation(&solo).unwrap();
        // qa has metadata (snapshot lists it): signed again by b.
        repo.snapshot.meta.insert(
            "qa.json".into(),
            crate::editor::meta_version(Version::FIRST),
        );
        let revoked = repo.revoke(&a.key_id()).unwrap();
        assert_eq!(
            revoked,
            Revoked {
                roles: vec![],
                delegations: vec![qa.clone()]
            }
        );
        assert_eq!(repo.delegation(&qa).unwrap().keyids, [b.key_id()]);
        let d = repo.targets.delegations.as_ref().unwrap();
        assert!(
            !d.keys.contains_key(&a.key_id()),
            "an unused key is dropped"
        );
        assert!(repo.dirty_delegated.contains(&qa));
    }

    /// Review A.1 (4): each way a delegation is refused is its own variant
    /// (was one `Delegation(String)`), so callers and tests tell them apart.
    #[test]
    fn a1_4_delegation_refusals_are_told_apart() {
        let (mut repo, keys) = repo();
        let key = [keys[1].public_key().clone()];
        let role = |n: &str| RoleName::new(n).unwrap();
        let add = |repo: &mut RepositoryEditor, name: &str, threshold, paths: Vec<String>| {
            repo.add_delegation(&role(name), &key, threshold, paths, false)
        };
        for reserved in ["targets", "root", "bins-00"] {
            assert!(
                matches!(
                    add(&mut repo, reserved, 1, vec!["*".into()]),
                    Err(PublishError::ReservedName { .. })
                ),
                "{reserved}"
            );
        }
        assert!(matches!(
            add(&mut repo, "qa", 2, vec!["*".into()]),
            Err(PublishError::Threshold {
                threshold: 2,
                keys: 1
            })
        ));
        assert!(matches!(
            add(&mut repo, "qa", 1, vec![]),
            Err(PublishError::NoPaths)
        ));
        assert!(matches!(
            repo.remove_delegation(&role("qa")),
            Err(PublishError::NotDelegated { .. })
        ));
        add(&mut repo, "qa", 1, vec!["qa-*".into()]).unwrap();
        let target = crate::image::target_for_manifest(b"m", None);
        assert!(matches!(
            repo.set_delegated_target(&role("qa"), "v1", target.clone()),
            Err(PublishError::OutsidePaths { .. })
        ));
        repo.set_delegated_target(&role("qa"), "qa-1", target)
            .unwrap();
        let (mut binned, _) = super::tests::repo();
        binned.use_bins(4);
        assert!(matches!(
            add(&mut binned, "qa", 1, vec!["*".into()]),
            Err(PublishError::HashBinsOnly)
        ));
    }

    #[test]
    fn refresh_picks_what_expires_soon() {
        let (mut repo, _) = repo();
        repo.targets_dirty = false; // as after its first publish
        assert_eq!(repo.expiring(30), [RoleName::TIMESTAMP]);
        assert_eq!(repo.refresh(30), Changed::Nothing);
        repo.targets.common.expires = UtcTime::now().plus_seconds(86_400);
        assert_eq!(repo.expiring(30), [RoleName::TARGETS, RoleName::TIMESTAMP]);
        repo.targets_dirty = false;
        assert_eq!(repo.refresh(30), Changed::Targets);
        repo.root.common.expires = UtcTime::now();
        assert_eq!(repo.refresh(30), Changed::RootAndTargets);
    }
}
