//! The name of a trust repository: Notary's GUN ("globally unique name"),
//! `registry/repository` as the image is pushed (`registry.example.com:5000/
//! team/app`, `docker.io/library/alpine`).
//!
//! The grammar is the one `clearance_auth::RepositoryName` checks (the OCI
//! distribution name grammar, a registry host and port allowed in front),
//! which the trust service's tokens are scoped by: with the `server`
//! feature, a [`Gun`] converts from and to that type without a second
//! check, and a test holds the two grammars to the same answers.
//! `clearance-auth` needs axum, which the trust client does without, so the
//! client checks the grammar here with the same `clearance-oci` rules.
//!
//! A GUN names a directory (`~/.clearance/trust/tuf/<quoted GUN>`, a
//! `file://` repository's `v2/<GUN>/_trust/tuf/`) and a URL path: no empty,
//! `.` or `..` component, no upper-case repository path, nothing but what
//! the grammar allows, at most 255 bytes.

use std::fmt;

use clearance_oci::RegistryRef;
use clearance_oci::reference::{check_domain, component_ok};

/// Longest repository name accepted, in bytes (what Distribution enforces).
pub const MAX_GUN: usize = 255;

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

/// The rule a refused repository name broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GunRule {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than [`MAX_GUN`] bytes.
    #[error("the name is longer than 255 characters")]
    TooLong,
    /// A `/`-separated component is empty.
    #[error("a path component is empty")]
    EmptyComponent,
    /// A component is outside `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    #[error("use lower-case letters, digits and single '.', '_', '__' or '-' runs between them")]
    Component,
}

impl Gun {
    /// Check `name` against the OCI name grammar (the first of several
    /// components may be a registry host with a port) and the length limit.
    pub fn new(name: &str) -> Result<Gun, GunError> {
        let refuse = |reason| GunError {
            name: name.chars().take(80).collect(),
            reason,
        };
        if name.is_empty() {
            return Err(refuse(GunRule::Empty));
        }
        if name.len() > MAX_GUN {
            return Err(refuse(GunRule::TooLong));
        }
        let mut components = name.split('/').peekable();
        if let Some(first) = components.next() {
            let host_allowed = components.peek().is_some();
            if !(host_allowed && check_domain(first).is_ok()) {
                check_component(first).map_err(refuse)?;
            }
        }
        for component in components {
            check_component(component).map_err(refuse)?;
        }
        Ok(Gun(name.to_owned()))
    }

    /// The GUN of an image in a registry: `registry/repository`.
    pub fn of(reference: &RegistryRef) -> Result<Gun, GunError> {
        Gun::new(&format!(
            "{}/{}",
            reference.registry(),
            reference.repository()
        ))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_component(component: &str) -> Result<(), GunRule> {
    if component.is_empty() {
        Err(GunRule::EmptyComponent)
    } else if component_ok(component) {
        Ok(())
    } else {
        Err(GunRule::Component)
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

    /// One grammar: the service's token scopes and the trust client agree.
    #[cfg(feature = "server")]
    #[test]
    fn the_grammar_is_the_one_of_the_token_scopes() {
        for name in GOOD.iter().chain(BAD) {
            assert_eq!(
                Gun::new(name).is_ok(),
                clearance_auth::RepositoryName::parse(name).is_ok(),
                "{name:?}"
            );
        }
    }
}
