//! TUF 1.0 metadata: root, timestamp, snapshot, targets and delegations.
//!
//! Every object keeps the fields it does not know (`extra`), so metadata
//! written by other implementations re-serialises to the same canonical
//! bytes and its signatures still verify.

mod delegation;
mod role_name;
mod target_name;
mod version;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use delegation::{DelegatedRole, Delegations, RoleMatch, SuccinctRoles};
pub(crate) use role_name::BIN_PREFIX;
pub use role_name::{MAX_ROLE_NAME, NotTopRole, RoleName, RoleNameError, TopRole};
pub use target_name::{MAX_TARGET_NAME, TargetName, TargetNameError};
pub use version::{Version, VersionError};

use crate::keys::Key;
use crate::notary::Dialect;
use crate::time::UtcTime;

/// The major version of the TUF specification this implements.
pub const SPEC_MAJOR: &str = "1";
/// The version of the TUF specification written into new metadata.
pub const SPEC_VERSION: &str = "1.0.31";

/// What every signed role has in common.
pub trait Role: for<'de> Deserialize<'de> + Serialize {
    /// The role whose form this is (targets for delegated roles too); its
    /// name is the `_type` value.
    const TOP: TopRole;
    /// The `_type` value.
    const TYPE: &'static str = Self::TOP.name();
    /// The fields every role has.
    fn common(&self) -> &Common;
}

/// Fields every role shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Common {
    /// `_type`: the role's form (`root`, `targets`, …).
    #[serde(rename = "_type")]
    pub type_: String,
    /// The TUF specification version it follows (major 1).
    pub spec_version: String,
    /// At least 1, at most `i64::MAX` (refused when parsed otherwise).
    pub version: Version,
    /// When its signatures stop counting (5.3.10, 5.4.4, 5.5.6, 5.6.6).
    pub expires: UtcTime,
}

/// `keyids` and `threshold` of a role in root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// The keys that may sign the role.
    pub keyids: Vec<String>,
    /// Signatures of distinct keys it needs (at least 1).
    pub threshold: u64,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Root (§4.3): the keys of every top-level role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// The fields every role has.
    #[serde(flatten)]
    pub common: Common,
    /// Whether files are also served as `VERSION.ROLE.json` (and targets
    /// as `HASH.NAME`).
    #[serde(default)]
    pub consistent_snapshot: bool,
    /// Every top-level role's keys, by key id.
    pub keys: BTreeMap<String, Key>,
    /// The keys of each top-level role: exactly the four (a name other than
    /// theirs does not parse).
    pub roles: BTreeMap<TopRole, RoleKeys>,
    /// The repository (GUN, `registry/repository`) this root is for, a
    /// Clearance extension field inside `signed` (other TUF clients keep it
    /// as an unknown field). TUF metadata names no repository, so without it
    /// one root key shared by two repositories lets one's metadata pass as
    /// the other's (review B-7). Roots written before it have none.
    #[serde(
        rename = "clearance_repository",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub repository: Option<String>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `meta` entries of timestamp and snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// Always present in TUF 1.0; Notary binds files by hash alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Its length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its hashes, by algorithm (`sha256`: hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Timestamp (§4.6): the current snapshot's version, length and hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// The fields every role has.
    #[serde(flatten)]
    pub common: Common,
    /// `snapshot.json` and its version (length and hashes optional).
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Snapshot (§4.4): the current version of every targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The fields every role has.
    #[serde(flatten)]
    pub common: Common,
    /// `ROLE.json` (unquoted) for each targets role, with its version.
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A target: its length, hashes and optional custom data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Its length in bytes.
    pub length: u64,
    /// Its hashes, by algorithm (hex).
    pub hashes: BTreeMap<String, String>,
    /// Free-form data (Clearance: the manifest's `mediaType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Targets (§4.5), and every delegated role and hash bin: targets it
/// signs, and roles it delegates to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// The fields every role has.
    #[serde(flatten)]
    pub common: Common,
    /// The targets it signs, by name (for images: the tag).
    pub targets: BTreeMap<String, TargetFile>,
    /// The roles it delegates to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    /// Fields this client does not know, kept: re-serialised, the document
    /// has the same canonical bytes, so its signatures still verify.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Role for Root {
    const TOP: TopRole = TopRole::Root;
    fn common(&self) -> &Common {
        &self.common
    }
}

