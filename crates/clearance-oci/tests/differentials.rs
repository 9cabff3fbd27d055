//! Images that Clearance could read as a different image from the one
//! Docker, containerd or skopeo would run (review of `clearance inspect`,
//! 2026-11): keys Go matches case-insensitively, ambiguous manifests,
//! archives whose two indexes disagree, containerd's platform choice,
//! `--platform` against what the config says, children a layout leaves
//! out. Each test is named after the kind of fault; the fixtures are
//! written here.
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use std::path::Path;
use std::process::Command;

use clearance_oci::manifest::ManifestError;
use clearance_oci::manifest::keys::KeyError;
use clearance_oci::source::ResolveWarning;
use clearance_oci::{Digest, ImageSource, ResolvedImage, SourceError, SourceSettings};
use images::{LayoutBuilder, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Pack, on};
use serde_json::{Value, json};

async fn resolve(reference: &str, platform: &str) -> Result<ResolvedImage, SourceError> {
    let source = ImageSource::open(&reference.parse().unwrap(), &SourceSettings::default()).await?;
    source.resolve(&platform.parse().unwrap()).await
}

/// A layout in `dir/oci` built by `build`, which tags what it likes.
fn layout(dir: &Path, build: impl FnOnce(&mut LayoutBuilder)) -> String {
    let mut l = LayoutBuilder::new(&dir.join("oci"));
    build(&mut l);
    l.finish();
    l.root.display().to_string()
}

/// One small gzip layer holding `name`; its blob descriptor (written) and diff_id.
fn layer(l: &LayoutBuilder, name: &str) -> (Value, Digest) {
    let tar = images::layer_tar(&[(name, b"x")]);
    let blob = images::pack(&tar, Pack::Gzip);
    (
        l.put(images::OCI_LAYER_GZIP, &blob),
        Digest::sha256_of(&tar),
    )
}

/// A config over one layer with `container_config` as the raw text of its
/// `config` object (or more top-level keys after it).
fn raw_config(diff_id: &Digest, tail: &str) -> Vec<u8> {
    format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},{tail}}}"#
    )
    .into_bytes()
}

fn key_error(err: SourceError) -> KeyError {
    match err {
        SourceError::Manifest(ManifestError::Keys { problem, .. }) => problem,
        other => panic!("expected a key error, got {other:?}"),
    }
}

/// The labels of a resolved image's config.
fn labels(image: &ResolvedImage) -> std::collections::HashMap<String, String> {
    image
        .config
        .config()
        .as_ref()
        .unwrap()
        .labels()
        .clone()
        .unwrap()
}

/// The config skopeo (Go) reads from the layout's `v1`.
fn skopeo_config(root: &str) -> Value {
    let out = Command::new("skopeo")
        .args(["inspect", "--config", &format!("oci:{root}:v1")])
        .output()
        .expect("skopeo is installed (scripts/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// 1. Keys Go's encoding/json matches case-insensitively (the last match wins).

#[tokio::test]
async fn case_folded_config_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut tails = vec![
        // tcase.py case_cfg: skopeo inspect --config shows User root, LD_PRELOAD.
        r#""config":{"User":"app","Env":["SAFE=1"],"user":"root","env":["LD_PRELOAD=/evil.so"]}"#,
        // case_cfg2: a second `config` object spelt in capitals.
        r#""config":{"User":"app"},"CONFIG":{"User":"root","Cmd":["/evil"]}"#,
        // `entrypoint` alone: Go runs it, serde never sees it.
        r#""config":{"entrypoint":["/evil"]}"#,
        // Unicode simple folding: ſ is s, the Kelvin sign is k.
        "\"config\":{\"Uſer\":\"root\"}",
        "\"config\":{\"Labels\":{},\"Wor\u{212a}ingDir\":\"/x\"}",
    ];
    let mut refs = Vec::new();
    let root = layout(dir.path(), |l| {
        let (blob, diff_id) = layer(l, "app");
        for (i, tail) in tails.drain(..).enumerate() {
            let m = l.manifest(vec![blob.clone()], &raw_config(&diff_id, tail), OCI_CONFIG);
            l.tag(m, &format!("t{i}"));
            refs.push(format!("t{i}"));
        }
    });
    for tag in refs {
        let err = resolve(&format!("oci:{root}:{tag}"), "linux/amd64")
            .await
            .unwrap_err();
        assert!(
            matches!(key_error(err), KeyError::NotCanonical { .. }),
            "{tag}"
        );
    }
}

/// The fixture above is a real differential: skopeo (Go) reads `root`.
#[test]
fn case_folded_config_keys_are_what_skopeo_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let (blob, diff_id) = layer(l, "app");
        let tail = r#""config":{"User":"app","user":"root"}"#;
        let m = l.manifest(vec![blob], &raw_config(&diff_id, tail), OCI_CONFIG);
        l.tag(m, "v1");
    });
    let config = skopeo_config(&root);
    assert_eq!(config["config"]["User"], "root");
}

