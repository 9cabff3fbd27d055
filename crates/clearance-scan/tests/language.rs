//! Language package catalogers over real layer streams: `Cargo.lock`,
//! Composer's `installed.json`, gemspecs and `*.deps.json` followed through
//! upgrades, whiteouts and replaced directories, and Debian's own Node
//! modules and gems named as the Debian package's.
#![allow(clippy::unwrap_used)]

mod support;

use clearance_scan::inventory::Inventory;
use support::{Entry, inventory, layer};

/// Each package: its purl, the layer that brought it in, and the OS
/// package that owns it.
fn listed(inv: &Inventory) -> Vec<(String, usize, Option<String>)> {
    inv.packages
        .iter()
        .map(|f| {
            (
                f.package.purl.clone(),
                f.layer,
                f.owned_by.as_ref().map(|o| o.name.clone()),
            )
        })
        .collect()
}

fn cargo_lock(packages: &[(&str, &str)]) -> Vec<u8> {
    let mut text =
        String::from("version = 4\n\n[[package]]\nname = \"server\"\nversion = \"0.1.0\"\n");
    for (name, version) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n"
        ));
    }
    text.into_bytes()
}

#[test]
fn cargo_lock_packages_follow_the_lock_through_the_layers() {
    let base = layer(&[Entry::File(
        "app/Cargo.lock",
        &cargo_lock(&[("regex", "1.10.2"), ("serde", "1.0.193")]),
    )]);
    let upgrade = layer(&[Entry::File(
        "app/Cargo.lock",
        &cargo_lock(&[("regex", "1.10.3"), ("serde", "1.0.193")]),
    )]);
    let inv = inventory(&[base.clone(), upgrade.clone()]);
    assert_eq!(
        listed(&inv),
        [
            ("pkg:cargo/regex@1.10.3".into(), 1, None),
            ("pkg:cargo/serde@1.0.193".into(), 0, None),
        ]
    );
    assert!(
        inv.packages
            .iter()
            .all(|f| f.package.path == "/app/Cargo.lock")
    );
    let removed: Vec<_> = inv
        .removed
        .iter()
        .map(|r| (r.package.purl.as_str(), r.layer, r.removed_in))
        .collect();
    assert_eq!(removed, [("pkg:cargo/regex@1.10.2", 0, 1)]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);

    // A later layer deletes the lock file: its crates are gone.
    let delete = layer(&[Entry::File("app/.wh.Cargo.lock", b"")]);
    let inv = inventory(&[base, upgrade, delete]);
    assert!(inv.packages.is_empty(), "{:?}", inv.packages);
}

#[test]
fn a_broken_cargo_lock_is_a_warning_naming_it() {
    let inv = inventory(&[layer(&[
        Entry::File("app/Cargo.lock", b"[[package]\nname = 1\n"),
        Entry::File("other/Cargo.lock", &cargo_lock(&[("libc", "0.2.150")])),
    ])]);
    assert_eq!(listed(&inv), [("pkg:cargo/libc@0.2.150".into(), 0, None)]);
    let [warning] = inv.warnings.as_slice() else {
        panic!("{:?}", inv.warnings);
    };
    assert!(
        warning.to_string().starts_with(
            "layer 0: /app/Cargo.lock: 1 part that is not valid TOML, the first at line 1"
        ),
        "{warning}"
    );
}

