//! Access rules: who may pull or push which repositories.
//!
//! The binary reads them from `[[access]]` tables:
//!
//! ```toml
//! [[access]]
//! repositories = "team/*"
//! users = ["alice", "bob"]     # "*" = any signed-in user
//! actions = ["pull", "push"]   # "*" = both
//! anonymous = ["pull"]
//! ```
//!
//! Every rule whose pattern matches a repository contributes; what nothing
//! grants is denied.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, de};

use crate::pattern::Pattern;
use crate::scope::{Action, GrantedScope, Scope};

/// The user entry that stands for every signed-in user.
pub const ANY_USER: &str = "*";

/// One access rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    /// The repositories the rule covers.
    pub repositories: Pattern,
    /// The users granted `actions`; `"*"` means any signed-in user.
    pub users: Vec<String>,
    /// What `users` may do.
    pub actions: BTreeSet<Action>,
    /// What anyone, signed in or not, may do.
    pub anonymous: BTreeSet<Action>,
}

/// An ordered list of access rules, deny by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct AccessRules {
    rules: Vec<Rule>,
}

/// A rule as written in the configuration file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    repositories: Pattern,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default, deserialize_with = "action_list")]
    actions: BTreeSet<Action>,
    #[serde(default, deserialize_with = "action_list")]
    anonymous: BTreeSet<Action>,
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Self, Self::Error> {
        if !raw.actions.is_empty() && raw.users.is_empty() {
            return Err(format!(
                "access rule for {:?} gives actions but no users; \
                 list users, or users = [\"*\"] for every signed-in user",
                raw.repositories.as_str()
            ));
        }
        if let Some(user) = raw.users.iter().find(|u| u.is_empty()) {
            return Err(format!(
                "access rule for {:?} lists an empty user name {user:?}",
                raw.repositories.as_str()
            ));
        }
        Ok(Rule {
            repositories: raw.repositories,
            users: raw.users,
            actions: raw.actions,
            anonymous: raw.anonymous,
        })
    }
}

/// Reads `["pull", "push"]` or `["*"]`; unknown actions are a configuration
/// error, unlike in requested scopes.
fn action_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<Action>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    let mut actions = BTreeSet::new();
    for name in names {
        match name.as_str() {
            "*" => actions.extend(Action::ALL),
            other => match Action::parse(other) {
                Some(action) => {
                    actions.insert(action);
                }
                None => {
                    return Err(de::Error::custom(format!(
                        "unknown action {other:?}, expected \"pull\", \"push\" or \"*\""
                    )));
                }
            },
        }
    }
    Ok(actions)
}

impl Rule {
    /// What this rule gives `user` (anonymous when `None`) on a repository it covers.
    /// Signed-in users also get what anonymous users get.
    fn actions_for(&self, user: Option<&str>) -> impl Iterator<Item = Action> + '_ {
        let named = user.is_some_and(|user| {
            self.users
                .iter()
                .any(|listed| listed == ANY_USER || listed == user)
        });
        let actions = named.then_some(&self.actions).into_iter().flatten();
        self.anonymous.iter().chain(actions).copied()
    }
}

impl AccessRules {
    /// What `user` (anonymous when `None`) gets of what `scope` asks for: the
    /// union over matching rules, intersected with the request.
    pub fn granted(&self, user: Option<&str>, scope: &Scope) -> BTreeSet<Action> {
        let repository = scope.repository.as_str();
        self.rules
            .iter()
            .filter(|rule| rule.repositories.matches(repository))
            .flat_map(|rule| rule.actions_for(user))
            .filter(|action| scope.actions.contains(action))
            .collect()
    }

    /// [`AccessRules::granted`] as the scope a token carries.
    pub fn grant(&self, user: Option<&str>, scope: &Scope) -> GrantedScope {
        GrantedScope {
            repository: scope.repository.clone(),
            actions: self.granted(user, scope),
        }
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// Whether anyone, without signing in, may do `action` on `repository`.
    pub fn is_public(&self, repository: &str, action: Action) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.anonymous.contains(&action) && rule.repositories.matches(repository))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::RepositoryName;