#[tokio::test]
async fn case_folded_manifest_and_index_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut tags = Vec::new();
    let root = layout(dir.path(), |l| {
        let benign = images::parts(Pack::Gzip, "linux/amd64", "benign");
        let evil = images::parts(Pack::Gzip, "linux/amd64", "evil");
        let good = l.image(&benign, Pack::Gzip);
        let bad = l.image(&evil, Pack::Gzip);
        let manifest_of = |desc: &Value| -> Value {
            let hex = desc["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:");
            serde_json::from_slice(&std::fs::read(l.root.join("blobs/sha256").join(hex)).unwrap())
                .unwrap()
        };
        let (g, b) = (manifest_of(&good), manifest_of(&bad));
        // case_man: `Layers`/`Config` after `layers`/`config`.
        let text = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":{},"Config":{},"Layers":{}}}"#,
            g["config"], g["layers"], b["config"], b["layers"]
        );
        let m = l.put(OCI_MANIFEST, text.as_bytes());
        l.tag(m, "case_man");
        tags.push("case_man");
        // case_idx: `Manifests` after `manifests`.
        let text = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}],"Manifests":[{}]}}"#,
            on(good.clone(), "linux/amd64"),
            on(bad.clone(), "linux/amd64")
        );
        let i = l.put(OCI_INDEX, text.as_bytes());
        l.tag(i, "case_idx");
        tags.push("case_idx");
        // case_plat: each entry's `Platform` contradicts its `platform`.
        let entry = |d: &Value, platform: &str, other: &str| {
            let text = on(d.clone(), platform).to_string();
            format!(
                r#"{},"Platform":{{"os":"linux","architecture":"{other}"}}}}"#,
                &text[..text.len() - 1]
            )
        };
        let text = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{},{}]}}"#,
            entry(&good, "linux/amd64", "arm64"),
            entry(&bad, "linux/arm64", "amd64")
        );
        let i = l.put(OCI_INDEX, text.as_bytes());
        l.tag(i, "case_plat");
        tags.push("case_plat");
    });
    for tag in tags {
        let err = resolve(&format!("oci:{root}:{tag}"), "linux/amd64")
            .await
            .unwrap_err();
        assert!(
            matches!(key_error(err), KeyError::NotCanonical { .. }),
            "{tag}"
        );
    }
}

