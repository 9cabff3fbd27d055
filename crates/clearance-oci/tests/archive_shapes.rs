//! Docker archives in the shapes real tools write: compressed layer files
//! (containerd's `docker save`, go-containerregistry, Jib), files named for
//! their blob digest or not, `LayerSources` for foreign layers.
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use std::path::Path;

use clearance_oci::inspect::{self, InspectError, Inspection, LayerDepth};
use clearance_oci::layer::{Compression, LayerError, LayerLimits};
use clearance_oci::verify::VerifyError;
use clearance_oci::{Digest, ImageSource, Platform, SourceError, SourceSettings};
use images::{DOCKER_FOREIGN, DOCKER_LAYER_GZIP, FOREIGN_URL, Pack, Parts};
use serde_json::json;

async fn inspect_ref(reference: &str, depth: LayerDepth) -> Result<Inspection, InspectError> {
    let reference = reference.parse().unwrap();
    let source = ImageSource::open(&reference, &SourceSettings::default()).await?;
    let image = source.resolve(&Platform::default()).await?;
    inspect::inspect(&source, &image, depth, &LayerLimits::default(), 2, None).await
}

fn blob_digests(p: &Parts) -> Vec<Digest> {
    p.blobs.iter().map(|b| Digest::sha256_of(b)).collect()
}

fn layer_digests(i: &Inspection) -> Vec<Digest> {
    i.layers.iter().map(|l| l.digest.clone()).collect()
}

fn diff_ids(i: &Inspection) -> Vec<Digest> {
    i.layers
        .iter()
        .map(|l| l.diff_id.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn c8d_docker_save_reads_as_docker_archive_and_oci_archive() {
    for (how, compression, media_type) in [
        (Pack::Gzip, Compression::Gzip, images::OCI_LAYER_GZIP),
        (Pack::Zstd, Compression::Zstd, images::OCI_LAYER_ZSTD),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("image.tar");
        let (p, _) = images::containerd_docker_save(dir.path(), &tar, how);
        let docker = inspect_ref(
            &format!("docker-archive:{}", tar.display()),
            LayerDepth::Read,
        )
        .await
        .unwrap();
        let oci = inspect_ref(
            &format!("oci-archive:{}:latest", tar.display()),
            LayerDepth::Read,
        )
        .await
        .unwrap();
        for i in [&docker, &oci] {
            assert_eq!(layer_digests(i), blob_digests(&p));
            assert_eq!(diff_ids(i), p.diff_ids);
            assert!(i.layers.iter().all(|l| l.compression == Some(compression)));
            assert!(i.layers.iter().all(|l| l.media_type == media_type));
            assert_eq!(i.layers[1].entries, Some(2));
        }
        assert!(
            oci.index_digest.is_some(),
            "oci-archive: chose from the index"
        );
    }
}

/// go-containerregistry (`crane pull`, ko, kaniko): config `sha256:<hex>`,
/// layers `<hex>.tar.gz`; Jib `buildTar`: config `config.json`.
fn gzip_tarball(dir: &Path, config_name: &str, p: &Parts, extra: serde_json::Value) -> String {
    let mut files = vec![(config_name.to_owned(), p.config.clone())];
    let mut layers = Vec::new();
    for blob in &p.blobs {
        let name = format!("{}.tar.gz", Digest::sha256_of(blob).hex());
        layers.push(name.clone());
        files.push((name, blob.clone()));
    }
    let mut entry =
        json!({"Config": config_name, "RepoTags": ["example/app:v1"], "Layers": layers});
    for (k, v) in extra.as_object().unwrap() {
        entry[k] = v.clone();
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([entry])).unwrap(),
    ));
    let out = dir.join("tarball.tar");
    images::write_tar(&out, &files);
    format!("docker-archive:{}", out.display())
}

#[tokio::test]
async fn ggcr_and_jib_tarballs_read_their_gzip_layers() {
    let dir = tempfile::tempdir().unwrap();
    let p = images::parts(Pack::Gzip, "linux/amd64", "ggcr");
    let config_hex = Digest::sha256_of(&p.config).to_string();
    for config_name in [config_hex.as_str(), "config.json"] {
        let reference = gzip_tarball(dir.path(), config_name, &p, json!({}));
        let i = inspect_ref(&reference, LayerDepth::Read).await.unwrap();
        assert_eq!(layer_digests(&i), blob_digests(&p), "{config_name}");
        assert_eq!(diff_ids(&i), p.diff_ids);
        assert!(i.layers.iter().all(|l| l.media_type == DOCKER_LAYER_GZIP));
        assert!(
            i.layers
                .iter()
                .all(|l| l.compression == Some(Compression::Gzip))
        );
    }
}

