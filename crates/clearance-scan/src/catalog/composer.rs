//! PHP packages: `vendor/composer/installed.json`, Composer's record of
//! what it installed into `vendor/` (Composer `src/Composer/Repository/
//! FilesystemRepository.php`). Composer 1 writes a list of package
//! objects; Composer 2 an object whose `packages` holds that list (beside
//! `dev` and `dev-package-names`). Each package has `name`
//! (`vendor/package`) and `version` as its tag says (`v5.4.21`, `1.27.1`,
//! `dev-main`). Development packages are installed too and are listed.
//!
//! The version is kept without a leading `v` before a digit, as
//! Composer's `VersionParser::normalize` reads it (`v5.4.21` is
//! `5.4.21`): advisories (FriendsOfPHP, OSV Packagist) write versions
//! without it. A `vendor-dir` other than `vendor` is not looked for.
//! `composer.lock` is not read: it says what a build wanted, not what is
//! installed.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{Entries, EntriesVisitor, Skipped, Text, collect_seq, usable};
use super::{CatalogError, Cataloger, Package, PackageType};
use crate::os::Distro;

/// The Composer cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Composer;

/// Where Composer records what it installed, relative to a project.
pub const INSTALLED: &str = "vendor/composer/installed.json";

impl Cataloger for Composer {
    fn name(&self) -> &'static str {
        "composer"
    }

    fn wants(&self, path: &str) -> bool {
        path.strip_suffix(INSTALLED)
            .is_some_and(|above| above.is_empty() || above.ends_with('/'))
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let installed: Installed = serde_json::from_slice(bytes)
            .map_err(|e| invalid(super::json_reason("installed.json", &e)))?;
        let Installed(Some(packages)) = installed else {
            return Err(invalid(
                "an object without a \"packages\" list (Composer 2 writes one, even empty)"
                    .to_owned(),
            ));
        };
        if packages.too_many() {
            return Err(CatalogError::TooManyPackages {
                path: path.to_owned(),
            });
        }
        let mut out = Vec::new();
        let mut skipped = Skipped::default();
        for (i, entry) in packages.0.iter().enumerate() {
            let (name, version) = (entry.name.as_ref(), entry.version.as_ref());
            let (Some(name), Some(version)) = (usable(name), usable(version)) else {
                skipped.note(|| format!("package {}", i + 1), name, version);
                continue;
            };
            out.push(Package::language(
                PackageType::Composer,
                name.to_owned(),
                without_v(version).to_owned(),
                path,
            ));
        }
        warnings.extend(skipped.warning(path, "packages"));
        Ok(out)
    }
}

/// A version without the `v` (or `V`) Composer's normaliser drops before
/// a digit (`v5.4.21` → `5.4.21`); others as written (`dev-main`).
pub fn without_v(version: &str) -> &str {
    match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// One package of the list.
#[derive(Deserialize)]
struct Entry {
    name: Option<Text>,
    version: Option<Text>,
}

/// The package list of either shape; `None` for an object without one.
struct Installed(Option<Entries<Entry>>);

impl<'de> Deserialize<'de> for Installed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Installed, D::Error> {
        d.deserialize_any(InstalledVisitor)
    }
}

struct InstalledVisitor;

