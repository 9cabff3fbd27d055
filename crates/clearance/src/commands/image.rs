//! Opening the image a command names: parse, open the source, choose the
//! platform, print the resolution's warnings (shared by `inspect`, `sbom`
//! and `scan`); reading its layers once into an inventory and listings,
//! through the layer store (`sbom`, `scan`).

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use clearance_oci::inspect::{self, LayerDepth};
use clearance_oci::layer::LayerLimits;
use clearance_oci::source::ResolveWarning;
use clearance_oci::{Digest, ImageRef, ImageSource, Platform, ResolvedImage};
use clearance_scan::Inventory;
use clearance_scan::catalog::{self, Cataloger};
use clearance_scan::config::LayerListing;
use clearance_scan::layer_scan::{Below, LayerScan};
use clearance_scan::layer_store::LayerStore;
use clearance_scan::secrets::LayerSecrets;

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

/// An image read through its layers.
#[derive(Debug)]
pub struct ReadImage {
    /// The reference as parsed.
    pub reference: ImageRef,
    /// The image resolved for the platform.
    pub image: ResolvedImage,
    /// Its packages.
    pub inventory: Inventory,
    /// Each layer's entries, for the configuration checks.
    pub listings: Vec<LayerListing>,
    /// Each layer's secrets (empty for a layer not read), with what it
    /// deleted of the layers below.
    pub secrets: Vec<LayerSecrets>,
    /// Layers skipped and what the inventory could not read, one line each.
    pub warnings: Vec<String>,
}

/// The image a reading command takes, and how to read its layers; shared
/// by `sbom` and `scan`.
#[derive(Debug, Clone, Args)]
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
    /// Read every layer, even those whose inventory is stored (by diff id, in
    /// layers.db beside the advisory database), and store nothing.
    #[arg(long)]
    pub no_layer_store: bool,
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

    /// The layer store beside the advisory database `db` (`layers.db`),
    /// unless `--no-layer-store`; `None` with a warning when it cannot be
    /// opened (the layers are then read).
    pub async fn layer_store(
        &self,
        db: &std::path::Path,
    ) -> Option<clearance_scan::layer_store::LayerStore> {
        if self.no_layer_store {
            return None;
        }
        let path = db.with_file_name("layers.db");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            output::warning(format!(
                "cannot create {} for the layer store ({e}); reading every layer",
                dir.display()
            ));
            return None;
        }
        match clearance_scan::layer_store::LayerStore::open(&path).await {
            Ok(store) => Some(store),
            Err(e) => {
                output::warning(format!(
                    "the layer store is not usable ({e}); reading every layer"
                ));
                None
            }
        }
    }

    /// Open the image and read its layers (those not in the layer store
    /// beside the advisory database `db`), giving its inventory, each
    /// layer's listing and secrets, and what could not be read.
    ///
    /// # Errors
    ///
    /// As [`open`], and a layer that cannot be read, with the reference in
    /// context.
    pub async fn read(&self, db: &std::path::Path) -> anyhow::Result<ReadImage> {
        let (reference, source, image) = self.open().await?;
        let depth = self.depth();
        let store = self.layer_store(db).await;
        let (inventory, listings, secrets) = read_inventory(
            &source,
            &image,
            depth,
            usize::from(self.parallel),
            store.as_ref(),
        )
        .await
        .with_context(|| format!("reading the layers of {reference}"))?;
        let warnings = warnings(&image, &inventory, depth);
        Ok(ReadImage {
            reference,
            image,
            inventory,
            listings,
            secrets,
            warnings,
        })
    }

    /// [`open`] the image these arguments name.
    pub async fn open(&self) -> anyhow::Result<(ImageRef, ImageSource, ResolvedImage)> {
        open(&self.image, self.platform.as_deref(), &self.registry).await
    }
}

/// Render a standard document (`--format cyclonedx|spdx|sarif`) for an
/// image, its packages and (for `scan`) its vulnerabilities. The
/// timestamp is `SOURCE_DATE_EPOCH` when set (reproducible builds), else
/// now.
pub fn standard_document(
    format: crate::cli::Format,
    reference: &ImageRef,
    image: &ResolvedImage,
    inventory: &clearance_scan::Inventory,
    report: Option<&clearance_scan::matcher::Report>,
    secrets: Option<&clearance_scan::secrets::SecretsReport>,
    removed: clearance_scan::report::RemovedPackages,
) -> anyhow::Result<serde_json::Value> {
    use clearance_scan::report::{self, LayerRef, Subject, Timestamp};
    let now = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .context("SOURCE_DATE_EPOCH must be whole seconds since 1970")?,
        Err(_) => i64::try_from(clearance_oci::time::now_unix()).unwrap_or(0),
    };
    let timestamp = Timestamp::from_unix(now)?;
    let layers: Vec<LayerRef> = image
        .layers
        .iter()
        .zip(inspect::layer_history(image))
        .enumerate()
        .map(|(index, (l, created_by))| LayerRef {
            index,
            digest: l.blob.digest.to_string(),
            diff_id: l
                .diff_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            created_by,
        })
        .collect();
    let (repository, tag) = match reference {
        ImageRef::Registry(r) => (Some(r.name()), r.tag().map(str::to_owned)),
        ImageRef::OciLayout { tag, .. } | ImageRef::OciArchive { tag, .. } => (None, tag.clone()),
        ImageRef::DockerArchive { .. } => (None, None),
    };
    let digest = image.manifest_digest.to_string();
    let subject = Subject {
        reference: &image.reference,
        manifest_digest: &digest,
        repository: repository.as_deref(),
        tag: tag.as_deref(),
        arch: Some(&image.platform.architecture),
        layers: &layers,
        inventory,
        removed,
        report,
        secrets,
        timestamp: &timestamp,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    Ok(match format {
        crate::cli::Format::Cyclonedx => report::cyclonedx::render(&subject),
        crate::cli::Format::Spdx => report::spdx::render(&subject),
        crate::cli::Format::Sarif => report::sarif::render(&subject),
        other => anyhow::bail!(
            "--format {} is not a standard document format",
            other.name()
        ),
    })
}

