//! Pulls from Debian's `docker-registry` (CNCF Distribution 2.8) on
//! 127.0.0.1, filled by skopeo: anonymous and with htpasswd basic auth.
#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use support::{Registry, TestCa, TestImage, clearance, inspect_json, skopeo_copy, stderr};

#[test]
fn pulls_by_tag_and_digest_without_auth() {
    let img = TestImage::build();
    let registry = Registry::start(None);
    let remote = format!("docker://{}/team/app:v1", registry.host());
    skopeo_copy(&img.oci_ref(), &remote, None);
    let local = inspect_json(&[&img.oci_ref()]);
    let pulled = inspect_json(&[&remote]);
    assert_eq!(pulled["manifest"]["digest"], local["manifest"]["digest"]);
    assert_eq!(pulled["config"], local["config"]);
    assert_eq!(pulled["layers"], local["layers"]);
    assert_eq!(
        pulled["reference"],
        format!("{}/team/app:v1", registry.host())
    );

    let digest = local["manifest"]["digest"].as_str().unwrap();
    let by_digest = inspect_json(&[
        "--skip-layers",
        &format!("{}/team/app@{digest}", registry.host()),
    ]);
    assert_eq!(by_digest["config"]["digest"], local["config"]["digest"]);

    let out = clearance(&["inspect", &format!("{}/team/app:missing", registry.host())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("MANIFEST_UNKNOWN"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pulls_with_basic_auth_from_flags_or_docker_config() {
    let img = TestImage::build();
    let registry = Registry::start(Some(("alice", "s3cret-pass")));
    let remote = format!("docker://{}/team/app:v1", registry.host());
    skopeo_copy(&img.oci_ref(), &remote, Some("alice:s3cret-pass"));

    let out = clearance(&["inspect", "--skip-layers", &remote]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("authentication required") && err.contains("--creds"),
        "{err}"
    );

    let out = clearance(&[
        "inspect",
        "--skip-layers",
        "--creds",
        "alice:wrong",
        &remote,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refused the credentials"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("wrong"),
        "the password leaked into an error"
    );

    let pulled = inspect_json(&["--creds", "alice:s3cret-pass", &remote]);
    assert_eq!(pulled["layers"].as_array().unwrap().len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret-pass");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let pulled = inspect_json(&[
        "--skip-layers",
        "--docker-config",
        config.to_str().unwrap(),
        &remote,
    ]);
    assert_eq!(
        pulled["manifest"]["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
}

#[test]
fn tls_with_a_private_ca_needs_the_ca_file() {
    let img = TestImage::build();
    let ca = TestCa::new();
    let registry = Registry::start_tls(&ca);
    let remote = format!("docker://{}/team/app:v1", registry.host());
    skopeo_copy(&img.oci_ref(), &remote, None);

    let out = clearance(&["inspect", "--skip-layers", &remote]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("certificate") && err.contains("--ca-file"),
        "{err}"
    );

    let pulled = inspect_json(&["--ca-file", ca.ca_cert.to_str().unwrap(), &remote]);
    let local = inspect_json(&[&img.oci_ref()]);
    assert_eq!(pulled["manifest"]["digest"], local["manifest"]["digest"]);
    assert_eq!(pulled["layers"], local["layers"]);

    let out = clearance(&["inspect", "--ca-file", "/nonexistent/ca.pem", &remote]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn docker_schema_2_manifests_pull_like_oci_ones() {
    let img = TestImage::build();
    let registry = Registry::start(None);
    let remote = format!("docker://{}/team/app:v2s2", registry.host());
    support::skopeo_copy_with(&img.oci_ref(), &remote, None, &["--format", "v2s2"]);
    let pulled = inspect_json(&[&remote]);
    assert_eq!(
        pulled["manifest"]["media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        pulled["layers"][0]["media_type"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    let local = inspect_json(&[&img.oci_ref()]);
    let diff_ids = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["diff_id"].clone())
            .collect()
    };
    assert_eq!(diff_ids(&pulled), diff_ids(&local));
    assert_eq!(pulled["config"]["user"], "app");
}

#[test]
fn docker_credential_helpers_are_asked_for_logins() {
    use std::os::unix::fs::PermissionsExt as _;
    let img = TestImage::build();
    let registry = Registry::start(Some(("bob", "helper-pass")));
    let remote = format!("docker://{}/team/app:v1", registry.host());
    skopeo_copy(&img.oci_ref(), &remote, Some("bob:helper-pass"));

    let dir = tempfile::tempdir().unwrap();
    let asked = dir.path().join("asked");
    let helper = dir.path().join("docker-credential-clearancetest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > {}\nprintf '%s' '{{\"ServerURL\":\"x\",\"Username\":\"bob\",\"Secret\":\"helper-pass\"}}'\n",
            asked.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{}},"credHelpers":{{"{}":"clearancetest"}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let args = [
        "inspect",
        "--skip-layers",
        "--format",
        "json",
        "--docker-config",
        config.to_str().unwrap(),
        &remote,
    ];
    let out = support::clearance_with_path(&args, Some(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), registry.host());

    // A helper that is named but missing is an error that names it.
    std::fs::remove_file(&helper).unwrap();
    let out = support::clearance_with_path(&args, Some(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("docker-credential-clearancetest"),
        "{}",
        stderr(&out)
    );
}

/// newuser A: a credential helper that never answers (`{"credsStore":
/// "hang"}`) is stopped at `--timeout`, and the error names it and says
/// what to check.
#[test]
fn credential_helper_that_never_answers_is_stopped_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    let registry = Registry::start(Some(("bob", "helper-pass")));
    let dir = tempfile::tempdir().unwrap();
    let helper = dir.path().join("docker-credential-hang");
    // Not `exec`: its child keeps the output pipe open once the shell is killed.
    std::fs::write(&helper, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"credsStore":"hang"}"#).unwrap();
    let started = std::time::Instant::now();
    let out = support::clearance_with_path(
        &[
            "inspect",
            "--skip-layers",
            "--timeout",
            "2",
            "--docker-config",
            config.to_str().unwrap(),
            &format!("docker://{}/team/app:v1", registry.host()),
        ],
        Some(dir.path()),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "docker-credential-hang",
        "credsStore",
        "did not answer",
        "within 2 s",
        "get",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
}
