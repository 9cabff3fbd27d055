//! rpm's database (RHEL and UBI, AlmaLinux, Rocky, CentOS Stream, Fedora,
//! Amazon Linux, openSUSE, Mariner/Azure Linux): one header per installed
//! package, read from the database file in memory.
//!
//! - `rpmdb.sqlite` (rpm ≥ 4.16: RHEL 9, Fedora ≥ 33, openSUSE), in
//!   `/var/lib/rpm` or `/usr/lib/sysimage/rpm`: the `blob` column of table
//!   `Packages`, read by [`sqlite`];
//! - `Packages`, a Berkeley DB hash database (RHEL and CentOS ≤ 8, Amazon
//!   Linux 2), read by [`bdb`];
//! - `Packages.db`, rpm's NDB format (SUSE), read by [`ndb`].
//!
//! The format is told by the file's magic, not its name.
//!
//! Each header ([`header`]) gives NAME, VERSION, RELEASE, EPOCH, ARCH,
//! SOURCERPM and the file list. The version is written as rpm and Syft
//! write it, `EPOCH:VERSION-RELEASE` with the epoch only when the package
//! sets one. `gpg-pubkey` entries are imported signing keys, not packages,
//! and are skipped as Syft skips them.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use std::borrow::Cow;

use super::{CatalogError, Cataloger, MAX_PACKAGES, Package, PackageType, SourcePackage, purl};
use crate::os::Distro;
use header::{Header, tag};

/// The database files read, as image paths without the leading `/`: in
/// rpm's classic directory, the `/usr` one (Fedora ≥ 36, openSUSE), and
/// `/usr/share/rpm`, which Syft also reads.
pub const DATABASES: [&str; 9] = [
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/share/rpm/rpmdb.sqlite",
    "usr/share/rpm/Packages",
    "usr/share/rpm/Packages.db",
];

/// The rpm cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Rpm;

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, path: &str) -> bool {
        DATABASES.contains(&path)
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

/// A header as a database stores it, with a label for messages (`row 12`,
/// `package 7`); borrowed from the file unless it spans pages.
pub type Stored<'a> = (String, Cow<'a, [u8]>);

/// The headers a database file holds, each with a label for messages.
///
/// # Errors
///
/// [`CatalogError::Invalid`] naming the file when it is not a database
/// rpm writes or is truncated or corrupt; [`CatalogError::TooManyPackages`]
/// past [`MAX_PACKAGES`].
pub fn headers<'a>(bytes: &'a [u8], path: &str) -> Result<Vec<Stored<'a>>, CatalogError> {
    let invalid = |reason: String| CatalogError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let too_many = || CatalogError::TooManyPackages {
        path: path.to_owned(),
    };
    if bytes.starts_with(b"SQLite format 3\0") {
        match sqlite::table_blobs(bytes, "Packages", 1, MAX_PACKAGES) {
            Ok(rows) => Ok(rows
                .into_iter()
                .map(|r| (format!("row {}", r.rowid), r.blob))
                .collect()),
            Err(sqlite::SqliteError::TooManyRows(_)) => Err(too_many()),
            Err(e) => Err(invalid(format!("rpm sqlite database: {e}"))),
        }
    } else if bytes.starts_with(ndb::MAGIC) {
        match ndb::blobs(bytes, MAX_PACKAGES) {
            Ok(blobs) => Ok(blobs
                .into_iter()
                .map(|(n, b)| (format!("package {n}"), Cow::Borrowed(b)))
                .collect()),
            Err(ndb::NdbError::TooManyBlobs(_)) => Err(too_many()),
            Err(e) => Err(invalid(format!("rpm NDB database: {e}"))),
        }
    } else if bdb::is_bdb(bytes) {
        match bdb::values(bytes, MAX_PACKAGES) {
            Ok(values) => Ok(values
                .into_iter()
                .map(|(n, b)| (format!("package {n}"), b))
                .collect()),
            Err(bdb::BdbError::TooManyValues(_)) => Err(too_many()),
            Err(e) => Err(invalid(format!("rpm Berkeley DB database: {e}"))),
        }
    } else {
        Err(invalid(
            "not an rpm database (neither SQLite, Berkeley DB hash nor NDB)".to_owned(),
        ))
    }
}

