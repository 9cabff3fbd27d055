//! Delegations: which role may sign which target paths (`paths` patterns,
//! `path_hash_prefixes`, or TAP 15 succinct hash bins).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{MAX_ROLE_NAME, RoleName, TopRole};
use crate::keys::Key;
use crate::notary::Dialect;

/// A targets role's `delegations` (TUF 1.0 §4.5): the keys it gives, and
/// either named roles or TAP 15 succinct hash bins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// The keys, by key id, that the delegated roles' `keyids` name.
    pub keys: BTreeMap<String, Key>,
    /// Named roles, in search order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    /// TAP 15 hash bins instead of named roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One named delegated role (§4.5 `roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// The role's name (its file is `NAME.json`, percent-encoded).
    pub name: RoleName,
    /// The keys that may sign it.
    pub keyids: Vec<String>,
    /// Signatures of distinct keys it needs (at least 1).
    pub threshold: u64,
    /// Whether the search stops here for the targets it covers (5.6.7.2.1).
    pub terminating: bool,
    /// Shell-style patterns of the targets it may sign (`*` within one path
    /// component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of sha256(target) it may sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Notary's `paths`: plain prefixes, `""` for everything (translated
    /// from Notary metadata only; refused in TUF 1.0 documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefixes: Option<Vec<String>>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// TAP 15: `2^bit_length` bins named `{name_prefix}-{bin in hex}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    /// The keys every bin is signed by.
    pub keyids: Vec<String>,
    /// Signatures each bin needs.
    pub threshold: u64,
    /// Bits of sha256(target) that choose the bin: 2^bit_length bins, 1..=32.
    pub bit_length: u32,
    /// Bins are named `PREFIX-HEX`.
    pub name_prefix: String,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A delegated role that may sign a given target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMatch {
    /// The role.
    pub name: RoleName,
    /// Its keys.
    pub keyids: Vec<String>,
    /// Its threshold.
    pub threshold: u64,
    /// Whether the search stops at it.
    pub terminating: bool,
}

impl Delegations {
    /// Rules serde cannot express: roles or bins (not both, not neither),
    /// unique names that are not top-level ones, one kind of path per role,
    /// thresholds of at least 1 with distinct keys, bins whose names are role
    /// names. `path_prefixes` only in Notary's dialect.
    pub fn validate(&self, dialect: Dialect) -> Result<(), String> {
        match (&self.roles, &self.succinct_roles) {
            (Some(_), Some(_)) => {
                return Err("delegations have both roles and succinct_roles".into());
            }
            (None, None) => return Err("delegations have neither roles nor succinct_roles".into()),
            _ => {}
        }
        if let Some(roles) = &self.roles {
            let mut names = std::collections::BTreeSet::new();
            for r in roles {
                if !names.insert(r.name.as_str()) {
                    return Err(format!("delegated role {:?} appears twice", r.name));
                }
                if r.name.is_top() {
                    return Err(format!("a delegated role may not be called {:?}", r.name));
                }
                if dialect == Dialect::Tuf1 && r.path_prefixes.is_some() {
                    return Err(format!(
                        "delegated role {:?} has path_prefixes, which only Notary metadata has",
                        r.name
                    ));
                }
                let kinds = [
                    r.paths.is_some(),
                    r.path_hash_prefixes.is_some(),
                    r.path_prefixes.is_some(),
                ];
                if kinds.iter().filter(|&&k| k).count() > 1 {
                    return Err(format!(
                        "delegated role {:?} has more than one of paths and path_hash_prefixes",
                        r.name
                    ));
                }
                crate::schema::check_role_keys(&r.keyids, r.threshold, r.name.as_str())?;
            }
        }
        if let Some(s) = &self.succinct_roles {
            if !(1..=32).contains(&s.bit_length) {
                return Err(format!(
                    "succinct_roles bit_length {} is not in 1..=32",
                    s.bit_length
                ));
            }
            // Every bin name (`PREFIX-` and up to 8 hex digits) is a role name.
            let longest = s.name_prefix.len() + 1 + s.hex_width();
            if longest > MAX_ROLE_NAME
                || RoleName::new(&s.name_prefix).is_err()
                || TopRole::ALL.iter().any(|t| s.name_prefix == t.name())
            {
                return Err(format!(
                    "succinct_roles name_prefix {:?} does not make role names",
                    s.name_prefix.chars().take(64).collect::<String>()
                ));
            }
            crate::schema::check_role_keys(&s.keyids, s.threshold, &s.name_prefix)?;
        }
        Ok(())
    }

