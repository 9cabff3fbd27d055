//! The decision log: records round-trip, evidence digests change with the
//! evidence, and a log a crash cut or someone wrote into is read past its
//! bad lines without losing the good ones.
#![allow(clippy::unwrap_used)]

use clearance_policy::audit::{self, AuditLog, AuditRecord, EvidenceDigests, MAX_LINE_BYTES};
use clearance_policy::date::Date;
use clearance_policy::evidence::{Evidence, TrustEvidence};
use clearance_policy::{evaluate, policy};

fn decided(evidence: &Evidence) -> AuditRecord {
    let text = "version: 1\nenvironments:\n  production:\n    trust: {signed: required}\n";
    let policy = policy::load(text, "p.yaml", Date::parse("2026-12-01").unwrap()).unwrap();
    let decision = evaluate(&policy, "production", evidence, 1_796_083_200).unwrap();
    AuditRecord::new("check", "", &decision, evidence, 1_796_083_200)
}

#[test]
fn records_round_trip_and_bad_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/decisions.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let mut evidence = Evidence::default();
    evidence.image.reference = "registry.internal/team/app:1".into();
    let denied = decided(&evidence);
    assert!(!denied.allowed);
    assert_eq!(denied.reasons[0].rule, "trust.signed");
    assert_eq!(denied.time, "2026-12-01T00:00:00Z");
    log.append(&denied).unwrap();
    evidence.trust = Some(TrustEvidence {
        verified: true,
        ..TrustEvidence::default()
    });
    let allowed = decided(&evidence);
    assert!(allowed.allowed);
    // A different trust part, a different digest; the rest unchanged.
    assert_ne!(allowed.evidence.trust, denied.evidence.trust);
    assert_ne!(allowed.evidence.all, denied.evidence.all);
    assert_eq!(allowed.evidence.scan, None);
    drop(log);

    // Garbage, another schema, an over-long line and a cut last line.
    let mut extra = String::from("not json\n{\"schema\":\"other/v1\"}\n");
    extra.push_str(&"x".repeat(MAX_LINE_BYTES + 10));
    extra.push('\n');
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(extra.as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    // The log goes on after them.
    let log = AuditLog::open(&path).unwrap();
    log.append(&allowed).unwrap();
    let mut cut = std::fs::read(&path).unwrap();
    let line = serde_json::to_vec(&denied).unwrap();
    cut.extend_from_slice(&line[..line.len() / 2]);
    std::fs::write(&path, &cut).unwrap();

    let read = audit::read(&path, |_| true).unwrap();
    assert_eq!(read.records, [denied.clone(), allowed.clone()]);
    assert_eq!(read.skipped, [2, 3, 4, 6]);
    assert_eq!(read.skipped_count, 4);
    let only_allowed = audit::read(&path, |r| r.allowed).unwrap();
    assert_eq!(only_allowed.records, [allowed]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn evidence_digests_name_only_the_parts_gathered() {
    let d = EvidenceDigests::of(&Evidence::default());
    assert!(
        d.all.starts_with("sha256:") && d.all.len() == 71,
        "{}",
        d.all
    );
    assert_eq!(
        (d.trust, d.scan, d.config, d.request),
        (None, None, None, None)
    );
}

#[test]
fn concurrent_appends_share_syncs_and_every_line_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    let mut evidence = Evidence::default();
    evidence.image.reference = "r/app:1".into();
    let record = decided(&evidence);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (log, record) = (log.clone(), record.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    log.append(&record).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let read = audit::read(&path, |_| true).unwrap();
    assert_eq!(read.records.len(), 800);
    assert_eq!(read.skipped_count, 0);
    assert!(read.records.iter().all(|r| *r == record));
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_that_fails_is_an_error_for_its_appender() {
    let log = AuditLog::open(std::path::Path::new("/dev/full")).unwrap();
    let e = log.append(&decided(&Evidence::default())).unwrap_err();
    assert!(e.to_string().contains("No space"), "{e}");
}