impl Role for Timestamp {
    const TOP: TopRole = TopRole::Timestamp;
    fn common(&self) -> &Common {
        &self.common
    }
}

impl Role for Snapshot {
    const TOP: TopRole = TopRole::Snapshot;
    fn common(&self) -> &Common {
        &self.common
    }
}

impl Role for Targets {
    const TOP: TopRole = TopRole::Targets;
    fn common(&self) -> &Common {
        &self.common
    }
}

impl Timestamp {
    /// The `snapshot.json` entry every timestamp must have.
    pub fn snapshot_meta(&self) -> Option<&MetaFile> {
        self.meta.get(&RoleName::SNAPSHOT.meta_name())
    }
}

/// Structural rules serde cannot express, checked after parsing.
pub trait Validate {
    /// Check the rules; the reason when one is broken.
    fn validate(&self, dialect: Dialect) -> Result<(), String>;
}

fn check_common(c: &Common, expected: &str) -> Result<(), String> {
    if c.type_ != expected {
        return Err(format!("_type is {:?}, expected {expected:?}", c.type_));
    }
    if c.spec_version.split('.').next() != Some(SPEC_MAJOR) || c.spec_version.split('.').count() < 2
    {
        return Err(format!("unsupported spec_version {:?}", c.spec_version));
    }
    Ok(())
}

fn check_hashes(hashes: &BTreeMap<String, String>, what: &str) -> Result<(), String> {
    if hashes.is_empty() {
        return Err(format!("{what}: hashes are empty"));
    }
    Ok(())
}

impl Validate for Root {
    fn validate(&self, _: Dialect) -> Result<(), String> {
        check_common(&self.common, Root::TYPE)?;
        for role in TopRole::ALL {
            let keys = self
                .roles
                .get(&role)
                .ok_or_else(|| format!("root has no {role} role"))?;
            check_role_keys(&keys.keyids, keys.threshold, role.name())?;
        }
        Ok(())
    }
}

pub(crate) fn check_role_keys(keyids: &[String], threshold: u64, name: &str) -> Result<(), String> {
    if threshold == 0 {
        return Err(format!("role {name}: threshold must be at least 1"));
    }
    let mut seen = std::collections::BTreeSet::new();
    if !keyids.iter().all(|k| seen.insert(k)) {
        return Err(format!("role {name}: duplicate keyids"));
    }
    Ok(())
}

impl Validate for Timestamp {
    fn validate(&self, dialect: Dialect) -> Result<(), String> {
        check_common(&self.common, Timestamp::TYPE)?;
        let name = RoleName::SNAPSHOT.meta_name();
        let meta = self
            .meta
            .get(&name)
            .ok_or("timestamp has no snapshot.json entry")?;
        check_meta(meta, &name, dialect)
    }
}

/// TUF 1.0 names every file by version; Notary by length and hashes, so
/// there both must be present.
fn check_meta(meta: &MetaFile, name: &str, dialect: Dialect) -> Result<(), String> {
    match (dialect, meta.version) {
        (Dialect::Tuf1, None) => return Err(format!("meta {name}: no version")),
        (Dialect::Notary, None) if meta.length.is_none() || meta.hashes.is_none() => {
            return Err(format!("meta {name}: no version, length or hashes"));
        }
        _ => {}
    }
    if let Some(h) = &meta.hashes {
        check_hashes(h, name)?;
    }
    Ok(())
}

impl Validate for Snapshot {
    fn validate(&self, dialect: Dialect) -> Result<(), String> {
        check_common(&self.common, Snapshot::TYPE)?;
        self.meta
            .iter()
            .try_for_each(|(name, m)| check_meta(m, name, dialect))
    }
}

impl Validate for Targets {
    fn validate(&self, dialect: Dialect) -> Result<(), String> {
        check_common(&self.common, Targets::TYPE)?;
        for (name, t) in &self.targets {
            check_hashes(&t.hashes, name)?;
        }
        if let Some(d) = &self.delegations {
            d.validate(dialect)?;
        }
        Ok(())
    }
}
