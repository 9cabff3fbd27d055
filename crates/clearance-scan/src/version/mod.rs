//! Package versions, each ordered by its own ecosystem's rules.
//!
//! A [`Version`] is parsed once, for one [`Ecosystem`], and compared only with
//! versions of the same ecosystem ([`Version::compare`] refuses the rest). No
//! generic "looks like semver" comparer is used anywhere: each ecosystem's order
//! is the one its own tool implements, and each scheme's module cites it.
//!
//! | ecosystems | scheme | implementation |
//! |---|---|---|
//! | Debian, Ubuntu | dpkg, deb-version(7) | [`dpkg`] (own, ~100 lines) |
//! | Alpine, Wolfi, Chainguard | apk-tools `src/version.c` | [`apk`] (own) |
//! | AlmaLinux, Rocky Linux, Red Hat, openSUSE, SUSE | rpmvercmp | `rpm-version` crate |
//! | PyPI | PEP 440 | `pep440_rs` crate |
//! | crates.io | SemVer 2.0 §11 | `semver` crate, `cmp_precedence` |
//! | Go | Go module reference, "Pseudo-versions" | [`go`] over `semver` |
//! | npm | node-semver (loose) | [`npm`] over `semver` |
//! | Maven | POM reference "Version Order Specification" (ComparableVersion) | [`maven`] (own) |
//! | RubyGems | `Gem::Version` | [`rubygems`] (own) |
//! | NuGet | NuGet "Package versioning" | [`nuget`] (own) |
//! | Packagist | Composer `VersionParser::normalize` + PHP `version_compare` | [`composer`] (own) |
//!
//! Numbers are compared as digit strings everywhere in our own schemes, so an
//! absurdly long number neither overflows nor panics; inputs are bounded by
//! [`MAX_VERSION_LEN`] bytes before any scheme sees them.
//!
//! ```
//! use clearance_scan::version::{Ecosystem, Version};
//! use std::cmp::Ordering;
//!
//! let installed = Version::parse(Ecosystem::Debian, "1:0.9-1")?;
//! let fixed = Version::parse(Ecosystem::Debian, "2.0-1")?;
//! assert_eq!(installed.compare(&fixed)?, Ordering::Greater); // the epoch wins
//! # Ok::<(), clearance_scan::version::VersionError>(())
//! ```

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod npm;
pub mod nuget;
mod numeric;
pub mod rubygems;

use std::cmp::Ordering;
use std::fmt;

/// Longest version string accepted, in bytes. Real versions are far shorter
/// (Debian's longest are ~80 bytes); the bound keeps absurd input cheap.
pub const MAX_VERSION_LEN: usize = 256;

/// A package ecosystem, named after the OSV schema's `ecosystem` values
/// (<https://ossf.github.io/osv-schema/#affectedpackage-field>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Ecosystem {
    /// OSV `Debian`; dpkg versions.
    Debian,
    /// OSV `Ubuntu`; dpkg versions.
    Ubuntu,
    /// OSV `Alpine`; apk versions.
    Alpine,
    /// OSV `Wolfi`; apk versions.
    Wolfi,
    /// OSV `Chainguard`; apk versions.
    Chainguard,
    /// OSV `AlmaLinux`; rpm versions.
    AlmaLinux,
    /// OSV `Rocky Linux`; rpm versions.
    RockyLinux,
    /// OSV `Red Hat`; rpm versions.
    RedHat,
    /// OSV `openSUSE`; rpm versions.
    OpenSuse,
    /// OSV `SUSE`; rpm versions.
    Suse,
    /// OSV `PyPI`; PEP 440 versions.
    PyPI,
    /// OSV `npm`; node-semver versions.
    Npm,
    /// OSV `crates.io`; SemVer 2.0 versions.
    CratesIo,
    /// OSV `Go`; Go module versions (semver with a `v`, pseudo-versions).
    Go,
    /// OSV `Maven`; Maven ComparableVersion order.
    Maven,
    /// OSV `RubyGems`; `Gem::Version` order.
    RubyGems,
    /// OSV `NuGet`; NuGet versions.
    NuGet,
    /// OSV `Packagist`; Composer versions.
    Packagist,
}

