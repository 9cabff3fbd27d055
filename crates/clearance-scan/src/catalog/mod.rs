//! Catalogers: package databases in, [`Package`]s out.
//!
//! Each cataloger names the files it needs ([`Cataloger::wants`]); the
//! inventory captures exactly those from each layer and hands the ones
//! visible after a layer to [`Cataloger::catalog`]. A cataloger never sees
//! the rest of the image.

pub mod apk;
pub mod binary;
pub mod cargo;
pub mod composer;
pub mod dotnet;
pub mod dpkg;
pub mod gem;
pub mod java;
pub(crate) mod lenient;
pub mod npm;
pub mod python;
pub mod rpm;

use serde::{Deserialize, Serialize};

use crate::os::Distro;

/// Largest package database file read, in bytes. A Debian image with
/// 2,000 packages has a 3 MiB dpkg `status`; larger files are skipped with
/// a warning instead of held in memory.
pub const MAX_DATABASE_BYTES: u64 = 32 << 20;
/// Most packages one database may list; more is refused as hostile (a
/// full Debian archive is 65,000).
pub const MAX_PACKAGES: usize = 100_000;

/// What kind of package, as the purl spec names its types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    /// A Debian package (dpkg: Debian, Ubuntu, distroless), purl type `deb`.
    Deb,
    /// An Alpine package (apk: Alpine, Wolfi, Chainguard), purl type `apk`.
    Apk,
    /// A Python distribution (`*.dist-info`, `*.egg-info`), purl type `pypi`.
    #[serde(rename = "pypi")]
    Python,
    /// An npm package (`node_modules/**/package.json`, Debian's
    /// `/usr/share/nodejs`), purl type `npm`.
    Npm,
    /// A Rust crate from a registry (`Cargo.lock`, or compiled into a
    /// binary built with cargo-auditable), purl type `cargo`.
    Cargo,
    /// A Go module compiled into a binary, or the standard library of the
    /// toolchain that built it (`stdlib`), purl type `golang`.
    Golang,
    /// A Ruby gem (`specifications/*.gemspec`), purl type `gem`.
    Gem,
    /// A PHP package Composer installed (`vendor/composer/installed.json`),
    /// purl type `composer`.
    Composer,
    /// A NuGet package a .NET application was built with (`*.deps.json`),
    /// purl type `nuget`.
    Nuget,
    /// An rpm package (RHEL, Fedora, SUSE, Amazon Linux), purl type `rpm`.
    Rpm,
    /// A Maven artifact in a Java archive (jar, war, ear), named
    /// `GROUP:ARTIFACT` as OSV's Maven ecosystem names it, purl type
    /// `maven` (the groupId its namespace).
    Maven,
}

impl PackageType {
    /// The purl type (package-url spec, "Known types").
    pub fn purl_type(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Python => "pypi",
            PackageType::Npm => "npm",
            PackageType::Cargo => "cargo",
            PackageType::Golang => "golang",
            PackageType::Gem => "gem",
            PackageType::Composer => "composer",
            PackageType::Nuget => "nuget",
            PackageType::Rpm => "rpm",
            PackageType::Maven => "maven",
        }
    }

    /// Whether this is an operating system's package (dpkg, apk) rather
    /// than a language's.
    pub fn is_os(self) -> bool {
        matches!(self, PackageType::Deb | PackageType::Apk | PackageType::Rpm)
    }
}

impl std::fmt::Display for PackageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.purl_type())
    }
}

/// One installed package, as its database lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The package's name (`libssl3`).
    pub name: String,
    /// Its version as the database writes it (`3.0.11-1~deb12u2`).
    pub version: String,
    #[serde(rename = "type")]
    /// What kind of package.
    pub kind: PackageType,
    /// The architecture the database gives (`amd64`, `x86_64`, `all`).
    pub arch: Option<String>,
    /// The source package it was built from and that source's version:
    /// Debian's `Source:` (advisories name sources), apk's `o:` origin.
    pub source: Option<SourcePackage>,
    /// The package URL (`pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`).
    pub purl: String,
    /// The database file that lists it, as an absolute image path.
    pub path: String,
}

impl Package {
    /// A language package (no architecture, no source package) listed by
    /// the file at `path`.
    pub fn language(kind: PackageType, name: String, version: String, path: &str) -> Package {
        Package {
            purl: purl(kind, None, &name, &version, None),
            name,
            version,
            kind,
            arch: None,
            source: None,
            path: path.to_owned(),
        }
    }
}

