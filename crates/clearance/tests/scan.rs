//! `clearance db build` and `clearance scan` through the real binary: the
//! feed fixtures of clearance-scan (tests/data/feeds) into a database, and
//! an image umoci builds in three layers — a Debian 12 base with a
//! backported openssl and an old glibc, a layer that pip-installs requests
//! 2.19.1 and urllib3 1.24.1 beside Debian's python3-requests, and a layer
//! that deletes urllib3 again.
#![allow(clippy::unwrap_used)]

#[path = "../../clearance-scan/tests/support/fake_secret.rs"]
mod fake_secret;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{
    assert_input_error, assert_success, both, clearance, require, stderr, stdout, umoci_script,
};

fn feeds() -> PathBuf {
    support::repo_root().join("crates/clearance-scan/tests/data/feeds")
}

fn build_image(dir: &Path) -> String {
    require("umoci");
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/etc $R/usr/lib $R/var/lib/dpkg/info
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' > $R/usr/lib/os-release
ln -s ../usr/lib/os-release $R/etc/os-release
pkg() { printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\n%bVersion: %s\n\n' "$1" "$3" "$2"; }
{ pkg libc6 2.36-9 'Source: glibc\n'; pkg libssl3 3.0.11-1~deb12u2 'Source: openssl\n'; } > $R/var/lib/dpkg/status
umoci repack --refresh-bundle --image oci:v1 --history.created_by "FROM debian:12" bundle
{ pkg libc6 2.36-9 'Source: glibc\n'; pkg libssl3 3.0.11-1~deb12u2 'Source: openssl\n'; pkg python3-requests 2.28.1+dfsg-1 'Source: requests\n'; } > $R/var/lib/dpkg/status
EGG=usr/lib/python3/dist-packages/requests-2.28.1.egg-info
mkdir -p $R/$EGG
printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n' > $R/$EGG/PKG-INFO
printf '/.\n/usr\n/%s\n/%s/PKG-INFO\n' "$EGG" "$EGG" > $R/var/lib/dpkg/info/python3-requests.list
for p in requests:2.19.1 urllib3:1.24.1; do
  d=$R/usr/local/lib/python3.11/dist-packages/${p%%:*}-${p##*:}.dist-info
  mkdir -p $d
  printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "${p%%:*}" "${p##*:}" > $d/METADATA
done
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN apt-get install python3-requests && pip install requests==2.19.1 urllib3==1.24.1" bundle
rm -rf $R/usr/local/lib/python3.11/dist-packages/urllib3-1.24.1.dist-info
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN pip uninstall -y urllib3" bundle
"#;
    umoci_script(dir, script, &[]);
    format!("oci:{}:v1", dir.join("oci").display())
}

/// A database of every fixture feed, at `dir/advisories.db`.
fn build_db(dir: &Path) -> String {
    let db = dir.join("advisories.db").display().to_string();
    let feeds = feeds().display().to_string();
    let out = clearance(&["db", "build", "--db", &db, "--source", &feeds]);
    assert_success(&out);
    // The fixtures' data is from their writing, and a database is as old
    // as its data: make it today's, so that these tests gate on findings
    // (the staleness tests set their own dates).
    sql(&db, "UPDATE sources SET data_date = date('now')");
    db
}

/// Run one SQL statement on the SQLite file `db` (python's sqlite3).
fn sql(db: &str, statement: &str) {
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit(); c.close()",
            db,
            statement,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "{statement}");
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Two `--source`s of one ecosystem (two record files, or a zip and a
/// directory that holds records of it too) are merged: each import
/// replaces its source whole, so the later used to leave only its own
/// records (break-it: PyPI.zip then a directory of 4 PyPI records left 4).
#[test]
fn sources_of_one_ecosystem_in_one_build_are_merged_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db").display().to_string();
    let pypi = feeds().join("osv-pypi");
    let one = pypi.join("PYSEC-2014-13.json").display().to_string();
    let both = pypi.join("PYSEC-2018-28.json").display().to_string();
    let all = pypi.display().to_string();
    // The directory holds both records again: they are not doubled, and
    // the single files after it do not replace it.
    let out = clearance(&[
        "db", "build", "--db", &db, "--source", &all, "--source", &one, "--source", &both,
    ]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("osv:PyPI is given by more than one --source; they were merged"),
        "{}",
        stderr(&out)
    );
    let pypi = status_source(&db, "osv:PyPI");
    assert_eq!(pypi["advisories"], 4, "{pypi}");
}

#[test]
fn db_build_reports_each_source_and_status_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let out = clearance(&["db", "status", "--db", &db, "--format", "json"]);
    assert_success(&out);
    let status = json(&out);
    assert_eq!(status["schema"], "clearance.db-status/v1");
    assert_eq!(status["schema_version"], 1);
    let sources: Vec<(&str, i64)> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["advisories"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("alpine-secdb:v3.19/main", 3),
            ("debian-tracker", 6),
            ("epss", 0),
            ("kev", 0),
            ("osv:Debian", 1),
            ("osv:PyPI", 4),
        ]
    );

    // A file that is no feed fails the build and names itself; the
    // database keeps what it had.
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "hello").unwrap();
    let out = clearance(&[
        "db",
        "build",
        "--db",
        &db,
        "--source",
        junk.to_str().unwrap(),
    ]);
    assert_input_error(&out, "notes.txt: could not tell which feed this is");
    let again = json(&clearance(&[
        "db", "status", "--db", &db, "--format", "json",
    ]));
    assert_eq!(again["sources"].as_array().unwrap().len(), 6);

    let out = clearance(&[
        "db",
        "status",
        "--db",
        dir.path().join("none.db").to_str().unwrap(),
    ]);
    assert_input_error(&out, "run `clearance db update`");
}

