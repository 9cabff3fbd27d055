//! Matching: an image's packages against advisory records, as a pure
//! function ([`Report::generate`]) over an [`AdvisorySet`], an
//! [`Inventory`] and [`MatchSettings`].
//!
//! Rules, in the order they apply:
//! 1. **Distribution data wins for distribution packages.** A deb or apk
//!    package is looked up only under its distribution's release
//!    (`Debian:12`, `Alpine:v3.19`), by its *source* package and source
//!    version, because that is what distributions' advisories name and
//!    where backported fixes show. Upstream (language) advisories never
//!    apply to it.
//! 2. **A language package an OS package installed is the OS package's.**
//!    Debian's `python3-requests` ships `requests`' metadata; its fixes
//!    come as Debian updates, so it is matched through the Debian package
//!    and not again against PyPI advisories.
//! 3. Everything else is looked up under its ecosystem (`PyPI`, `npm`,
//!    `crates.io`, …) and compared in that ecosystem's version order
//!    ([`crate::osv::range::Prepared`], each record parsed once).
//! 4. Records about the same vulnerability (an OSV `GHSA-…` and its CVE,
//!    a Debian tracker row and the Debian OSV record) are one finding,
//!    named by the CVE when there is one.
//! 5. Severity: the distribution's rating when it gives one (Debian
//!    urgency, Ubuntu priority), else the highest CVSS base score any
//!    record of the vulnerability gives, else the advisory's own word.
//! 6. States such as `no-dsa`, `postponed`, `will-not-fix`, `unimportant`,
//!    `end-of-life` are kept on the finding, not dropped.
//!
//! Ecosystems the database holds no data for are listed in
//! [`Report::unmatched`], so "no findings" never hides "not checked".

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::advisory::{
    CvssScore, DistroState, EpssScore, KevEntry, Severity, debian, ecosystem_key, package_key,
};
use crate::catalog::PackageType;
use crate::db::{AdvisorySet, SourcedAffected};
use crate::inventory::{Found, Inventory};
use crate::os::Distro;
use crate::osv::range::Prepared;
use crate::version::{Ecosystem, Version};

/// Whether findings without a released fix are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unfixed {
    /// Shown (the default): a team should know what it runs.
    #[default]
    Show,
    /// Left out (`--ignore-unfixed`): only what an upgrade can fix.
    Ignore,
}

/// What `--severity` and gates do with findings no feed rates (most PyPI
/// and Alpine advisories carry no severity, and Debian's "not yet
/// assigned" is none): they cannot be ranked, so by default they are kept
/// and count against every threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownSeverity {
    /// Kept whatever `--severity` says, and counted by gates (the default:
    /// fail closed).
    #[default]
    Keep,
    /// Ranked below `negligible`, as their rating says nothing
    /// (`--ignore-unknown-severity`).
    Rank,
}

/// How findings are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Most severe first, then package and id.
    #[default]
    Severity,
    /// Known exploited (KEV) first, then by EPSS probability, then
    /// severity (`--sort risk`).
    Risk,
}

/// What the caller asks of matching.
#[derive(Debug, Clone, Default)]
pub struct MatchSettings {
    /// Findings below this severity are left out (`--severity`).
    pub min_severity: Severity,
    /// Whether findings without a fix are kept.
    pub unfixed: Unfixed,
    /// Ordering.
    pub sort: SortOrder,
    /// Findings without a rating.
    pub unknown: UnknownSeverity,
    /// VEX statements; `not_affected` ones suppress matching findings.
    pub vex: Vec<crate::vex::Statement>,
}

/// The package a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingPackage {
    /// Name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package type (purl type).
    #[serde(rename = "type")]
    pub kind: PackageType,
    /// purl.
    pub purl: String,
    /// The database file that lists it.
    pub path: String,
    /// Index of the layer that brought this version in.
    pub layer: usize,
}

