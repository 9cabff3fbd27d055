//! OSV records (<https://ossf.github.io/osv-schema/>) turned into
//! [`AdvisoryRecord`] and [`AffectedRecord`]s.
//!
//! Only what matching and reports use is read: `id`, `aliases`,
//! `upstream`, `summary`/`details`, `severity`, `published`, `modified`,
//! `withdrawn`, `references`, `database_specific.severity`, and per
//! `affected[]` entry `package`, `ranges`, `versions` and `severity`.
//! Unknown fields are ignored, as the schema asks of readers. A record
//! that is withdrawn, or whose `affected` entries are all of ecosystems
//! this scanner does not order, yields no affected rows.

use serde::Deserialize;

use crate::advisory::{
    AdvisoryRecord, AffectedRecord, CvssScore, MAX_ID_LEN, MAX_LIST, MAX_URLS, Severity, bounded,
    ecosystem_key, one_line, package_key,
};
use crate::osv::range::{MAX_RANGES, MAX_VERSIONS, Range, RangeKind};
use crate::version::Ecosystem;

/// Largest OSV record read, in bytes (the largest on osv.dev are a few
/// MiB, listing thousands of versions).
pub const MAX_RECORD_BYTES: usize = 16 << 20;
/// Most `affected` entries per record.
pub const MAX_AFFECTED: usize = 10_000;

/// Why a record was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Over [`MAX_RECORD_BYTES`].
    #[error("the record is {size} bytes, over the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// Not OSV JSON.
    #[error("not an OSV record: {0}")]
    Invalid(String),
    /// A list over its limit.
    #[error("the record's {what} has {count} entries, over the limit of {max}")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Its length.
        count: usize,
        /// The limit.
        max: usize,
    },
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type", default)]
    kind: String,
    url: String,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: crate::advisory::VersionList,
    #[serde(default)]
    severity: Vec<RawSeverity>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

/// One OSV record read: what it is, and which packages it touches.
#[derive(Debug, Clone, PartialEq)]
pub struct OsvRecord {
    /// The advisory.
    pub advisory: AdvisoryRecord,
    /// Its `affected` entries of ecosystems this scanner orders.
    pub affected: Vec<AffectedRecord>,
    /// `affected` entries skipped because their ecosystem is not one this
    /// scanner orders (counted for `db build`'s summary).
    pub skipped: usize,
    /// Whether the record is withdrawn (then `affected` is empty).
    pub withdrawn: bool,
}

/// Read one OSV record from JSON bytes.
///
/// # Errors
///
/// [`RecordError`] when the bytes are too large, not OSV JSON, or list
/// more entries than the limits.
pub fn parse(bytes: &[u8]) -> Result<OsvRecord, RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge { size: bytes.len() });
    }
    let raw: Raw =
        serde_json::from_slice(bytes).map_err(|e| RecordError::Invalid(e.to_string()))?;
    if raw.id.is_empty() || raw.id.len() > MAX_ID_LEN {
        return Err(RecordError::Invalid(format!(
            "the id is empty or longer than {MAX_ID_LEN} bytes"
        )));
    }
    if raw.affected.len() > MAX_AFFECTED {
        return Err(RecordError::TooMany {
            what: "affected",
            count: raw.affected.len(),
            max: MAX_AFFECTED,
        });
    }
    let cvss = best_cvss(&raw.severity);
    let severity = raw
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse::<Severity>().ok());
    let mut aliases: Vec<String> = raw
        .aliases
        .into_iter()
        .chain(raw.upstream)
        .filter(|a| !a.is_empty() && a.len() <= MAX_ID_LEN && *a != raw.id)
        .collect();
    aliases.sort();
    aliases.dedup();
    aliases.truncate(MAX_LIST);
    let mut references = raw.references;
    // Advisory pages first: they say what to do.
    references.sort_by_key(|r| r.kind != "ADVISORY");
    let urls = references
        .into_iter()
        .map(|r| r.url)
        .filter(|u| u.len() <= 2048)
        .take(MAX_URLS)
        .collect();
    let summary = raw
        .summary
        .as_deref()
        .and_then(one_line)
        .or_else(|| raw.details.as_deref().and_then(one_line));
    let withdrawn = raw.withdrawn.is_some();
    let mut affected = Vec::new();
    let mut skipped = 0;
    if !withdrawn {
        for entry in raw.affected {
            let Some(package) = entry.package else {
                continue;
            };
            let (Ok(ecosystem), Some(key)) = (
                Ecosystem::from_osv(&package.ecosystem),
                ecosystem_key(&package.ecosystem),
            ) else {
                skipped += 1;
                continue;
            };
            if entry.ranges.len() > MAX_RANGES || entry.versions.len() > MAX_VERSIONS {
                return Err(RecordError::TooMany {
                    what: "affected[].ranges or versions",
                    count: entry.ranges.len().max(entry.versions.len()),
                    max: MAX_RANGES.min(MAX_VERSIONS),
                });
            }
            // Ubuntu rates per package: `{"type": "Ubuntu", "score": "medium"}`.
            let rating = entry
                .severity
                .iter()
                .find(|s| s.kind == "Ubuntu")
                .and_then(|s| s.score.parse::<Severity>().ok());
            // GIT ranges need the repository's history; the schema puts
            // their versions in `versions`, which is kept.
            let ranges: Vec<Range> = entry
                .ranges
                .into_iter()
                .filter(|r| matches!(r.kind, RangeKind::Ecosystem | RangeKind::Semver))
                .collect();
            affected.push(AffectedRecord {
                advisory: raw.id.clone(),
                ecosystem: key,
                package: package_key(ecosystem, &package.name),
                ranges,
                versions: entry.versions,
                state: None,
                severity: rating,
            });
        }
    }
    Ok(OsvRecord {
        advisory: AdvisoryRecord {
            id: raw.id,
            aliases,
            summary,
            severity,
            cvss,
            published: raw.published.map(|p| bounded(&p, 64)),
            modified: raw.modified.map(|m| bounded(&m, 64)),
            urls,
        },
        affected,
        skipped,
        withdrawn,
    })
}

