//! OCI image layouts (`oci:` directories and `oci-archive:` tars).

use oci_spec::image::{Descriptor, ImageIndex};

use crate::digest::Digest;
use crate::manifest::{self, BlobRef, MAX_MANIFEST_BYTES, Manifest, ManifestError};
use crate::platform::Platform;
use crate::source::archive_index;
use crate::source::files::Files;
use crate::source::resolve::Document;
use crate::source::{ManifestFetch, ResolvedImage, SourceError, resolve_manifest};
use crate::verify::{VerifyingReader, read_verified};

/// image-spec annotations.md: the tag of an `index.json` entry.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

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

    /// Pick the tagged entry of `index.json` and resolve it. When the
    /// layout is also a docker archive (`manifest.json` beside it, as
    /// `docker save` writes), the two must name the same image.
    pub async fn resolve(&self, platform: &Platform) -> Result<ResolvedImage, SourceError> {
        let index = read_index(&self.files)?;
        let picked = self.pick(&index)?;
        let top = BlobRef::from_descriptor(picked, &self.files.describe("index.json"))?;
        Document::Manifest.check_declared(
            &top,
            &format!(
                "manifest {} in {}",
                top.digest,
                self.files.describe("index.json")
            ),
        )?;
        let bytes = self.fetch(&top, MAX_MANIFEST_BYTES)?;
        let image = resolve_manifest(
            self,
            &bytes,
            top.digest.clone(),
            Some(&top.media_type),
            platform,
            &self.label,
        )
        .await?;
        archive_index::check_layout(&self.files, &index, picked, &self.label).await?;
        Ok(image)
    }

    /// The entry the tag names (or the only one). A tag on two entries
    /// that differ is refused: which one "wins" is up to each reader.
    fn pick<'i>(&self, index: &'i ImageIndex) -> Result<&'i Descriptor, SourceError> {
        let what = self.files.describe("index.json");
        let names: Vec<String> = index
            .manifests()
            .iter()
            .filter_map(|d| d.annotations().as_ref()?.get(REF_NAME).cloned())
            .collect();
        let found = match &self.tag {
            Some(tag) => {
                let tagged: Vec<&Descriptor> = index
                    .manifests()
                    .iter()
                    .filter(|d| {
                        d.annotations()
                            .as_ref()
                            .and_then(|a| a.get(REF_NAME))
                            .is_some_and(|n| {
                                n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag)
                            })
                    })
                    .collect();
                let mut digests: Vec<String> = Vec::new();
                for d in &tagged {
                    let named = format!("{} ({})", d.digest(), d.media_type());
                    if !digests.contains(&named) {
                        digests.push(named);
                    }
                }
                if digests.len() > 1 {
                    return Err(SourceError::DuplicateTag {
                        what,
                        tag: tag.clone(),
                        digests,
                    });
                }
                tagged.first().copied()
            }
            None if index.manifests().len() == 1 => index.manifests().first(),
            None => None,
        };
        match found {
            Some(d) => Ok(d),
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

/// The blobs of a layout's files, for resolving inside an archive.
pub(crate) struct LayoutBlobs<'a>(pub &'a Files);

impl ManifestFetch for LayoutBlobs<'_> {
    async fn fetch_blob(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
        read_blob(self.0, blob, limit)
    }
}

/// Read and parse `index.json` (keys checked as Go matches them).
pub(crate) fn read_index(files: &Files) -> Result<ImageIndex, SourceError> {
    let what = files.describe("index.json");
    let bytes = files.read_small("index.json", MAX_MANIFEST_BYTES)?;
    match manifest::parse_manifest(&bytes, None, &what)? {
        (Manifest::Index(index), _) => Ok(*index),
        (Manifest::Image(_), _) => Err(ManifestError::Invalid {
            what,
            kind: "image index",
            message: "it is an image manifest".into(),
        }
        .into()),
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