/// How the package was looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedAs {
    /// Ecosystem key (`Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// Package key (the source package for distributions).
    pub package: String,
    /// The version compared (the source version for distributions).
    pub version: String,
}

/// One vulnerability in one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The vulnerability's id: its CVE when one is known, else the
    /// advisory's id.
    pub id: String,
    /// Every record id that matched or names it (`GHSA-…`, `PYSEC-…`,
    /// `DSA-…`), sorted.
    pub aliases: Vec<String>,
    /// The package.
    pub package: FindingPackage,
    /// How it was looked up.
    pub matched: MatchedAs,
    /// Severity.
    pub severity: Severity,
    /// Where the severity comes from (`debian-tracker`, `CVSS 9.8 from
    /// osv:PyPI`, …).
    pub severity_source: String,
    /// The CVSS vector and score used, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<CvssScore>,
    /// The lowest version that fixes it, above the installed one.
    pub fixed_version: Option<String>,
    /// What the distribution says beyond a fixed version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<DistroState>,
    /// The CISA KEV entry, when the vulnerability is known to be
    /// exploited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevEntry>,
    /// The EPSS score, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssScore>,
    /// One line about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Where to read more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// The sources whose records matched.
    pub sources: Vec<String>,
}

impl Finding {
    /// Whether a released fix exists.
    pub fn fixable(&self) -> bool {
        self.fixed_version.is_some()
    }
}

/// A finding a VEX statement suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The statement's status (`not_affected`, `false_positive`).
    pub vex_status: String,
    /// Its justification, if given.
    pub justification: Option<String>,
    /// The VEX document it came from.
    pub vex_document: String,
}

/// Packages that could not be checked, by why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    /// The ecosystem key (`Debian:12`) or package type.
    pub ecosystem: String,
    /// How many packages.
    pub packages: usize,
    /// Why (`the database holds no data for Debian:12: import the Debian
    /// security tracker or the Debian OSV feed`).
    pub reason: String,
}

/// The outcome of matching.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Findings that pass the settings' filters, in the settings' order.
    pub findings: Vec<Finding>,
    /// Findings a VEX statement suppressed.
    pub suppressed: Vec<Suppressed>,
    /// Findings left out by `--severity` or `--ignore-unfixed`.
    pub filtered: usize,
    /// Packages matched through the OS package that owns their files.
    pub owned: usize,
    /// Packages not checked, by ecosystem.
    pub unmatched: Vec<Unmatched>,
    /// Versions or ranges that could not be compared (the first 50).
    pub warnings: Vec<String>,
}

/// Where a package's advisories are looked up: (ecosystem, ecosystem key,
/// package key, version compared).
///
/// # Errors
///
/// Why the package cannot be looked up (for the report's "not checked"
/// list): its kind has no advisories this scanner reads, or its
/// distribution is unknown.
pub fn lookup_key(found: &Found, distro: Option<&Distro>) -> Result<LookupKey, String> {
    let p = &found.package;
    let (source_name, source_version) = p
        .source
        .as_ref()
        .map_or((p.name.as_str(), p.version.as_str()), |s| {
            (s.name.as_str(), s.version.as_str())
        });
    let language = |ecosystem: Ecosystem| {
        Ok(LookupKey {
            ecosystem,
            key: ecosystem.osv_name().to_owned(),
            package: package_key(ecosystem, &p.name),
            version: p.version.clone(),
        })
    };
    match p.kind {
        PackageType::Deb | PackageType::Apk | PackageType::Rpm => {
            let Some(distro) = distro else {
                return Err("the image names no distribution (no /etc/os-release)".into());
            };
            let (ecosystem, key) = distro_key(distro, p.kind)?;
            Ok(LookupKey {
                ecosystem,
                key,
                package: source_name.to_owned(),
                version: source_version.to_owned(),
            })
        }
        PackageType::Python => language(Ecosystem::PyPI),
        PackageType::Npm => language(Ecosystem::Npm),
        PackageType::Cargo => language(Ecosystem::CratesIo),
        PackageType::Golang => language(Ecosystem::Go),
        PackageType::Gem => language(Ecosystem::RubyGems),
        PackageType::Composer => language(Ecosystem::Packagist),
        PackageType::Nuget => language(Ecosystem::NuGet),
        // OSV names Maven packages GROUP:ARTIFACT; an archive whose groupId
        // nothing stated cannot be looked up, and is said not checked
        // rather than guessed at.
        PackageType::Maven if !p.name.contains(':') => Err(
            "Java archives that state no Maven groupId (no pom.properties, no manifest Implementation-Vendor-Id) cannot be matched against Maven advisories; rebuild them with Maven's pom.properties, or check them by hand"
                .into(),
        ),
        PackageType::Maven => language(Ecosystem::Maven),
    }
}

