//! The advisory database and the matcher, end to end in the library: feed
//! fixtures (tests/data/feeds, written from each feed's documented shape)
//! are read by `advisory::source`, stored with `db::AdvisoryDb`, looked up
//! for an inventory and matched. Each test is one rule of the matcher, or
//! a trap the issue names: backported fixes, packages a distribution
//! owns, fixes at or below the installed version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use clearance_scan::advisory::source::{self, FeedKind};
use clearance_scan::advisory::{DistroState, Severity};
use clearance_scan::catalog::{Package, PackageType, SourcePackage};
use clearance_scan::db::{AdvisoryDb, DbError};
use clearance_scan::inventory::{Found, Inventory, Owner};
use clearance_scan::matcher::{self, MatchSettings, Report, SortOrder, Unfixed};
use clearance_scan::os::{Distro, parse_os_release};

fn feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds")
}

fn debian() -> Distro {
    parse_os_release(
        b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        "etc/os-release",
    )
    .unwrap()
}

fn deb(name: &str, version: &str, source: Option<(&str, &str)>, layer: usize) -> Found {
    Found {
        package: Package {
            name: name.into(),
            version: version.into(),
            kind: PackageType::Deb,
            arch: Some("amd64".into()),
            source: source.map(|(n, v)| SourcePackage {
                name: n.into(),
                version: v.into(),
            }),
            purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"),
            path: "/var/lib/dpkg/status".into(),
        },
        layer,
        owned_by: None,
    }
}

fn pypi(name: &str, version: &str, owned_by: Option<&str>) -> Found {
    Found {
        package: Package::language(
            PackageType::Python,
            name.into(),
            version.into(),
            &format!("/usr/lib/python3/dist-packages/{name}-{version}.dist-info/METADATA"),
        ),
        layer: 2,
        owned_by: owned_by.map(|o| Owner {
            kind: PackageType::Deb,
            name: o.into(),
        }),
    }
}

/// The image the tests scan: Debian 12 with a backported openssl, an old
/// glibc, Debian's own python3-requests, and a pip-installed requests.
fn inventory() -> Inventory {
    Inventory {
        distro: Some(debian()),
        packages: vec![
            deb(
                "libssl3",
                "3.0.11-1~deb12u2",
                Some(("openssl", "3.0.11-1~deb12u2")),
                0,
            ),
            deb("libc6", "2.36-9", Some(("glibc", "2.36-9")), 0),
            deb(
                "python3-requests",
                "2.28.1+dfsg-1",
                Some(("requests", "2.28.1+dfsg-1")),
                1,
            ),
            pypi("requests", "2.28.1", Some("python3-requests")),
            pypi("requests", "2.19.1", None),
        ],
        ..Inventory::default()
    }
}

/// A database built from every fixture feed.
async fn database(dir: &Path) -> AdvisoryDb {
    let db = AdvisoryDb::create(&dir.join("advisories.db"))
        .await
        .unwrap();
    for feed in [
        "debian-tracker.json",
        "osv-pypi",
        "osv-debian",
        "kev.json",
        "epss.csv",
        "alpine/main.json",
    ] {
        for import in source::read_path(&feeds().join(feed)).unwrap() {
            assert!(import.problems.is_empty(), "{feed}: {:?}", import.problems);
            db.import(&import).await.unwrap();
        }
    }
    db
}

async fn report(settings: &MatchSettings) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let inv = inventory();
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    Report::generate(&set, &inv, settings)
}

