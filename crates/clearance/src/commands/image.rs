//! Opening the image a command names: parse, open the source, choose the
//! platform, print the resolution's warnings. Shared by `inspect` and
//! `sbom` (and the scanner's commands to come).

use std::sync::Arc;

use anyhow::Context as _;
use clearance_oci::inspect::{self, LayerDepth};
use clearance_oci::source::ResolveWarning;
use clearance_oci::{ImageRef, ImageSource, Platform, ResolvedImage};

use crate::cli::RegistryArgs;
use crate::output;

/// The image `image` names, resolved for `platform` (default
/// `linux/amd64`). Warnings are printed; a single image for another
/// platform is news only to who asked for one, an index entry that
/// contradicts its config always is.
///
/// # Errors
///
/// A reference that does not parse, a source that cannot be opened, or
/// no image for the platform, each with the reference in context.
pub async fn open(
    image: &str,
    platform: Option<&str>,
    registry: &RegistryArgs,
) -> anyhow::Result<(ImageRef, ImageSource, ResolvedImage)> {
    let reference: ImageRef = image.parse()?;
    let asked = platform.is_some();
    let platform: Platform = platform.unwrap_or("linux/amd64").parse()?;
    let settings = registry.settings()?;
    let source = ImageSource::open(&reference, &settings)
        .await
        .with_context(|| format!("opening {reference}"))?;
    let resolved = source
        .resolve(&platform)
        .await
        .with_context(|| format!("resolving {reference}"))?;
    for w in &resolved.warnings {
        if asked || !matches!(w, ResolveWarning::SingleImageForAnotherPlatform { .. }) {
            output::warning(w);
        }
    }
    Ok((reference, source, resolved))
}

/// A progress bar over the compressed bytes of the layers `depth` reads,
/// and the callback the layer reader feeds it. Finish the bar when done.
pub fn layer_progress(
    image: &ResolvedImage,
    depth: LayerDepth,
) -> (indicatif::ProgressBar, inspect::Progress) {
    let total: u64 = image
        .layers
        .iter()
        .filter(|l| depth.reads(l))
        .map(|l| l.blob.size)
        .sum();
    let bar = output::byte_progress(total, "reading layers");
    let feed = bar.clone();
    (bar, Arc::new(move |n| feed.inc(n)))
}
