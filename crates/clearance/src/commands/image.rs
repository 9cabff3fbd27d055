//! Opening the image a command names: parse, open the source, choose the
//! platform, print the resolution's warnings. Shared by `inspect` and
//! `sbom` (and the scanner's commands to come).

use anyhow::Context as _;
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