fn ids(r: &Report) -> Vec<(String, String)> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.package.name.clone(), f.id.clone()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn feeds_are_recognised_by_content_and_named() {
    let kinds: Vec<(String, FeedKind)> = [
        "debian-tracker.json",
        "osv-pypi",
        "kev.json",
        "epss.csv",
        "alpine/main.json",
    ]
    .iter()
    .flat_map(|f| source::read_path(&feeds().join(f)).unwrap())
    .map(|i| (i.name, i.kind))
    .collect();
    assert_eq!(
        kinds,
        [
            ("debian-tracker".to_owned(), FeedKind::DebianTracker),
            ("osv:PyPI".to_owned(), FeedKind::Osv),
            ("kev".to_owned(), FeedKind::Kev),
            ("epss".to_owned(), FeedKind::Epss),
            ("alpine-secdb:v3.19/main".to_owned(), FeedKind::AlpineSecdb),
        ]
    );
    // A directory of loose records of two ecosystems: one source each.
    let both: Vec<String> = source::read_path(&feeds())
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        both,
        [
            "alpine-secdb:v3.19/main",
            "debian-tracker",
            "epss",
            "kev",
            "osv:Debian",
            "osv:PyPI"
        ]
    );
    let err = source::read_bytes(b"hello", "notes.txt", false).unwrap_err();
    assert!(
        matches!(err, source::SourceError::Unrecognised { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("notes.txt"));
}

#[tokio::test]
async fn distribution_data_decides_for_distribution_packages() {
    let r = report(&MatchSettings::default()).await;
    let found = ids(&r);
    // openssl 3.0.11-1~deb12u2 carries the backported fix of CVE-2023-5678
    // (fixed in exactly that version): not reported. CVE-2024-0727 is
    // fixed later: reported, once, although two feeds name it.
    assert!(
        !found.contains(&("libssl3".into(), "CVE-2023-5678".into())),
        "{found:?}"
    );
    let pkcs12: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == "CVE-2024-0727")
        .collect();
    assert_eq!(pkcs12.len(), 1, "{found:?}");
    let f = pkcs12[0];
    assert_eq!(f.fixed_version.as_deref(), Some("3.0.13-1~deb12u1"));
    assert_eq!(f.matched.ecosystem, "Debian:12");
    assert_eq!(f.matched.package, "openssl");
    assert!(
        f.aliases.contains(&"DEBIAN-CVE-2024-0727".to_owned()),
        "{:?}",
        f.aliases
    );
    assert_eq!(f.sources, ["debian-tracker", "osv:Debian"]);
    // The tracker gives no urgency: severity comes from the CVSS another
    // record of the CVE gives (5.5, medium).
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.severity_source.starts_with("CVSS 5.5"),
        "{}",
        f.severity_source
    );
    // Never affected in bookworm (fixed_version 0): not reported.
    assert!(!found.iter().any(|(_, id)| id == "CVE-2010-0001"));
}

#[tokio::test]
async fn distribution_states_are_shown_and_ignore_unfixed_drops_them() {
    let r = report(&MatchSettings::default()).await;
    let postponed = r.findings.iter().find(|f| f.id == "CVE-2024-2511").unwrap();
    assert_eq!(postponed.state, Some(DistroState::Postponed));
    assert_eq!(postponed.fixed_version, None);
    assert_eq!(postponed.severity, Severity::Low, "Debian's urgency");
    let unimportant = r.findings.iter().find(|f| f.id == "CVE-2010-4756").unwrap();
    assert_eq!(unimportant.state, Some(DistroState::Unimportant));
    assert_eq!(unimportant.severity, Severity::Negligible);

    let fixable = report(&MatchSettings {
        unfixed: Unfixed::Ignore,
        ..MatchSettings::default()
    })
    .await;
    assert!(fixable.findings.iter().all(|f| f.fixed_version.is_some()));
    assert!(!ids(&fixable).iter().any(|(_, id)| id == "CVE-2024-2511"));
    assert_eq!(fixable.filtered, 2);
}

#[tokio::test]
async fn a_language_package_a_distribution_owns_is_matched_through_it() {
    let r = report(&MatchSettings::default()).await;
    assert_eq!(r.owned, 1);
    let mut requests: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.package.name.contains("requests"))
        .map(|f| {
            (
                f.package.name.as_str(),
                f.package.version.as_str(),
                f.id.as_str(),
            )
        })
        .collect();
    requests.sort();
    // Debian's python3-requests 2.28.1+dfsg-1: Debian's CVE-2023-32681
    // entry. Its requests-2.28.1 metadata is not matched against PyPI
    // (which would report the same CVE, fixed "in 2.31.0", a version
    // Debian will never ship). The pip-installed 2.19.1 is matched
    // against PyPI: two advisories; PYSEC-2014-13 (fixed in 2.3.0, below
    // 2.19.1) is not.
    assert_eq!(
        requests,
        [
            ("python3-requests", "2.28.1+dfsg-1", "CVE-2023-32681"),
            ("requests", "2.19.1", "CVE-2018-18074"),
            ("requests", "2.19.1", "CVE-2023-32681"),
        ]
    );
    let pysec = r
        .findings
        .iter()
        .find(|f| f.id == "CVE-2018-18074")
        .unwrap();
    assert_eq!(pysec.aliases, ["GHSA-x84v-xcm2-53pg", "PYSEC-2018-28"]);
    assert_eq!(pysec.severity, Severity::Critical);
    assert_eq!(pysec.fixed_version.as_deref(), Some("2.20.0"));
    assert_eq!(pysec.matched.ecosystem, "PyPI");
}

