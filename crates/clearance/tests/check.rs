//! `clearance check IMAGE --env ENV`: real images in a real Distribution
//! registry, signed through a `file://` trust repository by the top-level
//! targets role and by a `releases` delegation, scanned against a database
//! built from an OSV record, judged by a policy file; and `clearance
//! decisions`, which lists what was decided.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use support::service::{Trust, field};
use support::{Registry, assert_success, both, db_build, skopeo_copy, stdout, umoci_script};

/// Two images in `dir/oci`: `app` runs as uid 10001, `root` sets no user;
/// both carry `requests` 2.19.1 from PyPI.
fn build_images(dir: &Path) {
    let script = r#"
for name in app root; do
  umoci new --image oci:$name
  umoci config --image oci:$name --created 2020-01-04T00:00:00Z --no-history
  if [ $name = app ]; then umoci config --image oci:app --config.user 10001 --no-history; fi
  umoci unpack --image oci:$name bundle-$name >/dev/null
  R=bundle-$name/rootfs
  mkdir -p $R/etc $R/usr/local/lib/python3.11/dist-packages/requests-2.19.1.dist-info
  printf 'ID=debian\nVERSION_ID="12"\n' > $R/etc/os-release
  printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\nSummary: %s\n' $name \
    > $R/usr/local/lib/python3.11/dist-packages/requests-2.19.1.dist-info/METADATA
  umoci repack --refresh-bundle --image oci:$name --history.created_by "pip install requests==2.19.1" bundle-$name
done
"#;
    umoci_script(dir, script, &[]);
}

/// A database holding one critical advisory for `requests` below 2.20.0,
/// modified today (so the database is fresh).
fn build_db(dir: &Path) -> String {
    let records = dir.join("osv");
    std::fs::create_dir_all(&records).unwrap();
    let today = clearance_oci::time::rfc3339(clearance_oci::time::now_unix());
    let record = serde_json::json!({
        "schema_version": "1.6.0",
        "id": "PYSEC-2099-1",
        "aliases": ["CVE-2099-0001"],
        "modified": today,
        "summary": "requests sends credentials to the wrong host",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]
        }]
    });
    std::fs::write(records.join("PYSEC-2099-1.json"), record.to_string()).unwrap();
    let db = dir.join("advisories.db");
    db_build(&db, &records);
    db.display().to_string()
}

