//! Foreign (non-distributable) layers in layouts: described, named when
//! their blob is absent, skippable, read when present. Never fetched from
//! the URLs their manifest names.
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use clearance_oci::inspect::{self, InspectError, LayerDepth};
use clearance_oci::layer::LayerLimits;
use clearance_oci::{ImageSource, SourceSettings};
use images::{LayoutBuilder, Pack};
use serde_json::json;

/// A Windows-style image whose layer 0 is foreign: kept at a URL, its blob
/// written to the layout only when `present`.
fn foreign_layout(present: bool, media_type: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("oci"));
    let p = images::parts(Pack::Gzip, "windows/amd64", "foreign");
    let mut foreign = if present {
        layout.put(media_type, &p.blobs[0])
    } else {
        images::descriptor(media_type, &p.blobs[0])
    };
    foreign["urls"] = json!([format!(
        "{}{}",
        images::FOREIGN_URL,
        foreign["digest"].as_str().unwrap()
    )]);
    let app = layout.put(images::DOCKER_LAYER_GZIP, &p.blobs[1]);
    let m = layout.manifest(vec![foreign, app], &p.config, images::DOCKER_CONFIG);
    layout.tag(m, "ltsc");
    layout.finish();
    let reference = format!("oci:{}:ltsc", layout.root.display());
    (dir, reference)
}

async fn inspect_with(
    reference: &str,
    depth: LayerDepth,
) -> Result<inspect::Inspection, InspectError> {
    let source = ImageSource::open(&reference.parse().unwrap(), &SourceSettings::default()).await?;
    let image = source.resolve(&"windows/amd64".parse().unwrap()).await?;
    inspect::inspect(&source, &image, depth, &LayerLimits::default(), 2, None).await
}

#[tokio::test]
async fn a_foreign_layer_absent_from_a_layout_is_named_and_can_be_skipped() {
    for media_type in [
        images::DOCKER_FOREIGN,
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        // image-spec 1.1: an ordinary layer type whose descriptor has `urls`.
        images::OCI_LAYER_GZIP,
    ] {
        let (_dir, reference) = foreign_layout(false, media_type);
        let described = inspect_with(&reference, LayerDepth::Skip).await.unwrap();
        let layer = &described.layers[0];
        assert!(layer.foreign && !layer.read && !described.layers[1].foreign);
        assert!(layer.urls[0].starts_with(images::FOREIGN_URL));
        match inspect_with(&reference, LayerDepth::Read)
            .await
            .unwrap_err()
        {
            InspectError::ForeignLayerAbsent {
                index,
                urls,
                media_type: named,
                source,
                ..
            } => {
                assert_eq!((index, named.as_str()), (0, media_type));
                assert_eq!(urls, layer.urls);
                assert!(source.is_not_found());
            }
            other => panic!("expected ForeignLayerAbsent, got {other:?}"),
        }
        let rest = inspect_with(&reference, LayerDepth::ReadSkippingForeign)
            .await
            .unwrap();
        assert!(!rest.layers[0].read && rest.layers[1].read);
        assert_eq!(rest.layers[1].entries, Some(2));
    }
}

#[tokio::test]
async fn a_foreign_layer_whose_blob_is_present_is_read_like_any_other() {
    let (_dir, reference) = foreign_layout(true, images::DOCKER_FOREIGN);
    let read = inspect_with(&reference, LayerDepth::Read).await.unwrap();
    assert!(read.layers[0].foreign && read.layers[0].read);
    assert_eq!(read.layers[0].entries, Some(2));
    assert!(read.totals.uncompressed_size.is_some());
}
