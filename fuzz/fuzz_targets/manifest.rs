//! Manifest, index and config parsing, and platform selection: never panic.
#![no_main]

use clearance_oci::manifest::{Manifest, image_config_ref, parse_config, parse_manifest, select_platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((m, _)) = parse_manifest(data, None, "fuzz") {
        match m {
            Manifest::Image(m) => {
                let _ = image_config_ref(&m, "fuzz");
            }
            Manifest::Index(i) => {
                let _ = select_platform(&i, &clearance_oci::Platform::default(), "fuzz");
            }
        }
    }
    let _ = parse_config(data, "fuzz");
});
