//! The trust commands against the review's findings (2026-11, part B), end
//! to end with the real binary: each test is named after the finding it
//! guards. Peers (Distribution, the trust service, SoftHSM2) run on
//! 127.0.0.1 as in the other trust tests.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::service::field;
use support::{SOFTHSM_MODULE, assert_success, both, clearance, service, softhsm, stderr, stdout};

#[test]
fn b18_expiry_days_must_be_between_1_and_36500() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!("file://{}", dir.path().display());
    for (flag, value) in [
        ("--root-expires-days", "-1"),
        ("--timestamp-expires-days", "0"),
        ("--targets-expires-days", "36501"),
        ("--snapshot-expires-days", "99999999999999999999"),
    ] {
        let out = clearance(&[
            "trust",
            "init",
            "--server",
            &server,
            &format!("{flag}={value}"),
            "127.0.0.1:5000/team/app",
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("1 to 36500"),
            "{flag} {value}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn b2_the_trust_login_is_never_sent_over_plain_http_off_loopback() {
    // Refused before any connection: nothing here reaches the network.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args([
            "trust",
            "verify",
            "--server",
            "http://trust.example.invalid:4443",
            "--trust-on-first-use",
            "trust.example.invalid/team/app:v1",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("CLEARANCE_HOME", home.path())
        .env("CLEARANCE_TRUST_CREDS", "alice:s3cret-pass")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing plain HTTP to trust.example.invalid:4443")
            && stderr(&out).contains("--insecure-trust-server"),
        "{}",
        stderr(&out)
    );
}

/// Two file:// repositories initialised by "publisher": (trust, gun A, gun B).
fn two_repositories() -> (service::Trust, String, String) {
    let trust = service::Trust::file();
    let (a, b) = (
        "127.0.0.1:5000/team/a".to_owned(),
        "127.0.0.1:5000/team/b".to_owned(),
    );
    for gun in [&a, &b] {
        assert_success(&trust.run("publisher", &["trust", "init", gun]));
    }
    (trust, a, b)
}

/// `trust verify` of an unsigned tag of `gun` as `home` with these flags:
/// exit 1 ("not signed") once the repository verifies; nothing is fetched
/// from a registry.
fn verify(trust: &service::Trust, home: &str, gun: &str, flags: &[&str]) -> Output {
    let image = format!("{gun}:v1");
    let mut args = vec!["trust", "verify"];
    args.extend_from_slice(flags);
    args.push(&image);
    trust.run(home, &args)
}

fn pinned(trust: &service::Trust, home: &str, gun: &str) -> Option<Vec<u8>> {
    let path = trust
        .dir
        .path()
        .join(home)
        .join("trust/tuf")
        .join(clearance_trust::client::quote(gun))
        .join("root.json");
    std::fs::read(path).ok()
}

#[test]
fn b4_a_root_is_pinned_only_after_the_repository_verifies_from_it() {
    let (trust, a, b) = two_repositories();
    let root_a = trust.trusted_root("publisher", &a);
    let root_b = trust.trusted_root("publisher", &b);

    // A's root for B (it names A, and B's metadata does not verify from it):
    // refused, nothing is pinned.
    let out = verify(
        &trust,
        "consumer",
        &b,
        &["--root", root_a.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("is for the repository {a}, not {b}")),
        "{}",
        stderr(&out)
    );
    assert!(
        pinned(&trust, "consumer", &b).is_none(),
        "a root that failed is pinned"
    );

    // B's own root, but B's timestamp tampered with: the update fails, nothing
    // is pinned.
    let timestamp = trust
        .dir
        .path()
        .join("server/v2")
        .join(&b)
        .join("_trust/tuf/timestamp.json");
    let good = std::fs::read(&timestamp).unwrap();
    let bad = String::from_utf8(good.clone())
        .unwrap()
        .replace("\"version\":1", "\"version\":7");
    std::fs::write(&timestamp, bad).unwrap();
    let out = verify(
        &trust,
        "consumer",
        &b,
        &["--root", root_b.to_str().unwrap()],
    );
    assert!(stdout(&out).contains("not trusted"), "{}", stdout(&out));
    assert!(
        pinned(&trust, "consumer", &b).is_none(),
        "pinned before it verified"
    );
    std::fs::write(&timestamp, good).unwrap();

    // B's own root: the repository verifies (the tag is just not signed), pinned.
    let out = verify(
        &trust,
        "consumer",
        &b,
        &["--root", root_b.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stdout(&out).contains("is not signed"), "{}", stdout(&out));
    assert!(pinned(&trust, "consumer", &b) == Some(std::fs::read(&root_b).unwrap()));
}

#[test]
fn b4_a_different_root_while_one_is_pinned_is_an_error_until_repinned() {
    let (trust, a, b) = two_repositories();
    let root_a = trust.trusted_root("publisher", &a);
    let root_b = trust.trusted_root("publisher", &b);
    let key_of = |path: &std::path::Path| {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        doc["signed"]["roles"]["root"]["keyids"][0]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Pinned on first use (as a CI job on a network someone else controlled might).
    let out = verify(&trust, "ci", &b, &["--trust-on-first-use"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let before = pinned(&trust, "ci", &b).unwrap();

    // Later the team adds --root with another root: refused, naming both keys.
    let out = verify(&trust, "ci", &b, &["--root", root_a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&key_of(&root_a)) && err.contains(&key_of(&root_b)) && err.contains("--repin"),
        "{err}"
    );
    assert!(
        pinned(&trust, "ci", &b).unwrap() == before,
        "the pin changed"
    );

    // --repin with a root B does not verify from: refused, the old pin kept.
    let out = verify(
        &trust,
        "ci",
        &b,
        &["--repin", "--root", root_a.to_str().unwrap()],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        pinned(&trust, "ci", &b).unwrap() == before,
        "the pin changed"
    );

    // The same root again is fine; a missing --root file is always an error.
    let out = verify(&trust, "ci", &b, &["--root", root_b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = verify(&trust, "ci", &b, &["--root", "/nonexistent/root.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/root.json"),
        "{}",
        stderr(&out)
    );

    // --repin with a root the repository verifies from replaces the pin.
    let out = verify(
        &trust,
        "ci",
        &b,
        &["--repin", "--root", root_b.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(pinned(&trust, "ci", &b) == Some(std::fs::read(&root_b).unwrap()));
}

#[test]
fn b12_file_repositories_are_verified_before_anything_is_signed_again() {
    let trust = service::Trust::file();
    let gun = "127.0.0.1:5000/team/app";
    assert_success(&trust.run("publisher", &["trust", "init", gun]));
    let tuf = trust
        .dir
        .path()
        .join("server/v2")
        .join(gun)
        .join("_trust/tuf");
    // Someone who can write to the shared directory slips a target in.
    for name in ["targets.json", "1.targets.json"] {
        let path = tuf.join(name);
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        doc["signed"]["targets"]["evil"] = serde_json::json!({
            "length": 2,
            "hashes": {"sha256": "a".repeat(64)},
        });
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    }
    // Re-signing everything (targets included) must not launder it.
    let out = trust.run(
        "publisher",
        &["trust", "refresh", gun, "--within-days", "100000"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("verifying the current trust data"),
        "{}",
        stderr(&out)
    );
    assert!(
        !tuf.join("2.targets.json").exists(),
        "targets was signed again"
    );

    // Untampered, the same refresh goes through.
    let trust = service::Trust::file_initialised(gun);
    assert_success(&trust.run(
        "publisher",
        &["trust", "refresh", gun, "--within-days", "100000"],
    ));
}

#[test]
fn b6_sign_pins_the_built_digest_and_refuses_a_re_pointed_tag() {
    let (img, _registry, gun) = service::pushed("team/app", &["v1"]);
    let trust = service::Trust::file();
    assert_success(&trust.run("p", &["trust", "init", &gun]));
    let image = format!("{gun}:v1");

    // By tag alone: signed, with a warning naming the digest to pin.
    let out = trust.run("p", &["trust", "sign", &image]);
    assert_success(&out);
    let built = field(&out, "Digest");
    assert!(
        stderr(&out).contains("warning: signing") && stderr(&out).contains(&format!("@{built}")),
        "{}",
        stderr(&out)
    );

    // The tag is re-pointed (here: the same image as Docker schema 2).
    support::skopeo_copy_with(
        &img.oci_ref(),
        &format!("docker://{image}"),
        None,
        &["--format", "v2s2"],
    );
    let out = trust.run("p", &["trust", "sign", &format!("{image}@{built}")]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!("not at {built}"))
            && stderr(&out).contains("refusing to sign"),
        "{}",
        stderr(&out)
    );

    // The digest the tag now has, pinned with --digest: signed, no warning.
    let out = trust.run("p", &["trust", "sign", &image]);
    let now = field(&out, "Digest");
    assert_ne!(now, built);
    let out = trust.run("p", &["trust", "sign", &image, "--digest", &now]);
    assert_success(&out);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let out = trust.run("p", &["--format", "json", "trust", "verify", &image]);
    assert_success(&out);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["digest"], now.as_str());
}

#[test]
fn b7_token_root_keys_are_per_repository_and_a_rotation_needs_a_new_key() {
    let trust = service::Trust::file();
    let conf = softhsm(&trust.dir.path().join("hsm"));
    let with_hsm = |args: &[&str]| -> Output {
        trust
            .command("publisher", args, None)
            .env("SOFTHSM2_CONF", &conf)
            .env("CLEARANCE_PKCS11_MODULE", SOFTHSM_MODULE)
            .output()
            .unwrap()
    };
    let root_key = |gun: &str| -> String {
        let path = trust.trusted_root("publisher", gun);
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(
            doc["signed"]["clearance_repository"], gun,
            "root names its repository"
        );
        doc["signed"]["roles"]["root"]["keyids"][0]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let token = "pkcs11:token=clearance?pin-value=1234";
    let (a, b) = ("127.0.0.1:5000/team/a", "127.0.0.1:5000/team/b");

    // Without object=, each repository gets its own key on the token.
    for gun in [a, b] {
        let out = with_hsm(&["trust", "init", gun, "--root-key", token]);
        assert_success(&out);
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }
    assert_ne!(root_key(a), root_key(b));

    // A label shared on purpose works, with a warning the second time.
    let shared = "pkcs11:token=clearance;object=shared?pin-value=1234";
    let (c, d) = ("127.0.0.1:5000/team/c", "127.0.0.1:5000/team/d");
    assert_success(&with_hsm(&["trust", "init", c, "--root-key", shared]));
    let out = with_hsm(&["trust", "init", d, "--root-key", shared]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("warning: token clearance already holds the key shared"),
        "{}",
        stderr(&out)
    );
    assert_eq!(root_key(c), root_key(d));

    // Rotating A's root to the key it already has is refused, nothing published.
    let hash = clearance_oci::Digest::sha256_of(a.as_bytes());
    let current = format!(
        "pkcs11:token=clearance;object=clearance-root-{}?pin-value=1234",
        &hash.hex()[..16]
    );
    let rotate = |new: &str| {
        with_hsm(&[
            "trust",
            "rotate",
            a,
            "root",
            "--root-key",
            token,
            "--new-root-key",
            new,
        ])
    };
    let out = rotate(&current);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("root already has key"),
        "{}",
        stderr(&out)
    );
    let tuf = trust
        .dir
        .path()
        .join("server/v2")
        .join(a)
        .join("_trust/tuf");
    assert!(!tuf.join("2.root.json").exists());

    // Without object=, the rotation brings in a new key labelled for root v2.
    let before = root_key(a);
    let out = rotate(token);
    assert_success(&out);
    assert!(tuf.join("2.root.json").exists());
    let v2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tuf.join("2.root.json")).unwrap()).unwrap();
    assert_ne!(v2["signed"]["roles"]["root"]["keyids"][0], before.as_str());
}

#[test]
fn verify_of_tag_at_digest_checks_the_digest_against_the_signed_one() {
    // From a hostile review: `verify app:1.0@sha256:X` said "trusted" for
    // any X, so `verify … && docker run app:1.0@X` ran an unsigned image.
    let (_img, _registry, gun) = service::pushed("team/app", &["v1"]);
    let trust = service::Trust::file();
    assert_success(&trust.run("p", &["trust", "init", &gun]));
    let image = format!("{gun}:v1");
    let out = trust.run("p", &["trust", "sign", &image]);
    assert_success(&out);
    let signed = field(&out, "Digest");
    let other = format!("sha256:{}", "7".repeat(64));
    let out = trust.run("p", &["trust", "verify", &format!("{image}@{other}")]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stdout(&out).contains("not trusted") && stdout(&out).contains(&other),
        "{}",
        stdout(&out)
    );
    assert_success(&trust.run("p", &["trust", "verify", &format!("{image}@{signed}")]));
}