/// The source package a binary package was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    /// The source's name (`openssl`).
    pub name: String,
    /// The source's version, when it differs from the binary's (binNMUs,
    /// `Source: glibc (2.36-9)`); otherwise the binary's version.
    pub version: String,
}

/// Why a database could not be read. The rest of the image is still
/// cataloged: the inventory turns this into a warning naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// More packages than [`MAX_PACKAGES`].
    #[error("{path} lists more than {MAX_PACKAGES} packages; refusing it as hostile")]
    TooManyPackages {
        /// The database file.
        path: String,
    },
    /// A metadata file that is not what its format says (invalid JSON, a
    /// version that is not a string); its package is not listed.
    #[error("{path}: {reason}; not listed")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, escaped where it quotes the file.
        reason: String,
    },
    /// A stanza that gives a field twice (dpkg refuses such a database; the
    /// stanza is skipped rather than one value guessed).
    #[error(
        "{path}: the entry at line {line} gives {field} twice; skipped (dpkg refuses such an entry)"
    )]
    DuplicateField {
        /// The database file.
        path: String,
        /// 1-based line where the entry starts.
        line: usize,
        /// The repeated field.
        field: &'static str,
    },
    /// A stanza without a name or version (the others are kept).
    #[error("{path}: the entry at line {line} has no {field}; skipped")]
    MissingField {
        /// The database file.
        path: String,
        /// 1-based line where the entry starts.
        line: usize,
        /// The field it lacks (`Package`, `Version`, `P`, `V`).
        field: &'static str,
    },
}

/// A package database reader.
pub trait Cataloger: Send + Sync {
    /// A short name for messages (`dpkg`).
    fn name(&self) -> &'static str;
    /// Whether the file at this image path (no leading `/`) is one this
    /// cataloger reads.
    fn wants(&self, path: &str) -> bool;
    /// The packages one wanted file lists (`path` absolute). Problems that
    /// leave the rest of the file readable go to `warnings`.
    ///
    /// # Errors
    ///
    /// A [`CatalogError`] when the file cannot be read at all.
    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError>;
}

/// Every cataloger Clearance has.
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(python::Python),
        Box::new(npm::Npm),
        Box::new(cargo::Cargo),
        Box::new(gem::Gem),
        Box::new(composer::Composer),
        Box::new(dotnet::Dotnet),
        Box::new(rpm::Rpm),
    ]
}

/// A package URL (package-url spec): `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`,
/// percent-encoded by the `packageurl` crate. The namespace of an OS
/// package is its distribution's id (`debian`, `alpine`; for rpm `redhat`
/// for `rhel`, see [`rpm::purl_namespace`]), its qualifiers `arch` and
/// `distro` (`debian-12`), and an rpm's epoch `epoch`, as Syft and Trivy
/// write them. A
/// Python name is normalised (PEP 503: lower case, runs of `-_.` as `-`);
/// an npm scope (`@types/node`) and a Composer vendor (`symfony/console`)
/// are the namespace, as is a Maven groupId
/// (`pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1`). A Go module path is split at its last `/` into
/// namespace and name, case kept (`pkg:golang/github.com/Azure/go-autorest@v14.2.0`):
/// namespace and name together are the module path, as osv-scanner writes
/// it (`extractPURLFromGolang`; Syft 1.18 instead cuts after
/// `host/owner/repo` and puts the rest, `v3` of `…/semver/v3`, in a
/// subpath); Go module paths are
/// case-sensitive, and the `packageurl` crate would lower-case the
/// namespace. Language packages carry no distribution.
pub fn purl(
    kind: PackageType,
    distro: Option<&Distro>,
    name: &str,
    version: &str,
    arch: Option<&str>,
) -> String {
    build_purl(kind, distro, name, version, arch, None)
}

/// A package's purl as [`purl`] writes it, with Syft's `upstream`
/// qualifier when an OS package's source differs from it: the source's
/// name (`upstream=gcc-12`), with `@VERSION` when its version differs too
/// (`upstream=glibc@2.36-9`, percent-encoded). An rpm's `upstream` is its
/// source rpm's file name whatever it is (`openssl-3.0.7-24.el9.src.rpm`),
/// and its epoch an `epoch` qualifier, as Syft writes them.
pub fn package_purl(p: &Package, distro: Option<&Distro>) -> String {
    let upstream = p.source.as_ref().and_then(|s| {
        if p.kind == PackageType::Rpm {
            Some(rpm::source_rpm_file(s))
        } else if s.name == p.name && s.version == p.version {
            None
        } else if s.version == p.version {
            Some(s.name.clone())
        } else {
            Some(format!("{}@{}", s.name, s.version))
        }
    });
    build_purl(
        p.kind,
        distro,
        &p.name,
        &p.version,
        p.arch.as_deref(),
        upstream,
    )
}

