//! What `clearance scan` reads besides packages and advisories: SBOMs
//! (`scan sbom:FILE`: CycloneDX, SPDX, clearance.sbom JSON), image
//! configurations (the configuration checks and the secrets in `Env` and
//! history), and layers through the configuration listing. Never panic;
//! an SBOM never gives more than `MAX_COMPONENTS` packages; a finding's
//! mask never shows more than four characters.
#![no_main]

use clearance_oci::layer::{LayerLimits, read_layer};
use clearance_oci::oci_spec::image::ImageConfiguration;
use clearance_scan::config::{self, ImageFacts, LayerListing};
use clearance_scan::sbom_input;
use clearance_scan::secrets::scan_image_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 3 {
        0 => {
            if let Ok(sbom) = sbom_input::read(rest) {
                assert!(sbom.inventory.packages.len() <= sbom_input::MAX_COMPONENTS);
            }
        }
        1 => {
            let Ok(image) = serde_json::from_slice::<ImageConfiguration>(rest) else {
                return;
            };
            for f in scan_image_config(&image) {
                let shown = f.masked.as_str().trim_end_matches('*');
                assert!(shown.chars().count() <= 4, "{shown}");
            }
            // Every base length, including ones longer than the image.
            for base in [None, Some(0), Some(1), Some(usize::from(selector))] {
                let facts = ImageFacts {
                    packages: 1,
                    base_layers: base,
                };
                drop(config::check(&image, vec![LayerListing::default()], facts));
            }
        }
        _ => {
            let mut listing = LayerListing::default();
            if read_layer(rest, &LayerLimits::default(), None, &mut listing).is_ok() {
                let _ = listing.removals();
                drop(config::check(
                    &ImageConfiguration::default(),
                    vec![listing],
                    ImageFacts::default(),
                ));
            }
        }
    }
});
