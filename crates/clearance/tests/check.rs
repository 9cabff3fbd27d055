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

/// `clearance serve --admission` for `s`, over HTTPS with `ca`'s
/// certificate; namespace `production` is judged as `excepted`, `team-*`
/// as `staging`. Stopped on drop.
struct Webhook {
    child: std::process::Child,
    url: String,
    ca: support::TestCa,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn webhook(s: &Setup) -> Webhook {
    use std::io::Read as _;
    let ca = support::TestCa::new();
    let mut child = s
        .trust
        .command(
            "ci",
            &[
                "serve",
                "--admission",
                "--listen",
                "127.0.0.1:0",
                "--print-address",
                "--tls-cert",
                ca.leaf_cert.to_str().unwrap(),
                "--tls-key",
                ca.leaf_key.to_str().unwrap(),
                "--namespace",
                "production=excepted",
                "--namespace",
                "team-*=staging",
                "--namespace",
                "strict=production",
                "--root",
                &s.root,
            ],
            None,
        )
        .env("CLEARANCE_DB", &s.db)
        .env("CLEARANCE_POLICY", &s.policy)
        .env("CLEARANCE_DECISION_LOG", s.log())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the webhook did not start: {line:?}"));
    Webhook {
        url: format!("https://{}", addr.trim()),
        child,
        ca,
    }
}

impl Webhook {
    /// POST `body` to `path`: the HTTP status and the body.
    fn post(&self, path: &str, body: &str) -> (u16, String) {
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "60",
                "-w",
                "\n%{http_code}",
                "--cacert",
            ])
            .arg(&self.ca.ca_cert)
            .args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .arg(format!("{}{path}", self.url))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(body.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.trim().parse().unwrap(), body.to_owned())
    }

    /// The `response` of an AdmissionReview answer to `review`.
    fn review(&self, path: &str, review: &serde_json::Value) -> serde_json::Value {
        let (code, body) = self.post(path, &review.to_string());
        assert_eq!(code, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
        answer["response"].clone()
    }
}

/// A Pod review in `namespace` running `image` as its one container.
fn pod_review(uid: &str, namespace: &str, image: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {"containers": [{"name": "app", "image": image}]}
            },
            "dryRun": false
        }
    })
}

fn message(response: &serde_json::Value) -> String {
    response["status"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn admission_webhook_judges_every_container_pins_tags_and_fails_closed() {
    let s = Setup::new();
    let hook = webhook(&s);
    let v2 = format!("{}:v2", s.gun);

    // Signed by releases, excepted finding, uid 10001: allowed.
    let r = hook.review("/validate", &pod_review("u-1", "production", &v2));
    assert_eq!(r["allowed"], true, "{r}");

    // The mutating webhook pins the tag to the digest releases signed…
    let r = hook.review("/mutate", &pod_review("u-2", "production", &v2));
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["patchType"], "JSONPatch");
    let patch = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(r["patch"].as_str().unwrap())
            .unwrap()
    };
    let pinned = format!("{v2}@{}", s.signed["v2"]);
    let patch: serde_json::Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        serde_json::json!([{"op": "replace", "path": "/spec/containers/0/image", "value": pinned}])
    );
    // …and the pinned image is allowed too; an unsigned tag gets no patch.
    let r = hook.review("/validate", &pod_review("u-3", "production", &pinned));
    assert_eq!(r["allowed"], true, "{r}");
    let r = hook.review(
        "/mutate",
        &pod_review("u-4", "production", &format!("{}:v3", s.gun)),
    );
    assert!(r.get("patch").is_none(), "{r}");

    // A Deployment whose template runs what only the targets role signed.
    let mut deployment: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            support::repo_root()
                .join("crates/clearance-policy/tests/data/admission/deployment-create.json"),
        )
        .unwrap(),
    )
    .unwrap();
    deployment["request"]["namespace"] = "production".into();
    deployment["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] =
        format!("{}:v1", s.gun).into();
    let r = hook.review("/validate", &deployment);
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let m = message(&r);
    assert!(m.contains("container \"app\""), "{m}");
    assert!(m.contains("trust.roles"), "{m}");
    // The same in a team namespace (staging accepts targets).
    deployment["request"]["namespace"] = "team-a".into();
    let r = hook.review("/validate", &deployment);
    assert_eq!(r["allowed"], true, "{r}");

    // kubectl debug: an unsigned, privileged ephemeral container.
    let mut debug: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join(
            "crates/clearance-policy/tests/data/admission/pod-ephemeralcontainers-update.json",
        ))
        .unwrap(),
    )
    .unwrap();
    debug["request"]["object"]["spec"]["ephemeralContainers"][0]["image"] =
        format!("{}:v3", s.gun).into();
    let r = hook.review("/validate", &debug);
    assert_eq!(r["allowed"], false, "{r}");
    let m = message(&r);
    assert!(m.contains("ephemeral container \"debugger-x7k2p\""), "{m}");
    assert!(m.contains("trust.signed"), "{m}");

    // A namespace no rule maps, an image that does not parse, a review
    // that is not one: denied, each saying why.
    let r = hook.review("/validate", &pod_review("u-5", "other", &v2));
    assert_eq!(r["allowed"], false);
    assert!(
        message(&r).contains("namespace \"other\" maps to no environment"),
        "{r}"
    );
    let r = hook.review("/validate", &pod_review("u-6", "production", "Bad::Image"));
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("does not parse"), "{r}");
    let (code, body) = hook.post("/validate", "{\"apiVersion\": \"admission.k8s.io/v1\"");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("not valid"), "{body}");

    // Every container decision is in the log, with who asked.
    let out = s.run(&["--format", "json", "decisions", "--env", "excepted"]);
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let admission: Vec<&serde_json::Value> = listing["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["point"] == "admission")
        .collect();
    assert_eq!(admission.len(), 4, "{listing:#}");
    assert_eq!(
        admission[0]["subject"],
        "production/web container app by alice"
    );
    assert_eq!(admission[0]["allowed"], true);
    assert!(admission[0]["evidence"]["request"].is_string());

    // A registry the environment does not allow is refused before anything
    // is fetched from it (nothing listens on port 9), and a path on the
    // webhook's host is no image.
    let r = hook.review(
        "/validate",
        &pod_review("u-8", "strict", "127.0.0.1:9/x/y:1"),
    );
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("sources.registries"), "{r}");
    let r = hook.review("/validate", &pod_review("u-9", "production", "oci:/etc"));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("does not parse"), "{r}");

    // The mutating webhook cannot look a signature up: an error, so the
    // API server refuses the pod (failurePolicy: Fail), never an allow
    // without the pin.
    let server = s.trust.dir.path().join("server");
    let away = s.trust.dir.path().join("server.away");
    std::fs::rename(&server, &away).unwrap();
    let (code, body) = hook.post(
        "/mutate",
        &pod_review("u-10", "production", &format!("{}:r1", s.gun)).to_string(),
    );
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("fail closed"), "{body}");
    std::fs::rename(&away, &server).unwrap();

    // The registry goes away: an image not yet gathered cannot be judged,
    // and is denied saying so.
    let gun = s.gun.clone();
    let Setup { registry, .. } = s;
    drop(registry);
    let r = hook.review(
        "/validate",
        &pod_review("u-7", "team-b", &format!("{gun}:r1")),
    );
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("fail closed"), "{r}");
}

