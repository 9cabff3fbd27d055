//! Manifest, index and config parsing, and platform selection: never panic.
#![no_main]

use clearance_oci::manifest::{Manifest, classify_entry, image_config_ref, parse_config, parse_manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((m, _)) = parse_manifest(data, None, "fuzz") {
        match m {
            Manifest::Image(m) => {
                let _ = image_config_ref(&m, "fuzz");
            }
            Manifest::Index(i) => {
                for d in i.manifests() {
                    let _ = classify_entry(d, "fuzz");
                }
            }
        }
    }
    let _ = parse_config(data, "fuzz");
});
