//! Media types of manifests, configs and layers, and what each means to us.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty descriptor's type (image-spec 1.1 "Guidance for an Empty
/// Descriptor"): an artifact's config when it has none.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker's non-distributable layer: the manifest names URLs to fetch it from.
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI's non-distributable layer types (deprecated in image-spec 1.1, still written):
/// this one, `+gzip` and `+zstd`.
pub const OCI_NONDISTRIBUTABLE_LAYER: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";

/// Every manifest type we can read, for `Accept` headers (most preferred first).
pub const ACCEPTED_MANIFESTS: &[&str] = &[
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// What kind of document a manifest media type announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    Image,
    Index,
    Schema1,
    Unknown,
}

pub fn manifest_kind(media_type: &str) -> ManifestKind {
    match base(media_type) {
        OCI_MANIFEST | DOCKER_MANIFEST => ManifestKind::Image,
        OCI_INDEX | DOCKER_MANIFEST_LIST => ManifestKind::Index,
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => ManifestKind::Schema1,
        _ => ManifestKind::Unknown,
    }
}

/// Whether a config media type is a container image config.
pub fn is_image_config(media_type: &str) -> bool {
    matches!(base(media_type), OCI_CONFIG | DOCKER_CONFIG)
}

/// Whether a layer media type marks a foreign (non-distributable) layer: one
/// whose blob the manifest says is kept at `urls` rather than beside it
/// (image-spec layer.md "Non-distributable layers"; Docker's
/// `rootfs.foreign.diff.tar.gzip`). Clearance never fetches from those URLs.
pub fn is_foreign_layer(media_type: &str) -> bool {
    let base = base(media_type);
    base.starts_with(OCI_NONDISTRIBUTABLE_LAYER)
        || base.starts_with("application/vnd.docker.image.rootfs.foreign.diff.tar")
}

/// Whether a layer media type is one runtimes unpack: Docker's layer types
/// (plain, gzip, foreign) and OCI's (`…layer.v1.tar`, `+gzip`, `+zstd`,
/// and the non-distributable ones). containerd refuses any other
/// ("unrecognised media type", `images.DiffCompression`).
pub fn is_known_layer(media_type: &str) -> bool {
    let base = base(media_type);
    matches!(
        base,
        DOCKER_LAYER
            | DOCKER_LAYER_GZIP
            | DOCKER_FOREIGN_LAYER_GZIP
            | OCI_LAYER
            | OCI_LAYER_GZIP
            | OCI_LAYER_ZSTD
    ) || base
        .strip_prefix(OCI_NONDISTRIBUTABLE_LAYER)
        .is_some_and(|rest| matches!(rest, "" | "+gzip" | "+zstd"))
        || base == "application/vnd.docker.image.rootfs.foreign.diff.tar"
}

/// The compression a layer media type announces, `None` for a type that
/// is not a layer type.
pub fn layer_compression(media_type: &str) -> Option<crate::layer::Compression> {
    use crate::layer::Compression;
    if !is_known_layer(media_type) {
        return None;
    }
    let base = base(media_type);
    Some(if base.ends_with("+zstd") {
        Compression::Zstd
    } else if base.ends_with("+gzip") || base.ends_with(".gzip") {
        Compression::Gzip
    } else {
        Compression::None
    })
}

/// The media type without parameters (`; charset=utf-8`) and surrounding space.
pub fn base(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_manifest_types_ignoring_parameters() {
        assert_eq!(
            manifest_kind(&format!("{OCI_MANIFEST}; charset=utf-8")),
            ManifestKind::Image
        );
        assert_eq!(manifest_kind(DOCKER_MANIFEST_LIST), ManifestKind::Index);
        assert_eq!(manifest_kind(DOCKER_SCHEMA1_SIGNED), ManifestKind::Schema1);
        assert_eq!(manifest_kind("text/html"), ManifestKind::Unknown);
        assert!(is_image_config(DOCKER_CONFIG));
        assert!(!is_image_config("application/vnd.cncf.helm.config.v1+json"));
    }

    #[test]
    fn foreign_layer_types_are_recognised() {
        for t in [
            DOCKER_FOREIGN_LAYER_GZIP,
            OCI_NONDISTRIBUTABLE_LAYER,
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        ] {
            assert!(is_foreign_layer(t), "{t}");
        }
        for t in [DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_ZSTD, DOCKER_LAYER] {
            assert!(!is_foreign_layer(t), "{t}");
        }
    }
}
