//! `clearance inspect` on the image shapes real tools write: containerd's
//! `docker save`, indexes without platforms or with attestations (also as
//! skopeo copies them), foreign layers.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "../../clearance-oci/tests/support/images.rs"]
mod images;

use std::path::Path;

use clearance_oci::Digest;
use images::{LayoutBuilder, Pack, on};
use serde_json::{Value, json};
use support::{clearance, inspect_json, skopeo_copy_with, stderr, stdout};

fn diff_ids(v: &Value) -> Vec<Value> {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diff_id"].clone())
        .collect()
}

fn expected(ids: &[Digest]) -> Vec<Value> {
    ids.iter().map(|d| json!(d.to_string())).collect()
}

#[test]
fn c8d_docker_save_reads_as_docker_and_oci_archive() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    let (p, man) = images::containerd_docker_save(dir.path(), &tar, Pack::Gzip);
    let docker = inspect_json(&[&format!("docker-archive:{}", tar.display())]);
    let oci = inspect_json(&[&format!("oci-archive:{}:latest", tar.display())]);
    for v in [&docker, &oci] {
        assert_eq!(diff_ids(v), expected(&p.diff_ids));
        assert_eq!(v["layers"][0]["compression"], "gzip");
        assert_eq!(
            v["layers"][0]["digest"],
            Digest::sha256_of(&p.blobs[0]).to_string()
        );
    }
    assert_eq!(oci["manifest"]["digest"], man["digest"]);
}

/// An index whose entries name no platform: arm64 first, then amd64.
fn unlabelled_index(dir: &Path) -> (String, Value) {
    let mut layout = LayoutBuilder::new(&dir.join("oci"));
    let arm = layout.image(&images::parts(Pack::Gzip, "linux/arm64", "arm"), Pack::Gzip);
    let amd = layout.image(&images::parts(Pack::Gzip, "linux/amd64", "amd"), Pack::Gzip);
    let missing = images::descriptor(images::OCI_MANIFEST, b"{}");
    let index = layout.index(vec![arm, amd.clone(), missing]);
    layout.tag(index, "v1");
    layout.finish();
    (format!("oci:{}:v1", layout.root.display()), amd)
}

#[test]
fn index_entries_without_a_platform_are_chosen_by_their_config() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, amd) = unlabelled_index(dir.path());
    let v = inspect_json(&["--skip-layers", &reference]);
    assert_eq!(v["manifest"]["digest"], amd["digest"]);
    assert!(v["index_digest"].is_string());
    assert_eq!(v["platform"]["architecture"], "amd64");
}

#[test]
fn platform_errors_list_what_there_is_and_name_what_could_not_be_decided() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = unlabelled_index(dir.path());
    let out = clearance(&["inspect", "--platform", "linux/s390x", &reference]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("available: linux/arm64, linux/amd64"), "{err}");
    let missing = Digest::sha256_of(b"{}").to_string();
    assert!(
        err.contains(&format!("could not tell the platform of: {missing}")),
        "{err}"
    );
}

/// A layout whose layer 0 is foreign (blob absent, kept at a URL).
fn foreign_layout(dir: &Path) -> String {
    let mut layout = LayoutBuilder::new(&dir.join("oci"));
    let p = images::parts(Pack::Gzip, "windows/amd64", "foreign");
    let mut foreign = images::descriptor(images::DOCKER_FOREIGN, &p.blobs[0]);
    foreign["urls"] = json!([format!(
        "{}{}",
        images::FOREIGN_URL,
        foreign["digest"].as_str().unwrap()
    )]);
    let app = layout.put(images::DOCKER_LAYER_GZIP, &p.blobs[1]);
    let m = layout.manifest(vec![foreign, app], &p.config, images::DOCKER_CONFIG);
    layout.tag(m, "ltsc");
    layout.finish();
    format!("oci:{}:ltsc", layout.root.display())
}

