//! Which feed a file is, and reading it into records, with bounds.
//!
//! `clearance db build --source PATH` and `db update` both end here:
//! [`read_path`] takes a file or a directory, [`read_bytes`] a downloaded
//! body. What a file is comes from its content, not its name alone:
//!
//! | content | feed |
//! |---|---|
//! | a zip (`PK\x03\x04`) | OSV per-ecosystem `all.zip`: every `*.json` member a record |
//! | gzip | decompressed (bounded), then sniffed again (EPSS ships `.csv.gz`) |
//! | JSON with `id` | one OSV record |
//! | JSON with `vulnerabilities` and `catalogVersion` | CISA KEV |
//! | JSON or YAML with `distroversion` | Alpine secdb |
//! | JSON object of objects keyed by CVE / `TEMP-` ids | Debian security tracker |
//! | text starting `#model_version` or `cve,epss` | EPSS CSV |
//!
//! A directory is read file by file (sorted, at most [`MAX_FILES`]); its
//! loose OSV records form one source named after the directory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::advisory::{
    AdvisoryRecord, AffectedRecord, EpssScore, KevEntry, alpine, debian, epss, kev,
};
use crate::osv::record::{self, MAX_RECORD_BYTES};

/// Largest source file read, in bytes (the Debian tracker's JSON is about
/// 80 MiB; an OSV `all.zip` of Debian about 60 MiB).
pub const MAX_SOURCE_BYTES: u64 = 1 << 30;
/// Largest size a gzip-compressed source may expand to, in bytes.
pub const MAX_GUNZIPPED_BYTES: u64 = 1 << 30;
/// Most files read from one directory tree or members from one zip.
pub const MAX_FILES: usize = 2_000_000;
/// Most problems kept per source; the rest are counted.
pub const MAX_PROBLEMS: usize = 20;

/// The kinds of feed Clearance reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedKind {
    /// OSV JSON records (a zip, a directory, or one file).
    Osv,
    /// The Debian security tracker's JSON.
    DebianTracker,
    /// Alpine secdb.
    AlpineSecdb,
    /// CISA KEV.
    Kev,
    /// FIRST EPSS.
    Epss,
}

impl FeedKind {
    /// The kebab-case name (`debian-tracker`).
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Osv => "osv",
            FeedKind::DebianTracker => "debian-tracker",
            FeedKind::AlpineSecdb => "alpine-secdb",
            FeedKind::Kev => "kev",
            FeedKind::Epss => "epss",
        }
    }
}

/// One source's records, ready to replace that source in the database.
#[derive(Debug)]
pub struct Import {
    /// The source's name in the database (`osv:PyPI`, `debian-tracker`,
    /// `alpine-secdb:v3.19/main`, `kev`, `epss`). Importing a source again
    /// replaces what it gave before.
    pub name: String,
    /// What feed it is.
    pub kind: FeedKind,
    /// Where it came from (a path or URL).
    pub origin: String,
    /// Advisory records.
    pub advisories: Vec<AdvisoryRecord>,
    /// Affected-package records.
    pub affected: Vec<AffectedRecord>,
    /// KEV entries.
    pub kev: Vec<KevEntry>,
    /// EPSS scores by CVE.
    pub epss: Vec<(String, EpssScore)>,
    /// How current the data is: the newest `modified` of its records, the
    /// catalog's release date, EPSS's score date.
    pub data_date: Option<String>,
    /// Records or members that could not be read (the first
    /// [`MAX_PROBLEMS`]), each naming the file.
    pub problems: Vec<String>,
    /// Problems past [`MAX_PROBLEMS`].
    pub problems_not_shown: usize,
    /// `affected` entries of ecosystems this scanner does not order.
    pub skipped: usize,
}

