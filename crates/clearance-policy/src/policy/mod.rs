//! The policy file: environments, each with rules on who signed, where an
//! image comes from, what is inside it and how it runs, and a CVE
//! allowlist whose entries carry a reason and an expiry date.
//!
//! [`load`] reads YAML (at most [`MAX_POLICY_BYTES`]), refuses unknown
//! fields, and checks every value it can before any decision is made: each
//! problem is a [`PolicyError`] naming its line, column and place
//! (`environments.production.trust.roles[1]`), all of them at once, sorted
//! by line. The format is documented, with examples, in `docs/policy.md`.

mod file;
pub mod pattern;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use self::file::{RawEnvironment, RawPolicy};
pub use self::pattern::{Pattern, PatternKind};
use crate::date::Date;

/// Largest policy file read.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// How far ahead an exception may expire when the policy does not say
/// (`max_exception_days`).
pub const DEFAULT_MAX_EXCEPTION_DAYS: u32 = 180;
/// The most `max_exception_days` may be (ten years).
pub const MAX_EXCEPTION_DAYS: u32 = 3650;

/// Whether an environment's denials stop the image or are only shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A denial denies (exit 1, an admission refused).
    #[default]
    Enforce,
    /// Allowed, with the reasons that would have denied shown as warnings.
    Warn,
}

impl Mode {
    /// As the policy file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
        }
    }
}

/// A rule that demands something be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// It must be there, or the image is denied.
    Required,
    /// It is not asked for.
    Optional,
}

/// A rule that refuses something or lets it be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Its presence denies.
    Deny,
    /// Its presence is let be.
    Allow,
}

/// Which users a container may run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserRule {
    /// Not uid 0, and known not to be: an unset user is root, and a user
    /// named without a uid the image resolves is denied.
    NonRoot,
    /// Any user.
    Any,
}

/// The most severe finding let through (`max_severity`): findings above it
/// deny. Severities are the scanner's (`clearance.scan/v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLimit {
    /// Only negligible findings are let through.
    Negligible,
    /// Up to low.
    Low,
    /// Up to medium.
    Medium,
    /// Up to high: criticals deny.
    High,
    /// Any rated finding.
    Critical,
}

/// A loaded, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Each environment, by name.
    pub environments: BTreeMap<String, Environment>,
    /// Things worth saying that are not errors (an exception already
    /// expired), each with its line.
    pub warnings: Vec<PolicyError>,
}

impl Policy {
    /// Its environments' names, comma-separated, for errors that name
    /// the ones it has.
    pub fn environment_names(&self) -> String {
        self.environments
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One environment's rules. A rule group that is absent asks nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Its name (`production`).
    pub name: String,
    /// Enforce or warn.
    pub mode: Mode,
    /// Who signed.
    pub trust: Option<TrustRule>,
    /// Where from.
    pub sources: Option<SourceRule>,
    /// What is inside.
    pub contents: Option<ContentRule>,
    /// How it runs.
    pub runtime: Option<RuntimeRule>,
    /// Findings let through until a date.
    pub exceptions: Vec<Exception>,
}

/// `trust`: the tag must verify through Clearance trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRule {
    /// Whether a verified signature is required.
    pub signed: Requirement,
    /// When not empty, one of these roles must sign the digest admitted
    /// (`targets/releases`; `targets/` is optional, as Notary and TUF
    /// name delegations differently).
    pub roles: Vec<String>,
    /// Whether the image must be named by digest (`name@sha256:…`).
    pub pinned: Requirement,
}

/// `sources`: where images may come from. An empty list asks nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRule {
    /// Registries allowed.
    pub registries: Vec<Pattern>,
    /// Repositories allowed (`REGISTRY/PATH` patterns).
    pub repositories: Vec<Pattern>,
}

/// `contents`: what the scan may find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentRule {
    /// Findings above this severity deny.
    pub max_severity: Option<SeverityLimit>,
    /// Findings in CISA's Known Exploited Vulnerabilities catalog.
    pub known_exploited: Option<Verdict>,
    /// Critical findings with a fixed version.
    pub fixable_critical: Option<Verdict>,
    /// Secrets in any layer.
    pub secrets: Option<Verdict>,
    /// Whether an SBOM (a package inventory) must be there.
    pub sbom: Option<Requirement>,
    /// The advisory database may be at most this many days old.
    pub database_max_age_days: Option<u32>,
    /// Findings no source rates.
    pub unknown_severity: Option<Verdict>,
    /// Packages of ecosystems the database has no data for.
    pub unchecked_packages: Option<Verdict>,
}

