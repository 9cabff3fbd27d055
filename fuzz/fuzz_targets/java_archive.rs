//! Java archives as the inventory reads them: the data as a jar (zip
//! directory, entries, `pom.properties`, manifests), and as the one entry
//! of a jar nested in a jar, so the fuzzer reaches the inner archive's
//! reading. Never panic; every problem names the file.
#![no_main]

use std::io::{Cursor, Write};

use clearance_scan::catalog::java::{self, Limits};
use libfuzzer_sys::fuzz_target;

/// Small bounds, so that a case exercises them rather than the time limit.
const LIMITS: Limits = Limits {
    max_archive_bytes: 1 << 20,
    max_nested_bytes: 1 << 20,
    max_depth: 3,
    max_entries: 1000,
    max_inflated_bytes: 8 << 20,
    max_archives: 50,
};

fuzz_target!(|data: &[u8]| {
    check(data);
    // The data stored as a nested jar and as a pom.properties.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if w.start_file("BOOT-INF/lib/x-1.0.jar", stored).is_ok()
        && w.write_all(data).is_ok()
        && w.start_file("META-INF/maven/g.h/a/pom.properties", stored).is_ok()
        && w.write_all(data).is_ok()
        && let Ok(outer) = w.finish()
    {
        check(&outer.into_inner());
    }
});

fn check(bytes: &[u8]) {
    if let Ok((found, inflated)) =
        java::inspect_with("/fuzz.jar", &mut &bytes[..], bytes.len() as u64, LIMITS)
    {
        assert!(inflated <= LIMITS.max_inflated_bytes + 1);
        assert!(found.problems.len() <= java::MAX_PROBLEMS_PER_FILE + 1);
        for problem in &found.problems {
            assert!(problem.to_string().starts_with("/fuzz.jar"));
        }
        for package in &found.packages {
            assert!(package.path.starts_with("/fuzz.jar"));
        }
    }
}
