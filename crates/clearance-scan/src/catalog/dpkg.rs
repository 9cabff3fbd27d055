//! dpkg's database: `/var/lib/dpkg/status` (Debian, Ubuntu) and, in
//! distroless images, one file per package under `/var/lib/dpkg/status.d/`.
//!
//! Both are deb822 control stanzas (`deb-control(5)`, `dpkg(1)` "FILES"):
//! `Field: value`, continuation lines starting with a space or tab, stanzas
//! separated by blank lines. A package's files are on disk unless its
//! `Status` field's third word is `not-installed` or `config-files`;
//! status.d files have no `Status` and list only installed packages.

use super::{CatalogError, Cataloger, MAX_PACKAGES, Package, PackageType, SourcePackage, purl};
use crate::os::Distro;

/// dpkg's status file.
pub const STATUS: &str = "var/lib/dpkg/status";
/// distroless's directory of per-package status files.
pub const STATUS_D: &str = "var/lib/dpkg/status.d/";
/// dpkg's per-package file lists: `info/NAME.list` or `info/NAME:ARCH.list`,
/// one absolute path per line (`dpkg -L`).
pub const INFO: &str = "var/lib/dpkg/info/";

/// The dpkg cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Dpkg;

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn wants(&self, path: &str) -> bool {
        path == STATUS
            || path.strip_prefix(STATUS_D).is_some_and(|name| {
                // `NAME.md5sums` beside each entry lists file hashes.
                !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums")
            })
            || is_file_list(path)
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        // File lists name no packages; the inventory reads them for
        // ownership (see `owned_files`).
        if is_file_list(path.strip_prefix('/').unwrap_or(path)) {
            return Ok(Vec::new());
        }
        let in_status_d = path.starts_with(&format!("/{STATUS_D}"));
        parse(bytes, path, !in_status_d, distro, warnings)
    }
}

/// Whether an image path (no leading `/`) is a dpkg file list.
pub fn is_file_list(path: &str) -> bool {
    path.strip_prefix(INFO)
        .is_some_and(|name| name.len() > 5 && !name.contains('/') && name.ends_with(".list"))
}

/// The files a dpkg file list names, with the package that owns them
/// (`info/libc6:amd64.list` → `libc6`). `path` is the list's absolute path.
pub fn owned_files<'a>(
    path: &'a str,
    bytes: &'a [u8],
) -> impl Iterator<Item = (String, &'a str)> + 'a {
    let name = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".list"))
        .map(|f| f.split(':').next().unwrap_or(f))
        .unwrap_or("");
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter(|line| line.starts_with('/') && line.len() > 1)
        .map(move |line| (line[1..].to_owned(), name))
}

/// The packages of one status file whose files are on disk. `needs_status`:
/// only stanzas whose `Status` leaves files on disk count (the main status
/// file); status.d files list installed packages without one.
///
/// # Errors
///
/// [`CatalogError::TooManyPackages`] past [`MAX_PACKAGES`] stanzas. A
/// stanza without `Package` or `Version` is a warning and skipped.
pub fn parse(
    bytes: &[u8],
    path: &str,
    needs_status: bool,
    distro: Option<&Distro>,
    warnings: &mut Vec<CatalogError>,
) -> Result<Vec<Package>, CatalogError> {
    let text = String::from_utf8_lossy(bytes);
    let mut packages = Vec::new();
    for (count, (line, stanza)) in super::stanzas(&text).enumerate() {
        if count >= MAX_PACKAGES {
            return Err(CatalogError::TooManyPackages {
                path: path.to_owned(),
            });
        }
        let fields = Fields(&stanza);
        // `Status: WANT FLAG STATE` (dpkg(1) "Package states"): every state
        // but not-installed and config-files leaves the package's files on
        // disk (unpacked, half-installed, half-configured and the trigger
        // states too), so each counts.
        if needs_status
            && fields.get("Status").is_none_or(|s| {
                matches!(
                    s.split_whitespace().nth(2),
                    None | Some("not-installed" | "config-files")
                )
            })
        {
            continue;
        }
        let missing = |field| CatalogError::MissingField {
            path: path.to_owned(),
            line,
            field,
        };
        if let Some(field) = ["Package", "Version", "Source", "Architecture", "Status"]
            .into_iter()
            .find(|f| fields.count(f) > 1)
        {
            warnings.push(CatalogError::DuplicateField {
                path: path.to_owned(),
                line,
                field,
            });
            continue;
        }
        let Some(name) = fields.get("Package") else {
            warnings.push(missing("Package"));
            continue;
        };
        let Some(version) = fields.get("Version") else {
            warnings.push(missing("Version"));
            continue;
        };
        let arch = fields.get("Architecture");
        // `Source: NAME` or `Source: NAME (VERSION)` (deb-control(5)).
        let source = fields.get("Source").map(|s| match s.split_once(' ') {
            Some((n, v)) => SourcePackage {
                name: n.to_owned(),
                version: v
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim()
                    .to_owned(),
            },
            None => SourcePackage {
                name: s.to_owned(),
                version: version.to_owned(),
            },
        });
        packages.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            kind: PackageType::Deb,
            arch: arch.map(str::to_owned),
            source,
            purl: purl(PackageType::Deb, distro, name, version, arch),
            path: path.to_owned(),
        });
    }
    Ok(packages)
}