/// The source `name` as `db status --format json` lists it.
fn status_source(db: &str, name: &str) -> serde_json::Value {
    let status = json(&clearance(&[
        "db", "status", "--db", db, "--format", "json",
    ]));
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no source {name} in {status}"))
}

/// The database file's bytes and modification time, and which of its
/// `-wal` and `-shm` files exist.
fn at_rest(db: &Path) -> (Vec<u8>, std::time::SystemTime, [bool; 2]) {
    let beside = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        Path::new(&name).exists()
    };
    (
        std::fs::read(db).unwrap(),
        std::fs::metadata(db).unwrap().modified().unwrap(),
        [beside("-wal"), beside("-shm")],
    )
}

/// `clearance ARGS` as a user file modes stop: the tests' own user, or,
/// when that is root (whom they do not stop), `nobody` through setpriv.
/// `None` when root and setpriv is missing. `dir` is opened to others.
fn without_root(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    use std::os::unix::fs::PermissionsExt as _;
    let uid = Command::new("id").arg("-u").output().unwrap();
    if stdout(&uid).trim() != "0" {
        return Some(clearance(args));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_clearance"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .ok()
}

/// Break-it (issue 9): `db status` set WAL mode on the database it only
/// read (its header rewritten, `-wal` and `-shm` left beside it), and so
/// did a scan's lookup; a database it may not write (0444 in a 0555
/// directory) could not be shown. Both now open it read-only. (Run as
/// root, the modes stop nothing, so `db status` also runs as `nobody`;
/// the library's test proves the open read-only.)
#[test]
fn b9_db_status_and_scan_leave_the_database_as_it_was() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let sub = dir.path().join("db");
    std::fs::create_dir(&sub).unwrap();
    let db = build_db(&sub);
    let path = Path::new(&db);
    let before = at_rest(path);
    assert_eq!(before.2, [false, false], "a database at rest is alone");
    assert_success(&clearance(&["db", "status", "--db", &db]));
    assert!(at_rest(path) == before, "db status changed the database");
    assert_success(&clearance(&["scan", "--db", &db, &image]));
    assert!(at_rest(path) == before, "scan changed the database");

    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = clearance(&["db", "status", "--db", &db]);
    let scan = clearance(&["scan", "--db", &db, "--no-layer-store", &image]);
    let unprivileged = without_root(dir.path(), &["db", "status", "--db", &db]);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    for out in std::iter::once(&out).chain(&unprivileged) {
        assert_success(out);
        assert!(stdout(out).contains("osv:PyPI"), "{}", stdout(out));
    }
    assert_success(&scan);
    assert!(at_rest(path) == before, "the read-only database changed");
}

/// A database an older clearance left in WAL mode cannot be read where
/// its reader may not write (SQLite must create its `-wal` and `-shm`):
/// that is said, with what to do, instead of "schema version none (not a
/// Clearance advisory database)".
#[test]
fn b9_a_database_left_in_wal_mode_where_it_cannot_be_written_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt as _;
    require("sqlite3");
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("db");
    std::fs::create_dir(&sub).unwrap();
    let db = build_db(&sub);
    let wal = Command::new("sqlite3")
        .args([db.as_str(), "PRAGMA journal_mode=WAL"])
        .output()
        .unwrap();
    assert_eq!(stdout(&wal).trim(), "wal");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = without_root(dir.path(), &["db", "status", "--db", &db]);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(out) = out else {
        eprintln!("skipped: run as root without setpriv");
        return;
    };
    assert_input_error(
        &out,
        &format!(
            "the advisory database at {db} is in WAL mode, and SQLite cannot read it without creating its -wal and -shm files beside it"
        ),
    );
}

/// Break-it (issue 9): `--db DIR` got SQLite's "unable to open database
/// file" (`db build`) or "no advisory database at DIR: run db update".
#[test]
fn b9_a_directory_given_as_the_database_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().display().to_string();
    let kev = feeds().join("kev.json").display().to_string();
    for args in [
        vec!["db", "status", "--db", &db],
        vec!["db", "build", "--db", &db, "--source", &kev],
        vec![
            "db",
            "pull",
            "--db",
            &db,
            "--insecure-skip-trust",
            "127.0.0.1:9/x/y:v1",
        ],
        vec!["scan", "--db", &db, "oci:/nowhere:v1"],
    ] {
        let out = clearance(&args);
        assert_input_error(
            &out,
            &format!(
                "{db} is a directory: --db (or CLEARANCE_DB) takes the path of the advisory database file, such as {db}/advisories.db"
            ),
        );
    }
}

