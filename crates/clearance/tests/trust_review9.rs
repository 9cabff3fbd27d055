//! The trust CLI against the ninth review's findings (a reviewer trying
//! `clearance trust …` as a new user), end to end with the real binary:
//! each test is named after the finding it guards (`r9_3_…` is finding 3).
//! Everything runs on 127.0.0.1 or in a `file://` repository.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::service::Trust;
use support::{assert_success, stderr, stdout};

/// Both streams, for assertion messages.
fn both(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// A registry host nothing listens on: a command that reaches the registry
/// fails with "fetching the manifest", which the tests below rule out.
const NO_REGISTRY: &str = "127.0.0.1:9";

/// A `file://` repository for `gun`, initialised by "publisher".
fn file_repository(gun: &str) -> Trust {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("server").display());
    let trust = Trust { dir, url };
    assert_success(&trust.run("publisher", &["trust", "init", gun]));
    trust
}

/// The key id `trust key generate` printed.
fn generated(out: &Output) -> String {
    assert_success(out);
    stdout(out)
        .lines()
        .find_map(|l| l.strip_prefix("Generated").map(|k| k.trim().to_owned()))
        .unwrap_or_else(|| panic!("no Generated line: {}", both(out)))
}

#[test]
fn r9_3_delegation_names_are_plain_and_an_unknown_sign_role_says_how_to_list_roles() {
    let gun = format!("{NO_REGISTRY}/team/app");
    let trust = file_repository(&gun);
    let run = |args: &[&str]| {
        trust
            .command("publisher", args, None)
            .env("CLEARANCE_PASSPHRASE_QA", "qa passphrase")
            .output()
            .unwrap()
    };
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
    let trust = file_repository(&gun);
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
