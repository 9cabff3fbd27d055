//! The policy file and the decision: the documented example loads, every
//! mistake is named with its line, and each rule denies what it should and
//! lets the rest through.
#![allow(clippy::unwrap_used)]

use clearance_policy::date::Date;
use clearance_policy::decision::Outcome;
use clearance_policy::evidence::{
    ConfigEvidence, Evidence, FindingEvidence, ImageEvidence, RuntimeRequest, ScanEvidence,
    SecretEvidence, Severity, Signer, TrustEvidence,
};
use clearance_policy::policy::{self, Mode, Policy};
use clearance_policy::{EvaluateError, evaluate};

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;
const DIGEST: &str = "sha256:293a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789a716f";

fn today() -> Date {
    Date::of_unix(NOW)
}

/// The YAML example of docs/policy.md, so the documentation cannot drift.
fn documented_example() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md"))
        .unwrap();
    let start = doc.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_owned()
}

fn example() -> Policy {
    policy::load(&documented_example(), "policy.yaml", today()).unwrap()
}

/// An image that passes production: signed by releases, pinned, from the
/// internal registry, scanned clean, running as uid 10001 with nothing
/// risky asked for.
fn good() -> Evidence {
    Evidence {
        image: ImageEvidence {
            reference: format!("registry.internal:5000/team/app@{DIGEST}"),
            registry: "registry.internal:5000".into(),
            repository: "registry.internal:5000/team/app".into(),
            digest: Some(DIGEST.into()),
            pinned: true,
        },
        trust: Some(TrustEvidence {
            verified: true,
            problem: None,
            signers: vec![Signer {
                role: "targets/releases".into(),
                digest: DIGEST.into(),
            }],
        }),
        scan: Some(ScanEvidence {
            database_updated_at: NOW - 3600,
            findings: vec![],
            secrets: vec![],
            sbom: true,
            unchecked_packages: 0,
        }),
        config: Some(ConfigEvidence {
            user: "10001".into(),
            user_uid: None,
        }),
        request: Some(RuntimeRequest {
            user: None,
            run_as_non_root: false,
            user_namespace: true,
            privileged: false,
            no_new_privileges: true,
            host_namespaces: vec![],
            host_paths: vec![],
            capabilities_added: vec!["NET_BIND_SERVICE".into()],
            unconfined: vec![],
        }),
    }
}

fn finding(id: &str, severity: Severity, fixed: Option<&str>, kev: bool) -> FindingEvidence {
    FindingEvidence {
        id: id.into(),
        aliases: vec![],
        package: "libc6".into(),
        version: "2.36-9".into(),
        severity,
        fixed_version: fixed.map(str::to_owned),
        known_exploited: kev,
    }
}

/// The rules that denied, in order.
fn denied(policy: &Policy, env: &str, evidence: &Evidence) -> Vec<&'static str> {
    let d = evaluate(policy, env, evidence, NOW).unwrap();
    assert_eq!(d.allowed, d.reasons.is_empty() || d.mode == Mode::Warn);
    d.reasons.iter().map(|r| r.rule).collect()
}

#[test]
fn the_documented_example_loads_and_a_clean_image_passes_everywhere() {
    let p = example();
    assert_eq!(
        p.environments.keys().collect::<Vec<_>>(),
        ["dev", "production", "staging"]
    );
    assert_eq!(p.environments["dev"].mode, Mode::Warn);
    assert_eq!(
        p.environments["production"].trust.as_ref().unwrap().roles,
        ["targets/releases"]
    );
    assert!(p.warnings.is_empty());
    for env in ["dev", "staging", "production"] {
        let d = evaluate(&p, env, &good(), NOW).unwrap();
        assert!(d.allowed && d.reasons.is_empty(), "{env}: {:?}", d.reasons);
        assert_eq!(d.schema, "clearance.decision/v1");
    }
}

