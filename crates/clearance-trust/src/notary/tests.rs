//! Metadata written by Debian's `notary` 0.7 client and `notary-server`
//! (tests/data/notary, made by `scripts/notary-fixture.sh`): repository
//! `127.0.0.1:5000/demo/app`, tag `v1` in targets, `v2` in a
//! `targets/releases` delegation with an X.509 certificate key.

use sha2::{Digest as _, Sha256};

use super::*;
use crate::client::{TrustedSet, UpdateError};
use crate::metadata::{MetadataError, Signed};
use crate::schema::{Root, Targets};

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/notary/",
            $name
        ))
        .as_slice()
    };
}

const ROOT: &[u8] = fixture!("root.json");
const TIMESTAMP: &[u8] = fixture!("timestamp.json");
const SNAPSHOT: &[u8] = fixture!("snapshot.json");
const TARGETS: &[u8] = fixture!("targets.json");
const RELEASES: &[u8] = fixture!("targets-releases.json");
const OLD_TIMESTAMP: &[u8] = fixture!("1.timestamp.json");
const OLD_SNAPSHOT: &[u8] = fixture!("2.snapshot.json");

/// When the fixture was made; its timestamp lasts 14 days from then.
fn made() -> UtcTime {
    "2026-11-23T04:00:00Z".parse().unwrap()
}

fn trusted_through_snapshot() -> TrustedSet {
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    assert!(set.update_timestamp(TIMESTAMP).unwrap());
    set.update_snapshot(SNAPSHOT, false).unwrap();
    set
}

#[test]
fn a_notary_repository_verifies_end_to_end() {
    let mut set = trusted_through_snapshot();
    assert_eq!(set.dialect(), Dialect::Notary);
    set.update_targets(TARGETS, &RoleName::TARGETS, &RoleName::ROOT)
        .unwrap();
    set.update_targets(RELEASES, &role("targets/releases"), &RoleName::TARGETS)
        .unwrap();

    let targets = &set
        .targets(&RoleName::TARGETS, &RoleName::ROOT)
        .unwrap()
        .signed;
    let v1 = &targets.targets["v1"];
    assert_eq!(v1.length, 20);
    assert_eq!(
        v1.hashes["sha256"],
        hex_encode(&Sha256::digest(b"{\"schemaVersion\":2}\n"))
    );
    let delegations = targets.delegations.as_ref().unwrap();
    let chosen: Vec<_> = delegations
        .roles_for("v2")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(chosen, ["targets/releases"]);
    let releases = &set
        .targets(&role("targets/releases"), &RoleName::TARGETS)
        .unwrap()
        .signed;
    assert_eq!(releases.targets["v2"].length, 26);
    // Go's nanoseconds are dropped, never rounded up.
    assert_eq!(
        releases.common.expires,
        "2029-11-22T03:35:58Z".parse().unwrap()
    );
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let tampered = String::from_utf8(TARGETS.to_vec())
        .unwrap()
        .replace("\"length\":20", "\"length\":21");
    assert_ne!(tampered.as_bytes(), TARGETS);
    let parsed = Signed::<Targets>::parse(tampered.as_bytes(), &RoleName::TARGETS).unwrap();
    let root = Signed::<Root>::parse(ROOT, &RoleName::ROOT).unwrap().signed;
    let keys = &root.roles[&TopRole::Targets];
    let err = parsed
        .verify(&root.keys, &keys.keyids, keys.threshold, &RoleName::TARGETS)
        .unwrap_err();
    assert!(matches!(
        err,
        MetadataError::ThresholdNotMet { valid: 0, .. }
    ));
    // Through the trusted set it is refused before that, by snapshot's hash.
    let mut set = trusted_through_snapshot();
    let err = set
        .update_targets(tampered.as_bytes(), &RoleName::TARGETS, &RoleName::ROOT)
        .unwrap_err();
    assert!(matches!(err, UpdateError::LengthOrHash { .. }), "{err}");
    assert!(set.targets(&RoleName::TARGETS, &RoleName::ROOT).is_none());
}

#[test]
fn a_delegation_signed_by_the_wrong_key_is_refused() {
    // targets/releases's document offered as top-level targets: its
    // certificate key is not root's targets key, so no signature counts…
    let root = Signed::<Root>::parse(ROOT, &RoleName::ROOT).unwrap().signed;
    let keys = &root.roles[&TopRole::Targets];
    let releases = Signed::<Targets>::parse(RELEASES, &RoleName::TARGETS).unwrap();
    let err = releases
        .verify(&root.keys, &keys.keyids, keys.threshold, &RoleName::TARGETS)
        .unwrap_err();
    assert!(
        matches!(err, MetadataError::ThresholdNotMet { valid: 0, .. }),
        "{err}"
    );
    // …and the trusted set refuses it already by snapshot's hash.
    let mut set = trusted_through_snapshot();
    let err = set
        .update_targets(RELEASES, &RoleName::TARGETS, &RoleName::ROOT)
        .unwrap_err();
    assert!(matches!(err, UpdateError::LengthOrHash { .. }), "{err}");
    assert!(set.targets(&RoleName::TARGETS, &RoleName::ROOT).is_none());
}