#[test]
fn scan_reports_what_the_image_runs_and_not_the_traps() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    let report = json(&out);
    assert_eq!(report["schema"], "clearance.scan/v1");
    let mut found: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["layer"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    // Not reported: CVE-2023-5678 (openssl's backport carries the fix),
    // urllib3's CVE-2019-11324 (the last layer deleted urllib3), requests
    // 2.28.1's PyPI advisories (Debian's python3-requests owns it),
    // PYSEC-2014-13 (fixed in 2.3.0, below 2.19.1).
    assert_eq!(
        found,
        [
            ("libc6".into(), "CVE-2010-4756".into(), 0),
            ("libc6".into(), "CVE-2023-4911".into(), 0),
            ("libssl3".into(), "CVE-2024-0727".into(), 0),
            ("libssl3".into(), "CVE-2024-2511".into(), 0),
            ("python3-requests".into(), "CVE-2023-32681".into(), 1),
            ("requests".into(), "CVE-2018-18074".into(), 1),
            ("requests".into(), "CVE-2023-32681".into(), 1),
        ]
    );
    assert_eq!(report["owned"], 1);
    assert_eq!(report["unmatched"].as_array().unwrap().len(), 0);
    assert_eq!(report["summary"]["known_exploited"], 1);
    assert_eq!(report["summary"]["fixable"], 5);
    assert_eq!(report["verdict"]["passed"], true);
    let looney = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "CVE-2023-4911")
        .unwrap();
    assert_eq!(looney["severity"], "high");
    assert_eq!(looney["fixed_version"], "2.36-9+deb12u3");
    assert_eq!(looney["kev"]["due_date"], "2023-12-12");
    assert_eq!(looney["matched"]["package"], "glibc");
    // Configuration: umoci's config names no USER, so it runs as root.
    let checks: Vec<&str> = report["configuration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"CLR-CFG-001"), "{checks:?}");
    assert_eq!(report["configuration"]["surface"]["packages"], 5);

    // The table: the summary line, the states, the KEV mark.
    let out = clearance(&["scan", "--db", &db, &image]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("7 vulnerabilities (1 critical, 1 high, 3 medium, 1 low, 1 negligible); 5 fixable, 1 known exploited"),
        "{text}"
    );
    let row = text.lines().find(|l| l.contains("CVE-2024-2511")).unwrap();
    assert!(row.contains("(postponed)"), "{row}");
    let row = text.lines().find(|l| l.contains("CVE-2023-4911")).unwrap();
    assert!(row.contains("KEV") && row.contains("EPSS 78.0%"), "{row}");

    // --by layer: a heading per layer with the history line that made it.
    let out = clearance(&["scan", "--db", &db, "--by", "layer", &image]);
    let text = stdout(&out);
    assert!(
        text.contains("Layer 0 FROM debian:12 (4 findings)"),
        "{text}"
    );
    assert!(
        text.contains("Layer 1 RUN apt-get install python3-requests"),
        "{text}"
    );
}

#[test]
fn fail_on_gates_ci_and_filters_narrow_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    let out = clearance(&["scan", "--db", &db, "--fail-on", "critical", &image]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("✘ failed: 1 finding at or above critical"),
        "{}",
        stdout(&out)
    );

    // Only fixable findings of high and above: two, and the gate at
    // critical still fails on requests' CVE-2018-18074.
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--format",
        "json",
        "--severity",
        "HIGH",
        "--ignore-unfixed",
        &image,
    ]);
    let report = json(&out);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CVE-2018-18074", "CVE-2023-4911"]);
    assert_eq!(report["summary"]["filtered"], 5);

    // --sort risk: the known-exploited finding first.
    let out = clearance(&[
        "scan", "--db", &db, "--format", "json", "--sort", "risk", &image,
    ]);
    assert_eq!(json(&out)["findings"][0]["id"], "CVE-2023-4911");

    // A VEX statement suppresses, and the gate passes at high once the
    // only other high-or-worse finding is suppressed too.
    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Platform team",
            "timestamp": "2026-11-01T00:00:00Z", "version": 1, "statements": [
          {"vulnerability": {"name": "CVE-2023-4911"}, "products": [{"@id": "pkg:deb/debian/libc6@2.36-9"}],
           "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
          {"vulnerability": {"name": "PYSEC-2018-28"}, "products": [{"@id": "pkg:pypi/requests@2.19.1"}],
           "status": "not_affected", "justification": "vulnerable_code_cannot_be_controlled_by_adversary"}]}"#,
    )
    .unwrap();
    let vex = vex.display().to_string();
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--vex",
        &vex,
        "--fail-on",
        "high",
        &image,
    ]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(
            "suppressed: CVE-2023-4911 in libc6 (not_affected: vulnerable_code_not_in_execute_path"
        ),
        "{text}"
    );
    assert!(text.contains("2 suppressed by VEX"), "{text}");
    assert!(text.contains("✔ passed --fail-on high"), "{text}");

    // A bad flag value says what it takes.
    let out = clearance(&["scan", "--db", &db, "--severity", "severe", &image]);
    assert_input_error(
        &out,
        "give one of unknown, negligible, low, medium, high, critical",
    );
}

