//! The versions a publish must go beyond, so that no client can be rolled
//! back (review B-3).

use std::collections::{BTreeMap, HashMap};

use super::Refused;
use crate::schema::{MetaFile, RoleName, Version};

/// The versions an upload must go beyond: each role's newest stored
/// version, and the version the previous snapshot lists for it (B-3: the
/// snapshot is what clients hold, so a role the store lost track of, or a
/// delegation removed and added again, can still never go below it).
pub(super) struct Floors {
    pub(super) stored: HashMap<RoleName, Version>,
    pub(super) listed: BTreeMap<String, MetaFile>,
}

impl Floors {
    /// The highest version `role` has had, stored or listed.
    fn highest(&self, role: &RoleName) -> Option<Version> {
        let listed = self.listed.get(&role.meta_name()).and_then(|m| m.version);
        self.stored.get(role).copied().max(listed)
    }

    /// TUF 5.4.3 / 5.5.5 / 5.6.4, from the repository's side: a new version
    /// of a role must be higher than every version clients may have seen.
    pub(super) fn check_newer(&self, role: &RoleName, got: Version) -> Result<(), Refused> {
        match self.highest(role) {
            Some(stored) if got <= stored => Err(Refused::Stale {
                role: role.clone(),
                stored,
                got,
            }),
            _ => Ok(()),
        }
    }

    /// The version the service gives a role it signs: one past the highest.
    pub(super) fn next(&self, role: &RoleName) -> Result<Version, Refused> {
        match self.highest(role) {
            None => Ok(Version::FIRST),
            Some(v) => v
                .next()
                .map_err(|_| Refused::Exhausted { role: role.clone() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u64) -> Version {
        Version::new(n).unwrap()
    }

    fn role(name: &str) -> RoleName {
        RoleName::new(name).unwrap()
    }

    #[test]
    fn b3_a_role_never_goes_below_the_version_the_previous_snapshot_lists() {
        // The store's newest releases row says 4, the snapshot clients hold says 10.
        let floors = Floors {
            stored: HashMap::from([(role("releases"), v(4)), (RoleName::SNAPSHOT, v(7))]),
            listed: BTreeMap::from([(
                "releases.json".to_owned(),
                crate::editor::meta_version(v(10)),
            )]),
        };
        assert!(matches!(
            floors.check_newer(&role("releases"), v(5)),
            Err(Refused::Stale { stored, .. }) if stored == 10
        ));
        assert!(floors.check_newer(&role("releases"), v(11)).is_ok());
        assert_eq!(floors.next(&role("releases")).unwrap(), 11);
        assert_eq!(floors.next(&RoleName::SNAPSHOT).unwrap(), 8);
        assert_eq!(floors.next(&RoleName::TIMESTAMP).unwrap(), 1);
        let top = Floors {
            stored: HashMap::from([(RoleName::TIMESTAMP, v(Version::MAX))]),
            listed: BTreeMap::new(),
        };
        assert!(matches!(
            top.next(&RoleName::TIMESTAMP),
            Err(Refused::Exhausted { role }) if role == RoleName::TIMESTAMP
        ));
    }
}
