//! `clearance policy check`: a valid policy lists its environments; an
//! invalid one names each problem with its file, line and column and exits
//! 2.
#![allow(clippy::unwrap_used)]

mod support;

use support::{assert_success, both, clearance, stdout};

#[test]
fn a_valid_policy_lists_its_environments() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "version: 1\nenvironments:\n  production:\n    trust: {signed: required, roles: [targets/releases]}\n  dev:\n    mode: warn\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let out = clearance(&["policy", "check", &file]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("a valid policy with 2 environments"),
        "{text}"
    );
    assert!(text.contains("none: every image is allowed"), "{text}");
    let out = clearance(&["--format", "json", "policy", "check", &file]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["schema"], "clearance.policy-check/v1");
    assert_eq!(report["valid"], true);
    assert_eq!(report["environments"][1]["name"], "production");
    assert_eq!(report["environments"][1]["rules"][0], "trust");
}

#[test]
fn an_invalid_policy_names_each_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "version: 1\nenvironments:\n  production:\n    runtime:\n      capabilities: {allow: [ALL]}\n    sources:\n      registries: ['bad host']\n",
    )
    .unwrap();
    let name = file.display().to_string();
    let out = clearance(&["policy", "check", &name]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let text = both(&out);
    assert!(
        text.contains(&format!("{name}:5:30: environments.production.runtime.capabilities.allow[0]: \"ALL\" is not a Linux capability")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{name}:7:20: environments.production.sources.registries[0]"
        )),
        "{text}"
    );
    assert!(text.contains("2 problems; fix them"), "{text}");
    // A missing file says which.
    let out = clearance(&["policy", "check", "/nonexistent/policy.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(both(&out).contains("cannot read the policy file /nonexistent/policy.yaml"));
}

#[test]
fn a_policy_that_never_ends_is_cut_off_and_since_takes_any_text() {
    let out = clearance(&["policy", "check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        both(&out).contains("/dev/zero is over 1048576 bytes"),
        "{}",
        both(&out)
    );
    for since in ["é", "5é", "日", "7"] {
        let out = clearance(&[
            "decisions",
            "--since",
            since,
            "--decision-log",
            "/nonexistent.jsonl",
        ]);
        assert_eq!(out.status.code(), Some(2), "{since}: {}", both(&out));
        assert!(
            both(&out).contains("neither a day"),
            "{since}: {}",
            both(&out)
        );
    }
}