/// The ordering rules an ecosystem uses; several ecosystems share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Dpkg,
    Apk,
    Rpm,
    Pep440,
    SemVer,
    Go,
    Npm,
    Maven,
    RubyGems,
    NuGet,
    Composer,
}

impl Ecosystem {
    /// Every ecosystem, in declaration order (for tests and fuzzing).
    pub const ALL: [Ecosystem; 18] = [
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::Wolfi,
        Ecosystem::Chainguard,
        Ecosystem::AlmaLinux,
        Ecosystem::RockyLinux,
        Ecosystem::RedHat,
        Ecosystem::OpenSuse,
        Ecosystem::Suse,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Packagist,
    ];

    /// Parses OSV's spelling of an ecosystem. A release suffix after the first
    /// `:` (`Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`,
    /// `Red Hat:enterprise_linux:9::appstream`) is accepted and ignored here;
    /// [`split_osv_ecosystem`] returns it.
    ///
    /// # Errors
    /// [`VersionError::UnknownEcosystem`] for a name this scanner does not order
    /// (e.g. `Hex`, `Pub`, `GIT`), so the caller can skip that record.
    pub fn from_osv(text: &str) -> Result<Ecosystem, VersionError> {
        let (name, _) = split_osv_ecosystem(text);
        Ok(match name {
            "Debian" => Ecosystem::Debian,
            "Ubuntu" => Ecosystem::Ubuntu,
            "Alpine" => Ecosystem::Alpine,
            "Wolfi" => Ecosystem::Wolfi,
            "Chainguard" => Ecosystem::Chainguard,
            "AlmaLinux" => Ecosystem::AlmaLinux,
            "Rocky Linux" => Ecosystem::RockyLinux,
            "Red Hat" => Ecosystem::RedHat,
            "openSUSE" => Ecosystem::OpenSuse,
            "SUSE" => Ecosystem::Suse,
            "PyPI" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "crates.io" => Ecosystem::CratesIo,
            "Go" => Ecosystem::Go,
            "Maven" => Ecosystem::Maven,
            "RubyGems" => Ecosystem::RubyGems,
            "NuGet" => Ecosystem::NuGet,
            "Packagist" => Ecosystem::Packagist,
            _ => {
                return Err(VersionError::UnknownEcosystem {
                    text: bounded(text),
                });
            }
        })
    }