fn build_purl(
    kind: PackageType,
    distro: Option<&Distro>,
    name: &str,
    version: &str,
    arch: Option<&str>,
    upstream: Option<String>,
) -> String {
    let fallback = || format!("pkg:{}/{name}@{version}", kind.purl_type());
    if kind == PackageType::Golang {
        return golang_purl(name, version);
    }
    let (namespace, name) = match kind {
        PackageType::Deb | PackageType::Apk => (distro.map(|d| d.id.clone()), name.to_owned()),
        PackageType::Rpm => (
            distro.map(|d| rpm::purl_namespace(&d.id).to_owned()),
            name.to_owned(),
        ),
        PackageType::Python => (None, pep503(name)),
        PackageType::Npm => match name.split_once('/') {
            Some((scope, bare)) if scope.starts_with('@') => {
                (Some(scope.to_owned()), bare.to_owned())
            }
            _ => (None, name.to_owned()),
        },
        PackageType::Composer => match name.split_once('/') {
            Some((vendor, bare)) => (Some(vendor.to_owned()), bare.to_owned()),
            None => (None, name.to_owned()),
        },
        PackageType::Maven => match name.split_once(':') {
            Some((group, artifact)) => (Some(group.to_owned()), artifact.to_owned()),
            None => (None, name.to_owned()),
        },
        PackageType::Cargo | PackageType::Gem | PackageType::Nuget | PackageType::Golang => {
            (None, name.to_owned())
        }
    };
    let os = kind.is_os();
    // An rpm epoch is a qualifier (purl-spec, type `rpm`).
    let (epoch, version) = match kind {
        PackageType::Rpm => rpm::split_epoch(version),
        _ => (None, version),
    };
    let Ok(mut purl) = packageurl::PackageUrl::new(kind.purl_type(), name) else {
        return fallback();
    };
    if let Some(namespace) = namespace
        && purl.with_namespace(namespace).is_err()
    {
        return fallback();
    }
    if purl.with_version(version.to_owned()).is_err() {
        return fallback();
    }
    if let Some(arch) = arch.filter(|_| os)
        && purl.add_qualifier("arch", arch.to_owned()).is_err()
    {
        return fallback();
    }
    if let Some(epoch) = epoch
        && purl.add_qualifier("epoch", epoch.to_owned()).is_err()
    {
        return fallback();
    }
    if let Some(upstream) = upstream.filter(|_| os)
        && purl.add_qualifier("upstream", upstream).is_err()
    {
        return fallback();
    }
    if let Some(d) = distro.filter(|_| os)
        && purl.add_qualifier("distro", d.purl_qualifier()).is_err()
    {
        return fallback();
    }
    purl.to_string()
}

/// `pkg:golang/NAMESPACE/NAME@VERSION` for a Go module path (or `stdlib`),
/// each part percent-encoded as the `packageurl` crate encodes it, without
/// changing case.
fn golang_purl(path: &str, version: &str) -> String {
    // purl-spec: percent-encode what is not allowed in a segment; `/`
    // separates the namespace's segments and is encoded inside the name.
    fn encode(out: &mut String, text: &str, slash: bool) {
        for b in text.bytes() {
            // The `packageurl` crate's set: controls, non-ASCII, space and
            // `"#%<>`?{};=+@\\[]^|` (and `/` in a name).
            let plain = b.is_ascii_graphic()
                && !b"\"#%<>`?{};=+@\\[]^|".contains(&b)
                && (slash || b != b'/');
            if plain {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::from("pkg:golang/");
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    if !namespace.is_empty() {
        encode(&mut out, namespace, true);
        out.push('/');
    }
    encode(&mut out, name, false);
    if !version.is_empty() {
        out.push('@');
        encode(&mut out, version, false);
    }
    out
}

/// A Python project name as PEP 503 normalises it: lower case, each run of
/// `-`, `_` and `.` one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !run {
                out.push('-');
            }
            run = true;
        } else {
            out.extend(c.to_lowercase());
            run = false;
        }
    }
    out
}

