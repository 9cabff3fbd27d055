//! Advisory data: the records every feed is turned into, and the readers
//! that turn them.
//!
//! Each feed becomes [`AdvisoryRecord`]s (what a vulnerability is: id,
//! aliases, summary, CVSS) and [`AffectedRecord`]s (which package of which
//! ecosystem it touches, and in which versions), plus the prioritisation
//! feeds [`KevEntry`] (CISA Known Exploited Vulnerabilities) and
//! [`EpssScore`] (FIRST EPSS). Readers:
//!
//! - [`crate::osv::record`]: OSV JSON (osv.dev's per-ecosystem `all.zip`,
//!   directories of records);
//! - [`debian`]: the Debian security tracker's JSON;
//! - [`alpine`]: Alpine's secdb (`secfixes`, YAML or JSON);
//! - [`kev`], [`epss`];
//! - [`source`]: which of those a file is, and reading it with bounds.

pub mod alpine;
pub mod debian;
pub mod epss;
pub mod feeds;
pub mod kev;
pub mod source;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::osv::range::Range;
use crate::version::{Ecosystem, split_osv_ecosystem};

/// Longest advisory id or alias kept (real ones are under 40 bytes).
pub const MAX_ID_LEN: usize = 128;
/// Longest summary kept, in bytes (one line for a report); longer ones are
/// cut at a character boundary.
pub const MAX_SUMMARY_LEN: usize = 320;
/// Most aliases kept per advisory.
pub const MAX_LIST: usize = 64;
/// Most reference URLs kept per advisory (advisory pages first); a report
/// shows five.
pub const MAX_URLS: usize = 8;

/// How bad a vulnerability is, in the words distributions and CVSS v3 use
/// (CVSS v3.1 specification, table 14 "Qualitative severity rating
/// scale"; Debian urgencies and GitHub's `MODERATE` map onto it). Ordered
/// from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No rating is known.
    #[default]
    Unknown,
    /// Rated, but not a security problem worth acting on (Debian
    /// `unimportant`, CVSS 0.0, Ubuntu `negligible`).
    Negligible,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 4.0–6.9 (`moderate`).
    Medium,
    /// CVSS 7.0–8.9 (`important`).
    High,
    /// CVSS 9.0–10.0.
    Critical,
}

impl Severity {
    /// Every level, least severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Unknown,
        Severity::Negligible,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The level a CVSS base score (0.0–10.0) falls in (CVSS v3.1 table 14).
    pub fn from_cvss(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }

    /// The lower-case name (`high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not a severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a severity: give one of unknown, negligible, low, medium, high, critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Case-insensitive; also the synonyms feeds use: `moderate` (GitHub),
    /// `important` (Red Hat), `unimportant` and `negligible` (Debian,
    /// Ubuntu), `none` (CVSS 0.0).
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "unknown" | "not yet assigned" | "untriaged" => Severity::Unknown,
            "negligible" | "unimportant" | "none" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => return Err(UnknownSeverity(bounded(s, 40))),
        })
    }
}

/// What a distribution says about an advisory for one of its packages,
/// beyond "fixed in version X". Shown beside a finding, never dropped
/// silently (Debian security tracker "status" and "nodsa" fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum DistroState {
    /// Affected and no fix released yet; a fix is expected.
    Open,
    /// Affected; the distribution will fix it in a point release rather
    /// than a security advisory (Debian `no-dsa`).
    NoDsa,
    /// Affected; the fix is postponed (Debian `no-dsa`, reason `postponed`).
    Postponed,
    /// Affected; the distribution will not fix it (Debian `no-dsa`, reason
    /// `ignored`; Ubuntu `ignored`; Red Hat "Will not fix").
    WillNotFix,
    /// Rated not a security problem for this distribution (Debian
    /// `unimportant`).
    Unimportant,
    /// The release no longer gets security support for this package
    /// (Debian `end-of-life`).
    EndOfLife,
    /// Not yet investigated (Debian `undetermined`).
    Undetermined,
}