    /// The delegated roles that may sign `target`, in order.
    pub fn roles_for(&self, target: &str) -> Vec<RoleMatch> {
        if let Some(s) = &self.succinct_roles {
            return vec![s.role_match(s.bin_for(target))];
        }
        self.roles
            .iter()
            .flatten()
            .filter(|r| r.delegates(target))
            .map(RoleMatch::from)
            .collect()
    }

    /// The keys and threshold this delegator gives `role`, if it delegates it.
    pub fn role(&self, name: &RoleName) -> Option<RoleMatch> {
        if let Some(s) = &self.succinct_roles {
            return s.is_bin(name).then(|| s.role_match(name.clone()));
        }
        self.roles
            .iter()
            .flatten()
            .find(|r| r.name == *name)
            .map(RoleMatch::from)
    }
}

impl From<&DelegatedRole> for RoleMatch {
    fn from(r: &DelegatedRole) -> Self {
        RoleMatch {
            name: r.name.clone(),
            keyids: r.keyids.clone(),
            threshold: r.threshold,
            terminating: r.terminating,
        }
    }
}

impl DelegatedRole {
    /// Whether this role's `paths` or `path_hash_prefixes` cover `target`.
    pub fn delegates(&self, target: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns.iter().any(|p| path_matches(p, target));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let digest = clearance_oci::Digest::sha256_of(target.as_bytes());
            let hash = digest.hex();
            return prefixes.iter().any(|p| hash.starts_with(p.as_str()));
        }
        if let Some(prefixes) = &self.path_prefixes {
            return prefixes.iter().any(|p| target.starts_with(p.as_str()));
        }
        false
    }
}

impl SuccinctRoles {
    /// A bin as a delegated role: the bins' keys, always terminating.
    fn role_match(&self, name: RoleName) -> RoleMatch {
        RoleMatch {
            name,
            keyids: self.keyids.clone(),
            threshold: self.threshold,
            terminating: true,
        }
    }

    fn hex_width(&self) -> usize {
        (self.bit_length as usize).div_ceil(4)
    }

    /// The bin a target falls in: the first `bit_length` bits of sha256(target).
    pub fn bin_for(&self, target: &str) -> RoleName {
        let hash = Sha256::digest(target.as_bytes());
        let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
        self.bin_name(u64::from(first >> (32 - self.bit_length)))
    }

    /// The name of bin number `bin` (TAP 15): the prefix, `-`, and the
    /// number in lower-case hex padded to `ceil(bit_length / 4)` digits.
    pub fn bin_name(&self, bin: u64) -> RoleName {
        // A prefix `validate` accepted makes role names.
        RoleName::from_checked(format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.hex_width()
        ))
    }

    /// Whether `name` is one of this delegation's bins, by its one canonical
    /// name: `bins-0a`, never an alias such as `bins-0A` or `bins-+a` that
    /// parses to the same number but that no client ever looks up (B-17).
    pub fn is_bin(&self, name: &RoleName) -> bool {
        let Some(suffix) = name
            .as_str()
            .strip_prefix(&self.name_prefix)
            .and_then(|s| s.strip_prefix('-'))
        else {
            return false;
        };
        u64::from_str_radix(suffix, 16)
            .is_ok_and(|bin| bin < (1u64 << self.bit_length) && self.bin_name(bin) == *name)
    }
}

/// TUF's path patterns: shell-style per component (`*` never crosses `/`),
/// and pattern and target must have the same number of components.
pub fn path_matches(pattern: &str, target: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let t: Vec<&str> = target.split('/').collect();
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes()))
}

