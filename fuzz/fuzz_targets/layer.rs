//! The layer reader over arbitrary bytes (plain, gzip or zstd by magic), at
//! the production limits (a smaller uncompressed limit hid review finding
//! B-1: long names were bounded only by it), then the merged view and link
//! resolution. Run with `-malloc_limit_mb=160`: the limits allow no larger
//! allocation (RSS limits do not fit: AddressSanitizer's quarantine holds
//! freed memory).
#![no_main]

use clearance_oci::layer::{Collect, ImagePath, LayerLimits, MergedFs, read_layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LayerLimits::default();
    let mut collect = Collect::new(|p: &ImagePath| p.as_str().len() % 2 == 0);
    if read_layer(data, &limits, None, &mut collect).is_ok() {
        let paths: Vec<ImagePath> = collect.entries.iter().map(|e| e.path.clone()).collect();
        let mut fs = MergedFs::new();
        fs.apply_layer(collect.entries);
        for p in paths.iter().take(64) {
            if let Ok(found) = fs.resolve(p) {
                // Whatever resolves is a path inside the image.
                assert!(!found.entry.path.as_str().split('/').any(|c| c == ".."));
            }
        }
    }
});
