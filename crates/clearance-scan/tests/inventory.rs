//! The inventory over real layer streams: packages attributed to the layer
//! that brought them in, upgrades and removals across layers, whiteouts
//! (plain and opaque), distroless `status.d`, and databases too large or
//! broken to read.
#![allow(clippy::unwrap_used)]

mod support;

use clearance_scan::catalog;
use clearance_scan::inventory::{Inventory, InventoryWarning};
use support::{Entry, inventory, layer};

fn status(packages: &[(&str, &str)]) -> Vec<u8> {
    packages
        .iter()
        .map(|(name, version)| {
            format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n")
        })
        .collect::<String>()
        .into_bytes()
}

fn listed(inv: &Inventory) -> Vec<(String, String, usize)> {
    inv.packages
        .iter()
        .map(|f| (f.package.name.clone(), f.package.version.clone(), f.layer))
        .collect()
}

const DEBIAN: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

#[test]
fn each_package_names_the_layer_that_brought_its_version_in() {
    let base_status = status(&[
        ("libc6", "2.36-9"),
        ("libssl3", "3.0.9-1"),
        ("tzdata", "2024a-0"),
    ]);
    let base = layer(&[
        Entry::Dir("etc/"),
        Entry::Link("etc/os-release", "../usr/lib/os-release"),
        Entry::File("usr/lib/os-release", DEBIAN),
        Entry::File("var/lib/dpkg/status", &base_status),
    ]);
    let upgraded = status(&[
        ("libc6", "2.36-9"),
        ("libssl3", "3.0.11-1~deb12u2"),
        ("curl", "7.88.1-10"),
    ]);
    let apt = layer(&[Entry::File("var/lib/dpkg/status", &upgraded)]);
    let app = layer(&[Entry::File("app/server", b"binary")]);
    let inv = inventory(&[base, apt, app]);

    let distro = inv.distro.as_ref().unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("debian", Some("12"))
    );
    assert_eq!(distro.source, "/usr/lib/os-release");
    assert_eq!(
        listed(&inv),
        [
            ("curl".into(), "7.88.1-10".into(), 1),
            ("libc6".into(), "2.36-9".into(), 0),
            ("libssl3".into(), "3.0.11-1~deb12u2".into(), 1),
        ]
    );
    let removed: Vec<_> = inv
        .removed
        .iter()
        .map(|r| {
            (
                r.package.name.as_str(),
                r.package.version.as_str(),
                r.layer,
                r.removed_in,
            )
        })
        .collect();
    assert_eq!(
        removed,
        [("libssl3", "3.0.9-1", 0, 1), ("tzdata", "2024a-0", 0, 1)]
    );
    assert_eq!(
        inv.packages[1].package.purl,
        "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12"
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn whiteouts_remove_packages_and_opaque_directories_replace_them() {
    let entry =
        |name: &str| format!("Package: {name}\nVersion: 1.0\nArchitecture: all\n").into_bytes();
    let (base_files, tz, ca) = (
        entry("base-files"),
        entry("tzdata"),
        entry("ca-certificates"),
    );
    let distroless = layer(&[
        Entry::File(
            "etc/os-release",
            b"ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Distroless\"\n",
        ),
        Entry::File("var/lib/dpkg/status.d/base", &base_files),
        Entry::File("var/lib/dpkg/status.d/base.md5sums", b"abc  etc/issue\n"),
        Entry::File("var/lib/dpkg/status.d/tzdata", &tz),
    ]);
    let deletes_tz = layer(&[Entry::File("var/lib/dpkg/status.d/.wh.tzdata", b"")]);
    let inv = inventory(&[distroless.clone(), deletes_tz]);
    assert_eq!(listed(&inv), [("base-files".into(), "1.0".into(), 0)]);
    assert_eq!(inv.removed.len(), 1);
    assert_eq!(
        inv.distro.as_ref().unwrap().pretty_name.as_deref(),
        Some("Distroless")
    );

    // An opaque whiteout empties status.d below; the same layer refills it.
    let opaque = layer(&[
        Entry::File("var/lib/dpkg/status.d/.wh..wh..opq", b""),
        Entry::File("var/lib/dpkg/status.d/ca", &ca),
    ]);
    let inv = inventory(&[distroless.clone(), opaque]);
    assert_eq!(listed(&inv), [("ca-certificates".into(), "1.0".into(), 1)]);
    assert_eq!(inv.removed.len(), 2);

    // Deleting the whole database directory deletes every package.
    let gone = layer(&[Entry::File("var/lib/dpkg/.wh.status.d", b"")]);
    let inv = inventory(&[distroless, gone]);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.removed.len(), 2);
}