/// A package's place in the advisory database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKey {
    /// Whose version order applies.
    pub ecosystem: Ecosystem,
    /// Ecosystem key (`Debian:12`).
    pub key: String,
    /// Package key.
    pub package: String,
    /// The version compared.
    pub version: String,
}

/// The ecosystem key of a distribution release (`Debian:12`,
/// `Ubuntu:22.04`, `Alpine:v3.19`, `Wolfi`).
pub fn distro_key(distro: &Distro, kind: PackageType) -> Result<(Ecosystem, String), String> {
    let id = distro.id.as_str();
    let like = |name: &str| id == name || distro.id_like.iter().any(|l| l == name);
    let version = distro.version_id.as_deref();
    let osv = match (kind, id) {
        (PackageType::Deb, "debian") => {
            let release = version
                .map(|v| v.split('.').next().unwrap_or(v).to_owned())
                .or_else(|| {
                    distro
                        .codename
                        .as_deref()
                        .and_then(debian::release_number)
                        .map(str::to_owned)
                })
                .ok_or("Debian without VERSION_ID or a known VERSION_CODENAME")?;
            format!("Debian:{release}")
        }
        (PackageType::Deb, "ubuntu") => {
            format!("Ubuntu:{}", version.ok_or("Ubuntu without VERSION_ID")?)
        }
        (PackageType::Apk, "alpine") => {
            let v = version.ok_or("Alpine without VERSION_ID")?;
            let mut parts = v.split(['.', '_']);
            match (parts.next(), parts.next()) {
                (Some(major), Some(minor)) => format!("Alpine:v{major}.{minor}"),
                _ => return Err(format!("Alpine VERSION_ID {v:?} is not X.Y")),
            }
        }
        (PackageType::Apk, "wolfi") => "Wolfi".to_owned(),
        (PackageType::Apk, "chainguard") => "Chainguard".to_owned(),
        (PackageType::Rpm, "almalinux" | "rocky") => {
            let v = version.ok_or("an rpm distribution without VERSION_ID")?;
            let major = v.split('.').next().unwrap_or(v);
            let name = if id == "rocky" {
                "Rocky Linux"
            } else {
                "AlmaLinux"
            };
            format!("{name}:{major}")
        }
        (PackageType::Deb, _) if like("debian") || like("ubuntu") => {
            return Err(format!(
                "{id} is derived from Debian/Ubuntu, but its own releases have no advisory feed Clearance reads"
            ));
        }
        _ => {
            return Err(format!(
                "no advisory feed Clearance reads covers {} packages of {id}",
                kind
            ));
        }
    };
    let ecosystem = Ecosystem::from_osv(&osv).map_err(|e| e.to_string())?;
    let key = ecosystem_key(&osv).ok_or("no ecosystem key")?;
    Ok((ecosystem, key))
}

/// The keys to look up for an inventory (for [`crate::db::AdvisoryDb::lookup`]).
pub fn lookup_keys(inventory: &Inventory) -> Vec<(String, String)> {
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    for found in inventory.packages.iter().filter(|f| f.owned_by.is_none()) {
        if let Ok(k) = lookup_key(found, inventory.distro.as_ref()) {
            keys.insert((k.key, k.package));
        }
    }
    keys.into_iter().collect()
}