impl DistroState {
    /// The kebab-case name (`will-not-fix`).
    pub fn as_str(self) -> &'static str {
        match self {
            DistroState::Open => "open",
            DistroState::NoDsa => "no-dsa",
            DistroState::Postponed => "postponed",
            DistroState::WillNotFix => "will-not-fix",
            DistroState::Unimportant => "unimportant",
            DistroState::EndOfLife => "end-of-life",
            DistroState::Undetermined => "undetermined",
        }
    }
}

impl fmt::Display for DistroState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CVSS vector and the base score computed from it (the `cvss` crate:
/// CVSS v2.0, v3.0, v3.1 and v4.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// The vector as the advisory gives it (`CVSS:3.1/AV:N/AC:L/…`).
    pub vector: String,
    /// Base score, 0.0–10.0.
    pub score: f64,
}

impl CvssScore {
    /// Parse a vector and score it; `None` when it is not a CVSS vector
    /// the `cvss` crate reads (the advisory's other fields still count).
    pub fn parse(vector: &str) -> Option<CvssScore> {
        let vector = vector.trim();
        if vector.len() > 512 {
            return None;
        }
        let parsed = if vector.starts_with("CVSS:") {
            cvss::Cvss::from_str(vector).ok()?
        } else {
            // CVSS v2 vectors carry no prefix (`AV:N/AC:L/Au:N/C:P/I:P/A:P`).
            cvss::Cvss::CvssV20(cvss::v2::Vector::from_str(vector).ok()?)
        };
        let score = parsed.score();
        score.is_finite().then(|| CvssScore {
            vector: vector.to_owned(),
            score,
        })
    }
}

/// What a vulnerability is, as one source describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AdvisoryRecord {
    /// The source's id (`CVE-2024-3094`, `GHSA-…`, `PYSEC-2021-335`,
    /// `RUSTSEC-2024-0001`, `GO-2024-2687`, `DSA-5678-1`).
    pub id: String,
    /// Other ids of the same vulnerability (OSV `aliases`, and `upstream`
    /// for distribution records).
    pub aliases: Vec<String>,
    /// One line (OSV `summary`, else the start of `details`; the tracker's
    /// `description`).
    pub summary: Option<String>,
    /// The source's own rating, when it gives one without CVSS (GitHub's
    /// `database_specific.severity`).
    pub severity: Option<Severity>,
    /// The highest-versioned CVSS vector the record gives, scored.
    pub cvss: Option<CvssScore>,
    /// When it was published (RFC 3339), if known.
    pub published: Option<String>,
    /// When it was last changed (RFC 3339), if known.
    pub modified: Option<String>,
    /// Where to read more (the first [`MAX_URLS`]; advisory pages first).
    pub urls: Vec<String>,
}

impl AdvisoryRecord {
    /// A record with only an id (distribution feeds that name CVEs only).
    pub fn bare(id: &str) -> AdvisoryRecord {
        AdvisoryRecord {
            id: id.to_owned(),
            ..AdvisoryRecord::default()
        }
    }

    /// The CVE id this record is about: its id when that is a CVE, else
    /// the first CVE among its aliases.
    pub fn cve(&self) -> Option<&str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(String::as_str)
            .find(|id| is_cve(id))
    }
}

/// Which versions of one package an advisory touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedRecord {
    /// The advisory's id in its source.
    pub advisory: String,
    /// The ecosystem key packages are looked up by ([`ecosystem_key`]:
    /// `Debian:12`, `Alpine:v3.19`, `PyPI`).
    pub ecosystem: String,
    /// The package name as the ecosystem's advisories name it
    /// ([`package_key`]; for distributions the *source* package).
    pub package: String,
    /// OSV ranges (`ECOSYSTEM`, `SEMVER`); empty with a `state` means
    /// every version is affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// OSV `versions`: the versions listed as affected.
    #[serde(default, skip_serializing_if = "VersionList::is_empty")]
    pub versions: VersionList,
    /// What the distribution says beyond a fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DistroState>,
    /// The distribution's rating for this package (Debian urgency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

