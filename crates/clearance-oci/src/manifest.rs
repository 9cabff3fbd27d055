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
    #[error("{what} has no image for platform {wanted}; available: {}", available.join(", "))]
    NoPlatform {
        what: String,
        wanted: Platform,
        available: Vec<String>,
    },
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

/// Pick the manifest for `wanted` out of an index.
pub fn select_platform(
    index: &ImageIndex,
    wanted: &Platform,
    what: &str,
) -> Result<BlobRef, ManifestError> {
    let mut available = Vec::new();
    for d in index.manifests() {
        let Some(p) = d.platform() else { continue };
        let (os, arch) = (p.os().to_string(), p.architecture().to_string());
        if os == "unknown" {
            continue; // build attestations
        }
        let variant = p.variant().as_deref();
        if wanted.matches(&os, &arch, variant) {
            return BlobRef::from_descriptor(d, what);
        }
        available.push(match variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        });
    }
    Err(ManifestError::NoPlatform {
        what: what.to_owned(),
        wanted: wanted.clone(),
        available,
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

    fn index_json() -> String {
        let entry = |arch: &str, variant: &str| {
            format!(
                r#"{{"mediaType":"{}","digest":"{D}","size":1,"platform":{{"os":"linux","architecture":"{arch}"{variant}}}}}"#,
                media_type::OCI_MANIFEST
            )
        };
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{},{}]}}"#,
            media_type::OCI_INDEX,
            entry("arm64", r#","variant":"v8""#),
            entry("amd64", "")
        )
    }

    #[test]
    fn selects_a_platform_or_lists_the_ones_there_are() {
        let (Manifest::Index(index), _) =
            parse_manifest(index_json().as_bytes(), None, "idx").unwrap()
        else {
            panic!()
        };
        let chosen = select_platform(&index, &"linux/arm64".parse().unwrap(), "idx").unwrap();
        assert_eq!(chosen.digest.to_string(), D);
        let err = select_platform(&index, &"linux/s390x".parse().unwrap(), "idx").unwrap_err();
        assert!(
            err.to_string().contains("linux/arm64/v8, linux/amd64"),
            "{err}"
        );
    }

    #[test]
    fn refuses_schema_1_with_a_way_out() {
        let body = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        let err = parse_manifest(body, None, "m").unwrap_err();
        assert!(err.to_string().contains("schema 1"), "{err}");
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
