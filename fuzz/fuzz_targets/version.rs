//! Version parsers and comparators of every ecosystem, and OSV range
//! evaluation: never panic; a version compares equal to itself and to its
//! printed text, and the two orders of a pair are each other's reverse.
#![no_main]

use std::cmp::Ordering;

use clearance_scan::osv::range::{Event, Range, RangeKind, is_affected};
use clearance_scan::version::{Ecosystem, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let ecosystem = Ecosystem::ALL[usize::from(selector) % Ecosystem::ALL.len()];
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (a, b) = text.split_once('\0').unwrap_or((text, ""));
    let (Ok(va), vb) = (Version::parse(ecosystem, a), Version::parse(ecosystem, b)) else {
        return;
    };
    assert_eq!(va.compare(&va).ok(), Some(Ordering::Equal));
    let again = Version::parse(ecosystem, &va.to_string()).expect("printed text parses");
    assert_eq!(va.compare(&again).ok(), Some(Ordering::Equal));
    let Ok(vb) = vb else { return };
    let ab = va.compare(&vb).expect("same ecosystem");
    let ba = vb.compare(&va).expect("same ecosystem");
    assert_eq!(ab, ba.reverse(), "{a:?} vs {b:?}");
    let range = Range {
        kind: RangeKind::Ecosystem,
        events: vec![
            Event::Introduced(a.to_owned()),
            Event::Fixed(b.to_owned()),
            Event::LastAffected(a.to_owned()),
            Event::Limit(b.to_owned()),
        ],
    };
    let _ = is_affected(&va, &[range], &[b.to_owned()]);
});