/// The simple fields of one stanza (the first line of each; continuation
/// lines belong to multi-line fields such as `Description`, not needed).
struct Fields<'a, 'b>(&'b [&'a str]);

impl<'a> Fields<'a, '_> {
    /// How many lines give this field.
    fn count(&self, name: &str) -> usize {
        self.0
            .iter()
            .filter(|line| {
                !line.starts_with([' ', '\t'])
                    && line
                        .split_once(':')
                        .is_some_and(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .count()
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            // Field names are case-insensitive (deb822(5)).
            (!line.starts_with([' ', '\t']) && key.eq_ignore_ascii_case(name))
                .then(|| value.trim())
                .filter(|v| !v.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_FILE: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1

Package: broken
Status: install ok installed

Package: unpacked-only
Status: install ok unpacked
Version: 2.0

Package: triggered
Status: install ok triggers-pending
Version: 3.0

Package: gone
Status: purge ok not-installed
Version: 4.0
";

    #[test]
    fn installed_packages_with_their_sources() {
        let mut warnings = Vec::new();
        let got = parse(
            STATUS_FILE.as_bytes(),
            "/var/lib/dpkg/status",
            true,
            None,
            &mut warnings,
        )
        .unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("libc6", "2.36-9+deb12u4"),
                ("libssl3", "3.0.11-1~deb12u2+b1"),
                // Unpacked and trigger-pending packages have their files on disk.
                ("unpacked-only", "2.0"),
                ("triggered", "3.0")
            ]
        );
        let glibc = got[0].source.as_ref().unwrap();
        assert_eq!(
            (glibc.name.as_str(), glibc.version.as_str()),
            ("glibc", "2.36-9+deb12u4")
        );
        let openssl = got[1].source.as_ref().unwrap();
        assert_eq!(
            (openssl.name.as_str(), openssl.version.as_str()),
            ("openssl", "3.0.11-1~deb12u2")
        );
        assert_eq!(
            warnings,
            [CatalogError::MissingField {
                path: "/var/lib/dpkg/status".into(),
                line: 23,
                field: "Version"
            }]
        );
    }

    #[test]
    fn status_d_files_need_no_status_and_md5sums_are_not_databases() {
        let dpkg = Dpkg;
        assert!(dpkg.wants("var/lib/dpkg/status"));
        assert!(dpkg.wants("var/lib/dpkg/status.d/base"));
        assert!(!dpkg.wants("var/lib/dpkg/status.d/base.md5sums"));
        assert!(!dpkg.wants("var/lib/dpkg/status.d/x/y"));
        assert!(!dpkg.wants("var/lib/dpkg/status-old"));
        let mut warnings = Vec::new();
        let got = dpkg
            .read(
                "/var/lib/dpkg/status.d/tzdata",
                b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
                None,
                &mut warnings,
            )
            .unwrap();
        assert_eq!(got.len(), 1);
        assert!(warnings.is_empty());
    }

    #[test]
    fn an_entry_giving_a_field_twice_is_skipped_and_named() {
        let text = b"Package: a\nPackage: b\nStatus: install ok installed\nVersion: 1\n\nPackage: c\nStatus: install ok installed\nVersion: 2\n";
        let mut warnings = Vec::new();
        let got = parse(text, "/s", true, None, &mut warnings).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "c");
        assert_eq!(
            warnings,
            [CatalogError::DuplicateField {
                path: "/s".into(),
                line: 1,
                field: "Package"
            }]
        );
    }

    #[test]
    fn too_many_stanzas_are_refused_not_held() {
        let text = "Package: a\nVersion: 1\n\n".repeat(MAX_PACKAGES + 1);
        let err = parse(text.as_bytes(), "/s", false, None, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CatalogError::TooManyPackages { .. }));
    }
}
