//! Pulls from Debian's `docker-registry` (CNCF Distribution 2.8) on
//! 127.0.0.1, filled by skopeo: anonymous and with htpasswd basic auth.
#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use support::{Registry, TestImage, clearance, inspect_json, skopeo_copy, stderr};

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
