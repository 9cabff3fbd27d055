//! Image sources: where an image's manifest, config and layers come from.
//!
//! Every source hands out blobs through readers that verify digest and size
//! while streaming; manifests and configs are read whole under size limits.
//! Layer readers block: read them on a blocking thread (`spawn_blocking`).

mod docker_archive;
mod files;
mod layout;

use std::io::{self, Read};
use std::path::PathBuf;

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::manifest::{
    self, BlobRef, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, Manifest, ManifestError,
};
use crate::platform::Platform;
use crate::reference::ImageRef;
use crate::registry::{RegistryClient, RegistryError, RegistrySettings};
use crate::verify::VerifyError;

pub use docker_archive::DockerArchive;
pub use files::{ArchiveError, ArchiveIndex, TarItem};
pub use layout::Layout;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {message}")]
    Archive { path: PathBuf, message: String },
    #[error("{what}: {message}")]
    Layout { what: String, message: String },
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl SourceError {
    pub(crate) fn from_io(e: io::Error, what: &str) -> SourceError {
        match VerifyError::from_io(&e) {
            Some(VerifyError::TooLarge { what, limit }) => SourceError::TooLarge {
                what: what.clone(),
                limit: *limit,
            },
            Some(v) => SourceError::Verify(v.clone()),
            None => SourceError::Io {
                path: PathBuf::from(what),
                source: e,
            },
        }
    }
}

/// How to reach images: registry settings; local sources need none.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    pub registry: RegistrySettings,
}

/// An image's layer: the blob to fetch and the digest of its uncompressed tar.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerRef {
    pub blob: BlobRef,
    pub diff_id: Option<Digest>,
}

/// An image resolved down to one platform's manifest and config, all verified.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The reference as given, normalised.
    pub reference: String,
    /// The index the manifest was chosen from, if any.
    pub index_digest: Option<Digest>,
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    pub manifest_bytes: Vec<u8>,
    pub manifest: ImageManifest,
    pub config_blob: BlobRef,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfiguration,
    pub platform: Platform,
    pub layers: Vec<LayerRef>,
}

/// Where an image comes from.
#[derive(Debug)]
pub enum ImageSource {
    Layout(Layout),
    DockerArchive(DockerArchive),
    Registry(Box<RegistryClient>, crate::reference::RegistryRef),
}

impl ImageSource {
    /// Open the source a reference names (reads no more than an index).
    pub async fn open(
        reference: &ImageRef,
        settings: &SourceSettings,
    ) -> Result<ImageSource, SourceError> {
        let label = reference.to_string();
        Ok(match reference {
            ImageRef::OciLayout { path, tag } => {
                ImageSource::Layout(Layout::new(files::Files::dir(path)?, tag.clone(), label)?)
            }
            ImageRef::OciArchive { path, tag } => {
                ImageSource::Layout(Layout::new(files::Files::tar(path)?, tag.clone(), label)?)
            }
            ImageRef::DockerArchive { path, select } => ImageSource::DockerArchive(
                DockerArchive::open(files::Files::tar(path)?, select, label)?,
            ),
            ImageRef::Registry(r) => ImageSource::Registry(
                Box::new(RegistryClient::new(&settings.registry)?),
                r.clone(),
            ),
        })
    }

    /// Find the manifest for `platform` and read its config.
    pub async fn resolve(&self, platform: &Platform) -> Result<ResolvedImage, SourceError> {
        match self {
            ImageSource::Layout(l) => l.resolve(platform).await,
            ImageSource::DockerArchive(d) => d.resolve().await,
            ImageSource::Registry(client, r) => {
                let fetch = RegistryFetch {
                    client,
                    reference: r,
                };
                let (bytes, digest, media_type) =
                    client.get_manifest(r, &r.manifest_reference()).await?;
                resolve_manifest(
                    &fetch,
                    &bytes,
                    digest,
                    media_type.as_deref(),
                    platform,
                    &r.to_string(),
                )
                .await
            }
        }
    }