/// The imports of one build, with those that give the same source merged
/// into one (two files of one OSV ecosystem, a zip and a directory that
/// holds records of it too): importing them one after the other would
/// leave only the last, each replacing the source whole. A record both
/// give is taken from the later. Returns the merged imports, in the order
/// of first appearance, and the names of the sources merged.
pub fn merge_same_sources(imports: Vec<Import>) -> (Vec<Import>, Vec<String>) {
    let mut out: Vec<Import> = Vec::new();
    let mut merged = Vec::new();
    for import in imports {
        let Some(earlier) = out.iter_mut().find(|i| i.name == import.name) else {
            out.push(import);
            continue;
        };
        if !merged.contains(&import.name) {
            merged.push(import.name.clone());
        }
        let later: std::collections::HashSet<&str> =
            import.advisories.iter().map(|a| a.id.as_str()).collect();
        earlier
            .advisories
            .retain(|a| !later.contains(a.id.as_str()));
        earlier
            .affected
            .retain(|a| !later.contains(a.advisory.as_str()));
        earlier.advisories.extend(import.advisories);
        earlier.affected.extend(import.affected);
        earlier.kev.extend(import.kev);
        earlier.epss.extend(import.epss);
        earlier.data_date = earlier.data_date.take().max(import.data_date);
        earlier.origin = format!("{} + {}", earlier.origin, import.origin);
        for p in import.problems {
            earlier.problem(p);
        }
        earlier.problems_not_shown += import.problems_not_shown;
        earlier.skipped += import.skipped;
    }
    (out, merged)
}

impl Import {
    fn new(name: String, kind: FeedKind, origin: String) -> Import {
        Import {
            name,
            kind,
            origin,
            advisories: Vec::new(),
            affected: Vec::new(),
            kev: Vec::new(),
            epss: Vec::new(),
            data_date: None,
            problems: Vec::new(),
            problems_not_shown: 0,
            skipped: 0,
        }
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        } else {
            self.problems_not_shown += 1;
        }
    }
}

/// Loose OSV records, sorted into one [`Import`] per ecosystem (`osv:PyPI`,
/// `osv:Debian`), as osv.dev publishes them: a record goes with the
/// ecosystem of its first `affected` entry. Records that name no ecosystem
/// this scanner orders, and problems, go to `osv:<fallback>`.
struct OsvCollector {
    origin: String,
    fallback: String,
    imports: BTreeMap<String, Import>,
}

impl OsvCollector {
    fn new(origin: &str, fallback: &str) -> OsvCollector {
        OsvCollector {
            origin: origin.to_owned(),
            fallback: fallback.to_owned(),
            imports: BTreeMap::new(),
        }
    }

    fn import(&mut self, ecosystem: &str) -> &mut Import {
        let name = format!("osv:{ecosystem}");
        self.imports
            .entry(name.clone())
            .or_insert_with(|| Import::new(name, FeedKind::Osv, self.origin.clone()))
    }

    fn add(&mut self, member: &str, bytes: &[u8]) {
        match record::parse(bytes) {
            Ok(r) => {
                let ecosystem = r.affected.first().map_or_else(
                    || self.fallback.clone(),
                    |a| {
                        a.ecosystem
                            .split(':')
                            .next()
                            .unwrap_or(&a.ecosystem)
                            .to_owned()
                    },
                );
                let import = self.import(&ecosystem);
                // Go's vulndb writes `0001-01-01T00:00:00Z` for "unknown".
                if let Some(m) = &r.advisory.modified
                    && m.as_str() > "1990"
                    && import.data_date.as_ref().is_none_or(|d| d < m)
                {
                    import.data_date = Some(m.clone());
                }
                import.skipped += r.skipped;
                import.affected.extend(r.affected);
                import.advisories.push(r.advisory);
            }
            Err(e) => {
                let fallback = self.fallback.clone();
                self.import(&fallback).problem(format!("{member}: {e}"));
            }
        }
    }

    fn problem(&mut self, text: String) {
        let fallback = self.fallback.clone();
        self.import(&fallback).problem(text);
    }