#[tokio::test]
async fn kev_and_epss_are_attached_and_risk_order_puts_them_first() {
    let r = report(&MatchSettings {
        sort: SortOrder::Risk,
        ..MatchSettings::default()
    })
    .await;
    let first = &r.findings[0];
    assert_eq!(first.id, "CVE-2023-4911");
    assert_eq!(first.severity, Severity::High, "Debian urgency high");
    assert_eq!(first.kev.as_ref().unwrap().date_added, "2023-11-21");
    assert!((first.epss.unwrap().probability - 0.78042).abs() < 1e-9);
    // Then by EPSS: CVE-2023-32681 (0.061) before CVE-2018-18074 (0.022).
    let order: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    let pos = |id: &str| order.iter().position(|i| *i == id).unwrap();
    assert!(pos("CVE-2023-32681") < pos("CVE-2018-18074"), "{order:?}");

    let by_severity = report(&MatchSettings::default()).await;
    assert_eq!(
        by_severity.findings[0].id, "CVE-2018-18074",
        "critical first"
    );
    let min_high = report(&MatchSettings {
        min_severity: Severity::High,
        ..MatchSettings::default()
    })
    .await;
    assert!(
        min_high
            .findings
            .iter()
            .all(|f| f.severity >= Severity::High)
    );
    assert_eq!(min_high.findings.len(), 2);
}

#[tokio::test]
async fn vex_not_affected_suppresses_and_says_why() {
    let vex = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1",
      "author": "Platform team", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
      "statements": [{"vulnerability": {"name": "CVE-2023-4911"},
        "products": [{"@id": "pkg:deb/debian/libc6@2.36-9?arch=amd64"}],
        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
       {"vulnerability": {"name": "GHSA-x84v-xcm2-53pg"},
        "products": [{"@id": "pkg:pypi/requests@9.9"}],
        "status": "not_affected", "justification": "component_not_present"}]}"#;
    let statements = clearance_scan::vex::parse(vex, "vex.json").unwrap();
    let r = report(&MatchSettings {
        vex: statements,
        ..MatchSettings::default()
    })
    .await;
    assert!(!ids(&r).iter().any(|(_, id)| id == "CVE-2023-4911"));
    assert_eq!(
        r.suppressed.len(),
        1,
        "the second statement names another version"
    );
    assert_eq!(r.suppressed[0].finding.id, "CVE-2023-4911");
    assert_eq!(
        r.suppressed[0].justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    // The statement that decided nothing is said, once.
    let unused: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("VEX statements matched no finding"))
        .collect();
    assert_eq!(unused.len(), 1, "{:?}", r.warnings);
    assert!(
        unused[0].starts_with(
            "1 of 2 VEX statements matched no finding (first: GHSA-x84v-xcm2-53pg for pkg:pypi/requests@9.9 in vex.json)"
        ),
        "{}",
        unused[0]
    );
}

#[tokio::test]
async fn ecosystems_without_data_are_named_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let db = AdvisoryDb::create(&dir.path().join("a.db")).await.unwrap();
    for import in source::read_path(&feeds().join("osv-pypi")).unwrap() {
        db.import(&import).await.unwrap();
    }
    let inv = inventory();
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    let r = Report::generate(&set, &inv, &MatchSettings::default());
    assert_eq!(r.unmatched.len(), 1);
    assert_eq!(r.unmatched[0].ecosystem, "Debian:12");
    assert_eq!(r.unmatched[0].packages, 3);
    assert_eq!(
        ids(&r).len(),
        2,
        "the pip-installed requests is still checked"
    );
}

