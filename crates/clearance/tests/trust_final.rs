//! The trust CLI and service against the final new-user break-it run
//! (review 14), end to end with the real binary: each test is named after
//! the finding it guards (`f14_1_…` is finding 1). Everything runs on
//! 127.0.0.1 or in a `file://` repository.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::service::{Trust, pushed, sign_concurrently};
use support::{SOFTHSM_MODULE, assert_success, both, softhsm, stderr, stdout};

#[test]
fn f14_1_concurrent_signs_of_a_directory_repository_all_land() {
    let tags = ["v1", "v2", "v3", "v4"];
    let (_img, _registry, gun) = pushed("team/app", &tags);
    let trust = Trust::file_initialised(&gun);
    sign_concurrently(&trust, &gun, &tags);
    let tuf = trust
        .dir
        .path()
        .join("server/v2")
        .join(&gun)
        .join("_trust/tuf");
    let targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tuf.join("targets.json")).unwrap()).unwrap();
    let version = targets["signed"]["version"].as_u64().unwrap();
    assert_eq!(version, 1 + tags.len() as u64, "{targets}");
    assert_eq!(
        std::fs::read(tuf.join(format!("{version}.targets.json"))).unwrap(),
        std::fs::read(tuf.join("targets.json")).unwrap()
    );
    assert_eq!(
        targets["signed"]["targets"].as_object().unwrap().len(),
        tags.len()
    );
}

/// A TCP listener on 127.0.0.1 that takes connections and never answers;
/// its URL.
fn stalled_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn f14_2_a_stalled_trust_server_is_given_up_after_timeout() {
    let url = stalled_server();
    let trust = Trust::at(&url);
    let gun = "127.0.0.1:9/team/app";
    let image = format!("{gun}:v1");
    for args in [
        vec!["trust", "init", gun, "--timeout", "2"],
        vec![
            "trust",
            "verify",
            "--trust-on-first-use",
            &image,
            "--timeout",
            "2",
        ],
    ] {
        let started = std::time::Instant::now();
        let out = trust.run("publisher", &args);
        let took = started.elapsed();
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?}: {}", both(&out));
        assert!(
            took < std::time::Duration::from_secs(15),
            "{args:?} took {took:?}: {err}"
        );
        assert!(
            err.contains(&format!("the trust server at {url}"))
                && err.contains("did not answer within 2 s")
                && !err.contains("cannot reach"),
            "{args:?}: {err}"
        );
    }
}

/// `trust inspect --format json` of `gun`: each role's `expires_in_days`
/// by name.
fn days_left(trust: &Trust, home: &str, gun: &str) -> std::collections::BTreeMap<String, i64> {
    let out = trust.run(home, &["--format", "json", "trust", "inspect", gun]);
    assert_success(&out);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    view["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            Some((
                r["name"].as_str()?.to_owned(),
                r["expires_in_days"].as_i64()?,
            ))
        })
        .collect()
}

#[test]
fn f14_3_lifetimes_chosen_at_init_are_kept_when_roles_are_signed_again() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file();
    assert_success(&trust.run(
        "publisher",
        &[
            "trust",
            "init",
            gun,
            "--root-expires-days",
            "400",
            "--targets-expires-days",
            "30",
            "--snapshot-expires-days",
            "20",
            "--timestamp-expires-days",
            "3",
        ],
    ));
    let want = [
        ("root", 400),
        ("targets", 30),
        ("snapshot", 20),
        ("timestamp", 3),
    ];
    let check = |when: &str| {
        let left = days_left(&trust, "publisher", gun);
        for (role, days) in want {
            let got = left[role];
            assert!(
                got == days || got == days - 1,
                "{when}: {role} expires in {got} days, not {days}: {left:?}"
            );
        }
    };
    check("after init");
    // Everything is due: every role is signed again.
    let out = trust.run(
        "publisher",
        &[
            "--format",
            "json",
            "trust",
            "refresh",
            gun,
            "--within-days",
            "1000",
        ],
    );
    assert_success(&out);
    check("after refresh");
}