#[test]
fn roles_decide_which_content_runs_where() {
    let p = example();
    let mut ci = good();
    ci.trust.as_mut().unwrap().signers = vec![Signer {
        role: "ci".into(),
        digest: DIGEST.into(),
    }];
    assert_eq!(denied(&p, "production", &ci), ["trust.roles"]);
    assert_eq!(denied(&p, "staging", &ci), Vec::<&str>::new());
    let d = evaluate(&p, "production", &ci, NOW).unwrap();
    assert!(
        d.reasons[0].message.contains("targets/releases"),
        "{:?}",
        d.reasons[0]
    );
    assert!(
        d.reasons[0].evidence.contains("targets/ci"),
        "{:?}",
        d.reasons[0]
    );
    // releases signed another digest for the tag: not this one.
    let mut other = good();
    other.trust.as_mut().unwrap().signers[0].digest = "sha256:0000".into();
    assert_eq!(denied(&p, "production", &other), ["trust.roles"]);
    // Not verified, not checked, not pinned.
    let mut bad = good();
    bad.trust = Some(TrustEvidence {
        verified: false,
        problem: Some("timestamp metadata expired".into()),
        signers: vec![],
    });
    let d = evaluate(&p, "production", &bad, NOW).unwrap();
    assert_eq!(d.reasons[0].rule, "trust.signed");
    assert!(d.reasons[0].message.contains("timestamp metadata expired"));
    bad.trust = None;
    bad.image.pinned = false;
    assert_eq!(
        denied(&p, "production", &bad),
        ["trust.pinned", "trust.signed"]
    );
    // dev asks nothing of trust.
    assert_eq!(denied(&p, "dev", &bad), Vec::<&str>::new());
}

#[test]
fn sources_are_matched_by_registry_and_repository() {
    let p = example();
    let mut hub = good();
    hub.image.registry = "docker.io".into();
    hub.image.repository = "docker.io/library/nginx".into();
    assert_eq!(
        denied(&p, "production", &hub),
        ["sources.registries", "sources.repositories"]
    );
    let mut elsewhere = good();
    elsewhere.image.repository = "registry.internal:5000/other/app".into();
    assert_eq!(
        denied(&p, "production", &elsewhere),
        ["sources.repositories"]
    );
    assert_eq!(denied(&p, "staging", &elsewhere), Vec::<&str>::new());
}

#[test]
fn contents_rules_and_exceptions() {
    let p = example();
    let mut e = good();
    let scan = e.scan.as_mut().unwrap();
    scan.findings = vec![
        finding(
            "CVE-2023-4911",
            Severity::High,
            Some("2.36-9+deb12u3"),
            true,
        ),
        finding("CVE-2024-0001", Severity::Critical, Some("1.2"), false),
        finding("CVE-2024-0002", Severity::Medium, None, false),
        finding("CVE-2024-0003", Severity::Unknown, None, false),
    ];
    scan.secrets = vec![SecretEvidence {
        rule: "aws-access-token".into(),
        path: "/root/.aws/credentials".into(),
    }];
    scan.sbom = false;
    scan.database_updated_at = NOW - 3 * 86_400;
    scan.unchecked_packages = 2;
    assert_eq!(
        denied(&p, "production", &e),
        [
            "contents.max_severity",
            "contents.known_exploited",
            "contents.fixable_critical",
            "contents.unknown_severity",
            "contents.secrets",
            "contents.sbom",
            "contents.database_max_age_days",
            "contents.unchecked_packages"
        ]
    );
    let d = evaluate(&p, "production", &e, NOW).unwrap();
    let severity = &d.reasons[0];
    assert!(
        severity.message.starts_with(
            "2 findings above medium: CVE-2023-4911 in libc6 2.36-9 (fixed in 2.36-9+deb12u3)"
        ),
        "{}",
        severity.message
    );
    // staging: high is let through, the critical is not; 3 days is its limit.
    assert_eq!(
        denied(&p, "staging", &e),
        [
            "contents.max_severity",
            "contents.known_exploited",
            "contents.secrets"
        ]
    );
    // dev warns: allowed, with its reasons.
    let mut stale = e.clone();
    stale.scan.as_mut().unwrap().database_updated_at = NOW - 10 * 86_400;
    let d = evaluate(&p, "dev", &stale, NOW).unwrap();
    assert!(d.allowed);
    assert_eq!(
        d.reasons
            .iter()
            .map(|r| (r.rule, r.outcome))
            .collect::<Vec<_>>(),
        [("contents.database_max_age_days", Outcome::Warn)]
    );
    assert!(d.reasons[0].message.contains("10 days old; dev allows 7"));

    // The exception lets CVE-2024-12345 through, by alias too, for its
    // image only, until the end of its day.
    let mut e = good();
    let mut f = finding("GHSA-aaaa-bbbb-cccc", Severity::Critical, None, false);
    f.aliases = vec!["CVE-2024-12345".into()];
    e.scan.as_mut().unwrap().findings = vec![f];
    let d = evaluate(&p, "production", &e, NOW).unwrap();
    assert!(d.allowed, "{:?}", d.reasons);
    assert_eq!(d.exceptions[0].state, "applied");
    assert_eq!(d.exceptions[0].expires, "2027-01-31");
    let end_of_day = Date::parse("2027-02-01").unwrap().days() * 86_400 - 1;
    // (the database kept fresh, so that only the exception's date tells)
    e.scan.as_mut().unwrap().database_updated_at = end_of_day - 60;
    assert!(evaluate(&p, "production", &e, end_of_day).unwrap().allowed);
    let d = evaluate(&p, "production", &e, end_of_day + 1).unwrap();
    assert_eq!(
        d.reasons.iter().map(|r| r.rule).collect::<Vec<_>>(),
        ["contents.max_severity"]
    );
    assert_eq!(d.exceptions[0].state, "expired");
    let mut other = e.clone();
    other.scan.as_mut().unwrap().database_updated_at = NOW;
    other.image.repository = "registry.internal:5000/team/worker".into();
    assert_eq!(denied(&p, "production", &other), ["contents.max_severity"]);
    // Not scanned at all.
    let mut unscanned = good();
    unscanned.scan = None;
    assert_eq!(denied(&p, "production", &unscanned), ["contents"]);
}

