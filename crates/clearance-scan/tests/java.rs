//! Java archives through the real layer reader into the inventory: Maven
//! artifacts with the layer that brought each in, nested jars with the way
//! in as their path, upgrades, deletions, a Debian package's jar, and the
//! stored capture.
#![allow(clippy::unwrap_used)]

#[allow(dead_code, clippy::unwrap_used)]
#[path = "support/java_archive.rs"]
mod java_archive;
mod support;

use clearance_scan::catalog::PackageType;
use clearance_scan::catalog::binary::BinaryProblem;
use clearance_scan::inventory::{Inventory, InventoryWarning};
use java_archive::{Method, archive, jar, pom, pom_path};
use support::{Entry, inventory, layer, stored_round_trip};

/// Each Maven package: (path, name, version, layer, owner).
fn maven(inv: &Inventory) -> Vec<(&str, &str, &str, usize, Option<&str>)> {
    let mut got: Vec<_> = inv
        .packages
        .iter()
        .filter(|f| f.package.kind == PackageType::Maven)
        .map(|f| {
            (
                f.package.path.as_str(),
                f.package.name.as_str(),
                f.package.version.as_str(),
                f.layer,
                f.owned_by.as_ref().map(|o| o.name.as_str()),
            )
        })
        .collect();
    got.sort();
    got
}

/// A Spring Boot jar: its own pom, and log4j-core stored in `BOOT-INF/lib`.
fn boot_jar(log4j: &str) -> Vec<u8> {
    let lib = jar("org.apache.logging.log4j", "log4j-core", log4j);
    archive(
        &[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n\r\n",
            ),
            (
                &pom_path("com.example", "demo"),
                &pom("com.example", "demo", "1.0.0"),
            ),
            (&format!("BOOT-INF/lib/log4j-core-{log4j}.jar"), &lib),
        ],
        Method::Stored,
    )
}

#[test]
fn jars_list_their_artifacts_with_the_layer_and_the_way_in() {
    let debian_jar = "usr/share/java/log4j-core-2.19.0.jar";
    let tools_war = archive(
        &[(
            "WEB-INF/lib/snakeyaml-1.33.jar",
            &jar("org.yaml", "snakeyaml", "1.33"),
        )],
        Method::Deflated,
    );
    let base = layer(&[
        Entry::File("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        Entry::File(
            "var/lib/dpkg/status",
            b"Package: liblog4j2-java\nStatus: install ok installed\nVersion: 2.19.0-2\nArchitecture: all\n\n",
        ),
        Entry::File(
            "var/lib/dpkg/info/liblog4j2-java.list",
            format!("/.\n/usr/share/java\n/{debian_jar}\n/usr/share/java/tools.war\n").as_bytes(),
        ),
        Entry::File(
            debian_jar,
            &jar("org.apache.logging.log4j", "log4j-core", "2.19.0"),
        ),
        // What a package's war holds is the package's too.
        Entry::File("usr/share/java/tools.war", &tools_war),
    ]);
    let boot = boot_jar("2.14.1");
    let manifest_only = archive(
        &[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Vendor-Id: org.apache.commons\nImplementation-Version: 1.9\n",
        )],
        Method::Deflated,
    );
    let app = layer(&[
        Entry::File("app/app.jar", &boot),
        Entry::File("opt/old/commons-text-1.9.jar", &manifest_only),
    ]);
    let cleanup = layer(&[Entry::File("opt/old/.wh.commons-text-1.9.jar", b"")]);
    let inv = inventory(&[base.clone(), app.clone(), cleanup.clone()]);
    assert_eq!(
        maven(&inv),
        [
            ("/app/app.jar", "com.example:demo", "1.0.0", 1, None),
            (
                "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar",
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                1,
                None
            ),
            // Debian's jar is Debian's: matched against Debian's data.
            (
                "/usr/share/java/log4j-core-2.19.0.jar",
                "org.apache.logging.log4j:log4j-core",
                "2.19.0",
                0,
                Some("liblog4j2-java")
            ),
            (
                "/usr/share/java/tools.war!/WEB-INF/lib/snakeyaml-1.33.jar",
                "org.yaml:snakeyaml",
                "1.33",
                0,
                Some("liblog4j2-java")
            ),
        ]
    );
    let log4j = inv
        .packages
        .iter()
        .find(|f| f.package.version == "2.14.1")
        .unwrap();
    assert_eq!(
        log4j.package.purl,
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    );
    // The deleted jar is not in the image, but was, in layer 1.
    let removed: Vec<_> = inv
        .removed
        .iter()
        .map(|r| (r.package.name.as_str(), r.layer, r.removed_in))
        .collect();
    assert_eq!(removed, [("org.apache.commons:commons-text", 1, 2)]);
    assert_eq!(inv.warnings, []);

    // An upgrade laid over the jar is the upgrading layer's, and only the
    // new version is in the image.
    let upgrade = layer(&[Entry::File("app/app.jar", &boot_jar("2.17.1"))]);
    let inv = inventory(&[base, app, cleanup, upgrade]);
    let log4j: Vec<_> = maven(&inv)
        .into_iter()
        .filter(|p| p.0.starts_with("/app/app.jar!"))
        .map(|p| (p.2, p.3))
        .collect();
    assert_eq!(log4j, [("2.17.1", 3)]);
}

