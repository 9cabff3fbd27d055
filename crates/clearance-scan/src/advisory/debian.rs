//! The Debian security tracker's JSON
//! (<https://security-tracker.debian.org/tracker/data/json>).
//!
//! Shape: `{SOURCE: {CVE: {description, releases: {CODENAME: {status,
//! fixed_version, urgency, nodsa, nodsa_reason, repositories}}}}}`. Read
//! as a stream: each (source, CVE, release) becomes one
//! [`AffectedRecord`] without the whole document held as a tree.
//!
//! How the tracker's words become records (the tracker's own "Tracker
//! status" legend):
//! - `resolved` with `fixed_version` `0`: the release never had the bug;
//!   no record;
//! - `resolved` with a version: affected below it;
//! - `open`: every version affected, with a [`DistroState`]:
//!   `unimportant` or `end-of-life` from the urgency; `nodsa_reason`
//!   `postponed` → postponed, `ignored` → will not fix; another `nodsa` →
//!   no-dsa; otherwise open;
//! - `undetermined`: every version, state undetermined.
//!
//! Urgencies `low`, `medium`, `high` (an `**` suffix marks them
//! unconfirmed and is dropped) are the record's distribution rating.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::advisory::{
    AdvisoryRecord, AffectedRecord, DistroState, MAX_ID_LEN, Severity, bounded, one_line,
};
use crate::osv::range::{Event, Range, RangeKind};

/// Most (source, CVE, release) rows one tracker document may give (the
/// real tracker gives about 1.5 million over all its releases).
pub const MAX_ROWS: usize = 10_000_000;

/// Debian releases by codename, with the `VERSION_ID` their images carry.
pub const RELEASES: [(&str, &str); 7] = [
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The version number of a Debian codename (`bookworm` → `12`); `sid`
/// for unstable.
pub fn release_number(codename: &str) -> Option<&'static str> {
    if codename == "sid" {
        return Some("sid");
    }
    RELEASES
        .iter()
        .find(|(name, _)| *name == codename)
        .map(|(_, number)| *number)
}

/// Most entries problems are kept for; the rest are counted.
const MAX_PROBLEMS_KEPT: usize = 20;

/// What a tracker document gave.
#[derive(Debug, Default)]
pub struct TrackerData {
    /// One per CVE (or `TEMP-` id), with its description's first line.
    pub advisories: Vec<AdvisoryRecord>,
    /// One per (source, CVE, release) that is affected in some version.
    pub affected: Vec<AffectedRecord>,
    /// Entries (source, CVE) not of the tracker's shape, skipped: the
    /// first [`MAX_PROBLEMS_KEPT`], one line each.
    pub problems: Vec<String>,
    /// How many entries were skipped in all.
    pub skipped: usize,
    /// How many entries were read in all.
    pub entries: usize,
}

/// Whether skipping this many of these entries means the document's shape
/// changed rather than a few entries being odd: over 1% of them (and over
/// 100). Importing what is left would then pass most packages unchecked.
fn too_many_skipped(skipped: usize, entries: usize) -> bool {
    skipped > 100 && skipped * 100 > entries
}

/// Why the document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// Not the tracker's JSON shape.
    #[error("not Debian security tracker JSON: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct RawIssue {
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, RawRelease>,
}

#[derive(Deserialize)]
struct RawRelease {
    status: Option<String>,
    fixed_version: Option<String>,
    urgency: Option<String>,
    nodsa: Option<String>,
    nodsa_reason: Option<String>,
}

/// Read a tracker document from a reader.
///
/// # Errors
///
/// [`TrackerError::Invalid`] when it is not the tracker's shape (the
/// message names where serde stopped), gives over [`MAX_ROWS`] rows, or
/// when over 1% of its entries are not of the tracker's shape (the format
/// changed; fewer are skipped and listed in [`TrackerData::problems`]).
pub fn parse(reader: impl std::io::Read) -> Result<TrackerData, TrackerError> {
    let mut data = TrackerData::default();
    let mut described: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    Sources {
        data: &mut data,
        described: &mut described,
    }
    .deserialize(&mut de)
    .map_err(|e| TrackerError::Invalid(e.to_string()))?;
    de.end().map_err(|e| TrackerError::Invalid(e.to_string()))?;
    if too_many_skipped(data.skipped, data.entries) {
        return Err(TrackerError::Invalid(format!(
            "{} of {} entries are not of the tracker's shape (the first: {}); its format may have changed",
            data.skipped,
            data.entries,
            data.problems.first().map_or("", String::as_str)
        )));
    }
    data.advisories = described
        .into_iter()
        .map(|(id, summary)| AdvisoryRecord {
            summary,
            ..AdvisoryRecord::bare(&id)
        })
        .collect();
    Ok(data)
}

