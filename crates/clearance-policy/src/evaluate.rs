//! The one decision function: [`evaluate`] applies an environment's rules
//! to the evidence and says why. Pure: the time is an argument, nothing is
//! fetched, and the same inputs give the same decision.

use crate::date::Date;
use crate::decision::{Decision, ExceptionUse, Outcome, Reason, SCHEMA};
use crate::evidence::{Evidence, FindingEvidence, Severity};
use crate::policy::{Environment, Mode, Policy, Requirement, SeverityLimit, UserRule, Verdict};

/// Most items a reason names before "and N more".
const NAMED: usize = 5;

/// Why an environment could not be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    /// The policy has no such environment.
    #[error("the policy has no environment {name:?} (it has: {known})")]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated.
        known: String,
    },
}

/// Judge `evidence` against the environment `environment` of `policy`, at
/// Unix time `now` (seconds): exception expiry and the database's age are
/// judged against it.
///
/// # Errors
///
/// [`EvaluateError::UnknownEnvironment`] when the policy does not define it.
pub fn evaluate(
    policy: &Policy,
    environment: &str,
    evidence: &Evidence,
    now: i64,
) -> Result<Decision, EvaluateError> {
    let Some(env) = policy.environments.get(environment) else {
        return Err(EvaluateError::UnknownEnvironment {
            name: environment.to_owned(),
            known: policy.environment_names(),
        });
    };
    let mut judge = Judge {
        env,
        evidence,
        now,
        reasons: Vec::new(),
        exceptions: Vec::new(),
    };
    judge.trust();
    judge.sources();
    judge.contents();
    judge.runtime();
    let outcome = match env.mode {
        Mode::Enforce => Outcome::Deny,
        Mode::Warn => Outcome::Warn,
    };
    let mut reasons = judge.reasons;
    for r in &mut reasons {
        r.outcome = outcome;
    }
    Ok(Decision {
        schema: SCHEMA,
        allowed: env.mode == Mode::Warn || reasons.is_empty(),
        environment: env.name.clone(),
        mode: env.mode,
        reference: evidence.image.reference.clone(),
        digest: evidence.image.digest.clone(),
        reasons,
        exceptions: judge.exceptions,
    })
}

struct Judge<'a> {
    env: &'a Environment,
    evidence: &'a Evidence,
    now: i64,
    reasons: Vec<Reason>,
    exceptions: Vec<ExceptionUse>,
}

