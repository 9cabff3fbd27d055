//! OCI artifacts: an image manifest that carries something other than a
//! container image (image-spec 1.1, manifest.md "Guidelines for Artifact
//! Usage", case 2 "artifact without config"): `artifactType` names what it
//! is, `config` is the empty descriptor, and the content is in `layers`.
//!
//! ```
//! use clearance_oci::artifact::{ArtifactManifest, Descriptor};
//! use clearance_oci::Digest;
//!
//! let layer = Descriptor::new("application/vnd.example.data.v1+zstd", Digest::sha256_of(b"x"), 1);
//! let manifest = ArtifactManifest::new("application/vnd.example.v1", vec![layer], Default::default());
//! let bytes = manifest.to_bytes();
//! let again = ArtifactManifest::parse(&bytes).unwrap();
//! assert_eq!(again.kind(), "application/vnd.example.v1");
//! ```

use std::collections::BTreeMap;

use crate::digest::Digest;
use crate::manifest::MAX_MANIFEST_BYTES;
use crate::media_type::{OCI_EMPTY, OCI_MANIFEST};

/// The empty JSON blob, `{}` (manifest.md "Guidance for an Empty
/// Descriptor"): what an artifact without a config names as its config.
pub const EMPTY_JSON: &[u8] = b"{}";

/// The most layers an artifact manifest is read with.
pub const MAX_LAYERS: usize = 64;

/// A manifest that is not an artifact manifest Clearance can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// Not JSON of the image manifest's shape.
    #[error("the manifest is not an OCI image manifest ({message})")]
    NotAManifest {
        /// serde's message, or what is wrong.
        message: String,
    },
    /// A manifest of another media type (an index, a Docker manifest).
    #[error("the manifest's mediaType is {media_type}, not {OCI_MANIFEST}")]
    MediaType {
        /// The `mediaType` field.
        media_type: String,
    },
    /// Over the 4 MiB a manifest may be, or [`MAX_LAYERS`].
    #[error("the manifest is too large ({what})")]
    TooLarge {
        /// Which limit.
        what: String,
    },
}

/// A content descriptor (image-spec descriptor.md): what a manifest says a
/// blob is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The blob's media type.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Annotations of the blob, if any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor without annotations.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size,
            annotations: BTreeMap::new(),
        }
    }

    /// The empty descriptor: `application/vnd.oci.empty.v1+json`, the
    /// digest of `{}`, size 2.
    pub fn empty() -> Descriptor {
        Descriptor::new(
            OCI_EMPTY,
            Digest::sha256_of(EMPTY_JSON),
            EMPTY_JSON.len() as u64,
        )
    }
}

/// An image manifest used for an artifact, as written and as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`] (absent in some older manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What the artifact is; "MUST be set when config.mediaType is set to
    /// the empty value".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config descriptor ([`Descriptor::empty`] for ours).
    pub config: Descriptor,
    /// The content.
    pub layers: Vec<Descriptor>,
    /// Annotations (image-spec annotations.md rules: string values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ArtifactManifest {
    /// An artifact of `artifact_type` holding `layers`, with the empty
    /// config.
    pub fn new(
        artifact_type: &str,
        layers: Vec<Descriptor>,
        annotations: BTreeMap<String, String>,
    ) -> ArtifactManifest {
        ArtifactManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: Some(artifact_type.to_owned()),
            config: Descriptor::empty(),
            layers,
            annotations,
        }
    }

    /// The manifest's bytes as pushed (compact JSON, keys in a fixed
    /// order, so the same artifact gives the same digest).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Read a manifest (at most 4 MiB and [`MAX_LAYERS`] layers): an OCI
    /// image manifest, whether or not it is an artifact ([`Self::kind`]
    /// says what it holds).
    ///
    /// # Errors
    ///
    /// [`ArtifactError`] for anything else.
    pub fn parse(bytes: &[u8]) -> Result<ArtifactManifest, ArtifactError> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(ArtifactError::TooLarge {
                what: format!("{} bytes, over {MAX_MANIFEST_BYTES}", bytes.len()),
            });
        }
        let manifest: ArtifactManifest =
            serde_json::from_slice(bytes).map_err(|e| ArtifactError::NotAManifest {
                message: e.to_string(),
            })?;
        if let Some(media_type) = manifest.media_type.as_deref()
            && media_type != OCI_MANIFEST
        {
            return Err(ArtifactError::MediaType {
                media_type: media_type.to_owned(),
            });
        }
        if manifest.schema_version != 2 {
            return Err(ArtifactError::NotAManifest {
                message: format!("schemaVersion {}, not 2", manifest.schema_version),
            });
        }
        if manifest.layers.len() > MAX_LAYERS {
            return Err(ArtifactError::TooLarge {
                what: format!("{} layers, over {MAX_LAYERS}", manifest.layers.len()),
            });
        }
        Ok(manifest)
    }

    /// What the manifest holds: its `artifactType`, else (for artifacts made
    /// before image-spec 1.1, and for images) its config's media type, as
    /// the spec's implementer note says.
    pub fn kind(&self) -> &str {
        self.artifact_type
            .as_deref()
            .unwrap_or(&self.config.media_type)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_empty_descriptor_is_the_one_the_spec_gives() {
        let empty = Descriptor::empty();
        assert_eq!(
            empty.digest.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(empty.size, 2);
        assert_eq!(empty.media_type, "application/vnd.oci.empty.v1+json");
    }

    #[test]
    fn an_artifact_round_trips_and_names_its_kind() {
        let layer = Descriptor::new("application/x.data", Digest::sha256_of(b"data"), 4);
        let annotations = BTreeMap::from([("org.example.k".to_owned(), "v".to_owned())]);
        let m = ArtifactManifest::new("application/x.kind", vec![layer], annotations);
        let bytes = m.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x.kind""#),
            "{text}"
        );
        assert_eq!(ArtifactManifest::parse(&bytes).unwrap(), m);
        assert_eq!(m.kind(), "application/x.kind");
    }

    #[test]
    fn an_image_is_read_as_its_config_type_and_an_index_is_refused() {
        let image = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256_of(b"c").to_string(), "size": 1},
            "layers": [],
        });
        let m = ArtifactManifest::parse(image.to_string().as_bytes()).unwrap();
        assert_eq!(m.kind(), "application/vnd.oci.image.config.v1+json");
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        });
        assert!(matches!(
            ArtifactManifest::parse(index.to_string().as_bytes()),
            Err(ArtifactError::NotAManifest { .. } | ArtifactError::MediaType { .. })
        ));
        assert!(matches!(
            ArtifactManifest::parse(b"{}"),
            Err(ArtifactError::NotAManifest { .. })
        ));
    }
}