impl<'de> Visitor<'de> for InstalledVisitor {
    type Value = Installed;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a list of packages (Composer 1) or an object with a \"packages\" list (Composer 2)",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Installed, A::Error> {
        collect_seq(seq).map(|e| Installed(Some(e)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Installed, A::Error> {
        // As PHP's json_decode, the last of duplicate keys wins.
        let mut packages = None;
        while let Some(key) = map.next_key::<Text>()? {
            if key == Text::Str("packages".to_owned()) {
                packages = Some(map.next_value_seed(Seq)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Installed(packages))
    }
}

/// Reads the `packages` value as [`Entries`].
struct Seq;

impl<'de> de::DeserializeSeed<'de> for Seq {
    type Value = Entries<Entry>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entries<Entry>, D::Error> {
        d.deserialize_seq(EntriesVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::listed;

    /// Composer 2's `installed.json` (2.6), trimmed to two packages.
    const COMPOSER_2: &str = r#"{
    "packages": [
        {
            "name": "monolog/monolog",
            "version": "2.9.2",
            "version_normalized": "2.9.2.0",
            "source": {
                "type": "git",
                "url": "https://github.com/Seldaek/monolog.git",
                "reference": "437cb3628f4cf6042cc10ae97fc2b8472e48ca1f"
            },
            "require": { "php": ">=7.2", "psr/log": "^1.0.1 || ^2.0 || ^3.0" },
            "time": "2023-10-27T15:25:26+00:00",
            "type": "library",
            "installation-source": "dist",
            "autoload": { "psr-4": { "Monolog\\": "src/Monolog" } },
            "license": ["MIT"],
            "install-path": "../monolog/monolog"
        },
        {
            "name": "symfony/console",
            "version": "v5.4.21",
            "version_normalized": "5.4.21.0",
            "type": "library",
            "install-path": "../symfony/console"
        },
        {
            "name": "phpunit/phpunit",
            "version": "dev-main",
            "version_normalized": "dev-main",
            "type": "library",
            "install-path": "../phpunit/phpunit"
        }
    ],
    "dev": true,
    "dev-package-names": ["phpunit/phpunit"]
}"#;

    /// Composer 1's: the list itself.
    const COMPOSER_1: &str = r#"[
    {
        "name": "guzzlehttp/guzzle",
        "version": "6.5.5",
        "version_normalized": "6.5.5.0",
        "type": "library",
        "installation-source": "dist"
    }
]"#;

    fn read(text: &str, w: &mut Vec<CatalogError>) -> Result<Vec<Package>, CatalogError> {
        Composer.read(
            "/var/www/vendor/composer/installed.json",
            text.as_bytes(),
            None,
            w,
        )
    }

    #[test]
    fn installed_json_of_composer_2_and_1() {
        let mut w = Vec::new();
        let got = read(COMPOSER_2, &mut w).unwrap();
        assert_eq!(
            listed(&got),
            [
                (
                    "monolog/monolog",
                    "2.9.2",
                    "pkg:composer/monolog/monolog@2.9.2"
                ),
                (
                    "symfony/console",
                    "5.4.21",
                    "pkg:composer/symfony/console@5.4.21"
                ),
                (
                    "phpunit/phpunit",
                    "dev-main",
                    "pkg:composer/phpunit/phpunit@dev-main"
                ),
            ]
        );
        let got = read(COMPOSER_1, &mut w).unwrap();
        assert_eq!(
            listed(&got),
            [(
                "guzzlehttp/guzzle",
                "6.5.5",
                "pkg:composer/guzzlehttp/guzzle@6.5.5"
            )]
        );
        assert!(
            read(r#"{"packages": [], "dev": false}"#, &mut w)
                .unwrap()
                .is_empty()
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn only_vendor_composer_installed_json_is_wanted() {
        assert!(Composer.wants("var/www/html/vendor/composer/installed.json"));
        assert!(Composer.wants("vendor/composer/installed.json"));
        assert!(!Composer.wants("app/myvendor/composer/installed.json"));
        assert!(!Composer.wants("app/composer.lock"));
        assert!(!Composer.wants("app/vendor/composer/installed.php"));
    }

    #[test]
    fn a_leading_v_before_a_digit_is_dropped() {
        assert_eq!(without_v("v5.4.21"), "5.4.21");
        assert_eq!(without_v("V2.0"), "2.0");
        assert_eq!(without_v("v"), "v");
        assert_eq!(without_v("very-dev"), "very-dev");
        assert_eq!(without_v("1.0"), "1.0");
    }

    #[test]
    fn bad_packages_are_one_warning_and_bad_files_an_error() {
        let mut w = Vec::new();
        let text = r#"{"packages": [{"name": "a/b", "version": "1.0"}, {"name": "c/d", "version": 2}, {"name": ""}, {}]}"#;
        let got = read(text, &mut w).unwrap();
        assert_eq!(listed(&got), [("a/b", "1.0", "pkg:composer/a/b@1.0")]);
        let [CatalogError::Invalid { reason, .. }] = w.as_slice() else {
            panic!("{w:?}");
        };
        assert!(
            reason.starts_with("3 packages without") && reason.contains("version a number"),
            "{reason}"
        );

        for bad in [
            "not json",
            "3",
            r#"{"dev": true}"#,
            r#"{"packages": {"a": 1}}"#,
            r#"[1, 2]"#,
            "{\"packages\": [{\"name\": \"\x1b[2J\", \"version\": [1]}], }",
        ] {
            let e = read(bad, &mut Vec::new()).unwrap_err();
            let CatalogError::Invalid { path, reason } = &e else {
                panic!("{e:?}");
            };
            assert_eq!(path, "/var/www/vendor/composer/installed.json");
            assert!(!reason.contains('\x1b'), "{reason}");
        }
    }

    #[test]
    fn more_than_max_packages_is_refused() {
        let many = format!("[{}{{}}]", "{},".repeat(super::super::MAX_PACKAGES));
        let e = read(&many, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, CatalogError::TooManyPackages { .. }));
    }
}