#[test]
fn rollback_of_timestamp_and_snapshot_is_refused() {
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    set.update_timestamp(TIMESTAMP).unwrap();
    let err = set.update_timestamp(OLD_TIMESTAMP).unwrap_err();
    assert!(
        matches!(
            err,
            UpdateError::Rollback {
                trusted,
                got,
                ..
            } if trusted == 4 && got == 1
        ),
        "{err}"
    );

    // An old timestamp and its snapshot, when version 5 was trusted before.
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    set.set_floor(&RoleName::SNAPSHOT, crate::schema::Version::new(5).unwrap());
    set.update_timestamp(OLD_TIMESTAMP).unwrap();
    let err = set.update_snapshot(OLD_SNAPSHOT, false).unwrap_err();
    assert!(
        matches!(
            err,
            UpdateError::Rollback {
                trusted,
                got,
                ..
            } if trusted == 5 && got == 2
        ),
        "{err}"
    );
    assert!(set.snapshot().is_none());
}

#[test]
fn a_stored_snapshot_must_match_the_timestamp_by_hash() {
    // Without versions in meta, a stale local snapshot cannot pass as final.
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    set.update_timestamp(TIMESTAMP).unwrap();
    let err = set.update_snapshot(OLD_SNAPSHOT, true).unwrap_err();
    assert!(matches!(err, UpdateError::LengthOrHash { .. }), "{err}");
    set.update_snapshot(SNAPSHOT, true).unwrap();
}

#[test]
fn an_expired_timestamp_is_a_freeze() {
    let later = "2026-12-31T00:00:00Z".parse().unwrap();
    let mut set = TrustedSet::new(ROOT, later).unwrap();
    let err = set.update_timestamp(TIMESTAMP).unwrap_err();
    assert!(matches!(err, UpdateError::Expired { .. }), "{err}");
}

#[test]
fn dialects_do_not_mix() {
    let tuf1 = br#"{"signed":{"_type":"timestamp","spec_version":"1.0.0","version":9,
        "expires":"2030-01-01T00:00:00Z","meta":{"snapshot.json":{"version":9}}},
        "signatures":[]}"#;
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    let err = set.update_timestamp(tuf1).unwrap_err();
    assert!(matches!(err, UpdateError::Dialect { .. }), "{err}");
    assert!(set.timestamp().is_none());
}

#[test]
fn clearance_will_not_re_sign_or_store_notary_metadata() {
    let err = Signed::<Root>::parse_tuf1(ROOT, &RoleName::ROOT).unwrap_err();
    assert!(
        matches!(&err, MetadataError::NotaryForm { role } if role == "root"),
        "{err}"
    );
}

#[test]
fn tuf1_documents_may_not_carry_notary_prefixes() {
    let doc = br#"{"signed":{"_type":"targets","spec_version":"1.0.0","version":1,
        "expires":"2030-01-01T00:00:00Z","targets":{},
        "delegations":{"keys":{},"roles":[{"name":"r","keyids":[],"threshold":1,
        "terminating":false,"path_prefixes":[""]}]}},"signatures":[]}"#;
    let err = Signed::<Targets>::parse(doc, &RoleName::TARGETS).unwrap_err();
    assert!(
        matches!(&err, MetadataError::Malformed { role, message }
            if role == "targets" && message.contains("path_prefixes")),
        "{err}"
    );
}

#[test]
fn notary_paths_are_prefixes() {
    let role = crate::schema::DelegatedRole {
        name: role("targets/releases"),
        keyids: vec![],
        threshold: 1,
        terminating: false,
        paths: None,
        path_hash_prefixes: None,
        path_prefixes: Some(vec!["v1".into()]),
        extra: Default::default(),
    };
    assert!(role.delegates("v1"));
    assert!(role.delegates("v1.2/x"));
    assert!(!role.delegates("v2"));
}

#[test]
fn certificate_keys_become_their_public_key() {
    let root = Signed::<Root>::parse(ROOT, &RoleName::ROOT).unwrap().signed;
    let root_key = &root.keys[&root.roles[&TopRole::Root].keyids[0]];
    assert_eq!(root_key.keytype, "ecdsa");
    assert_eq!(root_key.scheme, "ecdsa-sha2-nistp256");
    assert!(root_key.verifier().is_ok());
    let timestamp_key = &root.keys[&root.roles[&TopRole::Timestamp].keyids[0]];
    assert_eq!(timestamp_key.scheme, "ed25519");
    assert!(certificate_spki(b"\x30\x03\x30\x01\x00").is_none());
    assert!(certificate_spki(&[]).is_none());
}

