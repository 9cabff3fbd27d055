//! The trust commands against the review's findings (2026-11, part B), end
//! to end with the real binary: each test is named after the finding it
//! guards. Peers (Distribution, the trust service, SoftHSM2) run on
//! 127.0.0.1 as in the other trust tests.
#![allow(clippy::unwrap_used)]

mod support;

use support::{clearance, stderr};

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
