//! Image indexes as the image spec allows them: entries without a
//! platform, indexes inside indexes, attestations and artifacts beside the
//! images.
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use clearance_oci::manifest::ManifestError;
use clearance_oci::source::{MAX_INDEX_DEPTH, MAX_SEARCH_FETCHES};
use clearance_oci::{ImageSource, ResolvedImage, SourceError, SourceSettings};
use images::{LayoutBuilder, Pack, on};
use serde_json::{Value, json};

/// A layout in a fresh directory with `top` tagged `v1`.
fn layout_with(build: impl FnOnce(&LayoutBuilder) -> Value) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("oci"));
    let top = build(&layout);
    layout.tag(top, "v1");
    layout.finish();
    let reference = format!("oci:{}:v1", layout.root.display());
    (dir, reference)
}

async fn resolve(reference: &str, platform: &str) -> Result<ResolvedImage, SourceError> {
    let source = ImageSource::open(&reference.parse().unwrap(), &SourceSettings::default()).await?;
    source.resolve(&platform.parse().unwrap()).await
}

fn image(l: &LayoutBuilder, platform: &str, seed: &str) -> Value {
    l.image(&images::parts(Pack::Gzip, platform, seed), Pack::Gzip)
}

fn no_platform(err: SourceError) -> (Vec<String>, Vec<String>, Vec<String>) {
    match err {
        SourceError::Manifest(ManifestError::NoPlatform {
            available,
            undecided,
            skipped,
            ..
        }) => (available, undecided, skipped),
        other => panic!("expected NoPlatform, got {other:?}"),
    }
}

#[tokio::test]
async fn an_index_entry_without_a_platform_is_decided_by_its_config() {
    let mut wanted = Value::Null;
    let (_dir, reference) = layout_with(|l| {
        let arm = image(l, "linux/arm64/v8", "arm");
        wanted = image(l, "linux/amd64", "amd");
        l.index(vec![arm, wanted.clone()])
    });
    let chosen = resolve(&reference, "linux/amd64").await.unwrap();
    assert_eq!(chosen.manifest_digest.to_string(), wanted["digest"]);
    assert!(chosen.index_digest.is_some());
    let arm = resolve(&reference, "linux/arm64").await.unwrap();
    assert_eq!(arm.platform.to_string(), "linux/arm64/v8");
    let err = resolve(&reference, "linux/s390x").await.unwrap_err();
    let (available, undecided, _) = no_platform(err);
    assert_eq!(available, ["linux/arm64/v8", "linux/amd64"]);
    assert!(undecided.is_empty());
}

#[tokio::test]
async fn an_entry_that_cannot_be_decided_is_named() {
    let missing = images::descriptor(images::OCI_MANIFEST, b"{\"not\":\"written\"}");
    let (_dir, reference) = layout_with(|l| {
        let arm = on(image(l, "linux/arm64", "arm"), "linux/arm64");
        l.index(vec![missing.clone(), arm])
    });
    let (available, undecided, _) =
        no_platform(resolve(&reference, "linux/amd64").await.unwrap_err());
    assert_eq!(available, ["linux/arm64"]);
    assert_eq!(undecided.len(), 1);
    assert!(
        undecided[0].starts_with(missing["digest"].as_str().unwrap()),
        "{undecided:?}"
    );
}

#[tokio::test]
async fn nested_indexes_are_followed_to_a_bounded_depth() {
    let chain = |levels: usize| {
        let mut wanted = Value::Null;
        let built = layout_with(|l| {
            wanted = image(l, "linux/amd64", "deep");
            let mut inner = l.index(vec![on(wanted.clone(), "linux/amd64")]);
            for _ in 0..levels {
                inner = l.index(vec![inner]);
            }
            inner
        });
        (built, wanted)
    };
    // The tag's index, then MAX_INDEX_DEPTH indexes inside it: followed.
    let ((_dir, reference), wanted) = chain(MAX_INDEX_DEPTH);
    let chosen = resolve(&reference, "linux/amd64").await.unwrap();
    assert_eq!(chosen.manifest_digest.to_string(), wanted["digest"]);
    // One more: named, not followed.
    let ((_dir, reference), _) = chain(MAX_INDEX_DEPTH + 1);
    let (_, undecided, _) = no_platform(resolve(&reference, "linux/amd64").await.unwrap_err());
    assert!(undecided[0].contains("nested more than"), "{undecided:?}");
}

