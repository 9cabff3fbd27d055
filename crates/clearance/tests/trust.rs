//! `clearance trust init | sign | verify` end to end: a real registry
//! (Distribution 2.8) on 127.0.0.1, an image copied by skopeo, metadata in a
//! file:// trust repository, and attacks on both.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use support::service::field;
use support::{Registry, TestImage, assert_success, service, skopeo_copy, stderr, stdout};

/// The shared test client (a private home per person, every passphrase
/// set), pointed at a file:// trust repository in its own directory.
struct Trust(service::Trust);

impl std::ops::Deref for Trust {
    type Target = service::Trust;
    fn deref(&self) -> &service::Trust {
        &self.0
    }
}

impl Trust {
    fn new() -> Trust {
        Trust(service::Trust::file())
    }

    fn server_dir(&self) -> PathBuf {
        self.dir.path().join("server")
    }

    /// The binary with this home and server, and no passphrases.
    fn command(&self, home: &str, args: &[&str]) -> Command {
        let mut cmd = self.0.command(home, args, None);
        for role in ["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"] {
            cmd.env_remove(format!("CLEARANCE_PASSPHRASE_{role}"));
        }
        cmd
    }

    /// `trust verify --format json IMAGE` as `home`.
    fn verify(&self, home: &str, image: &str) -> Output {
        self.run(home, &["--format", "json", "trust", "verify", image])
    }

    /// A metadata file on the trust server, parsed.
    fn json(&self, gun: &str, file: &str) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.metadata(gun, file)).unwrap()).unwrap()
    }

    fn metadata(&self, gun: &str, file: &str) -> PathBuf {
        self.server_dir()
            .join("v2")
            .join(gun)
            .join("_trust/tuf")
            .join(file)
    }
}

fn verify_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

struct Setup {
    _img: TestImage,
    _registry: Registry,
    trust: Trust,
    gun: String,
    digest: String,
}

/// The test image pushed to a fresh registry as `team/app:v1`.
fn pushed_image() -> (TestImage, Registry, String) {
    let img = TestImage::build();
    let registry = Registry::start(None);
    let gun = format!("{}/team/app", registry.host());
    skopeo_copy(&img.oci_ref(), &format!("docker://{gun}:v1"), None);
    (img, registry, gun)
}

fn signed_image() -> Setup {
    let (img, registry, gun) = pushed_image();
    let trust = Trust::new();
    let out = trust.run("publisher", &["trust", "init", &gun]);
    assert_success(&out);
    let out = trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]);
    assert_success(&out);
    let digest = field(&out, "Digest");
    Setup {
        _img: img,
        _registry: registry,
        trust,
        gun,
        digest,
    }
}