    /// The imports. What went to the fallback source (records naming no
    /// ecosystem this scanner orders, such as withdrawn ones, and
    /// problems) joins the largest real source instead, when there is
    /// one, so a file's name never becomes a source of its own.
    fn finish(mut self) -> Vec<Import> {
        let fallback = format!("osv:{}", self.fallback);
        if self.imports.len() > 1
            && let Some(extra) = self.imports.remove(&fallback)
            && let Some(largest) = self.imports.values_mut().max_by_key(|i| i.advisories.len())
        {
            largest.advisories.extend(extra.advisories);
            largest.skipped += extra.skipped;
            for p in extra.problems {
                largest.problem(p);
            }
            largest.problems_not_shown += extra.problems_not_shown;
        }
        self.imports.into_values().collect()
    }
}

/// Why a source could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Over a size limit.
    #[error("{origin}: over the {limit}-byte limit for a feed")]
    TooLarge {
        /// The path or URL.
        origin: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Not a feed Clearance knows.
    #[error(
        "{origin}: could not tell which feed this is; `db build` reads OSV (.zip of records, one record .json, or a directory of them), the Debian security tracker JSON, Alpine secdb (.yaml or .json), the CISA KEV JSON and EPSS CSV (.csv or .csv.gz)"
    )]
    Unrecognised {
        /// The path or URL.
        origin: String,
    },
    /// Recognised, but broken.
    #[error("{origin}: {message}")]
    Invalid {
        /// The path or URL.
        origin: String,
        /// What was wrong.
        message: String,
    },
}

/// Read a file or directory into one [`Import`] per source it holds.
///
/// # Errors
///
/// [`SourceError`] when the path cannot be read or is no feed Clearance
/// knows; broken records inside a readable feed are [`Import::problems`].
pub fn read_path(path: &Path) -> Result<Vec<Import>, SourceError> {
    read_path_named(path, stem(path))
}

/// As [`read_path`], naming OSV records of no known ecosystem (withdrawn
/// ones) and problems `osv:<fallback>` instead of after the file (a
/// download's temporary name must not become a source).
///
/// # Errors
///
/// As [`read_path`].
pub fn read_path_named(path: &Path, fallback: &str) -> Result<Vec<Import>, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return read_dir(path);
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(SourceError::TooLarge {
            origin: path.display().to_string(),
            limit: MAX_SOURCE_BYTES,
        });
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut head).map_err(io)?;
    let origin = path.display().to_string();
    if head == b"PK\x03\x04" {
        let file = std::fs::File::open(path).map_err(io)?;
        return read_zip(file, &origin, fallback);
    }
    let bytes = read_file_bounded(path, MAX_SOURCE_BYTES).map_err(|e| match e {
        ReadBounded::Io(e) => io(e),
        ReadBounded::TooLarge => SourceError::TooLarge {
            origin: path.display().to_string(),
            limit: MAX_SOURCE_BYTES,
        },
    })?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    read_bytes(&bytes, &origin, yaml)
}

/// Read one downloaded or loaded feed body: one [`Import`] per source it
/// holds (an OSV zip of several ecosystems gives one per ecosystem).
/// `yaml` says the name ends in `.yaml` (secdb's old form; YAML has no
/// magic to sniff).
///
/// # Errors
///
/// As [`read_path`].
pub fn read_bytes(bytes: &[u8], origin: &str, yaml: bool) -> Result<Vec<Import>, SourceError> {
    read_one(bytes, origin, yaml)
}

