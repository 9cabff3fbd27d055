//! Matching benchmark (issue 9, point 7): an advisory database of at least
//! 10,000 advisories built from real feeds, 2,000 packages looked up and
//! matched. Prints the database lookup and the pure match separately, the
//! whole against the 100 ms target, best of N rounds.
//!
//! Usage: cargo bench -p clearance-scan --bench matching -- ROUNDS FEED...
//! (scripts/bench-matching.sh passes ../shared/data's OSV zips and Alpine
//! secdb files).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clearance_scan::advisory::source;
use clearance_scan::catalog::{Package, PackageType, SourcePackage};
use clearance_scan::db::AdvisoryDb;
use clearance_scan::inventory::{Found, Inventory};
use clearance_scan::matcher::{self, MatchSettings, Report};
use clearance_scan::os::parse_os_release;

const PACKAGES: usize = 2_000;
const TARGET: Duration = Duration::from_millis(100);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some((rounds, feeds)) = args.split_first() else {
        eprintln!("usage: matching ROUNDS FEED...");
        std::process::exit(2);
    };
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");
    let dir = tempfile::tempdir().unwrap();
    let db = AdvisoryDb::create(&dir.path().join("bench.db"))
        .await
        .unwrap();
    let started = Instant::now();
    let mut advisories = 0;
    // Package names per ecosystem key, to draw the image's packages from.
    let mut names: Vec<(String, String)> = Vec::new();
    for feed in feeds {
        for import in source::read_path(&PathBuf::from(feed)).unwrap() {
            advisories += import.advisories.len();
            names.extend(
                import
                    .affected
                    .iter()
                    .map(|a| (a.ecosystem.clone(), a.package.clone())),
            );
            db.import(&import).await.unwrap();
        }
    }
    let built = started.elapsed();
    let names: BTreeSet<(String, String)> = names.into_iter().collect();
    println!(
        "database: {advisories} advisories from {} feeds, built in {:.2} s",
        feeds.len(),
        built.as_secs_f64()
    );
    assert!(
        advisories >= 10_000,
        "the target needs at least 10,000 advisories"
    );

    // 2,000 packages: every PyPI and Alpine v3.11 name the feeds know, then
    // the same names again at other versions (several versions of one
    // package are common in real images).
    let alpine = parse_os_release(b"ID=alpine\nVERSION_ID=3.11.6\n", "etc/os-release");
    let candidates: Vec<(PackageType, String)> = names
        .iter()
        .filter_map(|(eco, name)| match eco.as_str() {
            "PyPI" => Some((PackageType::Python, name.clone())),
            "Alpine:v3.11" => Some((PackageType::Apk, name.clone())),
            _ => None,
        })
        .collect();
    let versions = [
        ("1.0", "1.0-r0"),
        ("2.3.1", "2.3.1-r2"),
        ("0.9.7", "0.9.7-r1"),
        ("10.2", "10.2-r0"),
    ];
    let mut packages = Vec::new();
    'fill: for (python, apk) in versions {
        for (kind, name) in &candidates {
            if packages.len() == PACKAGES {
                break 'fill;
            }
            let version = if *kind == PackageType::Apk {
                apk
            } else {
                python
            };
            packages.push(Found {
                package: Package {
                    name: name.clone(),
                    version: version.into(),
                    kind: *kind,
                    arch: None,
                    source: (*kind == PackageType::Apk).then(|| SourcePackage {
                        name: name.clone(),
                        version: version.into(),
                    }),
                    purl: String::new(),
                    path: format!("/{name}/{version}"),
                },
                layer: 0,
                owned_by: None,
            });
        }
    }
    assert_eq!(
        packages.len(),
        PACKAGES,
        "not enough package names in the feeds"
    );
    let inventory = Inventory {
        distro: alpine,
        packages,
        ..Inventory::default()
    };

    let mut best_lookup = Duration::MAX;
    let mut best_match = Duration::MAX;
    let mut findings = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let set = db.lookup(&matcher::lookup_keys(&inventory)).await.unwrap();
        let lookup = t.elapsed();
        let t = Instant::now();
        let report = Report::generate(&set, &inventory, &MatchSettings::default());
        let matched = t.elapsed();
        findings = report.findings.len();
        best_lookup = best_lookup.min(lookup);
        best_match = best_match.min(matched);
    }
    let total = best_lookup + best_match;
    println!(
        "{PACKAGES} packages, {findings} findings: lookup {:.1} ms + match {:.1} ms = {:.1} ms (best of {rounds})",
        ms(best_lookup),
        ms(best_match),
        ms(total)
    );
    println!(
        "ratio to the 100 ms target: {:.2} ({})",
        total.as_secs_f64() / TARGET.as_secs_f64(),
        if total <= TARGET { "met" } else { "NOT met" }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