#[test]
fn a_broken_jar_is_said_with_its_path_and_the_rest_is_listed() {
    let good = jar("org.yaml", "snakeyaml", "1.33");
    let inner_bad = archive(&[("WEB-INF/lib/bad.jar", b"not a zip")], Method::Deflated);
    let tar = layer(&[
        Entry::File("srv/app.war", &inner_bad),
        Entry::File("srv/snakeyaml-1.33.jar", &good),
    ]);
    let inv = inventory(&[tar]);
    assert_eq!(
        maven(&inv),
        [(
            "/srv/snakeyaml-1.33.jar",
            "org.yaml:snakeyaml",
            "1.33",
            0,
            None
        )]
    );
    assert!(
        matches!(
            &inv.warnings[..],
            [InventoryWarning::Binary {
                layer: 0,
                problem: BinaryProblem::JavaArchiveUnreadable { path, .. },
            }] if path == "/srv/app.war!/WEB-INF/lib/bad.jar"
        ),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn nested_paths_survive_the_stored_capture() {
    let boot = boot_jar("2.14.1");
    let tar = layer(&[
        Entry::File("app/app.jar", &boot),
        // A hard link is the jar under another name, nested part and all.
        Entry::Hardlink("app/current.jar", "app/app.jar"),
    ]);
    let (direct, replayed) = stored_round_trip(&tar);
    assert_eq!(maven(&direct), maven(&replayed));
    let paths: Vec<&str> = maven(&replayed).iter().map(|p| p.0).collect();
    assert_eq!(
        paths,
        [
            "/app/app.jar",
            "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar",
            "/app/current.jar",
            "/app/current.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar",
        ]
    );
}

#[test]
fn a_jar_written_over_a_debian_packages_file_is_not_the_packages() {
    let path = "usr/share/java/log4j-core.jar";
    let debian = layer(&[
        Entry::File(
            "var/lib/dpkg/status",
            b"Package: liblog4j2-java\nStatus: install ok installed\nVersion: 2.19.0-2\nArchitecture: all\n\n",
        ),
        Entry::File(
            "var/lib/dpkg/info/liblog4j2-java.list",
            format!("/.\n/usr/share/java\n/{path}\n").as_bytes(),
        ),
        Entry::File(
            path,
            &jar("org.apache.logging.log4j", "log4j-core", "2.19.0"),
        ),
    ]);
    // A later layer copies a vulnerable jar over Debian's: Maven's data
    // judges it, not Debian's.
    let copied = layer(&[Entry::File(
        path,
        &jar("org.apache.logging.log4j", "log4j-core", "2.14.1"),
    )]);
    let inv = inventory(&[debian.clone(), copied]);
    assert_eq!(
        maven(&inv),
        [(
            "/usr/share/java/log4j-core.jar",
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            1,
            None
        )]
    );
    let inv = inventory(&[debian]);
    assert_eq!(maven(&inv)[0].4, Some("liblog4j2-java"));
}

#[test]
fn a_directory_named_with_a_bang_is_not_a_way_in() {
    let tar = layer(&[Entry::File(
        "app/bang!/log4j-core-2.14.1.jar",
        &jar("org.apache.logging.log4j", "log4j-core", "2.14.1"),
    )]);
    let (direct, replayed) = stored_round_trip(&tar);
    assert_eq!(maven(&direct), maven(&replayed));
    assert_eq!(maven(&replayed)[0].0, "/app/bang!/log4j-core-2.14.1.jar");
}
