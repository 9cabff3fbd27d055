//! Parsing manifests, indexes and configs under size limits, and picking a
//! platform out of an index.

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::digest::Digest;
use crate::media_type::{self, ManifestKind};
use crate::platform::Platform;

/// Largest manifest or index accepted (what containerd and Distribution allow).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest image config accepted.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "{what} is a Docker schema 1 manifest, which Clearance refuses (deprecated since 2017, \
         unverifiable layer digests); copy the image again with a current client, e.g. \
         `skopeo copy --format v2s2`"
    )]
    Schema1 { what: String },
    #[error("{what} has media type {media_type:?}, which is not an image manifest or index")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("{what} is not a valid {kind}: {message}")]
    Invalid {
        what: String,
        kind: &'static str,
        message: String,
    },
    #[error(
        "{what}: config media type {media_type:?} is not a container image config (an artifact?)"
    )]
    NotAnImage { what: String, media_type: String },
    #[error(
        "{what} has no image for platform {wanted}; available: {}{}{}",
        list_or_none(available),
        labelled("; could not tell the platform of", undecided),
        labelled("; skipped (not images)", skipped)
    )]
    NoPlatform {
        what: String,
        wanted: Box<Platform>,
        /// Platforms the index offers, from descriptors or, for entries
        /// without one, from the child's config.
        available: Vec<String>,
        /// Entries whose platform could not be decided, each with the reason.
        undecided: Vec<String>,
        /// Entries that are not images (attestations, artifacts), each with why.
        skipped: Vec<String>,
    },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn labelled(label: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("{label}: {}", items.join(", "))
    }
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum Manifest {
    Image(Box<ImageManifest>),
    Index(Box<ImageIndex>),
}

/// What a descriptor points at, with a validated digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlobRef {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

impl BlobRef {
    pub fn from_descriptor(d: &Descriptor, what: &str) -> Result<BlobRef, ManifestError> {
        let digest =
            d.digest()
                .to_string()
                .parse::<Digest>()
                .map_err(|e| ManifestError::Invalid {
                    what: what.to_owned(),
                    kind: "descriptor",
                    message: e.to_string(),
                })?;
        Ok(BlobRef {
            media_type: d.media_type().to_string(),
            digest,
            size: d.size(),
        })
    }
}

/// Parse manifest bytes. `declared` is the media type the transport gave
/// (HTTP `Content-Type`, an index descriptor); the body's own `mediaType`
/// wins when present.
pub fn parse_manifest(
    bytes: &[u8],
    declared: Option<&str>,
    what: &str,
) -> Result<(Manifest, String), ManifestError> {
    let invalid = |kind, message: String| ManifestError::Invalid {
        what: what.to_owned(),
        kind,
        message,
    };
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| invalid("manifest", e.to_string()))?;
    if probe.schema_version == Some(1) {
        return Err(ManifestError::Schema1 {
            what: what.to_owned(),
        });
    }
    let media_type = probe
        .media_type
        .or_else(|| {
            declared
                .map(|d| media_type::base(d).to_owned())
                .filter(|d| media_type::manifest_kind(d) != ManifestKind::Unknown)
        })
        .or_else(
            || match (probe.manifests.is_some(), probe.layers.is_some()) {
                (true, _) => Some(media_type::OCI_INDEX.to_owned()),
                (false, true) => Some(media_type::OCI_MANIFEST.to_owned()),
                _ => None,
            },
        )
        .unwrap_or_default();
    match media_type::manifest_kind(&media_type) {
        ManifestKind::Image => {
            let m: ImageManifest = serde_json::from_slice(bytes)
                .map_err(|e| invalid("image manifest", e.to_string()))?;
            Ok((Manifest::Image(Box::new(m)), media_type))
        }
        ManifestKind::Index => {
            let i: ImageIndex =
                serde_json::from_slice(bytes).map_err(|e| invalid("image index", e.to_string()))?;
            Ok((Manifest::Index(Box::new(i)), media_type))
        }
        ManifestKind::Schema1 => Err(ManifestError::Schema1 {
            what: what.to_owned(),
        }),
        ManifestKind::Unknown => Err(ManifestError::UnsupportedMediaType {
            what: what.to_owned(),
            media_type,
        }),
    }
}

/// Parse an image config.
pub fn parse_config(bytes: &[u8], what: &str) -> Result<ImageConfiguration, ManifestError> {
    serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid {
        what: what.to_owned(),
        kind: "image config",
        message: e.to_string(),
    })
}

/// Check that a manifest describes a container image (not another artifact).
pub fn image_config_ref(m: &ImageManifest, what: &str) -> Result<BlobRef, ManifestError> {
    let config = BlobRef::from_descriptor(m.config(), what)?;
    if !media_type::is_image_config(&config.media_type) {
        return Err(ManifestError::NotAnImage {
            what: what.to_owned(),
            media_type: config.media_type,
        });
    }
    Ok(config)
}

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

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    layers: Option<serde::de::IgnoredAny>,
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

    #[test]
    fn the_no_platform_error_lists_what_there_is() {
        let err = ManifestError::NoPlatform {
            what: "idx".into(),
            wanted: Box::new("linux/s390x".parse().unwrap()),
            available: vec![],
            undecided: vec!["sha256:ab (not read: gone)".into()],
            skipped: vec!["sha256:cd (attestation manifest)".into()],
        };
        assert_eq!(
            err.to_string(),
            "idx has no image for platform linux/s390x; available: none; could not tell the \
             platform of: sha256:ab (not read: gone); skipped (not images): sha256:cd \
             (attestation manifest)"
        );
    }

    #[test]
    fn refuses_schema_1_with_a_way_out() {
        let body = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        let err = parse_manifest(body, None, "m").unwrap_err();
        assert!(
            matches!(&err, ManifestError::Schema1 { what } if what == "m"),
            "{err}"
        );
        // The way out is told in the message: that text is the interface.
        assert!(err.to_string().contains("skopeo copy"), "{err}");
    }

    #[test]
    fn refuses_unknown_media_types_and_bad_json() {
        let body = br#"{"schemaVersion":2,"mediaType":"text/plain"}"#;
        assert!(matches!(
            parse_manifest(body, None, "m"),
            Err(ManifestError::UnsupportedMediaType { .. })
        ));
        assert!(matches!(
            parse_manifest(b"{", None, "m"),
            Err(ManifestError::Invalid { .. })
        ));
        let no_layers = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
            media_type::OCI_MANIFEST
        );
        assert!(matches!(
            parse_manifest(no_layers.as_bytes(), None, "m"),
            Err(ManifestError::Invalid { .. })
        ));
    }
}
