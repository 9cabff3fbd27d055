//! Alpine's security database (<https://secdb.alpinelinux.org/>): per
//! release and repository, `secfixes` lists the CVEs each package version
//! fixed. The same shape is published as JSON (`v3.19/main.json`) and, in
//! the older git repository, as YAML (`v3.11/main.yaml`).
//!
//! ```yaml
//! distroversion: v3.11
//! reponame: main
//! packages:
//!   - pkg:
//!       name: openssl          # the origin (source) package
//!       secfixes:
//!         1.1.1d-r0:
//!           - CVE-2019-1547
//!         0:
//!           - CVE-2019-0000    # "0": this release was never affected
//! ```
//!
//! Each (package, CVE) becomes an [`AffectedRecord`] affected below the
//! lowest version that lists it. secdb names only fixed CVEs: a
//! vulnerability Alpine has not fixed is not in it (Trivy and Grype read
//! it with the same gap).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::advisory::{AdvisoryRecord, AffectedRecord, MAX_ID_LEN, bounded};
use crate::osv::range::{Event, Range, RangeKind};
use crate::version::{Ecosystem, Version};

/// Largest secdb document read, in bytes (the biggest, `community`, is
/// about 2 MiB).
pub const MAX_SECDB_BYTES: usize = 64 << 20;

#[derive(Deserialize)]
struct RawSecdb {
    distroversion: String,
    #[serde(default)]
    packages: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    pkg: RawPackage,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: BTreeMap<String, Option<Vec<String>>>,
}

/// What a secdb document gave.
#[derive(Debug, Default)]
pub struct Secdb {
    /// The release it covers (`v3.11`).
    pub release: String,
    /// One bare record per CVE named.
    pub advisories: Vec<AdvisoryRecord>,
    /// One per (package, CVE).
    pub affected: Vec<AffectedRecord>,
}

/// Why a secdb document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecdbError {
    /// Over [`MAX_SECDB_BYTES`].
    #[error("the document is {0} bytes, over the {MAX_SECDB_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not secdb's shape (serde's message, with the line).
    #[error("not an Alpine secdb document: {0}")]
    Invalid(String),
    /// `distroversion` is not `vX.Y`.
    #[error("distroversion {0:?} is not an Alpine release such as v3.19")]
    Release(String),
}

/// Which syntax the document is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `*.json` from secdb.alpinelinux.org.
    Json,
    /// `*.yaml` from the old alpine-secdb repository.
    Yaml,
}

/// Read a secdb document.
///
/// # Errors
///
/// [`SecdbError`] naming what is wrong.
pub fn parse(bytes: &[u8], syntax: Syntax) -> Result<Secdb, SecdbError> {
    if bytes.len() > MAX_SECDB_BYTES {
        return Err(SecdbError::TooLarge(bytes.len()));
    }
    let raw: RawSecdb = match syntax {
        Syntax::Json => {
            serde_json::from_slice(bytes).map_err(|e| SecdbError::Invalid(e.to_string()))?
        }
        Syntax::Yaml => {
            serde_saphyr::from_slice(bytes).map_err(|e| SecdbError::Invalid(e.to_string()))?
        }
    };
    let release = raw.distroversion.trim().trim_start_matches('v').to_owned();
    let valid = release.split('.').count() == 2
        && release
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        || release == "edge";
    if !valid {
        return Err(SecdbError::Release(bounded(&raw.distroversion, 40)));
    }
    let ecosystem = format!("Alpine:v{release}");
    // (package, CVE) → the lowest version listing it.
    let mut lowest: BTreeMap<(String, String), (Version, String)> = BTreeMap::new();
    let mut never: std::collections::BTreeSet<(String, String)> = Default::default();
    for entry in raw.packages {
        let name = entry.pkg.name;
        if name.is_empty() || name.len() > 256 {
            continue;
        }
        for (version_text, ids) in entry.pkg.secfixes {
            for id in ids.iter().flatten().flat_map(|line| ids_in(line)) {
                let key = (name.clone(), id);
                if version_text.trim() == "0" {
                    never.insert(key);
                    continue;
                }
                let Ok(version) = Version::parse(Ecosystem::Alpine, version_text.trim()) else {
                    continue;
                };
                match lowest.get(&key) {
                    Some((seen, _)) if seen.compare(&version).is_ok_and(|o| o.is_le()) => {}
                    _ => {
                        lowest.insert(key, (version, version_text.trim().to_owned()));
                    }
                }
            }
        }
    }
    let mut out = Secdb {
        release: format!("v{release}"),
        ..Secdb::default()
    };
    let mut ids = std::collections::BTreeSet::new();
    for ((package, id), (_, fixed)) in lowest {
        if never.contains(&(package.clone(), id.clone())) {
            continue;
        }
        ids.insert(id.clone());
        out.affected.push(AffectedRecord {
            advisory: id,
            ecosystem: ecosystem.clone(),
            package,
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced("0".into()), Event::Fixed(fixed)],
            }],
            versions: Default::default(),
            state: None,
            severity: None,
        });
    }
    out.advisories = ids.iter().map(|id| AdvisoryRecord::bare(id)).collect();
    Ok(out)
}

