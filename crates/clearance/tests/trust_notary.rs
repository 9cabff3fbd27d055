//! Images signed with Docker Content Trust's tools verify with Clearance:
//! Debian's `notary` 0.7 client publishes to a real `notary-server` on
//! 127.0.0.1, the image sits in a real Distribution registry, and
//! `clearance trust verify` resolves the tag through Notary's metadata.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output};

use support::notary::{NotaryClient, NotaryServer};
use support::{
    MitmProxy, Registry, TestImage, service, skopeo_copy, skopeo_copy_with, stderr, stdout,
};

struct Setup {
    img: TestImage,
    _registry: Registry,
    notary: NotaryServer,
    publisher: NotaryClient,
    dir: tempfile::TempDir,
    /// Clearance, as a consumer with its own home.
    consumer: service::Trust,
    gun: String,
    /// The manifest of `gun:v1` exactly as the registry serves it.
    manifest: std::path::PathBuf,
}

/// The test image pushed as `team/app:v1` and `:v2`, and `v1` signed with
/// `notary add` the way `docker trust sign` signs a tag: the target is the
/// tag, its hashes and length those of the manifest.
fn notary_signed_image() -> Setup {
    let img = TestImage::build();
    let registry = Registry::start(None);
    let gun = format!("{}/team/app", registry.host());
    skopeo_copy(&img.oci_ref(), &format!("docker://{gun}:v1"), None);
    skopeo_copy(&img.oci_ref(), &format!("docker://{gun}:v2"), None);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, raw_manifest(&format!("{gun}:v1"))).unwrap();

    let notary = NotaryServer::start();
    let publisher = NotaryClient::new(&dir.path().join("notary"), &notary);
    publisher.run(&["init", &gun, "-p"]);
    publisher.run(&["add", &gun, "v1", manifest.to_str().unwrap(), "-p"]);
    let consumer = service::Trust::at(&notary.url);
    Setup {
        img,
        _registry: registry,
        notary,
        publisher,
        dir,
        consumer,
        gun,
        manifest,
    }
}

impl Setup {
    /// A delegation with a new key, as `docker trust signer add` makes one:
    /// an ECDSA key with a self-signed certificate, every path; the key is
    /// imported into the publisher's notary so it can sign as that role.
    fn delegate(&self, role: &str) {
        let name = role.replace('/', "-");
        let key = self.dir.path().join(format!("{name}.key"));
        let cert = self.dir.path().join(format!("{name}.crt"));
        let ok = Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key)
            .status()
            .unwrap();
        assert!(ok.success());
        let ok = Command::new("openssl")
            .args(["req", "-new", "-x509", "-days", "30", "-subj"])
            .arg(format!("/CN={name}"))
            .arg("-key")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .status()
            .unwrap();
        assert!(ok.success());
        let (key, cert) = (key.to_str().unwrap(), cert.to_str().unwrap());
        self.publisher.run(&[
            "delegation",
            "add",
            &self.gun,
            role,
            cert,
            "--all-paths",
            "-p",
        ]);
        self.publisher.run(&["key", "import", key, "--role", role]);
    }
}

/// A manifest exactly as the registry serves it.
fn raw_manifest(image: &str) -> Vec<u8> {
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    assert!(raw.status.success(), "{}", stderr(&raw));
    raw.stdout
}

impl Setup {
    /// `clearance --format json trust verify` as a consumer with its own
    /// home, against `server` (notary-server, or a proxy in front of it).
    fn verify(&self, server: &str, image: &str, extra: &[&str]) -> Output {
        let args = [&["--format", "json", "trust", "verify", image], extra].concat();
        self.consumer
            .command("consumer", &args, None)
            .env("CLEARANCE_TRUST_SERVER", server)
            .output()
            .unwrap()
    }
}