#[test]
fn fixed_ecdsa_signatures_become_der_that_verifies() {
    let rng = ring::rand::SystemRandom::new();
    let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    use ring::signature::KeyPair as _;
    for _ in 0..32 {
        let raw = pair.sign(&rng, b"message").unwrap();
        let der = ecdsa_fixed_to_der(raw.as_ref()).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            pair.public_key().as_ref(),
        );
        assert!(public.verify(b"message", &der).is_ok());
        assert!(public.verify(b"massage", &der).is_err());
    }
    assert!(ecdsa_fixed_to_der(&[]).is_none());
    assert!(ecdsa_fixed_to_der(&[1, 2, 3]).is_none());
    assert_eq!(
        ecdsa_fixed_to_der(&[0, 0, 0x80, 1]).unwrap(),
        [0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x03, 0x00, 0x80, 0x01]
    );
}

#[test]
fn go_times_with_fractions_and_offsets() {
    let t = |s: &str| UtcTime::parse_rfc3339(s).map(|t| t.to_string());
    assert_eq!(
        t("2036-11-20T03:32:47.010771808Z").unwrap(),
        "2036-11-20T03:32:47Z"
    );
    assert_eq!(
        t("2036-11-20T03:32:47-07:00").unwrap(),
        "2036-11-20T10:32:47Z"
    );
    assert_eq!(
        t("2036-11-20T03:32:47.5+01:30").unwrap(),
        "2036-11-20T02:02:47Z"
    );
    for bad in [
        "2036-11-20T03:32:47",
        "2036-11-20T03:32:47.Z",
        "2036-11-20T03:32:47.1234567890Z",
        "2036-11-20T03:32:47+24:00",
        "2036-11-20 03:32:47Z",
        "",
    ] {
        assert!(t(bad).is_err(), "{bad}");
    }
}

#[test]
fn delegated_role_paths_are_notary_names_only() {
    assert_eq!(
        role_path(&role("targets/releases")).as_deref(),
        Some("targets/releases")
    );
    assert_eq!(
        role_path(&role("targets/a/b-c_d")).as_deref(),
        Some("targets/a/b-c_d")
    );
    for bad in [
        "releases",
        "targets/../root",
        "targets//x",
        "targets/",
        "targets/a b",
        "targets/%2e",
    ] {
        assert!(role_path(&role(bad)).is_none(), "{bad}");
    }
}

#[test]
fn dialect_is_read_from_the_type() {
    assert_eq!(Dialect::of("root", TopRole::Root), Some(Dialect::Tuf1));
    assert_eq!(Dialect::of("Root", TopRole::Root), Some(Dialect::Notary));
    assert_eq!(Dialect::of("ROOT", TopRole::Root), None);
    assert_eq!(Dialect::of("Targets", TopRole::Root), None);
}

#[test]
fn a_snapshot_may_not_drop_a_role_the_last_trusted_one_listed() {
    // The client last trusted snapshot v5 (it lists targets/releases); an
    // old timestamp and snapshot v2 (without it) are served. With no floor
    // set, the dropped role alone refuses it.
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    set.remember_snapshot(SNAPSHOT);
    set.update_timestamp(OLD_TIMESTAMP).unwrap();
    let err = set.update_snapshot(OLD_SNAPSHOT, false).unwrap_err();
    assert!(
        matches!(&err, UpdateError::Dropped { entry } if entry == "targets/releases.json"),
        "{err}"
    );
    // A snapshot that does not verify is not remembered.
    let mut set = TrustedSet::new(ROOT, made()).unwrap();
    let forged = String::from_utf8(SNAPSHOT.to_vec())
        .unwrap()
        .replace("\"version\":5", "\"version\":6");
    set.remember_snapshot(forged.as_bytes());
    set.update_timestamp(OLD_TIMESTAMP).unwrap();
    set.update_snapshot(OLD_SNAPSHOT, false).unwrap();
}

#[test]
fn fields_notary_never_writes_are_refused() {
    let with = |from: &str, to: &str| {
        let text = String::from_utf8(TARGETS.to_vec()).unwrap();
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    };
    for doc in [
        with(
            "\"_type\":\"Targets\"",
            "\"_type\":\"Targets\",\"spec_version\":\"1.0.0\"",
        ),
        with(
            "\"name\":\"targets/releases\"",
            "\"name\":\"targets/releases\",\"terminating\":true",
        ),
        with(
            "\"paths\":[\"\"]",
            "\"paths\":[\"\"],\"path_prefixes\":[\"x\"]",
        ),
        with("\"roles\":[", "\"succinct_roles\":{},\"roles\":["),
    ] {
        assert!(
            Signed::<Targets>::parse(doc.as_bytes(), &RoleName::TARGETS).is_err(),
            "{doc}"
        );
    }
}