#[tokio::test]
async fn case_folded_docker_archive_manifest_keys_are_refused() {
    // tcase2.py: `Config`/`Layers` name one image, `config`/`layers` another.
    let dir = tempfile::tempdir().unwrap();
    let good = images::parts(Pack::Tar, "linux/amd64", "good");
    let evil = images::parts(Pack::Tar, "linux/amd64", "evil");
    let entry = r#"[{"Config":"good.json","RepoTags":["ex/app:v1"],"Layers":["A/layer.tar","B/layer.tar"],"config":"evil.json","layers":["C/layer.tar","D/layer.tar"]}]"#;
    let files = vec![
        ("good.json".to_owned(), good.config.clone()),
        ("evil.json".to_owned(), evil.config.clone()),
        ("A/layer.tar".to_owned(), good.tars[0].clone()),
        ("B/layer.tar".to_owned(), good.tars[1].clone()),
        ("C/layer.tar".to_owned(), evil.tars[0].clone()),
        ("D/layer.tar".to_owned(), evil.tars[1].clone()),
        ("manifest.json".to_owned(), entry.as_bytes().to_vec()),
    ];
    let tar = dir.path().join("case_da.tar");
    images::write_tar(&tar, &files);
    let err = resolve(&format!("docker-archive:{}", tar.display()), "linux/amd64")
        .await
        .unwrap_err();
    match key_error(err) {
        KeyError::NotCanonical { key, field, .. } => {
            assert_eq!((key.as_str(), field), ("config", "Config"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn keys_of_maps_that_differ_in_case_are_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let (blob, diff_id) = layer(l, "app");
        let tail = r#""config":{"Labels":{"team":"a","TEAM":"b"},"Volumes":{"/d":{},"/D":{}}}"#;
        let mut m = l.manifest(vec![blob], &raw_config(&diff_id, tail), OCI_CONFIG);
        m["annotations"] = json!({"note": "1", "NOTE": "2"});
        l.tag(m, "v1");
    });
    let image = resolve(&format!("oci:{root}:v1"), "linux/amd64")
        .await
        .unwrap();
    let labels = labels(&image);
    assert_eq!(labels.len(), 2);
}

// 2. Ambiguous manifests (CVE-2021-41190).

#[tokio::test]
async fn ambiguous_manifests_are_refused_whatever_their_descriptor_says() {
    // tpoly.py: one body with `layers` and `manifests`, with and without a
    // `mediaType`, under a manifest and an index descriptor.
    let dir = tempfile::tempdir().unwrap();
    let mut plain = Value::Null;
    let root = layout(dir.path(), |l| {
        let top = l.image(&images::parts(Pack::Gzip, "linux/amd64", "top"), Pack::Gzip);
        let via = on(
            l.image(&images::parts(Pack::Gzip, "linux/amd64", "via"), Pack::Gzip),
            "linux/amd64",
        );
        let hex = top["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:");
        let mut body: Value =
            serde_json::from_slice(&std::fs::read(l.root.join("blobs/sha256").join(hex)).unwrap())
                .unwrap();
        body["manifests"] = json!([via]);
        let poly = l.put_json(OCI_MANIFEST, &body);
        body.as_object_mut().unwrap().remove("mediaType");
        let poly_nomt = l.put_json(OCI_MANIFEST, &body);
        for (d, name) in [(&poly, "poly"), (&poly_nomt, "poly_nomt")] {
            let mut as_index = d.clone();
            as_index["mediaType"] = json!(OCI_INDEX);
            l.tag(d.clone(), &format!("{name}_as_manifest"));
            l.tag(as_index, &format!("{name}_as_index"));
        }
        body.as_object_mut().unwrap().remove("manifests");
        plain = l.put_json(OCI_MANIFEST, &body);
        let mut as_index = plain.clone();
        as_index["mediaType"] = json!(OCI_INDEX);
        let mut as_schema1 = plain.clone();
        as_schema1["mediaType"] =
            json!("application/vnd.docker.distribution.manifest.v1+prettyjws");
        l.tag(plain.clone(), "plain_nomt");
        l.tag(as_index, "plain_nomt_as_index");
        l.tag(as_schema1, "plain_nomt_as_schema1");
    });
    let at = |tag: &str| format!("oci:{root}:{tag}");
    for tag in [
        "poly_as_manifest",
        "poly_as_index",
        "poly_nomt_as_manifest",
        "poly_nomt_as_index",
    ] {
        let err = resolve(&at(tag), "linux/amd64").await.unwrap_err();
        assert!(
            matches!(err, SourceError::Manifest(ManifestError::Ambiguous { .. })),
            "{tag}: {err:?}"
        );
    }
    // A body without a mediaType is what its fields say, whatever names it.
    let image = resolve(&at("plain_nomt"), "linux/amd64").await.unwrap();
    assert_eq!(image.manifest_digest.to_string(), plain["digest"]);
    for tag in ["plain_nomt_as_index", "plain_nomt_as_schema1"] {
        let err = resolve(&at(tag), "linux/amd64").await.unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::Manifest(ManifestError::MediaTypeMismatch { .. })
            ),
            "{tag}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_body_whose_media_type_disagrees_with_its_descriptor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let image = l.image(&images::parts(Pack::Gzip, "linux/amd64", "a"), Pack::Gzip);
        // An image manifest named as an index, and as a Docker manifest.
        let mut as_index = image.clone();
        as_index["mediaType"] = json!(OCI_INDEX);
        l.tag(as_index, "as_index");
        let mut as_docker = image.clone();
        as_docker["mediaType"] = json!(images::DOCKER_MANIFEST);
        l.tag(as_docker, "as_docker");
        // An index whose body says image manifest.
        let entry = on(image.clone(), "linux/amd64");
        let text =
            format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","manifests":[{entry}]}}"#);
        let index = l.put(OCI_INDEX, text.as_bytes());
        l.tag(index, "index_says_manifest");
    });
    for (tag, mismatch) in [
        ("as_index", true),
        ("as_docker", true),
        ("index_says_manifest", false),
    ] {
        let err = resolve(&format!("oci:{root}:{tag}"), "linux/amd64")
            .await
            .unwrap_err();
        let SourceError::Manifest(e) = &err else {
            panic!("{tag}: {err:?}")
        };
        assert_eq!(
            matches!(e, ManifestError::MediaTypeMismatch { .. }),
            mismatch,
            "{tag}: {e:?}"
        );
        assert!(
            mismatch || matches!(e, ManifestError::Ambiguous { .. }),
            "{tag}: {e:?}"
        );
    }
}