/// The CVSS vector of the newest version the record gives (v4 over v3
/// over v2), scored.
fn best_cvss(severity: &[RawSeverity]) -> Option<CvssScore> {
    let rank = |kind: &str| match kind {
        "CVSS_V4" => 3,
        "CVSS_V3" => 2,
        "CVSS_V2" => 1,
        _ => 0,
    };
    let mut candidates: Vec<&RawSeverity> = severity.iter().filter(|s| rank(&s.kind) > 0).collect();
    candidates.sort_by_key(|s| std::cmp::Reverse(rank(&s.kind)));
    candidates
        .into_iter()
        .find_map(|s| CvssScore::parse(&s.score))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
      "id": "GHSA-aaaa-bbbb-cccc",
      "aliases": ["CVE-2023-0001"],
      "summary": "Request smuggling in Example",
      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
      "database_specific": {"severity": "HIGH"},
      "modified": "2024-01-02T00:00:00Z",
      "references": [{"type": "WEB", "url": "https://example.com/w"}, {"type": "ADVISORY", "url": "https://example.com/a"}],
      "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Example_Pkg"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]},
        {"package": {"ecosystem": "Hex", "name": "example"}, "versions": ["1.0"]}
      ]
    }"#;

    #[test]
    fn records_keep_what_matching_needs() {
        let r = parse(RECORD.as_bytes()).unwrap();
        assert_eq!(r.advisory.id, "GHSA-aaaa-bbbb-cccc");
        assert_eq!(r.advisory.cve(), Some("CVE-2023-0001"));
        assert_eq!(r.advisory.severity, Some(Severity::High));
        assert!((r.advisory.cvss.as_ref().unwrap().score - 7.5).abs() < 1e-9);
        assert_eq!(r.advisory.urls[0], "https://example.com/a");
        assert_eq!(r.affected.len(), 1);
        assert_eq!(r.affected[0].package, "example-pkg");
        assert_eq!(r.affected[0].ecosystem, "PyPI");
        assert_eq!(
            r.affected[0].fixed_versions().collect::<Vec<_>>(),
            ["1.2.3"]
        );
        assert_eq!(r.skipped, 1);
    }

    #[test]
    fn withdrawn_records_affect_nothing() {
        let text = RECORD.replace(
            r#""modified""#,
            r#""withdrawn": "2024-02-01T00:00:00Z", "modified""#,
        );
        let r = parse(text.as_bytes()).unwrap();
        assert!(r.withdrawn);
        assert!(r.affected.is_empty());
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        assert!(matches!(parse(b"{}"), Err(RecordError::Invalid(_))));
        assert!(matches!(parse(b"[1,2]"), Err(RecordError::Invalid(_))));
        assert!(matches!(
            parse(br#"{"id": ""}"#),
            Err(RecordError::Invalid(_))
        ));
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert!(matches!(parse(&big), Err(RecordError::TooLarge { .. })));
    }
}
