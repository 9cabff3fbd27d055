//! Advisory feeds and VEX documents: OSV records, the Debian security
//! tracker's JSON, Alpine secdb (YAML and JSON), CISA KEV, EPSS CSV, and
//! OpenVEX / CycloneDX VEX, each parser directly and through the
//! content sniffing `db build` uses. Never panic; every record read keeps
//! within its bounds.
#![no_main]

use clearance_scan::advisory::{alpine, debian, epss, kev, source};
use clearance_scan::osv::record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 8 {
        0 => {
            if let Ok(r) = record::parse(rest) {
                assert!(r.advisory.id.len() <= clearance_scan::advisory::MAX_ID_LEN);
                assert!(r.advisory.aliases.len() <= clearance_scan::advisory::MAX_LIST);
            }
        }
        1 => drop(debian::parse(rest)),
        2 => drop(alpine::parse(rest, alpine::Syntax::Yaml)),
        3 => drop(alpine::parse(rest, alpine::Syntax::Json)),
        4 => drop(kev::parse(rest)),
        5 => drop(epss::parse(rest)),
        6 => drop(clearance_scan::vex::parse(rest, "fuzz.json")),
        _ => drop(source::read_bytes(rest, "fuzz", selector & 0x80 != 0)),
    }
});