#[test]
fn admission_denies_a_tag_that_moved_after_it_was_signed() {
    let s = Setup::new();
    let hook = webhook(&s);
    // After signing, the root image is pushed over v2.
    skopeo_copy(
        &format!("oci:{}:root", s.dir.path().join("oci").display()),
        &format!("docker://{}:v2", s.gun),
        None,
    );
    let v2 = format!("{}:v2", s.gun);
    let r = hook.review("/validate", &pod_review("m-1", "production", &v2));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        message(&r).contains("the registry's tag now points at"),
        "{r}"
    );
    // Pinned to what was signed, it runs.
    let r = hook.review("/mutate", &pod_review("m-2", "production", &v2));
    assert!(r["patch"].is_string(), "{r}");
    let pinned = format!("{v2}@{}", s.signed["v2"]);
    let r = hook.review("/validate", &pod_review("m-3", "production", &pinned));
    assert_eq!(r["allowed"], true, "{r}");
    // `check` judges the signed digest and says the tag moved.
    let out = s.run(&["check", &v2, "--env", "excepted", "--root", &s.root]);
    assert_success(&out);
    assert!(stdout(&out).contains("now points to"), "{}", both(&out));
}

#[test]
fn admission_manifests_send_every_container_and_fail_closed() {
    let ca = support::TestCa::new();
    let ca_file = ca.ca_cert.to_str().unwrap();
    let out = support::clearance(&[
        "admission",
        "manifests",
        "--ca-file",
        ca_file,
        "--service",
        "clearance-system/clearance:8443",
    ]);
    assert_success(&out);
    let text = stdout(&out);
    for says in [
        "kind: MutatingWebhookConfiguration",
        "kind: ValidatingWebhookConfiguration",
        "\"pods/ephemeralcontainers\"",
        "\"cronjobs\"",
        "\"deployments\", \"statefulsets\", \"daemonsets\", \"replicasets\"",
        "failurePolicy: Fail",
        "path: /validate",
        "path: /mutate",
        "port: 8443",
        "values: [\"kube-system\", \"clearance-system\"]",
        "admissionReviewVersions: [\"v1\"]",
    ] {
        assert!(text.contains(says), "{says}\n{text}");
    }
    let bundle = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("caBundle: "))
        .unwrap();
    let pem = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(bundle)
            .unwrap()
    };
    assert_eq!(pem, std::fs::read(&ca.ca_cert).unwrap());
    let out = support::clearance(&[
        "admission",
        "manifests",
        "--ca-file",
        ca_file,
        "--url",
        "http://10.0.0.1:8443",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains("HTTPS only"), "{}", both(&out));
}

#[test]
fn admission_manifests_name_what_is_wrong_with_a_url() {
    let ca = support::TestCa::new();
    let ca_file = ca.ca_cert.to_str().unwrap();
    let out = support::clearance(&[
        "admission",
        "manifests",
        "--ca-file",
        ca_file,
        "--url",
        "https://10.0.0.1:8443/validate",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains("without a path"), "{}", both(&out));
    let out = support::clearance(&[
        "admission",
        "manifests",
        "--ca-file",
        ca_file,
        "--url",
        "https://10.0.0.1:8443",
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("url: \"https://10.0.0.1:8443/validate\""),
        "{}",
        both(&out)
    );
}