fn read_one(bytes: &[u8], origin: &str, yaml: bool) -> Result<Vec<Import>, SourceError> {
    let invalid = |message: String| SourceError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    if bytes.starts_with(b"PK\x03\x04") {
        return read_zip(std::io::Cursor::new(bytes), origin, "osv");
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_GUNZIPPED_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| invalid(format!("gzip: {e}")))?;
        if out.len() as u64 > MAX_GUNZIPPED_BYTES {
            return Err(SourceError::TooLarge {
                origin: origin.to_owned(),
                limit: MAX_GUNZIPPED_BYTES,
            });
        }
        return read_one(&out, origin, yaml);
    }
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &bytes[i..]);
    if text_start.starts_with(b"#model_version") || text_start.starts_with(b"cve,epss") {
        let scores = epss::parse(text_start).map_err(|e| invalid(format!("EPSS: {e}")))?;
        let mut import = Import::new("epss".into(), FeedKind::Epss, origin.to_owned());
        import.data_date = scores.score_date.or(scores.model_version);
        import.epss = scores.scores;
        return Ok(vec![import]);
    }
    if yaml || text_start.starts_with(b"---") {
        return secdb(bytes, origin, alpine::Syntax::Yaml).map(|i| vec![i]);
    }
    if !text_start.starts_with(b"{") {
        return Err(SourceError::Unrecognised {
            origin: origin.to_owned(),
        });
    }
    // The top-level keys say which JSON feed this is; values are skipped
    // without being built.
    let top: BTreeMap<String, serde::de::IgnoredAny> =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("JSON: {e}")))?;
    if top.contains_key("vulnerabilities") && top.contains_key("catalogVersion") {
        let catalog = kev::parse(bytes).map_err(|e| invalid(e.to_string()))?;
        let mut import = Import::new("kev".into(), FeedKind::Kev, origin.to_owned());
        import.data_date = catalog.released.or(catalog.version);
        import.kev = catalog.entries;
        return Ok(vec![import]);
    }
    if top.contains_key("distroversion") {
        return secdb(bytes, origin, alpine::Syntax::Json).map(|i| vec![i]);
    }
    if top.contains_key("id") {
        let mut one = OsvCollector::new(origin, "unknown");
        one.add(origin, bytes);
        let imports = one.finish();
        if let Some(problem) = imports.iter().find_map(|i| i.problems.first()) {
            return Err(invalid(problem.clone()));
        }
        return Ok(imports);
    }
    if !top.is_empty() {
        let data = debian::parse(bytes).map_err(|e| invalid(e.to_string()))?;
        if data.affected.is_empty() && data.advisories.is_empty() {
            return Err(SourceError::Unrecognised {
                origin: origin.to_owned(),
            });
        }
        let mut import = Import::new(
            "debian-tracker".into(),
            FeedKind::DebianTracker,
            origin.to_owned(),
        );
        import.advisories = data.advisories;
        import.affected = data.affected;
        for p in data.problems {
            import.problem(p);
        }
        import.problems_not_shown += data
            .skipped
            .saturating_sub(import.problems.len() + import.problems_not_shown);
        return Ok(vec![import]);
    }
    Err(SourceError::Unrecognised {
        origin: origin.to_owned(),
    })
}

fn secdb(bytes: &[u8], origin: &str, syntax: alpine::Syntax) -> Result<Import, SourceError> {
    let db = alpine::parse(bytes, syntax).map_err(|e| SourceError::Invalid {
        origin: origin.to_owned(),
        message: e.to_string(),
    })?;
    let repository = std::path::Path::new(origin)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("main");
    let mut import = Import::new(
        format!("alpine-secdb:{}/{repository}", db.release),
        FeedKind::AlpineSecdb,
        origin.to_owned(),
    );
    import.advisories = db.advisories;
    import.affected = db.affected;
    Ok(import)
}