/// `runtime`: how a container may run (judged on a request; `user` also on
/// the image's configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeRule {
    /// Which users.
    pub user: Option<UserRule>,
    /// User namespaces (Kubernetes `hostUsers: false`, Docker `--userns`
    /// not `host`).
    pub user_namespaces: Option<Requirement>,
    /// Privileged containers.
    pub privileged: Option<Verdict>,
    /// Gaining privileges (`allowPrivilegeEscalation`, `no-new-privileges`).
    pub privilege_escalation: Option<Verdict>,
    /// The host's PID, IPC or network namespace.
    pub host_namespaces: Option<Verdict>,
    /// Host paths mounted.
    pub host_paths: Option<Verdict>,
    /// The Docker or containerd socket mounted.
    pub docker_socket: Option<Verdict>,
    /// Capabilities that may be added (upper case, without `CAP_`); `None`
    /// asks nothing.
    pub capabilities_allowed: Option<Vec<String>>,
}

/// An allowlist entry: findings of one advisory let through until a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The advisory id or alias (`CVE-2024-12345`, `GHSA-…`).
    pub id: String,
    /// The repositories it covers; empty covers every image.
    pub images: Vec<Pattern>,
    /// Why it is let through.
    pub reason: String,
    /// A ticket, if given.
    pub ticket: Option<String>,
    /// Who approved it, if given.
    pub approved_by: Option<String>,
    /// The last day it applies (UTC).
    pub expires: Date,
}

/// A problem in a policy file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// Where in the document (`environments.production.trust.roles[1]`),
    /// empty when the parser does not say.
    pub path: String,
    /// What is wrong, and what to write instead.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a policy could not be loaded: every problem found, sorted by line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.errors.iter().map(|e| format!("{}:{e}", self.source_name)).collect::<Vec<_>>().join("\n"))]
pub struct LoadError {
    /// The file, as the user named it.
    pub source_name: String,
    /// The problems.
    pub errors: Vec<PolicyError>,
}

/// Load the policy `text` (from `source_name`, for messages), judging
/// exception dates against `today`.
///
/// # Errors
///
/// A [`LoadError`] with every problem: YAML syntax, an unknown field or
/// value, a missing field, a duplicate key, and the checks of each rule
/// (role names, patterns, capabilities, dates, an environment name).
pub fn load(text: &str, source_name: &str, today: Date) -> Result<Policy, LoadError> {
    let fail = |errors: Vec<PolicyError>| LoadError {
        source_name: source_name.to_owned(),
        errors,
    };
    if text.len() > MAX_POLICY_BYTES {
        return Err(fail(vec![PolicyError {
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("the file is larger than {MAX_POLICY_BYTES} bytes"),
        }]));
    }
    let options = serde_saphyr::options! {
        strict_booleans: true,
        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
    };
    let raw: RawPolicy = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let location = e.location();
        let message = e.without_snippet().to_string();
        fail(vec![PolicyError {
            line: location.map_or(0, |l| l.line()),
            column: location.map_or(0, |l| l.column()),
            path: String::new(),
            message: friendly(&strip_location(&message)),
        }])
    })?;
    let mut check = Check::default();
    let policy = check.policy(raw, today);
    if check.errors.is_empty() {
        Ok(policy)
    } else {
        check.errors.sort_by_key(|e| (e.line, e.column));
        Err(fail(check.errors))
    }
}

/// The parser's message in the policy's words, not the parser's options.
fn friendly(message: &str) -> String {
    if let Some(key) = message
        .strip_prefix("duplicate mapping key: ")
        .and_then(|rest| rest.split(',').next())
    {
        return format!("{key} is given twice; each key may appear once");
    }
    if message.contains("merge keys are not allowed") {
        return "YAML merge keys (<<) are not allowed in a policy; write the values out".into();
    }
    message.to_owned()
}

/// The parser's message without its own " at line L column C".
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// The semantic checks, collecting every error.
#[derive(Default)]
struct Check {
    errors: Vec<PolicyError>,
    warnings: Vec<PolicyError>,
}

impl Check {
    fn error<T>(&mut self, at: &Spanned<T>, path: String, message: String) {
        self.errors.push(PolicyError {
            line: at.referenced.line(),
            column: at.referenced.column(),
            path,
            message,
        });
    }