#[test]
fn a_signed_tag_verifies_and_an_unsigned_one_does_not() {
    let s = signed_image();
    let out = s.trust.verify("publisher", &format!("{}:v1", s.gun));
    assert_success(&out);
    let v = verify_json(&out);
    assert_eq!(v["trusted"], true);
    assert_eq!(v["digest"], s.digest.as_str());
    assert_eq!(
        v["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(v["targets_version"], 2);

    let out = s.trust.run(
        "publisher",
        &["--format", "json", "trust", "inspect", &s.gun],
    );
    assert_success(&out);
    let view = verify_json(&out);
    let roles: Vec<&str> = view["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["root", "targets", "snapshot", "timestamp"]);
    assert_eq!(view["roles"][1]["version"], 2);
    assert!(
        view["roles"][3]["expires_in_days"].as_i64().unwrap() >= 13,
        "timestamp lasts 14 days"
    );
    assert_eq!(view["targets"], 1);
    assert_eq!(view["hash_bins"], 0);

    let out = s.trust.verify("publisher", &format!("{}:v9", s.gun));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        verify_json(&out)["reason"]
            .as_str()
            .unwrap()
            .contains("is not signed")
    );
}

#[test]
fn a_consumer_must_pin_a_root_or_choose_trust_on_first_use() {
    let s = signed_image();
    let image = format!("{}:v1", s.gun);
    let out = s.trust.run("consumer", &["trust", "verify", &image]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--root"), "{}", stderr(&out));

    let root = s.trust.metadata(&s.gun, "1.root.json");
    let out = s.trust.run(
        "consumer",
        &["trust", "verify", "--root", root.to_str().unwrap(), &image],
    );
    assert_success(&out);
    assert!(stdout(&out).contains("✔ trusted"), "{}", stdout(&out));

    let out = s
        .trust
        .run("tofu", &["trust", "verify", "--trust-on-first-use", &image]);
    assert_success(&out);
}

#[test]
fn tampered_trust_metadata_is_not_trusted() {
    let s = signed_image();
    // Point the signed tag at another digest without re-signing.
    let path = s.trust.metadata(&s.gun, "targets.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let hex = s.digest.trim_start_matches("sha256:");
    std::fs::write(&path, text.replace(hex, &"0".repeat(64))).unwrap();
    std::fs::write(
        s.trust.metadata(&s.gun, "2.targets.json"),
        text.replace(hex, &"0".repeat(64)),
    )
    .unwrap();
    // A consumer that downloads it (the publisher trusts the targets it
    // published, kept here since: TUF 5.6 uses a local copy at the version
    // snapshot names, so it never fetches the altered file).
    let root = s.trust.metadata(&s.gun, "1.root.json");
    let out = s.trust.run(
        "consumer",
        &[
            "--format",
            "json",
            "trust",
            "verify",
            "--root",
            root.to_str().unwrap(),
            &format!("{}:v1", s.gun),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let reason = verify_json(&out)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("targets"), "{reason}");
}

#[test]
fn a_man_in_the_middle_altering_the_manifest_is_caught() {
    let (_img, registry, _) = pushed_image();
    // Clearance reaches the registry only through the proxy.
    let proxy = support::MitmProxy::start(registry.port);
    let gun = format!("{}/team/app", proxy.host());
    let trust = Trust::new();
    assert!(trust.run("p", &["trust", "init", &gun]).status.success());
    let out = trust.run("p", &["trust", "sign", &format!("{gun}:v1")]);
    assert_success(&out);
    let out = trust.run("p", &["trust", "verify", &format!("{gun}:v1")]);
    assert_success(&out);

    proxy
        .tamper
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let out = trust.run(
        "p",
        &["--format", "json", "trust", "verify", &format!("{gun}:v1")],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let reason = verify_json(&out)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("digest mismatch"), "{reason}");
}

#[test]
fn signing_needs_the_right_passphrase() {
    let s = signed_image();
    skopeo_copy(&s._img.oci_ref(), &format!("docker://{}:v2", s.gun), None);
    let out = s
        .trust
        .command("publisher", &["trust", "sign", &format!("{}:v2", s.gun)])
        .env("CLEARANCE_PASSPHRASE_TARGETS", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    let v = std::fs::read(s.trust.metadata(&s.gun, "targets.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&v).contains("\"version\":2"),
        "metadata changed after a failed sign"
    );
}

#[test]
fn a_root_key_on_a_token_signs_root_and_never_leaves_it() {
    support::require("softhsm2-util");
    let module = "/usr/lib/softhsm/libsofthsm2.so";
    let (_img, _registry, gun) = pushed_image();
    let trust = Trust::new();
    // A SoftHSM2 token of the test's own.
    let hsm = trust.dir.path().join("hsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "clearance",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert_success(&out);

    let with_hsm = |args: &[&str]| -> Output {
        let mut cmd = trust.command("publisher", args);
        cmd.env("SOFTHSM2_CONF", &conf)
            .env("CLEARANCE_PKCS11_MODULE", module);
        for role in ["TARGETS", "SNAPSHOT", "TIMESTAMP"] {
            cmd.env(format!("CLEARANCE_PASSPHRASE_{role}"), "a passphrase");
        }
        cmd.output().unwrap()
    };
    let uri = "pkcs11:token=clearance;object=root-key?pin-value=1234";
    let out = with_hsm(&["trust", "init", &gun, "--root-key", uri]);
    assert_success(&out);
    assert!(stdout(&out).contains("not extractable"), "{}", stdout(&out));

    // The root role's only key is the token's P-256 key, and no private
    // root key exists on disk.
    let root: serde_json::Value = trust.json(&gun, "1.root.json");
    let root_keyid = root["signed"]["roles"]["root"]["keyids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        root["signed"]["keys"][&root_keyid]["scheme"],
        "ecdsa-sha2-nistp256"
    );
    assert_eq!(root["signatures"][0]["keyid"], root_keyid.as_str());
    let keys = std::fs::read_dir(trust.dir.path().join("publisher/trust/private"))
        .unwrap()
        .count();
    assert_eq!(keys, 3, "targets, snapshot and timestamp only");

    // The token-signed root anchors a normal sign and verify.
    let out = with_hsm(&["trust", "sign", &format!("{gun}:v1")]);
    assert_success(&out);
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--root",
            trust.metadata(&gun, "1.root.json").to_str().unwrap(),
            &format!("{gun}:v1"),
        ],
    );
    assert_success(&out);

    // A wrong PIN is refused by the token.
    let out = with_hsm(&[
        "trust",
        "init",
        &format!("{gun}-2"),
        "--root-key",
        "pkcs11:token=clearance;object=root-key?pin-value=0000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PIN"), "{}", stderr(&out));
}

fn root_version(trust: &Trust, gun: &str) -> u64 {
    let root: serde_json::Value = trust.json(gun, "root.json");
    root["signed"]["version"].as_u64().unwrap()
}

fn keyids(trust: &Trust, gun: &str, role: &str) -> Vec<String> {
    let root: serde_json::Value = trust.json(gun, "root.json");
    serde_json::from_value(root["signed"]["roles"][role]["keyids"].clone()).unwrap()
}

#[test]
fn rotation_and_revocation_keep_a_pinned_consumer_verifying() {
    let s = signed_image();
    let image = format!("{}:v1", s.gun);
    let pinned = s.trust.metadata(&s.gun, "1.root.json");
    let verify = |t: &Trust| {
        let out = t.run(
            "consumer",
            &[
                "trust",
                "verify",
                "--root",
                pinned.to_str().unwrap(),
                &image,
            ],
        );
        assert_success(&out);
    };
    verify(&s.trust);

    // A new targets key: targets re-signed, root v2 signed by the root key.
    let old_targets = keyids(&s.trust, &s.gun, "targets");
    let out = s
        .trust
        .run("publisher", &["trust", "rotate", &s.gun, "targets"]);
    assert_success(&out);
    assert_eq!(root_version(&s.trust, &s.gun), 2);
    assert_ne!(keyids(&s.trust, &s.gun, "targets"), old_targets);
    verify(&s.trust);

    // A new root key: root v3 cross-signed; the consumer follows the chain.
    let old_root = keyids(&s.trust, &s.gun, "root");
    let out = s
        .trust
        .run("publisher", &["trust", "rotate", &s.gun, "root"]);
    assert_success(&out);
    let v3: serde_json::Value = s.trust.json(&s.gun, "3.root.json");
    let signed_by: Vec<&str> = v3["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["keyid"].as_str().unwrap())
        .collect();
    assert!(
        signed_by.contains(&old_root[0].as_str()) && signed_by.len() == 2,
        "{signed_by:?}"
    );
    verify(&s.trust);

    // Gradual rotation: add a snapshot key, then revoke the old one.
    let old_snapshot = keyids(&s.trust, &s.gun, "snapshot")[0].clone();
    let out = s.trust.run(
        "publisher",
        &["trust", "rotate", &s.gun, "snapshot", "--keep-old"],
    );
    assert_success(&out);
    assert_eq!(keyids(&s.trust, &s.gun, "snapshot").len(), 2);
    let out = s
        .trust
        .run("publisher", &["trust", "revoke", &s.gun, &old_snapshot]);
    assert_success(&out);
    assert_eq!(keyids(&s.trust, &s.gun, "snapshot").len(), 1);
    assert_eq!(root_version(&s.trust, &s.gun), 5);
    verify(&s.trust);

    // The only timestamp key cannot be revoked.
    let only = keyids(&s.trust, &s.gun, "timestamp")[0].clone();
    let out = s
        .trust
        .run("publisher", &["trust", "revoke", &s.gun, &only]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("below its threshold"),
        "{}",
        stderr(&out)
    );
    assert_eq!(root_version(&s.trust, &s.gun), 5, "nothing published");
}

#[test]
fn refresh_re_signs_what_expires_soon() {
    let (_img, _registry, gun) = pushed_image();
    let trust = Trust::new();
    let out = trust.run(
        "p",
        &[
            "trust",
            "init",
            &gun,
            "--timestamp-expires-days",
            "1",
            "--snapshot-expires-days",
            "3",
        ],
    );
    assert_success(&out);
    let version = |role: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(trust.metadata(&gun, &format!("{role}.json"))).unwrap(),
        )
        .unwrap();
        v["signed"]["version"].as_u64().unwrap()
    };
    let out = trust.run("p", &["trust", "refresh", &gun, "--within-days", "7"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("snapshot, timestamp"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        (
            version("timestamp"),
            version("snapshot"),
            version("targets")
        ),
        (2, 2, 1)
    );
    let out = trust.run("p", &["trust", "refresh", &gun, "--within-days", "100000"]);
    assert_success(&out);
    assert_eq!(
        (version("root"), version("targets"), version("timestamp")),
        (2, 2, 3)
    );
    let out = trust.run("p", &["trust", "sign", &format!("{gun}:v1")]);
    assert_success(&out);
    let out = trust.run("p", &["trust", "verify", &format!("{gun}:v1")]);
    assert_success(&out);
}

#[test]
fn keys_are_listed_exported_and_imported() {
    support::require("openssl");
    let trust = Trust::new();
    let out = trust.run("p", &["trust", "init", "registry.example/team/app"]);
    assert_success(&out);
    let out = trust.run("p", &["--format", "json", "trust", "key", "list"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys["schema"], "clearance.trust.keys/v1");
    let roles: std::collections::BTreeSet<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles.into_iter().collect::<Vec<_>>(),
        ["root", "snapshot", "targets", "timestamp"]
    );
    assert!(!stdout(&out).contains("ciphertext"));

    let root_id = keyids(&trust, "registry.example/team/app", "root")[0].clone();
    let out = trust.run("p", &["trust", "key", "export", &root_id]);
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root: serde_json::Value = trust.json("registry.example/team/app", "root.json");
    assert_eq!(exported["key"], root["signed"]["keys"][&root_id]);

    for (name, args) in [
        ("ed.pem", vec!["genpkey", "-algorithm", "ed25519"]),
        (
            "p256.pem",
            vec![
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
        ),
    ] {
        let path = trust.dir.path().join(name);
        let mut all = args.clone();
        all.extend(["-out", path.to_str().unwrap()]);
        assert!(
            Command::new("openssl")
                .args(&all)
                .status()
                .unwrap()
                .success()
        );
        let mut cmd = trust.command(
            "p",
            &[
                "trust",
                "key",
                "import",
                path.to_str().unwrap(),
                "--role",
                "releases",
            ],
        );
        let out = cmd
            .env("CLEARANCE_PASSPHRASE_RELEASES", "releases passphrase")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    let out = trust.run("p", &["--format", "json", "trust", "key", "list"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["role"] == "releases")
            .count(),
        2
    );
    let bad = trust.dir.path().join("bad.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let out = trust.run(
        "p",
        &[
            "trust",
            "key",
            "import",
            bad.to_str().unwrap(),
            "--role",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PKCS#8"), "{}", stderr(&out));
}

#[test]
fn a_delegated_role_signs_only_its_paths_and_can_be_removed() {
    let s = signed_image();
    skopeo_copy(&s._img.oci_ref(), &format!("docker://{}:v2", s.gun), None);
    skopeo_copy(
        &s._img.oci_ref(),
        &format!("docker://{}:latest", s.gun),
        None,
    );
    // A role name with a `-` (its passphrase variable has `_`).
    let run = |args: &[&str]| -> Output {
        service::Trust::command(&s.trust, "publisher", args, None)
            .env("CLEARANCE_PASSPHRASE_TEAM_RELEASES", "releases passphrase")
            .output()
            .unwrap()
    };
    let out = run(&["trust", "key", "generate", "--role", "team-releases"]);
    assert_success(&out);
    let keyid = field(&out, "Generated");
    let out = run(&[
        "trust",
        "delegate",
        "add",
        &s.gun,
        "team-releases",
        "--key",
        &keyid,
        "--paths",
        "v*",
        "--terminating",
    ]);
    assert_success(&out);

    let out = run(&[
        "trust",
        "sign",
        &format!("{}:v2", s.gun),
        "--role",
        "team-releases",
    ]);
    assert_success(&out);
    let out = s.trust.verify("publisher", &format!("{}:v2", s.gun));
    assert_success(&out);
    assert_eq!(verify_json(&out)["signed_by"], "team-releases");

    // Outside its paths the role may not sign.
    let out = run(&[
        "trust",
        "sign",
        &format!("{}:latest", s.gun),
        "--role",
        "team-releases",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("may not sign"), "{}", stderr(&out));

    // Without the delegation, v2 is no longer signed; v1 (top-level) still is.
    let out = run(&["trust", "delegate", "remove", &s.gun, "team-releases"]);
    assert_success(&out);
    let out = s.trust.verify("publisher", &format!("{}:v2", s.gun));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = s
        .trust
        .run("publisher", &["trust", "verify", &format!("{}:v1", s.gun)]);
    assert_success(&out);
}

#[test]
fn a_man_in_the_middle_replaying_old_trust_metadata_is_refused() {
    let s = signed_image();
    let old_timestamp = std::fs::read(s.trust.metadata(&s.gun, "timestamp.json")).unwrap();
    let old_targets = std::fs::read(s.trust.metadata(&s.gun, "2.targets.json")).unwrap();
    // A newer signing: timestamp v3, snapshot v3, targets v3 (signing v1
    // again would publish nothing: it is already signed).
    skopeo_copy(&s._img.oci_ref(), &format!("docker://{}:v2", s.gun), None);
    let out = s
        .trust
        .run("publisher", &["trust", "sign", &format!("{}:v2", s.gun)]);
    assert_success(&out);

    // The consumer reads trust metadata over HTTP, through the proxy.
    let server = support::StaticServer::start(&s.trust.server_dir());
    let proxy = support::MitmProxy::start(server.port);
    let over_http = |home: &str| -> Output {
        let mut cmd = s.trust.command(
            home,
            &[
                "--format",
                "json",
                "trust",
                "verify",
                "--trust-on-first-use",
                &format!("{}:v1", s.gun),
            ],
        );
        cmd.env("CLEARANCE_TRUST_SERVER", format!("http://{}", proxy.host()));
        cmd.output().unwrap()
    };
    let out = over_http("consumer");
    assert_success(&out);

    // Replaying yesterday's timestamp: a rollback.
    *proxy.replay.lock().unwrap() = Some(("/timestamp.json".into(), old_timestamp));
    let out = over_http("consumer");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        verify_json(&out)["reason"]
            .as_str()
            .unwrap()
            .contains("rollback refused"),
        "{}",
        stdout(&out)
    );

    // Serving old targets under the name snapshot gives: a mix-and-match.
    *proxy.replay.lock().unwrap() = Some(("/3.targets.json".into(), old_targets));
    let out = over_http("fresh-consumer");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let reason = verify_json(&out)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("length or hash mismatch"), "{reason}");

    // With the proxy honest again, both consumers verify.
    *proxy.replay.lock().unwrap() = None;
    for home in ["consumer", "fresh-consumer"] {
        assert_eq!(over_http(home).status.code(), Some(0));
    }
}
