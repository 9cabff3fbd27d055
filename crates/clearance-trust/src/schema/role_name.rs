//! Role names: the four top-level roles ([`TopRole`]) and the name of any
//! role, top-level or delegated ([`RoleName`]), checked when built.
//!
//! The rules, and where they come from:
//!
//! - TUF 1.0 §4.5 ("DELEGATIONS"): a delegated role's `name` is any string,
//!   unique among its delegator's roles; §5.6 and §5.7 name its file
//!   `ROLENAME.json` (`VERSION.ROLENAME.json` with consistent snapshots).
//!   Clients percent-encode the name before using it as a file name or a
//!   URL segment (python-tuf's `parse.quote(name, "")`, what
//!   [`crate::client::quote`] does), and the TUF conformance suite signs
//!   roles named `?`, `#`, `/delegatedrole` and `../delegatedrole` and
//!   expects clients to read them: so `/` and `..` *inside* a name are kept.
//! - Notary (`tuf/data/roles.go`, `IsDelegation`): delegated roles are
//!   `targets/…`, lower-case letters, digits, `-`, `_` and `/`, clean paths,
//!   **under 256 bytes** (its database column). Notary's narrower grammar is
//!   applied where a Notary repository is read ([`crate::notary::role_path`]).
//! - TAP 15 hash bins are `PREFIX-HEX` (`bins-0a`).
//!
//! So a role name here is: not empty, at most [`MAX_ROLE_NAME`] (255) bytes,
//! not `.` or `..` (which no quoting turns into a file name of their own),
//! and free of control characters (C0, DEL, C1), which would reach file
//! names, URLs, the database and terminals. Everything else is the
//! repository's business.

use std::borrow::{Borrow, Cow};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest role name accepted, in bytes (Notary's limit: its database
/// column; TUF sets none).
pub const MAX_ROLE_NAME: usize = 255;

/// The start of the hash bins' names (TAP 15: `bins-0a`), which no
/// delegation made by hand may take.
pub(crate) const BIN_PREFIX: &str = "bins";

/// The four top-level roles (TUF 1.0 §2.1): root, targets, snapshot and
/// timestamp. Their names as written in metadata come from
/// [`TopRole::name`], the one place that spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopRole {
    /// Signs the keys of every top-level role (§2.1.1).
    Root,
    /// Signs the newest snapshot (§2.1.4).
    Timestamp,
    /// Signs the versions of every targets role (§2.1.3).
    Snapshot,
    /// Signs targets and delegates (§2.1.2).
    Targets,
}

impl TopRole {
    /// Every top-level role, in the order a client loads them (§5.3–5.6)
    /// with root first.
    pub const ALL: [TopRole; 4] = [
        TopRole::Root,
        TopRole::Timestamp,
        TopRole::Snapshot,
        TopRole::Targets,
    ];

    /// The role's name, as metadata writes it (`_type`, `roles` keys,
    /// `meta` entries and file names).
    pub const fn name(self) -> &'static str {
        match self {
            TopRole::Root => "root",
            TopRole::Timestamp => "timestamp",
            TopRole::Snapshot => "snapshot",
            TopRole::Targets => "targets",
        }
    }

    /// The role as a [`RoleName`].
    pub const fn role(self) -> RoleName {
        RoleName(Cow::Borrowed(self.name()))
    }
}