#[tokio::test]
async fn importing_a_source_again_replaces_what_it_gave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let db = AdvisoryDb::create(&path).await.unwrap();
    let mut imports = source::read_path(&feeds().join("osv-pypi")).unwrap();
    let mut import = imports.remove(0);
    db.import(&import).await.unwrap();
    import.advisories.retain(|a| a.id == "PYSEC-2014-13");
    import.affected.retain(|a| a.advisory == "PYSEC-2014-13");
    db.import(&import).await.unwrap();
    let status = db.status().await.unwrap();
    assert_eq!(status.sources.len(), 1);
    assert_eq!(status.sources[0].advisories, 1);
    assert_eq!(status.sources[0].affected, 1);
    db.close().await;

    // Reopened: the same data; a missing file is a clear error.
    let again = AdvisoryDb::open(&path).await.unwrap();
    assert_eq!(again.status().await.unwrap().sources[0].advisories, 1);
    let missing = AdvisoryDb::open(&dir.path().join("none.db"))
        .await
        .unwrap_err();
    assert!(matches!(missing, DbError::Missing(_)));
    assert!(missing.to_string().contains("clearance db update"));
}

#[tokio::test]
async fn a_database_of_another_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let db = AdvisoryDb::create(&path).await.unwrap();
    db.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = AdvisoryDb::open(&path).await.unwrap_err();
    assert!(
        matches!(err, DbError::Schema { ref found, .. } if found == "99"),
        "{err}"
    );
}

#[tokio::test]
async fn osv_zips_are_read_member_by_member() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for entry in std::fs::read_dir(feeds().join("osv-pypi")).unwrap() {
        let entry = entry.unwrap();
        zip.start_file(entry.file_name().to_str().unwrap(), options)
            .unwrap();
        zip.write_all(&std::fs::read(entry.path()).unwrap())
            .unwrap();
    }
    zip.start_file("broken.json", options).unwrap();
    zip.write_all(b"{\"id\": ").unwrap();
    zip.finish().unwrap();
    let imports = source::read_path(&zip_path).unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].name, "osv:PyPI");
    assert_eq!(imports[0].advisories.len(), 4);
    assert_eq!(imports[0].problems.len(), 1);
    assert!(
        imports[0].problems[0].starts_with("broken.json: "),
        "{:?}",
        imports[0].problems
    );
}

/// An OSV PyPI record per id, all about `widget`: (id, CVE alias, events
/// JSON), imported into a fresh database in `dir`.
async fn widget_records(dir: &Path, records: &[(&str, &str, &str)]) -> AdvisoryDb {
    let feed = dir.join("feed");
    std::fs::create_dir(&feed).unwrap();
    for (id, cve, events) in records {
        let record = format!(
            r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z", "aliases": ["{cve}"],
               "affected": [{{"package": {{"ecosystem": "PyPI", "name": "widget"}},
               "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
        );
        std::fs::write(feed.join(format!("{id}.json")), record).unwrap();
    }
    let db = AdvisoryDb::create(&dir.join("a.db")).await.unwrap();
    for import in source::read_path(&feed).unwrap() {
        db.import(&import).await.unwrap();
    }
    db
}

/// `widget VERSION` matched against `db`.
async fn widget_report(db: &AdvisoryDb, version: &str) -> Report {
    let inv = Inventory {
        distro: None,
        packages: vec![pypi("widget", version, None)],
        ..inventory()
    };
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    Report::generate(&set, &inv, &MatchSettings::default())
}

/// Two records of one CVE from feeds of the same rank that disagree on the
/// fix: the finding names the highest, the one both call fixed.
#[tokio::test]
async fn records_that_disagree_on_the_fix_give_the_highest() {
    let dir = tempfile::tempdir().unwrap();
    let db = widget_records(
        dir.path(),
        &[
            (
                "PYSEC-T-3",
                "CVE-2099-0003",
                r#"[{"introduced": "0"}, {"fixed": "2.0"}]"#,
            ),
            (
                "GHSA-t3t3-t3t3-t3t3",
                "CVE-2099-0003",
                r#"[{"introduced": "0"}, {"fixed": "2.10"}]"#,
            ),
            // The other way round, whichever record is read first.
            (
                "PYSEC-T-4",
                "CVE-2099-0004",
                r#"[{"introduced": "0"}, {"fixed": "2.10"}]"#,
            ),
            (
                "GHSA-t4t4-t4t4-t4t4",
                "CVE-2099-0004",
                r#"[{"introduced": "0"}, {"fixed": "2.0"}]"#,
            ),
        ],
    )
    .await;
    let fixes = |r: &Report| -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = r
            .findings
            .iter()
            .map(|f| (f.id.clone(), f.fixed_version.clone()))
            .collect();
        v.sort();
        v
    };
    let highest = vec![
        ("CVE-2099-0003".to_owned(), Some("2.10".to_owned())),
        ("CVE-2099-0004".to_owned(), Some("2.10".to_owned())),
    ];
    assert_eq!(
        fixes(&widget_report(&db, "1.0").await),
        highest,
        "one finding per CVE"
    );
    // Between the two fixes only one record of each still applies.
    assert_eq!(fixes(&widget_report(&db, "2.5").await), highest);
}

/// An OSV event whose version does not parse in its ecosystem (binderhub's
/// `0.2.0-n653` in PyPI) used to drop its record with a warning no gate
/// read: the package passed. The range is now widened instead — an
/// unreadable start is the beginning, an unreadable end no end — so the
/// package is reported, with a warning naming the event.
#[tokio::test]
async fn an_event_that_does_not_parse_widens_its_range_instead_of_dropping_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = widget_records(
        dir.path(),
        &[
            (
                "PYSEC-T-1",
                "CVE-2099-0001",
                r#"[{"introduced": "0"}, {"fixed": "2.0-n653"}]"#,
            ),
            (
                "PYSEC-T-2",
                "CVE-2099-0002",
                r#"[{"introduced": "0.2.0-n653"}, {"fixed": "1.5"}]"#,
            ),
        ],
    )
    .await;
    for (version, expected) in [
        ("1.0", vec!["CVE-2099-0001", "CVE-2099-0002"]),
        // Past the readable fix of T-2; T-1's fix cannot be read, so it is
        // still reported.
        ("3.0", vec!["CVE-2099-0001"]),
    ] {
        let r = widget_report(&db, version).await;
        let found: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(found, expected, "widget {version}");
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("PYSEC-T-1") && w.contains("widened")),
            "{:?}",
            r.warnings
        );
    }
}

