//! TUF metadata as a client or the trust service meets it: parse every role
//! type, and run bytes through the client's admission rules. Never panic.
#![no_main]

use clearance_trust::RoleName;
use clearance_trust::client::TrustedSet;
use clearance_trust::metadata::Signed;
use clearance_trust::schema::{Root, Snapshot, Targets, Timestamp};
use clearance_trust::time::UtcTime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Signed::<Root>::parse(data, &RoleName::ROOT);
    let _ = Signed::<Timestamp>::parse(data, &RoleName::TIMESTAMP);
    let _ = Signed::<Snapshot>::parse(data, &RoleName::SNAPSHOT);
    if let Ok(t) = Signed::<Targets>::parse(data, &RoleName::TARGETS)
        && let Some(d) = &t.signed.delegations
    {
        let _ = d.roles_for("v1.0");
        if let Ok(bin) = RoleName::new("bins-0") {
            let _ = d.role(&bin);
        }
    }
    // Split the input in two: a root to trust, and a timestamp to admit.
    let cut = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    if let Ok(mut set) = TrustedSet::new(&data[..cut], UtcTime::from_unix(1_700_000_000)) {
        let rest = data.get(cut + 1..).unwrap_or_default();
        let _ = set.update_root(rest);
        let _ = set.update_timestamp(rest);
    }
});