impl AffectedRecord {
    /// The first fixed version the ranges give (the lowest `fixed` event
    /// above the version in question is chosen by the matcher; this is for
    /// records with one range).
    pub fn fixed_versions(&self) -> impl Iterator<Item = &str> {
        self.ranges.iter().flat_map(|r| {
            r.events.iter().filter_map(|e| match e {
                crate::osv::range::Event::Fixed(v) => Some(v.as_str()),
                _ => None,
            })
        })
    }
}

/// An OSV `versions` list held in one string, one version per line.
/// Records list hundreds of versions each; a `Vec<String>` made reading a
/// database's records one allocation per version, most of a lookup's
/// time. (De)serialises as the JSON array of strings OSV writes; an entry
/// holding a line break (no ecosystem's version can) is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionList {
    joined: String,
    len: usize,
}

impl VersionList {
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many versions it lists.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The versions, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.joined.split('\n').take(self.len)
    }

    fn push(&mut self, version: &str) {
        if version.contains('\n') {
            return;
        }
        if self.len > 0 {
            self.joined.push('\n');
        }
        self.joined.push_str(version);
        self.len += 1;
    }
}

impl<S: AsRef<str>> FromIterator<S> for VersionList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> VersionList {
        let mut list = VersionList::default();
        for v in iter {
            list.push(v.as_ref());
        }
        list
    }
}

impl Serialize for VersionList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for VersionList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<VersionList, D::Error> {
        struct Seq;
        impl<'de> serde::de::Visitor<'de> for Seq {
            type Value = VersionList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of version strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<VersionList, A::Error> {
                let mut list = VersionList::default();
                while let Some(()) = seq.next_element_seed(Append(&mut list))? {
                    if list.len > crate::osv::range::MAX_VERSIONS {
                        return Err(serde::de::Error::custom(format!(
                            "more than {} versions",
                            crate::osv::range::MAX_VERSIONS
                        )));
                    }
                }
                Ok(list)
            }
        }
        /// Appends one string element to the list without allocating it.
        struct Append<'a>(&'a mut VersionList);
        impl<'de> serde::de::DeserializeSeed<'de> for Append<'_> {
            type Value = ();
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_str(self)
            }
        }
        impl<'de> serde::de::Visitor<'de> for Append<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
                self.0.push(v);
                Ok(())
            }
        }
        d.deserialize_seq(Seq)
    }
}

/// An entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// `cveID`.
    pub cve: String,
    /// `dateAdded` (YYYY-MM-DD).
    pub date_added: String,
    /// `dueDate` (YYYY-MM-DD) for US federal agencies.
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
    /// `requiredAction`.
    pub required_action: Option<String>,
}

/// A FIRST EPSS score: the probability (0–1) of exploitation activity in
/// the next 30 days, and its percentile among all scored CVEs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    /// Probability, 0.0–1.0.
    pub probability: f64,
    /// Percentile, 0.0–1.0.
    pub percentile: f64,
}