struct Sources<'a> {
    data: &'a mut TrackerData,
    described: &'a mut BTreeMap<String, Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Sources<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Sources<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of source packages")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(source) = map.next_key::<String>()? {
            map.next_value_seed(Issues {
                source: &source,
                data: &mut *self.data,
                described: &mut *self.described,
            })?;
        }
        Ok(())
    }
}

struct Issues<'a> {
    source: &'a str,
    data: &'a mut TrackerData,
    described: &'a mut BTreeMap<String, Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Issues<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Issues<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of CVE ids")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(id) = map.next_key::<String>()? {
            if id.is_empty() || id.len() > MAX_ID_LEN {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // One entry at a time as a tree (they are small), so an entry
            // of another shape is skipped and named, not fatal.
            let value: serde_json::Value = map.next_value()?;
            self.data.entries += 1;
            let issue = match RawIssue::deserialize(value) {
                Ok(issue) => issue,
                Err(e) => {
                    self.data.skipped += 1;
                    if self.data.problems.len() < MAX_PROBLEMS_KEPT {
                        self.data.problems.push(format!(
                            "{}/{}: {e}; skipped",
                            one_line(self.source).unwrap_or_default(),
                            one_line(&id).unwrap_or_default()
                        ));
                    }
                    continue;
                }
            };
            let mut any = false;
            for (codename, release) in issue.releases {
                let Some(number) = release_number(&codename) else {
                    continue;
                };
                let Some(row) = row(self.source, &id, number, &release) else {
                    continue;
                };
                if self.data.affected.len() >= MAX_ROWS {
                    return Err(A::Error::custom(format!(
                        "more than {MAX_ROWS} (source, CVE, release) rows"
                    )));
                }
                self.data.affected.push(row);
                any = true;
            }
            if any {
                let summary = issue.description.as_deref().and_then(one_line);
                let entry = self.described.entry(id).or_insert(None);
                if entry.is_none() {
                    *entry = summary;
                }
            }
        }
        Ok(())
    }
}

