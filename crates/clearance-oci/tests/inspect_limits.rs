//! What `inspect` reads of an image whose manifest repeats a layer, and the
//! bound on all of an image's layers together (from a hostile review: one
//! 4 MiB bomb listed 20 times took 83 s and "80 GiB").
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clearance_oci::inspect::{self, InspectError, LayerDepth};
use clearance_oci::layer::{LayerError, LayerLimits};
use clearance_oci::{Digest, ImageRef, ImageSource, Platform, SourceSettings};
use images::{LayoutBuilder, OCI_CONFIG, OCI_LAYER_GZIP, Pack};

/// A layout whose one image lists `layers` (blob, diff_id) in order.
fn layout(dir: &std::path::Path, layers: &[(&[u8], Digest)]) -> String {
    let mut l = LayoutBuilder::new(dir);
    let descs = layers
        .iter()
        .map(|(blob, _)| l.put(OCI_LAYER_GZIP, blob))
        .collect();
    let diff_ids: Vec<Digest> = layers.iter().map(|(_, d)| d.clone()).collect();
    let config = images::config(&diff_ids, "linux/amd64");
    let m = l.manifest(descs, &config, OCI_CONFIG);
    l.tag(m, "v1");
    l.finish();
    format!("oci:{}:v1", dir.display())
}

async fn run(
    image: &str,
    limits: &LayerLimits,
) -> (Result<inspect::Inspection, InspectError>, u64) {
    let reference: ImageRef = image.parse().unwrap();
    let source = ImageSource::open(&reference, &SourceSettings::default())
        .await
        .unwrap();
    let resolved = source.resolve(&Platform::default()).await.unwrap();
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    let progress: inspect::Progress = Arc::new(move |n| {
        counter.fetch_add(n, Ordering::Relaxed);
    });
    let result = inspect::inspect(
        &source,
        &resolved,
        LayerDepth::Read,
        limits,
        2,
        Some(progress),
    )
    .await;
    (result, read.load(Ordering::Relaxed))
}

#[tokio::test]
async fn a_layer_listed_three_times_is_read_once() {
    let tar = images::layer_tar(&[("etc/a", &[7u8; 50_000])]);
    let blob = images::pack(&tar, Pack::Gzip);
    let diff_id = Digest::sha256_of(&tar);
    let dir = tempfile::tempdir().unwrap();
    let image = layout(
        dir.path(),
        &[
            (&blob, diff_id.clone()),
            (&blob, diff_id.clone()),
            (&blob, diff_id),
        ],
    );
    let (result, read) = run(&image, &LayerLimits::default()).await;
    let inspection = result.unwrap();
    assert_eq!(
        read,
        blob.len() as u64,
        "the blob was streamed more than once"
    );
    for layer in &inspection.layers {
        assert_eq!(layer.entries, Some(1));
        assert_eq!(layer.uncompressed_size, Some(tar.len() as u64));
    }
}

#[tokio::test]
async fn a_repeated_blob_under_two_diff_ids_is_refused() {
    let tar = images::layer_tar(&[("etc/a", b"a")]);
    let blob = images::pack(&tar, Pack::Gzip);
    let dir = tempfile::tempdir().unwrap();
    let other = Digest::sha256_of(b"something else");
    let image = layout(
        dir.path(),
        &[(&blob, Digest::sha256_of(&tar)), (&blob, other.clone())],
    );
    let (result, _) = run(&image, &LayerLimits::default()).await;
    assert!(
        matches!(
            result,
            Err(InspectError::Layer { source: LayerError::DiffIdMismatch { ref expected, .. }, .. })
                if *expected == other
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_image_as_a_whole_is_bounded() {
    let (a, b) = (
        images::layer_tar(&[("a", &[1u8; 40_000])]),
        images::layer_tar(&[("b", &[2u8; 40_000])]),
    );
    let (ga, gb) = (images::pack(&a, Pack::Gzip), images::pack(&b, Pack::Gzip));
    let dir = tempfile::tempdir().unwrap();
    let image = layout(
        dir.path(),
        &[(&ga, Digest::sha256_of(&a)), (&gb, Digest::sha256_of(&b))],
    );
    let limits = LayerLimits {
        max_image_uncompressed_bytes: 60_000,
        ..LayerLimits::default()
    };
    let (result, _) = run(&image, &limits).await;
    assert!(
        matches!(result, Err(InspectError::ImageTooLarge { limit: 60_000 })),
        "{result:?}"
    );
    let (ok, _) = run(&image, &LayerLimits::default()).await;
    assert!(ok.is_ok());
}