/// Every `*.json` member of an OSV zip, each at most [`MAX_RECORD_BYTES`].
fn read_zip(
    reader: impl Read + std::io::Seek,
    origin: &str,
    fallback: &str,
) -> Result<Vec<Import>, SourceError> {
    let invalid = |message: String| SourceError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| invalid(format!("zip: {e}")))?;
    if archive.len() > MAX_FILES {
        return Err(invalid(format!(
            "{} members, over the limit of {MAX_FILES}",
            archive.len()
        )));
    }
    let mut import = OsvCollector::new(origin, fallback);
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                import.problem(format!("member {i}: {e}"));
                continue;
            }
        };
        let name = match member.name() {
            Ok(n) => n.into_owned(),
            Err(e) => {
                import.problem(format!("member {i}: {e}"));
                continue;
            }
        };
        if !member.is_file() || !name.ends_with(".json") {
            continue;
        }
        if member.size() > MAX_RECORD_BYTES as u64 {
            import.problem(format!(
                "{name}: {} bytes, over the {MAX_RECORD_BYTES}-byte record limit",
                member.size()
            ));
            continue;
        }
        buf.clear();
        // The declared size is checked above; the reader is bounded too in
        // case the member inflates past it.
        if let Err(e) = (&mut member)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_to_end(&mut buf)
        {
            import.problem(format!("{name}: {e}"));
            continue;
        }
        import.add(&name, &buf);
    }
    Ok(import.finish())
}

fn read_dir(root: &Path) -> Result<Vec<Import>, SourceError> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| SourceError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| SourceError::Io {
                path: dir.clone(),
                source,
            })?;
            let kind = entry.file_type().map_err(|source| SourceError::Io {
                path: entry.path(),
                source,
            })?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
                if files.len() > MAX_FILES {
                    return Err(SourceError::Invalid {
                        origin: root.display().to_string(),
                        message: format!("more than {MAX_FILES} files"),
                    });
                }
            }
        }
    }
    files.sort();
    let origin = root.display().to_string();
    let mut osv = OsvCollector::new(&origin, stem(root));
    let mut out = Vec::new();
    for file in files {
        let is_json = file.extension().is_some_and(|e| e == "json");
        if is_json {
            let size = std::fs::metadata(&file)
                .map(|m| m.len())
                .unwrap_or(u64::MAX);
            if size <= MAX_RECORD_BYTES as u64 {
                let bytes =
                    read_file_bounded(&file, MAX_RECORD_BYTES as u64).map_err(|e| match e {
                        ReadBounded::Io(source) => SourceError::Io {
                            path: file.clone(),
                            source,
                        },
                        ReadBounded::TooLarge => SourceError::TooLarge {
                            origin: file.display().to_string(),
                            limit: MAX_RECORD_BYTES as u64,
                        },
                    })?;
                if looks_like_osv(&bytes) {
                    osv.add(&file.display().to_string(), &bytes);
                    continue;
                }
            }
        }
        match read_path(&file) {
            Ok(imports) => out.extend(imports),
            Err(SourceError::Unrecognised { .. }) if !is_json => {}
            Err(e) => return Err(e),
        }
    }
    out.extend(osv.finish());
    if out.is_empty() {
        return Err(SourceError::Unrecognised { origin });
    }
    Ok(out)
}

/// Whether a small JSON document is an OSV record (has `id` and one of
/// `modified`, `affected`) rather than another feed.
fn looks_like_osv(bytes: &[u8]) -> bool {
    let Ok(top) = serde_json::from_slice::<BTreeMap<String, serde::de::IgnoredAny>>(bytes) else {
        return false;
    };
    top.contains_key("id") && (top.contains_key("modified") || top.contains_key("affected"))
}

fn stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("osv")
}

/// Why [`read_file_bounded`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadBounded {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// It is longer than the limit.
    #[error("over the size limit")]
    TooLarge,
}

/// Read a file, a pipe or a device whole, stopping at `limit` bytes: its
/// size is not trusted (a pipe has none, a sparse file lies), so memory
/// never grows past the limit.
///
/// # Errors
///
/// [`ReadBounded::TooLarge`] past `limit`, [`ReadBounded::Io`] otherwise.
pub fn read_file_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadBounded> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(ReadBounded::TooLarge);
    }
    Ok(out)
}
