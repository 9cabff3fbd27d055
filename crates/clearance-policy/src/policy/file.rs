//! The policy file as written: serde types that refuse unknown fields,
//! with [`Spanned`] where a later check needs to name a line. Only
//! [`super::load`] sees these; the rest of the crate reads the validated
//! [`super::Policy`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Mode, Requirement, SeverityLimit, UserRule, Verdict};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub version: Spanned<u32>,
    #[serde(default)]
    pub max_exception_days: Option<Spanned<u32>>,
    pub environments: Spanned<BTreeMap<String, Spanned<RawEnvironment>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub trust: Option<RawTrust>,
    #[serde(default)]
    pub sources: Option<RawSources>,
    #[serde(default)]
    pub contents: Option<RawContents>,
    #[serde(default)]
    pub runtime: Option<RawRuntime>,
    #[serde(default)]
    pub exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    #[serde(default)]
    pub signed: Option<Spanned<Requirement>>,
    #[serde(default)]
    pub roles: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub pinned: Option<Requirement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSources {
    #[serde(default)]
    pub registries: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub repositories: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContents {
    #[serde(default)]
    pub max_severity: Option<SeverityLimit>,
    #[serde(default)]
    pub known_exploited: Option<Verdict>,
    #[serde(default)]
    pub fixable_critical: Option<Verdict>,
    #[serde(default)]
    pub secrets: Option<Verdict>,
    #[serde(default)]
    pub sbom: Option<Requirement>,
    #[serde(default)]
    pub database_max_age_days: Option<Spanned<u32>>,
    #[serde(default)]
    pub unknown_severity: Option<Verdict>,
    #[serde(default)]
    pub unchecked_packages: Option<Verdict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuntime {
    #[serde(default)]
    pub user: Option<UserRule>,
    #[serde(default)]
    pub user_namespaces: Option<Requirement>,
    #[serde(default)]
    pub privileged: Option<Verdict>,
    #[serde(default)]
    pub privilege_escalation: Option<Verdict>,
    #[serde(default)]
    pub host_namespaces: Option<Verdict>,
    #[serde(default)]
    pub host_paths: Option<Verdict>,
    #[serde(default)]
    pub docker_socket: Option<Verdict>,
    #[serde(default)]
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
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub approved_by: Option<String>,
    pub expires: Spanned<String>,
}
