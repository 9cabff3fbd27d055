//! The name of a trust repository: Notary's GUN ("globally unique name"),
//! `registry/repository` as the image is pushed (`registry.example.com:5000/
//! team/app`, `docker.io/library/alpine`).
//!
//! The grammar is `clearance_oci::reference::check_repository_name` (the
//! OCI distribution name grammar, a registry host and port allowed in
//! front), the one `clearance_auth::RepositoryName` checks and the trust
//! service's tokens are scoped by: with the `server` feature, a [`Gun`]
//! converts from and to that type without a second check.
//!
//! A GUN names a directory (`~/.clearance/trust/tuf/<quoted GUN>`, a
//! `file://` repository's `v2/<GUN>/_trust/tuf/`) and a URL path: no empty,
//! `.` or `..` component, no upper-case repository path, nothing but what
//! the grammar allows, at most 255 bytes.

use std::fmt;

use clearance_oci::RegistryRef;
use clearance_oci::reference::{MAX_REPOSITORY_NAME, NameRule, check_repository_name};

/// Longest repository name accepted, in bytes (what Distribution enforces).
pub const MAX_GUN: usize = MAX_REPOSITORY_NAME;

/// A trust repository's name, checked by [`Gun::new`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gun(String);

/// Why a repository name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository name {name:?}: {reason}")]
pub struct GunError {
    /// The refused name, shortened when long.
    pub name: String,
    /// The rule it broke.
    pub reason: GunRule,
}

/// The rule a refused repository name broke (the grammar lives in
/// `clearance_oci::reference`, shared with `clearance_auth`).
pub type GunRule = NameRule;

impl Gun {
    /// Check `name` against the OCI name grammar (the first of several
    /// components may be a registry host with a port) and the length limit.
    pub fn new(name: &str) -> Result<Gun, GunError> {
        check_repository_name(name).map_err(|reason| GunError {
            name: name.chars().take(80).collect(),
            reason,
        })?;
        Ok(Gun(name.to_owned()))
    }

    /// The GUN of an image in a registry: `registry/repository`.
    pub fn of(reference: &RegistryRef) -> Result<Gun, GunError> {
        Gun::new(&reference.name())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "server")]
impl From<clearance_auth::RepositoryName> for Gun {
    /// The same grammar: nothing to check again.
    fn from(name: clearance_auth::RepositoryName) -> Gun {
        Gun(name.as_str().to_owned())
    }
}

impl std::str::FromStr for Gun {
    type Err = GunError;

    fn from_str(s: &str) -> Result<Gun, GunError> {
        Gun::new(s)
    }
}

impl AsRef<str> for Gun {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Gun {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Gun {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[&str] = &[
        "a",
        "library/alpine",
        "docker.io/library/alpine",
        "127.0.0.1:5000/team/app",
        "[::1]:5000/team/app",
        "Registry.Example.com:443/team/app",
        "r/a",
        "my-org/my.app/v2",
    ];
    const BAD: &[&str] = &[
        "",
        "Upper",
        "a//b",
        "/a",
        "a/",
        "a/../b",
        "../a",
        "./a",
        "host:5000",
        "[::1]:5000/Team/app",
        "a b",
        "a\nb",
        "é",
    ];

    #[test]
    fn repository_names_follow_the_oci_grammar_with_a_host_in_front() {
        for name in GOOD {
            assert_eq!(Gun::new(name).unwrap().as_str(), *name);
        }
        for name in BAD {
            assert!(Gun::new(name).is_err(), "{name:?}");
        }
        assert_eq!(Gun::new("").unwrap_err().reason, GunRule::Empty);
        assert_eq!(Gun::new("a/../b").unwrap_err().reason, GunRule::Component);
        assert_eq!(
            Gun::new(&"a".repeat(MAX_GUN + 1)).unwrap_err().reason,
            GunRule::TooLong
        );
    }

    #[test]
    fn every_registry_reference_has_a_gun() {
        for image in ["alpine", "localhost:5000/team/app:v1", "[::1]:5000/a/b:c"] {
            let clearance_oci::ImageRef::Registry(r) = image.parse().unwrap() else {
                panic!("{image}");
            };
            assert!(Gun::of(&r).is_ok(), "{image}");
        }
    }
}
