//! `WWW-Authenticate` challenges: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = clearance_oci::registry::parse_challenge(s);
    }
});