fn verdict(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

#[test]
fn a_tag_signed_with_notary_verifies_and_an_unsigned_one_does_not() {
    let s = notary_signed_image();
    let url = s.notary.url.clone();
    let image = format!("{}:v1", s.gun);

    // No pinned root and no trust on first use: refused, as before.
    let out = s.verify(&url, &image, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--trust-on-first-use"),
        "{}",
        stderr(&out)
    );

    let out = s.verify(&url, &image, &["--trust-on-first-use"]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["trusted"], true);
    let manifest = std::fs::read(&s.manifest).unwrap();
    assert_eq!(
        v["digest"],
        clearance_oci::Digest::sha256_of(&manifest).to_string(),
        "{v}"
    );
    assert_eq!(v["signed_by"], "targets");

    // v2 is in the registry but nobody signed it.
    let out = s.verify(&url, &format!("{}:v2", s.gun), &[]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["trusted"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("is not signed"),
        "{v}"
    );

    // Removing the signature with notary takes the tag out of trust.
    s.publisher.run(&["remove", &s.gun, "v1", "-p"]);
    let out = s.verify(&url, &image, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_notary_delegation_signs_and_replayed_or_forged_metadata_is_refused() {
    let s = notary_signed_image();
    // A release team's key, as `docker trust signer add` makes one.
    let gun = s.gun.as_str();
    s.delegate("targets/releases");
    let manifest = s.manifest.to_str().unwrap();
    s.publisher.run(&[
        "add",
        gun,
        "v2",
        manifest,
        "--roles",
        "targets/releases",
        "-p",
    ]);

    // v1 is in targets (OCI manifest); the release team signs v1 as the
    // Docker-format manifest of the same image. As with Docker Content
    // Trust, targets/releases wins.
    skopeo_copy_with(
        &s.img.oci_ref(),
        &format!("docker://{gun}:docker"),
        None,
        &["--format", "v2s2"],
    );
    let docker_manifest = s.dir.path().join("docker-manifest.json");
    std::fs::write(&docker_manifest, raw_manifest(&format!("{gun}:docker"))).unwrap();
    s.publisher.run(&[
        "add",
        gun,
        "v1",
        docker_manifest.to_str().unwrap(),
        "--roles",
        "targets/releases",
        "-p",
    ]);
    let out = s.verify(
        &s.notary.url,
        &format!("{gun}:v1"),
        &["--trust-on-first-use"],
    );
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["signed_by"], "targets/releases", "{v}");
    let docker_digest =
        clearance_oci::Digest::sha256_of(&std::fs::read(&docker_manifest).unwrap()).to_string();
    assert_eq!(v["digest"], docker_digest, "{v}");
    assert_eq!(v["media_type"], serde_json::Value::Null, "{v}");

    // inspect shows Notary's delegation as it is.
    let out = s
        .consumer
        .run("consumer", &["--format", "json", "trust", "inspect", gun]);
    let view = verdict(&out);
    assert_eq!(view["metadata_format"], "notary", "{view}");
    let releases = view["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "targets/releases")
        .unwrap_or_else(|| panic!("no targets/releases in {view}"));
    assert_eq!(releases["path_prefixes"], serde_json::json!([""]), "{view}");

    // Docker trusts only targets/releases and targets: a tag another
    // delegation signed is not trusted, though notary lists it.
    s.delegate("targets/ci");
    s.publisher
        .run(&["add", gun, "v5", manifest, "--roles", "targets/ci", "-p"]);
    let listed = s.publisher.output(&["list", gun, "--roles", "targets/ci"]);
    assert!(stdout(&listed).contains("v5"), "{}", stdout(&listed));
    let out = s.verify(&s.notary.url, &format!("{gun}:v5"), &[]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("is not signed"),
        "{v}"
    );

    // The publisher moves on after the timestamp an attacker keeps.
    let old_timestamp = s.notary.get(gun, "timestamp.json");
    s.publisher.run(&["add", gun, "v3", manifest, "-p"]);

    // Through a proxy that can replay or forge what notary-server serves.
    let proxy = MitmProxy::start(s.notary.port);
    let url = format!("http://{}", proxy.host());
    let out = s.verify(&url, &format!("{gun}:v2"), &["--trust-on-first-use"]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["signed_by"], "targets/releases", "{v}");

    // Having trusted the newer timestamp, the older one is a rollback.
    *proxy.replay.lock().unwrap() = Some(("/timestamp.json".into(), old_timestamp));
    let out = s.verify(&url, &format!("{gun}:v3"), &[]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("rollback refused"),
        "{v}"
    );

    // A forged releases role, once it has a new version the consumer has
    // not stored: same length, one target name changed.
    *proxy.replay.lock().unwrap() = None;
    s.publisher.run(&[
        "add",
        gun,
        "v4",
        manifest,
        "--roles",
        "targets/releases",
        "-p",
    ]);
    let releases = s.notary.get(gun, "targets/releases.json");
    let forged = String::from_utf8(releases)
        .unwrap()
        .replacen("\"v2\"", "\"v9\"", 1);
    *proxy.replay.lock().unwrap() = Some(("/targets/releases.json".into(), forged.into_bytes()));
    let out = s.verify(&url, &format!("{gun}:v9"), &[]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("hash mismatch"),
        "{v}"
    );

    // With the proxy out of the way, the current metadata verifies again.
    *proxy.replay.lock().unwrap() = None;
    let out = s.verify(&url, &format!("{gun}:v4"), &[]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["signed_by"], "targets/releases", "{v}");
    let out = s.verify(&url, &format!("{gun}:v3"), &[]);
    assert_eq!(verdict(&out)["signed_by"], "targets", "{}", stdout(&out));
}