#[test]
fn foreign_layers_are_described_named_and_skippable() {
    let dir = tempfile::tempdir().unwrap();
    let reference = foreign_layout(dir.path());
    let described = inspect_json(&["--skip-layers", &reference]);
    let layer = &described["layers"][0];
    assert_eq!(
        (layer["foreign"].clone(), layer["read"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(layer["media_type"], images::DOCKER_FOREIGN);
    let url = layer["urls"][0].as_str().unwrap().to_owned();
    assert!(url.starts_with(images::FOREIGN_URL));

    let out = clearance(&["inspect", &reference]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "layer 0",
        "foreign (non-distributable)",
        &url,
        "--skip-foreign-layers",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }

    let rest = inspect_json(&["--skip-foreign-layers", &reference]);
    assert_eq!(rest["layers"][0]["read"], false);
    assert_eq!(rest["layers"][1]["read"], true);
    assert_eq!(rest["layers"][1]["entries"], 2);
    let table = clearance(&["inspect", "--skip-foreign-layers", &reference]);
    let text = stdout(&table);
    assert!(text.contains("(foreign)"), "{text}");
    assert!(
        text.contains("layer 0 is a foreign (non-distributable) layer"),
        "{text}"
    );
    assert!(text.contains(&url) && text.contains("not read"), "{text}");
}

/// A multi-platform layout as BuildKit pushes it: linux/amd64 (labelled),
/// linux/arm64 (no platform), and an attestation for amd64 whose blobs are
/// present and whose config is an image config type.
fn buildkit_layout(dir: &Path, how: Pack) -> (String, Vec<Digest>) {
    let mut layout = LayoutBuilder::new(&dir.join("src"));
    let amd_parts = images::parts(how, "linux/amd64", "amd");
    let amd = layout.image(&amd_parts, how);
    let arm = layout.image(&images::parts(how, "linux/arm64", "arm"), how);
    let statement = layout.put(
        "application/vnd.in-toto+json",
        br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#,
    );
    let att_config = json!({"architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [statement["digest"]]}});
    let mut att = layout.manifest(
        vec![statement],
        &serde_json::to_vec(&att_config).unwrap(),
        images::OCI_CONFIG,
    );
    att["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    att["annotations"] = json!({"vnd.docker.reference.digest": amd["digest"],
        "vnd.docker.reference.type": "attestation-manifest"});
    let index = layout.index(vec![on(amd, "linux/amd64"), arm, att]);
    layout.tag(index, "v1");
    layout.finish();
    (
        format!("oci:{}:v1", layout.root.display()),
        amd_parts.diff_ids,
    )
}

#[test]
fn skopeo_copies_of_indexes_with_attestations_read_on_every_transport() {
    for how in [Pack::Gzip, Pack::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let (src, amd_diff_ids) = buildkit_layout(dir.path(), how);
        let copied = format!("oci:{}:v1", dir.path().join("copied").display());
        skopeo_copy_with(&src, &copied, None, &["--multi-arch", "all"]);
        for reference in [&src, &copied] {
            let amd = inspect_json(&[reference.as_str()]);
            assert_eq!(diff_ids(&amd), expected(&amd_diff_ids));
            let arm = inspect_json(&["--platform", "linux/arm64", reference.as_str()]);
            assert_eq!(arm["platform"]["architecture"], "arm64");
        }
        if how == Pack::Zstd {
            continue; // skopeo 1.9 refuses zstd layers in docker images
        }
        // skopeo writes docker archives with uncompressed `<hex>.tar` layers.
        let archive = dir.path().join("docker.tar");
        let dest = format!("docker-archive:{}:example/app:v1", archive.display());
        skopeo_copy_with(
            &src,
            &dest,
            None,
            &["--override-arch", "amd64", "--override-os", "linux"],
        );
        let docker = inspect_json(&[&format!("docker-archive:{}", archive.display())]);
        assert_eq!(diff_ids(&docker), expected(&amd_diff_ids));
        assert_eq!(docker["layers"][0]["compression"], "none");
    }
}

#[test]
fn a_platform_asked_for_and_not_there_is_warned_about_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = LayoutBuilder::new(dir.path());
    let arm = l.image(&images::parts(Pack::Gzip, "linux/arm64", "arm"), Pack::Gzip);
    l.tag(arm, "v1");
    l.finish();
    let image = format!("oci:{}:v1", dir.path().display());
    let asked = clearance(&[
        "inspect",
        "--skip-layers",
        "--platform",
        "linux/amd64",
        &image,
    ]);
    assert!(asked.status.success(), "{}", stderr(&asked));
    assert!(
        stderr(&asked).contains("warning:")
            && stderr(&asked).contains("a single image for linux/arm64, not linux/amd64"),
        "{}",
        stderr(&asked)
    );
    // Not asked: the default platform is no promise, so no warning.
    let default = clearance(&["inspect", "--skip-layers", &image]);
    assert!(default.status.success());
    assert!(
        !stderr(&default).contains("warning"),
        "{}",
        stderr(&default)
    );
    assert!(stdout(&default).contains("linux/arm64"));
}