#[tokio::test]
async fn a_gzip_file_that_is_not_its_named_blob_is_refused_though_its_tar_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = images::parts(Pack::Gzip, "linux/amd64", "renamed");
    let name_for = Digest::sha256_of(&p.blobs[0]);
    let reference = {
        // The same tar compressed harder: the diff_id holds, the file's digest does not.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &p.tars[0]).unwrap();
        let other = gz.finish().unwrap();
        assert_ne!(Digest::sha256_of(&other), name_for);
        let mut renamed = p.blobs.clone();
        renamed[0] = other;
        let named = std::mem::replace(&mut p.blobs, renamed);
        // Name the files for the original blobs, fill them with the new bytes.
        let mut files = vec![("config.json".to_owned(), p.config.clone())];
        let mut layers = Vec::new();
        for (orig, bytes) in named.iter().zip(&p.blobs) {
            let name = format!("{}.tar.gz", Digest::sha256_of(orig).hex());
            layers.push(name.clone());
            files.push((name, bytes.clone()));
        }
        let entry = json!([{"Config": "config.json", "Layers": layers}]);
        files.push(("manifest.json".into(), serde_json::to_vec(&entry).unwrap()));
        let out = dir.path().join("renamed.tar");
        images::write_tar(&out, &files);
        format!("docker-archive:{}", out.display())
    };
    let err = inspect_ref(&reference, LayerDepth::Read).await.unwrap_err();
    match err {
        InspectError::Layer {
            source: LayerError::Verify(VerifyError::DigestMismatch { expected, .. }),
            ..
        } => assert_eq!(expected, name_for),
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_compressed_layer_is_checked_against_its_diff_id_once_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = images::parts(Pack::Gzip, "linux/amd64", "diff");
    let wrong = Digest::sha256_of(b"another tar");
    p.config = images::config(&[wrong.clone(), p.diff_ids[1].clone()], "linux/amd64");
    let reference = gzip_tarball(dir.path(), "config.json", &p, json!({}));
    match inspect_ref(&reference, LayerDepth::Read).await.unwrap_err() {
        InspectError::Layer {
            source: LayerError::DiffIdMismatch { expected, actual },
            ..
        } => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, p.diff_ids[0]);
        }
        other => panic!("expected a diff_id mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn unnamed_layer_files_are_plain_tars_by_diff_id_or_hashed_when_compressed() {
    // `docker save` before 25 writes `<v1 id>/layer.tar`: the name promises nothing.
    let dir = tempfile::tempdir().unwrap();
    let p = images::parts(Pack::Gzip, "linux/amd64", "legacy");
    let files = vec![
        ("config.json".to_owned(), p.config.clone()),
        ("aaaa/layer.tar".to_owned(), p.tars[0].clone()),
        ("bbbb/layer.tar".to_owned(), p.blobs[1].clone()),
        (
            "manifest.json".to_owned(),
            serde_json::to_vec(&json!([{"Config": "config.json",
                "Layers": ["aaaa/layer.tar", "bbbb/layer.tar"]}]))
            .unwrap(),
        ),
    ];
    let out = dir.path().join("legacy.tar");
    images::write_tar(&out, &files);
    let i = inspect_ref(
        &format!("docker-archive:{}", out.display()),
        LayerDepth::Read,
    )
    .await
    .unwrap();
    assert_eq!(
        i.layers[0].digest, p.diff_ids[0],
        "a plain tar's digest is its diff_id"
    );
    assert_eq!(
        i.layers[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar"
    );
    assert_eq!(i.layers[1].digest, Digest::sha256_of(&p.blobs[1]));
    assert_eq!(i.layers[1].media_type, DOCKER_LAYER_GZIP);
    assert_eq!(diff_ids(&i), p.diff_ids);
}

#[tokio::test]
async fn a_layer_file_named_for_another_blob_than_the_archive_manifest_says_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    images::containerd_docker_save(dir.path(), &tar, Pack::Gzip);
    // Swap the two layer names in manifest.json.
    let tree = dir.path().join("c8d-tree");
    let path = tree.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let layers = m[0]["Layers"].as_array_mut().unwrap();
    layers.swap(0, 1);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    images::tar_dir(&tree, &tar);
    let reference = format!("docker-archive:{}", tar.display()).parse().unwrap();
    let err = ImageSource::open(&reference, &SourceSettings::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Layout { .. }), "{err:?}");
}