    fn rules(json: &str) -> AccessRules {
        serde_json::from_str(json).unwrap()
    }

    fn ask(repo: &str, actions: &[Action]) -> Scope {
        Scope::new(
            RepositoryName::parse(repo).unwrap(),
            actions.iter().copied(),
        )
    }

    const BOTH: &[Action] = &[Action::Pull, Action::Push];

    fn example() -> AccessRules {
        rules(
            r#"[
                {"repositories": "team/*", "users": ["alice"], "actions": ["pull", "push"]},
                {"repositories": "team/*", "users": ["*"], "actions": ["pull"]},
                {"repositories": "public/**", "anonymous": ["pull"]},
                {"repositories": "public/tools", "users": ["bob"], "actions": ["*"]}
            ]"#,
        )
    }

    #[test]
    fn deny_by_default() {
        let rules = example();
        assert!(
            rules
                .granted(Some("alice"), &ask("other/app", BOTH))
                .is_empty()
        );
        assert!(rules.granted(None, &ask("team/app", BOTH)).is_empty());
        assert!(
            AccessRules::default()
                .granted(Some("alice"), &ask("x", BOTH))
                .is_empty()
        );
        assert!(!AccessRules::default().is_public("x", Action::Pull));
    }

    #[test]
    fn named_users_and_star_users() {
        let rules = example();
        let both = BTreeSet::from([Action::Pull, Action::Push]);
        assert_eq!(rules.granted(Some("alice"), &ask("team/app", BOTH)), both);
        assert_eq!(
            rules.granted(Some("carol"), &ask("team/app", BOTH)),
            BTreeSet::from([Action::Pull])
        );
        assert!(
            rules
                .granted(Some("alice"), &ask("team/app/sub", BOTH))
                .is_empty()
        );
    }

    #[test]
    fn anonymous_versus_signed_in() {
        let rules = example();
        let pull = BTreeSet::from([Action::Pull]);
        assert_eq!(rules.granted(None, &ask("public/a/b", BOTH)), pull);
        assert_eq!(rules.granted(Some("carol"), &ask("public/a/b", BOTH)), pull);
        assert_eq!(
            rules.granted(Some("bob"), &ask("public/tools", BOTH)),
            BTreeSet::from([Action::Pull, Action::Push])
        );
        assert!(rules.is_public("public/x", Action::Pull));
        assert!(!rules.is_public("public/x", Action::Push));
        assert!(!rules.is_public("team/app", Action::Pull));
    }

    #[test]
    fn grants_only_what_was_asked() {
        let rules = example();
        let granted = rules.grant(Some("alice"), &ask("team/app", &[Action::Pull]));
        assert_eq!(granted.actions, BTreeSet::from([Action::Pull]));
        assert_eq!(granted.to_string(), "repository:team/app:pull");
        assert!(
            rules
                .granted(Some("alice"), &ask("team/app", &[]))
                .is_empty()
        );
    }

    #[test]
    fn refuses_unknown_fields_and_actions() {
        let unknown_field = r#"[{"repositories": "a", "user": ["alice"]}]"#;
        assert!(serde_json::from_str::<AccessRules>(unknown_field).is_err());
        let unknown_action = r#"[{"repositories": "a", "users": ["x"], "actions": ["delete"]}]"#;
        let err = serde_json::from_str::<AccessRules>(unknown_action).unwrap_err();
        assert!(
            err.to_string().contains("unknown action \"delete\""),
            "{err}"
        );
        let missing = r#"[{"users": ["x"]}]"#;
        assert!(serde_json::from_str::<AccessRules>(missing).is_err());
    }

    #[test]
    fn refuses_actions_without_users() {
        let json = r#"[{"repositories": "a", "actions": ["push"]}]"#;
        let err = serde_json::from_str::<AccessRules>(json).unwrap_err();
        assert!(
            err.to_string().contains("gives actions but no users"),
            "{err}"
        );
    }
}
