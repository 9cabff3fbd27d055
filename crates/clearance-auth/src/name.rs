//! Repository names, validated against the OCI distribution name grammar.
//!
//! OCI distribution spec, "Pulling manifests": `<name>` MUST match
//! `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
//! Trust repositories are named like Notary's GUNs, with the registry host
//! in front (`registry.example.com:5000/team/app`): the first component of a
//! name with more than one may be a host with an optional port.

use std::fmt;
use std::str::FromStr;

pub use clearance_oci::reference::NameRule;
use clearance_oci::reference::{MAX_REPOSITORY_NAME, check_repository_name};

/// Longest repository name accepted, as Distribution enforces.
pub const MAX_NAME_LEN: usize = MAX_REPOSITORY_NAME;

/// A repository name such as `team/app`, checked when built.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryName(String);

/// Why a repository name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository name {name:?}: {reason}")]
pub struct NameError {
    /// The refused name, shortened when very long.
    pub name: String,
    /// What rule it broke.
    pub reason: NameRule,
}

impl RepositoryName {
    /// Checks `name` against the OCI name grammar and the 255-character limit.
    pub fn parse(name: &str) -> Result<RepositoryName, NameError> {
        check_repository_name(name).map_err(|reason| NameError {
            name: excerpt(name),
            reason,
        })?;
        Ok(RepositoryName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepositoryName::parse(s)
    }
}

impl AsRef<str> for RepositoryName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RepositoryName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RepositoryName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Shortens untrusted text before it goes into an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_grammar_names() {
        for name in [
            "a",
            "library/alpine",
            "a/b/c",
            "team.x/app_1",
            "a__b",
            "a---b",
            "0/9",
            "my-org/my.app/v2",
            "127.0.0.1:5000/team/app",
            "registry.example.com/app",
            "[::1]:5000/team/app",
            "[::1]/team/app",
            "Registry.Example.com:443/team/app",
            "LOCALHOST/app",
        ] {
            assert!(RepositoryName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_names_outside_the_grammar() {
        for name in [
            "",
            "Upper",
            "a//b",
            "/a",
            "a/",
            "-a",
            "a-",
            "a___b",
            "a..b",
            "a._b",
            "host:5000",
            "a/host:5000/x",
            "host:5x/x",
            "host:0/x",
            "host:65536/x",
            "[::1]:5000",
            "[::1/x",
            "[::g]/x",
            "[::1]\"x/app",
            "[::1]:5000/Team/app",
            "a b",
            "a/../b",
            "é",
        ] {
            assert!(RepositoryName::parse(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn accepts_every_registry_name_a_client_builds() {
        for image in [
            "[::1]:5000/team/app:v1",
            "REGISTRY.example.com/team/app",
            "localhost:5000/team/app",
            "alpine",
        ] {
            let clearance_oci::ImageRef::Registry(r) = image.parse().unwrap() else {
                panic!("{image} is not a registry reference");
            };
            let gun = r.name();
            assert_eq!(RepositoryName::parse(&gun).unwrap(), gun.as_str());
        }
    }

    #[test]
    fn bounds_the_length() {
        let ok = "a".repeat(MAX_NAME_LEN);
        assert!(RepositoryName::parse(&ok).is_ok());
        let err = RepositoryName::parse(&"a".repeat(MAX_NAME_LEN + 1)).unwrap_err();
        assert_eq!(err.reason, NameRule::TooLong);
        assert!(err.name.chars().count() <= 81);
    }

    #[test]
    fn error_names_the_repository() {
        for (name, reason) in [
            ("Bad/Name", NameRule::Component),
            ("", NameRule::Empty),
            ("team//app", NameRule::EmptyComponent),
        ] {
            let err = RepositoryName::parse(name).unwrap_err();
            assert_eq!(
                err,
                NameError {
                    name: name.into(),
                    reason
                }
            );
        }
    }
}