const MAX_WARNINGS: usize = 50;

impl Report {
    /// Match `inventory` against `advisories` (pure: no I/O).
    pub fn generate(
        advisories: &AdvisorySet,
        inventory: &Inventory,
        settings: &MatchSettings,
    ) -> Report {
        let mut report = Report::default();
        let mut unmatched: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut all = Vec::new();
        // Each record's ranges parsed once, for every version of its package.
        let mut prepared: HashMap<(String, String), Vec<Result<Prepared<'_>, String>>> =
            HashMap::new();
        for found in &inventory.packages {
            if found.owned_by.is_some() {
                report.owned += 1;
                continue;
            }
            let key = match lookup_key(found, inventory.distro.as_ref()) {
                Ok(k) => k,
                Err(reason) => {
                    let e = unmatched
                        .entry(found.package.kind.to_string())
                        .or_insert((0, reason));
                    e.0 += 1;
                    continue;
                }
            };
            if !advisories.covered.contains(&key.key) {
                let e = unmatched.entry(key.key.clone()).or_insert_with(|| {
                    (
                        0,
                        format!(
                            "the advisory database holds no data for {}{}: import its feed (clearance db update, or db build --source)",
                            key.key,
                            if key.key.starts_with("Alpine:") {
                                " (Alpine secdb's main repository, or OSV's Alpine data)"
                            } else {
                                ""
                            }
                        ),
                    )
                });
                e.0 += 1;
                continue;
            }
            let Some(records) = advisories
                .affected
                .get(&(key.key.clone(), key.package.clone()))
            else {
                continue;
            };
            let version = match Version::parse(key.ecosystem, &key.version) {
                Ok(v) => v,
                Err(e) => {
                    report.warn(format!(
                        "{} {}: {e}; not matched",
                        found.package.name, found.package.version
                    ));
                    continue;
                }
            };
            let parsed = prepared
                .entry((key.key.clone(), key.package.clone()))
                .or_insert_with(|| {
                    records
                        .iter()
                        .map(|r| {
                            Prepared::new(key.ecosystem, &r.record.ranges, &r.record.versions)
                                .map_err(|e| e.to_string())
                        })
                        .collect()
                });
            all.extend(report.match_package(advisories, found, &key, &version, records, parsed));
        }
        report.unmatched = unmatched
            .into_iter()
            .map(|(ecosystem, (packages, reason))| Unmatched {
                ecosystem,
                packages,
                reason,
            })
            .collect();
        let mut decided = vec![false; settings.vex.len()];
        for finding in all {
            if let Some(i) = crate::vex::deciding(&settings.vex, &finding) {
                decided[i] = true;
            }
            if let Some((statement, document)) = crate::vex::suppressing(&settings.vex, &finding) {
                report.suppressed.push(Suppressed {
                    vex_status: statement.status.clone(),
                    justification: statement.justification.clone(),
                    vex_document: document.to_owned(),
                    finding,
                });
                continue;
            }
            let rated_enough = finding.severity >= settings.min_severity
                || (finding.severity == Severity::Unknown
                    && settings.unknown == UnknownSeverity::Keep);
            let shown = rated_enough && (settings.unfixed == Unfixed::Show || finding.fixable());
            if shown {
                report.findings.push(finding);
            } else {
                report.filtered += 1;
            }
        }
        // A statement that decided nothing is most often a typo in its id
        // or purl, or a product that names the image rather than a package.
        let unused: Vec<&crate::vex::Statement> = settings
            .vex
            .iter()
            .zip(&decided)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| s)
            .collect();
        if let Some(first) = unused.first() {
            report.warn(format!(
                "{} of {} VEX statements matched no finding (first: {} for {} in {}); check their vulnerability ids and product purls (a package's purl, not the image's pkg:oci/…)",
                unused.len(),
                settings.vex.len(),
                first.vulnerabilities.first().map_or("?", String::as_str),
                first.products.first().map_or("no product", String::as_str),
                first.document
            ));
        }
        sort(&mut report.findings, settings.sort);
        report
    }

    fn warn(&mut self, text: String) {
        if self.warnings.len() < MAX_WARNINGS && !self.warnings.contains(&text) {
            self.warnings.push(text);
        }
    }

    fn match_package(
        &mut self,
        advisories: &AdvisorySet,
        found: &Found,
        key: &LookupKey,
        version: &Version,
        records: &[SourcedAffected],
        prepared: &[Result<Prepared<'_>, String>],
    ) -> Vec<Finding> {
        // Canonical id → the matching records.
        let mut hits: BTreeMap<String, Vec<(&SourcedAffected, Option<String>)>> = BTreeMap::new();
        for (sourced, parsed) in records.iter().zip(prepared) {
            let record = &sourced.record;
            let parsed = match parsed {
                Ok(p) => p,
                Err(e) => {
                    self.warn(format!(
                        "{} against {}: {e}; not matched",
                        found.package.name, record.advisory
                    ));
                    continue;
                }
            };
            let affected = if record.ranges.is_empty() && record.versions.is_empty() {
                // A distribution state without ranges: every version.
                record.state.is_some()
            } else {
                parsed.contains(version)
            };
            if !affected {
                continue;
            }
            if let Some(e) = parsed.unparsed.first() {
                self.warn(format!(
                    "{} {} against {}: {e}; the range was widened and the package is reported as affected",
                    found.package.name, found.package.version, record.advisory
                ));
            }
            let fixed = parsed.lowest_fix_above(version).map(ToString::to_string);
            let canonical = canonical_id(advisories, &record.advisory);
            hits.entry(canonical).or_default().push((sourced, fixed));
        }
        hits.into_iter()
            .map(|(id, matched)| finding(advisories, found, key, id, matched))
            .collect()
    }
}