/// Whether `id` has the shape of a CVE id (`CVE-YYYY-NNNN…`).
pub fn is_cve(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The key advisories of an OSV ecosystem are stored under: the ecosystem
/// name, and for distributions their release as packages name it
/// (`Debian:12`, `Ubuntu:22.04`, `Alpine:v3.19`, `AlmaLinux:9`). `None`
/// for ecosystems this scanner does not order.
///
/// OSV spells releases several ways (`Ubuntu:22.04:LTS`,
/// `Ubuntu:Pro:18.04:LTS`, `Alpine:v3.19`); the key keeps only the
/// release number so an image's `VERSION_ID` finds it.
pub fn ecosystem_key(osv: &str) -> Option<String> {
    let ecosystem = Ecosystem::from_osv(osv).ok()?;
    let (_, release) = split_osv_ecosystem(osv);
    let name = ecosystem.osv_name();
    Some(match (ecosystem, release) {
        (Ecosystem::Ubuntu, Some(release)) => {
            let number = release
                .split(':')
                .find(|p| p.contains('.') && p.bytes().all(|b| b.is_ascii_digit() || b == b'.'))?;
            format!("{name}:{number}")
        }
        (Ecosystem::Alpine, Some(release)) => {
            let number = release.trim_start_matches('v');
            format!("{name}:v{number}")
        }
        (_, Some(release)) if is_distribution(ecosystem) => {
            format!("{name}:{}", release.split(':').next().unwrap_or(release))
        }
        _ => name.to_owned(),
    })
}

/// Whether an ecosystem is a distribution's (its keys carry a release).
pub fn is_distribution(ecosystem: Ecosystem) -> bool {
    !matches!(
        ecosystem,
        Ecosystem::PyPI
            | Ecosystem::Npm
            | Ecosystem::CratesIo
            | Ecosystem::Go
            | Ecosystem::Maven
            | Ecosystem::RubyGems
            | Ecosystem::NuGet
            | Ecosystem::Packagist
            | Ecosystem::Wolfi
            | Ecosystem::Chainguard
    )
}

/// A package name as advisories of `ecosystem` are looked up by: PyPI
/// names PEP 503-normalised, Packagist and NuGet names lower-cased (both
/// registries are case-insensitive), the rest as written.
pub fn package_key(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => crate::catalog::pep503(name),
        Ecosystem::Packagist | Ecosystem::NuGet => name.to_ascii_lowercase(),
        _ => name.to_owned(),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The first line of `text`, trimmed and cut to [`MAX_SUMMARY_LEN`].
pub(crate) fn one_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(bounded(line, MAX_SUMMARY_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_keys_keep_the_release_number_only() {
        assert_eq!(ecosystem_key("Debian:12").as_deref(), Some("Debian:12"));
        assert_eq!(
            ecosystem_key("Ubuntu:22.04:LTS").as_deref(),
            Some("Ubuntu:22.04")
        );
        assert_eq!(
            ecosystem_key("Ubuntu:Pro:18.04:LTS").as_deref(),
            Some("Ubuntu:18.04")
        );
        assert_eq!(
            ecosystem_key("Alpine:v3.19").as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(ecosystem_key("PyPI").as_deref(), Some("PyPI"));
        assert_eq!(ecosystem_key("Wolfi").as_deref(), Some("Wolfi"));
        assert_eq!(ecosystem_key("Hex"), None);
    }

    #[test]
    fn severities_read_the_feeds_words_and_cvss_scores() {
        assert_eq!("MODERATE".parse(), Ok(Severity::Medium));
        assert_eq!("important".parse(), Ok(Severity::High));
        assert_eq!("unimportant".parse(), Ok(Severity::Negligible));
        assert!("severe".parse::<Severity>().is_err());
        assert_eq!(Severity::from_cvss(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss(7.0), Severity::High);
        assert_eq!(Severity::from_cvss(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss(0.1), Severity::Low);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
    }

    #[test]
    fn cvss_vectors_are_scored() {
        let v3 = CvssScore::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert!((v3.score - 9.8).abs() < 1e-9);
        let v2 = CvssScore::parse("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap();
        assert!((v2.score - 7.5).abs() < 1e-9);
        assert_eq!(CvssScore::parse("CVSS:3.1/AV:X"), None);
    }

    #[test]
    fn cve_ids_are_recognised_by_shape() {
        assert!(is_cve("CVE-2024-3094"));
        assert!(is_cve("CVE-2021-1234567"));
        assert!(!is_cve("CVE-24-3094"));
        assert!(!is_cve("GHSA-xxxx-yyyy-zzzz"));
        assert!(!is_cve("CVE-2024-"));
    }
}