#[test]
fn f14_4_refresh_signs_only_what_is_due_and_says_so() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file();
    assert_success(&trust.run(
        "publisher",
        &["trust", "init", gun, "--targets-expires-days", "2"],
    ));
    let refresh = |days: &str, without: &[&str]| {
        let mut cmd = trust.command(
            "publisher",
            &[
                "--format",
                "json",
                "trust",
                "refresh",
                gun,
                "--within-days",
                days,
            ],
            None,
        );
        for role in without {
            cmd.env_remove(format!("CLEARANCE_PASSPHRASE_{role}"));
        }
        let out = cmd.output().unwrap();
        assert_success(&out);
        let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        view["resigned"].clone()
    };
    // Nothing is due: nothing is signed, and no passphrase is asked for.
    assert_eq!(
        refresh("0", &["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"]),
        serde_json::json!([])
    );
    // Targets is due: it is signed, and snapshot and timestamp with it.
    assert_eq!(
        refresh("3", &["ROOT"]),
        serde_json::json!(["targets", "snapshot", "timestamp"])
    );

    // Only timestamp is due: only timestamp is signed.
    let gun = "127.0.0.1:9/team/other";
    assert_success(&trust.run(
        "publisher",
        &["trust", "init", gun, "--timestamp-expires-days", "1"],
    ));
    let out = trust
        .command(
            "publisher",
            &[
                "--format",
                "json",
                "trust",
                "refresh",
                gun,
                "--within-days",
                "2",
            ],
            None,
        )
        .env_remove("CLEARANCE_PASSPHRASE_ROOT")
        .env_remove("CLEARANCE_PASSPHRASE_TARGETS")
        .env_remove("CLEARANCE_PASSPHRASE_SNAPSHOT")
        .output()
        .unwrap();
    assert_success(&out);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["resigned"], serde_json::json!(["timestamp"]), "{view}");
}

/// The root pinned for `gun` in `home`.
fn pinned_root(trust: &Trust, home: &str, gun: &str) -> std::path::PathBuf {
    trust.trusted_root(home, gun)
}

#[test]
fn f14_5_a_tampered_pinned_root_is_named_with_what_to_do() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file_initialised(gun);
    let pinned = pinned_root(&trust, "publisher", gun);
    let genuine = trust.dir.path().join("genuine-root.json");
    std::fs::copy(&pinned, &genuine).unwrap();
    // Altered: its signature no longer matches.
    let text = std::fs::read_to_string(&pinned).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut t = v;
    t["signed"]["expires"] = serde_json::json!("2099-01-01T00:00:00Z");
    std::fs::write(&pinned, serde_json::to_vec(&t).unwrap()).unwrap();

    let out = trust.run("publisher", &["trust", "inspect", gun]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&pinned.display().to_string())
            && err.contains("pinned root")
            && err.contains("--repin"),
        "{err}"
    );
    // The genuine root given: not "not the pinned root" with both sides alike.
    let image = format!("{gun}:v1");
    let root = genuine.display().to_string();
    let out = trust.run("publisher", &["trust", "verify", &image, "--root", &root]);
    let err = stderr(&out);
    assert!(
        !err.contains("nor a version of its chain") && err.contains("--repin"),
        "{err}"
    );
    // An empty --root names the file.
    let empty = trust.dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            &image,
            "--root",
            &empty.display().to_string(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&empty.display().to_string()),
        "{}",
        both(&out)
    );
}

/// A server on 127.0.0.1 answering every request 200 with `body`; its URL.
fn garbage_server(body: &'static [u8]) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn f14_5_trust_on_first_use_of_garbage_names_the_server() {
    let url = garbage_server(b"this is not json");
    let trust = Trust::at(&url);
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--trust-on-first-use",
            "127.0.0.1:9/team/app:v1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(both(&out).contains(&url), "{}", both(&out));
    // Nothing pinned, and no empty directory left for it (finding 14 #14).
    let tuf = trust.dir.path().join("consumer/trust/tuf");
    let left: Vec<_> = std::fs::read_dir(&tuf)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn f14_6_a_wrong_root_passphrase_is_said_to_be_wrong() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file_initialised(gun);
    let out = trust
        .command(
            "publisher",
            &["trust", "refresh", gun, "--within-days", "5000"],
            None,
        )
        .env("CLEARANCE_PASSPHRASE_ROOT", "not the passphrase")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("wrong passphrase") && !err.contains("not in the keystore"),
        "{err}"
    );
}