/// The CVE a record id is about, else the id itself.
fn canonical_id(advisories: &AdvisorySet, id: &str) -> String {
    if crate::advisory::is_cve(id) {
        return id.to_owned();
    }
    advisories
        .advisories
        .get(id)
        .and_then(|records| records.iter().find_map(|(_, r)| r.cve()))
        .map_or_else(|| id.to_owned(), str::to_owned)
}

/// A fixed version written as the installed one is: OSV's Go records
/// give `0.17.0` where a module version is `v0.17.0` (and the standard
/// library's is bare, `1.21.3`).
fn as_installed(ecosystem: Ecosystem, installed: &str, fixed: String) -> String {
    if ecosystem == Ecosystem::Go && installed.starts_with('v') && !fixed.starts_with('v') {
        format!("v{fixed}")
    } else {
        fixed
    }
}

/// Rank of a source for the same vulnerability: distribution feeds first.
fn source_rank(source: &str) -> u8 {
    if source == "debian-tracker" || source.starts_with("alpine-secdb") {
        0
    } else if source.starts_with("osv:") {
        1
    } else {
        2
    }
}

fn finding(
    advisories: &AdvisorySet,
    found: &Found,
    key: &LookupKey,
    id: String,
    mut matched: Vec<(&SourcedAffected, Option<String>)>,
) -> Finding {
    matched.sort_by_key(|(s, fixed)| (source_rank(&s.source), fixed.is_none()));
    let (primary, _) = matched[0].clone();
    // The fix every record of the deciding rank agrees is one: the highest
    // of their fixed versions (a GHSA may know that the PYSEC record's fix
    // was incomplete).
    let rank = source_rank(&primary.source);
    let fixed = matched
        .iter()
        .filter(|(s, _)| source_rank(&s.source) == rank)
        .filter_map(|(_, f)| f.as_deref())
        .filter_map(|f| Version::parse(key.ecosystem, f).ok().map(|v| (f, v)))
        .max_by(|a, b| a.1.compare(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(f, _)| f.to_owned())
        .or_else(|| matched[0].1.clone());
    let state = primary.record.state;
    // Every record about this vulnerability: the ones that matched, and
    // those sharing its CVE.
    let mut ids: BTreeSet<String> = matched
        .iter()
        .map(|(s, _)| s.record.advisory.clone())
        .collect();
    if let Some(more) = advisories.by_cve.get(&id) {
        ids.extend(more.iter().cloned());
    }
    let records: Vec<(&String, &crate::advisory::AdvisoryRecord)> = ids
        .iter()
        .filter_map(|i| advisories.advisories.get(i))
        .flatten()
        .map(|(s, r)| (s, r)) // &(source, record) → (&source, &record)
        .collect();
    let rating = matched
        .iter()
        .find_map(|(s, _)| s.record.severity.map(|sev| (sev, s.source.clone())));
    let best_cvss = records
        .iter()
        .filter_map(|(s, r)| r.cvss.as_ref().map(|c| (*s, c)))
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score));
    let word = records
        .iter()
        .find_map(|(s, r)| r.severity.map(|sev| (sev, (*s).clone())));
    let (severity, severity_source, cvss) = if state == Some(DistroState::Unimportant) {
        (Severity::Negligible, primary.source.clone(), None)
    } else if let Some((sev, source)) = rating.filter(|(s, _)| *s != Severity::Unknown) {
        (sev, source, best_cvss.map(|(_, c)| c.clone()))
    } else if let Some((source, c)) = best_cvss {
        (
            Severity::from_cvss(c.score),
            format!("CVSS {:.1} from {source}", c.score),
            Some(c.clone()),
        )
    } else if let Some((sev, source)) = word {
        (sev, source, None)
    } else {
        (Severity::Unknown, String::new(), None)
    };
    let summary = records.iter().find_map(|(_, r)| r.summary.clone());
    let mut urls: Vec<String> = records
        .iter()
        .flat_map(|(_, r)| r.urls.iter().cloned())
        .collect();
    urls.dedup();
    urls.truncate(5);
    let mut aliases: BTreeSet<String> = ids;
    for (_, r) in &records {
        aliases.extend(r.aliases.iter().cloned());
    }
    aliases.remove(&id);
    let mut sources: Vec<String> = matched.iter().map(|(s, _)| s.source.clone()).collect();
    sources.sort();
    sources.dedup();
    Finding {
        kev: advisories.kev.get(&id).cloned(),
        epss: advisories.epss.get(&id).copied(),
        id,
        aliases: aliases.into_iter().collect(),
        package: FindingPackage {
            name: found.package.name.clone(),
            version: found.package.version.clone(),
            kind: found.package.kind,
            purl: found.package.purl.clone(),
            path: found.package.path.clone(),
            layer: found.layer,
        },
        matched: MatchedAs {
            ecosystem: key.key.clone(),
            package: key.package.clone(),
            version: key.version.clone(),
        },
        severity,
        severity_source,
        cvss,
        fixed_version: fixed.map(|f| as_installed(key.ecosystem, &found.package.version, f)),
        state,
        summary,
        urls,
        sources,
    }
}

fn sort(findings: &mut [Finding], order: SortOrder) {
    let by_name = |a: &Finding, b: &Finding| {
        (&a.package.name, &a.package.version, &a.id).cmp(&(
            &b.package.name,
            &b.package.version,
            &b.id,
        ))
    };
    match order {
        SortOrder::Severity => {
            findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| by_name(a, b)))
        }
        SortOrder::Risk => findings.sort_by(|a, b| {
            let epss = |f: &Finding| f.epss.map_or(-1.0, |e| e.probability);
            b.kev
                .is_some()
                .cmp(&a.kev.is_some())
                .then_with(|| epss(b).total_cmp(&epss(a)))
                .then_with(|| b.severity.cmp(&a.severity))
                .then_with(|| by_name(a, b))
        }),
    }
}