#[test]
fn runtime_rules_judge_the_request_and_the_images_user() {
    let p = example();
    let mut root = good();
    root.config.as_mut().unwrap().user = String::new();
    let d = evaluate(&p, "production", &root, NOW).unwrap();
    assert_eq!(d.reasons[0].rule, "runtime.user");
    assert!(d.reasons[0].message.contains("unset (root)"));
    // runAsNonRoot: the kubelet refuses uid 0 at start.
    root.request.as_mut().unwrap().run_as_non_root = true;
    assert_eq!(denied(&p, "production", &root), Vec::<&str>::new());
    // The request's user wins over the image's.
    let mut asked = good();
    asked.request.as_mut().unwrap().user = Some("0:0".into());
    assert_eq!(denied(&p, "production", &asked), ["runtime.user"]);
    // A name: its uid from /etc/passwd, else denied.
    let mut named = good();
    named.config = Some(ConfigEvidence {
        user: "app".into(),
        user_uid: None,
    });
    assert_eq!(denied(&p, "production", &named), ["runtime.user"]);
    named.config.as_mut().unwrap().user_uid = Some(1000);
    assert_eq!(denied(&p, "production", &named), Vec::<&str>::new());
    named.config.as_mut().unwrap().user_uid = Some(0);
    assert_eq!(denied(&p, "production", &named), ["runtime.user"]);

    let mut risky = good();
    let r = risky.request.as_mut().unwrap();
    r.user_namespace = false;
    r.privileged = true;
    r.no_new_privileges = false;
    r.host_namespaces = vec!["pid".into(), "network".into()];
    r.host_paths = vec!["/var/run/docker.sock".into()];
    r.capabilities_added = vec!["cap_net_bind_service".into(), "SYS_ADMIN".into()];
    assert_eq!(
        denied(&p, "production", &risky),
        [
            "runtime.user_namespaces",
            "runtime.privileged",
            "runtime.privilege_escalation",
            "runtime.host_namespaces",
            "runtime.docker_socket",
            "runtime.host_paths",
            "runtime.capabilities"
        ]
    );
    let d = evaluate(&p, "production", &risky, NOW).unwrap();
    let caps = d.reasons.last().unwrap();
    assert!(caps.message.ends_with(": SYS_ADMIN"), "{}", caps.message);
    // staging asks only for non-root and unprivileged.
    assert_eq!(denied(&p, "staging", &risky), ["runtime.privileged"]);
    // `clearance check` has no request: only the image's user is judged.
    risky.request = None;
    assert_eq!(denied(&p, "production", &risky), Vec::<&str>::new());
}

