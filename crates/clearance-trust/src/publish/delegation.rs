//! Named delegations: roles with their own keys, limited to path patterns.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// When a new delegation's own metadata is first signed, by its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstVersion {
    /// When its keys first sign a target (`trust sign --role`): until then
    /// it has no metadata, and clients find nothing signed by it.
    Later,
    /// In the publish that adds it: the role was delegated before and
    /// snapshot lists its last version, which its new keys must follow.
    Now,
}

impl RepositoryEditor {
    /// Delegate `paths` to a new (or changed) role with its own keys; the
    /// delegator signs targets only (as Notary's `delegation add` does), so
    /// the keys may be someone else's. A new role has no metadata until its
    /// keys sign it: version 1, at the first publish given them (its first
    /// target, or this publish if the delegator holds them:
    /// [`FirstVersion::Later`]).
    /// A role of that name removed earlier is still listed in snapshot at
    /// its last version, signed by its old keys: its new keys must sign the
    /// next version, empty, in this publish ([`FirstVersion::Now`]; B-9).
    pub fn add_delegation(
        &mut self,
        name: &RoleName,
        keys: &[Key],
        threshold: u64,
        paths: Vec<String>,
        terminating: bool,
    ) -> Result<FirstVersion, PublishError> {
        if self.succinct().is_some() {
            return Err(PublishError::HashBinsOnly);
        }
        if name.is_top() || name.as_str().starts_with(BIN_PREFIX) {
            return Err(PublishError::ReservedName { name: name.clone() });
        }
        if keys.is_empty() || threshold == 0 || threshold > keys.len() as u64 {
            return Err(PublishError::Threshold {
                threshold,
                keys: keys.len(),
            });
        }
        if paths.is_empty() {
            return Err(PublishError::NoPaths);
        }
        let d = self.targets.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: BTreeMap::new(),
        });
        for k in keys {
            d.keys.insert(k.key_id(), k.clone());
        }
        let role = crate::schema::DelegatedRole {
            name: name.clone(),
            keyids: keys.iter().map(Key::key_id).collect(),
            threshold,
            terminating,
            paths: Some(paths),
            path_hash_prefixes: None,
            path_prefixes: None,
            extra: BTreeMap::new(),
        };
        let roles = d.roles.get_or_insert_with(Vec::new);
        roles.retain(|r| r.name != *name);
        roles.push(role);
        let mut first = FirstVersion::Later;
        if !self.delegated.contains_key(name) {
            let expires = self.expiries.targets_days.after(UtcTime::now());
            // A role removed earlier is still listed in snapshot (clients
            // refuse a snapshot that drops one): continue from that version,
            // which publish raises by one, never back to 1 (B-9).
            let listed = self
                .snapshot
                .meta
                .get(&name.meta_name())
                .and_then(|m| m.version);
            self.delegated.insert(
                name.clone(),
                Targets {
                    common: common(TopRole::Targets, listed.unwrap_or(Version::FIRST), expires),
                    targets: BTreeMap::new(),
                    delegations: None,
                    extra: BTreeMap::new(),
                },
            );
            if listed.is_some() {
                self.dirty_delegated.insert(name.clone());
                first = FirstVersion::Now;
            }
        }
        self.prune_delegation_keys();
        self.targets_dirty = true;
        Ok(first)
    }

    /// Whether snapshot lists a delegated role (it has been published).
    pub fn is_published(&self, name: &RoleName) -> bool {
        self.snapshot.meta.contains_key(&name.meta_name())
    }

    /// Stop delegating to `name`. Its snapshot entry stays (clients refuse a
    /// snapshot that drops a role), but nothing delegates to it any more.
    pub fn remove_delegation(&mut self, name: &RoleName) -> Result<(), PublishError> {
        let removed = self
            .targets
            .delegations
            .as_mut()
            .and_then(|d| d.roles.as_mut())
            .map(|roles| {
                let before = roles.len();
                roles.retain(|r| r.name != *name);
                before != roles.len()
            })
            .unwrap_or(false);
        if !removed {
            return Err(PublishError::NotDelegated { role: name.clone() });
        }
        self.delegated.remove(name);
        self.dirty_delegated.remove(name);
        self.prune_delegation_keys();
        self.targets_dirty = true;
        Ok(())
    }

    /// The keys and paths targets gives a named delegated role.
    pub fn delegation(&self, name: &RoleName) -> Option<&crate::schema::DelegatedRole> {
        self.targets
            .delegations
            .as_ref()?
            .roles
            .as_ref()?
            .iter()
            .find(|r| r.name == *name)
    }

    /// Put a target in a delegated role, which must be allowed to sign it.
    pub fn set_delegated_target(
        &mut self,
        role: &RoleName,
        name: &str,
        target: TargetFile,
    ) -> Result<(), PublishError> {
        crate::schema::TargetName::new(name)?;
        let delegation = self
            .delegation(role)
            .ok_or_else(|| PublishError::NotDelegated { role: role.clone() })?;
        if !delegation.delegates(name) {
            return Err(PublishError::OutsidePaths {
                role: role.clone(),
                target: name.to_owned(),
                paths: delegation.paths.clone().unwrap_or_default(),
            });
        }
        if let Some(r) = self.delegated.get_mut(role) {
            r.targets.insert(name.to_owned(), target);
            self.dirty_delegated.insert(role.clone());
        }
        Ok(())
    }

    pub(super) fn prune_delegation_keys(&mut self) {
        if let Some(d) = self.targets.delegations.as_mut() {
            let used: BTreeSet<String> = d
                .roles
                .iter()
                .flatten()
                .flat_map(|r| r.keyids.iter().cloned())
                .collect();
            if d.succinct_roles.is_none() {
                d.keys.retain(|id, _| used.contains(id));
            }
            if d.roles.as_ref().is_some_and(Vec::is_empty) && d.succinct_roles.is_none() {
                self.targets.delegations = None;
            }
        }
    }
}
