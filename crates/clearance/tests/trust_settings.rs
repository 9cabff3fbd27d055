//! The trust flags become settings once (issue 8 point 6, review A.1 (3)),
//! end to end with the real binary: the registry's CA is never the trust
//! server's, and `--format json` is honoured or refused, never ignored.
#![allow(clippy::unwrap_used)]

mod support;

use support::service::Trust;
use support::{TestCa, TrustServer, both, stderr, stdout};

/// Review A.1 (3): `trust verify` handed the registry's `--ca-file` to the
/// trust server's client, where it replaced `--trust-ca-file`: a trust
/// service whose CA was given was then refused as untrusted (exit 2).
#[test]
fn a1_3_verify_does_not_give_the_registrys_ca_to_the_trust_server() {
    let ca = TestCa::new();
    let registry_ca = TestCa::new();
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start_tls(data.path(), &ca);
    let https = server.https_url();
    let trust = Trust::new(&server);
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
            "--ca-file",
            registry_ca.ca_cert.to_str().unwrap(),
            "127.0.0.1:5000/team/app:v1",
        ],
    );
    // The trust server answered (it has no trust data for the repository):
    // not a TLS failure naming --trust-ca-file.
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stdout(&out).contains("no trust data"), "{}", both(&out));
    assert!(!stderr(&out).contains("--trust-ca-file"), "{}", both(&out));
}

/// `--format json` is refused (exit 2, saying why) by the one trust command
/// that prints no result, rather than ignored.
#[test]
fn i8_a_command_without_json_output_refuses_format_json() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["--format", "json", "trust", "tuf-client"])
        .args(["--metadata-dir", home.path().to_str().unwrap(), "refresh"])
        .env_clear()
        .env("CLEARANCE_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("has no JSON output") && stderr(&out).contains("--format json"),
        "{}",
        both(&out)
    );
}
