//! `clearance sbom` against an image umoci builds in three layers: a Debian
//! base, an upgrade that removes a package, and an application layer.
#![allow(clippy::unwrap_used)]

mod support;

use support::{assert_success, clearance, stdout, umoci_script};

/// Build the image in `dir/oci` (tag v1) with umoci; returns its reference.
fn build(dir: &std::path::Path) -> String {
    let script = r#"
umoci new --image oci:v1
umoci config --image oci:v1 --created 2020-01-04T00:00:00Z --no-history
umoci unpack --image oci:v1 bundle >/dev/null
R=bundle/rootfs
mkdir -p $R/etc $R/usr/lib $R/var/lib/dpkg
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' > $R/usr/lib/os-release
ln -s ../usr/lib/os-release $R/etc/os-release
pkg() { printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\n%bVersion: %s\n\n' "$1" "$3" "$2"; }
{ pkg libc6 2.36-9 'Source: glibc\n'; pkg libssl3 3.0.9-1 'Source: openssl\n'; pkg tzdata 2024a-0 ''; } > $R/var/lib/dpkg/status
umoci repack --refresh-bundle --image oci:v1 --history.created_by "FROM debian:12" bundle
{ pkg libc6 2.36-9 'Source: glibc\n'; pkg libssl3 3.0.11-1~deb12u2 'Source: openssl\n'; pkg curl 7.88.1-10 ''; } > $R/var/lib/dpkg/status
umoci repack --refresh-bundle --image oci:v1 --history.created_by "RUN apt-get upgrade && apt-get install curl && apt-get purge tzdata" bundle
mkdir -p $R/app && printf 'server\n' > $R/app/server
umoci repack --refresh-bundle --image oci:v1 --history.created_by "COPY server /app/" bundle
"#;
    umoci_script(dir, script, &[]);
    format!("oci:{}:v1", dir.join("oci").display())
}

#[test]
fn sbom_lists_each_package_with_the_layer_that_brought_its_version_in() {
    let dir = tempfile::tempdir().unwrap();
    let image = build(dir.path());
    let out = clearance(&["sbom", "--format", "json", &image]);
    assert_success(&out);
    let sbom: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sbom["schema"], "clearance.sbom/v1");
    assert_eq!(sbom["distro"]["id"], "debian");
    assert_eq!(sbom["distro"]["version_id"], "12");
    let packages: Vec<(String, String, u64)> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["layer"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        packages,
        [
            ("curl".into(), "7.88.1-10".into(), 1),
            ("libc6".into(), "2.36-9".into(), 0),
            ("libssl3".into(), "3.0.11-1~deb12u2".into(), 1),
        ]
    );
    let libssl = &sbom["packages"][2];
    assert_eq!(libssl["source"]["name"], "openssl");
    assert_eq!(
        libssl["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    assert_eq!(
        sbom["layers"][1]["created_by"].as_str().unwrap().get(..7),
        Some("RUN apt")
    );
    assert!(
        sbom["layers"][1]["diff_id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // --all-layers adds what a later layer took away, marked.
    let out = clearance(&["sbom", "--all-layers", "--format", "json", &image]);
    let all: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let removed: Vec<_> = all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("removed_in").is_some())
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["layer"].as_u64(),
                p["removed_in"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [("libssl3", Some(0), Some(1)), ("tzdata", Some(0), Some(1))]
    );

    // The table: the distribution, a count, each package's layer and the
    // history line that made it.
    let out = clearance(&["sbom", &image]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("Debian GNU/Linux 12 (bookworm)"), "{text}");
    assert!(text.contains("Packages     3"), "{text}");
    let curl = text.lines().find(|l| l.contains("curl")).unwrap();
    assert!(curl.contains("RUN apt-get upgrade"), "{curl}");
    let out = clearance(&["sbom", "--all-layers", &image]);
    assert!(
        stdout(&out).contains("Packages     3 (and 2 removed by later layers, listed below)"),
        "{}",
        stdout(&out)
    );
    let tz = stdout(&out);
    let tz = tz.lines().find(|l| l.contains("tzdata")).unwrap();
    assert!(tz.contains("(removed in 1)"), "{tz}");
}

#[test]
fn an_image_without_package_databases_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, "app/x", &b"abc"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let root = dir.path().join("oci");
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let put = |bytes: &[u8]| {
        let d = clearance_oci::Digest::sha256_of(bytes);
        std::fs::write(root.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        serde_json::json!({"digest": d.to_string(), "size": bytes.len()})
    };
    let diff_id = clearance_oci::Digest::sha256_of(&tar).to_string();
    let mut layer = put(&tar);
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let mut config = put(&serde_json::to_vec(&config).unwrap());
    config["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [layer]});
    let mut m = put(&serde_json::to_vec(&manifest).unwrap());
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    m["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "v1"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [m]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let out = clearance(&["sbom", &format!("oci:{}:v1", root.display())]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("(none found)"), "{text}");
    assert!(text.contains("no packages found"), "{text}");
}