    fn policy(&mut self, raw: RawPolicy, today: Date) -> Policy {
        if raw.version.value != 1 {
            let v = raw.version.value;
            self.error(
                &raw.version,
                "version".into(),
                format!("version {v} is not one Clearance reads; write `version: 1`"),
            );
        }
        let max_days = raw
            .max_exception_days
            .as_ref()
            .map_or(DEFAULT_MAX_EXCEPTION_DAYS, |d| d.value);
        if let Some(days) = &raw.max_exception_days
            && !(1..=MAX_EXCEPTION_DAYS).contains(&days.value)
        {
            self.error(
                days,
                "max_exception_days".into(),
                format!(
                    "{} is not between 1 and {MAX_EXCEPTION_DAYS} days: an exception is to be looked at again",
                    days.value
                ),
            );
        }
        if raw.environments.value.is_empty() {
            self.error(
                &raw.environments,
                "environments".into(),
                "no environment is defined; define at least one (e.g. production)".into(),
            );
        }
        let mut environments = BTreeMap::new();
        for (name, env) in raw.environments.value {
            let path = format!("environments.{name}");
            if !is_environment_name(&name) {
                self.error(
                    &env,
                    path.clone(),
                    format!("{name:?} is not an environment name (lower-case letters, digits and '-', at most 63)"),
                );
            }
            let env = self.environment(&name, env.value, &path, today, max_days);
            environments.insert(name, env);
        }
        Policy {
            environments,
            warnings: std::mem::take(&mut self.warnings),
        }
    }

    fn environment(
        &mut self,
        name: &str,
        raw: RawEnvironment,
        path: &str,
        today: Date,
        max_days: u32,
    ) -> Environment {
        let trust = raw.trust.map(|t| {
            let mut roles = Vec::new();
            let written: &[Spanned<String>] = t.roles.as_ref().map_or(&[], |r| &r.value);
            for (i, role) in written.iter().enumerate() {
                match role_name(&role.value) {
                    Ok(r) => roles.push(r),
                    Err(why) => self.error(role, format!("{path}.trust.roles[{i}]"), why),
                }
            }
            if let Some(list) = &t.roles
                && list.value.is_empty()
            {
                self.error(
                    list,
                    format!("{path}.trust.roles"),
                    "an empty list names no role; remove `roles` (any signer will do) or name at least one".into(),
                );
            }
            // A `trust` group asks for a signature unless it says otherwise.
            let signed = t.signed.as_ref().map_or(Requirement::Required, |s| s.value);
            if let Some(s) = &t.signed
                && s.value == Requirement::Optional
                && !written.is_empty()
            {
                self.error(
                    s,
                    format!("{path}.trust.signed"),
                    "roles are named but a signature is optional; write `signed: required`, or remove `roles`".into(),
                );
            }
            TrustRule {
                signed,
                roles,
                pinned: t.pinned.unwrap_or(Requirement::Optional),
            }
        });
        let sources = raw.sources.map(|s| SourceRule {
            registries: self.pattern_list(
                s.registries.as_ref(),
                &format!("{path}.sources.registries"),
                PatternKind::Registry,
            ),
            repositories: self.pattern_list(
                s.repositories.as_ref(),
                &format!("{path}.sources.repositories"),
                PatternKind::Repository,
            ),
        });
        let contents = raw.contents.map(|c| {
            if let Some(days) = &c.database_max_age_days
                && !(1..=365).contains(&days.value)
            {
                self.error(
                    days,
                    format!("{path}.contents.database_max_age_days"),
                    format!("{} is not between 1 and 365 days", days.value),
                );
            }
            ContentRule {
                max_severity: c.max_severity,
                known_exploited: c.known_exploited,
                fixable_critical: c.fixable_critical,
                secrets: c.secrets,
                sbom: c.sbom,
                database_max_age_days: c.database_max_age_days.map(|d| d.value),
                unknown_severity: c.unknown_severity,
                unchecked_packages: c.unchecked_packages,
            }
        });
        let runtime = raw.runtime.map(|r| {
            let capabilities_allowed = r.capabilities.map(|c| {
                let mut out = Vec::new();
                for (i, cap) in c.allow.iter().enumerate() {
                    match crate::capability::normalise(&cap.value) {
                        Some(name) => out.push(name),
                        None => self.error(
                            cap,
                            format!("{path}.runtime.capabilities.allow[{i}]"),
                            format!("{:?} is not a Linux capability (e.g. NET_BIND_SERVICE; ALL is never allowed)", cap.value),
                        ),
                    }
                }
                out
            });
            RuntimeRule {
                user: r.user,
                user_namespaces: r.user_namespaces,
                privileged: r.privileged,
                privilege_escalation: r.privilege_escalation,
                host_namespaces: r.host_namespaces,
                host_paths: r.host_paths,
                docker_socket: r.docker_socket,
                capabilities_allowed,
            }
        });
        let mut exceptions = Vec::new();
        for (i, e) in raw.exceptions.into_iter().enumerate() {
            let at = format!("{path}.exceptions[{i}]");
            let e_span = e;
            let e = &e_span.value;
            if !is_advisory_id(&e.cve.value) {
                self.error(&e.cve, format!("{at}.cve"), format!("{:?} is not an advisory id (CVE-2024-12345, GHSA-xxxx-xxxx-xxxx, GO-2024-1234, …)", e.cve.value));
            }
            if e.reason.value.trim().is_empty() {
                self.error(
                    &e.reason,
                    format!("{at}.reason"),
                    "an exception needs a reason".into(),
                );
            }
            let images = self.patterns(&e.images, &format!("{at}.images"), PatternKind::Repository);
            let expires = match Date::parse(&e.expires.value) {
                None => {
                    self.error(
                        &e.expires,
                        format!("{at}.expires"),
                        format!("{:?} is not a date (YYYY-MM-DD)", e.expires.value),
                    );
                    today
                }
                Some(d) if d.days() > today.days() + i64::from(max_days) => {
                    self.error(&e.expires, format!("{at}.expires"), format!("{d} is more than {max_days} days ahead (max_exception_days); choose an earlier date"));
                    d
                }
                Some(d) => {
                    if d < today {
                        self.warnings.push(PolicyError {
                            line: e.expires.referenced.line(),
                            column: e.expires.referenced.column(),
                            path: format!("{at}.expires"),
                            message: format!(
                                "the exception for {} expired on {d}; it no longer applies",
                                e.cve.value
                            ),
                        });
                    }
                    d
                }
            };
            exceptions.push(Exception {
                id: e.cve.value.clone(),
                images,
                reason: e.reason.value.clone(),
                ticket: e.ticket.clone(),
                approved_by: e.approved_by.clone(),
                expires,
            });
        }
        Environment {
            name: name.to_owned(),
            mode: raw.mode,
            trust,
            sources,
            contents,
            runtime,
            exceptions,
        }
    }