fn apk(name: &str, version: &str) -> Found {
    Found {
        package: Package {
            name: name.into(),
            version: version.into(),
            kind: PackageType::Apk,
            arch: Some("x86_64".into()),
            source: Some(SourcePackage {
                name: name.into(),
                version: version.into(),
            }),
            purl: format!("pkg:apk/alpine/{name}@{version}?arch=x86_64&distro=alpine-3.19.1"),
            path: "/lib/apk/db/installed".into(),
        },
        layer: 0,
        owned_by: None,
    }
}

/// Alpine packages are matched against secdb by origin and apk version
/// order; a `0` entry (never affected) is not reported. Secdb comes one
/// file per repository: a database with `community` but not `main` does
/// not cover the release (most of an image's packages are main's), so
/// the packages are listed as not checked instead of passing.
#[tokio::test]
async fn alpine_is_matched_by_secdb_and_only_main_data_covers_a_release() {
    let alpine = parse_os_release(
        b"ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        "etc/os-release",
    )
    .unwrap();
    let inv = Inventory {
        distro: Some(alpine),
        packages: vec![apk("openssl", "3.1.4-r0"), apk("busybox", "1.36.1-r6")],
        ..inventory()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    let r = Report::generate(&set, &inv, &MatchSettings::default());
    assert_eq!(
        ids(&r),
        [
            ("openssl".to_owned(), "CVE-2023-5678".to_owned()),
            ("openssl".to_owned(), "CVE-2024-0727".to_owned())
        ],
        "busybox is at its fix; CVE-2010-0001 is marked never affected"
    );
    assert!(r.unmatched.is_empty(), "{:?}", r.unmatched);

    // Only the community repository's secdb: not covered.
    let community = dir.path().join("community.json");
    let main = std::fs::read_to_string(feeds().join("alpine/main.json")).unwrap();
    std::fs::write(&community, main.replace("\"main\"", "\"community\"")).unwrap();
    let db = AdvisoryDb::create(&dir.path().join("community.db"))
        .await
        .unwrap();
    for import in source::read_path(&community).unwrap() {
        assert_eq!(import.name, "alpine-secdb:v3.19/community");
        db.import(&import).await.unwrap();
    }
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    let r = Report::generate(&set, &inv, &MatchSettings::default());
    assert_eq!(r.unmatched.len(), 1, "{:?}", r.unmatched);
    assert_eq!(r.unmatched[0].ecosystem, "Alpine:v3.19");
    assert_eq!(r.unmatched[0].packages, 2);
}