#[test]
fn a_stale_or_missing_database_is_named_and_gates_refuse_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    // Make the database ten days old.
    let ten_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 10 * 86_400;
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE sources SET imported_at=? WHERE name='osv:PyPI'\", (int(sys.argv[2]),)); c.commit()",
            &db,
            &ten_days_ago.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let out = clearance(&["scan", "--db", &db, &image]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("holds data 10 days old (its stalest source, osv:PyPI, is as of"),
        "{}",
        stderr(&out)
    );
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--severity",
        "critical",
        "--vex",
        "/dev/null",
        &image,
    ]);
    assert_eq!(out.status.code(), Some(2), "/dev/null is no VEX document");
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--ignore-unfixed",
        "--severity",
        "critical",
        "--max-db-age-days",
        "30",
        &image,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "CVE-2018-18074 is critical: {}",
        stdout(&out)
    );
    let vex = dir.path().join("vex.json");
    std::fs::write(&vex, r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": "CVE-2018-18074", "products": ["pkg:pypi/requests"], "status": "not_affected"}]}"#).unwrap();
    let vex = vex.display().to_string();
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--vex",
        &vex,
        &image,
    ]);
    assert_eq!(out.status.code(), Some(1), "stale: {}", stdout(&out));
    assert!(
        stdout(&out).contains("the advisory database is 10 days old (over --max-db-age-days 5)"),
        "{}",
        stdout(&out)
    );
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--vex",
        &vex,
        "--allow-stale-db",
        &image,
    ]);
    assert_success(&out);

    let out = clearance(&[
        "scan",
        "--db",
        dir.path().join("none.db").to_str().unwrap(),
        &image,
    ]);
    assert_input_error(&out, "no advisory database at");
}

/// Finding f1 (issue 9): the database's age was its import time, so an
/// air-gapped site importing a 2024 snapshot today passed the gate with
/// "updated today". Its age is its data's, the gate refuses it, and the
/// message says what refreshes data imported from files.
#[test]
fn f1_an_old_snapshot_imported_today_is_stale_and_the_gate_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let osv = dir.path().join("osv");
    std::fs::create_dir(&osv).unwrap();
    std::fs::write(
        osv.join("PYSEC-2024-1.json"),
        r#"{"id": "PYSEC-2024-1", "modified": "2024-10-10T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.path().join("a.db").display().to_string();
    let out = clearance(&[
        "db",
        "build",
        "--db",
        &db,
        "--source",
        osv.to_str().unwrap(),
    ]);
    assert_success(&out);
    let out = clearance(&["scan", "--db", &db, "--fail-on", "critical", &image]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("the advisory database is "), "{text}");
    assert!(
        text.contains("import fresher feed files with `clearance db build --source PATH`"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("is as of 2024-10-10T00:00:00Z"),
        "{}",
        stderr(&out)
    );
}

/// Finding f2 (issue 9): `db build --db FILE` added Clearance's tables to
/// any SQLite database, and a file of another kind failed with SQLite's
/// "(code: 26) file is not a database". Both are refused, named, and left
/// as they were.
#[test]
fn f2_db_build_refuses_a_file_that_is_no_advisory_database() {
    let dir = tempfile::tempdir().unwrap();
    let feeds = feeds().join("kev.json").display().to_string();
    let app = dir.path().join("app.sqlite").display().to_string();
    sql(&app, "CREATE TABLE users (x)");
    let before = std::fs::read(&app).unwrap();
    let out = clearance(&["db", "build", "--db", &app, "--source", &feeds]);
    assert_input_error(
        &out,
        &format!("{app} is an SQLite database but not a Clearance advisory database"),
    );
    assert!(
        stderr(&out).contains("choose another --db path"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::read(&app).unwrap() == before, "{app} changed");
    let text = dir.path().join("notes.txt").display().to_string();
    std::fs::write(&text, "some words").unwrap();
    let out = clearance(&["db", "build", "--db", &text, "--source", &feeds]);
    assert_input_error(
        &out,
        &format!(
            "{text} is not an SQLite database (not a Clearance advisory database); choose another --db path"
        ),
    );
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "some words");
}

/// Every file of `src` into a zip at `dst` (as osv.dev's `all.zip`).
fn zip_dir(src: &Path, dst: &Path) {
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys,zipfile,os; z=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)\nfor n in sorted(os.listdir(sys.argv[1])): z.write(os.path.join(sys.argv[1],n),n)\nz.close()",
        ])
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A site mirror laid out as `db update --mirror` expects, built from the
/// fixture feeds, served by `python3 -m http.server` on 127.0.0.1.
fn mirror(dir: &Path) -> support::StaticServer {
    let root = dir.join("mirror");
    for sub in ["osv/PyPI", "debian", "kev", "epss"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    zip_dir(&feeds().join("osv-pypi"), &root.join("osv/PyPI/all.zip"));
    std::fs::copy(
        feeds().join("debian-tracker.json"),
        root.join("debian/json"),
    )
    .unwrap();
    std::fs::copy(
        feeds().join("kev.json"),
        root.join("kev/known_exploited_vulnerabilities.json"),
    )
    .unwrap();
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(feeds().join("epss.csv"))
        .output()
        .unwrap();
    std::fs::write(root.join("epss/epss_scores-current.csv.gz"), gz.stdout).unwrap();
    support::StaticServer::start(&root)
}

/// A server on 127.0.0.1 that answers one request with a large body and
/// then sends a byte every 200 ms, never stalling long enough for a read
/// timeout. It stops when the client hangs up, or after 30 s.
fn trickling_server() -> u16 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        let head =
            "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nContent-Type: application/json\r\n\r\n[";
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..150 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if conn.write_all(b" ").and_then(|()| conn.flush()).is_err() {
                return;
            }
        }
    });
    port
}