impl Judge<'_> {
    fn deny(&mut self, rule: &'static str, message: String, evidence: String, fix: &str) {
        self.reasons.push(Reason {
            rule,
            outcome: Outcome::Deny,
            message,
            evidence,
            fix: fix.to_owned(),
        });
    }

    fn trust(&mut self) {
        let Some(rule) = &self.env.trust else {
            return;
        };
        let image = &self.evidence.image;
        if rule.pinned == Requirement::Required && !image.pinned {
            self.deny(
                "trust.pinned",
                format!("{} is not pinned by digest", image.reference),
                "image.pinned = false".into(),
                "refer to the image as NAME@sha256:… (the admission webhook rewrites tags to the signed digest)",
            );
        }
        if rule.signed == Requirement::Optional {
            return;
        }
        let Some(trust) = &self.evidence.trust else {
            self.deny(
                "trust.signed",
                "the tag's signature was not checked".into(),
                "trust = none".into(),
                "verify the tag through Clearance trust (clearance check does)",
            );
            return;
        };
        if !trust.verified {
            let why = trust.problem.as_deref().unwrap_or("no reason given");
            self.deny(
                "trust.signed",
                format!("the tag did not verify through Clearance trust: {why}"),
                "trust.verified = false".into(),
                "sign the tag (clearance trust sign) and check the trust server's metadata",
            );
            return;
        }
        if rule.roles.is_empty() {
            return;
        }
        let Some(digest) = &image.digest else {
            self.deny(
                "trust.roles",
                "the image's digest is unknown, so no role can be said to sign it".into(),
                "image.digest = none".into(),
                "resolve the reference to a digest",
            );
            return;
        };
        let signed = trust
            .signers
            .iter()
            .any(|s| &s.digest == digest && rule.roles.contains(&role_key(&s.role)));
        if !signed {
            let signers: Vec<String> = trust
                .signers
                .iter()
                .map(|s| format!("{} ({})", role_key(&s.role), short(&s.digest)))
                .collect();
            self.deny(
                "trust.roles",
                format!(
                    "{} is not signed by {} for this tag; {} requires it",
                    short(digest),
                    rule.roles.join(" or "),
                    self.env.name
                ),
                format!(
                    "trust.signers = {}",
                    if signers.is_empty() {
                        "none".into()
                    } else {
                        signers.join(", ")
                    }
                ),
                &format!("sign the tag with a {} key", rule.roles.join(" or ")),
            );
        }
    }

    fn sources(&mut self) {
        let Some(rule) = &self.env.sources else {
            return;
        };
        let image = &self.evidence.image;
        if !rule.registries.is_empty()
            && !rule.registries.iter().any(|p| p.matches(&image.registry))
        {
            self.deny(
                "sources.registries",
                format!(
                    "registry {} is not one {} allows",
                    image.registry, self.env.name
                ),
                format!("image.registry = {}", image.registry),
                &format!(
                    "push the image to {} and run it from there",
                    rule.registries
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
        }
        if !rule.repositories.is_empty()
            && !rule
                .repositories
                .iter()
                .any(|p| p.matches(&image.repository))
        {
            self.deny(
                "sources.repositories",
                format!(
                    "repository {} is not one {} allows",
                    image.repository, self.env.name
                ),
                format!("image.repository = {}", image.repository),
                &format!(
                    "use a repository matching {}",
                    rule.repositories
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
        }
    }

    /// Whether an exception lets `finding` through (noting its use).
    fn excepted(&mut self, finding: &FindingEvidence) -> bool {
        let today = Date::of_unix(self.now);
        let repository = &self.evidence.image.repository;
        for e in &self.env.exceptions {
            let names = e.id == finding.id || finding.aliases.contains(&e.id);
            let covers = e.images.is_empty() || e.images.iter().any(|p| p.matches(repository));
            if !(names && covers) {
                continue;
            }
            let state = if e.expires >= today {
                "applied"
            } else {
                "expired"
            };
            if !self
                .exceptions
                .iter()
                .any(|u| u.id == e.id && u.state == state)
            {
                self.exceptions.push(ExceptionUse {
                    id: e.id.clone(),
                    reason: e.reason.clone(),
                    expires: e.expires.to_string(),
                    state,
                });
            }
            if state == "applied" {
                return true;
            }
        }
        false
    }

    fn contents(&mut self) {
        let Some(rule) = &self.env.contents else {
            return;
        };
        let Some(scan) = &self.evidence.scan else {
            self.deny(
                "contents",
                "the image was not scanned".into(),
                "scan = none".into(),
                "scan it (clearance check scans)",
            );
            return;
        };
        let findings: Vec<&FindingEvidence> =
            scan.findings.iter().filter(|f| !self.excepted(f)).collect();
        if let Some(limit) = rule.max_severity {
            let above: Vec<&&FindingEvidence> = findings
                .iter()
                .filter(|f| f.severity != Severity::Unknown && rank(f.severity) > limit_rank(limit))
                .collect();
            if !above.is_empty() {
                self.deny(
                    "contents.max_severity",
                    format!("{} above {}: {}", count(above.len(), "finding"), limit_name(limit), named(&above)),
                    format!("scan.findings[{}]", ids(&above)),
                    "upgrade the packages to their fixed versions, or add an exception with a reason and an expiry date",
                );
            }
        }
        if rule.known_exploited == Some(Verdict::Deny) {
            let kev: Vec<&&FindingEvidence> =
                findings.iter().filter(|f| f.known_exploited).collect();
            if !kev.is_empty() {
                self.deny(
                    "contents.known_exploited",
                    format!(
                        "{} in CISA's Known Exploited Vulnerabilities: {}",
                        count(kev.len(), "finding"),
                        named(&kev)
                    ),
                    format!("scan.findings[{}]", ids(&kev)),
                    "upgrade these first: they are exploited in the wild",
                );
            }
        }
        if rule.fixable_critical == Some(Verdict::Deny) {
            let fixable: Vec<&&FindingEvidence> = findings
                .iter()
                .filter(|f| f.severity == Severity::Critical && f.fixed_version.is_some())
                .collect();
            if !fixable.is_empty() {
                self.deny(
                    "contents.fixable_critical",
                    format!(
                        "{} with a fix: {}",
                        count(fixable.len(), "critical finding"),
                        named(&fixable)
                    ),
                    format!("scan.findings[{}]", ids(&fixable)),
                    "upgrade to the fixed versions",
                );
            }
        }
        if rule.unknown_severity == Some(Verdict::Deny) {
            let unknown: Vec<&&FindingEvidence> = findings
                .iter()
                .filter(|f| f.severity == Severity::Unknown)
                .collect();
            if !unknown.is_empty() {
                self.deny(
                    "contents.unknown_severity",
                    format!(
                        "{} no source rates: {}",
                        count(unknown.len(), "finding"),
                        named(&unknown)
                    ),
                    format!("scan.findings[{}]", ids(&unknown)),
                    "upgrade the packages, or add an exception once the finding is judged",
                );
            }
        }
        if rule.secrets == Some(Verdict::Deny) && !scan.secrets.is_empty() {
            let places: Vec<String> = scan
                .secrets
                .iter()
                .take(NAMED)
                .map(|s| format!("{} in {}", s.rule, s.path))
                .collect();
            self.deny(
                "contents.secrets",
                format!("{} in the image's layers: {}{}", count(scan.secrets.len(), "secret"), places.join(", "), more(scan.secrets.len())),
                "scan.secrets".into(),
                "remove the secrets from every layer (a later layer deleting them does not), rotate them, and pass secrets at run time",
            );
        }
        if rule.sbom == Some(Requirement::Required) && !scan.sbom {
            self.deny(
                "contents.sbom",
                "no SBOM (package inventory) was made of the image".into(),
                "scan.sbom = false".into(),
                "scan the image so its packages are listed",
            );
        }
        if let Some(days) = rule.database_max_age_days {
            let age = (self.now - scan.database_updated_at).max(0) / 86_400;
            if age > i64::from(days) {
                self.deny(
                    "contents.database_max_age_days",
                    format!(
                        "the advisory database is {age} days old; {} allows {days}",
                        self.env.name
                    ),
                    format!(
                        "scan.database_updated_at = {}",
                        Date::of_unix(scan.database_updated_at)
                    ),
                    "update it (clearance db update, or db pull from your registry)",
                );
            }
        }
        if rule.unchecked_packages == Some(Verdict::Deny) && scan.unchecked_packages > 0 {
            self.deny(
                "contents.unchecked_packages",
                format!(
                    "{} of ecosystems the database has no advisories for",
                    count(scan.unchecked_packages, "package")
                ),
                format!("scan.unchecked_packages = {}", scan.unchecked_packages),
                "add those ecosystems' feeds to the database (clearance db update --only …)",
            );
        }
    }

    fn runtime(&mut self) {
        let Some(rule) = &self.env.runtime else {
            return;
        };
        if rule.user == Some(UserRule::NonRoot) {
            self.user();
        }
        // The rest judge a request; `clearance check` has none.
        let Some(request) = &self.evidence.request else {
            return;
        };
        let deny_if =
            |verdict: Option<Verdict>, present: bool| verdict == Some(Verdict::Deny) && present;
        if rule.user_namespaces == Some(Requirement::Required) && !request.user_namespace {
            self.deny(
                "runtime.user_namespaces",
                "the container shares the host's user namespace".into(),
                "request.user_namespace = false".into(),
                "set hostUsers: false (Kubernetes) or run with --userns other than host (Docker, with userns-remap)",
            );
        }
        if deny_if(rule.privileged, request.privileged) {
            self.deny(
                "runtime.privileged",
                "the container is privileged".into(),
                "request.privileged = true".into(),
                "drop privileged; add only the capabilities it needs",
            );
        }
        if deny_if(rule.privileged, !request.unconfined.is_empty()) {
            self.deny(
                "runtime.privileged",
                format!(
                    "the container turns confinement off: {}",
                    request.unconfined.join(", ")
                ),
                "request.unconfined".into(),
                "keep the runtime's default seccomp and AppArmor profiles, SELinux labels and masked /proc paths",
            );
        }
        if deny_if(rule.privilege_escalation, !request.no_new_privileges) {
            self.deny(
                "runtime.privilege_escalation",
                "the container may gain privileges (setuid binaries, file capabilities)".into(),
                "request.no_new_privileges = false".into(),
                "set allowPrivilegeEscalation: false (Kubernetes) or --security-opt no-new-privileges (Docker)",
            );
        }
        if deny_if(rule.host_namespaces, !request.host_namespaces.is_empty()) {
            self.deny(
                "runtime.host_namespaces",
                format!("the container shares the host's {} namespace", request.host_namespaces.join(", ")),
                format!("request.host_namespaces = {}", request.host_namespaces.join(", ")),
                "remove hostPID/hostIPC/hostNetwork (Kubernetes) or --pid/--ipc/--network host (Docker)",
            );
        }
        let sockets: Vec<&String> = request
            .host_paths
            .iter()
            .filter(|p| is_runtime_socket(p))
            .collect();
        if deny_if(rule.docker_socket, !sockets.is_empty()) {
            self.deny(
                "runtime.docker_socket",
                format!("the container mounts the container runtime's socket ({}): that is root on the host", sockets.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                "request.host_paths".into(),
                "do not mount the runtime's socket",
            );
        }
        if deny_if(rule.host_paths, !request.host_paths.is_empty()) {
            self.deny(
                "runtime.host_paths",
                format!(
                    "the container mounts host paths: {}",
                    request.host_paths.join(", ")
                ),
                "request.host_paths".into(),
                "use volumes instead of host paths",
            );
        }
        if let Some(allowed) = &rule.capabilities_allowed {
            let extra: Vec<String> = request
                .capabilities_added
                .iter()
                .filter(|c| {
                    crate::capability::normalise(c).is_none_or(|name| !allowed.contains(&name))
                })
                .cloned()
                .collect();
            if !extra.is_empty() {
                self.deny(
                    "runtime.capabilities",
                    format!(
                        "capabilities added beyond what {} allows: {}",
                        self.env.name,
                        extra.join(", ")
                    ),
                    "request.capabilities_added".into(),
                    &format!(
                        "add only {}",
                        if allowed.is_empty() {
                            "none".to_owned()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                );
            }
        }
    }

    /// `runtime.user: non-root`, on the request's user, else the image's.
    fn user(&mut self) {
        let request = self.evidence.request.as_ref();
        if request.is_some_and(|r| r.run_as_non_root) {
            // The kubelet refuses to start it as uid 0.
            return;
        }
        let config = self.evidence.config.as_ref();
        let (user, from_image) = match (request.and_then(|r| r.user.as_deref()), config) {
            (Some(u), _) => (u, false),
            (None, Some(c)) => (c.user.as_str(), true),
            (None, None) => {
                self.deny(
                    "runtime.user",
                    "the user the container runs as is unknown (the image configuration was not read)".into(),
                    "config = none".into(),
                    "read the image configuration",
                );
                return;
            }
        };
        let name = user.split(':').next().unwrap_or_default();
        let root = match name {
            "" | "root" => Some(true),
            n if n.bytes().all(|b| b.is_ascii_digit()) => {
                Some(n.trim_start_matches('0').is_empty())
            }
            _ => config
                .filter(|c| from_image || c.user.split(':').next() == Some(name))
                .and_then(|c| c.user_uid)
                .map(|uid| uid == 0),
        };
        let shown = if user.is_empty() {
            "unset (root)"
        } else {
            user
        };
        match root {
            Some(false) => {}
            Some(true) => self.deny(
                "runtime.user",
                format!("the container runs as root (user {shown})"),
                format!(
                    "{}.user = {shown}",
                    if from_image { "config" } else { "request" }
                ),
                "set USER to a non-root uid in the image, or runAsUser/runAsNonRoot in the pod",
            ),
            None => self.deny(
                "runtime.user",
                format!("user {shown} is named, and the image's /etc/passwd does not say its uid"),
                format!(
                    "{}.user = {shown}",
                    if from_image { "config" } else { "request" }
                ),
                "run as a numeric uid (USER 10001), or set runAsNonRoot: true",
            ),
        }
    }
}

/// A signer's role as a policy names it (`releases` → `targets/releases`).
fn role_key(role: &str) -> String {
    if role == "targets" || role.starts_with("targets/") {
        role.to_owned()
    } else {
        format!("targets/{role}")
    }
}

/// Whether a host path is a container runtime's API socket.
/// Where container runtimes keep their sockets (and the directories that
/// hold them).
const RUNTIME_DIRS: [&str; 12] = [
    "/run/docker",
    "/run/containerd",
    "/run/crio",
    "/run/podman",
    "/run/k3s",
    "/run/cri-dockerd.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/run/user",
    "/run/buildkit",
    "/run/dockershim.sock",
];

/// Whether mounting `path` from the host hands the container a container
/// runtime's socket: the socket itself, a directory it lies in (`/`,
/// `/run`, `/var/run/containerd`), or anything below a runtime's
/// directory. The path is cleaned first (`//var/run/.` is `/var/run`), and
/// `/var/run` counts as `/run` (its symlink on every current distribution).
fn is_runtime_socket(path: &str) -> bool {
    let cleaned = crate::docker_authz::clean(path);
    let clean = match cleaned.strip_prefix("/var/run") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/run{rest}"),
        _ => cleaned,
    };
    let name = clean.rsplit('/').next().unwrap_or_default();
    if name.ends_with(".sock") || name.contains(".sock.") {
        return true;
    }
    RUNTIME_DIRS.iter().any(|dir| {
        // The directory or anything in it; or a directory above it.
        clean == *dir
            || clean.starts_with(&format!("{dir}/"))
            || dir.starts_with(&format!("{}/", clean.trim_end_matches('/')))
    })
}

fn rank(s: Severity) -> u8 {
    s as u8
}

fn limit_rank(l: SeverityLimit) -> u8 {
    match l {
        SeverityLimit::Negligible => rank(Severity::Negligible),
        SeverityLimit::Low => rank(Severity::Low),
        SeverityLimit::Medium => rank(Severity::Medium),
        SeverityLimit::High => rank(Severity::High),
        SeverityLimit::Critical => rank(Severity::Critical),
    }
}

fn limit_name(l: SeverityLimit) -> &'static str {
    match l {
        SeverityLimit::Negligible => "negligible",
        SeverityLimit::Low => "low",
        SeverityLimit::Medium => "medium",
        SeverityLimit::High => "high",
        SeverityLimit::Critical => "critical",
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn more(n: usize) -> String {
    if n > NAMED {
        format!(" and {} more", n - NAMED)
    } else {
        String::new()
    }
}

fn named(findings: &[&&FindingEvidence]) -> String {
    let names: Vec<String> = findings
        .iter()
        .take(NAMED)
        .map(|f| match &f.fixed_version {
            Some(fix) => format!("{} in {} {} (fixed in {fix})", f.id, f.package, f.version),
            None => format!("{} in {} {} (no fix yet)", f.id, f.package, f.version),
        })
        .collect();
    format!("{}{}", names.join(", "), more(findings.len()))
}

fn ids(findings: &[&&FindingEvidence]) -> String {
    let names: Vec<&str> = findings.iter().take(NAMED).map(|f| f.id.as_str()).collect();
    format!("{}{}", names.join(", "), more(findings.len()))
}

fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => format!("{algo}:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}
