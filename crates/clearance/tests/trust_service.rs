//! The trust service (`clearance serve --trust`) end to end: publishers
//! sign through it, consumers verify from it, it holds the timestamp key and
//! re-signs it, it refuses what does not verify, serialises concurrent
//! publishes, survives a crash, and keeps private repositories private.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use clearance_trust::time::UtcTime;
use support::service::{Trust, get, get_json, json, metadata_url, post, pushed, sign_concurrently};
use support::{TrustServer, assert_success, both, require, skopeo_copy, stderr, stdout};

fn verify_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// `team/app:v1` pushed, a service started (with this configuration), and
/// the tag initialised and signed through it by "publisher".
struct SignedV1 {
    _img: support::TestImage,
    _registry: support::Registry,
    _data: tempfile::TempDir,
    server: TrustServer,
    trust: Trust,
    gun: String,
}

fn signed_v1(config: Option<&str>) -> SignedV1 {
    let (img, registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), config, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    assert_success(&trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]));
    SignedV1 {
        _img: img,
        _registry: registry,
        _data: data,
        server,
        trust,
        gun,
    }
}

#[test]
fn tags_signed_through_the_service_verify_and_the_service_holds_the_timestamp_key() {
    // Kept whole: its registry and data directory live as long as it does.
    let setup = signed_v1(None);
    let (server, trust, gun) = (&setup.server, &setup.trust, setup.gun.clone());

    // A consumer pinning the publisher's root verifies through the service.
    let root = trust.trusted_root("publisher", &gun);
    let out = trust.run(
        "consumer",
        &[
            "--format",
            "json",
            "trust",
            "verify",
            "--root",
            root.to_str().unwrap(),
            &format!("{gun}:v1"),
        ],
    );
    assert_success(&out);
    assert_eq!(verify_json(&out)["trusted"], true);

    // Timestamp is signed by the service's key, which root names and the
    // publisher never had.
    let base = metadata_url(&server.url, &gun);
    let (status, root_bytes) = get(&format!("{base}root.json"));
    assert_eq!(status, 200);
    let root_doc = json(&root_bytes);
    let ts_keyid = root_doc["signed"]["roles"]["timestamp"]["keyids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, ts) = get(&format!("{base}timestamp.json"));
    let ts = json(&ts);
    assert_eq!(ts["signatures"][0]["keyid"], ts_keyid.as_str());
    let (status, key) = get(&format!("{base}timestamp.key"));
    assert_eq!(status, 200);
    assert_eq!(
        json(&key)["keyval"]["public"],
        root_doc["signed"]["keys"][&ts_keyid]["keyval"]["public"]
    );
    let out = trust.run("publisher", &["--format", "json", "trust", "key", "list"]);
    assert_success(&out);
    assert!(
        !stdout(&out).contains(&ts_keyid),
        "the timestamp key must stay on the service"
    );

    // Every version is kept and served by version and by hash.
    let (status, v1) = get(&format!("{base}1.targets.json"));
    assert_eq!(status, 200);
    let (status, v2) = get(&format!("{base}2.targets.json"));
    assert_eq!(status, 200);
    assert_ne!(v1, v2);
    let (_, current) = get(&format!("{base}targets.json"));
    assert_eq!(current, v2);
    let hash = {
        use std::io::Write as _;
        let mut child = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&v1).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_owned()
    };
    let (status, by_hash) = get(&format!("{base}targets.{hash}.json"));
    assert_eq!(status, 200);
    assert_eq!(by_hash, v1);
    let (status, _) = get(&format!("{base}9.targets.json"));
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{}/v2/{gun}/_trust/tuf/root.key", server.url));
    assert_eq!(status, 404, "the service never holds a root key");
}