// 3. A docker archive that is also an OCI layout names one image in each.

/// tdisagree.py: `manifest.json` names a benign image for ex/app:v1,
/// `index.json` an evil one for the same tag.
fn disagreeing_archive(dir: &Path, evil_platform: &str) -> String {
    let tree = dir.join("tree");
    let mut l = LayoutBuilder::new(&tree);
    let good = images::parts(Pack::Gzip, "linux/amd64", "benign");
    l.image(&good, Pack::Gzip);
    let evil = l.image(
        &images::parts(Pack::Gzip, evil_platform, "evil"),
        Pack::Gzip,
    );
    let mut tagged = evil;
    tagged["annotations"] = json!({"io.containerd.image.name": "docker.io/ex/app:v1"});
    l.tag(tagged, "v1");
    l.finish();
    let name = |b: &[u8]| format!("blobs/sha256/{}", Digest::sha256_of(b).hex());
    let entry = json!([{
        "Config": name(&good.config),
        "RepoTags": ["ex/app:v1"],
        "Layers": good.blobs.iter().map(|b| name(b)).collect::<Vec<_>>(),
    }]);
    std::fs::write(tree.join("manifest.json"), entry.to_string()).unwrap();
    let tar = dir.join("dis.tar");
    images::tar_dir(&tree, &tar);
    tar.display().to_string()
}

