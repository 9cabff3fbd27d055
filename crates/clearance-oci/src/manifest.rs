//! Parsing manifests, indexes and configs under size limits, and picking a
//! platform out of an index.
//!
//! Every document is read as the Go programs that run images read it:
//! keys are checked against Go's case-insensitive matching first
//! ([`keys`]), and a document that one reader could take for a manifest and
//! another for an index is refused (CVE-2021-41190). Text in strings is
//! read as Go reads it: invalid UTF-8 and lone surrogate escapes become
//! U+FFFD ([`go_text`]) instead of refusing the document.

mod entry;
mod go_fields;
pub mod go_text;
mod go_time;
pub mod keys;

pub use entry::{IndexEntry, REFERENCE_TYPE, SkipReason, classify_entry};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::digest::Digest;
use crate::media_type::{self, ManifestKind};
use crate::platform::Platform;
use keys::{Document, KeyError};

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
    #[error("{what}: {problem}")]
    Keys { what: String, problem: KeyError },
    #[error(
        "{what} is ambiguous: {detail}; readers would take it for different documents \
         (CVE-2021-41190), so it is refused"
    )]
    Ambiguous { what: String, detail: String },
    #[error(
        "{what} has {body} but was named as {declared:?} (by its descriptor or the registry's \
         Content-Type); refusing a document named as one thing and written as another"
    )]
    MediaTypeMismatch {
        what: String,
        /// What the body says it is: its `mediaType`, or its fields.
        body: String,
        declared: String,
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
/// (HTTP `Content-Type`, an index descriptor).
///
/// What the document is comes from the document alone: `manifests` makes an
/// index, `config`/`layers` an image manifest, and a body with both is
/// refused (CVE-2021-41190; skopeo "rejecting ambiguous manifest",
/// containerd `validateMediaType`). A body's own `mediaType` must agree
/// with that and with `declared`; without one, `declared` must name the
/// same kind. So one body is never read as a manifest under one descriptor
/// and as an index under another. Returns the document and its media type.
///
/// # Errors
///
/// [`ManifestError::Keys`] when Go would match its keys differently,
/// [`ManifestError::Ambiguous`], [`ManifestError::MediaTypeMismatch`],
/// [`ManifestError::Schema1`], [`ManifestError::UnsupportedMediaType`], or
/// [`ManifestError::Invalid`] for JSON that is not a manifest.
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
    let bytes = &*go_text::as_go_reads(bytes);
    check_keys(bytes, Document::Manifest, what, "manifest")?;
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| invalid("manifest", e.to_string()))?;
    let media_type = decide_kind(&probe, declared, what)?;
    // image-spec manifest.md and image-index.md: "MUST be 2"; Distribution
    // refuses other versions.
    if let Some(version) = probe.schema_version.filter(|v| *v != 2) {
        return Err(invalid(
            "manifest",
            format!("schemaVersion is {version}; image manifests and indexes are version 2"),
        ));
    }
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

/// The media type a manifest body is read as (see [`parse_manifest`]).
fn decide_kind(probe: &Probe, declared: Option<&str>, what: &str) -> Result<String, ManifestError> {
    let ambiguous = |detail: String| ManifestError::Ambiguous {
        what: what.to_owned(),
        detail,
    };
    if probe.schema_version == Some(1) || probe.fs_layers.0 {
        return Err(ManifestError::Schema1 {
            what: what.to_owned(),
        });
    }
    let image_fields = probe.config.0 || probe.layers.0;
    let by_fields = match (probe.manifests.0, image_fields) {
        (true, true) => {
            return Err(ambiguous(
                "it has `manifests` (an index) and `config`/`layers` (an image manifest)".into(),
            ));
        }
        (true, false) => Some(ManifestKind::Index),
        (false, true) => Some(ManifestKind::Image),
        (false, false) => None,
    };
    let declared = declared
        .map(media_type::base)
        .filter(|d| media_type::manifest_kind(d) != ManifestKind::Unknown);
    if let Some(body) = probe.media_type.as_ref().filter(|m| !m.is_empty()) {
        let kind = media_type::manifest_kind(body);
        if let Some(by_fields) = by_fields
            && matches!(kind, ManifestKind::Image | ManifestKind::Index)
            && kind != by_fields
        {
            return Err(ambiguous(format!(
                "its mediaType is {body:?} but it has the fields of {}",
                kind_name(by_fields)
            )));
        }
        if let Some(declared) = declared
            && declared != media_type::base(body)
        {
            return Err(ManifestError::MediaTypeMismatch {
                what: what.to_owned(),
                body: format!("mediaType {body:?}"),
                declared: declared.to_owned(),
            });
        }
        return Ok(body.clone());
    }
    let Some(kind) = by_fields else {
        return Err(ManifestError::Invalid {
            what: what.to_owned(),
            kind: "manifest",
            message: "it has no mediaType and neither `manifests` nor `config`/`layers`".into(),
        });
    };
    match declared {
        Some(declared) if media_type::manifest_kind(declared) == kind => Ok(declared.to_owned()),
        Some(declared) => Err(ManifestError::MediaTypeMismatch {
            what: what.to_owned(),
            body: format!("no mediaType and the fields of {}", kind_name(kind)),
            declared: declared.to_owned(),
        }),
        None if kind == ManifestKind::Index => Ok(media_type::OCI_INDEX.to_owned()),
        None => Ok(media_type::OCI_MANIFEST.to_owned()),
    }
}

