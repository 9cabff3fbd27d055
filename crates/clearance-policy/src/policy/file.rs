//! The policy file as written: serde types that refuse unknown fields,
//! with [`Spanned`] where a later check needs to name a line. Only
//! [`super::load`] sees these; the rest of the crate reads the validated
//! [`super::Policy`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Mode, Requirement, SeverityLimit, UserRule, Verdict};

/// A key that is written must have a value: `trust:` with nothing after
/// it (YAML null) is refused, not read as "no rules", which would turn a
/// group off while it looks set.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(
            "is empty (null): give it a value, or remove the key",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub version: Spanned<u32>,
    #[serde(default, deserialize_with = "present")]
    pub max_exception_days: Option<Spanned<u32>>,
    pub environments: Spanned<BTreeMap<String, Spanned<RawEnvironment>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, deserialize_with = "present")]
    pub trust: Option<RawTrust>,
    #[serde(default, deserialize_with = "present")]
    pub sources: Option<RawSources>,
    #[serde(default, deserialize_with = "present")]
    pub contents: Option<RawContents>,
    #[serde(default, deserialize_with = "present")]
    pub runtime: Option<RawRuntime>,
    #[serde(default)]
    pub exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    #[serde(default, deserialize_with = "present")]
    pub signed: Option<Spanned<Requirement>>,
    #[serde(default, deserialize_with = "present")]
    pub roles: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default, deserialize_with = "present")]
    pub pinned: Option<Requirement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSources {
    #[serde(default, deserialize_with = "present")]
    pub registries: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default, deserialize_with = "present")]
    pub repositories: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContents {
    #[serde(default, deserialize_with = "present")]
    pub max_severity: Option<SeverityLimit>,
    #[serde(default, deserialize_with = "present")]
    pub known_exploited: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub fixable_critical: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub secrets: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub sbom: Option<Requirement>,
    #[serde(default, deserialize_with = "present")]
    pub database_max_age_days: Option<Spanned<u32>>,
    #[serde(default, deserialize_with = "present")]
    pub unknown_severity: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub unchecked_packages: Option<Verdict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuntime {
    #[serde(default, deserialize_with = "present")]
    pub user: Option<UserRule>,
    #[serde(default, deserialize_with = "present")]
    pub user_namespaces: Option<Requirement>,
    #[serde(default, deserialize_with = "present")]
    pub privileged: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub privilege_escalation: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub host_namespaces: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub host_paths: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub docker_socket: Option<Verdict>,
    #[serde(default, deserialize_with = "present")]
    pub capabilities: Option<RawCapabilities>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapabilities {
    pub allow: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawException {
    pub cve: Spanned<String>,
    #[serde(default)]
    pub images: Vec<Spanned<String>>,
    pub reason: Spanned<String>,
    #[serde(default, deserialize_with = "present")]
    pub ticket: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub approved_by: Option<String>,
    pub expires: Spanned<String>,
}