#[test]
fn a_feed_that_trickles_is_cut_off_at_its_deadline_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.db").display().to_string();
    let base = format!("http://127.0.0.1:{}/", trickling_server());
    let out = clearance(&[
        "db",
        "update",
        "--db",
        &db,
        "--mirror",
        &base,
        "--only",
        "kev",
        "--timeout",
        "5",
        "--feed-deadline",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("kev (http://127.0.0.1:"), "{err}");
    assert!(
        err.contains("did not finish within 2 seconds (--feed-deadline)"),
        "{err}"
    );
}

#[test]
fn db_update_fetches_from_a_mirror_conditionally_and_names_a_feed_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = mirror(dir.path());
    let base = format!("http://127.0.0.1:{}/", server.port);
    let db = dir.path().join("advisories.db").display().to_string();
    let only = "osv:PyPI,debian-tracker,kev,epss";
    let update = |extra: &[&str]| {
        let mut args = vec![
            "db", "update", "--db", &db, "--mirror", &base, "--only", only,
        ];
        args.extend_from_slice(extra);
        clearance(&args)
    };
    let out = update(&["--format", "json"]);
    assert_success(&out);
    let report = json(&out);
    let results: Vec<(&str, &str)> = report["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["feed"].as_str().unwrap(), f["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("osv:PyPI", "updated"),
            ("debian-tracker", "updated"),
            ("kev", "updated"),
            ("epss", "updated")
        ]
    );
    assert_eq!(report["feeds"][0]["advisories"], 4);
    assert_eq!(report["feeds"][3]["records"], 4, "four EPSS scores");

    // Again: the mirror answers 304 to If-Modified-Since; nothing is re-imported.
    let out = update(&["--format", "json"]);
    assert_success(&out);
    let report = json(&out);
    assert!(
        report["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["result"] == "unchanged"),
        "{report}"
    );

    // A feed the mirror no longer has: named with its URL, exit 2, and the
    // database keeps its previous data (the scan still finds the KEV mark).
    std::fs::remove_file(
        dir.path()
            .join("mirror/kev/known_exploited_vulnerabilities.json"),
    )
    .unwrap();
    let out = clearance(&[
        "db", "update", "--db", &db, "--mirror", &base, "--only", "kev",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("1 of the feeds failed: kev (http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(
        err.contains("the database keeps their previous data"),
        "{err}"
    );
    let kev = status_source(&db, "kev");
    assert_eq!(kev["affected"], 1);

    // A mirror serving another ecosystem's records under osv/PyPI: refused,
    // and PyPI's data stays.
    let replaced = dir.path().join("mirror/osv/PyPI/all.zip");
    zip_dir(&feeds().join("osv-debian"), &replaced);
    // Last-Modified has whole seconds: date the new file a minute on, so
    // the mirror does not answer 304 to the previous download's date.
    std::fs::File::options()
        .write(true)
        .open(&replaced)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    let out = clearance(&[
        "db", "update", "--db", &db, "--mirror", &base, "--only", "osv:PyPI",
    ]);
    assert_input_error(&out, "the download holds osv:Debian records, not osv:PyPI");
    let status = json(&clearance(&[
        "db", "status", "--db", &db, "--format", "json",
    ]));
    assert!(
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "osv:Debian")
    );

    // Plain HTTP away from loopback is refused before any connection.
    let out = clearance(&[
        "db",
        "update",
        "--db",
        &db,
        "--mirror",
        "http://mirror.example.invalid/",
        "--only",
        "kev",
    ]);
    assert_input_error(&out, "http:// is refused for advisory feeds");
    let out = clearance(&["db", "update", "--db", &db, "--only", "osv:Perl"]);
    assert_input_error(&out, "\"osv:Perl\" is not a feed; the feeds are: osv:PyPI");
}

#[test]
fn standard_formats_come_out_of_sbom_and_scan_and_other_commands_refuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    let run = |args: &[&str]| {
        let out = clearance(args);
        assert_success(&out);
        json(&out)
    };
    let bom = run(&["scan", "--db", &db, "--format", "cyclonedx", &image]);
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    let vulns: Vec<&str> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        vulns.contains(&"CVE-2023-4911") && vulns.len() == 7,
        "{vulns:?}"
    );
    let sarif = run(&["scan", "--db", &db, "--format", "sarif", &image]);
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 7);
    let spdx = run(&["sbom", "--format", "spdx", &image]);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    // Reproducible with SOURCE_DATE_EPOCH.
    let fixed = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["sbom", "--format", format, &image])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert_success(&out);
        stdout(&out)
    };
    assert_eq!(fixed("cyclonedx"), fixed("cyclonedx"));
    assert!(fixed("cyclonedx").contains("2023-11-14T22:13:20Z"));

    let out = clearance(&["sbom", "--format", "sarif", &image]);
    assert_input_error(&out, "--format sarif is for");
    let out = clearance(&["db", "status", "--db", &db, "--format", "spdx"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_second_scan_reads_no_layer_its_stored_inventories_answer() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    let first = json(&clearance(&[
        "scan", "--db", &db, "--format", "json", &image,
    ]));
    assert!(
        dir.path().join("layers.db").is_file(),
        "stored beside the database"
    );
    // Take every layer blob away: the manifest and config stay, so the
    // image still resolves, but no layer can be read.
    let layers: Vec<String> = first["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(layers.len(), 3);
    for digest in &layers {
        let hex = digest.strip_prefix("sha256:").unwrap();
        std::fs::remove_file(dir.path().join("oci/blobs/sha256").join(hex)).unwrap();
    }
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    let second = json(&out);
    assert_eq!(second["findings"], first["findings"]);
    assert_eq!(second["owned"], first["owned"]);
    assert_eq!(second["configuration"], first["configuration"]);
    assert!(first["configuration"]["surface"]["files"].as_u64().unwrap() > 0);
    // sbom uses the same store (CLEARANCE_DB names where it is).
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["sbom", "--format", "json", &image])
        .env("CLEARANCE_DB", &db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(json(&out)["packages"].as_array().unwrap().len(), 5);
    // Without the store the layers must be read, and they are gone.
    let out = clearance(&["scan", "--db", &db, "--no-layer-store", &image]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

/// Each finding's (package, path, id, layer), sorted.
fn finding_keys(report: &serde_json::Value) -> Vec<(String, String, String, u64)> {
    let mut keys: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["package"]["path"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["layer"].as_u64().unwrap(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn an_sbom_clearance_wrote_scans_as_the_image_does() {
    // The image has requests 2.28.1 that Debian's python3-requests owns
    // (no PyPI finding), and urllib3 a later layer removed.
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = build_db(dir.path());
    let direct = json(&clearance(&[
        "scan", "--db", &db, "--format", "json", &image,
    ]));
    assert!(direct["owned"].as_u64().unwrap() >= 1);
    for format in ["json", "cyclonedx", "spdx"] {
        // --all-layers lists the removed urllib3: it is still not in the image.
        let out = clearance(&["sbom", "--all-layers", "--format", format, &image]);
        assert_success(&out);
        let file = dir.path().join(format!("bom.{format}.json"));
        std::fs::write(&file, stdout(&out)).unwrap();
        let input = format!("sbom:{}", file.display());
        let out = clearance(&["scan", "--db", &db, "--format", "json", &input]);
        assert_success(&out);
        let from_sbom = json(&out);
        // Nothing left out: the image and its distribution are no packages.
        assert_eq!(
            from_sbom["sbom"]["without_purl"], 0,
            "{format}: {}",
            from_sbom["sbom"]
        );
        assert_eq!(
            from_sbom["sbom"]["unsupported"],
            serde_json::json!({}),
            "{format}"
        );
        assert_eq!(finding_keys(&from_sbom), finding_keys(&direct), "{format}");
        assert_eq!(from_sbom["owned"], direct["owned"], "{format}");
    }
}

#[test]
fn sbom_input_unknown_severities_and_empty_inventories_are_judged_not_waved_through() {
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    // requests 2.2.0: PYSEC-2018-28 (critical, CVSS 9.8) and PYSEC-2014-13,
    // which no feed rates.
    let bom = dir.path().join("bom.json");
    std::fs::write(
        &bom,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
            {"type": "library", "name": "requests", "version": "2.2.0", "purl": "pkg:pypi/requests@2.2.0"},
            {"type": "library", "name": "x", "version": "1.7.0", "purl": "pkg:hex/phoenix@1.7.0"}]}"#,
    )
    .unwrap();
    let input = format!("sbom:{}", bom.display());
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--format",
        "json",
        "--severity",
        "high",
        &input,
    ]);
    assert_success(&out);
    let report = json(&out);
    let mut shown: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [("CVE-2014-1829", "unknown"), ("CVE-2018-18074", "critical")]
    );
    assert_eq!(report["sbom"]["unsupported"]["hex"], 1);
    assert!(report["manifest_digest"].is_null());

    let out = clearance(&["scan", "--db", &db, "--fail-on", "critical", &input]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("1 finding at or above critical"), "{text}");
    assert!(
        text.contains("1 finding of unknown severity (no feed rates it)"),
        "{text}"
    );
    assert!(text.contains("of purl type \"hex\""), "{text}");
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--ignore-unknown-severity",
        "--format",
        "sarif",
        &input,
    ]);
    // SARIF needs an image; the refusal says so.
    assert_input_error(
        &out,
        "`scan sbom:FILE` prints table or json; --format sarif needs an image",
    );
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        "--ignore-unknown-severity",
        "--format",
        "json",
        &input,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("--fail-on failed: 1 finding at or above critical"),
        "{err}"
    );
    assert!(!err.contains("unknown severity"), "{err}");

    // An SBOM of nothing Clearance reads: nothing checked, and the gate says so.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"spdxVersion": "SPDX-2.3", "packages": []}"#).unwrap();
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--fail-on",
        "critical",
        &format!("sbom:{}", empty.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no packages were found, so nothing was checked"),
        "{}",
        stdout(&out)
    );

    // A VEX file past its limit is refused without being read whole.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let out = clearance(&["scan", "--db", &db, "--vex", big.to_str().unwrap(), &input]);
    assert_input_error(&out, "over the 16777216-byte limit");
}