fn kind_name(kind: ManifestKind) -> &'static str {
    match kind {
        ManifestKind::Index => "an index",
        _ => "an image manifest",
    }
}

/// Refuse keys Go would match differently; JSON syntax errors are left to
/// the parse that follows, which names them as it always has.
fn check_keys(
    bytes: &[u8],
    document: Document,
    what: &str,
    kind: &'static str,
) -> Result<(), ManifestError> {
    match keys::check(bytes, document) {
        Ok(()) => Ok(()),
        Err(KeyError::Syntax(message)) => Err(ManifestError::Invalid {
            what: what.to_owned(),
            kind,
            message,
        }),
        Err(problem) => Err(ManifestError::Keys {
            what: what.to_owned(),
            problem,
        }),
    }
}

/// Parse an image config, its keys checked as Go matches them first.
///
/// # Errors
///
/// [`ManifestError::Keys`] or [`ManifestError::Invalid`].
pub fn parse_config(bytes: &[u8], what: &str) -> Result<ImageConfiguration, ManifestError> {
    let bytes = &*go_text::as_go_reads(bytes);
    check_keys(bytes, Document::Config, what, "image config")?;
    let invalid = |message: String| ManifestError::Invalid {
        what: what.to_owned(),
        kind: "image config",
        message,
    };
    let config: ImageConfiguration =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    check_config(&config).map_err(invalid)?;
    Ok(config)
}

/// What the image spec requires of a config beyond its JSON shape, and
/// runtimes refuse without: config.md "rootfs.type MUST be set to layers.
/// Implementations MUST generate an error if they encounter a unknown
/// value"; `os` and `architecture` REQUIRED (an empty one matches no
/// platform); `created` (also in history) an RFC 3339 date-time, which Go's
/// `time.Time` decoder in containerd and Docker refuses otherwise.
fn check_config(config: &ImageConfiguration) -> Result<(), String> {
    let rootfs = config.rootfs().typ();
    if rootfs != "layers" {
        return Err(format!(
            "rootfs.type is {rootfs:?}; the image spec allows only \"layers\" and runtimes refuse others"
        ));
    }
    for (field, value) in [
        ("os", config.os().to_string()),
        ("architecture", config.architecture().to_string()),
    ] {
        if value.is_empty() {
            return Err(format!(
                "{field} is empty; an image config names its platform"
            ));
        }
    }
    let created = config.created().iter().map(|c| ("created".to_owned(), c));
    let history = config
        .history()
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, h)| {
            h.created()
                .as_ref()
                .map(|c| (format!("history[{i}].created"), c))
        });
    for (field, value) in created.chain(history) {
        if !go_time::is_rfc3339(value) {
            return Err(format!(
                "{field} is {value:?}, not an RFC 3339 date-time (2006-01-02T15:04:05Z); Docker and \
                 containerd refuse the config"
            ));
        }
    }
    Ok(())
}

/// Parse a docker archive's `manifest.json`, its keys checked as Go
/// matches them first (moby reads it into `tarexport.manifestItem`).
///
/// # Errors
///
/// [`ManifestError::Keys`] or [`ManifestError::Invalid`].
pub fn parse_archive_manifest<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ManifestError> {
    let bytes = &*go_text::as_go_reads(bytes);
    check_keys(
        bytes,
        Document::DockerArchiveManifest,
        what,
        "docker-archive manifest",
    )?;
    serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid {
        what: what.to_owned(),
        kind: "docker-archive manifest",
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

/// The fields that say what a manifest body is. A field counts as there
/// whatever its value, `null` included (containerd's `json.RawMessage`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    #[serde(default)]
    manifests: Present,
    #[serde(default)]
    config: Present,
    #[serde(default)]
    layers: Present,
    #[serde(default)]
    fs_layers: Present,
}

/// Whether a field is in the document.
#[derive(Default)]
struct Present(bool);

impl<'de> serde::Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Present, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