#[tokio::test]
async fn attestations_and_artifacts_are_never_chosen() {
    let mut wanted = Value::Null;
    let (_dir, reference) = layout_with(|l| {
        // An attestation that is a readable image manifest and claims linux/amd64.
        let mut annotated = on(image(l, "linux/amd64", "attest"), "linux/amd64");
        annotated["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest"});
        let unknown = images::attestation(&annotated);
        // An artifact (an SBOM) for linux/amd64, by its config's media type.
        let sbom_layer = l.put("application/spdx+json", b"{}");
        let artifact = on(
            l.manifest(
                vec![sbom_layer],
                b"{}",
                "application/vnd.example.sbom.config+json",
            ),
            "linux/amd64",
        );
        wanted = image(l, "linux/amd64", "real");
        l.index(vec![
            annotated,
            unknown,
            artifact,
            on(wanted.clone(), "linux/amd64"),
        ])
    });
    let chosen = resolve(&reference, "linux/amd64").await.unwrap();
    assert_eq!(chosen.manifest_digest.to_string(), wanted["digest"]);
    let (available, _, skipped) =
        no_platform(resolve(&reference, "linux/arm64").await.unwrap_err());
    // The artifact's descriptor claims linux/amd64 too; listed once.
    assert_eq!(available, ["linux/amd64"]);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|s| s.contains("attestation manifest")));
}

#[tokio::test]
async fn an_artifact_matching_the_platform_is_skipped_and_named() {
    let (_dir, reference) = layout_with(|l| {
        let artifact = on(
            l.manifest(vec![], b"{}", "application/vnd.example.sbom.config+json"),
            "linux/amd64",
        );
        l.index(vec![artifact])
    });
    let (available, _, skipped) =
        no_platform(resolve(&reference, "linux/amd64").await.unwrap_err());
    assert!(available.is_empty());
    assert!(skipped[0].contains("artifact of type application/vnd.example.sbom.config+json"));
}

#[tokio::test]
async fn choosing_fetches_a_bounded_number_of_documents() {
    let count = MAX_SEARCH_FETCHES;
    let (_dir, reference) = layout_with(|l| {
        let entries = (0..count)
            .map(|i| image(l, &format!("linux/arm/v{i}"), "arm"))
            .collect();
        l.index(entries)
    });
    let (available, undecided, _) =
        no_platform(resolve(&reference, "linux/amd64").await.unwrap_err());
    // Each entry without a platform costs a manifest and a config.
    assert_eq!(available.len(), MAX_SEARCH_FETCHES / 2);
    assert_eq!(undecided.len(), count - MAX_SEARCH_FETCHES / 2);
    assert!(undecided.iter().all(|u| u.contains("not examined")));
}

/// A descriptor may declare any size; one larger than a manifest or config
/// may be is refused up front and says so, not as a file "larger than the
/// limit" that is in fact small.
#[tokio::test]
async fn descriptor_declaring_more_than_the_document_limit_says_what_it_declares() {
    const HUGE: u64 = 1 << 40;
    let declared = |kind: &'static str| {
        move |e: SourceError| match e {
            SourceError::DeclaredTooLarge {
                size,
                limit,
                kind: k,
                ..
            } => assert_eq!((size, k), (HUGE, kind), "limit {limit}"),
            other => panic!("expected DeclaredTooLarge, got {other:?}"),
        }
    };
    // The entry of index.json.
    let (_dir, reference) = layout_with(|l| {
        let mut man = image(l, "linux/amd64", "top");
        man["size"] = HUGE.into();
        man
    });
    declared("a manifest")(resolve(&reference, "linux/amd64").await.unwrap_err());
    // An entry of an index, chosen by its platform.
    let (_dir, reference) = layout_with(|l| {
        let mut man = on(image(l, "linux/amd64", "child"), "linux/amd64");
        man["size"] = HUGE.into();
        l.index(vec![man])
    });
    declared("a manifest")(resolve(&reference, "linux/amd64").await.unwrap_err());
    // The config a manifest names.
    let (_dir, reference) = layout_with(|l| {
        let p = images::parts(Pack::Gzip, "linux/amd64", "config");
        let layers = p
            .blobs
            .iter()
            .map(|b| l.put(images::layer_media_type(Pack::Gzip), b))
            .collect::<Vec<_>>();
        let mut config = l.put(images::OCI_CONFIG, &p.config);
        config["size"] = HUGE.into();
        let m = serde_json::json!({"schemaVersion": 2, "mediaType": images::OCI_MANIFEST,
            "config": config, "layers": layers});
        l.put_json(images::OCI_MANIFEST, &m)
    });
    declared("an image config")(resolve(&reference, "linux/amd64").await.unwrap_err());
}