/// Text from a file for a message: at most 64 characters, quoted and
/// escaped (control characters, quotes).
pub(crate) fn quoted(text: &str) -> String {
    let cut: String = text.chars().take(64).collect();
    format!("{cut:?}")
}

/// A parser's error message for a warning: control and other unprintable
/// characters escaped (a message may quote the file), at most 200
/// characters.
pub(crate) fn escaped_message(message: &str) -> String {
    let mut out = String::new();
    for (i, c) in message.chars().enumerate() {
        if i == 200 {
            out.push('…');
            break;
        }
        match c {
            '"' | '\'' | '\\' => out.push(c),
            c => out.extend(c.escape_debug()),
        }
    }
    out
}

/// Why a JSON file is not what its format says: serde_json's message,
/// escaped and cut, and where.
pub(crate) fn json_reason(what: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    format!("not a valid {what}: {}{position}", escaped_message(message))
}

/// Stanzas of a Debian-control-style file (dpkg `status`, apk `installed`):
/// blocks separated by blank lines, each with the 1-based line it starts
/// on. At most [`MAX_PACKAGES`] + 1 are produced, so a caller can tell
/// "too many" without reading them all.
pub(crate) fn stanzas(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    let mut lines = text.lines().enumerate().peekable();
    std::iter::from_fn(move || {
        while lines.peek().is_some_and(|(_, l)| l.trim().is_empty()) {
            lines.next();
        }
        let (start, _) = *lines.peek()?;
        let mut block = Vec::new();
        while let Some((_, line)) = lines.next_if(|(_, l)| !l.trim().is_empty()) {
            block.push(line);
        }
        Some((start + 1, block))
    })
    .take(MAX_PACKAGES + 1)
}

/// Each package's (name, version, purl), for the catalogers' tests.
#[cfg(test)]
pub(crate) fn listed(got: &[Package]) -> Vec<(&str, &str, &str)> {
    got.iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_name_the_distribution_and_are_percent_encoded() {
        let debian = crate::os::parse_os_release(b"ID=debian\nVERSION_ID=12\n", "etc/os-release");
        assert_eq!(
            purl(
                PackageType::Deb,
                debian.as_ref(),
                "libstdc++6",
                "12.2.0-14+deb12u1",
                Some("amd64")
            ),
            "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl(PackageType::Apk, None, "musl", "1.2.4-r2", None),
            "pkg:apk/musl@1.2.4-r2"
        );
    }

    #[test]
    fn language_purls_and_type_names() {
        let cases = [
            (
                PackageType::Cargo,
                "serde",
                "1.0.193",
                "pkg:cargo/serde@1.0.193",
            ),
            (PackageType::Gem, "rack", "2.2.8", "pkg:gem/rack@2.2.8"),
            (
                PackageType::Composer,
                "symfony/console",
                "5.4.21",
                "pkg:composer/symfony/console@5.4.21",
            ),
            // Composer names are case-insensitive; the purl is lower case.
            (
                PackageType::Composer,
                "Vendor/Name",
                "1.0",
                "pkg:composer/vendor/name@1.0",
            ),
            (
                PackageType::Nuget,
                "Newtonsoft.Json",
                "13.0.3",
                "pkg:nuget/Newtonsoft.Json@13.0.3",
            ),
        ];
        for (kind, name, version, want) in cases {
            assert_eq!(purl(kind, None, name, version, None), want);
            // The SBOM's `type` is the purl type.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.purl_type().to_owned())
            );
            assert!(!kind.is_os());
        }
        assert!(PackageType::Deb.is_os() && PackageType::Apk.is_os());
    }

    #[test]
    fn escaped_messages_cut_and_escape() {
        assert_eq!(escaped_message("a \"b\"\n\x1b[2J"), "a \"b\"\\n\\u{1b}[2J");
        let long = "x".repeat(500);
        assert_eq!(escaped_message(&long).chars().count(), 201);
    }

    #[test]
    fn stanzas_are_split_on_blank_lines_with_their_first_line() {
        let text = "\n\nA: 1\nB: 2\n\n \nC: 3\n";
        let got: Vec<_> = stanzas(text).collect();
        assert_eq!(got, [(3, vec!["A: 1", "B: 2"]), (7, vec!["C: 3"])]);
    }
}