/// Composer 2's `installed.json`, with these packages.
fn installed_json(packages: &[(&str, &str)]) -> Vec<u8> {
    let list: Vec<String> = packages
        .iter()
        .map(|(name, version)| {
            format!(
                r#"{{"name": "{name}", "version": "{version}", "type": "library", "install-path": "../{name}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"packages": [{}], "dev": true, "dev-package-names": []}}"#,
        list.join(", ")
    )
    .into_bytes()
}

#[test]
fn composer_packages_go_with_the_vendor_directory() {
    let installed = "var/www/html/vendor/composer/installed.json";
    let base = layer(&[Entry::File(
        installed,
        &installed_json(&[("symfony/console", "v5.4.21"), ("monolog/monolog", "2.9.2")]),
    )]);
    let inv = inventory(std::slice::from_ref(&base));
    assert_eq!(
        listed(&inv),
        [
            ("pkg:composer/monolog/monolog@2.9.2".into(), 0, None),
            ("pkg:composer/symfony/console@5.4.21".into(), 0, None),
        ]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);

    // Composer 1's list, written by a later layer over the same path.
    let composer1 = layer(&[Entry::File(
        installed,
        br#"[{"name": "monolog/monolog", "version": "1.27.1", "type": "library"}]"#,
    )]);
    let inv = inventory(&[base.clone(), composer1]);
    assert_eq!(
        listed(&inv),
        [("pkg:composer/monolog/monolog@1.27.1".into(), 1, None)]
    );

    // A later layer makes `vendor` a link elsewhere: what was under the
    // directory is gone, as a runtime's applier removes it.
    let relinked = layer(&[Entry::Link("var/www/html/vendor", "/opt/vendor")]);
    let inv = inventory(&[base, relinked]);
    assert!(inv.packages.is_empty(), "{:?}", inv.packages);
    assert_eq!(inv.removed.len(), 2);
}

#[test]
fn gemspecs_and_deps_json_are_listed() {
    let inv = inventory(&[layer(&[
        Entry::File(
            "usr/local/bundle/specifications/rack-2.2.8.gemspec",
            b"Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.8\"\nend\n",
        ),
        Entry::File(
            "usr/local/lib/ruby/gems/3.3.0/specifications/default/json-2.7.1.gemspec",
            b"# stub: json 2.7.1 ruby lib\n",
        ),
        Entry::File(
            "app/webapp.deps.json",
            br#"{"libraries": {"webapp/1.0.0": {"type": "project"}, "Newtonsoft.Json/13.0.3": {"type": "package"}}}"#,
        ),
    ])]);
    assert_eq!(
        listed(&inv),
        [
            ("pkg:gem/json@2.7.1".into(), 0, None),
            ("pkg:gem/rack@2.2.8".into(), 0, None),
            ("pkg:nuget/Newtonsoft.Json@13.0.3".into(), 0, None),
        ]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

fn status(packages: &[(&str, &str)]) -> Vec<u8> {
    packages
        .iter()
        .map(|(name, version)| {
            format!("Package: {name}\nStatus: install ok installed\nArchitecture: all\nVersion: {version}\n\n")
        })
        .collect::<String>()
        .into_bytes()
}

/// Debian ships npm modules in `/usr/share/nodejs`, not under a
/// `node_modules`: they are npm packages, and the Debian package whose file
/// list names them owns them (issue 9: npm modules inside a Debian package
/// are matched against Debian data).
#[test]
fn debian_node_modules_and_gems_name_their_debian_package() {
    let semver = "usr/share/nodejs/semver/package.json";
    let babel = "usr/share/nodejs/@babel/core/package.json";
    let rack = "usr/share/rubygems-integration/all/specifications/rack-2.2.4.gemspec";
    let debian = layer(&[
        Entry::File(
            "var/lib/dpkg/status",
            &status(&[
                ("node-semver", "7.3.8+~7.3.4-1"),
                ("node-babel7", "7.20.15+ds1+~cs214.269.168-3"),
                ("ruby-rack", "2.2.4-3"),
            ]),
        ),
        Entry::File(
            "var/lib/dpkg/info/node-semver.list",
            format!("/.\n/usr\n/usr/share/nodejs/semver\n/{semver}\n").as_bytes(),
        ),
        Entry::File(
            "var/lib/dpkg/info/node-babel7.list",
            format!("/.\n/{babel}\n").as_bytes(),
        ),
        Entry::File(
            "var/lib/dpkg/info/ruby-rack.list",
            format!("/.\n/{rack}\n").as_bytes(),
        ),
        Entry::File(semver, br#"{"name": "semver", "version": "7.3.8"}"#),
        Entry::File(babel, br#"{"name": "@babel/core", "version": "7.20.12"}"#),
        Entry::File(rack, b"s.name = \"rack\"\ns.version = \"2.2.4\"\n"),
    ]);
    // npm installs its own copy beside them: nobody's but npm's.
    let npm = layer(&[Entry::File(
        "app/node_modules/semver/package.json",
        br#"{"name": "semver", "version": "7.5.4"}"#,
    )]);
    let inv = inventory(&[debian, npm]);
    let language: Vec<_> = listed(&inv)
        .into_iter()
        .filter(|(purl, _, _)| !purl.starts_with("pkg:deb/"))
        .collect();
    assert_eq!(
        language,
        [
            (
                "pkg:npm/%40babel/core@7.20.12".into(),
                0,
                Some("node-babel7".into())
            ),
            ("pkg:npm/semver@7.3.8".into(), 0, Some("node-semver".into())),
            ("pkg:npm/semver@7.5.4".into(), 1, None),
            ("pkg:gem/rack@2.2.4".into(), 0, Some("ruby-rack".into())),
        ]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}