#[tokio::test]
async fn docker_archive_and_oci_index_naming_different_images_are_refused() {
    for evil_platform in ["linux/amd64", "linux/arm64"] {
        let dir = tempfile::tempdir().unwrap();
        let tar = disagreeing_archive(dir.path(), evil_platform);
        for reference in [
            format!("docker-archive:{tar}"),
            format!("docker-archive:{tar}:ex/app:v1"),
            format!("oci-archive:{tar}:v1"),
        ] {
            let err = resolve(&reference, evil_platform).await.unwrap_err();
            assert!(
                matches!(err, SourceError::ArchiveDisagrees { .. }),
                "{reference} ({evil_platform}): {err:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_containerd_docker_save_whose_indexes_agree_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    let (p, man) = images::containerd_docker_save(dir.path(), &tar, Pack::Gzip);
    for reference in [
        format!("docker-archive:{}", tar.display()),
        format!("oci-archive:{}:latest", tar.display()),
    ] {
        let image = resolve(&reference, "linux/amd64").await.unwrap();
        assert_eq!(image.config_blob.digest, Digest::sha256_of(&p.config));
        assert!(image.warnings.is_empty(), "{:?}", image.warnings);
    }
    let image = resolve(
        &format!("oci-archive:{}:latest", tar.display()),
        "linux/amd64",
    )
    .await
    .unwrap();
    assert_eq!(image.manifest_digest.to_string(), man["digest"]);
}

// 4. The platform containerd would choose.

/// t8.py / t8b.py: one index per tag, each entry an image whose config
/// agrees with its descriptor.
fn platform_indexes(dir: &Path) -> String {
    layout(dir, |l| {
        let img = |l: &LayoutBuilder, platform: &str, seed: &str| {
            on(
                l.image(&images::parts(Pack::Gzip, platform, seed), Pack::Gzip),
                platform,
            )
        };
        let indexes: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("arm64nov", vec![("linux/arm64", "a")]),
            ("arm64v8", vec![("linux/arm64/v8", "a")]),
            ("armnov", vec![("linux/arm", "a")]),
            ("armv6", vec![("linux/arm/v6", "a")]),
            ("amd64v3", vec![("linux/amd64/v3", "a")]),
            (
                "amd64both",
                vec![("linux/amd64/v3", "v3"), ("linux/amd64", "plain")],
            ),
            (
                "rev",
                vec![("linux/amd64", "plain"), ("linux/amd64/v3", "v3")],
            ),
            (
                "i386first",
                vec![("linux/386", "386"), ("linux/amd64", "plain")],
            ),
            (
                "armv5v7",
                vec![("linux/arm/v5", "v5"), ("linux/arm/v7", "v7")],
            ),
            (
                "armv5v6",
                vec![("linux/arm/v5", "v5"), ("linux/arm/v6", "v6")],
            ),
            ("caseA", vec![("Linux/AMD64", "a")]),
            ("x86", vec![("linux/x86_64", "a")]),
            ("win", vec![("windows/amd64", "a")]),
        ];
        for (tag, entries) in indexes {
            let entries = entries.into_iter().map(|(p, s)| img(l, p, s)).collect();
            let index = l.index(entries);
            l.tag(index, tag);
        }
    })
}

/// The platform the chosen image's config says, or the error's variant.
async fn chosen(root: &str, tag: &str, wanted: &str) -> String {
    match resolve(&format!("oci:{root}:{tag}"), wanted).await {
        Ok(image) => image.platform.to_string(),
        Err(SourceError::Manifest(ManifestError::NoPlatform { .. })) => "none".into(),
        Err(e) => panic!("{tag} for {wanted}: {e:?}"),
    }
}

#[tokio::test]
async fn platform_choice_is_containerds() {
    let dir = tempfile::tempdir().unwrap();
    let root = platform_indexes(dir.path());
    for (tag, wanted, expected) in [
        // An exact match wins whatever the index order.
        ("amd64both", "linux/amd64", "linux/amd64"),
        ("rev", "linux/amd64", "linux/amd64"),
        ("amd64both", "linux/amd64/v3", "linux/amd64/v3"),
        ("rev", "linux/amd64/v3", "linux/amd64/v3"),
        ("i386first", "linux/amd64", "linux/amd64"),
        ("armv5v7", "linux/arm/v7", "linux/arm/v7"),
        // Compatible entries, best first, when there is no exact one.
        ("armv6", "linux/arm/v7", "linux/arm/v6"),
        ("armv5v6", "linux/arm/v7", "linux/arm/v6"),
        ("amd64v3", "linux/amd64/v4", "linux/amd64/v3"),
        // Plain amd64 never runs amd64/v3.
        ("amd64v3", "linux/amd64", "none"),
        // Normalised: arm64 is arm64/v8, arm is arm/v7, x86_64 is amd64, case.
        ("arm64nov", "linux/arm64/v8", "linux/arm64"),
        ("arm64v8", "linux/arm64", "linux/arm64/v8"),
        ("armnov", "linux/arm/v7", "linux/arm"),
        ("x86", "linux/amd64", "linux/x86_64"),
        ("caseA", "linux/amd64", "Linux/AMD64"),
        ("win", "linux/amd64", "none"),
        ("armv6", "linux/arm/v5", "none"),
    ] {
        assert_eq!(
            chosen(&root, tag, wanted).await,
            expected,
            "{tag} for {wanted}"
        );
    }
}

// 5. `--platform` never silently ignored.

#[tokio::test]
async fn a_platform_the_image_is_not_for_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let arm = l.image(&images::parts(Pack::Gzip, "linux/arm64", "arm"), Pack::Gzip);
        l.tag(arm.clone(), "single");
        // t8.py "mismatch": the descriptor says amd64, the config arm64.
        let index = l.index(vec![on(arm, "linux/amd64")]);
        l.tag(index, "mismatch");
        let amd = l.image(&images::parts(Pack::Gzip, "linux/amd64", "amd"), Pack::Gzip);
        l.tag(amd, "amd64");
    });
    let at = |tag: &str| format!("oci:{root}:{tag}");
    let single = resolve(&at("single"), "linux/amd64").await.unwrap();
    assert_eq!(single.warnings.len(), 1, "{:?}", single.warnings);
    assert!(matches!(
        &single.warnings[0],
        ResolveWarning::SingleImageForAnotherPlatform { configured, .. } if configured.to_string() == "linux/arm64"
    ));
    assert!(
        resolve(&at("single"), "linux/arm64/v8")
            .await
            .unwrap()
            .warnings
            .is_empty()
    );
    let mismatch = resolve(&at("mismatch"), "linux/amd64").await.unwrap();
    assert_eq!(mismatch.platform.to_string(), "linux/arm64");
    assert!(
        matches!(
            mismatch.warnings[..],
            [ResolveWarning::IndexDisagreesWithConfig { .. }]
        ),
        "{:?}",
        mismatch.warnings
    );
    assert!(
        resolve(&at("amd64"), "linux/amd64")
            .await
            .unwrap()
            .warnings
            .is_empty()
    );

    // A docker archive holds one image: asking for another platform warns.
    let tar = dir.path().join("arm.tar");
    images::containerd_docker_save(dir.path(), &tar, Pack::Gzip);
    let image = resolve(&format!("docker-archive:{}", tar.display()), "linux/s390x")
        .await
        .unwrap();
    assert_eq!(image.warnings.len(), 1, "{:?}", image.warnings);
}

