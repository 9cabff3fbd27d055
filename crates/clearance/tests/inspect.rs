//! `clearance inspect` end to end on images built by umoci and skopeo.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use clearance_oci::layer::{
    Change, Collect, ImagePath, LayerLimits, MergedFs, PathEvent, read_layer,
};
use clearance_oci::{ImageSource, Platform, SourceSettings};
use serde_json::Value;
use support::{TestImage, clearance, inspect_json, stderr};

fn layer_summary(v: &Value) -> Vec<(Value, Value, Value)> {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["diff_id"].clone(),
                l["uncompressed_size"].clone(),
                l["entries"].clone(),
            )
        })
        .collect()
}

#[test]
fn every_local_transport_reads_the_same_image() {
    let img = TestImage::build();
    let oci = inspect_json(&[&img.oci_ref()]);
    let archive = inspect_json(&[&format!(
        "oci-archive:{}:v1",
        img.path("image.oci.tar").display()
    )]);
    let docker = inspect_json(&[&format!(
        "docker-archive:{}",
        img.path("image.docker.tar").display()
    )]);
    assert_eq!(oci["manifest"]["digest"], archive["manifest"]["digest"]);
    for other in [&archive, &docker] {
        assert_eq!(oci["config"], other["config"]);
        assert_eq!(oci["platform"], other["platform"]);
        assert_eq!(layer_summary(&oci), layer_summary(other));
    }
    assert_eq!(oci["schema"], "clearance.inspect/v1");
    assert_eq!(oci["layers"].as_array().unwrap().len(), 3);
    assert_eq!(oci["layers"][0]["compression"], "gzip");
    assert_eq!(docker["layers"][0]["compression"], "none");
    assert_eq!(
        oci["layers"][2]["created_by"],
        "layer 3: delete secret.env, add README"
    );
    let c = &oci["config"];
    assert_eq!(c["user"], "app");
    assert_eq!(c["working_dir"], "/opt/app");
    assert_eq!(c["entrypoint"], serde_json::json!(["/usr/bin/hello"]));
    assert_eq!(c["exposed_ports"], serde_json::json!(["8080/tcp"]));
    assert_eq!(c["labels"]["org.example.team"], "platform");
    let env: BTreeMap<String, (String, bool)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                (
                    e["value"].as_str().unwrap().to_owned(),
                    e["masked"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(env["PATH"], ("/usr/bin:/bin".to_owned(), false));
    assert_eq!(env["API_TOKEN"], ("****".to_owned(), true));
    assert!(
        !String::from_utf8_lossy(&serde_json::to_vec(&oci).unwrap()).contains("supersecretvalue")
    );
}

#[test]
fn the_table_names_the_layers_and_hides_secrets() {
    let img = TestImage::build();
    let out = clearance(&["inspect", &img.oci_ref()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = support::stdout(&out);
    for needle in [
        "linux/amd64",
        "/usr/bin/hello",
        "API_TOKEN=****",
        "layer 2: app config",
        "total",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains("supersecretvalue"));
}

/// Read every layer of a source into a merged filesystem.
async fn merged(reference: &str) -> (MergedFs, BTreeMap<String, Vec<u8>>) {
    let reference = reference.parse().unwrap();
    let source = ImageSource::open(&reference, &SourceSettings::default())
        .await
        .unwrap();
    let image = source.resolve(&Platform::default()).await.unwrap();
    let mut fs = MergedFs::new();
    let mut contents = BTreeMap::new();
    for layer in &image.layers {
        let blob = source.open_blob(&layer.blob).await.unwrap();
        let diff_id = layer.diff_id.clone();
        let collect = tokio::task::spawn_blocking(move || {
            let mut collect = Collect::new(|_: &ImagePath| true);
            read_layer(
                blob,
                &LayerLimits::default(),
                diff_id.as_ref(),
                &mut collect,
            )
            .unwrap();
            collect
        })
        .await
        .unwrap();
        for (path, data) in collect.files {
            contents.insert(path.as_str().to_owned(), data);
        }
        fs.apply_layer(collect.entries);
    }
    (fs, contents)
}

#[tokio::test]
async fn merged_filesystem_applies_whiteouts_and_tracks_layers() {
    let img = TestImage::build();
    let (fs, _) = merged(&img.oci_ref()).await;
    let p = |s: &str| ImagePath::normalise(s).0;
    let ev = |layer, change| PathEvent { layer, change };
    assert!(fs.get(&p("opt/app/secret.env")).is_none());
    assert_eq!(
        fs.history(&p("opt/app/secret.env")),
        [ev(1, Change::Added), ev(2, Change::Deleted)]
    );
    assert_eq!(
        fs.history(&p("var/lib/app/data.txt")),
        [ev(0, Change::Added), ev(1, Change::Replaced)]
    );
    assert_eq!(fs.get(&p("opt/app/README")).unwrap().layer, 2);
    assert_eq!(
        fs.resolve(&p("usr/bin/hi")).unwrap().entry.path,
        p("usr/bin/hello")
    );

    // The same files, whichever transport they came through.
    let listing = |fs: &MergedFs| -> Vec<(String, usize)> {
        fs.entries()
            .map(|e| (e.entry.path.as_str().to_owned(), e.layer))
            .collect()
    };
    let archive = merged(&format!(
        "oci-archive:{}:v1",
        img.path("image.oci.tar").display()
    ))
    .await
    .0;
    let docker = merged(&format!(
        "docker-archive:{}",
        img.path("image.docker.tar").display()
    ))
    .await
    .0;
    assert_eq!(listing(&fs), listing(&archive));
    assert_eq!(listing(&fs), listing(&docker));
}

#[test]
fn a_tampered_blob_is_refused_naming_both_digests() {
    let img = TestImage::build();
    let image = inspect_json(&[&img.oci_ref()]);
    let digest = image["layers"][1]["digest"].as_str().unwrap().to_owned();
    let blob = img.path(&format!("oci/blobs/sha256/{}", &digest["sha256:".len()..]));
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // same size, different content
    std::fs::write(&blob, &bytes).unwrap();
    let out = clearance(&["inspect", &img.oci_ref()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("digest mismatch") && err.contains(&digest),
        "{err}"
    );
    assert!(
        support::stdout(&out).is_empty(),
        "printed a report for a tampered image"
    );
}

#[test]
fn bad_references_and_missing_tags_exit_2_with_guidance() {
    let img = TestImage::build();
    let out = clearance(&["inspect", "Not A Reference"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("accepted forms"), "{}", stderr(&out));
    let out = clearance(&[
        "inspect",
        &format!("oci:{}:nope", img.path("oci").display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tags: v1"), "{}", stderr(&out));
    let out = clearance(&["inspect", "--platform", "linux", &img.oci_ref()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("os/arch"), "{}", stderr(&out));
    let out = clearance(&["inspect"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn docker_archives_select_images_by_tag_or_position() {
    let img = TestImage::build();
    let multi = img.path("multi.docker.tar");
    let by_tag = inspect_json(&[
        "--skip-layers",
        &format!("docker-archive:{}:example/other:v2", multi.display()),
    ]);
    let by_index = inspect_json(&[
        "--skip-layers",
        &format!("docker-archive:{}:@0", multi.display()),
    ]);
    assert_eq!(by_tag["config"]["digest"], by_index["config"]["digest"]);
    assert!(by_tag["layers"][0]["uncompressed_size"].is_null());
    let out = clearance(&["inspect", &format!("docker-archive:{}:@3", multi.display())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("docker.io/example/app:v1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_platform_is_chosen_from_an_index() {
    let img = TestImage::build();
    let layout = img.path("oci");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "v1")
        .unwrap()
        .clone();
    // A multi-platform index whose arm64 entry is the same manifest.
    let entry = |arch: &str| {
        let mut m = manifest.clone();
        m.as_object_mut().unwrap().remove("annotations");
        m["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
        m
    };
    let nested = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry("arm64"), entry("ppc64le")],
    }))
    .unwrap();
    let digest = clearance_oci::Digest::sha256_of(&nested);
    std::fs::write(layout.join("blobs/sha256").join(digest.hex()), &nested).unwrap();
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest.to_string(),
            "size": nested.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    let reference = format!("oci:{}:multi", layout.display());
    let chosen = inspect_json(&["--skip-layers", "--platform", "linux/arm64", &reference]);
    assert_eq!(chosen["index_digest"], digest.to_string());
    assert_eq!(chosen["manifest"]["digest"], manifest["digest"]);
    let out = clearance(&["inspect", "--platform", "linux/s390x", &reference]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("available: linux/arm64, linux/ppc64le"),
        "{}",
        stderr(&out)
    );
}

/// skopeo 1.9 cannot write two different images into one archive, so build
/// one the way `docker save a b` does: shared layers, two configs.
fn two_image_archive(img: &TestImage) -> std::path::PathBuf {
    let source = std::fs::File::open(img.path("image.docker.tar")).unwrap();
    let mut archive = tar::Archive::new(source);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let first = manifest[0].clone();
    let config_name = first["Config"].as_str().unwrap();
    let mut config: Value = serde_json::from_slice(&files[config_name]).unwrap();
    config["author"] = Value::from("second image");
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let second_name = format!(
        "{}.json",
        clearance_oci::Digest::sha256_of(&config_bytes).hex()
    );
    let mut second = first.clone();
    second["Config"] = Value::from(second_name.clone());
    second["RepoTags"] = serde_json::json!(["example/second:v9"]);
    files.insert(second_name, config_bytes);
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec(&serde_json::json!([first, second])).unwrap(),
    );
    let out = img.dir.path().join("two.docker.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&out).unwrap());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, &data[..]).unwrap();
    }
    builder.finish().unwrap();
    out
}

#[test]
fn multi_image_docker_archives_need_a_choice() {
    let img = TestImage::build();
    let two = two_image_archive(&img);
    let first = inspect_json(&[&format!("docker-archive:{}:example/app:v1", two.display())]);
    let second = inspect_json(&[&format!(
        "docker-archive:{}:example/second:v9",
        two.display()
    )]);
    let by_index = inspect_json(&[
        "--skip-layers",
        &format!("docker-archive:{}:@1", two.display()),
    ]);
    assert_eq!(first["config"]["author"], "clearance tests");
    assert_eq!(second["config"]["author"], "second image");
    assert_eq!(by_index["config"]["digest"], second["config"]["digest"]);
    assert_eq!(first["layers"], second["layers"]);
    let out = clearance(&["inspect", &format!("docker-archive:{}", two.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("2 images in the archive") && err.contains("example/second:v9"),
        "{err}"
    );
}