/// The record one release's entry gives, if it is affected at all.
fn row(source: &str, id: &str, number: &str, release: &RawRelease) -> Option<AffectedRecord> {
    let urgency = release
        .urgency
        .as_deref()
        .map(|u| u.trim_end_matches('*'))
        .unwrap_or("");
    let severity = match urgency {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "unimportant" => Some(Severity::Negligible),
        _ => None,
    };
    let fixed = release.fixed_version.as_deref().filter(|v| !v.is_empty());
    let (ranges, state) = match release.status.as_deref() {
        Some("resolved") => match fixed {
            None | Some("0") => return None,
            Some(version) => (
                vec![Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![
                        Event::Introduced("0".into()),
                        Event::Fixed(bounded(version, 256)),
                    ],
                }],
                None,
            ),
        },
        Some("undetermined") => (Vec::new(), Some(DistroState::Undetermined)),
        Some("open") => {
            let state = if urgency == "unimportant" {
                DistroState::Unimportant
            } else if urgency == "end-of-life" {
                DistroState::EndOfLife
            } else {
                match (release.nodsa.as_deref(), release.nodsa_reason.as_deref()) {
                    (_, Some("postponed")) => DistroState::Postponed,
                    (_, Some("ignored")) => DistroState::WillNotFix,
                    (Some(_), _) => DistroState::NoDsa,
                    _ => DistroState::Open,
                }
            };
            (Vec::new(), Some(state))
        }
        _ => return None,
    };
    Some(AffectedRecord {
        advisory: id.to_owned(),
        ecosystem: format!("Debian:{number}"),
        package: source.to_owned(),
        ranges,
        versions: Default::default(),
        state,
        severity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACKER: &str = r#"{
      "openssl": {
        "CVE-2023-0464": {
          "description": "A security vulnerability has been identified in all supported versions\nof OpenSSL",
          "scope": "remote",
          "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "fixed_version": "3.0.8-1", "urgency": "not yet assigned"},
            "bullseye": {"status": "resolved", "repositories": {"bullseye": "1.1.1w-0+deb11u1"}, "fixed_version": "1.1.1t-0+deb11u2", "urgency": "medium**"},
            "sid": {"status": "resolved", "repositories": {"sid": "3.1.4-2"}, "fixed_version": "0", "urgency": "not yet assigned"}
          }
        },
        "CVE-2024-0001": {
          "description": "Minor timing leak",
          "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "postponed"},
            "bullseye": {"status": "open", "repositories": {}, "urgency": "not yet assigned", "nodsa": "Minor issue", "nodsa_reason": "ignored"},
            "buster": {"status": "open", "repositories": {}, "urgency": "end-of-life"},
            "trixie": {"status": "undetermined", "repositories": {}, "urgency": "not yet assigned"},
            "experimental": {"status": "open", "repositories": {}, "urgency": "low"}
          }
        }
      },
      "zlib": {"CVE-2018-25032": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "0"}}}}
    }"#;

    #[test]
    fn tracker_states_become_records() {
        let data = parse(TRACKER.as_bytes()).unwrap();
        let find = |id: &str, eco: &str| {
            data.affected
                .iter()
                .find(|r| r.advisory == id && r.ecosystem == eco)
                .cloned()
        };
        let fixed = find("CVE-2023-0464", "Debian:12").unwrap();
        assert_eq!(fixed.package, "openssl");
        assert_eq!(fixed.fixed_versions().collect::<Vec<_>>(), ["3.0.8-1"]);
        assert_eq!(fixed.state, None);
        assert_eq!(
            find("CVE-2023-0464", "Debian:11").unwrap().severity,
            Some(Severity::Medium)
        );
        assert!(
            find("CVE-2023-0464", "Debian:sid").is_none(),
            "fixed in 0: never affected"
        );
        assert_eq!(
            find("CVE-2024-0001", "Debian:12").unwrap().state,
            Some(DistroState::Postponed)
        );
        assert_eq!(
            find("CVE-2024-0001", "Debian:11").unwrap().state,
            Some(DistroState::WillNotFix)
        );
        assert_eq!(
            find("CVE-2024-0001", "Debian:10").unwrap().state,
            Some(DistroState::EndOfLife)
        );
        assert_eq!(
            find("CVE-2024-0001", "Debian:13").unwrap().state,
            Some(DistroState::Undetermined)
        );
        assert_eq!(
            data.affected.len(),
            6,
            "experimental is not a release images carry"
        );
        assert!(!data.advisories.iter().any(|a| a.id == "CVE-2018-25032"));
        let described = data
            .advisories
            .iter()
            .find(|a| a.id == "CVE-2023-0464")
            .unwrap();
        assert_eq!(
            described.summary.as_deref(),
            Some("A security vulnerability has been identified in all supported versions")
        );
    }

    #[test]
    fn other_shapes_are_refused_with_where() {
        assert!(matches!(parse(&b"[]"[..]), Err(TrackerError::Invalid(_))));
        let err = parse(&br#"{"openssl": [1, 2]}"#[..]).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    /// An entry of another shape is skipped and named, and the rest is
    /// read (the tracker was all-or-nothing: one odd entry failed the
    /// whole feed); when over 1% of the entries are odd, the format has
    /// changed and the document is refused rather than half imported.
    #[test]
    fn an_odd_entry_is_skipped_and_named_but_a_changed_format_is_refused() {
        let odd = TRACKER.replacen(
            r#""zlib": {"#,
            r#""curl": {"CVE-2099-1": {"releases": 5}, "CVE-2099-2": {"releases": {"bookworm": {"status": ["open"]}}}}, "zlib": {"#,
            1,
        );
        let data = parse(odd.as_bytes()).unwrap();
        assert_eq!(data.skipped, 2);
        assert_eq!(data.entries, 5);
        assert!(
            data.problems[0].starts_with("curl/CVE-2099-1: "),
            "{:?}",
            data.problems
        );
        assert_eq!(
            data.affected.len(),
            parse(TRACKER.as_bytes()).unwrap().affected.len(),
            "the good entries are all read"
        );
        let changed: Vec<String> = (0..150)
            .map(|i| {
                format!(
                    r#""pkg{i}": {{"CVE-2099-{i}": {{"releases": {{"bookworm": "resolved"}}}}}}"#
                )
            })
            .collect();
        let err = parse(format!("{{{}}}", changed.join(",")).as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("150 of 150 entries are not of the tracker's shape"),
            "{err}"
        );
    }
}
