//! OCI image layouts (`oci:` directories and `oci-archive:` tars).

use oci_spec::image::ImageIndex;

use crate::digest::Digest;
use crate::manifest::{BlobRef, MAX_MANIFEST_BYTES};
use crate::platform::Platform;
use crate::source::files::Files;
use crate::source::{ManifestFetch, ResolvedImage, SourceError, resolve_manifest};
use crate::verify::{VerifyingReader, read_verified};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI image layout, in a directory or a tar.
#[derive(Debug)]
pub struct Layout {
    files: Files,
    tag: Option<String>,
    label: String,
}

impl Layout {
    pub fn new(files: Files, tag: Option<String>, label: String) -> Result<Layout, SourceError> {
        let marker = files.read_small("oci-layout", 4096)?;
        let version = serde_json::from_slice::<serde_json::Value>(&marker)
            .ok()
            .and_then(|v| v.get("imageLayoutVersion")?.as_str().map(str::to_owned));
        if version.as_deref() != Some("1.0.0") {
            return Err(SourceError::Layout {
                what: files.describe("oci-layout"),
                message: format!("unsupported imageLayoutVersion {version:?} (expected \"1.0.0\")"),
            });
        }
        Ok(Layout { files, tag, label })
    }

    pub async fn resolve(&self, platform: &Platform) -> Result<ResolvedImage, SourceError> {
        let index_bytes = self.files.read_small("index.json", MAX_MANIFEST_BYTES)?;
        let index: ImageIndex =
            serde_json::from_slice(&index_bytes).map_err(|e| SourceError::Layout {
                what: self.files.describe("index.json"),
                message: format!("not a valid image index: {e}"),
            })?;
        let top = self.pick(&index)?;
        let bytes = self.fetch(&top, MAX_MANIFEST_BYTES)?;
        resolve_manifest(
            self,
            &bytes,
            top.digest,
            Some(&top.media_type),
            platform,
            &self.label,
        )
        .await
    }

    fn pick(&self, index: &ImageIndex) -> Result<BlobRef, SourceError> {
        let what = self.files.describe("index.json");
        let names: Vec<String> = index
            .manifests()
            .iter()
            .filter_map(|d| d.annotations().as_ref()?.get(REF_NAME).cloned())
            .collect();
        let found = match &self.tag {
            Some(tag) => index.manifests().iter().find(|d| {
                d.annotations()
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            }),
            None if index.manifests().len() == 1 => index.manifests().first(),
            None => None,
        };
        match found {
            Some(d) => Ok(BlobRef::from_descriptor(d, &what)?),
            None => Err(SourceError::Layout {
                what,
                message: match &self.tag {
                    Some(tag) => format!("no image tagged {tag:?}; tags: {}", list(&names)),
                    None => format!(
                        "{} images and no tag given; add :TAG (tags: {})",
                        index.manifests().len(),
                        list(&names)
                    ),
                },
            }),
        }
    }

    /// Open a blob, verifying it as it streams.
    pub fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn std::io::Read + Send>, SourceError> {
        let rel = blob_path(&blob.digest);
        let (reader, _) = self.files.open(&rel)?;
        let what = self.files.describe(&rel);
        Ok(Box::new(VerifyingReader::new(
            reader,
            what,
            blob.digest.clone(),
            Some(blob.size),
        )))
    }
}

impl ManifestFetch for Layout {
    async fn fetch_blob(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
        self.fetch(blob, limit)
    }
}

impl Layout {
    fn fetch(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
        read_blob(&self.files, blob, limit)
    }
}

/// Read a small blob of a layout (`blobs/<alg>/<hex>`) whole, verified
/// against its digest and size, refusing more than `limit` bytes.
pub(crate) fn read_blob(files: &Files, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
    let rel = blob_path(&blob.digest);
    let (reader, _) = files.open(&rel)?;
    let what = files.describe(&rel);
    read_verified(reader, &what, &blob.digest, Some(blob.size), limit)
        .map_err(|e| SourceError::from_io(e, &what))
}

pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