// 6. A child manifest the layout does not hold.

#[tokio::test]
async fn a_child_manifest_missing_from_the_layout_names_platform_and_digest() {
    // t6.py c_multi: `docker save` of a multi-platform image kept only amd64.
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sha256:{}", "ab".repeat(32));
    let root = layout(dir.path(), |l| {
        let amd = l.image(&images::parts(Pack::Gzip, "linux/amd64", "amd"), Pack::Gzip);
        let arm = json!({"mediaType": OCI_MANIFEST, "digest": missing, "size": 1234,
                         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}});
        let index = l.index(vec![on(amd, "linux/amd64"), arm]);
        l.tag(index, "v1");
    });
    let reference = format!("oci:{root}:v1");
    resolve(&reference, "linux/amd64").await.unwrap();
    match resolve(&reference, "linux/arm64").await.unwrap_err() {
        SourceError::MissingChild {
            platform, digest, ..
        } => {
            assert_eq!(platform.to_string(), "linux/arm64/v8");
            assert_eq!(digest.to_string(), missing);
        }
        other => panic!("{other:?}"),
    }
}

// 7. Smaller.

#[tokio::test]
async fn a_duplicate_tag_naming_two_manifests_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let a = l.image(&images::parts(Pack::Gzip, "linux/amd64", "a"), Pack::Gzip);
        let b = l.image(&images::parts(Pack::Gzip, "linux/amd64", "b"), Pack::Gzip);
        l.tag(a.clone(), "v1");
        l.tag(b, "v1");
        l.tag(a.clone(), "same");
        l.tag(a, "same");
    });
    let err = resolve(&format!("oci:{root}:v1"), "linux/amd64")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::DuplicateTag { digests, .. } if digests.len() == 2),
        "{err:?}"
    );
    // One manifest tagged twice is no ambiguity.
    resolve(&format!("oci:{root}:same"), "linux/amd64")
        .await
        .unwrap();
}

