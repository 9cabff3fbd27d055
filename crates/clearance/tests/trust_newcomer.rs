//! The trust CLI against the newcomer report (`2026-11-newcomer.md`), end to
//! end with the real binary: each test is named after the finding it guards
//! (`n2_…` is finding 2). The trust service, Distribution and openssl's CAs
//! run on 127.0.0.1 as in the other trust tests.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::service::{Trust, field, pushed};
use support::{TestCa, TrustServer, assert_success, both, stderr, stdout};

/// A trust service without authentication on 127.0.0.1, with its data in a
/// directory of its own.
fn service() -> (tempfile::TempDir, TrustServer) {
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    (data, server)
}

/// A file:// repository for `gun`, initialised by "publisher": its root.
fn file_repository(gun: &str) -> (Trust, std::path::PathBuf) {
    let trust = Trust::file_initialised(gun);
    let root = trust.trusted_root("publisher", gun);
    (trust, root)
}

#[test]
fn n8_a_malformed_server_is_a_usage_error_before_any_request() {
    let home = tempfile::tempdir().unwrap();
    for server in [
        "127.0.0.1:4443",
        "htp://127.0.0.1:4443",
        "http://",
        "file://relative/dir",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["trust", "verify", "--trust-on-first-use"])
            .args(["--server", server, "127.0.0.1:5000/team/app:v1"])
            .env_clear()
            .env("CLEARANCE_HOME", home.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{server}: {}", both(&out));
        let err = stderr(&out);
        assert!(
            err.contains("http://HOST[:PORT], https://HOST[:PORT] or file:///DIR")
                || err.contains("file:///DIR"),
            "{server}: {err}"
        );
        assert!(
            !err.contains("builder error") && !err.contains("relative URL"),
            "{err}"
        );
    }
    // Nothing was fetched, so nothing was written either.
    assert!(!home.path().join("trust/tuf").exists());
}

#[test]
fn n8_an_unreachable_server_is_exit_2_and_an_unknown_repository_exit_1() {
    let (_data, server) = service();
    let gun = "127.0.0.1:5000/team/nosuch";
    let image = format!("{gun}:v1");
    let (other, root) = file_repository(gun);
    let trust = Trust::new(&server);
    let verify = |home: &str, server: &str, flags: &[&str]| -> Output {
        let mut args = vec!["trust", "verify", "--server", server];
        args.extend_from_slice(flags);
        args.push(&image);
        trust.run(home, &args)
    };

    // Nothing listens on the port, or the host does not resolve: exit 2,
    // with no reqwest wording.
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let unresolved = format!("http://nosuch.invalid:{}", support::free_port());
    for (url, extra) in [
        (closed.as_str(), vec![]),
        (
            unresolved.as_str(),
            vec!["--insecure-trust-server", "nosuch.invalid"],
        ),
    ] {
        let mut flags = vec!["--trust-on-first-use"];
        flags.extend(extra.iter().copied());
        let out = verify("consumer", url, &flags);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", both(&out));
        assert!(stderr(&out).contains("cannot reach"), "{}", both(&out));
        assert!(!stderr(&out).contains("error sending request"));
    }

    // A repository the service never heard of: "no trust data", exit 1,
    // whichever way the root is pinned.
    let root = root.to_str().unwrap();
    for (home, flags) in [
        ("tofu", vec!["--trust-on-first-use"]),
        ("pinned", vec!["--root", root]),
    ] {
        let out = verify(home, &server.url, &flags);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {}", both(&out));
        assert!(
            stdout(&out).contains(&format!("no trust data for {gun}")),
            "{flags:?}: {}",
            both(&out)
        );
        assert!(!both(&out).contains("1.root.json"), "{}", both(&out));
    }
    drop(other);
}

/// `clearance serve --trust` over HTTPS with a certificate from `ca`.
fn tls_service(ca: &TestCa) -> (tempfile::TempDir, TrustServer, String) {
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start_tls(data.path(), ca);
    let url = server.https_url();
    (data, server, url)
}

#[test]
fn n8_n18_tls_failures_are_exit_2_and_say_what_to_do() {
    let ca = TestCa::new();
    let wrong = TestCa::new();
    let (_data, server, https) = tls_service(&ca);
    let trust = Trust::new(&server);
    let image = "127.0.0.1:5000/team/app:v1";

    // No CA given, or the wrong one: the certificate is refused, exit 2,
    // naming the flag and the variable that pass the CA.
    for ca_flag in [
        vec![],
        vec!["--trust-ca-file", wrong.ca_cert.to_str().unwrap()],
    ] {
        let mut args = vec![
            "trust",
            "verify",
            "--trust-on-first-use",
            "--server",
            &https,
        ];
        args.extend(ca_flag.iter().copied());
        args.push(image);
        let out = trust.run("consumer", &args);
        assert_eq!(out.status.code(), Some(2), "{ca_flag:?}: {}", both(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--trust-ca-file") && err.contains("CLEARANCE_TRUST_CA_FILE"),
            "{err}"
        );
        assert!(!err.contains("UnknownIssuer"), "{err}");
    }

    // https:// to a plain-HTTP service: it did not answer TLS.
    let (_plain_data, plain) = service();
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--trust-on-first-use",
            "--server",
            &plain.url.replace("http://", "https://"),
            image,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("the server did not answer TLS; is it http://?"),
        "{}",
        both(&out)
    );
    assert!(!stderr(&out).contains("InvalidContentType"));

    // With the right CA the same command gets an answer: no trust data, exit 1.
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--trust-on-first-use",
            "--server",
            &https,
            "--trust-ca-file",
            ca.ca_cert.to_str().unwrap(),
            image,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stdout(&out).contains("no trust data"), "{}", both(&out));
}