/// The packages of one rpm database file.
///
/// # Errors
///
/// As [`headers`]. A header that cannot be read, or has no name or
/// version, is a warning and skipped.
pub fn parse(
    bytes: &[u8],
    path: &str,
    distro: Option<&Distro>,
    warnings: &mut Vec<CatalogError>,
) -> Result<Vec<Package>, CatalogError> {
    let mut packages = Vec::new();
    for (label, blob) in headers(bytes, path)? {
        match package(&blob, path, distro) {
            Ok(Some(p)) => packages.push(p),
            Ok(None) => {}
            Err(reason) => warnings.push(CatalogError::Invalid {
                path: path.to_owned(),
                reason: format!("{label}: {reason}"),
            }),
        }
    }
    Ok(packages)
}

/// The package one header describes; `None` for a `gpg-pubkey` entry.
fn package(blob: &[u8], path: &str, distro: Option<&Distro>) -> Result<Option<Package>, String> {
    let header = Header::parse(blob).map_err(|e| e.to_string())?;
    let string = |t| header.string(t).map_err(|e| e.to_string());
    let name = string(tag::NAME)?
        .filter(|n| !n.is_empty())
        .ok_or("no NAME")?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = string(tag::VERSION)?
        .filter(|v| !v.is_empty())
        .ok_or("no VERSION")?;
    let release = string(tag::RELEASE)?.ok_or("no RELEASE")?;
    let epoch = match header.int32s(tag::EPOCH).map_err(|e| e.to_string())? {
        None => None,
        Some(values) => Some(*values.first().ok_or("EPOCH without a value")?),
    };
    let epoch_prefix = epoch.map(|e| format!("{e}:")).unwrap_or_default();
    let version = format!("{epoch_prefix}{version}-{release}");
    let arch = string(tag::ARCH)?.filter(|a| !a.is_empty());
    let source = string(tag::SOURCERPM)?
        .as_deref()
        .and_then(source_rpm)
        .map(|(name, version)| SourcePackage {
            name: name.to_owned(),
            // The source shares the binary's epoch (the file name has
            // none), as Grype's matcher assumes.
            version: format!("{epoch_prefix}{version}"),
        });
    Ok(Some(Package {
        purl: purl(PackageType::Rpm, distro, &name, &version, arch.as_deref()),
        name,
        version,
        kind: PackageType::Rpm,
        arch,
        source,
        path: path.to_owned(),
    }))
}

/// A source rpm's name and `VERSION-RELEASE` from its file name
/// (`openssl-3.0.7-24.el9.src.rpm` → `openssl`, `3.0.7-24.el9`): the name
/// may hold dashes, version and release may not.
pub fn source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty() && !release.is_empty())
        .then(|| (name, &stem[name.len() + 1..]))
}

/// The purl namespace of an rpm distribution, as Syft writes it: Red Hat's
/// `rhel` is `redhat`, every openSUSE flavour `opensuse`; others keep their
/// os-release `ID` (`fedora`, `rocky`, `almalinux`, `amzn`).
pub fn purl_namespace(id: &str) -> &str {
    if id == "rhel" {
        "redhat"
    } else if id.starts_with("opensuse") {
        "opensuse"
    } else {
        id
    }
}

/// An rpm version split into its epoch and the rest (`1:3.0.7-24.el9` →
/// `Some("1")`, `3.0.7-24.el9`): the purl spec puts the epoch in an
/// `epoch` qualifier, not in the version.
pub fn split_epoch(version: &str) -> (Option<&str>, &str) {
    match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(epoch), rest)
        }
        _ => (None, version),
    }
}

/// The source rpm's file name a source package stands for, as Syft's
/// `upstream` qualifier gives it (`openssl-3.0.7-24.el9.src.rpm`).
pub fn source_rpm_file(source: &SourcePackage) -> String {
    format!("{}-{}.src.rpm", source.name, split_epoch(&source.version).1)
}