#[test]
fn f14_9_an_expired_repository_is_inspected_and_refreshed() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file();
    assert_success(&trust.run(
        "publisher",
        &["trust", "init", gun, "--timestamp-expires-days", "1"],
    ));
    let later = clearance_trust::time::UtcTime::now()
        .plus_seconds(3 * 86_400)
        .to_string();
    let out = trust
        .command("publisher", &["trust", "inspect", gun], None)
        .env("CLEARANCE_TEST_NOW", &later)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(stdout(&out).contains("expired"), "{}", both(&out));
}

#[test]
fn f14_10_repository_arguments_are_repositories() {
    let trust = Trust::file();
    let out = trust.run(
        "publisher",
        &["trust", "init", "docker://127.0.0.1:9/team/app"],
    );
    assert_success(&out);
    let out = trust.run(
        "publisher",
        &["trust", "inspect", "docker://127.0.0.1:9/team/app"],
    );
    assert_success(&out);
    let out = trust.run("publisher", &["trust", "inspect", "oci:./x"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("registry repository"),
        "{}",
        both(&out)
    );
    for image in [
        "127.0.0.1:9/team/other:v1",
        "127.0.0.1:9/team/other@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let out = trust.run("publisher", &["trust", "init", image]);
        assert_eq!(out.status.code(), Some(2), "{image}: {}", both(&out));
        assert!(
            stderr(&out).contains("a repository, not an image"),
            "{image}: {}",
            both(&out)
        );
    }
}

#[test]
fn f14_11_delegation_paths_are_tag_patterns() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file_initialised(gun);
    let run = |args: &[&str]| -> Output { trust.run_with_passphrases("publisher", args, &["qa"]) };
    let out = run(&["trust", "key", "generate", "--role", "qa"]);
    assert_success(&out);
    let key = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Generated").map(|k| k.trim().to_owned()))
        .unwrap();
    for paths in ["", ",", "v*,,x", "../*", "a/b", "v\u{1}*", ".v*", "-v*"] {
        let paths_arg = format!("--paths={paths}");
        let out = run(&[
            "trust", "delegate", "add", gun, "qa", "--key", &key, &paths_arg,
        ]);
        assert_eq!(out.status.code(), Some(2), "{paths:?}: {}", both(&out));
        assert!(
            stderr(&out).contains("tag patterns are tag names"),
            "{paths:?}: {}",
            both(&out)
        );
    }
    assert_success(&run(&[
        "trust",
        "delegate",
        "add",
        gun,
        "qa",
        "--key",
        &key,
        "--paths",
        "v*,release_1.*",
    ]));
}