/// A users file with alice (may push and pull under team/) and bob (may
/// only pull there), and the configuration that says so.
fn auth_config(dir: &std::path::Path) -> String {
    support::require("htpasswd");
    let mut users = Vec::new();
    for (name, pass) in [("alice", "alice-secret"), ("bob", "bob-secret")] {
        let out = std::process::Command::new("htpasswd")
            .args(["-Bbn", name, pass])
            .output()
            .unwrap();
        assert!(out.status.success());
        users.extend_from_slice(&out.stdout);
    }
    let path = dir.join("users");
    std::fs::write(&path, users).unwrap();
    format!(
        r#"
[auth]
users = "{}"

[[auth.access]]
repositories = "*/team/**"
users = ["alice"]
actions = ["pull", "push"]

[[auth.access]]
repositories = "*/team/**"
users = ["bob"]
actions = ["pull"]
"#,
        path.display()
    )
}

#[test]
fn n10_the_servers_reason_reaches_the_user() {
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), Some(&auth_config(data.path())), &[]);
    let trust = Trust::new(&server);
    let gun = "127.0.0.1:5000/team/app";

    // No login: the server's message, and how to give a login.
    let out = trust.run("publisher", &["trust", "init", gun]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("token does not allow pull on {gun}")),
        "{err}"
    );
    assert!(
        err.contains("CLEARANCE_TRUST_CREDS") && err.contains("--trust-creds"),
        "{err}"
    );

    // A login that may only pull: the server's reason, not a bare status.
    let out = trust.run_as("bob", "bob:bob-secret", &["trust", "init", gun]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!("token does not allow push on {gun}")),
        "{}",
        both(&out)
    );
    assert!(
        !stderr(&out).contains("CLEARANCE_TRUST_CREDS"),
        "{}",
        both(&out)
    );
}