#[test]
fn a_database_replaced_by_a_non_file_lists_nothing() {
    let alpine = b"P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\n";
    let base = layer(&[
        Entry::File("etc/alpine-release", b"3.19.1\n"),
        Entry::File("lib/apk/db/installed", alpine),
    ]);
    let inv = inventory(std::slice::from_ref(&base));
    assert_eq!(listed(&inv), [("musl".into(), "1.2.4-r2".into(), 0)]);
    assert_eq!(
        inv.packages[0].package.purl,
        "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"
    );
    let replaced = layer(&[Entry::Link("lib/apk/db/installed", "/dev/null")]);
    let inv = inventory(&[base, replaced]);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.removed[0].removed_in, 1);
}

#[test]
fn broken_and_oversized_databases_are_warnings_naming_the_file() {
    let broken = b"Package: ok\nStatus: install ok installed\nVersion: 1\n\nPackage: noversion\nStatus: install ok installed\n";
    let inv = inventory(&[layer(&[Entry::File("var/lib/dpkg/status", broken)])]);
    assert_eq!(listed(&inv), [("ok".into(), "1".into(), 0)]);
    match inv.warnings.as_slice() {
        [InventoryWarning::Catalog { layer: 0, problem }] => {
            assert_eq!(
                problem.to_string(),
                "/var/lib/dpkg/status: the entry at line 5 has no Version; skipped"
            );
        }
        other => panic!("{other:?}"),
    }
    let huge = vec![b'#'; (catalog::MAX_DATABASE_BYTES + 1) as usize];
    let inv = inventory(&[layer(&[Entry::File("lib/apk/db/installed", &huge)])]);
    assert!(inv.packages.is_empty());
    assert!(matches!(
        inv.warnings.as_slice(),
        [InventoryWarning::TooLarge { layer: 0, path, .. }] if path == "/lib/apk/db/installed"
    ));
}