/// Stream every layer `depth` reads through a [`LayerScan`] (each blob
/// once, `parallel` at a time, with a progress bar; layers in the store
/// are not read), then replay the captures into the inventory.
async fn read_inventory(
    source: &ImageSource,
    image: &ResolvedImage,
    depth: LayerDepth,
    parallel: usize,
    store: Option<&LayerStore>,
) -> anyhow::Result<(Inventory, Vec<LayerListing>, Vec<LayerSecrets>)> {
    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    // Layers stored by diff id are not read again.
    let diff_ids: Vec<Digest> = image
        .layers
        .iter()
        .filter_map(|l| l.diff_id.clone())
        .collect();
    let stored = match store {
        Some(store) => store.get(&diff_ids, &catalogers).await.unwrap_or_else(|e| {
            output::warning(format!(
                "the layer store could not be read ({e}); reading every layer"
            ));
            Default::default()
        }),
        None => Default::default(),
    };
    let missing: Vec<usize> = image
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| depth.reads(l))
        .filter(|(_, l)| l.diff_id.as_ref().is_none_or(|d| !stored.contains_key(d)))
        .map(|(i, _)| i)
        .collect();
    let mut to_read = image.clone();
    to_read.layers = missing.iter().map(|&i| image.layers[i].clone()).collect();
    let mut fresh: Vec<Option<LayerScan>> = Vec::new();
    if !to_read.layers.is_empty() {
        let (bar, progress) = super::image::layer_progress(&to_read, depth);
        let limits = LayerLimits {
            max_captured_file_bytes: catalog::MAX_DATABASE_BYTES,
            ..LayerLimits::default()
        };
        let read = inspect::read_layers(
            source,
            &to_read,
            depth,
            &limits,
            parallel,
            Some(progress),
            |_| LayerScan::new(catalogers.clone()),
        )
        .await;
        bar.finish_and_clear();
        for (layer, result) in to_read.layers.iter().zip(read?) {
            let Some((stats, scan)) = result else {
                fresh.push(None);
                continue;
            };
            // Stored only when the config named this layer's diff id and
            // the bytes read hashed to it.
            if let (Some(store), Some(diff_id)) = (store, &layer.diff_id)
                && *diff_id == stats.diff_id
                && let Err(e) = store.put(diff_id, &scan, &catalogers).await
            {
                output::warning(format!("the layer store could not be written ({e})"));
            }
            fresh.push(Some(scan));
        }
    }
    let mut fresh = missing
        .into_iter()
        .zip(fresh)
        .collect::<std::collections::HashMap<_, _>>();
    let mut captures = Vec::with_capacity(image.layers.len());
    let mut listings = Vec::with_capacity(image.layers.len());
    let mut secrets = Vec::with_capacity(image.layers.len());
    let mut secrets_below = false;
    for (i, l) in image.layers.iter().enumerate() {
        let scan = match fresh.remove(&i) {
            Some(scan) => scan.unwrap_or_default(),
            None => l
                .diff_id
                .as_ref()
                .filter(|_| depth.reads(l))
                .and_then(|d| stored.get(d).cloned())
                .unwrap_or_default(),
        };
        let below = if secrets_below {
            Below::HasFindings
        } else {
            Below::NoFindings
        };
        secrets.push(scan.secrets_at(i, below));
        secrets_below |= scan.has_secret_findings();
        captures.push(scan.capture);
        listings.push(scan.listing);
    }
    Ok((Inventory::build(&catalogers, captures), listings, secrets))
}

/// What could not be read, one line each: layers skipped, then the
/// inventory's warnings, then how many more there were.
fn warnings(image: &ResolvedImage, inventory: &Inventory, depth: LayerDepth) -> Vec<String> {
    let mut out: Vec<String> = image
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| !depth.reads(l))
        .map(|(i, l)| {
            format!(
                "layer {i} ({}) is a foreign layer and was not read (--skip-foreign-layers): its packages are not listed",
                l.blob.digest
            )
        })
        .collect();
    out.extend(inventory.warnings.iter().map(ToString::to_string));
    if inventory.warnings_not_shown > 0 {
        out.push(format!(
            "{} more warnings not shown (the first {} are above)",
            inventory.warnings_not_shown,
            inventory.warnings.len()
        ));
    }
    out
}