    /// OSV's spelling of this ecosystem, without a release suffix.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Wolfi => "Wolfi",
            Ecosystem::Chainguard => "Chainguard",
            Ecosystem::AlmaLinux => "AlmaLinux",
            Ecosystem::RockyLinux => "Rocky Linux",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::OpenSuse => "openSUSE",
            Ecosystem::Suse => "SUSE",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
        }
    }

    fn scheme(self) -> Scheme {
        match self {
            Ecosystem::Debian | Ecosystem::Ubuntu => Scheme::Dpkg,
            Ecosystem::Alpine | Ecosystem::Wolfi | Ecosystem::Chainguard => Scheme::Apk,
            Ecosystem::AlmaLinux
            | Ecosystem::RockyLinux
            | Ecosystem::RedHat
            | Ecosystem::OpenSuse
            | Ecosystem::Suse => Scheme::Rpm,
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::CratesIo => Scheme::SemVer,
            Ecosystem::Go => Scheme::Go,
            Ecosystem::Npm => Scheme::Npm,
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::RubyGems => Scheme::RubyGems,
            Ecosystem::NuGet => Scheme::NuGet,
            Ecosystem::Packagist => Scheme::Composer,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Splits an OSV ecosystem string at its first `:` into the ecosystem name and
/// the release suffix, if any: `"Debian:12"` → `("Debian", Some("12"))`,
/// `"PyPI"` → `("PyPI", None)`.
pub fn split_osv_ecosystem(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((name, release)) => (name, Some(release)),
        None => (text, None),
    }
}

/// Errors from parsing or comparing versions.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionError {
    /// The text is not a version of this ecosystem.
    #[error("{ecosystem} version {text:?} is not valid: {reason}")]
    Invalid {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// The text (cut to [`MAX_VERSION_LEN`] bytes; printed escaped).
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The text is longer than [`MAX_VERSION_LEN`] bytes.
    #[error("{ecosystem} version of {len} bytes is longer than the {max}-byte limit")]
    TooLong {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// The length of the text, in bytes.
        len: usize,
        /// The limit, [`MAX_VERSION_LEN`].
        max: usize,
    },
    /// Two versions of different ecosystems were compared.
    #[error("cannot compare a {left} version with a {right} version")]
    CrossEcosystem {
        /// The ecosystem of `self`.
        left: Ecosystem,
        /// The ecosystem of the other version.
        right: Ecosystem,
    },
    /// An OSV ecosystem name this scanner does not order.
    #[error("ecosystem {text:?} is not supported; records for it are skipped")]
    UnknownEcosystem {
        /// The OSV ecosystem text (cut to [`MAX_VERSION_LEN`] bytes).
        text: String,
    },
}

/// A version of one ecosystem, parsed once and compared by that ecosystem's
/// rules. [`fmt::Display`] prints the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    ecosystem: Ecosystem,
    text: String,
    parsed: Parsed,
}

#[derive(Debug, Clone)]
enum Parsed {
    Dpkg(dpkg::DpkgVersion),
    Apk(apk::ApkVersion),
    Rpm {
        epoch: String,
        version: String,
        release: String,
    },
    Pep440(Box<pep440_rs::Version>),
    SemVer(semver::Version),
    Maven(maven::MavenVersion),
    RubyGems(rubygems::GemVersion),
    NuGet(nuget::NuGetVersion),
    Composer(composer::ComposerVersion),
}