#[test]
fn n11_the_short_key_ids_trust_inspect_prints_are_accepted_everywhere() {
    let gun = "127.0.0.1:5000/team/app";
    let (trust, _) = file_repository(gun);
    let run = |args: &[&str]| -> Output { trust.run_with_passphrases("publisher", args, &["qa"]) };
    let inspect: serde_json::Value =
        serde_json::from_slice(&run(&["--format", "json", "trust", "inspect", gun]).stdout)
            .unwrap();
    let targets_key = inspect["roles"][1]["keyids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let short = &targets_key[..12];
    let table = stdout(&run(&["trust", "inspect", gun]));
    assert!(
        table.contains(short) && !table.contains(&targets_key),
        "{table}"
    );

    // key export and delegate add take the short id of a keystore key.
    let qa = field(
        &run(&["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let out = run(&["trust", "key", "export", &qa[..12]]);
    assert_success(&out);
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["keyid"], qa.as_str());
    let out = run(&[
        "trust",
        "delegate",
        "add",
        gun,
        "qa",
        "--key",
        &qa[..12],
        "--paths",
        "qa-*",
    ]);
    assert_success(&out);

    // revoke takes the short id of a key the repository names.
    assert_success(&run(&["trust", "rotate", gun, "targets", "--keep-old"]));
    let out = run(&["trust", "revoke", gun, short]);
    assert_success(&out);
    assert_eq!(field(&out, "Revoked"), targets_key);

    // Too short, unknown: said plainly, exit 2.
    for (id, says) in [
        ("d0f1", "give at least 8 hex digits"),
        ("ffffffff", "no key ffffffff"),
    ] {
        for args in [
            vec!["trust", "key", "export", id],
            vec!["trust", "revoke", gun, id],
        ] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", both(&out));
            assert!(stderr(&out).contains(says), "{args:?}: {}", both(&out));
        }
    }
}

#[test]
fn n2_a_delegation_to_someone_elses_public_key_is_signed_by_its_holder() {
    let (_img, _registry, gun) = pushed("team/app", &["qa-1"]);
    let (_data, server) = service();
    let trust = Trust::new(&server);
    let image = format!("{gun}:qa-1");
    // alice owns the repository; the service signs snapshot and timestamp.
    assert_success(&trust.run("alice", &["trust", "init", &gun, "--server-snapshot"]));
    let root = trust.trusted_root("alice", &gun);
    let root = root.to_str().unwrap();

    // bob makes a key and hands alice its public part only.
    let bob = |args: &[&str]| -> Output {
        trust
            .command("bob", args, None)
            .env("CLEARANCE_PASSPHRASE_QA", "bob's qa passphrase")
            .output()
            .unwrap()
    };
    let keyid = field(
        &bob(&["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let out = bob(&["trust", "key", "export", &keyid]);
    assert_success(&out);
    let public = trust.dir.path().join("bob-qa.pub");
    std::fs::write(&public, &out.stdout).unwrap();

    // alice delegates to it: no qa passphrase, no private key needed.
    let out = trust.run(
        "alice",
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
    );
    assert_success(&out);
    assert!(field(&out, "Keys").contains(&keyid), "{}", both(&out));
    assert!(field(&out, "Next").contains("--role qa"), "{}", both(&out));

    // Until bob signs, a tag in qa's paths is simply not signed.
    let out = bob(&["trust", "verify", "--root", root, &image]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stdout(&out).contains("is not signed"), "{}", both(&out));

    // bob (root pinned by that verify) signs into the delegation.
    let out = bob(&["trust", "sign", &image, "--role", "qa"]);
    assert_success(&out);

    // A consumer verifies the tag, signed by qa.
    let out = trust.run(
        "consumer",
        &[
            "--format", "json", "trust", "verify", "--root", root, &image,
        ],
    );
    assert_success(&out);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["signed_by"], "qa");
    // alice never held bob's private key.
    let keys = stdout(&trust.run("alice", &["--format", "json", "trust", "key", "list"]));
    assert!(!keys.contains(&keyid), "{keys}");
}

/// The key ids in `home`'s keystore.
fn keystore_ids(trust: &Trust, home: &str) -> Vec<String> {
    let out = trust.run(home, &["--format", "json", "trust", "key", "list"]);
    assert_success(&out);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = keys["keys"].as_array().unwrap().clone();
    keys.iter()
        .map(|k| k["keyid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn n9_a_second_publisher_is_told_to_pin_the_root_and_init_leaves_no_keys() {
    let (_img, _registry, gun) = pushed("team/app", &["qa-1"]);
    let (_data, server) = service();
    let trust = Trust::new(&server);
    let image = format!("{gun}:qa-1");
    assert_success(&trust.run("alice", &["trust", "init", &gun]));
    let root = trust.trusted_root("alice", &gun);
    let bob = |args: &[&str]| -> Output {
        trust
            .command("bob", args, None)
            .env("CLEARANCE_PASSPHRASE_QA", "bob's qa passphrase")
            .output()
            .unwrap()
    };

    // bob's first try, signing without a pinned root: told how to pin it.
    let out = bob(&["trust", "sign", &image, "--role", "qa"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!(
            "clearance trust verify --root ROOT.json {gun}:TAG"
        )),
        "{}",
        both(&out)
    );
    // init says the repository exists, before making any key.
    let out = bob(&["trust", "init", &gun]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("already initialised")
            && stderr(&out).contains("pin its root with `clearance trust verify --root"),
        "{}",
        both(&out)
    );
    assert!(keystore_ids(&trust, "bob").is_empty());

    // The documented path: alice delegates to bob's key, bob pins the root
    // and signs. The service does not sign snapshot here, so bob is told
    // what would let him publish without the snapshot key.
    let keyid = field(
        &bob(&["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let public = trust.dir.path().join("bob-qa.pub");
    std::fs::write(&public, bob(&["trust", "key", "export", &keyid]).stdout).unwrap();
    assert_success(&trust.run(
        "alice",
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
    let out = bob(&["trust", "verify", "--root", root.to_str().unwrap(), &image]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let out = bob(&["trust", "sign", &image, "--role", "qa"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("trust init --server-snapshot"),
        "{}",
        both(&out)
    );

    // An init that fails after its keys were made leaves none behind.
    let files = Trust::file();
    let blocked = files.dir.path().join("server/v2").join(&gun);
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(blocked.join("_trust"), b"not a directory").unwrap();
    let out = files.run("carol", &["trust", "init", &gun]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(keystore_ids(&files, "carol").is_empty(), "orphan keys");
}

#[test]
fn n6_revoke_takes_a_key_out_of_a_delegation_and_re_signs_the_role() {
    let (_img, _registry, gun) = pushed("team/app", &["qa-1"]);
    let trust = Trust::file();
    let image = format!("{gun}:qa-1");
    let run =
        |home: &str, args: &[&str]| -> Output { trust.run_with_passphrases(home, args, &["qa"]) };
    assert_success(&run("publisher", &["trust", "init", &gun]));
    // qa has two keys: the publisher holds one, a colleague the other.
    let mine = field(
        &run("publisher", &["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let theirs = field(
        &run("colleague", &["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let theirs_pub = trust.dir.path().join("theirs.pub");
    std::fs::write(
        &theirs_pub,
        run("colleague", &["trust", "key", "export", &theirs]).stdout,
    )
    .unwrap();
    assert_success(&run(
        "publisher",
        &[
            "trust",
            "delegate",
            "add",
            &gun,
            "qa",
            "--key",
            &mine,
            "--key",
            theirs_pub.to_str().unwrap(),
            "--paths",
            "qa-*",
        ],
    ));
    assert_success(&run(
        "publisher",
        &["trust", "sign", &image, "--role", "qa"],
    ));

    // The help says what revoke does.
    let help = stdout(&run("publisher", &["trust", "revoke", "--help"]));
    assert!(help.contains("delegated roles"), "{help}");

    // qa's metadata carries only my signature: revoking my key needs the
    // colleague's to sign it again.
    let out = run("publisher", &["trust", "revoke", &gun, &mine[..12]]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("signed again by its remaining keys"),
        "{}",
        both(&out)
    );
    // Moved here (the sealed file, still under its passphrase), it does.
    let key_file = |home: &str| {
        trust
            .dir
            .path()
            .join(home)
            .join("trust/private")
            .join(format!("{theirs}.key"))
    };
    std::fs::copy(key_file("colleague"), key_file("publisher")).unwrap();
    let out = run("publisher", &["trust", "revoke", &gun, &mine[..12]]);
    assert_success(&out);
    assert_eq!(field(&out, "Revoked"), mine);
    assert_eq!(field(&out, "From delegations"), "qa");
    let targets: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            trust
                .dir
                .path()
                .join("server/v2")
                .join(&gun)
                .join("_trust/tuf/targets.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let qa = &targets["signed"]["delegations"]["roles"][0];
    assert_eq!(qa["keyids"], serde_json::json!([theirs]));
    assert!(
        targets["signed"]["delegations"]["keys"]
            .get(&mine)
            .is_none()
    );

    // Consumers still trust qa-1, now vouched for by the remaining key.
    let out = run(
        "consumer",
        &[
            "--format",
            "json",
            "trust",
            "verify",
            "--trust-on-first-use",
            &image,
        ],
    );
    assert_success(&out);

    // The last key of qa cannot go: threshold-safe, and said how to proceed.
    let out = run("publisher", &["trust", "revoke", &gun, &theirs]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("trust delegate remove"),
        "{}",
        both(&out)
    );
}

/// A delegated role's current metadata in a file:// repository.
fn role_json(trust: &Trust, gun: &str, role: &str) -> serde_json::Value {
    let path = trust
        .dir
        .path()
        .join("server/v2")
        .join(gun)
        .join("_trust/tuf")
        .join(format!("{role}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn n5_refresh_re_signs_the_delegated_roles_it_holds_and_inspect_shows_them() {
    let (_img, _registry, gun) = pushed("team/app", &["qa-1", "ext-1"]);
    let trust = Trust::file();
    let run = |home: &str, args: &[&str]| -> Output {
        trust.run_with_passphrases(home, args, &["qa", "ext"])
    };
    assert_success(&run("publisher", &["trust", "init", &gun]));
    // qa: the publisher's own key; ext: someone else's, who signs ext-1.
    let qa = field(
        &run("publisher", &["trust", "key", "generate", "--role", "qa"]),
        "Generated",
    );
    let ext = field(
        &run("other", &["trust", "key", "generate", "--role", "ext"]),
        "Generated",
    );
    let ext_pub = trust.dir.path().join("ext.pub");
    std::fs::write(
        &ext_pub,
        run("other", &["trust", "key", "export", &ext]).stdout,
    )
    .unwrap();
    for (role, key, paths) in [
        ("qa", qa.as_str(), "qa-*"),
        ("ext", ext_pub.to_str().unwrap(), "ext-*"),
    ] {
        assert_success(&run(
            "publisher",
            &[
                "trust", "delegate", "add", &gun, role, "--key", key, "--paths", paths,
            ],
        ));
    }
    assert_success(&run(
        "publisher",
        &["trust", "sign", &format!("{gun}:qa-1"), "--role", "qa"],
    ));
    let root = trust.trusted_root("publisher", &gun);
    let out = run(
        "other",
        &[
            "trust",
            "verify",
            "--root",
            root.to_str().unwrap(),
            &format!("{gun}:ext-1"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    // "other" needs the snapshot and timestamp keys of a file:// repository.
    let private = |home: &str| trust.dir.path().join(home).join("trust/private");
    for entry in std::fs::read_dir(private("publisher")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("\"role\": \"snapshot\"") || text.contains("\"role\": \"timestamp\"") {
            std::fs::copy(&path, private("other").join(path.file_name().unwrap())).unwrap();
        }
    }
    assert_success(&run(
        "other",
        &["trust", "sign", &format!("{gun}:ext-1"), "--role", "ext"],
    ));
    assert_eq!(role_json(&trust, &gun, "qa")["signed"]["version"], 1);

    // inspect shows each delegated role's version and expiry.
    let out = run("publisher", &["--format", "json", "trust", "inspect", &gun]);
    assert_success(&out);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let role = |name: &str| {
        view["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {view}"))
            .clone()
    };
    assert_eq!(role("qa")["version"], 1);
    assert!(role("qa")["expires_in_days"].as_i64().unwrap() > 1000);
    assert_eq!(role("ext")["version"], 1);
    let table = stdout(&run("publisher", &["trust", "inspect", &gun]));
    let qa_row = table.lines().find(|l| l.contains("│ qa ")).unwrap();
    assert!(qa_row.contains("(in 109"), "{table}");

    // refresh re-signs qa (held here) and says who must re-sign ext.
    let out = run(
        "publisher",
        &["trust", "refresh", &gun, "--within-days", "5000"],
    );
    assert_success(&out);
    assert!(field(&out, "Re-signed").contains("qa"), "{}", both(&out));
    assert!(!field(&out, "Re-signed").contains("ext"), "{}", both(&out));
    assert!(
        stderr(&out).contains("ext expires") && stderr(&out).contains("trust refresh"),
        "{}",
        both(&out)
    );
    assert_eq!(role_json(&trust, &gun, "qa")["signed"]["version"], 2);
    assert_eq!(role_json(&trust, &gun, "ext")["signed"]["version"], 1);
    let out = run(
        "consumer",
        &[
            "trust",
            "verify",
            "--root",
            root.to_str().unwrap(),
            &format!("{gun}:qa-1"),
        ],
    );
    assert_success(&out);
}

#[test]
fn n16_inspect_json_names_paths_terminating_and_counts_tags_per_role() {
    let (_img, _registry, gun) = pushed("team/app", &["1.0", "2.0", "v3"]);
    let trust = Trust::file();
    let run =
        |args: &[&str]| -> Output { trust.run_with_passphrases("publisher", args, &["releases"]) };
    assert_success(&run(&["trust", "init", &gun]));
    let key = field(
        &run(&["trust", "key", "generate", "--role", "releases"]),
        "Generated",
    );
    assert_success(&run(&[
        "trust",
        "delegate",
        "add",
        &gun,
        "releases",
        "--key",
        &key,
        "--paths",
        "v*",
        "--terminating",
    ]));
    for tag in ["1.0", "2.0"] {
        assert_success(&run(&["trust", "sign", &format!("{gun}:{tag}")]));
    }
    assert_success(&run(&[
        "trust",
        "sign",
        &format!("{gun}:v3"),
        "--role",
        "releases",
    ]));

    let out = run(&["--format", "json", "trust", "inspect", &gun]);
    assert_success(&out);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let releases = view["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "releases")
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(releases["kind"], "delegated");
    assert_eq!(releases["paths"], serde_json::json!(["v*"]));
    assert_eq!(releases["terminating"], true);
    assert_eq!(releases["targets"], 1);
    assert_eq!(view["roles"][1]["name"], "targets");
    assert_eq!(view["roles"][1]["targets"], 2);
    assert_eq!(view["targets"], 3, "every tag, whoever signed it");

    let table = stdout(&run(&["trust", "inspect", &gun]));
    let row = table.lines().find(|l| l.contains("│ releases ")).unwrap();
    assert!(row.contains("v* (terminating)"), "{table}");
    assert!(table.contains("3 signed"), "{table}");
}

/// The version of what the service serves as `file` for `gun`.
fn served_version(server: &TrustServer, gun: &str, file: &str) -> u64 {
    let url = format!("{}{file}", support::service::metadata_url(&server.url, gun));
    support::service::get_json(&url)["signed"]["version"]
        .as_u64()
        .unwrap()
}

#[test]
fn n4_refresh_works_when_the_service_holds_snapshot_and_prints_what_it_serves() {
    let (_data, server) = service();
    let trust = Trust::new(&server);
    let gun = "127.0.0.1:5000/team/ss";
    assert_success(&trust.run("publisher", &["trust", "init", gun, "--server-snapshot"]));
    // Nothing of the publisher's is due: nothing is posted, and it says why.
    let out = trust.run("publisher", &["trust", "refresh", gun]);
    assert_success(&out);
    assert!(
        field(&out, "Re-signed")
            .contains("nothing to re-sign: the service holds snapshot and timestamp"),
        "{}",
        both(&out)
    );
    // Also after the service's snapshot key was rotated.
    assert_success(&trust.run("publisher", &["trust", "rotate", gun, "snapshot"]));
    assert_success(&trust.run("publisher", &["trust", "refresh", gun]));
    // Everything due: root and targets re-signed; the versions printed are
    // the ones the service serves.
    let out = trust.run(
        "publisher",
        &["trust", "refresh", gun, "--within-days", "5000"],
    );
    assert_success(&out);
    assert!(
        field(&out, "Re-signed").contains("root, targets"),
        "{}",
        both(&out)
    );
    let timestamp = served_version(&server, gun, "timestamp.json");
    let snapshot = served_version(&server, gun, "snapshot.json");
    assert!(
        field(&out, "Timestamp").starts_with(&format!("v{timestamp},")),
        "served v{timestamp}: {}",
        both(&out)
    );
    assert!(
        field(&out, "Snapshot").starts_with(&format!("v{snapshot},")),
        "served v{snapshot}: {}",
        both(&out)
    );
}

#[test]
fn n14_refresh_needs_no_passphrase_when_only_the_services_timestamp_is_due() {
    let (_data, server) = service();
    let trust = Trust::new(&server);
    let gun = "127.0.0.1:5000/team/app";
    assert_success(&trust.run("publisher", &["trust", "init", gun]));
    let mut cmd = trust.command("publisher", &["trust", "refresh", gun], None);
    for role in ["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"] {
        cmd.env_remove(format!("CLEARANCE_PASSPHRASE_{role}"));
    }
    let out = cmd.output().unwrap();
    assert_success(&out);
    assert!(
        field(&out, "Re-signed").contains("the service holds timestamp"),
        "{}",
        both(&out)
    );
    assert!(
        field(&out, "Timestamp").starts_with(&format!(
            "v{},",
            served_version(&server, gun, "timestamp.json")
        )),
        "{}",
        both(&out)
    );
}

#[test]
fn n12_a_moved_tag_is_warned_about_and_re_signing_says_what_changed() {
    let (img, _registry, gun) = pushed("team/app", &["1.0"]);
    let trust = Trust::file();
    let image = format!("{gun}:1.0");
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    let signed = trust.sign(&gun, "1.0");
    let targets_version = || role_json(&trust, &gun, "targets")["signed"]["version"].clone();

    // The same digest again: already signed, nothing published.
    let before = targets_version();
    let out = trust.run(
        "publisher",
        &["trust", "sign", &format!("{image}@{signed}")],
    );
    assert_success(&out);
    assert!(stdout(&out).contains("Already signed"), "{}", both(&out));
    assert_eq!(targets_version(), before);

    // Someone re-points the tag (the same image, as Docker schema 2).
    support::skopeo_copy_with(
        &img.oci_ref(),
        &format!("docker://{image}"),
        None,
        &["--format", "v2s2"],
    );
    let out = trust.run(
        "consumer",
        &["trust", "verify", "--trust-on-first-use", &image],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("registry tag {image} now points to sha256:"))
            && stderr(&out).contains(&format!("run by digest: {gun}@{signed}")),
        "{}",
        both(&out)
    );
    assert_eq!(field(&out, "Run"), format!("{gun}@{signed}"));
    let out = trust.run("consumer", &["--format", "json", "trust", "verify", &image]);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["digest"], signed.as_str());
    assert_ne!(verdict["registry_digest"], signed.as_str());

    // Signing the tag again says what it was signed as before.
    let out = trust.run("publisher", &["trust", "sign", &image]);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!(
            "was signed by targets as {signed}; it is now signed as"
        )),
        "{}",
        both(&out)
    );
}

/// Runs a command on a pseudo-terminal (python3's pty module), typing each
/// answer when a passphrase prompt waits: `python3 -c PTY ARGV_JSON
/// ANSWERS_JSON`. Prints what the terminal showed; exits as the command did.
const PTY: &str = r#"
import json, os, pty, select, sys, time
argv, answers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, sent, deadline = b"", 0, time.time() + 120
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if fd in ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    prompts = out.count(b"assphrase for ") - out.count(b"wrong passphrase for ")
    if sent < len(answers) and sent < prompts and out.endswith(b": "):
        os.write(fd, answers[sent].encode() + b"\n")
        sent += 1
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// `args` run as `home` on a terminal, answering the prompts with `answers`,
/// without the passphrase variables for `unset` roles.
fn on_terminal(
    trust: &Trust,
    home: &str,
    args: &[&str],
    unset: &[&str],
    answers: &[&str],
) -> Output {
    support::require("python3");
    let probe = trust.command(home, &[], None);
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(PTY)
        .arg(serde_json::to_string(&[&[env!("CARGO_BIN_EXE_clearance")], args].concat()).unwrap())
        .arg(serde_json::to_string(answers).unwrap())
        .env_clear();
    for (k, v) in probe.get_envs() {
        if let Some(v) = v
            && !unset
                .iter()
                .any(|r| k == format!("CLEARANCE_PASSPHRASE_{r}").as_str())
        {
            cmd.env(k, v);
        }
    }
    cmd.output().unwrap()
}

#[test]
fn n13_passphrases_get_three_tries_name_their_variable_and_are_long_enough() {
    let (_img, _registry, gun) = pushed("team/app", &["v1", "v2", "v3"]);
    let trust = Trust::file_initialised(&gun);

    // A wrong passphrase from the environment names the variable.
    let out = trust
        .command("publisher", &["trust", "sign", &format!("{gun}:v1")], None)
        .env("CLEARANCE_PASSPHRASE_TARGETS", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("in CLEARANCE_PASSPHRASE_TARGETS"),
        "{}",
        both(&out)
    );
    // A new key's passphrase has at least 8 characters, from anywhere.
    let out = trust
        .command(
            "publisher",
            &["trust", "key", "generate", "--role", "qa"],
            None,
        )
        .env("CLEARANCE_PASSPHRASE_QA", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("CLEARANCE_PASSPHRASE_QA is shorter than 8 characters"),
        "{}",
        both(&out)
    );

    // At a prompt: two wrong passphrases, then the right one.
    let sign = |tag: &str, answers: &[&str]| {
        on_terminal(
            &trust,
            "publisher",
            &["trust", "sign", &format!("{gun}:{tag}")],
            &["TARGETS"],
            answers,
        )
    };
    let out = sign("v1", &["wrong one", "wrong two", "TARGETS passphrase"]);
    let shown = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("2 tries left") && shown.contains("1 try left"),
        "{shown}"
    );
    // Three wrong ones: refused, nothing signed.
    let out = sign("v2", &["wrong one", "wrong two", "wrong three"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("(3 tries)"), "{}", stdout(&out));

    // A new key at a prompt: too short, then a repeat that does not match,
    // then one that does.
    let out = on_terminal(
        &trust,
        "publisher",
        &["trust", "key", "generate", "--role", "qa"],
        &["QA"],
        &[
            "short",
            "long enough",
            "long enougH",
            "long enough",
            "long enough",
        ],
    );
    let shown = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("at least 8 characters") && shown.contains("do not match"),
        "{shown}"
    );
    assert!(shown.contains("Generated"), "{shown}");
}

#[test]
fn n13_a_wrong_login_is_found_before_any_key_is_unsealed() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    // Anyone may read: a wrong login is not needed, so not found, to load.
    let config = auth_config(data.path())
        + "\n[[auth.access]]\nrepositories = \"*/team/**\"\nanonymous = [\"pull\"]\n";
    let server = TrustServer::start(data.path(), Some(&config), &[]);
    let trust = Trust::new(&server);
    let alice = "alice:alice-secret";
    assert_success(&trust.run_as("alice", alice, &["trust", "init", &gun]));
    let out = trust
        .command(
            "alice",
            &["trust", "sign", &format!("{gun}:v1")],
            Some("alice:wrong"),
        )
        .env("CLEARANCE_PASSPHRASE_TARGETS", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("refused the credentials"),
        "{}",
        both(&out)
    );
    assert!(
        !stderr(&out).contains("wrong passphrase"),
        "unsealed first: {}",
        both(&out)
    );
}

#[test]
fn n15_trust_on_first_use_prints_the_pinned_root_keys() {
    let gun = "127.0.0.1:5000/team/app";
    let (trust, root) = file_repository(gun);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    let root_key = doc["signed"]["roles"]["root"]["keyids"][0]
        .as_str()
        .unwrap();
    let image = format!("{gun}:v1");
    let out = trust.run(
        "consumer",
        &["trust", "verify", "--trust-on-first-use", &image],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stderr(&out).contains("trusted on first use") && stderr(&out).contains(root_key),
        "{}",
        both(&out)
    );
    // Once pinned, nothing more is said.
    let out = trust.run(
        "consumer",
        &["trust", "verify", "--trust-on-first-use", &image],
    );
    assert!(
        !stderr(&out).contains("trusted on first use"),
        "{}",
        both(&out)
    );
}

#[test]
fn n19_key_list_says_which_repository_uses_each_key() {
    let trust = Trust::file();
    let (a, b) = ("127.0.0.1:5000/team/a", "127.0.0.1:5000/team/b");
    for gun in [a, b] {
        assert_success(&trust.run("publisher", &["trust", "init", gun]));
    }
    let out = trust.run("publisher", &["--format", "json", "trust", "key", "list"]);
    assert_success(&out);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = view["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 8);
    for k in keys {
        let uses = k["repositories"].as_array().unwrap();
        assert_eq!(uses.len(), 1, "{k}");
        assert!(
            uses[0]["repository"] == a || uses[0]["repository"] == b,
            "{k}"
        );
        assert_eq!(uses[0]["role"], k["role"], "{k}");
    }
    // The table names the repository and role; the directory once, not per row.
    let table = stdout(&trust.run("publisher", &["trust", "key", "list"]));
    assert!(
        table.contains(&format!("{a} (root)")) && table.contains(&format!("{b} (targets)")),
        "{table}"
    );
    let keystore = trust.dir.path().join("publisher/trust/private");
    assert_eq!(
        table.matches(keystore.to_str().unwrap()).count(),
        1,
        "{table}"
    );
}

/// Whether the document describes every field of `value` (and of the
/// objects in its arrays, as `array[].field` or `field`).
fn undocumented(doc: &str, value: &serde_json::Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (key, inner) in value.as_object().unwrap() {
        if !doc.contains(&format!("`{key}`")) {
            missing.push(key.clone());
        }
        for item in inner.as_array().into_iter().flatten() {
            for field in item.as_object().into_iter().flat_map(|o| o.keys()) {
                if !doc.contains(&format!("`{key}[].{field}`"))
                    && !doc.contains(&format!("`{field}`"))
                {
                    missing.push(format!("{key}[].{field}"));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    missing
}

#[test]
fn n17_every_trust_json_shape_has_a_schema_and_a_document() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let trust = Trust::file();
    let run = |args: &[&str]| -> Output {
        let out = trust.run_with_passphrases("publisher", args, &["releases"]);
        assert_success(&out);
        out
    };
    // Every command that publishes prints its result as JSON too (issue 8
    // point 6: `--format` honoured, never ignored).
    let json = |out: Output| -> serde_json::Value { serde_json::from_slice(&out.stdout).unwrap() };
    let init = json(run(&["--format", "json", "trust", "init", &gun]));
    let saved = json(run(&[
        "--format", "json", "trust", "key", "generate", "--role", "releases",
    ]));
    let key = saved["keyid"].as_str().unwrap().to_owned();
    let delegated = json(run(&[
        "--format", "json", "trust", "delegate", "add", &gun, "releases", "--key", &key, "--paths",
        "v*",
    ]));
    let signed = json(run(&[
        "--format",
        "json",
        "trust",
        "sign",
        &format!("{gun}:v1"),
        "--role",
        "releases",
    ]));
    let refreshed = json(run(&["--format", "json", "trust", "refresh", &gun]));
    let rotated = json(run(&[
        "--format",
        "json",
        "trust",
        "rotate",
        &gun,
        "snapshot",
        "--keep-old",
    ]));
    let old = rotated["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| **k != rotated["new_keyid"])
        .and_then(|k| k.as_str())
        .unwrap()
        .to_owned();
    let revoked = json(run(&["--format", "json", "trust", "revoke", &gun, &old]));
    assert_eq!(
        revoked["roles"],
        serde_json::json!(["snapshot"]),
        "{revoked}"
    );
    let docs = support::repo_root().join("docs");
    for (schema, doc, value) in [
        ("clearance.trust.init/v1", "trust-publish-json.md", init),
        ("clearance.trust.key-saved/v1", "trust-keys-json.md", saved),
        (
            "clearance.trust.delegate/v1",
            "trust-publish-json.md",
            delegated,
        ),
        ("clearance.trust.sign/v1", "trust-publish-json.md", signed),
        (
            "clearance.trust.refresh/v1",
            "trust-publish-json.md",
            refreshed,
        ),
        (
            "clearance.trust.rotate/v1",
            "trust-publish-json.md",
            rotated,
        ),
        (
            "clearance.trust.revoke/v1",
            "trust-publish-json.md",
            revoked,
        ),
        (
            "clearance.trust.verify/v1",
            "trust-verify-json.md",
            json(run(&[
                "--format",
                "json",
                "trust",
                "verify",
                &format!("{gun}:v1"),
            ])),
        ),
        (
            "clearance.trust.inspect/v1",
            "trust-inspect-json.md",
            json(run(&["--format", "json", "trust", "inspect", &gun])),
        ),
        (
            "clearance.trust.keys/v1",
            "trust-keys-json.md",
            json(run(&["--format", "json", "trust", "key", "list"])),
        ),
        (
            "clearance.trust.key/v1",
            "trust-keys-json.md",
            json(run(&["trust", "key", "export", &key])),
        ),
    ] {
        assert_eq!(value["schema"], schema, "{value}");
        let text = std::fs::read_to_string(docs.join(doc)).unwrap();
        assert!(text.contains(schema), "{doc} does not name {schema}");
        assert_eq!(undocumented(&text, &value), Vec::<String>::new(), "{doc}");
    }
    // --format says where the shapes are.
    let help = stdout(&run(&["trust", "verify", "--help"]));
    assert!(help.contains("trust-verify-json.md"), "{help}");
}

#[test]
fn n20_verify_shows_the_delegations_version_and_delegate_help_describes_its_arguments() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let trust = Trust::file();
    let run = |args: &[&str]| -> Output {
        let out = trust.run_with_passphrases("publisher", args, &["releases"]);
        assert_success(&out);
        out
    };
    run(&["trust", "init", &gun]);
    let key = field(
        &run(&["trust", "key", "generate", "--role", "releases"]),
        "Generated",
    );
    run(&[
        "trust", "delegate", "add", &gun, "releases", "--key", &key, "--paths", "v*",
    ]);
    run(&["trust", "sign", &format!("{gun}:v1"), "--role", "releases"]);
    let out = run(&["trust", "verify", &format!("{gun}:v1")]);
    assert_eq!(
        field(&out, "Version"),
        "releases v1 (targets v2)",
        "{}",
        both(&out)
    );

    let help = stdout(&run(&["trust", "delegate", "add", "--help"]));
    assert!(
        help.contains("The image repository") && help.contains("delegated role's name"),
        "{help}"
    );
    assert!(!help.contains("Notary- compatible"), "{help}");
}

#[test]
fn n3_the_documented_reset_forgets_a_repository() {
    let gun = "127.0.0.1:5000/team/app";
    let (trust, root) = file_repository(gun);
    let image = format!("{gun}:v1");
    let out = trust.run(
        "consumer",
        &["trust", "verify", "--trust-on-first-use", &image],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    // The README's path: $CLEARANCE_HOME/trust/tuf/ and the name, `/` and `:`
    // percent-encoded.
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains("registry.example.com%2Fteam%2Fapp"),
        "README lost the reset"
    );
    let dir = trust
        .dir
        .path()
        .join("consumer/trust/tuf")
        .join(gun.replace(':', "%3A").replace('/', "%2F"));
    assert!(
        dir.join("root.json").is_file(),
        "{} is not where the pin is",
        dir.display()
    );
    // A different root is refused, naming where the pin is.
    let (_other, other_root) = file_repository("127.0.0.1:5000/team/other");
    let out = trust.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--root",
            other_root.to_str().unwrap(),
            &image,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(dir.to_str().unwrap()),
        "{}",
        both(&out)
    );
    // Deleted: forgotten, as on first use; then pinned again from --root.
    std::fs::remove_dir_all(&dir).unwrap();
    let out = trust.run("consumer", &["trust", "verify", &image]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(stderr(&out).contains("no trusted root"), "{}", both(&out));
    let out = trust.run(
        "consumer",
        &["trust", "verify", "--root", root.to_str().unwrap(), &image],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(dir.join("root.json").is_file());
}
