//! Scopes of the Docker registry token scheme: `repository:NAME:ACTIONS`.
//!
//! See <https://distribution.github.io/distribution/spec/auth/scope/>. A client
//! asks for scopes; [`crate::AccessRules`] turns each into a [`GrantedScope`],
//! which is what a token carries.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::name::{NameError, RepositoryName, excerpt};

/// What a client may do with a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Read manifests, blobs and metadata.
    Pull,
    /// Write manifests, blobs and metadata.
    Push,
}

impl Action {
    /// Every action, what `*` stands for.
    pub const ALL: [Action; 2] = [Action::Pull, Action::Push];

    /// The wire name: `pull` or `push`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
        }
    }

    /// Parses `pull` or `push`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            _ => None,
        }
    }

    /// Parses a requested, comma-separated action list. `*` means every
    /// action; unknown actions (`delete`, `metadata-read`, ...) are ignored,
    /// as Distribution does.
    pub fn parse_list(text: &str) -> BTreeSet<Action> {
        let mut actions = BTreeSet::new();
        for item in text.split(',') {
            if item == "*" {
                actions.extend(Action::ALL);
            } else if let Some(action) = Action::parse(item) {
                actions.insert(action);
            }
        }
        actions
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requested scope on one repository.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The repository asked for.
    pub repository: RepositoryName,
    /// The actions asked for.
    pub actions: BTreeSet<Action>,
}

/// What the access rules granted on one repository; what a token carries.
///
/// Kept apart from [`Scope`] so a requested scope cannot be signed by mistake.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrantedScope {
    /// The repository access was granted on.
    pub repository: RepositoryName,
    /// The actions granted, possibly fewer than requested, possibly none.
    pub actions: BTreeSet<Action>,
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not of the form `type:name:actions`.
    #[error("malformed scope {scope:?}: expected type:name:actions")]
    Malformed {
        /// The refused scope, shortened when long.
        scope: String,
    },
    /// The repository name breaks the OCI name grammar.
    #[error("scope {scope:?} names an invalid repository")]
    InvalidName {
        /// The refused scope, shortened when long.
        scope: String,
        /// What was wrong with the name.
        #[source]
        source: NameError,
    },
}

impl Scope {
    /// Builds a scope from parts already checked.
    pub fn new(repository: RepositoryName, actions: impl IntoIterator<Item = Action>) -> Scope {
        Scope {
            repository,
            actions: actions.into_iter().collect(),
        }
    }

    /// Parses `repository:NAME:ACTIONS`. The type ends at the first `:` and
    /// the actions start after the last one, so the name is everything in
    /// between. Resource types other than `repository` give `Ok(None)`; a
    /// name outside the OCI grammar (a registry host may lead it) is an error.
    pub fn parse(text: &str) -> Result<Option<Scope>, ScopeError> {
        let malformed = || ScopeError::Malformed {
            scope: excerpt(text),
        };
        let (kind, rest) = text.split_once(':').ok_or_else(malformed)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(malformed)?;
        if kind != "repository" {
            return Ok(None);
        }
        let repository = RepositoryName::parse(name).map_err(|source| ScopeError::InvalidName {
            scope: excerpt(text),
            source,
        })?;
        Ok(Some(Scope {
            repository,
            actions: Action::parse_list(actions),
        }))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scope(f, &self.repository, &self.actions)
    }
}

impl fmt::Display for GrantedScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scope(f, &self.repository, &self.actions)
    }
}

fn write_scope(
    f: &mut fmt::Formatter<'_>,
    repository: &RepositoryName,
    actions: &BTreeSet<Action>,
) -> fmt::Result {
    write!(f, "repository:{repository}:")?;
    for (i, action) in actions.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        f.write_str(action.as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap().unwrap()
    }

    #[test]
    fn parses_nested_names_and_action_lists() {
        let s = scope("repository:a/b/c:pull,push");
        assert_eq!(s.repository, "a/b/c");
        assert_eq!(s.actions, BTreeSet::from([Action::Pull, Action::Push]));
        assert_eq!(s.to_string(), "repository:a/b/c:pull,push");
    }

    #[test]
    fn star_means_every_action_and_unknown_actions_are_ignored() {
        assert_eq!(scope("repository:x:*").actions.len(), 2);
        let s = scope("repository:x:delete,pull,metadata-read");
        assert_eq!(s.actions, BTreeSet::from([Action::Pull]));
        assert!(scope("repository:x:").actions.is_empty());
        assert_eq!(
            scope("repository:x:push,pull").to_string(),
            "repository:x:pull,push"
        );
    }

    #[test]
    fn a_registry_host_with_a_port_may_lead_the_name() {
        let s = Scope::parse("repository:127.0.0.1:5000/team/x:pull")
            .unwrap()
            .unwrap();
        assert_eq!(s.repository, "127.0.0.1:5000/team/x");
        assert_eq!(s.actions, BTreeSet::from([Action::Pull]));
        // Hosts as clients name them: any case, IPv6 in brackets.
        for (text, name) in [
            ("repository:Host:5000/x:pull", "Host:5000/x"),
            ("repository:[::1]:5000/team/x:push", "[::1]:5000/team/x"),
        ] {
            assert_eq!(scope(text).repository, name);
        }
        // Only in front, only one, never alone, and with a port in range.
        for bad in [
            "repository:team/host:5000/x:pull",
            "repository:host:5000:pull",
            "repository:host:50a0/x:pull",
            "repository:host:65536/x:pull",
            "repository:Host:5000/X:pull",
        ] {
            let err = Scope::parse(bad).unwrap_err();
            assert!(
                matches!(err, ScopeError::InvalidName { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn other_resource_types_are_ignored() {
        assert_eq!(Scope::parse("registry:catalog:*").unwrap(), None);
        assert_eq!(Scope::parse("repository(plugin):x:pull").unwrap(), None);
    }

    #[test]
    fn refuses_malformed_scopes_and_invalid_names() {
        for text in ["", "repository", "repository:x", "pull"] {
            assert!(
                matches!(Scope::parse(text), Err(ScopeError::Malformed { .. })),
                "{text:?}"
            );
        }
        for text in [
            "repository:Upper:pull",
            "repository::pull",
            "repository:a//b:pull",
        ] {
            assert!(
                matches!(Scope::parse(text), Err(ScopeError::InvalidName { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn parses_single_actions() {
        assert_eq!(Action::parse("pull"), Some(Action::Pull));
        assert_eq!(Action::parse("push"), Some(Action::Push));
        assert_eq!(Action::parse("PULL"), None);
        assert_eq!(Action::Push.to_string(), "push");
    }
}