/// `docker load` applies manifest.json's entries in order, so a tag on two
/// entries ends on the last; Clearance read the first (break-it run of
/// inspect, 1). Refused, as a tag twice in index.json is.
#[tokio::test]
async fn a_docker_archive_tag_on_two_images_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = images::parts(Pack::Tar, "linux/amd64", "a");
    let b = images::parts(Pack::Tar, "linux/arm64", "b");
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for (name, p) in [("a.json", &a), ("b.json", &b)] {
        files.push((name.to_owned(), p.config.clone()));
        let mut layers = Vec::new();
        for tar in &p.tars {
            let file = format!("{}/layer.tar", Digest::sha256_of(tar).hex());
            files.push((file.clone(), tar.clone()));
            layers.push(file);
        }
        entries.push(json!({"Config": name, "RepoTags": ["ex/app:v1"], "Layers": layers}));
    }
    // The same image listed twice under one tag is no ambiguity.
    entries.push(entries[0].clone());
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&entries).unwrap(),
    ));
    let out = dir.path().join("two.tar");
    images::write_tar(&out, &files);
    let archive = format!("docker-archive:{}", out.display());
    match resolve(&format!("{archive}:ex/app:v1"), "linux/amd64")
        .await
        .unwrap_err()
    {
        SourceError::DuplicateTag { tag, digests, .. } => {
            assert_eq!(tag, "docker.io/ex/app:v1");
            assert_eq!(digests, ["config a.json", "config b.json"]);
        }
        other => panic!("{other:?}"),
    }
    // By position the choice is the user's own.
    let image = resolve(&format!("{archive}:@1"), "linux/arm64")
        .await
        .unwrap();
    assert_eq!(image.platform.to_string(), "linux/arm64");
    // Without a choice, the tag is listed once.
    let err = resolve(&archive, "linux/amd64").await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Layout { message, .. } if message.ends_with("(tags: ex/app:v1)")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_undecided_digest_is_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let gone = images::descriptor(OCI_MANIFEST, b"{\"not\":\"written\"}");
    let root = layout(dir.path(), |l| {
        let index = l.index(vec![gone.clone(), gone.clone()]);
        l.tag(index, "v1");
    });
    match resolve(&format!("oci:{root}:v1"), "linux/amd64")
        .await
        .unwrap_err()
    {
        SourceError::Manifest(ManifestError::NoPlatform { undecided, .. }) => {
            assert_eq!(undecided.len(), 1, "{undecided:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_archive_given_to_the_other_transport_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let p = images::parts(Pack::Tar, "linux/amd64", "d");
    let docker = dir.path().join("docker.tar");
    images::write_tar(
        &docker,
        &[
            ("c.json".into(), p.config.clone()),
            ("l0.tar".into(), p.tars[0].clone()),
            ("l1.tar".into(), p.tars[1].clone()),
            (
                "manifest.json".into(),
                br#"[{"Config":"c.json","Layers":["l0.tar","l1.tar"]}]"#.to_vec(),
            ),
        ],
    );
    let oci_dir = dir.path().join("ocidir");
    let root = layout(&oci_dir, |l| {
        let m = l.image(&p, Pack::Tar);
        l.tag(m, "v1");
    });
    let oci = dir.path().join("oci.tar");
    images::tar_dir(Path::new(&root), &oci);
    for (reference, suggestion) in [
        (
            format!("oci-archive:{}", docker.display()),
            "docker-archive:",
        ),
        (format!("docker-archive:{}", oci.display()), "oci-archive:"),
    ] {
        match resolve(&reference, "linux/amd64").await.unwrap_err() {
            SourceError::WrongTransport { suggestion: s, .. } => {
                assert!(s.starts_with(suggestion), "{s}");
            }
            other => panic!("{reference}: {other:?}"),
        }
    }
}

// Text Go reads leniently: invalid UTF-8 and lone surrogate escapes in
// strings are U+FFFD to Go's encoding/json; serde_json refused the whole
// document, so an image every runtime runs could not be inspected.

/// A config whose labels hold a lone surrogate escape and bytes that are
/// not UTF-8, tagged `v1`.
fn lenient_text_layout(dir: &Path) -> String {
    layout(dir, |l| {
        let (blob, diff_id) = layer(l, "app");
        let mut tail =
            br#""config":{"Labels":{"surrogate":"x\ud800y","pair":"\ud83d\ude00","bytes":"a"#
                .to_vec();
        tail.extend_from_slice(b"\xe2\x82b\"}}");
        let mut config = raw_config(&diff_id, "\"os.version\":\"\"");
        config.pop();
        config.push(b',');
        config.extend_from_slice(&tail);
        config.push(b'}');
        let m = l.manifest(vec![blob], &config, OCI_CONFIG);
        l.tag(m, "v1");
    })
}

#[tokio::test]
async fn strings_go_reads_leniently_are_read_as_go_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = lenient_text_layout(dir.path());
    let image = resolve(&format!("oci:{root}:v1"), "linux/amd64")
        .await
        .unwrap();
    let labels = labels(&image);
    assert_eq!(labels["surrogate"], "x\u{fffd}y");
    assert_eq!(labels["pair"], "\u{1f600}");
    assert_eq!(labels["bytes"], "a\u{fffd}\u{fffd}b");
    // The digest is over the bytes as stored, not the text as read.
    assert_eq!(
        image.config_blob.digest,
        Digest::sha256_of(&image.config_bytes)
    );
    assert!(image.config_bytes.windows(6).any(|w| w == br"\ud800"));
}

/// The fixture above is what skopeo (Go) reads.
#[test]
fn strings_go_reads_leniently_are_what_skopeo_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = lenient_text_layout(dir.path());
    let config = skopeo_config(&root);
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["surrogate"], "x\u{fffd}y");
    assert_eq!(labels["pair"], "\u{1f600}");
    assert_eq!(labels["bytes"], "a\u{fffd}\u{fffd}b");
}

// 8. Configs and manifests runtimes refuse, and layers they read otherwise
// (break-it run of inspect, 6 and 9).

/// A layout whose `v1` has a config over one layer with `config` as its
/// raw text (built by `raw_config`'s caller).
fn config_layout(dir: &Path, config: impl FnOnce(&Digest) -> Vec<u8>) -> String {
    let root = layout(dir, |l| {
        let (blob, diff_id) = layer(l, "app");
        let m = l.manifest(vec![blob], &config(&diff_id), OCI_CONFIG);
        l.tag(m, "v1");
    });
    format!("oci:{root}:v1")
}

/// Writes a config over a layer with this diff_id.
type MakeConfig = fn(&Digest) -> Vec<u8>;

