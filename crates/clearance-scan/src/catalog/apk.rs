//! apk's database, `/lib/apk/db/installed` (Alpine, Wolfi, Chainguard).
//!
//! apk-tools' "installed database" format (apk-tools `src/database.c`,
//! `apk_db_index_read`): stanzas separated by blank lines, one field per
//! line as a single-letter key, a colon and the value: `P` name, `V`
//! version, `A` architecture, `o` origin (the source package), `F`/`R`
//! the directories and files it installed.

use super::{CatalogError, Cataloger, MAX_PACKAGES, Package, PackageType, SourcePackage, purl};
use crate::os::Distro;

/// apk's installed database.
pub const INSTALLED: &str = "lib/apk/db/installed";
/// Where merged-`/usr` images (Wolfi, Chainguard) keep it, `/lib` being a
/// link to `usr/lib`.
pub const INSTALLED_USR: &str = "usr/lib/apk/db/installed";

/// The apk cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Apk;

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, path: &str) -> bool {
        path == INSTALLED || path == INSTALLED_USR
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        parse(bytes, path, distro, warnings)
    }
}

/// The files an `installed` database lists (`F:` directory, then its `R:`
/// files), each with the package that owns it, as image paths without the
/// leading `/`.
pub fn owned_files(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for (_, stanza) in super::stanzas(&text) {
        let mut name = "";
        let mut dir = "";
        for line in stanza {
            match line.split_at_checked(2) {
                Some(("P:", v)) => name = v.trim(),
                Some(("F:", v)) => dir = v.trim(),
                Some(("R:", file)) if !name.is_empty() => {
                    let file = file.trim();
                    out.push((
                        if dir.is_empty() {
                            file.to_owned()
                        } else {
                            format!("{dir}/{file}")
                        },
                        name.to_owned(),
                    ));
                }
                _ => {}
            }
        }
    }
    out
}

/// The packages of one `installed` file.
///
/// # Errors
///
/// [`CatalogError::TooManyPackages`] past [`MAX_PACKAGES`] stanzas. A
/// stanza without `P` or `V` is a warning and skipped.
pub fn parse(
    bytes: &[u8],
    path: &str,
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
        let field = |key: char| {
            stanza.iter().find_map(|l| {
                let mut chars = l.chars();
                (chars.next() == Some(key) && chars.next() == Some(':'))
                    .then(|| l[2..].trim())
                    .filter(|v| !v.is_empty())
            })
        };
        let missing = |field| CatalogError::MissingField {
            path: path.to_owned(),
            line,
            field,
        };
        let Some(name) = field('P') else {
            warnings.push(missing("P"));
            continue;
        };
        let Some(version) = field('V') else {
            warnings.push(missing("V"));
            continue;
        };
        let arch = field('A');
        packages.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            kind: PackageType::Apk,
            arch: arch.map(str::to_owned),
            source: field('o').map(|origin| SourcePackage {
                name: origin.to_owned(),
                version: version.to_owned(),
            }),
            purl: purl(PackageType::Apk, distro, name, version, arch),
            path: path.to_owned(),
        });
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_with_their_origin() {
        let installed = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\nP:nameless-version\n";
        let mut warnings = Vec::new();
        let got = parse(installed, "/lib/apk/db/installed", None, &mut warnings).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, [("musl", "1.2.4-r2"), ("libcrypto3", "3.1.4-r5")]);
        assert_eq!(got[1].source.as_ref().unwrap().name, "openssl");
        assert_eq!(got[0].arch.as_deref(), Some("x86_64"));
        assert!(matches!(
            warnings.as_slice(),
            [CatalogError::MissingField {
                field: "V",
                line: 17,
                ..
            }]
        ));
    }
}
