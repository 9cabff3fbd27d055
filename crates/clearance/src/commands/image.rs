//! Opening the image a command names: parse, open the source, choose the
//! platform, print the resolution's warnings. Shared by `inspect` and
//! `sbom` (and the scanner's commands to come).

use std::sync::Arc;

use anyhow::Context as _;
use clearance_oci::inspect::{self, LayerDepth};
use clearance_oci::source::ResolveWarning;
use clearance_oci::{ImageRef, ImageSource, Platform, ResolvedImage};

use clap::Args;

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

/// The image a reading command takes, and how to read its layers; shared
/// by `sbom` and `scan`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image (the forms `clearance inspect` takes).
    pub image: String,
    /// Platform to choose from a multi-platform image [default: linux/amd64].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Do not read foreign (non-distributable) layers, whose blobs are kept
    /// at URLs the manifest names (never fetched); their packages are missed.
    #[arg(long)]
    pub skip_foreign_layers: bool,
    /// Layers read at once (1–16).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub parallel: u8,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl ImageArgs {
    /// Which layers to read.
    pub fn depth(&self) -> LayerDepth {
        if self.skip_foreign_layers {
            LayerDepth::ReadSkippingForeign
        } else {
            LayerDepth::Read
        }
    }

    /// [`open`] the image these arguments name.
    pub async fn open(&self) -> anyhow::Result<(ImageRef, ImageSource, ResolvedImage)> {
        open(&self.image, self.platform.as_deref(), &self.registry).await
    }
}