#[test]
fn a_refused_publish_leaves_the_repository_exactly_as_it_was() {
    // Kept whole: its registry and data directory live as long as it does.
    let setup = signed_v1(None);
    let (server, trust, gun) = (&setup.server, &setup.trust, setup.gun.clone());
    let base = metadata_url(&server.url, &gun);
    // Names outside the OCI grammar never reach the store.
    for bad in ["Team/App", "team/%2E%2E/app", "team//app"] {
        let (status, body) = get(&format!("{}/v2/{bad}/_trust/tuf/root.json", server.url));
        assert_eq!(status, 400, "{bad}");
        assert!(
            String::from_utf8_lossy(&body).contains("NAME_INVALID"),
            "{bad}"
        );
    }
    let before: Vec<Vec<u8>> = ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .map(|r| get(&format!("{base}{r}.json")).1)
        .collect();
    let work = tempfile::tempdir().unwrap();

    // Targets with a tag repointed and the version raised, not re-signed.
    let mut doc = json(&before[1]);
    let version = doc["signed"]["version"].as_u64().unwrap();
    doc["signed"]["version"] = (version + 1).into();
    doc["signed"]["targets"]["v1"]["hashes"]["sha256"] = "00".repeat(32).into();
    let tampered = work.path().join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (status, body) = post(&base, &[("targets", &tampered)]);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let message = json(&body)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("targets"), "{message}");
    assert!(message.contains("signed by 0 of the 1 keys"), "{message}");

    // The current targets again: not newer, so refused as stale (409).
    let same = work.path().join("same.json");
    std::fs::write(&same, &before[1]).unwrap();
    let (status, body) = post(&base, &[("targets", &same)]);
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not newer"));

    // A role nobody delegated.
    let (status, body) = post(&base, &[("targets/evil", &same)]);
    assert_eq!(status, 400);
    assert!(
        String::from_utf8_lossy(&body).contains("not delegated"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    // Not JSON at all, and a root that is not signed by the current root.
    let junk = work.path().join("junk.json");
    std::fs::write(&junk, b"{not json").unwrap();
    assert_eq!(post(&base, &[("targets", &junk)]).0, 400);
    let mut root = json(&before[0]);
    root["signed"]["version"] = 2.into();
    let forged = work.path().join("root.json");
    std::fs::write(&forged, serde_json::to_vec(&root).unwrap()).unwrap();
    assert_eq!(post(&base, &[("root", &forged)]).0, 400);

    let after: Vec<Vec<u8>> = ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .map(|r| get(&format!("{base}{r}.json")).1)
        .collect();
    assert!(before == after, "a refused publish changed stored metadata");
    let out = trust.run("publisher", &["trust", "verify", &format!("{gun}:v1")]);
    assert_success(&out);
}

#[test]
fn concurrent_signers_are_serialised_and_every_tag_lands() {
    let tags = ["v1", "v2", "v3", "v4"];
    let (_img, _registry, gun) = pushed("team/app", &tags);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    sign_concurrently(&trust, &gun, &tags);
    let (_, targets) = get(&format!("{}targets.json", metadata_url(&server.url, &gun)));
    let targets = json(&targets);
    assert_eq!(targets["signed"]["version"], 1 + tags.len() as u64);
    assert_eq!(
        targets["signed"]["targets"].as_object().unwrap().len(),
        tags.len()
    );
}

fn auth_config(dir: &Path) -> String {
    require("htpasswd");
    let users = dir.join("users");
    let out = Command::new("htpasswd")
        .args(["-Bbn", "alice", "alice-secret"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&users, &out.stdout).unwrap();
    format!(
        r#"
[auth]
users = "{}"

[[auth.access]]
repositories = "**"
users = ["alice"]
actions = ["pull", "push"]

[[auth.access]]
repositories = "*/public/**"
anonymous = ["pull"]
"#,
        users.display()
    )
}

#[test]
fn without_a_token_nothing_is_published_and_private_repositories_are_not_read() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let registry_host = gun.split('/').next().unwrap().to_owned();
    let public = format!("{registry_host}/public/app");
    skopeo_copy(&_img.oci_ref(), &format!("docker://{public}:v1"), None);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), Some(&auth_config(data.path())), &[]);
    let trust = Trust::new(&server);

    let out = trust.run("publisher", &["trust", "init", &gun]);
    assert!(!out.status.success(), "init without a login must fail");
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    let out = trust.run_as("publisher", "alice:wrong", &["trust", "init", &gun]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refused the credentials"),
        "{}",
        stderr(&out)
    );

    let alice = "alice:alice-secret";
    assert_success(&trust.run_as("publisher", alice, &["trust", "init", &gun]));
    assert_success(&trust.run_as("publisher", alice, &["trust", "sign", &format!("{gun}:v1")]));

    // Reading the private repository needs a login too.
    let (status, body) = get(&format!(
        "{}timestamp.json",
        metadata_url(&server.url, &gun)
    ));
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    let headers = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null"])
        .arg(format!("{}timestamp.json", metadata_url(&server.url, &gun)))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout).to_ascii_lowercase();
    assert!(
        headers.contains(&format!(
            "www-authenticate: bearer realm=\"{}/token\",service=\"clearance\",scope=\"repository:{gun}:pull\"",
            server.url
        )),
        "{headers}"
    );
    let tofu = ["trust", "verify", "--trust-on-first-use"];
    let image = format!("{gun}:v1");
    let out = trust.run("stranger", &[&tofu[..], &[image.as_str()]].concat());
    assert!(
        !out.status.success(),
        "a private repository was read anonymously"
    );
    assert_success(&trust.run_as("reader", alice, &[&tofu[..], &[image.as_str()]].concat()));

    // A public repository: alice publishes, anyone verifies.
    assert_success(&trust.run_as("publisher", alice, &["trust", "init", &public]));
    assert_success(&trust.run_as(
        "publisher",
        alice,
        &["trust", "sign", &format!("{public}:v1")],
    ));
    let public_image = format!("{public}:v1");
    assert_success(&trust.run("stranger", &[&tofu[..], &[public_image.as_str()]].concat()));
    // …but cannot publish to it.
    let (status, _) = post(
        &metadata_url(&server.url, &public),
        &[("targets", &data.path().join("users"))],
    );
    assert_eq!(status, 401);
}

