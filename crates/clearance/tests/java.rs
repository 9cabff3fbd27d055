//! `clearance scan` and `clearance sbom` on an image whose layers hold Java
//! archives written here: a Spring Boot jar with log4j-core nested in it,
//! and a jar a later layer deletes. The scan matches the nested artifact
//! against OSV Maven records, names the way into it, and answers the same
//! from the layer store after every layer blob is gone.
#![allow(clippy::unwrap_used)]

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../../clearance-scan/tests/support/java_archive.rs"]
mod java_archive;
mod support;

use std::path::Path;

use java_archive::{Method, archive, jar, pom, pom_path};
use support::{assert_success, clearance, db_build, osv_record, stdout, umoci_script};

/// Layer 0: /app/app.jar (com.example:demo 1.0.0 with log4j-core 2.14.1 in
/// BOOT-INF/lib) and /opt/old/commons-text-1.9.jar; layer 1 deletes the
/// latter.
fn build_image(dir: &Path) -> String {
    let boot = archive(
        &[
            (
                &pom_path("com.example", "demo"),
                &pom("com.example", "demo", "1.0.0"),
            ),
            (
                "BOOT-INF/lib/log4j-core-2.14.1.jar",
                &jar("org.apache.logging.log4j", "log4j-core", "2.14.1"),
            ),
        ],
        Method::Stored,
    );
    std::fs::write(dir.join("app.jar"), boot).unwrap();
    std::fs::write(
        dir.join("commons-text.jar"),
        jar("org.apache.commons", "commons-text", "1.9"),
    )
    .unwrap();
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/app $R/opt/old
cp app.jar $R/app/app.jar
cp commons-text.jar $R/opt/old/commons-text-1.9.jar
umoci repack --refresh-bundle --image oci:v1 --history.created_by "COPY app.jar /app/" bundle
rm $R/opt/old/commons-text-1.9.jar
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN rm /opt/old/commons-text-1.9.jar" bundle
"#;
    umoci_script(dir, script, &[]);
    format!("oci:{}:v1", dir.join("oci").display())
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// An OSV record of the Maven ecosystem: `name` affected from
/// `introduced` until `fixed`.
fn record(dir: &Path, id: &str, name: &str, introduced: &str, fixed: &str) {
    osv_record(dir, id, ("Maven", name), "ECOSYSTEM", (introduced, fixed));
}

/// Each finding's (path, package, advisory, fixed version).
fn findings(report: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut found: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["path"].as_str().unwrap().to_owned(),
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["fixed_version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn scan_matches_nested_maven_artifacts_and_not_a_deleted_jar() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let feed = dir.path().join("osv-maven");
    // Maven's order: 2.0-beta9 < 2.14.1 < 2.15.0.
    record(
        &feed,
        "GHSA-TEST-0001",
        "org.apache.logging.log4j:log4j-core",
        "2.0-beta9",
        "2.15.0",
    );
    record(
        &feed,
        "GHSA-TEST-0002",
        "org.apache.logging.log4j:log4j-core",
        "2.15.0",
        "2.16.0",
    );
    // Deleted in layer 1: not in the image.
    record(
        &feed,
        "GHSA-TEST-0003",
        "org.apache.commons:commons-text",
        "1.5",
        "1.10.0",
    );
    let db_path = dir.path().join("advisories.db");
    db_build(&db_path, &feed);
    let db = db_path.display().to_string();
    let want = [(
        "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar".to_owned(),
        "org.apache.logging.log4j:log4j-core".to_owned(),
        "GHSA-TEST-0001".to_owned(),
        "2.15.0".to_owned(),
    )];
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    assert_eq!(findings(&json(&out)), want);
    // The table names the jar the artifact sits in.
    let out = clearance(&["scan", "--db", &db, &image]);
    assert_success(&out);
    let table = stdout(&out);
    assert!(table.contains("Path"), "{table}");
    assert!(
        table.contains("/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"),
        "{table}"
    );

    // The SBOM names the artifacts by purl, and the deleted jar only
    // among what layers removed.
    let out = clearance(&["sbom", "--no-layer-store", "--format", "cyclonedx", &image]);
    assert_success(&out);
    let bom = json(&out);
    let mut purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    purls.sort();
    assert_eq!(
        purls,
        [
            "pkg:maven/com.example/demo@1.0.0",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        ]
    );

    // The table says which jar each artifact is in, removed ones too.
    let out = clearance(&["sbom", "--no-layer-store", "--all-layers", &image]);
    assert_success(&out);
    let table = stdout(&out);
    assert!(table.contains("Path"), "{table}");
    assert!(table.contains("/opt/old/commons-text-1.9.jar"), "{table}");
    assert!(table.contains("(removed in 1)"), "{table}");

    // The stored inventories answer without a layer blob.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("oci/index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let blobs = dir.path().join("oci/blobs/sha256");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blobs.join(manifest_digest.trim_start_matches("sha256:"))).unwrap(),
    )
    .unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        let hex = layer["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:");
        std::fs::remove_file(blobs.join(hex)).unwrap();
    }
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    assert_eq!(findings(&json(&out)), want);
}

#[test]
fn a_jar_that_states_no_group_is_not_checked_and_a_gate_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // No pom.properties, no manifest: known by its file name alone.
    std::fs::write(
        dir.path().join("lib.jar"),
        archive(&[("org/x/A.class", b"\xca\xfe\xba\xbe")], Method::Deflated),
    )
    .unwrap();
    let script = r#"
umoci new --image oci:v1
umoci unpack --image oci:v1 bundle >/dev/null
mkdir -p bundle/rootfs/app
cp lib.jar bundle/rootfs/app/gson-2.2.4.jar
umoci repack --image oci:v1 bundle
"#;
    umoci_script(dir.path(), script, &[]);
    let image = format!("oci:{}:v1", dir.path().join("oci").display());
    let feed = dir.path().join("osv");
    record(
        &feed,
        "GHSA-TEST-0009",
        "com.google.code.gson:gson",
        "0",
        "2.8.9",
    );
    let db_path = dir.path().join("advisories.db");
    db_build(&db_path, &feed);
    let db = db_path.display().to_string();
    let out = clearance(&["scan", "--db", &db, "--format", "json", &image]);
    assert_success(&out);
    let report = json(&out);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    let unmatched = &report["unmatched"][0];
    assert_eq!(unmatched["packages"], 1, "{report}");
    assert!(
        unmatched["reason"]
            .as_str()
            .unwrap()
            .contains("state no Maven groupId"),
        "{unmatched}"
    );
    let out = clearance(&["scan", "--db", &db, "--fail-on", "critical", &image]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 package could not be checked"));
}
