//! Policy files: loading never panics; a policy that loads judges empty
//! evidence in every environment without error, the same way twice.
#![no_main]

use clearance_policy::date::Date;
use clearance_policy::evidence::Evidence;
use clearance_policy::{evaluate, policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let today = Date::parse("2026-12-01").expect("a date");
    let Ok(loaded) = policy::load(text, "fuzz.yaml", today) else { return };
    let evidence = Evidence::default();
    for name in loaded.environments.keys() {
        let a = evaluate(&loaded, name, &evidence, 1_796_083_200).expect("a defined environment");
        let b = evaluate(&loaded, name, &evidence, 1_796_083_200).expect("a defined environment");
        assert_eq!(a, b);
    }
});
