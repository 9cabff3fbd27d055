//! Manifest, index, config and docker-archive `manifest.json` parsing (keys
//! checked as Go matches them first), platform selection, and artifact
//! manifests (`db pull`): never panic.
#![no_main]

use clearance_oci::artifact::ArtifactManifest;
use clearance_oci::manifest::keys::{self, Document};
use clearance_oci::manifest::{
    IndexEntry, Manifest, classify_entry, image_config_ref, parse_archive_manifest, parse_config,
    parse_manifest,
};
use clearance_oci::{Platform, media_type};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let wanted = Platform::default();
    for declared in [
        None,
        Some(media_type::OCI_INDEX),
        Some(media_type::DOCKER_MANIFEST),
    ] {
        if let Ok((m, _)) = parse_manifest(data, declared, "fuzz") {
            match m {
                Manifest::Image(m) => {
                    let _ = image_config_ref(&m, "fuzz");
                }
                Manifest::Index(i) => {
                    for d in i.manifests() {
                        if let Ok(IndexEntry::Image { platform, .. }) = classify_entry(d, "fuzz") {
                            let _ = wanted.preference(&platform);
                            let _ = platform.normalized();
                        }
                    }
                }
            }
        }
    }
    let _ = parse_config(data, "fuzz");
    let _ = parse_archive_manifest::<serde_json::Value>(data, "fuzz");
    let _ = keys::check(data, Document::Config);
    if let Ok(artifact) = ArtifactManifest::parse(data) {
        let _ = (artifact.kind().len(), artifact.to_bytes());
    }
});
