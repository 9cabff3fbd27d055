//! Every cataloger's parser and OS detection on arbitrary bytes, and the
//! inventory replaying a fuzzed layer: never panic, never hold more than
//! the input.
#![no_main]

use clearance_oci::layer::{LayerLimits, read_layer};
use clearance_scan::catalog;
use clearance_scan::inventory::{Inventory, LayerCapture};
use clearance_scan::os;
use libfuzzer_sys::fuzz_target;

/// A path each cataloger wants.
const PATHS: [&str; 11] = [
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
    "/app/node_modules/x/package.json",
    "/var/lib/dpkg/status.d/x",
    "/usr/share/nodejs/x/package.json",
    "/app/Cargo.lock",
    "/usr/local/bundle/specifications/x-1.0.gemspec",
    "/app/vendor/composer/installed.json",
    "/app/x.deps.json",
    // rpm tells SQLite, Berkeley DB and NDB apart by their magic.
    "/var/lib/rpm/rpmdb.sqlite",
];

fuzz_target!(|data: &[u8]| {
    let catalogers = catalog::all();
    // Every cataloger is fed: a new one needs a path above.
    assert!(
        catalogers
            .iter()
            .all(|c| PATHS.iter().any(|p| c.wants(&p[1..])))
    );
    let distro = os::parse_os_release(data, "etc/os-release");
    let _ = os::detect(|_| Some(data));
    // The rpm readers directly too, with their file lists (what ownership
    // reads).
    let _ = catalog::rpm::owned_files("/var/lib/rpm/rpmdb.sqlite", data, |_| true);
    for cataloger in &catalogers {
        for path in PATHS.iter().filter(|p| cataloger.wants(&p[1..])) {
            let mut warnings = Vec::new();
            if let Ok(found) = cataloger.read(path, data, distro.as_ref(), &mut warnings) {
                assert!(found.len() <= catalog::MAX_PACKAGES);
            }
        }
    }
    // The same bytes as a layer: whatever it holds, the replay is bounded.
    let catalogers = std::sync::Arc::new(catalogers);
    let mut capture = LayerCapture::new(catalogers.clone());
    let limits = LayerLimits {
        max_uncompressed_bytes: 64 << 20,
        ..LayerLimits::default()
    };
    if read_layer(data, &limits, None, &mut capture).is_ok() {
        let _ = Inventory::build(&catalogers, vec![capture.clone(), capture]);
    }
});
