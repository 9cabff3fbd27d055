//! Media types of manifests, configs and layers, and what each means to us.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

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
}