/// The files an rpm database's packages install for which `wanted` holds,
/// each with the package that owns it, as image paths without the leading
/// `/`. Headers that cannot be read are passed over (the cataloger warns
/// about them).
pub fn owned_files(
    path: &str,
    bytes: &[u8],
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(headers) = headers(bytes, path) else {
        return out;
    };
    for (_, blob) in headers {
        let Ok(header) = Header::parse(&blob) else {
            continue;
        };
        let Ok(Some(name)) = header.string(tag::NAME) else {
            continue;
        };
        for file in files(&header) {
            let file = file.strip_prefix('/').unwrap_or(&file);
            if wanted(file) {
                out.push((file.to_owned(), name.clone()));
            }
        }
    }
    out
}

/// A header's file list: BASENAMES each joined to DIRNAMES[DIRINDEXES[i]],
/// or OLDFILENAMES in headers from before rpm 4. Empty when the lists are
/// missing or disagree.
fn files(header: &Header<'_>) -> Vec<String> {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if let Ok(Some(base)) = header.strings(tag::BASENAMES) {
        let (Ok(Some(dirs)), Ok(Some(index))) = (
            header.strings(tag::DIRNAMES),
            header.int32s(tag::DIRINDEXES),
        ) else {
            return Vec::new();
        };
        if index.len() != base.len() {
            return Vec::new();
        }
        return base
            .iter()
            .zip(index)
            .filter_map(|(b, i)| {
                let dir = dirs.get(i as usize)?;
                Some(format!("{}{}", lossy(dir), lossy(b)))
            })
            .collect();
    }
    match header.strings(tag::OLDFILENAMES) {
        Ok(Some(names)) => names.into_iter().map(lossy).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::header::tests::blob;
    use super::*;

    const STRING: u32 = 6;
    const INT32: u32 = 4;
    const STRING_ARRAY: u32 = 8;

    #[test]
    fn source_rpm_names_split_at_the_last_two_dashes() {
        assert_eq!(
            source_rpm("openssl-3.0.7-24.el9.src.rpm"),
            Some(("openssl", "3.0.7-24.el9"))
        );
        assert_eq!(
            source_rpm("python-setuptools-53.0.0-12.el9.src.rpm"),
            Some(("python-setuptools", "53.0.0-12.el9"))
        );
        assert_eq!(
            source_rpm("glibc-2.34-100.el9_4.2.nosrc.rpm"),
            Some(("glibc", "2.34-100.el9_4.2"))
        );
        assert_eq!(source_rpm("openssl-3.0.7.src.rpm"), None);
        assert_eq!(source_rpm("-1-2.src.rpm"), None);
        assert_eq!(source_rpm("openssl-3.0.7-24.el9.tar.gz"), None);
    }

    #[test]
    fn epochs_come_off_the_version_for_the_purl() {
        assert_eq!(split_epoch("1:3.0.7-24.el9"), (Some("1"), "3.0.7-24.el9"));
        assert_eq!(split_epoch("3.0.7-24.el9"), (None, "3.0.7-24.el9"));
        assert_eq!(split_epoch("x:1-2"), (None, "x:1-2"));
        assert_eq!(purl_namespace("rhel"), "redhat");
        assert_eq!(purl_namespace("opensuse-leap"), "opensuse");
        assert_eq!(purl_namespace("rocky"), "rocky");
    }

    #[test]
    fn a_header_becomes_a_package_with_epoch_source_and_purl() {
        let rocky = crate::os::parse_os_release(b"ID=rocky\nVERSION_ID=9.3\n", "etc/os-release");
        let b = blob(&[
            (tag::NAME, STRING, b"openssl\0", 1),
            (tag::VERSION, STRING, b"3.0.7\0", 1),
            (tag::RELEASE, STRING, b"24.el9\0", 1),
            (tag::EPOCH, INT32, &1u32.to_be_bytes(), 1),
            (tag::ARCH, STRING, b"x86_64\0", 1),
            (tag::SOURCERPM, STRING, b"openssl-3.0.7-24.el9.src.rpm\0", 1),
        ]);
        let p = package(&b, "/var/lib/rpm/rpmdb.sqlite", rocky.as_ref())
            .unwrap()
            .unwrap();
        assert_eq!(p.version, "1:3.0.7-24.el9");
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            p.source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: "1:3.0.7-24.el9".into()
            })
        );
        assert_eq!(
            super::super::package_purl(&p, rocky.as_ref()),
            "pkg:rpm/rocky/openssl@3.0.7-24.el9?arch=x86_64&distro=rocky-9.3&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm"
        );
    }

    #[test]
    fn gpg_keys_are_skipped_and_bad_headers_explained() {
        let key = blob(&[
            (tag::NAME, STRING, b"gpg-pubkey\0", 1),
            (tag::VERSION, STRING, b"fd431d51\0", 1),
            (tag::RELEASE, STRING, b"4ae0493b\0", 1),
        ]);
        assert_eq!(package(&key, "/db", None), Ok(None));
        let nameless = blob(&[(tag::VERSION, STRING, b"1\0", 1)]);
        assert_eq!(package(&nameless, "/db", None), Err("no NAME".into()));
        assert!(
            package(&[0, 0], "/db", None)
                .unwrap_err()
                .contains("shorter")
        );
    }

    fn header_of(name: &str, files: usize) -> Vec<u8> {
        let base: Vec<u8> = (0..files)
            .flat_map(|i| format!("f{i}\0").into_bytes())
            .collect();
        let index = vec![0u8; 4 * files];
        blob(&[
            (tag::NAME, STRING, format!("{name}\0").as_bytes(), 1),
            (tag::VERSION, STRING, b"1.0\0", 1),
            (tag::RELEASE, STRING, b"1\0", 1),
            (tag::DIRINDEXES, INT32, &index, files as u32),
            (tag::BASENAMES, STRING_ARRAY, &base, files as u32),
            (tag::DIRNAMES, STRING_ARRAY, b"/usr/share/\0", 1),
        ])
    }

    /// Berkeley DB (one header inline, one on overflow pages, rpm's key
    /// 0) and NDB files are told by their magic and read alike.
    #[test]
    fn berkeley_db_and_ndb_databases_are_read_by_their_magic() {
        let small = header_of("small", 1);
        let big = header_of("big", 500);
        for (what, file) in [
            ("bdb", bdb::tests::database(&[&small, &big])),
            ("ndb", ndb::tests::database(&[&small, &big])),
        ] {
            let mut warnings = Vec::new();
            let packages = parse(&file, "/var/lib/rpm/Packages", None, &mut warnings).unwrap();
            assert_eq!(warnings, [], "{what}");
            let names: Vec<_> = packages
                .iter()
                .map(|p| (p.name.as_str(), p.version.as_str()))
                .collect();
            assert_eq!(names, [("small", "1.0-1"), ("big", "1.0-1")], "{what}");
            let owned = owned_files("/var/lib/rpm/Packages", &file, |f| f.ends_with("f499"));
            assert_eq!(
                owned,
                [("usr/share/f499".to_owned(), "big".to_owned())],
                "{what}"
            );
        }
        let mut warnings = Vec::new();
        assert!(matches!(
            parse(b"garbage", "/var/lib/rpm/Packages", None, &mut warnings),
            Err(CatalogError::Invalid { path, reason })
                if path == "/var/lib/rpm/Packages" && reason.starts_with("not an rpm database")
        ));
    }

    #[test]
    fn file_lists_join_directories_and_base_names() {
        let b = blob(&[
            (tag::NAME, STRING, b"x\0", 1),
            (tag::DIRINDEXES, INT32, &[0, 0, 0, 1, 0, 0, 0, 0], 2),
            (tag::BASENAMES, STRING_ARRAY, b"METADATA\0x\0", 2),
            (
                tag::DIRNAMES,
                STRING_ARRAY,
                b"/usr/bin/\0/usr/lib/x.dist-info/\0",
                2,
            ),
        ]);
        let h = Header::parse(&b).unwrap();
        assert_eq!(files(&h), ["/usr/lib/x.dist-info/METADATA", "/usr/bin/x"]);
        // An index past DIRNAMES drops that file only.
        let b = blob(&[
            (tag::DIRINDEXES, INT32, &[0, 0, 0, 9], 1),
            (tag::BASENAMES, STRING_ARRAY, b"a\0", 1),
            (tag::DIRNAMES, STRING_ARRAY, b"/\0", 1),
        ]);
        assert!(files(&Header::parse(&b).unwrap()).is_empty());
        let b = blob(&[(tag::OLDFILENAMES, STRING_ARRAY, b"/etc/x\0", 1)]);
        assert_eq!(files(&Header::parse(&b).unwrap()), ["/etc/x"]);
    }
}