#[test]
fn f14_8_config_errors_are_one_readable_line_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    for (text, says) in [
        (
            "[trust]\nuser = \"x\"\n",
            vec![
                "config.toml line 2",
                "unknown field `user`",
                "expected one of",
            ],
        ),
        (
            "[trust]\ntimestamp_expiry = \"0s\"\n",
            vec!["config.toml", "timestamp_expiry"],
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["serve", "--trust", "--no-auth", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        let err = stderr(&out);
        assert!(!err.contains("\\n"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        for s in says {
            assert!(err.contains(s), "{s}: {err}");
        }
    }
}

#[test]
fn f14_12_a_deleted_signed_manifest_is_an_answer_and_a_down_registry_is_said_once() {
    let (_img, registry, gun) = pushed("team/app", &["v1"]);
    let trust = Trust::file_initialised(&gun);
    let digest = trust.sign(&gun, "v1");
    let image = format!("{gun}:v1");
    // The signed manifest deleted from the registry: 404 for its digest.
    let revision = registry
        .storage()
        .join("docker/registry/v2/repositories/team/app/_manifests/revisions/sha256")
        .join(digest.trim_start_matches("sha256:"));
    assert!(revision.is_dir(), "{}", revision.display());
    std::fs::remove_dir_all(&revision).unwrap();
    let out = trust.run(
        "publisher",
        &["--format", "json", "trust", "verify", &image],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["digest"], serde_json::json!(digest), "{verdict}");
    assert!(
        verdict["reason"].as_str().unwrap().contains("HTTP 404"),
        "{verdict}"
    );
    // The registry down: one message, the address once, what to check.
    drop(registry);
    let out = trust.run("publisher", &["trust", "verify", &image]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the registry"), "{err}");
    assert_eq!(err.matches("http://").count(), 0, "{err}");
}

#[test]
fn f14_13_an_unreachable_postgres_is_said_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve", "--trust", "--no-auth", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--database")
        .arg(format!("postgres://alice:s3cret-pw@127.0.0.1:{port}/trust"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        took < std::time::Duration::from_secs(15),
        "took {took:?}: {err}"
    );
    assert!(
        err.contains("refused") && !err.contains("pool timed out") && !err.contains("s3cret-pw"),
        "{err}"
    );
}

#[test]
fn f14_7_token_root_keys_are_named_by_label_and_a_missing_pin_says_what_to_set() {
    let trust = Trust::file();
    let conf = softhsm(&trust.dir.path().join("hsm"));
    let gun = "127.0.0.1:9/team/app";
    let with_hsm = |args: &[&str], pin: bool| -> Output {
        let mut cmd = trust.command("publisher", args, None);
        cmd.env("SOFTHSM2_CONF", &conf)
            .env("CLEARANCE_PKCS11_MODULE", SOFTHSM_MODULE);
        if pin {
            cmd.env("CLEARANCE_PKCS11_PIN", "1234");
        }
        cmd.output().unwrap()
    };
    let token = "pkcs11:token=clearance";
    assert_success(&with_hsm(
        &["trust", "init", gun, "--root-key", token],
        true,
    ));

    // No PIN and no terminal: says what to set.
    let out = with_hsm(
        &["trust", "rotate", gun, "targets", "--root-key", token],
        false,
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("CLEARANCE_PKCS11_PIN") && !err.contains("os error 6"),
        "{err}"
    );

    // After a root rotation the old key is named: the current root key's
    // label is listed, as the object= to type.
    assert_success(&with_hsm(
        &[
            "trust",
            "rotate",
            gun,
            "root",
            "--root-key",
            token,
            "--new-root-key",
            token,
        ],
        true,
    ));
    let hash = clearance_oci::Digest::sha256_of(gun.as_bytes());
    let label = format!("clearance-root-{}-v2", &hash.hex()[..16]);
    let out = with_hsm(
        &["trust", "rotate", gun, "targets", "--root-key", token],
        true,
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!("object={label}")),
        "{}",
        both(&out)
    );

    // A refresh that cannot sign root (on the token) says how to name it.
    let out = with_hsm(&["trust", "refresh", gun, "--within-days", "5000"], true);
    assert!(
        stderr(&out).contains("--root-key pkcs11:"),
        "{}",
        both(&out)
    );
}

#[test]
fn f14_14_minor_messages() {
    let gun = "127.0.0.1:9/team/app";
    let trust = Trust::file_initialised(gun);
    // An empty passphrase variable is said to be empty.
    let out = trust
        .command(
            "publisher",
            &["trust", "refresh", gun, "--within-days", "5000"],
            None,
        )
        .env("CLEARANCE_PASSPHRASE_ROOT", "")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("CLEARANCE_PASSPHRASE_ROOT is set but empty"),
        "{}",
        both(&out)
    );
    // A digest without a tag: said why a tag is needed.
    let image =
        format!("{gun}@sha256:0000000000000000000000000000000000000000000000000000000000000000");
    let out = trust.run("publisher", &["trust", "verify", &image]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("names a digest but no tag"),
        "{}",
        both(&out)
    );
    // init against a server answering 200 with anything: not "already
    // initialised".
    let url = garbage_server(b"<html>hello</html>");
    let other = Trust::at(url);
    let out = other.run("publisher", &["trust", "init", gun]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not TUF root metadata") && !stderr(&out).contains("already"),
        "{}",
        both(&out)
    );
}

#[test]
fn f14_14_an_encrypted_pkcs8_key_is_said_to_be_encrypted() {
    let trust = Trust::file();
    let key = trust.dir.path().join("enc.pem");
    std::fs::write(
        &key,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgAAAAAAAAAAAICCAAw\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = trust.run(
        "publisher",
        &[
            "trust",
            "key",
            "import",
            key.to_str().unwrap(),
            "--role",
            "qa",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is an encrypted PKCS#8 key"),
        "{}",
        both(&out)
    );
}