fn policy(dir: &Path, registry: &str) -> String {
    let expires = clearance_policy::date::Date::of_unix(
        i64::try_from(clearance_oci::time::now_unix()).unwrap() + 30 * 86_400,
    );
    let text = format!(
        r#"version: 1
environments:
  production:
    trust:
      signed: required
      roles: [targets/releases]
    sources:
      registries: ["{registry}"]
    contents:
      max_severity: high
      database_max_age_days: 2
    runtime:
      user: non-root
  excepted:
    trust:
      roles: [targets/releases]
    contents:
      max_severity: high
    runtime:
      user: non-root
    exceptions:
      - cve: CVE-2099-0001
        reason: the service never sends credentials
        expires: {expires}
  staging:
    trust:
      roles: [targets, targets/releases]
  elsewhere:
    sources:
      registries: [registry.internal]
"#
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

struct Setup {
    trust: Trust,
    registry: Registry,
    gun: String,
    dir: tempfile::TempDir,
    db: String,
    policy: String,
    root: String,
    /// What each tag was signed as.
    signed: std::collections::BTreeMap<&'static str, String>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        build_images(dir.path());
        let registry = Registry::start(None);
        let gun = format!("{}/team/app", registry.host());
        let layout = dir.path().join("oci").display().to_string();
        for (image, tag) in [("app", "v1"), ("app", "v2"), ("app", "v3"), ("root", "r1")] {
            skopeo_copy(
                &format!("oci:{layout}:{image}"),
                &format!("docker://{gun}:{tag}"),
                None,
            );
        }
        let trust = Trust::file_initialised(&gun);
        let mut signed = std::collections::BTreeMap::new();
        signed.insert("v1", trust.sign(&gun, "v1"));
        let run = |args: &[&str]| -> Output {
            trust.run_with_passphrases("publisher", args, &["releases"])
        };
        let out = run(&["trust", "key", "generate", "--role", "releases"]);
        assert_success(&out);
        let key = field(&out, "Generated");
        assert_success(&run(&[
            "trust", "delegate", "add", &gun, "releases", "--key", &key, "--paths", "*",
        ]));
        for tag in ["v2", "r1"] {
            let out = run(&[
                "trust",
                "sign",
                &format!("{gun}:{tag}"),
                "--role",
                "releases",
            ]);
            assert_success(&out);
            let digest = field(&out, "Digest");
            signed.insert(tag, digest.split_whitespace().next().unwrap().to_owned());
        }
        let root = trust.trusted_root("publisher", &gun).display().to_string();
        let db = build_db(dir.path());
        let policy = policy(dir.path(), &registry.host());
        Setup {
            trust,
            registry,
            gun,
            dir,
            db,
            policy,
            root,
            signed,
        }
    }

    fn log(&self) -> String {
        self.dir
            .path()
            .join("decisions.jsonl")
            .display()
            .to_string()
    }

    /// `clearance ARGS` as the CI job "ci", with the database, the policy
    /// and the decision log set by the environment.
    fn run(&self, args: &[&str]) -> Output {
        self.trust
            .command("ci", args, None)
            .env("CLEARANCE_DB", &self.db)
            .env("CLEARANCE_POLICY", &self.policy)
            .env("CLEARANCE_DECISION_LOG", self.log())
            .output()
            .unwrap()
    }

    /// `clearance --format json check GUN:TAG --env ENV --root ROOT`.
    fn check(&self, tag: &str, env: &str) -> (Output, serde_json::Value) {
        let image = format!("{}:{tag}", self.gun);
        let out = self.run(&[
            "--format", "json", "check", &image, "--env", env, "--root", &self.root,
        ]);
        let report =
            serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
        (out, report)
    }
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn check_judges_signers_findings_and_user_and_logs_each_decision() {
    let s = Setup::new();

    // Signed by releases, runs as 10001, but a critical finding.
    let (out, report) = s.check("v2", "production");
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(report["schema"], "clearance.check/v1");
    assert_eq!(report["decision"]["allowed"], false);
    assert_eq!(rules(&report), ["contents.max_severity"], "{report:#}");
    assert_eq!(report["decision"]["digest"], s.signed["v2"]);
    let signers = &report["evidence"]["trust"]["signers"];
    assert!(
        signers
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["role"] == "releases" && x["digest"] == s.signed["v2"]),
        "{signers}"
    );
    let finding = &report["evidence"]["scan"]["findings"][0];
    assert_eq!(finding["package"], "requests");
    assert_eq!(finding["severity"], "critical");
    assert_eq!(report["evidence"]["config"]["user"], "10001");

    // The exception lets it run, and the table says so with the digest.
    let image = format!("{}:v2", s.gun);
    let out = s.run(&["check", &image, "--env", "excepted", "--root", &s.root]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("✓ allowed"), "{text}");
    assert!(text.contains(&s.signed["v2"]), "{text}");
    assert!(text.contains("exception CVE-2099-0001 applied"), "{text}");
    assert!(text.contains("trust: signed by releases"), "{text}");

    // Signed, but only by the top-level targets role.
    let (out, report) = s.check("v1", "excepted");
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(rules(&report), ["trust.roles"], "{report:#}");
    let reason = &report["decision"]["reasons"][0];
    assert!(
        reason["evidence"]
            .as_str()
            .unwrap()
            .starts_with("trust.signers = targets ("),
        "{reason}"
    );
    // Staging accepts the targets role.
    let (out, report) = s.check("v1", "staging");
    assert_success(&out);
    assert_eq!(report["decision"]["allowed"], true);

    // Not signed at all.
    let (out, report) = s.check("v3", "excepted");
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(rules(&report), ["trust.signed"], "{report:#}");
    assert!(
        report["decision"]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is not signed"),
        "{report:#}"
    );

    // Signed, but runs as root.
    let (out, report) = s.check("r1", "excepted");
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(rules(&report), ["runtime.user"], "{report:#}");

    // A registry the environment does not allow: denied without signing
    // or scanning anything (the environment asks for neither).
    let (out, report) = s.check("v3", "elsewhere");
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(rules(&report), ["sources.registries"], "{report:#}");
    assert!(report["evidence"]["trust"].is_null(), "{report:#}");
    assert!(report["evidence"]["scan"].is_null(), "{report:#}");

    // Every decision is in the log, and `decisions` filters it.
    let out = s.run(&["--format", "json", "decisions"]);
    assert_success(&out);
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listing["schema"], "clearance.decisions/v1");
    let all = listing["decisions"].as_array().unwrap();
    assert_eq!(all.len(), 7, "{listing:#}");
    assert_eq!(all[0]["point"], "check");
    assert_eq!(all[0]["environment"], "production");
    assert_eq!(all[0]["digest"], s.signed["v2"]);
    assert!(
        all[0]["evidence"]["trust"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(all[1]["allowed"], true);
    assert_eq!(all[1]["exceptions_applied"][0], "CVE-2099-0001");
    let out = s.run(&[
        "--format",
        "json",
        "decisions",
        "--denied",
        "--env",
        "excepted",
    ]);
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let denied: Vec<&str> = listing["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reasons"][0]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(denied, ["trust.roles", "trust.signed", "runtime.user"]);
    let out = s.run(&["decisions", "--allowed", "--last", "1"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("staging") && text.contains("allowed"),
        "{text}"
    );
    assert!(!text.contains("excepted"), "{text}");
    assert!(text.contains("1 decision from"), "{text}");
}

#[test]
fn check_judges_the_signed_digest_even_when_the_tag_has_moved() {
    let s = Setup::new();
    // After signing, someone pushes the root image over v2.
    skopeo_copy(
        &format!("oci:{}:root", s.dir.path().join("oci").display()),
        &format!("docker://{}:v2", s.gun),
        None,
    );
    let (out, report) = s.check("v2", "excepted");
    assert_success(&out);
    assert_eq!(report["decision"]["digest"], s.signed["v2"]);
    assert_eq!(report["evidence"]["config"]["user"], "10001");

    // A digest named beside the tag must be the signed one.
    let moved = s.signed["r1"].clone();
    let image = format!("{}:v2@{moved}", s.gun);
    let out = s.run(&[
        "--format", "json", "check", &image, "--env", "excepted", "--root", &s.root,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // (and it runs as root: what was named is what is judged)
    assert_eq!(
        rules(&report),
        ["trust.signed", "runtime.user"],
        "{report:#}"
    );
    assert!(
        report["decision"]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("is signed as {}", s.signed["v2"])),
        "{report:#}"
    );
    drop(s.registry);
}

#[test]
fn check_without_a_trust_server_or_with_a_bad_environment_says_what_to_do() {
    let s = Setup::new();
    let image = format!("{}:v2", s.gun);
    // No trust server: the signature was not checked, so production denies.
    let out = s
        .trust
        .command("ci", &["check", &image, "--env", "excepted"], None)
        .env_remove("CLEARANCE_TRUST_SERVER")
        .env("CLEARANCE_DB", &s.db)
        .env("CLEARANCE_POLICY", &s.policy)
        .env("CLEARANCE_DECISION_LOG", s.log())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains("✗ denied"), "{text}");
    assert!(text.contains("no trust server was named"), "{text}");
    assert!(text.contains("--server"), "{text}");

    // An environment the policy does not define: exit 2, naming those it does.
    let out = s.run(&["check", &image, "--env", "prod"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        both(&out)
            .contains("no environment \"prod\"; it has: elsewhere, excepted, production, staging"),
        "{}",
        both(&out)
    );
    // A policy with a mistake: exit 2 with its line and column, nothing logged.
    let bad = s.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nenvironments:\n  production:\n    contents: {max_severity: severe}\n",
    )
    .unwrap();
    let bad = bad.display().to_string();
    let out = s.run(&["check", &image, "--env", "production", "--policy", &bad]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains(&format!("{bad}:4:")), "{}", both(&out));
    assert!(
        both(&out).contains("clearance policy check"),
        "{}",
        both(&out)
    );
    let log = std::fs::read_to_string(s.log()).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
}
