//! TAP 15 hash bins: large repositories keep their targets in 2^k bins
//! signed by the targets keys, so a change re-signs one small bin.

use std::collections::BTreeMap;

use super::*;

impl RepositoryEditor {
    /// The succinct hash-bin delegation, if targets uses one.
    pub(super) fn succinct(&self) -> Option<&SuccinctRoles> {
        self.targets.delegations.as_ref()?.succinct_roles.as_ref()
    }

    /// Move every target into `2^bit_length` hash bins signed with the
    /// targets keys: from then on a change re-signs one small bin.
    pub fn use_bins(&mut self, bit_length: u32) {
        if self.succinct().is_some() || !self.delegated.is_empty() {
            return;
        }
        let keys = self.root.roles.get(&TopRole::Targets).cloned();
        let keyids = keys.as_ref().map(|k| k.keyids.clone()).unwrap_or_default();
        let delegation_keys: BTreeMap<String, Key> = keyids
            .iter()
            .filter_map(|id| Some((id.clone(), self.root.keys.get(id)?.clone())))
            .collect();
        let succinct = SuccinctRoles {
            keyids,
            threshold: keys.map_or(1, |k| k.threshold),
            bit_length,
            name_prefix: BIN_PREFIX.to_owned(),
            extra: BTreeMap::new(),
        };
        let expires = self.expiries.targets_days.after(UtcTime::now());
        for name in bin_names(&succinct) {
            self.bins.insert(
                name.clone(),
                Targets {
                    common: common(TopRole::Targets, Version::FIRST, expires),
                    targets: BTreeMap::new(),
                    delegations: None,
                    extra: BTreeMap::new(),
                },
            );
            self.dirty_bins.insert(name);
        }
        for (name, target) in std::mem::take(&mut self.targets.targets) {
            let bin = succinct.bin_for(&name);
            if let Some(role) = self.bins.get_mut(&bin) {
                role.targets.insert(name, target);
            }
        }
        self.targets.delegations = Some(Delegations {
            keys: delegation_keys,
            roles: None,
            succinct_roles: Some(succinct),
            extra: BTreeMap::new(),
        });
        self.targets_dirty = true;
    }

    /// A repository that grew far past its bins (more than `CROWDED_BIN`
    /// targets per bin on average) gets more: about `TARGETS_PER_BIN` each
    /// again. Every target moves to its new bin; names the new set shares
    /// with the old go up a version, and bins no longer delegated stay listed
    /// in snapshot at their last version, so no client sees a role dropped or
    /// rolled back. One large publish, then single-bin changes again.
    pub(super) fn split_crowded_bins(&mut self) {
        let Some(old) = self.succinct().cloned() else {
            return;
        };
        if !self.unloaded_bins.is_empty() {
            return; // loaded for one tag; `needs_every_bin` loads all when crowded
        }
        let total: usize = self.bins.values().map(|b| b.targets.len()).sum();
        if total <= CROWDED_BIN << old.bit_length || old.bit_length >= MAX_BIN_BITS {
            return;
        }
        let bit_length = (total / TARGETS_PER_BIN)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(old.bit_length + 1, MAX_BIN_BITS);
        let new = SuccinctRoles { bit_length, ..old };
        let expires = self.expiries.targets_days.after(UtcTime::now());
        let old_bins = std::mem::take(&mut self.bins);
        self.dirty_bins.clear();
        for name in bin_names(&new) {
            // A name a former bin had keeps counting up from its last version.
            let version = self
                .snapshot
                .meta
                .get(&name.meta_name())
                .and_then(|m| m.version)
                .unwrap_or(Version::FIRST);
            self.bins.insert(
                name.clone(),
                Targets {
                    common: common(TopRole::Targets, version, expires),
                    targets: BTreeMap::new(),
                    delegations: None,
                    extra: BTreeMap::new(),
                },
            );
            self.dirty_bins.insert(name);
        }
        for (name, target) in old_bins.into_values().flat_map(|b| b.targets) {
            if let Some(role) = self.bins.get_mut(&new.bin_for(&name)) {
                role.targets.insert(name, target);
            }
        }
        if let Some(s) = self
            .targets
            .delegations
            .as_mut()
            .and_then(|d| d.succinct_roles.as_mut())
        {
            s.bit_length = bit_length;
        }
        self.targets_dirty = true;
    }

    /// Hash bins are signed by the targets keys: keep their delegation in step.
    pub(super) fn sync_bin_keys(&mut self) {
        let Some(targets) = self.root.roles.get(&TopRole::Targets).cloned() else {
            return;
        };
        let keys: BTreeMap<String, Key> = targets
            .keyids
            .iter()
            .filter_map(|id| Some((id.clone(), self.root.keys.get(id)?.clone())))
            .collect();
        if let Some(d) = self.targets.delegations.as_mut()
            && let Some(s) = d.succinct_roles.as_mut()
            && (s.keyids != targets.keyids || s.threshold != targets.threshold)
        {
            // Re-signed by the new targets keys (rotating another role
            // leaves the bins alone).
            s.keyids = targets.keyids.clone();
            s.threshold = targets.threshold;
            d.keys = keys;
            let names: Vec<RoleName> = self.bins.keys().cloned().collect();
            self.dirty_bins.extend(names);
        }
    }
}

/// Every bin name of a succinct delegation.
pub fn bin_names(s: &SuccinctRoles) -> Vec<RoleName> {
    (0..1u64 << s.bit_length)
        .map(|bin| s.bin_name(bin))
        .collect()
}
