//! Image sources: where an image's manifest, config and layers come from.
//!
//! Every source hands out blobs through readers that verify digest and size
//! while streaming; manifests and configs are read whole under size limits.
//! Layer readers block: read them on a blocking thread (`spawn_blocking`).

mod archive_index;
mod archive_layers;
mod docker_archive;
mod files;
mod layout;
mod resolve;
mod search;

use std::io::{self, Read};
use std::path::PathBuf;

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::manifest::{BlobRef, ManifestError};
use crate::platform::Platform;
use crate::reference::ImageRef;
use crate::registry::{RegistryClient, RegistryError, RegistrySettings};
use crate::verify::VerifyError;

pub use docker_archive::DockerArchive;
pub use files::{ArchiveError, ArchiveIndex, LocalFileError, TarItem};
pub use layout::Layout;
pub(crate) use resolve::resolve_manifest;
pub use resolve::{MAX_INDEX_DEPTH, MAX_SEARCH_FETCHES, ResolveWarning};

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
    /// A descriptor names a manifest or config bigger than any is allowed
    /// to be; refused before anything is read.
    #[error(
        "{what}: its descriptor declares {size} bytes, more than the limit of {limit} bytes for {kind}"
    )]
    DeclaredTooLarge {
        what: String,
        size: u64,
        limit: u64,
        /// `a manifest` or `an image config`.
        kind: &'static str,
    },
    #[error(
        "{index} names the {platform} image {digest}, but {holder} does not hold it (`docker \
         save` of a multi-platform image keeps only one platform's blobs): ask for a platform it \
         holds with --platform, or save it again with `docker save --platform {platform}`"
    )]
    MissingChild {
        /// The index that names it.
        index: String,
        platform: Box<Platform>,
        digest: Digest,
        /// The image source, as given.
        holder: String,
    },
    #[error(
        "{index} names the {platform} image {digest}, but the registry answered 404 for that \
         manifest: the index names a manifest the registry no longer has (deleted, or never \
         pushed with it); ask for another platform with --platform, or push the image again"
    )]
    RegistryMissingChild {
        /// The index that names it.
        index: String,
        platform: Box<Platform>,
        digest: Digest,
    },
    #[error(
        "{what}: manifest.json and index.json name different images for {name}: manifest.json \
         (read as docker-archive:) has config {docker_config}, index.json (read as oci-archive:, \
         and by docker load with the containerd store) {oci}; refusing an archive that \
         runtimes would load as different images"
    )]
    ArchiveDisagrees {
        what: String,
        /// The tag (or position) both name.
        name: String,
        docker_config: Digest,
        /// What index.json names instead: a config digest, or why none matches.
        oci: String,
    },
    #[error("{what}: the tag {tag:?} names {} different images: {}; refusing to guess which one a runtime would load", digests.len(), digests.join(", "))]
    DuplicateTag {
        what: String,
        tag: String,
        digests: Vec<String>,
    },
    #[error("{path} is not {expected}: it looks like {found}; read it as {suggestion}")]
    WrongTransport {
        path: PathBuf,
        expected: &'static str,
        found: &'static str,
        suggestion: String,
    },
    #[error(transparent)]
    LocalFile(#[from] files::LocalFileError),
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

    /// Whether a registry answered 404 for the blob asked for.
    pub(crate) fn is_registry_not_found(&self) -> bool {
        matches!(self, SourceError::Registry(e) if e.status() == Some(404))
    }

    /// Whether the blob asked for is not there (a missing file, HTTP 404).
    pub fn is_not_found(&self) -> bool {
        match self {
            SourceError::NotFound { .. } => true,
            SourceError::Registry(e) => e.status() == Some(404),
            _ => false,
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
    /// Where the manifest says a foreign (non-distributable) layer is kept.
    /// Never fetched: Clearance reads blobs only from the image's source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl LayerRef {
    /// Whether this is a foreign (non-distributable) layer: by its media
    /// type, or because its descriptor names URLs to fetch it from (image-spec
    /// 1.1 deprecates the non-distributable types in favour of `urls`).
    pub fn is_foreign(&self) -> bool {
        crate::media_type::is_foreign_layer(&self.blob.media_type) || !self.urls.is_empty()
    }
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
    /// The platform the image's config says.
    pub platform: Platform,
    pub layers: Vec<LayerRef>,
    /// What the user should know about the choice: the config says another
    /// platform than asked for (a single image, a docker archive) or than
    /// its index entry says. Never an error: runtimes run these images.
    pub warnings: Vec<ResolveWarning>,
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
                let files = files::Files::dir(path)?;
                wrong_transport(&files, path, Transport::Oci)?;
                ImageSource::Layout(Layout::new(files, tag.clone(), label)?)
            }
            ImageRef::OciArchive { path, tag } => {
                let files = files::Files::tar(path)?;
                wrong_transport(&files, path, Transport::OciArchive)?;
                ImageSource::Layout(Layout::new(files, tag.clone(), label)?)
            }
            ImageRef::DockerArchive { path, select } => {
                let files = files::Files::tar(path)?;
                wrong_transport(&files, path, Transport::DockerArchive)?;
                ImageSource::DockerArchive(DockerArchive::open(files, select, label)?)
            }
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
            ImageSource::DockerArchive(d) => d.resolve(platform).await,
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

/// The transports that read local files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Oci,
    OciArchive,
    DockerArchive,
}

/// Refuse, with the transport to use instead, a docker archive given as
/// an OCI layout or the reverse (an archive that is both is left alone).
fn wrong_transport(
    files: &files::Files,
    path: &std::path::Path,
    transport: Transport,
) -> Result<(), SourceError> {
    let lacks = |name: &str| files.open(name).is_err_and(|e| e.is_not_found());
    let refuse = |expected, found, prefix: &str| SourceError::WrongTransport {
        path: path.to_owned(),
        expected,
        found,
        suggestion: match transport {
            // docker-archive: reads the tar, never a directory.
            Transport::Oci => format!("{prefix}: with the tar file it was extracted from"),
            _ => format!("{prefix}:{}", path.display()),
        },
    };
    match transport {
        Transport::Oci | Transport::OciArchive
            if lacks("oci-layout") && !lacks("manifest.json") =>
        {
            Err(refuse(
                "an OCI image layout (it has no oci-layout file)",
                "a docker archive (it has manifest.json)",
                "docker-archive",
            ))
        }
        Transport::DockerArchive if lacks("manifest.json") && !lacks("oci-layout") => Err(refuse(
            "a docker archive (it has no manifest.json)",
            "an OCI image layout (it has oci-layout)",
            "oci-archive",
        )),
        _ => Ok(()),
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
