//! Nothing from an image, a registry or a server reaches the terminal raw
//! (issue 8, point 5; review finding B-10): control characters and bidi
//! overrides are escaped in every text output.
#![allow(clippy::unwrap_used)]

#[path = "../../clearance-oci/tests/support/images.rs"]
mod images;
mod support;

use clearance_oci::Digest;
use support::service::Trust;
use support::{assert_success, clearance, stderr, stdout};

/// Escape sequences a hostile string might carry: window title, screen
/// clear, cursor up and erase line, an 8-bit CSI, a bidi override.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[1A\u{1b}[2K\u{9b}31m\u{202e}";

fn assert_no_raw_controls(text: &str, what: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(raw.is_empty(), "{what} printed raw {raw:?}:\n{text}");
}

#[test]
fn b10_error_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("layout{HOSTILE}"));
    let out = clearance(&["inspect", &format!("oci:{}:v1", missing.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_no_raw_controls(&err, "an error naming a path");
    assert!(err.contains("layout\\u{1b}]0;pwned\\u{7}"), "{err}");
}

/// Line breaks in text from outside (a path, a server's message, a
/// platform in an index) are escaped too: they could otherwise start a line
/// that passes for Clearance's own `error:` (break-it run of inspect, 4).
#[test]
fn b10_line_breaks_in_error_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("layout\r\nerror: forged line");
    let out = clearance(&["inspect", &format!("oci:{}:v1", missing.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("layout\\r\\nerror: forged line"), "{err}");
    assert!(
        err.lines().all(|l| !l.starts_with("error: forged")),
        "{err}"
    );
    // Every line is Clearance's own: a first `error:` and its causes.
    assert!(
        err.lines()
            .all(|l| l.starts_with("error:") || l.starts_with("  caused by:")),
        "{err}"
    );
}

/// An image whose config carries hostile text everywhere `inspect` prints.
fn hostile_image(dir: &std::path::Path) -> String {
    let tar = images::layer_tar(&[("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")]);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "author": format!("mallory{HOSTILE}"),
        "config": {
            "User": format!("nobody{HOSTILE}"),
            "Env": [format!("X={HOSTILE}hidden")],
            "Cmd": [format!("/bin/sh{HOSTILE}")],
            "WorkingDir": format!("/app{HOSTILE}"),
            "Labels": {"team": format!("{HOSTILE}clean")},
        },
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(&tar).to_string()]},
        "history": [{"created_by": format!("\u{1b}[1A\u{1b}[2Kinnocent step{HOSTILE}")}],
    });
    let mut l = images::LayoutBuilder::new(dir);
    let layer = l.put(images::OCI_LAYER, &tar);
    let manifest = l.manifest(
        vec![layer],
        &serde_json::to_vec(&config).unwrap(),
        images::OCI_CONFIG,
    );
    l.tag(manifest, "v1");
    l.finish();
    format!("oci:{}:v1", dir.display())
}

#[test]
fn b10_image_config_and_history_are_escaped_in_the_inspect_table() {
    let dir = tempfile::tempdir().unwrap();
    let image = hostile_image(dir.path());
    let out = clearance(&["inspect", &image]);
    assert_success(&out);
    let text = stdout(&out);
    assert_no_raw_controls(&text, "inspect");
    for escaped in [
        "nobody\\u{1b}]0;pwned\\u{7}",
        "Author       mallory\\u{1b}]0;pwned",
        "X=\\u{1b}]0;pwned",
        "team=\\u{1b}]0;pwned",
        "\\u{1b}[1A\\u{1b}[2Kinnocent step",
        "\\u{9b}31m\\u{202e}",
    ] {
        assert!(text.contains(escaped), "{escaped} missing:\n{text}");
    }
    // JSON keeps the values exactly (serde escapes them for the wire).
    let json: serde_json::Value = serde_json::from_str(&stdout(&clearance(&[
        "inspect", "--format", "json", &image,
    ])))
    .unwrap();
    assert_eq!(json["config"]["user"], format!("nobody{HOSTILE}"));
}

#[test]
fn b10_role_names_are_escaped_in_trust_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("server").display());
    let trust = Trust { dir, url };
    let gun = "127.0.0.1:5000/team/app";
    assert_success(&trust.run("publisher", &["trust", "init", gun]));
    let run = |args: &[&str]| {
        let mut cmd = trust.command("publisher", args, None);
        cmd.env("CLEARANCE_PASSPHRASE_QA", "qa passphrase");
        cmd.output().unwrap()
    };
    let keyid = {
        let out = run(&["trust", "key", "generate", "--role", "qa"]);
        assert_success(&out);
        stdout(&out)
            .lines()
            .find_map(|l| l.strip_prefix("Generated").map(|k| k.trim().to_owned()))
            .unwrap()
    };
    // A role name is a checked RoleName (issue 8 point 6): one with control
    // characters is refused before anything is signed (exit 2), and the
    // refusal shows it escaped; metadata that names one does not parse, so
    // no such name reaches `trust inspect` either.
    let role = "qa\u{1b}]0;pwned\u{7}";
    let out = run(&[
        "trust", "delegate", "add", gun, role, "--key", &keyid, "--paths", "qa-*",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_no_raw_controls(&stdout(&out), "delegate add");
    assert_no_raw_controls(&stderr(&out), "delegate add's refusal");
    assert!(
        stderr(&out).contains("qa\\u{1b}]0;pwned\\u{7}")
            && stderr(&out).contains("control character"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&trust.run("publisher", &["trust", "inspect", gun]));
    assert_no_raw_controls(&text, "trust inspect");
    assert!(!text.contains("pwned"), "{text}");
}