/// Ordered by name, as metadata's maps order them (`root`, `snapshot`,
/// `targets`, `timestamp`), so a map keyed by role serialises in the same
/// order as one keyed by its name.
impl Ord for TopRole {
    fn cmp(&self, other: &TopRole) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for TopRole {
    fn partial_cmp(&self, other: &TopRole) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for TopRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the four top-level roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a top-level role (root, targets, snapshot, timestamp)")]
pub struct NotTopRole {
    /// What was given (shortened when long).
    pub given: String,
}

impl std::str::FromStr for TopRole {
    type Err = NotTopRole;

    fn from_str(s: &str) -> Result<TopRole, NotTopRole> {
        TopRole::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| NotTopRole { given: excerpt(s) })
    }
}

/// The name of a role, top-level or delegated, checked by [`RoleName::new`]
/// (the rules are in the module documentation). `Display` and `as_str` give
/// the name as metadata writes it, unquoted; [`RoleName::file_name`] gives
/// the percent-encoded file name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(Cow<'static, str>);

/// Why a role name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleNameError {
    /// The name is empty.
    #[error("a role name may not be empty")]
    Empty,
    /// The name is longer than [`MAX_ROLE_NAME`] bytes (`name` is its start).
    #[error("role name {name:?}… is longer than {MAX_ROLE_NAME} bytes")]
    TooLong {
        /// The first 64 characters.
        name: String,
    },
    /// The name is `.` or `..`.
    #[error("{name:?} is not a role name")]
    Dots {
        /// The name given.
        name: String,
    },
    /// The name holds a control character (C0, DEL or C1).
    #[error("role name {name:?} holds a control character")]
    Control {
        /// The name given (`Debug` escapes the control characters).
        name: String,
    },
    /// A new delegation was given a top-level role's name, or one the
    /// hash bins use (`bins…`).
    #[error(
        "{name:?} is reserved (a top-level role, or the hash bins' bins-…); choose another name for the delegation"
    )]
    Reserved {
        /// The name given.
        name: String,
    },
    /// A new delegation was spelt as Notary spells it, `targets/NAME`:
    /// Clearance names the same delegation `NAME`.
    #[error(
        "{name:?} is Notary's spelling; a Clearance repository names this delegation {plain:?} (every delegation here is made by targets): use {plain:?}"
    )]
    NotarySpelling {
        /// The name given.
        name: String,
        /// The name to use.
        plain: String,
    },
    /// A new delegation's name is not lower-case letters, digits and `-`
    /// (see [`RoleName::new_delegation`]).
    #[error(
        "{name:?} is not a delegation name Clearance makes: use lower-case letters, digits and -, starting with a letter or digit (e.g. releases, team-qa); no /, _, spaces or capitals"
    )]
    DelegationSpelling {
        /// The name given.
        name: String,
    },
}

impl RoleName {
    /// `root`.
    pub const ROOT: RoleName = TopRole::Root.role();
    /// `targets`.
    pub const TARGETS: RoleName = TopRole::Targets.role();
    /// `snapshot`.
    pub const SNAPSHOT: RoleName = TopRole::Snapshot.role();
    /// `timestamp`.
    pub const TIMESTAMP: RoleName = TopRole::Timestamp.role();

    /// Check `name`: not empty, at most [`MAX_ROLE_NAME`] bytes, not `.` or
    /// `..`, no control character.
    pub fn new(name: &str) -> Result<RoleName, RoleNameError> {
        check(name)?;
        Ok(RoleName(Cow::Owned(name.to_owned())))
    }

