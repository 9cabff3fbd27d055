//! The layer reader over arbitrary bytes (plain, gzip or zstd by magic),
//! with small limits; then the merged view and link resolution.
#![no_main]

use clearance_oci::layer::{Collect, ImagePath, LayerLimits, MergedFs, read_layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LayerLimits {
        max_uncompressed_bytes: 16 << 20,
        max_entries: 10_000,
        max_file_bytes: 8 << 20,
        max_captured_file_bytes: 1 << 20,
    };
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