/// The current timestamp's version and expiry, as served.
fn served_timestamp(server: &TrustServer, gun: &str) -> (u64, UtcTime) {
    let ts = get_json(&format!("{}timestamp.json", metadata_url(&server.url, gun)));
    let version = ts["signed"]["version"].as_u64().unwrap();
    (
        version,
        ts["signed"]["expires"].as_str().unwrap().parse().unwrap(),
    )
}

/// Review A.6: the service's clock is set (`CLEARANCE_TEST_NOW`, read only
/// by test builds), not waited for.
#[test]
fn the_service_re_signs_timestamps_before_they_expire() {
    // Kept whole: its registry and data directory live as long as it does.
    let mut setup = signed_v1(Some("[trust]\nresign_interval = \"1s\"\n"));
    let gun = setup.gun.clone();
    let (first, expires) = served_timestamp(&setup.server, &gun);

    // Restarted an hour before that expiry, inside the re-signing window
    // (half the 14-day lifetime): the service re-signs by its own clock.
    let data = setup.server.data_dir.clone();
    setup.server.kill();
    let now = expires.plus_seconds(-3600);
    let server = TrustServer::start_with_env(
        &data,
        Some("[trust]\nresign_interval = \"1s\"\n"),
        &["--no-auth"],
        &[("CLEARANCE_TEST_NOW", &now.to_string())],
    );
    setup.trust.url = server.url.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (second, renewed) = loop {
        let (version, renewed) = served_timestamp(&server, &gun);
        if version > first {
            break (version, renewed);
        }
        assert!(
            Instant::now() < deadline,
            "timestamp was not re-signed\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(second, first + 1);
    assert_eq!(renewed, now.plus_seconds(14 * 86_400));

    // Past the first expiry, only the re-signed timestamp verifies.
    let later = expires.plus_seconds(3600).to_string();
    let out = setup
        .trust
        .command(
            "publisher",
            &["trust", "verify", &format!("{gun}:v1")],
            None,
        )
        .env("CLEARANCE_TEST_NOW", &later)
        .output()
        .unwrap();
    assert_success(&out);
}

/// Review A.6: the service crashes (SIGABRT) after each row of a publish in
/// turn, on SQLite; see `crash_mid_publish_at_every_row`.
#[test]
fn a_crash_mid_publish_leaves_the_previous_version_served() {
    support::service::crash_mid_publish_at_every_row(&["--no-auth"]);
}

/// Review A.6: the client's clock is set (`CLEARANCE_TEST_NOW`), not
/// waited for: a second before the timestamp expires it verifies, at the
/// expiry it refuses, and stores nothing.
#[test]
fn a_frozen_service_serving_an_expired_timestamp_is_refused() {
    // The service never re-signs in time: it is frozen.
    let config = r#"
[trust]
resign_interval = "1h"
"#;
    // Kept whole: its registry and data directory live as long as it does.
    let setup = signed_v1(Some(config));
    let (trust, gun) = (&setup.trust, setup.gun.clone());
    let image = format!("{gun}:v1");
    let (_, expires) = served_timestamp(&setup.server, &gun);
    let verify_at = |at: UtcTime| {
        trust
            .command("publisher", &["trust", "verify", &image], None)
            .env("CLEARANCE_TEST_NOW", at.to_string())
            .output()
            .unwrap()
    };
    assert_success(&verify_at(expires.plus_seconds(-1)));
    let stored = trust
        .trusted_root("publisher", &gun)
        .with_file_name("timestamp.json");
    let before = std::fs::read(&stored).unwrap();
    let out = verify_at(expires);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let said = both(&out);
    assert!(said.contains("timestamp metadata expired"), "{said}");
    assert!(said.contains("frozen or stale"), "{said}");
    // Nothing untrusted was stored.
    assert_eq!(std::fs::read(&stored).unwrap(), before);
}

#[test]
fn the_service_serves_https_and_refuses_plain_http_off_loopback() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    let ca = support::TestCa::new();
    let config = format!(
        "[trust]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n{}",
        ca.leaf_cert.display(),
        ca.leaf_key.display(),
        auth_config(data.path())
    );
    let server = TrustServer::start(data.path(), Some(&config), &[]);
    let https = server.url.replacen("http://", "https://", 1);
    let trust = Trust::at(&https);
    let alice = "alice:alice-secret";
    let ca_file = ca.ca_cert.to_str().unwrap();

    // Without the CA, the service's certificate is not trusted: no login is sent.
    let out = trust.run_as("publisher", alice, &["trust", "init", &gun]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).to_lowercase().contains("certificate"),
        "{}",
        stderr(&out)
    );
    let with_ca = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(&["--trust-ca-file", ca_file])
            .map(|a| (*a).to_owned())
            .collect()
    };
    assert_success(&trust.run_as(
        "publisher",
        alice,
        &refs(&with_ca(&["trust", "init", &gun])),
    ));
    assert_success(&trust.run_as(
        "publisher",
        alice,
        &refs(&with_ca(&["trust", "sign", &format!("{gun}:v1")])),
    ));
    let image = format!("{gun}:v1");
    let out = trust.run_as(
        "consumer",
        alice,
        &refs(&with_ca(&[
            "--format",
            "json",
            "trust",
            "verify",
            "--trust-on-first-use",
            &image,
        ])),
    );
    assert_success(&out);
    assert_eq!(verify_json(&out)["trusted"], true);

    // The token challenge names the https realm; plain HTTP gets no answer.
    let headers = Command::new("curl")
        .args([
            "-s",
            "--noproxy",
            "*",
            "--cacert",
            ca_file,
            "-D",
            "-",
            "-o",
            "/dev/null",
        ])
        .arg(format!("{}timestamp.json", metadata_url(&https, &gun)))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout).to_ascii_lowercase();
    assert!(
        headers.contains(&format!("bearer realm=\"{https}/token\"")),
        "{headers}"
    );
    let (status, _) = get(&format!("{}/v2/", server.url));
    assert_eq!(status, 0, "plain HTTP was answered on the HTTPS port");

    // Off loopback, plain HTTP is refused before anything listens.
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve", "--trust", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(data.path().join("other"))
        .arg("--users")
        .arg(data.path().join("users"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tls-cert"), "{}", stderr(&out));
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn the_service_rotates_the_timestamp_key_it_holds_and_consumers_follow() {
    let setup = signed_v1(None);
    let (server, trust, gun) = (&setup.server, &setup.trust, setup.gun.clone());
    let base = metadata_url(&server.url, &gun);
    let root = trust.trusted_root("publisher", &gun);
    let verify = |home: &str| {
        trust.run(
            home,
            &[
                "trust",
                "verify",
                "--root",
                root.to_str().unwrap(),
                &format!("{gun}:v1"),
            ],
        )
    };
    assert_success(&verify("consumer"));
    let timestamp_keys = || -> Vec<String> {
        let root = json(&get(&format!("{base}root.json")).1);
        serde_json::from_value(root["signed"]["roles"]["timestamp"]["keyids"].clone()).unwrap()
    };
    let signed_by =
        || json(&get(&format!("{base}timestamp.json")).1)["signatures"][0]["keyid"].clone();
    let old = timestamp_keys();

    // A rotation started but not published changes nothing that is served.
    let (status, pending) = post(&format!("{base}timestamp.key"), &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pending));
    let (_, served) = get(&format!("{base}timestamp.key"));
    assert_ne!(json(&served), json(&pending));
    assert_success(&trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]));
    assert_eq!(signed_by(), old[0].as_str());

    // `trust rotate … timestamp`: the service makes the key, root names it,
    // the service signs with it from that publish on.
    let out = trust.run("publisher", &["trust", "rotate", &gun, "timestamp"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("the trust service"),
        "{}",
        stdout(&out)
    );
    let new = timestamp_keys();
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    assert_eq!(signed_by(), new[0].as_str());
    let root_doc = json(&get(&format!("{base}root.json")).1);
    let (_, served) = get(&format!("{base}timestamp.key"));
    assert_eq!(
        json(&served)["keyval"]["public"],
        root_doc["signed"]["keys"][&new[0]]["keyval"]["public"]
    );
    let out = trust.run("publisher", &["--format", "json", "trust", "key", "list"]);
    assert!(
        !stdout(&out).contains(&new[0]),
        "the new key stays on the service"
    );

    // The consumer who trusted the old root follows the rotation.
    assert_success(&verify("consumer"));
    assert_success(&trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]));
    assert_success(&verify("consumer"));

    // Only the roles it holds, and only once it holds them.
    let (status, _) = post(&format!("{base}targets.key"), &[]);
    assert_eq!(status, 404);
    let (status, body) = post(
        &metadata_url(
            &server.url,
            &format!("{}/team/other", gun.split('/').next().unwrap()),
        )
        .replace("/_trust/tuf/", "/_trust/tuf/timestamp.key"),
        &[],
    );
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}