#[test]
fn the_runtime_socket_rule_sees_every_path_that_reaches_a_socket() {
    let text = "version: 1\nenvironments:\n  production:\n    runtime: {host_paths: allow, docker_socket: deny}\n";
    let p = policy::load(text, "p.yaml", Date::parse("2026-12-01").unwrap()).unwrap();
    let with = |path: &str| {
        let mut e = good();
        e.request.as_mut().unwrap().host_paths = vec![path.into()];
        denied(&p, "production", &e)
    };
    for path in [
        "/",
        "//",
        "/.",
        "/var",
        "/var//run",
        "//var/run",
        "/var/run/.",
        "/run",
        "/var/run/containerd",
        "/run/crio",
        "/var/run/crio/crio.sock",
        "/run/podman",
        "/run/k3s/containerd",
        "/var/run/cri-dockerd.sock",
        "/run/containerd/containerd.sock.ttrpc",
        "/srv/../var/run/docker.sock",
        "/var/lib/docker/overlay2",
        "/run/user/1000/podman/podman.sock",
    ] {
        assert_eq!(with(path), ["runtime.docker_socket"], "{path}");
    }
    for path in ["/data", "/srv/app", "/var/lib/app", "/home/ci", "/runner"] {
        assert_eq!(with(path), Vec::<&str>::new(), "{path}");
    }
}

#[test]
fn an_unknown_environment_names_the_known_ones() {
    let p = example();
    assert_eq!(
        evaluate(&p, "prod", &good(), NOW),
        Err(EvaluateError::UnknownEnvironment {
            name: "prod".into(),
            known: "dev, production, staging".into()
        })
    );
}

fn errors(text: &str) -> Vec<String> {
    policy::load(text, "p.yaml", today())
        .unwrap_err()
        .to_string()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_mistake_is_named_with_its_line() {
    let text = "\
version: 1
environments:
  production:
    trust:
      signed: optional
      roles: [targets//ci, targets/releases]
    sources:
      registries: [registry.internal, registry.internal]
      repositories: [registry.internal/Team/app]
    contents:
      database_max_age_days: 0
    runtime:
      capabilities:
        allow: [ALL, NET_ADMIN]
    exceptions:
      - cve: not-an-id
        reason: ' '
        expires: 2030-01-31
      - cve: CVE-2024-1
        reason: judged
        expires: 2026-02-30
  Prod:
    mode: warn
";
    let got = errors(text);
    let want = [
        "p.yaml:5:15: environments.production.trust.signed: roles are named but a signature is optional",
        "p.yaml:6:15: environments.production.trust.roles[0]: \"targets//ci\" is not a role name",
        "p.yaml:8:39: environments.production.sources.registries[1]: \"registry.internal\" is listed twice",
        "p.yaml:9:22: environments.production.sources.repositories[0]: \"registry.internal/Team/app\" has path segment \"Team\", which",
        "p.yaml:11:30: environments.production.contents.database_max_age_days: 0 is not between 1 and 365 days",
        "p.yaml:14:17: environments.production.runtime.capabilities.allow[0]: \"ALL\" is not a Linux capability",
        "p.yaml:16:14: environments.production.exceptions[0].cve: \"not-an-id\" is not an advisory id",
        "p.yaml:17:17: environments.production.exceptions[0].reason: an exception needs a reason",
        "p.yaml:18:18: environments.production.exceptions[0].expires: 2030-01-31 is more than 180 days ahead",
        "p.yaml:21:18: environments.production.exceptions[1].expires: \"2026-02-30\" is not a date",
        "p.yaml:23:5: environments.Prod: \"Prod\" is not an environment name",
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "{g}\n  does not start with\n{w}");
    }
}

#[test]
fn yaml_and_shape_errors_name_their_line() {
    let unknown =
        errors("version: 1\nenvironments:\n  production:\n    contents:\n      no_rooot: deny\n");
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].starts_with("p.yaml:5:7: "), "{unknown:?}");
    assert!(unknown[0].contains("no_rooot"), "{unknown:?}");
    let value = errors(
        "version: 1\nenvironments:\n  production:\n    contents:\n      max_severity: severe\n",
    );
    assert!(
        value[0].starts_with("p.yaml:5:") && value[0].contains("severe"),
        "{value:?}"
    );
    let duplicate = errors("version: 1\nenvironments:\n  production: {}\n  production: {}\n");
    assert!(duplicate[0].starts_with("p.yaml:4:"), "{duplicate:?}");
    // YAML 1.1 booleans are strings here; `yes` is no verdict.
    let boolean =
        errors("version: 1\nenvironments:\n  production:\n    runtime:\n      privileged: no\n");
    assert!(boolean[0].starts_with("p.yaml:5:"), "{boolean:?}");
    let version = errors("version: 2\nenvironments:\n  production: {}\n");
    assert!(
        version[0].starts_with("p.yaml:1:10: version: version 2"),
        "{version:?}"
    );
    let empty = errors("version: 1\nenvironments: {}\n");
    assert!(empty[0].contains("no environment is defined"), "{empty:?}");
    let huge = "#".repeat(policy::MAX_POLICY_BYTES + 1);
    assert!(errors(&huge)[0].contains("larger than"));
    // An expired exception is a warning, not an error.
    let p = policy::load(
        "version: 1\nenvironments:\n  production:\n    exceptions:\n      - {cve: CVE-2024-1, reason: judged, expires: 2026-01-31}\n",
        "p.yaml",
        today(),
    )
    .unwrap();
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0].to_string().starts_with("5:"),
        "{}",
        p.warnings[0]
    );
}

