//! The trust CLI against the ninth review's findings (a reviewer trying
//! `clearance trust …` as a new user), end to end with the real binary:
//! each test is named after the finding it guards (`r9_3_…` is finding 3).
//! Everything runs on 127.0.0.1 or in a `file://` repository.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::service::{Trust, field};
use support::{SOFTHSM_MODULE, TestCa, TrustServer, assert_success, both, softhsm, stderr, stdout};

/// A registry host nothing listens on: a command that reaches the registry
/// fails with "fetching the manifest", which the tests below rule out.
const NO_REGISTRY: &str = "127.0.0.1:9";

/// The key id `trust key generate` printed.
fn generated(out: &Output) -> String {
    assert_success(out);
    field(out, "Generated")
}

#[test]
fn r9_3_delegation_names_are_plain_and_an_unknown_sign_role_says_how_to_list_roles() {
    let gun = format!("{NO_REGISTRY}/team/app");
    let trust = Trust::file_initialised(&gun);
    let run = |args: &[&str]| -> Output { trust.run_with_passphrases("publisher", args, &["qa"]) };
    let key = generated(&run(&["trust", "key", "generate", "--role", "qa"]));

    for (name, says) in [
        ("", "may not be empty"),
        ("../y", "lower-case letters, digits and -"),
        ("a/b", "lower-case letters, digits and -"),
        ("x/../y", "lower-case letters, digits and -"),
        ("qa\u{1}x", "control character"),
        ("Qa", "lower-case letters, digits and -"),
        ("q_a", "lower-case letters, digits and -"),
        ("targets", "reserved"),
        ("bins-0a", "reserved"),
        ("targets/releases", "use \"releases\""),
    ] {
        let out = run(&[
            "trust", "delegate", "add", &gun, name, "--key", &key, "--paths", "v*",
        ]);
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", both(&out));
        assert!(stderr(&out).contains(says), "{name:?}: {}", both(&out));
    }
    let inspect = stdout(&run(&["trust", "inspect", &gun]));
    assert!(
        !inspect.contains("v*"),
        "a refused name was delegated: {inspect}"
    );

    assert_success(&run(&[
        "trust", "delegate", "add", &gun, "qa", "--key", &key, "--paths", "qa-*",
    ]));
    // An unknown role: told before the registry is asked, naming the roles
    // and the command that lists them; Notary's spelling names the plain one.
    for (role, extra) in [
        ("nosuch", ""),
        ("targets/qa", "Notary's spelling: here the role is qa"),
    ] {
        let out = run(&["trust", "sign", &format!("{gun}:qa-1"), "--role", role]);
        assert_eq!(out.status.code(), Some(2), "{role}: {}", both(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{role} is not a delegated role of {gun}"))
                && err.contains("it delegates to qa")
                && err.contains(&format!("clearance trust inspect {gun}"))
                && err.contains(extra),
            "{role}: {err}"
        );
        assert!(
            !err.contains("passphrase") && !err.contains("manifest"),
            "{err}"
        );
    }
    let out = run(&["trust", "sign", &format!("{gun}:v1"), "--role", "snapshot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("snapshot is a top-level role and signs no tags"),
        "{}",
        both(&out)
    );
}

#[test]
fn r9_9_a_missing_store_is_exit_2_and_a_pinned_repository_the_server_lacks_is_named() {
    let gun = format!("{NO_REGISTRY}/team/app");
    let trust = Trust::file_initialised(&gun);
    let image = format!("{gun}:v1");
    let elsewhere = tempfile::tempdir().unwrap();
    let empty = format!("file://{}", elsewhere.path().display());
    let missing = format!("file://{}", elsewhere.path().join("nosuch").display());
    let commands: [Vec<&str>; 5] = [
        vec!["trust", "inspect", &gun],
        vec!["trust", "verify", &image],
        vec!["trust", "refresh", &gun],
        vec!["trust", "sign", &image],
        vec!["trust", "delegate", "remove", &gun, "qa"],
    ];
    for args in &commands {
        // A directory that does not exist: a usage error, exit 2.
        let mut with = args.clone();
        with.extend(["--server", &missing]);
        let out = trust.run("publisher", &with);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", both(&out));
        assert!(
            stderr(&out).contains("names a directory that does not exist")
                && stderr(&out).contains("--server"),
            "{args:?}: {}",
            both(&out)
        );
        // A store without this repository, whose root is pinned here: said
        // so, with what to check (verify: not trusted, exit 1).
        let mut with = args.clone();
        with.extend(["--server", &empty]);
        let out = trust.run("publisher", &with);
        let code = if args[1] == "verify" { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", both(&out));
        assert!(
            both(&out).contains(&format!(
                "the trust server has no trust data for {gun} at {empty}"
            )) && both(&out).contains("though its root is pinned here")
                && both(&out).contains("deleted"),
            "{args:?}: {}",
            both(&out)
        );
        assert!(
            !both(&out).contains("(it has no timestamp.json)"),
            "{}",
            both(&out)
        );
    }
}

/// A server on 127.0.0.1 that answers every request `401` with a `Basic`
/// challenge, for as long as the test runs: its URL.
fn basic_only_server() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"trust\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    url
}

#[test]
fn r9_10_messages_name_the_setting_to_check() {
    let gun = format!("{NO_REGISTRY}/team/app");
    let image = format!("{gun}:v1");
    let trust = Trust::file_initialised(&gun);
    let run = |home: &str, args: &[&str], env: &[(&str, &str)]| -> Output {
        trust
            .command(home, args, None)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };

    // A CA bundle that cannot be used: said so, naming the flag (was
    // "error: : TLS setup: …", an empty URL as the context).
    let junk = trust.dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let out = run(
        "publisher",
        &[
            "trust",
            "inspect",
            &gun,
            "--trust-ca-file",
            junk.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: setting up TLS for the trust server: ")
            && err.contains("--trust-ca-file"),
        "{err}"
    );
    assert!(!err.contains("error: :"), "{err}");

    // A login that is not USER:PASSWORD, from the variable: the variable
    // is named.
    let out = run(
        "publisher",
        &["trust", "inspect", &gun],
        &[("CLEARANCE_TRUST_CREDS", "alice")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out)
            .contains("CLEARANCE_TRUST_CREDS (the trust server login) must be USER:PASSWORD"),
        "{}",
        both(&out)
    );

    // `trust sign` with no pinned root says how to get one before
    // anything about the tag (the registry is not even asked).
    let out = run("stranger", &["trust", "sign", &image], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("no pinned root for {gun}"))
            && err.contains("clearance trust init")
            && err.contains("--root ROOT.json"),
        "{err}"
    );
    assert!(
        !err.contains("manifest") && !err.contains("by tag"),
        "{err}"
    );

    // A Basic login the server refuses: whose, where, what to check.
    let basic = basic_only_server();
    let host = basic.trim_start_matches("http://").to_owned();
    let out = run(
        "consumer",
        &[
            "trust",
            "verify",
            "--trust-on-first-use",
            "--server",
            &basic,
            &image,
        ],
        &[("CLEARANCE_TRUST_CREDS", "alice:wrong")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the trust server {host} refused the login for user \"alice\""
        )) && stderr(&out).contains("CLEARANCE_TRUST_CREDS"),
        "{}",
        both(&out)
    );

    // http:// to a service that speaks TLS: use https://.
    let ca = TestCa::new();
    let data = tempfile::tempdir().unwrap();
    let tls = TrustServer::start_tls(data.path(), &ca);
    let out = run(
        "consumer",
        &[
            "trust",
            "verify",
            "--trust-on-first-use",
            "--server",
            &tls.url,
            &image,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("the server speaks TLS, not plain HTTP: use https://"),
        "{}",
        both(&out)
    );
    assert!(
        !stderr(&out).contains("invalid HTTP version"),
        "{}",
        both(&out)
    );

    // A PIN the token refuses: said in those words, with the real names
    // of the settings that give the PIN.
    let conf = softhsm(&trust.dir.path().join("hsm"));
    let out = run(
        "hsm",
        &[
            "trust",
            "init",
            &format!("{NO_REGISTRY}/team/hsm"),
            "--root-key",
            "pkcs11:token=clearance",
        ],
        &[
            ("SOFTHSM2_CONF", conf.to_str().unwrap()),
            ("CLEARANCE_PKCS11_MODULE", SOFTHSM_MODULE),
            ("CLEARANCE_PKCS11_PIN", "9999"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("the token \"clearance\" refused the PIN (CKR_PIN_INCORRECT): check CLEARANCE_PKCS11_PIN, or the URI's pin-value / pin-source"),
        "{}",
        both(&out)
    );
}

/// The mode bits of a file or directory.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn r9_4_client_store_dirs_are_private_and_readable_key_files_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!("file://{}", dir.path().join("server").display());
    let home = dir.path().join("home");
    let gun = format!("{NO_REGISTRY}/team/app");
    // Under umask 002, as on many desktops: directories would be 0775.
    let run = |args: &[&str]| -> Output {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "umask 002 && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_clearance"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("CLEARANCE_HOME", &home)
            .env("CLEARANCE_TRUST_SERVER", &server);
        for role in ["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"] {
            cmd.env(
                format!("CLEARANCE_PASSPHRASE_{role}"),
                format!("{role} passphrase"),
            );
        }
        cmd.output().unwrap()
    };
    let out = run(&["trust", "init", &gun]);
    assert_success(&out);
    assert!(!stderr(&out).contains("others may read"), "{}", both(&out));
    let pinned = home
        .join("trust/tuf")
        .join(clearance_trust::client::quote(&gun));
    for d in [
        home.clone(),
        home.join("trust"),
        home.join("trust/private"),
        home.join("trust/tuf"),
        pinned.clone(),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let keys: Vec<_> = std::fs::read_dir(home.join("trust/private"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 4);
    for k in &keys {
        assert_eq!(mode(k), 0o600, "{}", k.display());
    }

    // A key file made readable by others: one warning, naming it.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&keys[0], std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = run(&["trust", "refresh", &gun, "--within-days", "5000"]);
    assert_success(&out);
    let err = stderr(&out);
    assert_eq!(
        err.matches("key files that others may read").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains(&format!("{} (mode 644)", keys[0].display())) && err.contains("chmod 600"),
        "{err}"
    );
}

/// `trust key list --format json` as (key id, the roles it serves in
/// repositories, e.g. `127.0.0.1:9/team/app targets`).
fn key_uses(trust: &Trust, home: &str) -> Vec<(String, Vec<String>)> {
    let out = trust.run(home, &["--format", "json", "trust", "key", "list"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let uses = k["repositories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["repository"].as_str().unwrap(),
                        r["role"].as_str().unwrap()
                    )
                })
                .collect();
            (k["keyid"].as_str().unwrap().to_owned(), uses)
        })
        .collect()
}

#[test]
fn r9_6_key_list_follows_a_rotation_and_a_delegation_at_once() {
    let gun = format!("{NO_REGISTRY}/team/app");
    let trust = Trust::file_initialised(&gun);
    let uses_of = |keyid: &str| -> Vec<String> {
        key_uses(&trust, "publisher")
            .into_iter()
            .find(|(k, _)| k == keyid)
            .unwrap_or_else(|| panic!("{keyid} not listed"))
            .1
    };
    let old = key_uses(&trust, "publisher")
        .into_iter()
        .find(|(_, uses)| uses == &vec![format!("{gun} targets")])
        .unwrap()
        .0;
    let out = trust.run("publisher", &["trust", "rotate", &gun, "targets"]);
    assert_success(&out);
    let new = field(&out, "New key");
    // Straight after the rotation, offline: the new key is targets', the
    // retired one nobody's.
    assert_eq!(uses_of(&new), vec![format!("{gun} targets")]);
    assert!(uses_of(&old).is_empty(), "{:?}", uses_of(&old));

    // A delegation shows at once too.
    let qa = {
        let out = trust
            .command(
                "publisher",
                &["trust", "key", "generate", "--role", "qa"],
                None,
            )
            .env("CLEARANCE_PASSPHRASE_QA", "qa passphrase")
            .output()
            .unwrap();
        generated(&out)
    };
    assert_success(&trust.run(
        "publisher",
        &[
            "trust", "delegate", "add", &gun, "qa", "--key", &qa, "--paths", "qa-*",
        ],
    ));
    assert_eq!(uses_of(&qa), vec![format!("{gun} qa")]);
}

#[test]
fn r9_7_init_names_the_token_key_for_people_and_every_role_key_it_made() {
    let trust = Trust::file();
    let conf = softhsm(&trust.dir.path().join("hsm"));
    let gun = format!("{NO_REGISTRY}/team/hsm");
    let out = trust
        .command(
            "publisher",
            &[
                "trust",
                "init",
                &gun,
                "--root-key",
                "pkcs11:token=clearance?pin-value=1234",
            ],
            None,
        )
        .env("SOFTHSM2_CONF", &conf)
        .env("CLEARANCE_PKCS11_MODULE", SOFTHSM_MODULE)
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    assert!(!text.contains("HsmSigner"), "{text}");
    let hash = clearance_oci::Digest::sha256_of(gun.as_bytes());
    assert!(
        field(&out, "Root key").ends_with(&format!(
            "(on token clearance, key clearance-root-{}, not extractable)",
            &hash.hex()[..16]
        )),
        "{text}"
    );
    // Every key init sealed is in its summary, by role.
    let listed: Vec<(String, Vec<String>)> = key_uses(&trust, "publisher");
    assert_eq!(listed.len(), 3, "{listed:?}"); // targets, snapshot, timestamp
    for (label, role) in [
        ("Targets key", "targets"),
        ("Snapshot key", "snapshot"),
        ("Timestamp key", "timestamp"),
    ] {
        let id = field(&out, label);
        let uses = &listed.iter().find(|(k, _)| *k == id).unwrap().1;
        assert_eq!(uses, &vec![format!("{gun} {role}")], "{label}: {text}");
    }
}

#[test]
fn r9_11_key_roles_are_real_role_names_with_a_passphrase_variable_each() {
    let home = tempfile::tempdir().unwrap();
    let generate = |role: &str, env: &[(&str, &str)]| -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["trust", "key", "generate", "--role", role])
            .env_clear()
            .env("NO_COLOR", "1")
            .env("CLEARANCE_HOME", home.path())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    // Names that are no role `trust` makes, or that would share a
    // variable with another (a_b, A-b and a-b all read ..._A_B).
    for bad in ["a_b", "A-b", "a/b", "../x", "bins-1", "targets/qa", ""] {
        let out = generate(bad, &[("CLEARANCE_PASSPHRASE_A_B", "long enough")]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", both(&out));
        assert!(
            stderr(&out).contains("invalid value for --role"),
            "{bad:?}: {}",
            both(&out)
        );
    }
    let out = generate("a-b", &[("CLEARANCE_PASSPHRASE_A_B", "long enough")]);
    generated(&out);
    let out = generate(
        "targets",
        &[("CLEARANCE_PASSPHRASE_TARGETS", "long enough")],
    );
    generated(&out);
    let keys = std::fs::read_dir(home.path().join("trust/private"))
        .unwrap()
        .count();
    assert_eq!(keys, 2);
}

#[test]
fn r9_2_a_delegate_refreshes_its_own_role_and_skips_the_ones_it_cannot_sign() {
    let (_img, _registry, gun) = support::service::pushed("team/app", &["qa-1"]);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    let run =
        |home: &str, args: &[&str]| -> Output { trust.run_with_passphrases(home, args, &["qa"]) };
    assert_success(&run("owner", &["trust", "init", &gun, "--server-snapshot"]));
    // The delegate makes its key and hands over the public part.
    let key = generated(&run(
        "delegate",
        &["trust", "key", "generate", "--role", "qa"],
    ));
    let exported = run("delegate", &["trust", "key", "export", &key]);
    assert_success(&exported);
    let public = trust.dir.path().join("qa.pub");
    std::fs::write(&public, &exported.stdout).unwrap();
    assert_success(&run(
        "owner",
        &[
            "trust",
            "delegate",
            "add",
            &gun,
            "qa",
            "--key",
            public.to_str().unwrap(),
            "--paths",
            "qa-*",
        ],
    ));
    let root = trust.trusted_root("owner", &gun);
    let image = format!("{gun}:qa-1");
    run(
        "delegate",
        &["trust", "verify", "--root", root.to_str().unwrap(), &image],
    );
    assert_success(&run("delegate", &["trust", "sign", &image, "--role", "qa"]));
    let version = |home: &str| -> u64 {
        let out = run(home, &["--format", "json", "trust", "inspect", &gun]);
        assert_success(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "qa")
            .unwrap()["version"]
            .as_u64()
            .unwrap()
    };
    let before = version("delegate");

    // Everything is due: the delegate re-signs qa, and names root and
    // targets, whose keys it does not hold, instead of failing.
    let out = run(
        "delegate",
        &["trust", "refresh", &gun, "--within-days", "5000"],
    );
    assert_success(&out);
    let err = stderr(&out);
    for role in ["root", "targets"] {
        assert!(
            err.contains(&format!(
                "{role} expires within 5000 days, but its keys are not held here"
            )),
            "{role}: {}",
            both(&out)
        );
    }
    assert!(field(&out, "Re-signed").contains("qa"), "{}", both(&out));
    assert_eq!(version("owner"), before + 1);
    assert_success(&run(
        "consumer",
        &["trust", "verify", "--root", root.to_str().unwrap(), &image],
    ));
}

#[test]
fn r9_5_a_token_root_rotation_is_checked_before_signing_and_leaves_no_key_when_it_fails() {
    let trust = Trust::file();
    let conf = softhsm(&trust.dir.path().join("hsm"));
    let with_hsm = |args: &[&str]| -> Output {
        trust
            .command("publisher", args, None)
            .env("SOFTHSM2_CONF", &conf)
            .env("CLEARANCE_PKCS11_MODULE", SOFTHSM_MODULE)
            .output()
            .unwrap()
    };
    let token = "pkcs11:token=clearance?pin-value=1234";
    let (a, b) = (
        format!("{NO_REGISTRY}/team/a"),
        format!("{NO_REGISTRY}/team/b"),
    );
    for gun in [&a, &b] {
        assert_success(&with_hsm(&["trust", "init", gun, "--root-key", token]));
    }
    let tuf = trust
        .dir
        .path()
        .join("server/v2")
        .join(&a)
        .join("_trust/tuf");
    let keys = || {
        std::fs::read_dir(trust.dir.path().join("publisher/trust/private"))
            .unwrap()
            .count()
    };
    let before = keys();

    // No --root-key while root is on a token: the error says --root-key.
    let out = with_hsm(&["trust", "rotate", &a, "root"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("--root-key pkcs11:"),
        "{}",
        both(&out)
    );

    // B's root key offered as A's: refused before anything is signed, and
    // the message does not echo the URI (its PIN).
    let hash = clearance_oci::Digest::sha256_of(b.as_bytes());
    let b_key = format!(
        "pkcs11:token=clearance;object=clearance-root-{}?pin-value=1234",
        &hash.hex()[..16]
    );
    let out = with_hsm(&["trust", "rotate", &a, "root", "--root-key", &b_key]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("which is not a root key of {a}")) && !err.contains("1234"),
        "{err}"
    );
    assert!(
        !tuf.join("2.root.json").exists(),
        "a root signed by B's key was published"
    );
    assert_eq!(keys(), before, "a refused rotation left a key behind");

    // A rotation that fails after its new key was made (the snapshot key
    // is gone) leaves no key behind.
    let snapshot = key_uses(&trust, "publisher")
        .into_iter()
        .find(|(_, uses)| uses == &vec![format!("{a} snapshot")])
        .unwrap()
        .0;
    let moved = trust.dir.path().join("snapshot.key");
    let path = trust
        .dir
        .path()
        .join("publisher/trust/private")
        .join(format!("{snapshot}.key"));
    std::fs::rename(&path, &moved).unwrap();
    let out = with_hsm(&["trust", "rotate", &a, "targets", "--root-key", token]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(stderr(&out).contains("snapshot"), "{}", both(&out));
    assert_eq!(keys(), before - 1, "{}", both(&out));
    std::fs::rename(&moved, &path).unwrap();

    // A new root key on the token: its label is printed.
    let out = with_hsm(&[
        "trust",
        "rotate",
        &a,
        "root",
        "--root-key",
        token,
        "--new-root-key",
        token,
    ]);
    assert_success(&out);
    let hash = clearance_oci::Digest::sha256_of(a.as_bytes());
    assert!(
        field(&out, "New key").ends_with(&format!(
            "(on token clearance, key clearance-root-{}-v2, not extractable)",
            &hash.hex()[..16]
        )),
        "{}",
        both(&out)
    );
}
