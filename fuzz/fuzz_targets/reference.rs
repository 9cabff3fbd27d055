//! Image references and digests: never panic; what parses prints back to
//! something that parses to the same value.
#![no_main]

use clearance_oci::{Digest, ImageRef, RegistryRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(r) = s.parse::<ImageRef>() {
        if let ImageRef::Registry(reg) = &r {
            let again = RegistryRef::parse(&reg.to_string()).expect("a normalised reference parses");
            assert_eq!(&again, reg);
        }
    }
    if let Ok(d) = s.parse::<Digest>() {
        assert_eq!(d.to_string().parse::<Digest>().ok(), Some(d));
    }
    let _ = s.parse::<clearance_oci::Platform>();
});