#[test]
fn parser_words_are_the_policys_and_empty_lists_are_refused() {
    let duplicate = errors("version: 1\nenvironments:\n  production: {}\n  production: {}\n");
    assert!(
        duplicate[0].ends_with("production is given twice; each key may appear once"),
        "{duplicate:?}"
    );
    let merge =
        errors("version: 1\nenvironments:\n  dev: &b {mode: warn}\n  production:\n    <<: *b\n");
    assert!(
        merge[0].contains("merge keys (<<) are not allowed"),
        "{merge:?}"
    );
    let empty = errors(
        "version: 1\nmax_exception_days: 100000\nenvironments:\n  production:\n    trust: {roles: []}\n    sources: {registries: [], repositories: []}\n",
    );
    let want = [
        "p.yaml:2:21: max_exception_days: 100000 is not between 1 and 3650 days",
        "p.yaml:5:20: environments.production.trust.roles: an empty list names no role",
        "p.yaml:6:27: environments.production.sources.registries: an empty list",
        "p.yaml:6:45: environments.production.sources.repositories: an empty list",
    ];
    assert_eq!(empty.len(), want.len(), "{empty:#?}");
    for (g, w) in empty.iter().zip(want) {
        assert!(g.starts_with(w), "{g}\n  does not start with\n{w}");
    }
    // A registry's problem names the value once.
    let host =
        errors("version: 1\nenvironments:\n  production:\n    sources: {registries: [a..b]}\n");
    assert!(
        host[0].ends_with(
            "\"a..b\" is not a registry host (letters, digits, '-', '.', and '*' for one label)"
        ),
        "{host:?}"
    );
    // A trust group asks for a signature unless it says otherwise.
    let p = policy::load(
        "version: 1\nenvironments:\n  production:\n    trust: {pinned: required}\n",
        "p.yaml",
        today(),
    )
    .unwrap();
    let mut unsigned = good();
    unsigned.trust = None;
    assert_eq!(denied(&p, "production", &unsigned), ["trust.signed"]);
}

#[test]
fn a_key_written_without_a_value_is_refused_not_read_as_no_rules() {
    let today = Date::parse("2026-12-01").unwrap();
    for (text, at) in [
        (
            "version: 1\nenvironments:\n  production:\n    trust:\n    # signed: required\n",
            "environments.production.trust",
        ),
        (
            "version: 1\nenvironments:\n  production:\n    runtime: {privileged: ~}\n",
            "privileged",
        ),
        (
            "version: 1\nenvironments:\n  production:\n    contents:\n      max_severity: null\n",
            "max_severity",
        ),
    ] {
        let e = policy::load(text, "p.yaml", today).unwrap_err();
        let all: Vec<String> = e
            .errors
            .iter()
            .map(|x| format!("{}:{} {}: {}", x.line, x.column, x.path, x.message))
            .collect();
        assert!(
            e.errors
                .iter()
                .any(|x| x.line >= 4 && x.message.contains("is empty (null)")),
            "{at}: {text}\n{all:?}"
        );
    }
}
