//! From a top-level manifest down to one image: choose a platform in an
//! index, then read and check the config.
//!
//! Indexes are read as image-spec image-index.md allows them: `platform`
//! is optional ("SHOULD be present if its target is platform-specific"), so
//! an entry without one is decided by its child's config, as containerd
//! does; an entry may itself be an index (followed up to
//! [`MAX_INDEX_DEPTH`] deep); attestation manifests and artifacts are
//! skipped and never chosen. Everything fetched is digest-checked.
//!
//! The choice is containerd's (`images.Manifest` with `platforms.Only`):
//! entries whose descriptor names a platform the request runs come first,
//! best match first whatever the index order ([`Platform::preference`]),
//! then entries without a platform in index order. containerd tries only
//! the first of these; where that succeeds this walk picks the same image,
//! and where containerd would fail (an artifact, a nested index without a
//! match) it goes on to the next. What the chosen image's config says
//! against what was asked is left in [`ResolvedImage::warnings`].

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::manifest::{
    self, BlobRef, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, Manifest, ManifestError,
};
use crate::media_type;
use crate::platform::Platform;
use crate::source::search::Search;
use crate::source::{LayerRef, ManifestFetch, ResolvedImage, SourceError};

/// Deepest chain of indexes below the top one that is followed.
pub const MAX_INDEX_DEPTH: usize = 4;
/// Most documents (nested indexes, and the manifests and configs of entries
/// without a platform) fetched while choosing, beyond the chosen image's own.
pub const MAX_SEARCH_FETCHES: usize = 32;

/// From a top-level manifest (already verified against `digest`) down to
/// one image: choose the platform in an index, then read the config.
pub(crate) async fn resolve_manifest(
    src: &impl ManifestFetch,
    bytes: &[u8],
    digest: Digest,
    declared: Option<&str>,
    platform: &Platform,
    label: &str,
) -> Result<ResolvedImage, SourceError> {
    let what = format!("manifest {digest} of {label}");
    let (parsed, media_type) = manifest::parse_manifest(bytes, declared, &what)?;
    match parsed {
        Manifest::Image(m) => {
            let chosen = Candidate {
                digest,
                media_type,
                bytes: bytes.to_vec(),
                manifest: *m,
                config: None,
                declared: None,
            };
            finish(src, None, chosen, platform, label).await
        }
        Manifest::Index(index) => {
            let what = format!("index {digest} of {label}");
            let mut search = Search::new(src, platform, label);
            match search.run(*index, &what).await? {
                Some(chosen) => finish(src, Some(digest), chosen, platform, label).await,
                None => Err(search.no_platform(what).into()),
            }
        }
    }
}

/// What a small document fetched while resolving is, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document {
    Manifest,
    Config,
}

impl Document {
    fn limit(self) -> u64 {
        match self {
            Document::Manifest => MAX_MANIFEST_BYTES,
            Document::Config => MAX_CONFIG_BYTES,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Document::Manifest => "a manifest",
            Document::Config => "an image config",
        }
    }

    /// Refuse a descriptor that declares more than this document may hold,
    /// before anything is fetched (`what` names the document).
    pub(crate) fn check_declared(self, blob: &BlobRef, what: &str) -> Result<(), SourceError> {
        if blob.size > self.limit() {
            return Err(SourceError::DeclaredTooLarge {
                what: what.to_owned(),
                size: blob.size,
                limit: self.limit(),
                kind: self.name(),
            });
        }
        Ok(())
    }

    /// Fetch a manifest or config whole, under its limit, refusing first a
    /// descriptor that declares more.
    pub(crate) async fn fetch(
        self,
        src: &impl ManifestFetch,
        blob: &BlobRef,
        label: &str,
    ) -> Result<Vec<u8>, SourceError> {
        let what = match self {
            Document::Manifest => format!("manifest {} of {label}", blob.digest),
            Document::Config => format!("config {} of {label}", blob.digest),
        };
        self.check_declared(blob, &what)?;
        src.fetch_blob(blob, self.limit()).await
    }
}

/// The image manifest chosen, with its config when choosing needed it.
pub(super) struct Candidate {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub manifest: ImageManifest,
    pub config: Option<Vec<u8>>,
    /// The platform its index descriptor names, if it was chosen by one.
    pub declared: Option<Platform>,
}