#[test]
fn secrets_in_layers_deleted_files_and_the_config_are_reported_masked_and_gated() {
    require("umoci");
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let npm = fake_secret::npm_token(7);
    let github = fake_secret::github_pat(11);
    // A Debian base; a layer that writes an .npmrc with a token; a layer
    // that deletes it again. The config's Env carries a GitHub token.
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history --config.env "GITHUB_TOKEN=$3"
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/etc $R/var/lib/dpkg $R/root
printf 'ID=debian\nVERSION_ID="12"\n' > $R/etc/os-release
printf 'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n' > $R/var/lib/dpkg/status
umoci repack --refresh-bundle --image oci:v1 --history.created_by "FROM debian:12" bundle
printf '//registry.npmjs.org/:_authToken=%s\n' "$2" > $R/root/.npmrc
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN |1 NPM_TOKEN=$2 /bin/sh -c cp .npmrc /root/" bundle
rm $R/root/.npmrc
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN rm /root/.npmrc" bundle
"#;
    umoci_script(dir.path(), script, &[&npm, &github]);
    let image = format!("oci:{}:v1", dir.path().join("oci").display());

    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    let all = stdout(&out);
    assert!(!all.contains(&npm) && !all.contains(&github), "{all}");
    let first = json(&out);
    // The build argument kept in history is masked where the layer's
    // history line is printed, not only in the secrets list.
    assert_eq!(
        first["layers"][1]["created_by"],
        "RUN |1 NPM_TOKEN=**** /bin/sh -c cp .npmrc /root/"
    );
    for format in ["cyclonedx", "spdx", "sarif"] {
        let doc = stdout(&clearance(&[
            "scan", "--db", &db, "--format", format, &image,
        ]));
        assert!(!doc.contains(&npm), "{format}: {doc}");
    }
    let secrets = first["secrets"]["findings"].as_array().unwrap();
    let npmrc = secrets
        .iter()
        .find(|f| f["path"] == "/root/.npmrc")
        .unwrap_or_else(|| panic!("{secrets:?}"));
    assert_eq!(npmrc["rule_id"], "npm-access-token");
    assert_eq!(npmrc["layer"], 1);
    assert_eq!(npmrc["deleted_in"], 2, "the layer that removed the file");
    assert_eq!(npmrc["masked"], "npm_****");
    let env = secrets
        .iter()
        .find(|f| f["path"] == "config:Env")
        .unwrap_or_else(|| panic!("{secrets:?}"));
    assert_eq!(env["rule_id"], "github-pat");
    assert_eq!(first["summary"]["secrets"], secrets.len());
    assert!(first["secrets"]["stats"]["files_scanned"].as_u64().unwrap() >= 1);

    // The gate counts secrets at or above its threshold, deleted or not.
    let out = clearance(&["scan", "--db", &db, "--fail-on", "high", &image]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let table = stdout(&out);
    assert!(!table.contains(&npm) && !table.contains(&github), "{table}");
    assert!(table.contains("npm_****"), "{table}");
    assert!(table.contains("(deleted in 2)"), "{table}");
    assert!(
        table.contains("3 secrets at or above high"),
        "the reason is given: {table}"
    );

    // A second scan answers from the layer store: the same secrets with
    // no layer blob left to read.
    for l in first["layers"].as_array().unwrap() {
        let hex = l["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        std::fs::remove_file(dir.path().join("oci/blobs/sha256").join(hex)).unwrap();
    }
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    assert_eq!(json(&out)["secrets"], first["secrets"]);
}

/// Break-it (issue 9): the table said "1 secrets" (and "1 findings",
/// "1 vulnerabilities", "1 packages", "1 finding(s)"). A count of one
/// takes the singular.
#[test]
fn b9_counts_of_one_are_singular() {
    require("umoci");
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let npm = fake_secret::npm_token(3);
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/etc $R/var/lib/dpkg $R/root
printf 'ID=debian\nVERSION_ID="12"\n' > $R/etc/os-release
printf 'Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9\n\n' > $R/var/lib/dpkg/status
printf '//registry.npmjs.org/:_authToken=%s\n' "$2" > $R/root/.npmrc
umoci repack --refresh-bundle --image oci:v1 --history.created_by "FROM debian:12" bundle
"#;
    umoci_script(dir.path(), script, &[&npm]);
    let image = format!("oci:{}:v1", dir.path().join("oci").display());
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--severity",
        "high",
        "--by",
        "layer",
        "--fail-on",
        "high",
        &image,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let table = stdout(&out);
    for says in [
        "Layer 0 FROM debian:12 (1 finding)",
        "1 vulnerability (1 high); ",
        "1 secret; remove it from the layer",
        "remove it from the layer that adds it and rotate it",
        "attack surface: 1 package; ",
        "✘ failed: 1 finding at or above high",
        "✘ failed: 1 secret at or above high",
    ] {
        assert!(table.contains(says), "{says:?} in {table}");
    }
    assert!(!table.contains("(s)"), "{table}");
    for noun in [
        "secrets",
        "findings",
        "vulnerabilities",
        "packages",
        "files",
        "layers",
    ] {
        let plural_one = format!("1 {noun}");
        let after_a_digit = table
            .match_indices(&plural_one)
            .any(|(at, _)| table[..at].ends_with(|c: char| c.is_ascii_digit()));
        assert!(
            !table.contains(&plural_one) || after_a_digit,
            "{plural_one:?} in {table}"
        );
    }
}

#[test]
fn findings_are_split_by_base_image_from_the_flag_or_the_annotations() {
    require("umoci");
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    // `base`: Debian 12 with an old glibc. `v1`: base plus a layer that
    // pip-installs requests 2.19.1.
    let script = r#"
umoci new --image oci:base
umoci config --image oci:base --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:base bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/etc $R/var/lib/dpkg
printf 'ID=debian\nVERSION_ID="12"\n' > $R/etc/os-release
printf 'Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9\n\n' > $R/var/lib/dpkg/status
umoci repack --refresh-bundle --image oci:base --history.created_by "FROM scratch" bundle
d=$R/usr/local/lib/python3.11/dist-packages/requests-2.19.1.dist-info
mkdir -p $d
printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n' > $d/METADATA
umoci repack --image oci:v1 --history.created_by "RUN pip install requests==2.19.1" bundle
"#;
    umoci_script(dir.path(), script, &[]);
    let layout = dir.path().join("oci").display().to_string();
    let (base, image) = (format!("oci:{layout}:base"), format!("oci:{layout}:v1"));

    let out = clearance(&[
        "scan", "--db", &db, "--format", "json", "--base", &base, &image,
    ]);
    assert_success(&out);
    let doc = json(&out);
    assert_eq!(doc["base"]["layers"], 1);
    assert_eq!(doc["base"]["from"], "flag");
    let findings = doc["findings"].as_array().unwrap();
    let in_base = findings
        .iter()
        .filter(|f| f["package"]["layer"] == 0)
        .count();
    assert!(in_base > 0 && in_base < findings.len(), "{findings:?}");
    assert_eq!(doc["summary"]["from_base"], in_base);
    let origins: Vec<&str> = doc["configuration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["origin"].as_str().unwrap())
        .collect();
    assert!(!origins.contains(&"unknown"), "{origins:?}");
    // Without a base nothing is split.
    let plain = json(&clearance(&[
        "scan", "--db", &db, "--format", "json", &image,
    ]));
    // Configuration findings gate only when asked: runs-as-root is medium.
    let gate = [
        "scan",
        "--db",
        &db,
        "--ignore-unknown-severity",
        "--severity",
        "critical",
    ];
    let out = clearance(&[&gate[..], &["--fail-on", "medium", &base]].concat());
    assert_success(&out);
    let out = clearance(
        &[
            &gate[..],
            &["--fail-on", "medium", "--fail-on-config", &base],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("1 configuration finding at or above medium"),
        "{}",
        stdout(&out)
    );
    assert_eq!(plain["base"], serde_json::Value::Null);
    assert_eq!(plain["summary"]["from_base"], serde_json::Value::Null);

    // An image that is not built on the base named is refused, naming why.
    let out = clearance(&["scan", "--db", &db, "--base", &image, &base]);
    assert_input_error(&out, "has 2 layers and the image only 1");

    // The manifest's annotations name the base: used when it is in a
    // registry and its digest is the one they give. A wrong digest, or a
    // name that is a path on this machine, is a warning, not a split.
    let registry = support::Registry::start(None);
    let remote = format!("{}/team/base:1", registry.host());
    support::skopeo_copy(&base, &format!("docker://{remote}"), None);
    let digest = support::inspect_json(&[&base])["manifest"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let zeros = format!("sha256:{}", "0".repeat(64));
    for (tag, name, annotated) in [
        ("v2", remote.as_str(), digest.as_str()),
        ("v3", remote.as_str(), zeros.as_str()),
        ("v4", base.as_str(), digest.as_str()),
    ] {
        let status = Command::new("umoci")
            .args(["config", "--image", &format!("{layout}:v1"), "--tag", tag])
            .arg(format!(
                "--manifest.annotation=org.opencontainers.image.base.name={name}"
            ))
            .arg(format!(
                "--manifest.annotation=org.opencontainers.image.base.digest={annotated}"
            ))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let scan = |tag: &str| {
        let out = clearance(&[
            "scan",
            "--db",
            &db,
            "--format",
            "json",
            &format!("oci:{layout}:{tag}"),
        ]);
        assert_success(&out);
        json(&out)
    };
    let v2 = scan("v2");
    assert_eq!(v2["base"]["from"], "annotation");
    assert_eq!(v2["base"]["layers"], 1);
    assert_eq!(v2["summary"]["from_base"], in_base);
    // A base in a registry that never answers: the lookup gives up after
    // its deadline (15 s, not the minutes its retries would take), and
    // --no-base-annotations skips it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        silent.set_nonblocking(true).unwrap();
        while std::time::Instant::now() < until {
            if let Ok((conn, _)) = silent.accept() {
                held.push(conn);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let status = Command::new("umoci")
        .args(["config", "--image", &format!("{layout}:v1"), "--tag", "v5"])
        .arg(format!(
            "--manifest.annotation=org.opencontainers.image.base.name=127.0.0.1:{silent_port}/team/base:1"
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let doc = scan("v5");
    let warnings = doc["inventory_warnings"].to_string();
    assert!(warnings.contains("within 15 seconds"), "{warnings}");
    let out = clearance(&[
        "scan",
        "--db",
        &db,
        "--format",
        "json",
        "--no-base-annotations",
        &format!("oci:{layout}:v5"),
    ]);
    assert_success(&out);
    assert!(
        !json(&out)["inventory_warnings"]
            .to_string()
            .contains("base image")
    );
    for (tag, says) in [
        ("v3", "could not be read"),
        ("v4", "not a registry reference"),
    ] {
        let doc = scan(tag);
        assert_eq!(doc["base"], serde_json::Value::Null, "{tag}");
        let warnings = doc["inventory_warnings"].to_string();
        assert!(
            warnings.contains(says) && warnings.contains("not split"),
            "{tag}: {warnings}"
        );
    }
}