fn invalid_config_message(err: SourceError) -> String {
    match err {
        SourceError::Manifest(ManifestError::Invalid { kind, message, .. }) => {
            assert_eq!(kind, "image config");
            message
        }
        other => panic!("expected an invalid config, got {other:?}"),
    }
}

#[tokio::test]
async fn configs_runtimes_refuse_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, MakeConfig, &str); 5] = [
        (
            "rootfs",
            |d| {
                format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"evil","diff_ids":["{d}"]}}}}"#).into_bytes()
            },
            "rootfs.type",
        ),
        (
            "arch",
            |d| {
                format!(r#"{{"architecture":"","os":"linux","rootfs":{{"type":"layers","diff_ids":["{d}"]}}}}"#).into_bytes()
            },
            "architecture is empty",
        ),
        (
            "created",
            |d| raw_config(d, r#""created":"yesterday""#),
            "created is \"yesterday\"",
        ),
        (
            "history",
            |d| {
                raw_config(
                    d,
                    r#""history":[{"created":"2020-01-01T00:00:00Z"},{"created":"2020-02-30T00:00:00Z"}]"#,
                )
            },
            "history[1].created",
        ),
        (
            "escape",
            |d| raw_config(d, "\"created\":\"2020-01-01T00:00:00Z\\u001b[31m\""),
            "not an RFC 3339 date-time",
        ),
    ];
    for (name, config, expected) in cases {
        let image = config_layout(&dir.path().join(name), config);
        let err = resolve(&image, "linux/amd64").await.unwrap_err();
        let message = invalid_config_message(err);
        assert!(message.contains(expected), "{name}: {message}");
    }
    // Dates Go reads are fine: fractions, offsets, a leap day.
    let fine = config_layout(&dir.path().join("fine"), |d| {
        raw_config(
            d,
            r#""created":"2024-02-29T23:59:59.123456789+05:30","history":[{"created":"1970-01-01T00:00:00Z"}]"#,
        )
    });
    resolve(&fine, "linux/amd64").await.unwrap();
}

#[tokio::test]
async fn a_manifest_schema_version_other_than_2_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let (blob, diff_id) = layer(l, "app");
        let config = l.put(OCI_CONFIG, &raw_config(&diff_id, r#""config":{}"#));
        let m = json!({"schemaVersion": 3, "mediaType": OCI_MANIFEST, "config": config, "layers": [blob]});
        let m = l.put_json(OCI_MANIFEST, &m);
        l.tag(m, "v1");
    });
    match resolve(&format!("oci:{root}:v1"), "linux/amd64")
        .await
        .unwrap_err()
    {
        SourceError::Manifest(ManifestError::Invalid { message, .. }) => {
            assert!(message.contains("schemaVersion is 3"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_layer_of_no_layer_media_type_is_warned_about_and_a_wrong_compression_noted() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout(dir.path(), |l| {
        let tar = images::layer_tar(&[("app", b"x")]);
        let odd = l.put("application/x-evil\u{1b}[31m", &tar);
        // zstd data under a gzip media type.
        let zstd = images::pack(&tar, Pack::Zstd);
        let mislabelled = l.put(images::OCI_LAYER_GZIP, &zstd);
        let d = Digest::sha256_of(&tar);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{d}","{d}"]}}}}"#
        );
        let m = l.manifest(vec![odd, mislabelled], config.as_bytes(), OCI_CONFIG);
        l.tag(m, "v1");
    });
    let reference: clearance_oci::ImageRef = format!("oci:{root}:v1").parse().unwrap();
    let source = ImageSource::open(&reference, &SourceSettings::default())
        .await
        .unwrap();
    let image = source
        .resolve(&"linux/amd64".parse().unwrap())
        .await
        .unwrap();
    assert!(
        matches!(
            image.warnings.as_slice(),
            [ResolveWarning::UnknownLayerMediaType { index: 0, media_type, .. }]
                if media_type == "application/x-evil\u{1b}[31m"
        ),
        "{:?}",
        image.warnings
    );
    let inspection = clearance_oci::inspect::inspect(
        &source,
        &image,
        clearance_oci::inspect::LayerDepth::Read,
        &clearance_oci::layer::LayerLimits::default(),
        1,
        None,
    )
    .await
    .unwrap();
    assert!(inspection.layers[0].warnings.is_empty());
    assert!(
        inspection.layers[1].warnings[0].contains("says gzip, the data is zstd"),
        "{:?}",
        inspection.layers[1].warnings
    );
}