/// The advisory ids in one `secfixes` line: `CVE-2019-1547`, several
/// separated by spaces, or an id followed by words (`XSA-123 (Xen)`).
fn ids_in(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split_whitespace()
        .filter(|t| {
            t.len() <= MAX_ID_LEN
                && t.split_once('-').is_some_and(|(prefix, rest)| {
                    !prefix.is_empty()
                        && prefix.bytes().all(|b| b.is_ascii_uppercase())
                        && !rest.is_empty()
                        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "---
distroversion: v3.11
reponame: main
packages:
  - pkg:
      name: openssl
      secfixes:
        1.1.1d-r0:
          - CVE-2019-1547
          - CVE-2019-1549 CVE-2019-1563
        1.1.1g-r0:
          - CVE-2019-1547
        1.10-r0:
          - XSA-123 (Xen)
        0:
          - CVE-2000-0001
  - pkg:
      name: musl
      secfixes:
        0:
          - CVE-2000-0001
";

    #[test]
    fn yaml_secfixes_become_fixed_ranges_at_the_lowest_version() {
        let db = parse(YAML.as_bytes(), Syntax::Yaml).unwrap();
        assert_eq!(db.release, "v3.11");
        let fixed = |id: &str| {
            db.affected
                .iter()
                .find(|r| r.advisory == id)
                .map(|r| r.fixed_versions().map(str::to_owned).collect::<Vec<_>>())
        };
        assert_eq!(fixed("CVE-2019-1547"), Some(vec!["1.1.1d-r0".to_owned()]));
        assert_eq!(fixed("CVE-2019-1563"), Some(vec!["1.1.1d-r0".to_owned()]));
        assert_eq!(
            fixed("XSA-123"),
            Some(vec!["1.10-r0".to_owned()]),
            "1.10 kept as text"
        );
        assert_eq!(fixed("CVE-2000-0001"), None, "0: never affected");
        assert!(db.affected.iter().all(|r| r.ecosystem == "Alpine:v3.11"));
    }

    #[test]
    fn json_secdb_reads_the_same() {
        let json = r#"{"distroversion": "v3.19", "reponame": "main", "packages": [
            {"pkg": {"name": "curl", "secfixes": {"8.5.0-r0": ["CVE-2023-46218"]}}}]}"#;
        let db = parse(json.as_bytes(), Syntax::Json).unwrap();
        assert_eq!(db.affected[0].ecosystem, "Alpine:v3.19");
        assert_eq!(db.affected[0].package, "curl");
    }

    #[test]
    fn bad_documents_are_named_errors() {
        assert!(matches!(
            parse(b"distroversion: [1", Syntax::Yaml),
            Err(SecdbError::Invalid(_))
        ));
        assert!(matches!(
            parse(br#"{"distroversion": "3", "packages": []}"#, Syntax::Json),
            Err(SecdbError::Release(_))
        ));
    }
}