/// fnmatch: `*`, `?`, `[seq]`, `[!seq]`.
fn glob(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some(pi);
                    mark = ti;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&p[pi..], t[ti]) {
                        if matched {
                            pi += next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == b'[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some(s) => {
                pi = s + 1;
                mark += 1;
                ti = mark;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `p`: (whether `c` matches, its length).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut matched = false;
    while i < p.len() && (p[i] != b']' || i == start) {
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_per_component() {
        assert!(path_matches("*", "file.txt"));
        assert!(!path_matches("*", "dir/file.txt"));
        assert!(path_matches("dir/*.txt", "dir/file.txt"));
        assert!(path_matches("dir/*", "dir/x"));
        assert!(!path_matches("dir/*", "dir/x/y"));
        assert!(path_matches("release-?.tgz", "release-1.tgz"));
        assert!(path_matches("v[0-9]/*", "v3/app"));
        assert!(!path_matches("v[!0-9]/*", "v3/app"));
        assert!(path_matches("a*b*c", "aXXbYYc"));
        assert!(!path_matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn succinct_bins_cover_every_target_once() {
        let s = SuccinctRoles {
            keyids: vec!["k".into()],
            threshold: 1,
            bit_length: 6,
            name_prefix: "bin".into(),
            extra: BTreeMap::new(),
        };
        for target in ["a", "b", "library/app:v1", "x/y/z"] {
            let bin = s.bin_for(target);
            assert!(s.is_bin(&bin), "{bin}");
            assert_eq!(bin.as_str().len(), "bin-".len() + 2);
        }
        let role = |n: &str| RoleName::new(n).unwrap();
        assert!(!s.is_bin(&role("bin-40")));
        assert!(!s.is_bin(&role("bin-3f0")));
        assert!(!s.is_bin(&role("other-00")));
        // sha256("a") starts ca978112…: the first 6 bits of 0xca are 0b110010 = 0x32.
        assert_eq!(s.bin_for("a"), "bin-32");
    }

    /// Issue 8 point 6: a delegated role's name is a checked [`RoleName`]
    /// from the moment metadata is parsed, so a name that would reach a
    /// file name, a URL or a terminal raw never gets past parsing, and a
    /// bin prefix must make role names.
    #[test]
    fn i8_role_names_in_delegations_are_checked_when_parsed() {
        let targets = |role: &str| {
            format!(
                r#"{{"_type":"targets","spec_version":"1.0.0","version":1,
                "expires":"2030-01-01T00:00:00Z","targets":{{}},
                "delegations":{{"keys":{{}},"roles":[{{"name":{role},"keyids":["k"],
                "threshold":1,"terminating":false,"paths":["*"]}}]}}}}"#
            )
        };
        let parse = |doc: String| {
            let signed = format!(r#"{{"signatures":[],"signed":{doc}}}"#);
            crate::metadata::Signed::<crate::schema::Targets>::parse(
                signed.as_bytes(),
                &RoleName::TARGETS,
            )
        };
        assert!(parse(targets(r#""releases""#)).is_ok());
        assert!(parse(targets(r#""../delegatedrole""#)).is_ok());
        for bad in [r#""""#, r#"".""#, r#""..""#, r#""x\u001b[2J""#, r#""a\nb""#] {
            let parsed = parse(targets(bad));
            assert!(
                matches!(
                    parsed,
                    Err(crate::metadata::MetadataError::Malformed { .. })
                ),
                "{bad:?}: {parsed:?}"
            );
        }
        let bins = |prefix: &str| Delegations {
            keys: BTreeMap::new(),
            roles: None,
            succinct_roles: Some(SuccinctRoles {
                keyids: vec!["k".into()],
                threshold: 1,
                bit_length: 8,
                name_prefix: prefix.into(),
                extra: BTreeMap::new(),
            }),
            extra: BTreeMap::new(),
        };
        assert!(bins("bins").validate(Dialect::Tuf1).is_ok());
        for bad in ["x\u{1b}", "targets", ""] {
            assert!(bins(bad).validate(Dialect::Tuf1).is_err(), "{bad:?}");
        }
        assert!(bins(&"a".repeat(253)).validate(Dialect::Tuf1).is_err());
    }

    #[test]
    fn b17_hash_bin_names_have_no_aliases() {
        let s = SuccinctRoles {
            keyids: vec!["k".into()],
            threshold: 1,
            bit_length: 8,
            name_prefix: "bins".into(),
            extra: BTreeMap::new(),
        };
        let role = |n: &str| RoleName::new(n).unwrap();
        assert!(
            s.is_bin(&role("bins-0a")) && s.is_bin(&role("bins-ff")) && s.is_bin(&role("bins-01"))
        );
        for alias in [
            "bins-0A", "bins-+1", "bins-FF", "bins-1", "bins-001", "bins- 1",
        ] {
            assert!(!s.is_bin(&role(alias)), "{alias}");
        }
        let d = Delegations {
            keys: BTreeMap::new(),
            roles: None,
            succinct_roles: Some(s),
            extra: BTreeMap::new(),
        };
        assert!(d.role(&role("bins-0a")).is_some());
        assert!(d.role(&role("bins-0A")).is_none());
    }
}
