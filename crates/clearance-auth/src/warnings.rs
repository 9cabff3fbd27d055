//! Access rules that load but are probably not what the operator meant: a
//! service where nobody may do anything, or where anyone may publish.
//! Resource servers print these at start-up; none of them is an error,
//! because each can be deliberate.

use std::collections::BTreeSet;
use std::fmt;

use crate::access::{ANY_USER, AccessRules, Rule};
use crate::scope::Action;
use crate::users::Users;

/// Something the rules allow that is worth a word at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleWarning {
    /// The users file defines nobody: no one can sign in.
    NoUsers,
    /// No rule grants anything to anyone (signed in or not) who can exist:
    /// every request will be refused.
    NothingGranted,
    /// Something is granted, but no one may push: nothing can be published.
    NobodyMayPush,
    /// Anyone, without signing in, may push to these repositories.
    AnonymousPush {
        /// The rule's repository pattern.
        repositories: String,
    },
    /// A rule names users the users file does not define.
    UnknownUsers {
        /// The rule's repository pattern.
        repositories: String,
        /// The names not in the users file.
        users: Vec<String>,
    },
}

impl fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleWarning::NoUsers => {
                write!(f, "the users file defines no users: nobody can sign in")
            }
            RuleWarning::NothingGranted => write!(
                f,
                "no access rule grants anyone anything: every request will be refused; \
                 add [[auth.access]] rules to the configuration (see docs/serve.md)"
            ),
            RuleWarning::NobodyMayPush => write!(
                f,
                "no access rule grants push: nothing can be published (trust init and trust sign \
                 will be refused); add \"push\" to a rule's actions for the publishers"
            ),
            RuleWarning::AnonymousPush { repositories } => write!(
                f,
                "access rule for {repositories:?} lets anyone push without signing in: \
                 anyone who reaches the service may publish there"
            ),
            RuleWarning::UnknownUsers {
                repositories,
                users,
            } => write!(
                f,
                "access rule for {repositories:?} names users the users file does not define: {}",
                users.join(", ")
            ),
        }
    }
}

impl AccessRules {
    /// What is worth warning about in these rules, given who can sign in.
    pub fn warnings(&self, users: &Users) -> Vec<RuleWarning> {
        let mut out = Vec::new();
        if users.is_empty() {
            out.push(RuleWarning::NoUsers);
        }
        let mut granted = BTreeSet::new();
        for rule in self.iter() {
            granted.extend(rule.anonymous.iter().copied());
            if names_someone(rule, users) {
                granted.extend(rule.actions.iter().copied());
            }
        }
        if granted.is_empty() {
            out.push(RuleWarning::NothingGranted);
        } else if !granted.contains(&Action::Push) {
            out.push(RuleWarning::NobodyMayPush);
        }
        for rule in self.iter() {
            let repositories = rule.repositories.as_str().to_owned();
            if rule.anonymous.contains(&Action::Push) {
                out.push(RuleWarning::AnonymousPush {
                    repositories: repositories.clone(),
                });
            }
            let unknown: Vec<String> = rule
                .users
                .iter()
                .filter(|u| *u != ANY_USER && !users.contains(u))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                out.push(RuleWarning::UnknownUsers {
                    repositories,
                    users: unknown,
                });
            }
        }
        out
    }
}

/// Whether some user who can sign in gets the rule's actions.
fn names_someone(rule: &Rule, users: &Users) -> bool {
    rule.users
        .iter()
        .any(|u| (u == ANY_USER && !users.is_empty()) || users.contains(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$05$Rv2QFapDwVmj.wL4Nq9ijezEk2cZR8Q2LhJcE2abm4cOLL/HwCdS.";

    fn users(names: &[&str]) -> Users {
        let text: String = names.iter().map(|n| format!("{n}:{HASH}\n")).collect();
        Users::parse(&text).unwrap()
    }

    fn rules(json: &str) -> AccessRules {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn n1_users_without_rules_grant_nothing() {
        let warnings = AccessRules::default().warnings(&users(&["alice"]));
        assert_eq!(warnings, [RuleWarning::NothingGranted]);
    }

    #[test]
    fn n1_rules_for_users_who_do_not_exist_grant_nothing() {
        let rules = rules(r#"[{"repositories": "**", "users": ["carol"], "actions": ["*"]}]"#);
        assert_eq!(
            rules.warnings(&users(&["alice"])),
            [
                RuleWarning::NothingGranted,
                RuleWarning::UnknownUsers {
                    repositories: "**".into(),
                    users: vec!["carol".into()]
                }
            ]
        );
        // "*" grants nothing either when the file is empty.
        let star = self::rules(r#"[{"repositories": "**", "users": ["*"], "actions": ["*"]}]"#);
        assert_eq!(
            star.warnings(&users(&[])),
            [RuleWarning::NoUsers, RuleWarning::NothingGranted]
        );
    }

    #[test]
    fn n1_pull_only_rules_warn_that_nothing_can_be_published() {
        let rules = rules(r#"[{"repositories": "team/*", "users": ["*"], "actions": ["pull"]}]"#);
        assert_eq!(
            rules.warnings(&users(&["alice"])),
            [RuleWarning::NobodyMayPush]
        );
    }

    #[test]
    fn b16_anonymous_push_is_warned_about() {
        let rules = rules(
            r#"[{"repositories": "team/*", "users": ["alice"], "actions": ["*"]},
                {"repositories": "open/**", "anonymous": ["pull", "push"]}]"#,
        );
        let warnings = rules.warnings(&users(&["alice"]));
        assert_eq!(
            warnings,
            [RuleWarning::AnonymousPush {
                repositories: "open/**".into()
            }]
        );
    }

    #[test]
    fn working_rules_raise_no_warning() {
        let rules = rules(
            r#"[{"repositories": "team/*", "users": ["alice"], "actions": ["pull", "push"]},
                {"repositories": "public/*", "users": ["*"], "actions": ["pull"], "anonymous": ["pull"]}]"#,
        );
        assert!(rules.warnings(&users(&["alice", "bob"])).is_empty());
    }
}
