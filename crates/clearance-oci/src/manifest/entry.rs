//! What an entry of an image index is, from its descriptor alone.

use oci_spec::image::Descriptor;

use super::{BlobRef, ManifestError};
use crate::media_type::{self, ManifestKind};
use crate::platform::Platform;

/// Docker BuildKit's annotation on an attestation manifest in an index.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// What one entry of an image index points at, as far as its descriptor
/// says. Image-spec image-index.md: `platform` "SHOULD be present if its
/// target is platform-specific", so it may be missing; `manifests` may
/// hold indexes and artifacts as well as images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEntry {
    /// An image manifest for the platform its descriptor names.
    Image { blob: BlobRef, platform: Platform },
    /// An image manifest whose descriptor names no platform: its config decides.
    Unlabelled(BlobRef),
    /// An index inside the index, with the platform its descriptor names, if any.
    Index {
        blob: BlobRef,
        platform: Option<Platform>,
    },
    /// Never chosen: an attestation manifest, an artifact, or something
    /// that is not a manifest at all.
    Skipped { digest: String, reason: SkipReason },
}

/// Why an index entry is not an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// BuildKit's attestation manifest (`unknown/unknown`, or annotated
    /// `vnd.docker.reference.type: attestation-manifest`).
    Attestation,
    /// An artifact: its `artifactType` or config media type is not an image config.
    Artifact { media_type: String },
    /// A descriptor whose media type is neither a manifest nor an index.
    NotAManifest { media_type: String },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Attestation => f.write_str("attestation manifest"),
            SkipReason::Artifact { media_type } => write!(f, "artifact of type {media_type}"),
            SkipReason::NotAManifest { media_type } => write!(f, "media type {media_type}"),
        }
    }
}

/// Say what an index entry is without fetching it.
pub fn classify_entry(d: &Descriptor, what: &str) -> Result<IndexEntry, ManifestError> {
    let skipped = |reason| IndexEntry::Skipped {
        digest: d.digest().to_string(),
        reason,
    };
    let platform = d.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    });
    let attestation = d
        .annotations()
        .as_ref()
        .and_then(|a| a.get(REFERENCE_TYPE))
        .is_some_and(|t| t == "attestation-manifest")
        || platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown");
    if attestation {
        return Ok(skipped(SkipReason::Attestation));
    }
    if let Some(t) = d.artifact_type()
        && !media_type::is_image_config(t.as_ref())
    {
        return Ok(skipped(SkipReason::Artifact {
            media_type: t.to_string(),
        }));
    }
    let media_type = d.media_type().to_string();
    Ok(match (media_type::manifest_kind(&media_type), platform) {
        (ManifestKind::Image, Some(platform)) => IndexEntry::Image {
            blob: BlobRef::from_descriptor(d, what)?,
            platform,
        },
        (ManifestKind::Image, None) => IndexEntry::Unlabelled(BlobRef::from_descriptor(d, what)?),
        (ManifestKind::Index, platform) => IndexEntry::Index {
            blob: BlobRef::from_descriptor(d, what)?,
            platform,
        },
        _ => skipped(SkipReason::NotAManifest { media_type }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn descriptor(json: serde_json::Value) -> Descriptor {
        let mut d =
            serde_json::json!({"mediaType": media_type::OCI_MANIFEST, "digest": D, "size": 1});
        for (k, v) in json.as_object().unwrap() {
            d[k] = v.clone();
        }
        serde_json::from_value(d).unwrap()
    }

    #[test]
    fn index_entries_say_what_they_are_without_a_fetch() {
        let platform = |os: &str, arch: &str| serde_json::json!({"os": os, "architecture": arch});
        let classify = |d| classify_entry(&descriptor(d), "idx").unwrap();
        assert!(matches!(
            classify(serde_json::json!({"platform": platform("linux", "arm64")})),
            IndexEntry::Image { platform, .. } if platform.to_string() == "linux/arm64"
        ));
        assert!(matches!(
            classify(serde_json::json!({})),
            IndexEntry::Unlabelled(_)
        ));
        assert!(matches!(
            classify(serde_json::json!({"mediaType": media_type::OCI_INDEX})),
            IndexEntry::Index { platform: None, .. }
        ));
        let attestations = [
            serde_json::json!({"platform": platform("unknown", "unknown")}),
            serde_json::json!({"annotations": {REFERENCE_TYPE: "attestation-manifest"},
                               "platform": platform("linux", "amd64")}),
        ];
        for a in attestations {
            assert!(matches!(
                classify(a),
                IndexEntry::Skipped {
                    reason: SkipReason::Attestation,
                    ..
                }
            ));
        }
        assert!(matches!(
            classify(
                serde_json::json!({"artifactType": "application/vnd.example.sbom+json",
                                        "platform": platform("linux", "amd64")})
            ),
            IndexEntry::Skipped {
                reason: SkipReason::Artifact { .. },
                ..
            }
        ));
        assert!(matches!(
            classify(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar"})),
            IndexEntry::Skipped {
                reason: SkipReason::NotAManifest { .. },
                ..
            }
        ));
    }
}
