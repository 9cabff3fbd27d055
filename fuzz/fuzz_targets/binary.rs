//! Binaries as the inventory reads them: Go build info blobs (alone, and
//! after a valid header so the fuzzer reaches the strings and modinfo),
//! modinfo text, and whole files streamed through `binary::inspect` (ELF,
//! Mach-O and PE headers, the cargo-auditable section, zlib and JSON).
//! Never panic; never list more than the bounds allow.
#![no_main]

use clearance_scan::catalog::MAX_PACKAGES;
use clearance_scan::catalog::binary::{self, go};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = go::parse(data);
    // A valid header (8-byte pointers, inline strings) before the data.
    let mut blob = go::MAGIC.to_vec();
    blob.extend_from_slice(&[8, 2]);
    blob.resize(32, 0);
    blob.extend_from_slice(data);
    if let Ok(info) = go::parse(&blob) {
        let mut problems = Vec::new();
        assert!(info.packages("/fuzz", &mut problems).len() <= MAX_PACKAGES + 2);
    }
    // The data as modinfo text.
    let info = go::BuildInfo {
        go_version: "go1.21.3".into(),
        modinfo: String::from_utf8_lossy(data).into_owned(),
    };
    let mut problems = Vec::new();
    assert!(info.packages("/fuzz", &mut problems).len() <= MAX_PACKAGES + 2);
    // The data as a whole file, streamed.
    if let Ok(Some(found)) = binary::inspect("/fuzz", &mut &data[..], data.len() as u64) {
        assert!(found.packages.len() <= MAX_PACKAGES + 2);
    }
});
