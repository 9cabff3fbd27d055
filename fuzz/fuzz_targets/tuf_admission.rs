//! The TUF client's admission rules past signature checks (review A.6: the
//! `tuf_metadata` target needs self-signed roots, which a fuzzer cannot
//! make, so it mostly fuzzes parsing). Here the fuzzer writes `signed`
//! bodies and the target signs them with a fixed test key that a fixed
//! trusted root names for every role: every body reaches the rules for
//! root rotation (TUF 5.3), timestamp (5.4), snapshot (5.5) and targets
//! (5.6). Input: up to four JSON bodies separated by 0xff, tried as the
//! next root, timestamp, snapshot and targets. Never panic.
#![no_main]

use std::sync::OnceLock;

use clearance_trust::RoleName;
use clearance_trust::client::TrustedSet;
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::time::UtcTime;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// RFC 8410 PKCS#8 v1 for the Ed25519 seed [7; 32].
fn signer() -> &'static LocalSigner {
    static SIGNER: OnceLock<LocalSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let mut pkcs8 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        pkcs8.extend([7u8; 32]);
        LocalSigner::from_pkcs8(KeyKind::Ed25519, &pkcs8).expect("fixed test key")
    })
}

/// `{"signatures": [...], "signed": body}` signed over the canonical body.
fn sign(body: &Value) -> Option<Vec<u8>> {
    let canonical = clearance_trust::cjson::to_canonical(body).ok()?;
    let s = signer();
    let sig = s.sign(&canonical).ok()?;
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    serde_json::to_vec(&json!({
        "signatures": [{"keyid": s.key_id(), "sig": hex}],
        "signed": body,
    }))
    .ok()
}

/// Version 1 of a root naming the test key for every top-level role.
fn root() -> &'static [u8] {
    static ROOT: OnceLock<Vec<u8>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let s = signer();
        let id = s.key_id();
        let role = json!({"keyids": [id], "threshold": 1});
        sign(&json!({
            "_type": "root", "spec_version": "1.0.31", "version": 1,
            "expires": "2099-01-01T00:00:00Z", "consistent_snapshot": true,
            "keys": {id.clone(): s.public_key()},
            "roles": {"root": role, "targets": role, "snapshot": role, "timestamp": role},
        }))
        .expect("fixed root")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut set) = TrustedSet::new(root(), UtcTime::from_unix(1_700_000_000)) else {
        return;
    };
    let mut bodies = data
        .split(|&b| b == 0xff)
        .map(|part| serde_json::from_slice::<Value>(part).ok().and_then(|v| sign(&v)));
    if let Some(Some(next_root)) = bodies.next() {
        let _ = set.update_root(&next_root);
    }
    let Some(Some(timestamp)) = bodies.next() else { return };
    if set.update_timestamp(&timestamp).is_err() {
        return;
    }
    let Some(Some(snapshot)) = bodies.next() else { return };
    if set.update_snapshot(&snapshot, false).is_err() {
        return;
    }
    if let Some(Some(targets)) = bodies.next()
        && set
            .update_targets(&targets, &RoleName::TARGETS, &RoleName::ROOT)
            .is_ok()
    {
        let _ = set.targets(&RoleName::TARGETS, &RoleName::ROOT);
    }
});