async fn finish(
    src: &impl ManifestFetch,
    index_digest: Option<Digest>,
    chosen: Candidate,
    wanted: &Platform,
    label: &str,
) -> Result<ResolvedImage, SourceError> {
    let what = format!("manifest {} of {label}", chosen.digest);
    let config_blob = manifest::image_config_ref(&chosen.manifest, &what)?;
    let config_bytes = match chosen.config {
        Some(bytes) => bytes,
        None => Document::Config.fetch(src, &config_blob, label).await?,
    };
    let config = manifest::parse_config(
        &config_bytes,
        &format!("config {} of {label}", config_blob.digest),
    )?;
    let layers = layer_refs(&chosen.manifest, &config, &what)?;
    let platform = config_platform(&config);
    let mut warnings = platform_warnings(
        index_digest.is_some(),
        chosen.declared.as_ref(),
        &platform,
        wanted,
        &chosen.digest,
        label,
    );
    warnings.extend(
        layers
            .iter()
            .enumerate()
            .filter(|(_, l)| !media_type::is_known_layer(&l.blob.media_type))
            .map(|(index, l)| ResolveWarning::UnknownLayerMediaType {
                index,
                digest: l.blob.digest.clone(),
                media_type: l.blob.media_type.clone(),
            }),
    );
    tracing::info!(
        image = label,
        manifest = %chosen.digest,
        config = %config_blob.digest,
        layers = layers.len(),
        "resolved"
    );
    Ok(ResolvedImage {
        reference: label.to_owned(),
        index_digest,
        manifest_digest: chosen.digest,
        manifest_media_type: chosen.media_type,
        manifest_bytes: chosen.bytes,
        manifest: chosen.manifest,
        config_blob,
        config_bytes,
        platform,
        config,
        layers,
        warnings,
    })
}

/// What the chosen image's config says against what was asked: `--platform`
/// never goes silently unheeded.
fn platform_warnings(
    from_index: bool,
    declared: Option<&Platform>,
    configured: &Platform,
    wanted: &Platform,
    digest: &Digest,
    label: &str,
) -> Vec<ResolveWarning> {
    let mut warnings = Vec::new();
    if let Some(declared) = declared
        && !declared.same_as(configured)
    {
        warnings.push(ResolveWarning::IndexDisagreesWithConfig {
            manifest: digest.clone(),
            declared: declared.clone(),
            configured: configured.clone(),
        });
    }
    if !from_index && !wanted.accepts(configured) {
        warnings.push(ResolveWarning::SingleImageForAnotherPlatform {
            image: label.to_owned(),
            configured: configured.clone(),
            wanted: wanted.clone(),
        });
    }
    warnings
}

/// Something about the image chosen that the user should know; never an
/// error (runtimes run these images).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveWarning {
    /// An index entry's `platform` says one thing, the image's config another.
    #[error(
        "the index entry for manifest {manifest} says {declared} but the image's config says \
         {configured}; runtimes go by the index entry"
    )]
    IndexDisagreesWithConfig {
        manifest: Digest,
        declared: Platform,
        configured: Platform,
    },
    /// No index to choose from, and the one image is for another platform
    /// than asked (a single manifest, a docker archive).
    #[error(
        "{image} is a single image for {configured}, not {wanted}: there is no index to choose a \
         platform from"
    )]
    SingleImageForAnotherPlatform {
        image: String,
        configured: Platform,
        wanted: Platform,
    },
    /// A layer whose media type is none of the layer types: Clearance reads
    /// it (by its content), but containerd refuses to unpack it.
    #[error(
        "layer {index} ({digest}) has media type {media_type:?}, not a layer type; Clearance \
         reads it by its content, but containerd refuses it (unrecognised media type)"
    )]
    UnknownLayerMediaType {
        index: usize,
        digest: Digest,
        media_type: String,
    },
}

pub(super) fn config_platform(config: &ImageConfiguration) -> Platform {
    Platform {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

/// Pair each layer with its `diff_id`; their counts must agree.
fn layer_refs(
    manifest: &ImageManifest,
    config: &ImageConfiguration,
    what: &str,
) -> Result<Vec<LayerRef>, SourceError> {
    let diff_ids = config.rootfs().diff_ids();
    let invalid = |kind, message| ManifestError::Invalid {
        what: what.to_owned(),
        kind,
        message,
    };
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            "image",
            format!(
                "{} layers but the config lists {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        )
        .into());
    }
    manifest
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| {
            let diff_id = diff_id
                .parse::<Digest>()
                .map_err(|e| invalid("image config", e.to_string()))?;
            Ok(LayerRef {
                blob: BlobRef::from_descriptor(d, what)?,
                diff_id: Some(diff_id),
                urls: d.urls().clone().unwrap_or_default(),
            })
        })
        .collect()
}