#[test]
fn language_packages_follow_their_files_through_the_layers() {
    let metadata = |name: &str, version: &str| {
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nlong description\n")
            .into_bytes()
    };
    let package_json = |name: &str, version: &str| {
        format!(r#"{{"name":"{name}","version":"{version}"}}"#).into_bytes()
    };
    let (requests, urllib3) = (
        metadata("requests", "2.28.1"),
        metadata("urllib3", "1.26.5"),
    );
    let (lodash, left_pad, types) = (
        package_json("lodash", "4.17.20"),
        package_json("left-pad", "1.3.0"),
        package_json("@types/node", "20.1.0"),
    );
    let site = "usr/local/lib/python3.11/site-packages";
    let base = layer(&[
        Entry::File(
            &format!("{site}/requests-2.28.1.dist-info/METADATA"),
            &requests,
        ),
        Entry::File(
            &format!("{site}/urllib3-1.26.5.dist-info/METADATA"),
            &urllib3,
        ),
        Entry::File("app/node_modules/lodash/package.json", &lodash),
        Entry::File("app/node_modules/left-pad/package.json", &left_pad),
        Entry::File("app/node_modules/@types/node/package.json", &types),
        Entry::File("app/package.json", &package_json("my-app", "1.0.0")),
    ]);
    // pip upgrades urllib3 (old dist-info deleted, new one written); npm
    // prunes left-pad (its directory deleted).
    let newer = metadata("urllib3", "1.26.18");
    let upgrade = layer(&[
        Entry::File(&format!("{site}/.wh.urllib3-1.26.5.dist-info"), b""),
        Entry::File(
            &format!("{site}/urllib3-1.26.18.dist-info/METADATA"),
            &newer,
        ),
        Entry::File("app/node_modules/.wh.left-pad", b""),
    ]);
    let inv = inventory(&[base, upgrade]);
    let got: Vec<(String, String, String, usize)> = inv
        .packages
        .iter()
        .map(|f| {
            (
                f.package.kind.to_string(),
                f.package.name.clone(),
                f.package.version.clone(),
                f.layer,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("pypi".into(), "requests".into(), "2.28.1".into(), 0),
            ("pypi".into(), "urllib3".into(), "1.26.18".into(), 1),
            ("npm".into(), "@types/node".into(), "20.1.0".into(), 0),
            ("npm".into(), "lodash".into(), "4.17.20".into(), 0),
        ]
    );
    let removed: Vec<_> = inv
        .removed
        .iter()
        .map(|r| (r.package.name.as_str(), r.removed_in))
        .collect();
    assert_eq!(removed, [("urllib3", 1), ("left-pad", 1)]);
    assert_eq!(inv.packages[2].package.purl, "pkg:npm/%40types/node@20.1.0");
}

#[test]
fn a_layer_of_too_many_wanted_bytes_is_read_up_to_its_budget() {
    use clearance_scan::inventory::MAX_CAPTURED_PER_LAYER;
    // 80 package.json files of 1 MiB each: 64 MiB are kept, the rest counted.
    let padding = " ".repeat(1 << 20);
    let files: Vec<(String, Vec<u8>)> = (0..80)
        .map(|i| {
            (
                format!("node_modules/p{i}/package.json"),
                format!(r#"{{"name":"p{i}","version":"1.0.0","x":"{padding}"}}"#).into_bytes(),
            )
        })
        .collect();
    let entries: Vec<Entry<'_>> = files.iter().map(|(p, b)| Entry::File(p, b)).collect();
    let inv = inventory(&[layer(&entries)]);
    let per_file = files[0].1.len() as u64;
    let kept = MAX_CAPTURED_PER_LAYER / per_file;
    assert_eq!(inv.packages.len() as u64, kept);
    assert!(matches!(
        inv.warnings.as_slice(),
        [InventoryWarning::OverBudget { layer: 0, files, first }]
            if *files == 80 - kept && first[0] == format!("/node_modules/p{kept}/package.json")
    ));
}

/// Break-it run of `clearance sbom`: merged-/usr apk databases, links,
/// directories replaced by files, and warnings that never flood.
#[test]
fn merged_usr_apk_databases_are_read() {
    let alpine = b"P:musl\nV:1.2.5-r1\nA:x86_64\n\n";
    let wolfi = layer(&[
        Entry::File("etc/os-release", b"ID=wolfi\nNAME=Wolfi\n"),
        Entry::Link("lib", "usr/lib"),
        Entry::File("usr/lib/apk/db/installed", alpine),
    ]);
    let inv = inventory(&[wolfi]);
    assert_eq!(listed(&inv), [("musl".into(), "1.2.5-r1".into(), 0)]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn hard_links_read_their_target_and_other_links_are_named() {
    let is_odd = br#"{"name":"is-odd","version":"3.0.1"}"#;
    // pnpm: the package lives in the store, node_modules hard-links it.
    let pnpm = layer(&[
        Entry::File(
            "app/node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json",
            is_odd,
        ),
        Entry::Hardlink(
            "app/node_modules/is-odd/package.json",
            "app/node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json",
        ),
    ]);
    let inv = inventory(&[pnpm]);
    let paths: Vec<_> = inv
        .packages
        .iter()
        .map(|f| f.package.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/app/node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json",
            "/app/node_modules/is-odd/package.json"
        ]
    );
    // A database that is a symbolic link is not followed, and says so.
    let base = layer(&[Entry::File("var/lib/dpkg/status", &status(&[("a", "1")]))]);
    let evil = layer(&[
        Entry::File("etc/evil-status", &status(&[("evil", "6.6.6")])),
        Entry::Link("var/lib/dpkg/status", "/etc/evil-status"),
    ]);
    let inv = inventory(&[base, evil]);
    assert!(inv.packages.is_empty());
    assert!(
        matches!(
            inv.warnings.as_slice(),
            [InventoryWarning::LinkNotFollowed { layer: 1, path, target }]
                if path == "/var/lib/dpkg/status" && target == "/etc/evil-status"
        ),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn a_directory_replaced_by_a_file_takes_its_packages_with_it() {
    let base = layer(&[
        Entry::File("var/lib/dpkg/status", &status(&[("a", "1")])),
        Entry::File(
            "app/node_modules/n/package.json",
            br#"{"name":"n","version":"1.0.0"}"#,
        ),
        Entry::File(
            "usr/lib/python3/site-packages/p-1.dist-info/METADATA",
            b"Name: p\nVersion: 1\n",
        ),
    ]);
    // No whiteouts: a runtime's applier removes a directory a non-directory replaces.
    let replaces = layer(&[
        Entry::Link("var/lib/dpkg", "/nowhere"),
        Entry::File("app/node_modules", b"not a directory"),
        Entry::Link("usr/lib/python3/site-packages", "/tmp"),
    ]);
    let inv = inventory(&[base, replaces]);
    assert!(inv.packages.is_empty(), "{:?}", inv.packages);
    assert_eq!(inv.removed.len(), 3);
}

#[test]
fn warnings_are_capped_and_counted() {
    use clearance_scan::inventory::MAX_WARNINGS;
    let broken: String = (0..500).map(|i| format!("P:p{i}\n\n")).collect();
    let inv = inventory(&[layer(&[Entry::File(
        "lib/apk/db/installed",
        broken.as_bytes(),
    )])]);
    assert_eq!(inv.warnings.len(), MAX_WARNINGS);
    assert_eq!(inv.warnings_not_shown, 500 - MAX_WARNINGS as u64);
}

/// Syft's `upstream` qualifier names an OS package's source when it
/// differs, with the source's version when that differs too.
#[test]
fn purls_name_the_upstream_source_as_syft_does() {
    let status = b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b13\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0\n\n";
    let inv = inventory(&[layer(&[
        Entry::File("etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
        Entry::File("var/lib/dpkg/status", status),
    ])]);
    let purls: Vec<_> = inv
        .packages
        .iter()
        .map(|f| f.package.purl.as_str())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
            "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12&upstream=openssl",
            "pkg:deb/debian/tzdata@2024a-0?arch=all&distro=debian-12",
        ]
    );
}

/// A language package an OS package installed names that OS package: its
/// fixes come from the distribution (issue 9: npm modules inside a Debian
/// package are matched against Debian data).
#[test]
fn language_packages_an_os_package_installed_name_it() {
    let egg = "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO";
    let debian = layer(&[
        Entry::File(
            "var/lib/dpkg/status",
            &status(&[("python3-requests", "2.28.1+dfsg-1")]),
        ),
        Entry::File(
            "var/lib/dpkg/info/python3-requests.list",
            format!("/.\n/usr\n/{egg}\n").as_bytes(),
        ),
        Entry::File(egg, b"Name: requests\nVersion: 2.28.1\n"),
    ]);
    // pip installs another one beside it: nobody's but pip's.
    let pip = layer(&[Entry::File(
        "usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
        b"Name: six\nVersion: 1.16.0\n",
    )]);
    let inv = inventory(&[debian, pip]);
    let owned: Vec<_> = inv
        .packages
        .iter()
        .map(|f| {
            (
                f.package.name.as_str(),
                f.owned_by.as_ref().map(|o| o.name.as_str()),
            )
        })
        .collect();
    assert_eq!(
        owned,
        [
            ("python3-requests", None),
            ("requests", Some("python3-requests")),
            ("six", None)
        ]
    );

    let alpine = layer(&[
        Entry::File(
            "lib/apk/db/installed",
            b"P:npm\nV:10.2.5-r0\nF:usr/lib/node_modules/npm\nR:package.json\nR:index.js\n\n",
        ),
        Entry::File(
            "usr/lib/node_modules/npm/package.json",
            br#"{"name":"npm","version":"10.2.5"}"#,
        ),
    ]);
    let inv = inventory(&[alpine]);
    let npm = inv
        .packages
        .iter()
        .find(|f| f.package.kind.to_string() == "npm")
        .unwrap();
    assert_eq!(npm.owned_by.as_ref().map(|o| o.name.as_str()), Some("npm"));
}