    /// Check the name of a delegation about to be made (`trust delegate
    /// add`, a key generated for it): narrower than [`RoleName::new`],
    /// which must read whatever another TUF tool named its roles.
    ///
    /// - lower-case ASCII letters, digits and `-`, starting with a letter
    ///   or digit: so each name has a passphrase variable of its own
    ///   (`CLEARANCE_PASSPHRASE_<ROLE>` upper-cases it and turns `-` into
    ///   `_`; `a_b`, `a-b` and `A-b` would share one), and Notary's grammar
    ///   (`tuf/data/roles.go`) holds too;
    /// - no `/`: in TUF and Notary a `/` suggests a role delegated by
    ///   another, and every delegation made here is made by targets;
    ///   `targets/NAME`, Notary's spelling, is refused naming `NAME`;
    /// - not a top-level role, nor a hash bin's name (`bins…`).
    pub fn new_delegation(name: &str) -> Result<RoleName, RoleNameError> {
        let role = RoleName::new(name)?;
        if role.is_top() || name.starts_with(BIN_PREFIX) {
            return Err(RoleNameError::Reserved {
                name: name.to_owned(),
            });
        }
        let plain_name = |n: &str| {
            n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if let Some(rest) = name.strip_prefix("targets/")
            && plain_name(rest)
        {
            return Err(RoleNameError::NotarySpelling {
                name: name.to_owned(),
                plain: rest.to_owned(),
            });
        }
        if !plain_name(name) {
            return Err(RoleNameError::DelegationSpelling {
                name: excerpt(name),
            });
        }
        Ok(role)
    }

    /// A name built by this crate from checked parts (a hash bin's prefix
    /// and number): checked again in debug builds only.
    pub(crate) fn from_checked(name: String) -> RoleName {
        debug_assert!(check(&name).is_ok(), "{name:?}");
        RoleName(Cow::Owned(name))
    }

    /// The name as metadata writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level role this is, if it is one.
    pub fn top(&self) -> Option<TopRole> {
        self.as_str().parse().ok()
    }

    /// Whether this is one of the four top-level roles.
    pub fn is_top(&self) -> bool {
        self.top().is_some()
    }

    /// The key of this role's entry in snapshot's (or timestamp's) `meta`:
    /// `ROLENAME.json`, unquoted (TUF 1.0 §4.4: `targets/releases.json`).
    pub fn meta_name(&self) -> String {
        format!("{}.json", self.0)
    }

    /// The file (and URL segment) holding the current version:
    /// `ROLENAME.json` with the name percent-encoded (§5.6, §5.7), one
    /// file name whatever the role is called.
    pub fn file_name(&self) -> String {
        format!("{}.json", crate::client::quote(&self.0))
    }

    /// The file of one version, with consistent snapshots:
    /// `VERSION.ROLENAME.json`, the name percent-encoded.
    pub fn versioned_file_name(&self, version: super::Version) -> String {
        format!("{version}.{}", self.file_name())
    }
}

/// Every rule of [`RoleName::new`].
fn check(name: &str) -> Result<(), RoleNameError> {
    if name.is_empty() {
        return Err(RoleNameError::Empty);
    }
    if name.len() > MAX_ROLE_NAME {
        return Err(RoleNameError::TooLong {
            name: name.chars().take(64).collect(),
        });
    }
    if name.chars().any(char::is_control) {
        return Err(RoleNameError::Control {
            name: name.to_owned(),
        });
    }
    if name == "." || name == ".." {
        return Err(RoleNameError::Dots {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Untrusted text shortened before it goes into an error message.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

impl From<TopRole> for RoleName {
    fn from(role: TopRole) -> RoleName {
        role.role()
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleNameError;

    fn try_from(name: String) -> Result<RoleName, RoleNameError> {
        check(&name)?;
        Ok(RoleName(Cow::Owned(name)))
    }
}

impl From<RoleName> for String {
    fn from(name: RoleName) -> String {
        name.0.into_owned()
    }
}

impl std::str::FromStr for RoleName {
    type Err = RoleNameError;

    fn from_str(s: &str) -> Result<RoleName, RoleNameError> {
        RoleName::new(s)
    }
}

impl AsRef<str> for RoleName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by role name can be searched by `&str`.
impl Borrow<str> for RoleName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RoleName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RoleName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<TopRole> for RoleName {
    fn eq(&self, other: &TopRole) -> bool {
        self.0 == other.name()
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_of_tuf_notary_and_hash_bins_are_accepted() {
        for ok in [
            "root",
            "releases",
            "targets/releases",
            "targets/ci/nightly",
            "bins-0a",
            "qa team",
            // The TUF conformance suite's unusual names: quoted, never paths.
            "?",
            "#",
            "/delegatedrole",
            "../delegatedrole",
            "...",
        ] {
            assert_eq!(RoleName::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            RoleName::new(&"a".repeat(MAX_ROLE_NAME))
                .unwrap()
                .as_str()
                .len(),
            255
        );
    }

    #[test]
    fn empty_dot_control_and_over_long_role_names_are_refused() {
        assert_eq!(RoleName::new(""), Err(RoleNameError::Empty));
        for dots in [".", ".."] {
            assert!(
                matches!(RoleName::new(dots), Err(RoleNameError::Dots { .. })),
                "{dots}"
            );
        }
        for bad in ["a\0b", "releases\n", "x\u{1b}[2J", "\u{9b}31m", "\u{7f}"] {
            assert!(
                matches!(RoleName::new(bad), Err(RoleNameError::Control { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            RoleName::new(&"a".repeat(MAX_ROLE_NAME + 1)),
            Err(RoleNameError::TooLong { .. })
        ));
        // Metadata that names such a role does not parse.
        let parsed: Result<RoleName, _> = serde_json::from_str("\"\\u001b[2J\"");
        assert!(parsed.is_err());
    }

    /// Review 9 #3: `trust delegate add` took empty, `../y`, `a/b`,
    /// control-character and `targets/releases` names. A new delegation's
    /// name is refused unless plain, and Notary's spelling names the
    /// plain one.
    #[test]
    fn r9_3_new_delegation_names_are_plain_or_refused_saying_what_to_use() {
        for ok in ["releases", "qa", "team-qa", "ci2", "0day"] {
            assert_eq!(RoleName::new_delegation(ok).unwrap().as_str(), ok);
        }
        assert_eq!(RoleName::new_delegation(""), Err(RoleNameError::Empty));
        assert!(matches!(
            RoleName::new_delegation("a\u{1}b"),
            Err(RoleNameError::Control { .. })
        ));
        assert!(matches!(
            RoleName::new_delegation(".."),
            Err(RoleNameError::Dots { .. })
        ));
        for reserved in ["targets", "root", "snapshot", "timestamp", "bins-0a"] {
            assert!(
                matches!(
                    RoleName::new_delegation(reserved),
                    Err(RoleNameError::Reserved { .. })
                ),
                "{reserved}"
            );
        }
        assert_eq!(
            RoleName::new_delegation("targets/releases"),
            Err(RoleNameError::NotarySpelling {
                name: "targets/releases".into(),
                plain: "releases".into()
            })
        );
        for bad in [
            "../y",
            "a/b",
            "/x",
            "x/../y",
            "targets/a/b",
            "a_b",
            "A-b",
            "Releases",
            "a b",
            "-x",
            "targets/",
        ] {
            assert!(
                matches!(
                    RoleName::new_delegation(bad),
                    Err(RoleNameError::DelegationSpelling { .. })
                ),
                "{bad}: {:?}",
                RoleName::new_delegation(bad)
            );
        }
    }

    #[test]
    fn top_level_roles_are_spelt_once_and_ordered_as_metadata_orders_them() {
        for role in TopRole::ALL {
            assert_eq!(RoleName::from(role), role.name());
            assert_eq!(role.name().parse::<TopRole>(), Ok(role));
            assert_eq!(role.role().top(), Some(role));
        }
        assert_eq!(RoleName::TARGETS.as_str(), "targets");
        assert!(!RoleName::new("releases").unwrap().is_top());
        assert!("Root".parse::<TopRole>().is_err());
        let mut sorted = TopRole::ALL;
        sorted.sort();
        assert_eq!(
            sorted.map(TopRole::name),
            ["root", "snapshot", "targets", "timestamp"]
        );
        let keys: std::collections::BTreeMap<TopRole, u8> =
            serde_json::from_str(r#"{"timestamp": 1, "root": 2}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&keys).unwrap(),
            r#"{"root":2,"timestamp":1}"#
        );
    }

    #[test]
    fn file_names_are_quoted_and_meta_names_are_not() {
        let r = RoleName::new("targets/releases").unwrap();
        assert_eq!(r.meta_name(), "targets/releases.json");
        assert_eq!(r.file_name(), "targets%2Freleases.json");
        assert_eq!(
            r.versioned_file_name(super::super::Version::new(3).unwrap()),
            "3.targets%2Freleases.json"
        );
        assert_eq!(RoleName::new("../x").unwrap().file_name(), "..%2Fx.json");
    }
}