    /// A rule's pattern list: an empty one is an error (it would ask
    /// nothing while looking like it asks everything).
    fn pattern_list(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
        path: &str,
        kind: PatternKind,
    ) -> Vec<Pattern> {
        let Some(list) = raw else {
            return Vec::new();
        };
        if list.value.is_empty() {
            self.error(
                list,
                path.to_owned(),
                "an empty list allows nothing more than no list does; remove it or name at least one".into(),
            );
        }
        self.patterns(&list.value, path, kind)
    }

    fn patterns(&mut self, raw: &[Spanned<String>], path: &str, kind: PatternKind) -> Vec<Pattern> {
        let mut out: Vec<Pattern> = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            match Pattern::parse(&p.value, kind) {
                Ok(pattern) if out.contains(&pattern) => {
                    self.error(
                        p,
                        format!("{path}[{i}]"),
                        format!("{:?} is listed twice", p.value),
                    );
                }
                Ok(pattern) => out.push(pattern),
                Err(why) => self.error(p, format!("{path}[{i}]"), format!("{:?} {why}", p.value)),
            }
        }
        out
    }
}

/// `[a-z0-9][a-z0-9-]{0,62}`.
fn is_environment_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A TUF role name as a policy writes it, normalised to Notary's form
/// (`targets/releases`); `targets` itself is the top-level role.
fn role_name(text: &str) -> Result<String, String> {
    let bare = text.strip_prefix("targets/").unwrap_or(text);
    let ok = !text.is_empty()
        && text.len() <= 255
        && bare.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        });
    if !ok {
        return Err(format!(
            "{text:?} is not a role name (targets, or targets/NAME with letters, digits, '_', '.', '-')"
        ));
    }
    Ok(if text == "targets" {
        text.to_owned()
    } else {
        format!("targets/{bare}")
    })
}

/// An advisory id as OSV writes them: an upper-case prefix, `-`, the rest.
fn is_advisory_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    id.len() <= 64
        && !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
}