fn foreign_sources(p: &Parts) -> serde_json::Value {
    let blob = &p.blobs[0];
    let digest = Digest::sha256_of(blob).to_string();
    json!({"LayerSources": {p.diff_ids[0].to_string(): {
        "mediaType": DOCKER_FOREIGN, "size": blob.len(), "digest": digest,
        "urls": [format!("{FOREIGN_URL}{digest}")],
    }}})
}

#[tokio::test]
async fn layer_sources_mark_foreign_layers_in_docker_archives() {
    let dir = tempfile::tempdir().unwrap();
    let p = images::parts(Pack::Gzip, "windows/amd64", "foreign");
    let reference = gzip_tarball(dir.path(), "config.json", &p, foreign_sources(&p));
    let i = inspect_ref(&reference, LayerDepth::Read).await.unwrap();
    let layer = &i.layers[0];
    assert!(
        layer.foreign && layer.read,
        "present, so read like any layer"
    );
    assert_eq!(layer.media_type, DOCKER_FOREIGN);
    assert!(layer.urls[0].starts_with(FOREIGN_URL));
    assert!(!i.layers[1].foreign);
}

#[tokio::test]
async fn a_foreign_layer_left_out_of_a_docker_archive_is_named_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = images::parts(Pack::Gzip, "windows/amd64", "left-out");
    let mut files = vec![("config.json".to_owned(), p.config.clone())];
    let names: Vec<String> = p
        .blobs
        .iter()
        .map(|b| format!("{}.tar.gz", Digest::sha256_of(b).hex()))
        .collect();
    files.push((names[1].clone(), p.blobs[1].clone()));
    let mut entry = json!({"Config": "config.json", "Layers": names});
    entry["LayerSources"] = foreign_sources(&p)["LayerSources"].clone();
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([entry])).unwrap(),
    ));
    let out = dir.path().join("left-out.tar");
    images::write_tar(&out, &files);
    let reference = format!("docker-archive:{}", out.display());

    let described = inspect_ref(&reference, LayerDepth::Skip).await.unwrap();
    assert!(described.layers[0].foreign && !described.layers[0].read);
    match inspect_ref(&reference, LayerDepth::Read).await.unwrap_err() {
        InspectError::ForeignLayerAbsent { index, urls, .. } => {
            assert_eq!(index, 0);
            assert!(urls[0].starts_with(FOREIGN_URL));
        }
        other => panic!("expected ForeignLayerAbsent, got {other:?}"),
    }
    let rest = inspect_ref(&reference, LayerDepth::ReadSkippingForeign)
        .await
        .unwrap();
    assert!(!rest.layers[0].read && rest.layers[1].read);
    assert_eq!(rest.totals.uncompressed_size, None);
}

#[tokio::test]
async fn a_foreign_layer_containerd_left_out_is_described_by_the_archive_manifest() {
    // containerd's exporter skips non-distributable blobs; manifest.json still names them.
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let mut layout = images::LayoutBuilder::new(&tree);
    let p = images::parts(Pack::Gzip, "windows/amd64", "c8d-foreign");
    let mut foreign = images::descriptor(
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        &p.blobs[0],
    );
    foreign["urls"] = json!([format!("{FOREIGN_URL}x")]);
    let app = layout.put(images::OCI_LAYER_GZIP, &p.blobs[1]);
    let man = layout.manifest(vec![foreign, app], &p.config, images::OCI_CONFIG);
    layout.tag(man, "latest");
    layout.finish();
    let name = |b: &[u8]| format!("blobs/sha256/{}", Digest::sha256_of(b).hex());
    let entry = json!([{"Config": name(&p.config), "RepoTags": ["win:latest"],
        "Layers": [name(&p.blobs[0]), name(&p.blobs[1])]}]);
    std::fs::write(
        tree.join("manifest.json"),
        serde_json::to_vec(&entry).unwrap(),
    )
    .unwrap();
    let tar = dir.path().join("image.tar");
    images::tar_dir(&tree, &tar);
    let reference = format!("docker-archive:{}", tar.display());

    let described = inspect_ref(&reference, LayerDepth::Skip).await.unwrap();
    assert!(described.layers[0].foreign);
    assert_eq!(described.layers[0].urls, [format!("{FOREIGN_URL}x")]);
    assert!(matches!(
        inspect_ref(&reference, LayerDepth::Read).await.unwrap_err(),
        InspectError::ForeignLayerAbsent { index: 0, .. }
    ));
    let rest = inspect_ref(&reference, LayerDepth::ReadSkippingForeign)
        .await
        .unwrap();
    assert!(rest.layers[1].read);
}