    /// Open a layer blob; the reader verifies digest and size as it streams.
    /// It blocks: read it inside `spawn_blocking`.
    pub async fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, SourceError> {
        match self {
            ImageSource::Layout(l) => l.open_blob(blob),
            ImageSource::DockerArchive(d) => d.open_blob(blob),
            ImageSource::Registry(client, r) => Ok(client.open_blob(r, blob).await?),
        }
    }
}

/// Reading small verified blobs (manifests, configs) from a source.
pub(crate) trait ManifestFetch {
    async fn fetch_blob(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError>;
}

struct RegistryFetch<'a> {
    client: &'a RegistryClient,
    reference: &'a crate::reference::RegistryRef,
}

impl ManifestFetch for RegistryFetch<'_> {
    async fn fetch_blob(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
        if crate::media_type::manifest_kind(&blob.media_type)
            != crate::media_type::ManifestKind::Unknown
        {
            let (bytes, _, _) = self
                .client
                .get_manifest(self.reference, &blob.digest.to_string())
                .await?;
            if bytes.len() as u64 != blob.size {
                return Err(VerifyError::SizeMismatch {
                    what: format!("manifest {}", blob.digest),
                    expected: blob.digest.clone(),
                    size: blob.size,
                    actual: bytes.len().to_string(),
                }
                .into());
            }
            return Ok(bytes);
        }
        Ok(self
            .client
            .get_small_blob(self.reference, blob, limit)
            .await?)
    }
}

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
    let (index_digest, manifest_digest, manifest_media_type, manifest_bytes, manifest) =
        match parsed {
            Manifest::Image(m) => (None, digest, media_type, bytes.to_vec(), *m),
            Manifest::Index(index) => {
                let chosen = manifest::select_platform(&index, platform, &what)?;
                let child = src.fetch_blob(&chosen, MAX_MANIFEST_BYTES).await?;
                let child_what = format!("manifest {} of {label}", chosen.digest);
                match manifest::parse_manifest(&child, Some(&chosen.media_type), &child_what)? {
                    (Manifest::Image(m), mt) => (Some(digest), chosen.digest, mt, child, *m),
                    (Manifest::Index(_), _) => {
                        return Err(ManifestError::Invalid {
                            what: child_what,
                            kind: "image manifest",
                            message: "an index inside an index is not supported".into(),
                        }
                        .into());
                    }
                }
            }
        };
    let what = format!("manifest {manifest_digest} of {label}");
    let config_blob = manifest::image_config_ref(&manifest, &what)?;
    let config_bytes = src.fetch_blob(&config_blob, MAX_CONFIG_BYTES).await?;
    let config = manifest::parse_config(
        &config_bytes,
        &format!("config {} of {label}", config_blob.digest),
    )?;
    let layers = layer_refs(&manifest, &config, &what)?;
    tracing::info!(
        image = label,
        manifest = %manifest_digest,
        config = %config_blob.digest,
        layers = layers.len(),
        "resolved"
    );
    let platform = Platform {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    };
    Ok(ResolvedImage {
        reference: label.to_owned(),
        index_digest,
        manifest_digest,
        manifest_media_type,
        manifest_bytes,
        manifest,
        config_blob,
        config_bytes,
        config,
        platform,
        layers,
    })
}

/// Pair each layer with its `diff_id`; their counts must agree.
fn layer_refs(
    manifest: &ImageManifest,
    config: &ImageConfiguration,
    what: &str,
) -> Result<Vec<LayerRef>, SourceError> {
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(ManifestError::Invalid {
            what: what.to_owned(),
            kind: "image",
            message: format!(
                "{} layers but the config lists {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        }
        .into());
    }
    manifest
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| {
            let diff_id = diff_id
                .parse::<Digest>()
                .map_err(|e| ManifestError::Invalid {
                    what: what.to_owned(),
                    kind: "image config",
                    message: e.to_string(),
                })?;
            Ok(LayerRef {
                blob: BlobRef::from_descriptor(d, what)?,
                diff_id: Some(diff_id),
            })
        })
        .collect()
}