impl Version {
    /// Parses `text` as a version of `ecosystem`.
    ///
    /// # Errors
    /// [`VersionError::TooLong`] over [`MAX_VERSION_LEN`] bytes;
    /// [`VersionError::Invalid`] when the text breaks the ecosystem's grammar
    /// (each scheme's module says what it accepts).
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Result<Version, VersionError> {
        if text.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong {
                ecosystem,
                len: text.len(),
                max: MAX_VERSION_LEN,
            });
        }
        let invalid = |reason: String| VersionError::Invalid {
            ecosystem,
            text: text.to_owned(),
            reason,
        };
        let parsed = match ecosystem.scheme() {
            Scheme::Dpkg => Parsed::Dpkg(dpkg::DpkgVersion::parse(text).map_err(invalid)?),
            Scheme::Apk => Parsed::Apk(apk::ApkVersion::parse(text).map_err(invalid)?),
            Scheme::Rpm => parse_rpm(text).map_err(invalid)?,
            Scheme::Pep440 => Parsed::Pep440(Box::new(
                text.parse::<pep440_rs::Version>()
                    .map_err(|e| invalid(e.to_string()))?,
            )),
            Scheme::SemVer => {
                Parsed::SemVer(semver::Version::parse(text).map_err(|e| invalid(e.to_string()))?)
            }
            Scheme::Go => Parsed::SemVer(go::parse(text).map_err(invalid)?),
            Scheme::Npm => Parsed::SemVer(npm::parse(text).map_err(invalid)?),
            Scheme::Maven => Parsed::Maven(maven::MavenVersion::parse(text).map_err(invalid)?),
            Scheme::RubyGems => {
                Parsed::RubyGems(rubygems::GemVersion::parse(text).map_err(invalid)?)
            }
            Scheme::NuGet => Parsed::NuGet(nuget::NuGetVersion::parse(text).map_err(invalid)?),
            Scheme::Composer => {
                Parsed::Composer(composer::ComposerVersion::parse(text).map_err(invalid)?)
            }
        };
        Ok(Version {
            ecosystem,
            text: text.to_owned(),
            parsed,
        })
    }

    /// The ecosystem this version belongs to.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Orders `self` against `other` by their ecosystem's rules.
    ///
    /// # Errors
    /// [`VersionError::CrossEcosystem`] when the two ecosystems differ, even
    /// when they share a scheme (a Debian version is not an Ubuntu version).
    pub fn compare(&self, other: &Version) -> Result<Ordering, VersionError> {
        if self.ecosystem != other.ecosystem {
            return Err(VersionError::CrossEcosystem {
                left: self.ecosystem,
                right: other.ecosystem,
            });
        }
        Ok(match (&self.parsed, &other.parsed) {
            (Parsed::Dpkg(a), Parsed::Dpkg(b)) => a.compare(b),
            (Parsed::Apk(a), Parsed::Apk(b)) => a.compare(b),
            (
                Parsed::Rpm {
                    epoch: ea,
                    version: va,
                    release: ra,
                },
                Parsed::Rpm {
                    epoch: eb,
                    version: vb,
                    release: rb,
                },
            ) => rpm_version::Evr::new(ea.as_str(), va.as_str(), ra.as_str()).cmp(
                &rpm_version::Evr::new(eb.as_str(), vb.as_str(), rb.as_str()),
            ),
            (Parsed::Pep440(a), Parsed::Pep440(b)) => a.cmp(b),
            // SemVer 2.0 §11: build metadata does not take part in precedence;
            // `semver::Version`'s `Ord` would order it, so never use `cmp` here.
            (Parsed::SemVer(a), Parsed::SemVer(b)) => a.cmp_precedence(b),
            (Parsed::Maven(a), Parsed::Maven(b)) => a.compare(b),
            (Parsed::RubyGems(a), Parsed::RubyGems(b)) => a.compare(b),
            (Parsed::NuGet(a), Parsed::NuGet(b)) => a.compare(b),
            (Parsed::Composer(a), Parsed::Composer(b)) => a.compare(b),
            // Same ecosystem implies same scheme, so this arm is never taken;
            // say so rather than panic.
            _ => {
                return Err(VersionError::CrossEcosystem {
                    left: self.ecosystem,
                    right: other.ecosystem,
                });
            }
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// rpm `[epoch:]version[-release]`, split as rpm's `parseEVR` does: the epoch
/// is the digits before a `:`, the release follows the last `-`. Order:
/// rpmvercmp (rpm `rpmio/rpmvercmp.c`), via the `rpm-version` crate, which
/// agrees with rpm 4.18 on tilde, caret, `1.0a > 1.0` and leading zeros.
///
/// A missing release compares lowest here; rpm's "any release" reading of a
/// requirement without one belongs to the matcher, not to this order.
fn parse_rpm(text: &str) -> Result<Parsed, String> {
    if text.is_empty() {
        return Err("empty".into());
    }
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._+~^:-".contains(*c)))
    {
        return Err(format!("character {c:?} is not allowed"));
    }
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the epoch before ':' must be digits".into());
            }
            (epoch, rest)
        }
        None => ("", text),
    };
    if rest.contains(':') {
        return Err("more than one ':'".into());
    }
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    if version.is_empty() {
        return Err("the version part is empty".into());
    }
    if rest.ends_with('-') {
        return Err("the release after '-' is empty".into());
    }
    Ok(Parsed::Rpm {
        epoch: epoch.to_owned(),
        version: version.to_owned(),
        release: release.to_owned(),
    })
}

/// `text` cut to [`MAX_VERSION_LEN`] bytes on a character boundary, for errors.
fn bounded(text: &str) -> String {
    let mut end = text.len().min(MAX_VERSION_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
