//! `clearance sbom` and `clearance scan` on an image whose layers hold a Go
//! binary built here (vendored modules, one replaced, no network): its
//! modules and standard library are listed with the layer that added the
//! binary, a copy a later layer deletes is not in the image, and the scan
//! matches them against OSV Go records.
#![allow(clippy::unwrap_used)]

#[path = "../../clearance-scan/tests/support/go_program.rs"]
mod go_program;
mod support;

use std::path::Path;

use support::{assert_success, clearance, db_build, osv_record, stdout, umoci_script};

/// Layer 0: the binary at /usr/local/bin/hello and /opt/gone; layer 1
/// deletes /opt/gone.
fn build_image(dir: &Path, binary: &Path) -> String {
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/usr/local/bin $R/opt
cp "$2" $R/usr/local/bin/hello
cp "$2" $R/opt/gone
umoci repack --refresh-bundle --image oci:v1 --history.created_by "COPY hello /usr/local/bin/" bundle
rm $R/opt/gone
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN rm /opt/gone" bundle
"#;
    umoci_script(dir, script, &[&binary.display().to_string()]);
    format!("oci:{}:v1", dir.join("oci").display())
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn sbom_lists_a_go_binarys_modules_with_its_layer_and_not_a_deleted_copy() {
    let dir = tempfile::tempdir().unwrap();
    let built = go_program::build(dir.path());
    let image = build_image(dir.path(), &built.binary);
    let out = clearance(&["sbom", "--format", "json", "--all-layers", &image]);
    assert_success(&out);
    let sbom = json(&out);
    let stdlib = go_program::stdlib_version(&built.go_version);
    let mut listed: Vec<(String, String, String, u64, Option<u64>)> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["type"], "golang");
            (
                p["path"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
                p["purl"].as_str().unwrap().to_owned(),
                p["layer"].as_u64().unwrap(),
                p["removed_in"].as_u64(),
            )
        })
        .collect();
    listed.sort();
    let row = |path: &str, name: &str, purl: String, removed: Option<u64>| {
        (path.to_owned(), name.to_owned(), purl, 0, removed)
    };
    let mut want = Vec::new();
    for (path, removed) in [("/opt/gone", Some(1)), ("/usr/local/bin/hello", None)] {
        want.push(row(
            path,
            "example.com/greet",
            "pkg:golang/example.com/greet@v1.2.3".into(),
            removed,
        ));
        want.push(row(
            path,
            "example.com/new",
            "pkg:golang/example.com/new@v1.1.0".into(),
            removed,
        ));
        want.push(row(
            path,
            "stdlib",
            format!("pkg:golang/stdlib@{stdlib}"),
            removed,
        ));
    }
    assert_eq!(listed, want);
    // The main module has no version: said, naming the binary.
    let warnings: Vec<&str> = sbom["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("/usr/local/bin/hello") && w.contains("(devel)")),
        "{warnings:?}"
    );
    // The table names the type and the layer too.
    let out = clearance(&["sbom", &image]);
    assert_success(&out);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.contains("example.com/greet"))
        .unwrap();
    assert!(row.contains("golang") && row.contains("v1.2.3"), "{row}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("warning:") && l.contains("(devel)")),
        "{text}"
    );
}

/// An OSV record of the Go ecosystem affecting `name` below `fixed`.
fn record(dir: &Path, id: &str, name: &str, fixed: &str) {
    osv_record(dir, id, ("Go", name), "SEMVER", ("0", fixed));
}

#[test]
fn scan_matches_a_go_binarys_modules_and_standard_library() {
    let dir = tempfile::tempdir().unwrap();
    let built = go_program::build(dir.path());
    let image = build_image(dir.path(), &built.binary);
    let feed = dir.path().join("osv-go");
    record(&feed, "GO-TEST-0001", "stdlib", "999.0.0");
    record(&feed, "GO-TEST-0002", "example.com/greet", "1.2.4");
    record(&feed, "GO-TEST-0003", "example.com/greet", "1.2.3");
    // The module the build replaced is not in the binary.
    record(&feed, "GO-TEST-0004", "example.com/old", "9.0.0");
    let db_path = dir.path().join("advisories.db");
    db_build(&db_path, &feed);
    let db = db_path.display().to_string();
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    let report = json(&out);
    let mut found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["path"].as_str().unwrap().to_owned(),
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    // A module's fix is written as its version is (`v1.2.4`, not OSV's
    // `1.2.4`); the standard library's stays bare.
    let fixes: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap(),
                f["fixed_version"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        fixes.contains(&("example.com/greet", "v1.2.4")),
        "{fixes:?}"
    );
    assert!(fixes.contains(&("stdlib", "999.0.0")), "{fixes:?}");
    assert_eq!(
        found,
        [
            (
                "/usr/local/bin/hello".to_owned(),
                "example.com/greet".to_owned(),
                "GO-TEST-0002".to_owned()
            ),
            (
                "/usr/local/bin/hello".to_owned(),
                "stdlib".to_owned(),
                "GO-TEST-0001".to_owned()
            ),
        ]
    );
    assert_eq!(report["unmatched"].as_array().unwrap().len(), 0);
}
