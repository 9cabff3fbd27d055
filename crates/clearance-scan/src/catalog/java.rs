//! Java archives: jar, war, ear and their kin ([`ARCHIVE_SUFFIXES`]), and
//! the Maven artifacts they hold.
//!
//! What an archive says about itself, in the order it is believed:
//! 1. every `META-INF/maven/GROUP/ARTIFACT/pom.properties` (Maven Archiver
//!    writes one per artifact; a shaded or "jar-with-dependencies" archive
//!    carries one for each artifact it swallowed, and each is a package:
//!    Log4Shell hid in such copies);
//! 2. when none of those is the archive itself (no pom's artifactId names
//!    the file), the file name (`log4j-core-2.14.1.jar`: artifactId and
//!    version) and the manifest's main section (`META-INF/MANIFEST.MF`, JAR
//!    File Specification "Main Attributes"): `Implementation-Version` or
//!    `Bundle-Version` when the name has no version, and a groupId from
//!    `Implementation-Vendor-Id` (Maven Archiver's default implementation
//!    entries), only from a manifest whose version is the archive's, since
//!    a shaded archive may carry the manifest of an artifact it swallowed.
//!
//! A package is named as OSV's Maven ecosystem names it, `GROUP:ARTIFACT`;
//! one whose groupId nothing states is listed by its artifactId alone, so
//! it appears in SBOMs but is never matched against an advisory by a
//! guessed name. Archives nested in an archive (Spring Boot's
//! `BOOT-INF/lib/`, a WAR's `WEB-INF/lib/`, an EAR's modules) are read the
//! same way to [`Limits::max_depth`] levels; their packages' paths name
//! the way in, `/app.jar!/BOOT-INF/lib/x.jar`, as a `jar:` URL does.
//!
//! A zip's central directory is at its end, and the local headers of
//! entries written by `java.util.zip` do not give their sizes, so an
//! archive cannot be read as it streams by: it is held in memory while
//! it is read, up to [`Limits::max_archive_bytes`], and larger ones are
//! reported, not read. Everything else is bounded too: the entries an
//! archive may have (counted by their central directory signatures before
//! the `zip` crate allocates anything for them), the bytes inflated in
//! all, each metadata file, each nested archive and their number. Nothing
//! is written anywhere: the `zip` crate's extraction is never called.

use std::io::{self, Cursor, Read};

use zip::ZipArchive;

use super::binary::{BinaryInventory, BinaryProblem};
use super::{Package, PackageType, escaped_message};

/// The file name endings of Java archives (as Syft's Java cataloger
/// knows them): jar, web (`.war`) and enterprise (`.ear`) archives, and
/// the plugin and module archives that are jars by another name (JBoss
/// `.par`/`.sar`, NiFi `.nar`, Jenkins `.jpi`/`.hpi`, Karaf `.kar`,
/// Liferay `.lpkg`). Matched without regard to case.
pub const ARCHIVE_SUFFIXES: [&str; 10] = [
    ".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg",
];

/// Most bytes of one archive file held while it is read (256 MiB: a fat
/// Spring Boot jar is 20–100 MB; the AWS SDK bundle, among the largest
/// jars published, is about 300 MB and is reported, not read).
pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
/// Most bytes one nested archive may inflate to.
pub const MAX_NESTED_BYTES: u64 = 64 << 20;
/// Most levels of archives inside the file (a jar in a war in an ear is 2).
pub const MAX_DEPTH: usize = 3;
/// Most entries one archive may have. The `zip` crate keeps about 180
/// bytes per entry, so this bounds its directory at about 45 MB; the
/// largest real jars have some tens of thousands.
pub const MAX_ENTRIES: usize = 250_000;
/// Most bytes inflated from one file, nested archives and metadata
/// together.
pub const MAX_INFLATED_BYTES: u64 = 1 << 30;
/// Most archives read from one file, itself and the nested ones.
pub const MAX_ARCHIVES: usize = 10_000;
/// Largest `pom.properties` or manifest read.
pub const MAX_METADATA_BYTES: u64 = 1 << 20;
/// Most bytes inflated from all the Java archives of one layer: the
/// per-file bound alone would let a layer of many small zip bombs keep a
/// scan busy for hours. The inventory passes what is left of it to each
/// file as its [`Limits::max_inflated_bytes`].
pub const MAX_INFLATED_PER_LAYER: u64 = 4 << 30;
/// Most problems said of one file; the rest are counted in one more.
pub const MAX_PROBLEMS_PER_FILE: usize = 20;
/// Longest entry name quoted in a path; longer ones are cut, with `…`.
pub const MAX_NAME_CHARS: usize = 256;

/// The bounds [`inspect_with`] keeps; [`Limits::default`] is the
/// constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`MAX_ARCHIVE_BYTES`].
    pub max_archive_bytes: u64,
    /// [`MAX_NESTED_BYTES`].
    pub max_nested_bytes: u64,
    /// [`MAX_DEPTH`].
    pub max_depth: usize,
    /// [`MAX_ENTRIES`].
    pub max_entries: usize,
    /// [`MAX_INFLATED_BYTES`].
    pub max_inflated_bytes: u64,
    /// [`MAX_ARCHIVES`].
    pub max_archives: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_archive_bytes: MAX_ARCHIVE_BYTES,
            max_nested_bytes: MAX_NESTED_BYTES,
            max_depth: MAX_DEPTH,
            max_entries: MAX_ENTRIES,
            max_inflated_bytes: MAX_INFLATED_BYTES,
            max_archives: MAX_ARCHIVES,
        }
    }
}

/// Whether a file's name (the last part of `path`) ends as a Java
/// archive's does ([`ARCHIVE_SUFFIXES`]).
pub fn is_archive_name(path: &str) -> bool {
    archive_stem(path.rsplit('/').next().unwrap_or(path)).is_some()
}

/// A file name without its archive ending (`log4j-core-2.14.1` of
/// `log4j-core-2.14.1.JAR`), or `None` when it has none or nothing before
/// it (`.jar`).
fn archive_stem(name: &str) -> Option<&str> {
    ARCHIVE_SUFFIXES.iter().find_map(|suffix| {
        let cut = name.len().checked_sub(suffix.len())?;
        let end = name.get(cut..)?;
        (cut > 0 && end.eq_ignore_ascii_case(suffix)).then(|| &name[..cut])
    })
}

/// Read the Java archive of `size` bytes that `content` yields (the file
/// at absolute image path `path`) with the default [`Limits`]: its Maven
/// packages, and what could not be read of it.
///
/// # Errors
///
/// Only `content`'s read errors: the layer's, not the file's. An archive
/// that is not a zip, is too large or breaks a limit is a
/// [`BinaryProblem`] in the result.
pub fn inspect(path: &str, content: &mut dyn Read, size: u64) -> io::Result<BinaryInventory> {
    inspect_with(path, content, size, Limits::default()).map(|(found, _)| found)
}

/// [`inspect`] with other bounds; also returns the bytes inflated, for a
/// caller that keeps a budget across files ([`MAX_INFLATED_PER_LAYER`]).
/// An archive that cannot be read at all, or is too large to hold, is
/// still known by its file name (`log4j-core-2.14.1.jar`) when that
/// gives a version.
///
/// # Errors
///
/// As [`inspect`].
pub fn inspect_with(
    path: &str,
    content: &mut dyn Read,
    size: u64,
    limits: Limits,
) -> io::Result<(BinaryInventory, u64)> {
    let mut walk = Walk {
        path: path.to_owned(),
        limits,
        inflated: 0,
        archives: 0,
        said_archives: false,
        said_budget: false,
        problems_not_said: 0,
        found: BinaryInventory::default(),
    };
    if size > limits.max_archive_bytes {
        walk.problem(BinaryProblem::JavaArchiveTooLarge {
            path: path.to_owned(),
            size,
            limit: limits.max_archive_bytes,
        });
        walk.by_file_name(path);
        return Ok(walk.finish());
    }
    // The declared size is not trusted for the allocation.
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
    content.take(size).read_to_end(&mut bytes)?;
    walk.archive(path, &bytes, 0);
    Ok(walk.finish())
}

/// Where the file ends in a package's path: the part before the first
/// `!/` that follows a Java archive's name (`/app/app.jar` of
/// `/app/app.jar!/BOOT-INF/lib/x.jar`), or the whole path. A directory
/// may have `!` in its name (`/app/bang!/x.jar`); only an archive's name
/// before `!/` counts.
pub fn outer_file(path: &str) -> &str {
    path.match_indices("!/")
        .map(|(at, _)| &path[..at])
        .find(|prefix| is_archive_name(prefix))
        .unwrap_or(path)
}

/// One file's reading: its bounds, what they have used, what was found.
struct Walk {
    /// The file's absolute image path.
    path: String,
    limits: Limits,
    inflated: u64,
    archives: usize,
    said_archives: bool,
    said_budget: bool,
    problems_not_said: usize,
    found: BinaryInventory,
}

/// What `pom.properties` says: Maven coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
}

impl Walk {
    /// Say a problem, unless [`MAX_PROBLEMS_PER_FILE`] were said already.
    fn problem(&mut self, problem: BinaryProblem) {
        if self.found.problems.len() < MAX_PROBLEMS_PER_FILE {
            self.found.problems.push(problem);
        } else {
            self.problems_not_said += 1;
        }
    }

    fn unreadable(&mut self, path: String, reason: String) {
        self.problem(BinaryProblem::JavaArchiveUnreadable { path, reason });
    }

    fn incomplete(&mut self, path: String, reason: String) {
        self.problem(BinaryProblem::JavaArchiveIncomplete { path, reason });
    }

    /// What was found, with the problems not said counted, and the bytes
    /// inflated.
    fn finish(mut self) -> (BinaryInventory, u64) {
        if self.problems_not_said > 0 {
            self.found
                .problems
                .push(BinaryProblem::JavaArchiveIncomplete {
                    path: self.path,
                    reason: format!(
                        "{} more problems in this file are not shown",
                        self.problems_not_said
                    ),
                });
        }
        (self.found, self.inflated)
    }

    /// The archive at `label` known by its file name alone, when that
    /// gives a version (it could not be read).
    fn by_file_name(&mut self, label: &str) {
        let file_name = label.rsplit('/').next().unwrap_or(label);
        if let Some((name, version)) = own_identity(file_name, &[], &[]) {
            self.add(label, name, &version);
        }
    }

    /// Read the archive `bytes`, at `label` (its path, with `!/` before
    /// each nested part), `depth` levels down.
    fn archive(&mut self, label: &str, bytes: &[u8], depth: usize) {
        self.archives += 1;
        // Each entry the `zip` crate records starts with this signature and
        // takes at least 46 bytes, so an archive too small to hold more
        // entries than allowed needs no count; for a larger one, counting
        // the signatures bounds what the crate allocates, whatever the end
        // of central directory record claims (stored data that looks like
        // them counts too: such an archive is known by its name alone).
        let could_hold = bytes.len() / 46;
        let signatures = if could_hold > self.limits.max_entries {
            memchr::memmem::find_iter(bytes, b"PK\x01\x02")
                .take(self.limits.max_entries + 1)
                .count()
        } else {
            0
        };
        if signatures > self.limits.max_entries {
            self.incomplete(
                label.to_owned(),
                format!(
                    "has more than {} entries; not read",
                    self.limits.max_entries
                ),
            );
            self.by_file_name(label);
            return;
        }
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(zip) => zip,
            Err(e) => {
                self.unreadable(
                    label.to_owned(),
                    format!(
                        "not a readable zip archive ({})",
                        escaped_message(&e.to_string())
                    ),
                );
                self.by_file_name(label);
                return;
            }
        };
        if zip.has_duplicate_names() {
            self.incomplete(
                label.to_owned(),
                "has entries of the same name, of which only the last is read".to_owned(),
            );
        }
        let mut manifest = None;
        let mut poms = Vec::new();
        let mut nested = Vec::new();
        for index in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(index) else {
                continue;
            };
            if name.ends_with('/') {
                continue;
            }
            if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest = Some(index);
            } else if is_pom_properties(&name) {
                poms.push((index, name.into_owned()));
            } else if is_archive_name(&name) {
                nested.push((index, name.into_owned()));
            }
        }
        let mut coordinates: Vec<Coordinates> = Vec::new();
        for (index, name) in poms {
            let Some(text) = self.read_entry(&mut zip, index, label, MAX_METADATA_BYTES) else {
                continue;
            };
            match pom_properties(&text) {
                Ok(c) if !coordinates.contains(&c) => coordinates.push(c),
                Ok(_) => {}
                Err(reason) => self.unreadable(format!("{label}!/{}", capped(&name)), reason),
            }
        }
        let manifest = manifest
            .and_then(|index| self.read_entry(&mut zip, index, label, MAX_METADATA_BYTES))
            .map(|text| main_attributes(&text))
            .unwrap_or_default();
        let file_name = label.rsplit('/').next().unwrap_or(label);
        for c in &coordinates {
            self.add(label, format!("{}:{}", c.group, c.artifact), &c.version);
        }
        if let Some((name, version)) = own_identity(file_name, &coordinates, &manifest)
            && !coordinates
                .iter()
                .any(|c| format!("{}:{}", c.group, c.artifact) == name && c.version == version)
        {
            self.add(label, name, &version);
        }
        for (index, name) in nested {
            let inner = format!("{label}!/{}", capped(&name));
            if depth + 1 > self.limits.max_depth {
                self.incomplete(
                    inner,
                    format!(
                        "an archive nested more than {} levels deep; not read",
                        self.limits.max_depth
                    ),
                );
                continue;
            }
            if self.archives >= self.limits.max_archives {
                if !self.said_archives {
                    self.said_archives = true;
                    self.incomplete(
                        inner,
                        format!(
                            "the file holds more than {} archives; this one and the rest are not read",
                            self.limits.max_archives
                        ),
                    );
                }
                break;
            }
            let max = self.limits.max_nested_bytes;
            if let Some(bytes) = self.read_entry(&mut zip, index, label, max) {
                self.archive(&inner, &bytes, depth + 1);
            }
        }
    }

    /// A package found in the archive at `label`.
    fn add(&mut self, label: &str, name: String, version: &str) {
        let package = Package::language(PackageType::Maven, name, version.to_owned(), label);
        if !self.found.packages.contains(&package) {
            self.found.packages.push(package);
        }
    }

    /// The entry at `index` of the archive at `label`, inflated, when it
    /// is at most `max` bytes and within the file's inflation budget; a
    /// problem naming it otherwise.
    fn read_entry(
        &mut self,
        zip: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        label: &str,
        max: u64,
    ) -> Option<Vec<u8>> {
        let left = self.limits.max_inflated_bytes.saturating_sub(self.inflated);
        let name = zip
            .name_for_index(index)
            .and_then(Result::ok)
            .map(|n| n.into_owned())
            .unwrap_or_default();
        let path = format!("{label}!/{}", capped(&name));
        let mut entry = match zip.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                self.unreadable(
                    path,
                    format!("cannot be read ({})", escaped_message(&e.to_string())),
                );
                return None;
            }
        };
        let declared = entry.size();
        if declared > max {
            drop(entry);
            self.incomplete(
                path,
                format!("declares {declared} bytes, over the {max} read of such an entry"),
            );
            return None;
        }
        if declared > left {
            drop(entry);
            if !self.said_budget {
                self.said_budget = true;
                self.incomplete(
                    path,
                    format!(
                        "the archives inflate to more than the {} bytes read of one file (or of the layer's Java archives); this entry and larger ones after it are not read",
                        self.limits.max_inflated_bytes
                    ),
                );
            }
            return None;
        }
        // The declared size is not believed either: at most one byte past
        // it is read, to tell.
        let mut out = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
        let read = (&mut entry).take(declared + 1).read_to_end(&mut out);
        drop(entry);
        self.inflated += out.len() as u64;
        match read {
            Err(e) => {
                self.unreadable(
                    path,
                    format!("cannot be inflated ({})", escaped_message(&e.to_string())),
                );
                None
            }
            Ok(_) if out.len() as u64 != declared => {
                self.unreadable(
                    path,
                    format!(
                        "inflates to another size than the {declared} bytes its header declares"
                    ),
                );
                None
            }
            Ok(_) => Some(out),
        }
    }
}

/// Whether an entry is a Maven `pom.properties`:
/// `…META-INF/maven/GROUP/ARTIFACT/pom.properties`.
fn is_pom_properties(name: &str) -> bool {
    let Some(rest) = name.strip_suffix("/pom.properties") else {
        return false;
    };
    let parts: Vec<&str> = rest.rsplitn(4, '/').collect();
    match parts[..] {
        [artifact, group, "maven", meta] => {
            !artifact.is_empty()
                && !group.is_empty()
                && (meta == "META-INF" || meta.ends_with("/META-INF"))
        }
        _ => false,
    }
}

/// The coordinates a `pom.properties` gives (a Java properties file,
/// `java.util.Properties.load`: `key=value`, `key: value` or `key value`,
/// `#` and `!` comments, `\` escapes and line continuations).
fn pom_properties(bytes: &[u8]) -> Result<Coordinates, String> {
    // `Properties.load(InputStream)` reads ISO-8859-1.
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut group = None;
    let mut artifact = None;
    let mut version = None;
    for (key, value) in properties(&text) {
        match key.as_str() {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    let field = |value: Option<String>, name: &str| match value {
        Some(v) if is_coordinate(&v) => Ok(v),
        Some(v) => Err(format!(
            "pom.properties gives {name} {}, which is not a Maven coordinate",
            super::quoted(&v)
        )),
        None => Err(format!("pom.properties gives no {name}")),
    };
    Ok(Coordinates {
        group: field(group, "groupId")?,
        artifact: field(artifact, "artifactId")?,
        version: field(version, "version")?,
    })
}

/// Whether a value can be a Maven groupId, artifactId or version: not
/// empty, printable ASCII only (no space, control or invisible Unicode
/// such as a right-to-left override), no `/` or `:`, and no unexpanded
/// `${property}`.
fn is_coordinate(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && !value.contains("${")
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '/' && c != ':')
}

/// The key-value pairs of a Java properties file.
fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    // `\r`, `\n` and `\r\n` each end a line.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            if lines.clone().next().is_some() {
                continue;
            }
        } else {
            logical.push_str(line);
        }
        let entry = std::mem::take(&mut logical);
        if let Some(pair) = key_value(&entry) {
            out.push(pair);
        }
    }
    out
}

/// One logical properties line split at its first unescaped `=`, `:` or
/// whitespace, both sides unescaped.
fn key_value(line: &str) -> Option<(String, String)> {
    if line.is_empty() {
        return None;
    }
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.push(unescape(&mut chars)),
            '=' | ':' => break,
            c if c.is_whitespace() => {
                // Whitespace, then perhaps one `=` or `:`.
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                chars.next_if(|c| *c == '=' || *c == ':');
                break;
            }
            c => key.push(c),
        }
    }
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            value.push(unescape(&mut chars));
        } else {
            value.push(c);
        }
    }
    Some((key, value.trim_end().to_owned()))
}

/// The character a `\` escape stands for (`\t`, `\n`, `\uXXXX`, or the
/// next character itself).
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    match chars.next() {
        Some('t') => '\t',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('f') => '\u{c}',
        Some('u') => {
            let hex: String = (0..4).filter_map(|_| chars.next()).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
        }
        Some(c) => c,
        None => '\\',
    }
}

/// A manifest's main section (JAR File Specification, "Manifest
/// Specification"): `Name: value` lines up to the first empty line, a line
/// that starts with one space continuing the one before. Names are
/// case-insensitive: the keys are lower case.
fn main_attributes(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    // `\r`, `\n` and `\r\n` each end a line; a continuation continues the
    // line, even inside a header's name.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            break;
        }
        match (line.strip_prefix(' '), lines.last_mut()) {
            (Some(more), Some(last)) => last.push_str(more),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
        .iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

/// The archive's own package when no `pom.properties` is the archive
/// itself: its name (`GROUP:ARTIFACT`, or the artifactId alone when no
/// groupId is stated) and version.
fn own_identity(
    file_name: &str,
    poms: &[Coordinates],
    manifest: &[(String, String)],
) -> Option<(String, String)> {
    let stem = archive_stem(file_name).unwrap_or(file_name);
    let named = poms
        .iter()
        .any(|c| stem == c.artifact || stem.starts_with(&format!("{}-", c.artifact)));
    let (artifact, file_version) = split_file_name(stem);
    if named || (!poms.is_empty() && file_version.is_none()) {
        return None;
    }
    let attribute = |name: &str| {
        manifest
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| is_coordinate(v))
    };
    let stated = attribute("implementation-version").or_else(|| attribute("bundle-version"));
    // A file name's version first: manifests carry OSGi qualifiers
    // (`2.12.18.v20230518-020143-VFINAL`), and a shaded archive may carry
    // the manifest of an artifact it swallowed.
    let version = file_version.filter(|v| is_coordinate(v)).or(stated)?;
    if !is_coordinate(artifact) {
        return None;
    }
    // A groupId only from a manifest that describes this version.
    let describes = stated.is_some_and(|v| same_release(v, version));
    // A symbolic name is not used: `com.google.gson` could be
    // maven-bundle-plugin's GROUP.ARTIFACT or a group of its own, and is
    // neither (Gson's group is `com.google.code.gson`).
    let group = attribute("implementation-vendor-id").filter(|g| looks_like_group(g) && describes);
    let name = match group {
        Some(group) => format!("{group}:{artifact}"),
        None => artifact.to_owned(),
    };
    Some((name, version.to_owned()))
}

/// Whether a manifest value can be a groupId: dotted, as groupIds are
/// (`org.apache.logging.log4j`), not a vendor's display name.
fn looks_like_group(value: &str) -> bool {
    value.contains('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A file name's stem split into artifactId and version before its last
/// `-` part that starts with a digit after one that does not
/// (`log4j-core-2.14.1` → `log4j-core`, `2.14.1`; `log4j-1.2-api-2.14.1`
/// → `log4j-1.2-api`, `2.14.1`; `guava-31.1-jre` → `guava`, `31.1-jre`;
/// `jcip-annotations-1.0-1` → `jcip-annotations`, `1.0-1`). A classifier
/// stays in the version (`3.12.0-tests`), as it cannot be told from a
/// qualifier (`31.1-jre`).
fn split_file_name(stem: &str) -> (&str, Option<&str>) {
    let mut split = None;
    let mut previous_starts_with_digit = true;
    let mut at = 0;
    for (i, part) in stem.split('-').enumerate() {
        let digit = part.starts_with(|c: char| c.is_ascii_digit());
        if i > 0 && digit && !previous_starts_with_digit {
            split = Some(at);
        }
        previous_starts_with_digit = digit;
        at += part.len() + 1;
    }
    match split {
        Some(at) => (&stem[..at - 1], Some(&stem[at..])),
        None => (stem, None),
    }
}

/// Whether a manifest's version `stated` is the release `version` names:
/// the same, or it with a qualifier (`2.12.18.v20230518-…` for `2.12.18`),
/// not a longer release (`2.14.1` is not release `2`).
fn same_release(stated: &str, version: &str) -> bool {
    match stated.strip_prefix(version) {
        Some("") => true,
        Some(rest) => {
            let mut chars = rest.chars();
            matches!(chars.next(), Some('.' | '-' | '_' | '+'))
                && !chars.next().is_some_and(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// An entry's name for a path: at most [`MAX_NAME_CHARS`] characters.
fn capped(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }
    let mut out: String = name.chars().take(MAX_NAME_CHARS).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(dead_code)]
    mod java_archive {
        include!("../../tests/support/java_archive.rs");
    }
    use java_archive::{Method, pom};

    /// A zip of `(name, content)` entries, deflated or stored.
    fn archive(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
        let method = if stored {
            Method::Stored
        } else {
            Method::Deflated
        };
        java_archive::archive(entries, method)
    }

    fn read(path: &str, bytes: &[u8], limits: Limits) -> BinaryInventory {
        inspect_with(path, &mut &bytes[..], bytes.len() as u64, limits)
            .unwrap()
            .0
    }

    fn listed(found: &BinaryInventory) -> Vec<(&str, &str, &str, &str)> {
        found
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.purl.as_str(),
                    p.path.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn pom_properties_name_the_archive_and_what_it_shaded() {
        let pom_core = pom("org.apache.logging.log4j", "log4j-core", "2.14.1");
        let pom_api = pom("org.apache.logging.log4j", "log4j-api", "2.14.1");
        let jar = archive(
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Manifest-Version: 1.0\r\nImplementation-Version: 9.9\r\n\r\n",
                ),
                (
                    "org/apache/logging/log4j/core/Logger.class",
                    b"\xca\xfe\xba\xbe",
                ),
                (
                    "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                    &pom_core,
                ),
                (
                    "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.xml",
                    b"<project/>",
                ),
                (
                    "META-INF/maven/org.apache.logging.log4j/log4j-api/pom.properties",
                    &pom_api,
                ),
            ],
            false,
        );
        let found = read(
            "/opt/app/lib/log4j-core-2.14.1.jar",
            &jar,
            Limits::default(),
        );
        assert_eq!(found.problems, []);
        // The manifest's version is not a second package: a pom names the
        // archive itself.
        assert_eq!(
            listed(&found),
            [
                (
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1",
                    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                    "/opt/app/lib/log4j-core-2.14.1.jar"
                ),
                (
                    "org.apache.logging.log4j:log4j-api",
                    "2.14.1",
                    "pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1",
                    "/opt/app/lib/log4j-core-2.14.1.jar"
                ),
            ]
        );
    }

    #[test]
    fn without_a_pom_the_manifest_and_file_name_identify_the_archive() {
        // Maven Archiver's default implementation entries give a groupId.
        let jar = archive(
            &[(
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: Commons Text\nImplementation-Vendor-Id: org.apache.co\n mmons\nImplementation-Version: 1.9\n\nName: org/x/\nImplementation-Version: 7\n",
            )],
            false,
        );
        let found = read("/app/commons-text-1.9.jar", &jar, Limits::default());
        assert_eq!(
            listed(&found),
            [(
                "org.apache.commons:commons-text",
                "1.9",
                "pkg:maven/org.apache.commons/commons-text@1.9",
                "/app/commons-text-1.9.jar"
            )]
        );
        // A vendor's display name is not a groupId: the artifactId alone,
        // with the bundle version.
        let jar = archive(
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Vendor-Id: The Apache Software Foundation\nBundle-Version: 2.0.1\n",
            )],
            true,
        );
        let found = read("/app/widget.JAR", &jar, Limits::default());
        assert_eq!(listed(&found)[0].0, "widget");
        assert_eq!(listed(&found)[0].1, "2.0.1");
        // No manifest either: the file name's version.
        let jar = archive(&[("a/B.class", b"\xca\xfe\xba\xbe")], false);
        let found = read("/app/guava-31.1-jre.jar", &jar, Limits::default());
        assert_eq!(
            listed(&found),
            [(
                "guava",
                "31.1-jre",
                "pkg:maven/guava@31.1-jre",
                "/app/guava-31.1-jre.jar"
            )]
        );
        // Nothing to go by: nothing listed, nothing to complain of.
        let found = read("/app/app.jar", &jar, Limits::default());
        assert_eq!(found, BinaryInventory::default());
    }

    #[test]
    fn a_manifest_names_the_group_only_when_it_describes_the_file() {
        // hadoop-client-runtime-3.3.4.jar carries the manifest of a shaded
        // protobuf, 1.1.1 of org.apache.hadoop.thirdparty, and poms of
        // what it swallowed: the file is 3.3.4, of no stated group.
        let jar = archive(
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Implementation-Vendor-Id: org.apache.hadoop.thirdparty\nImplementation-Version: 1.1.1\n",
                ),
                (
                    "META-INF/maven/com.google.guava/guava/pom.properties",
                    &pom("com.google.guava", "guava", "30.1.1-jre"),
                ),
            ],
            false,
        );
        let found = read(
            "/jars/hadoop-client-runtime-3.3.4.jar",
            &jar,
            Limits::default(),
        );
        let got: Vec<_> = listed(&found).iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(
            got,
            [
                ("com.google.guava:guava", "30.1.1-jre"),
                ("hadoop-client-runtime", "3.3.4")
            ]
        );
        // The file name's version over the OSGi-qualified one; a symbolic
        // name is no groupId (Gson's would read `com.google`).
        let jar = archive(
            &[(
                "META-INF/MANIFEST.MF",
                b"Bundle-SymbolicName: org.scala-lang.scala-library;singleton:=true\nBundle-Version: 2.12.18.v20230518-020143-VFINAL-ceaf7e6\n",
            )],
            false,
        );
        let found = read("/jars/scala-library-2.12.18.jar", &jar, Limits::default());
        assert_eq!(listed(&found)[0].2, "pkg:maven/scala-library@2.12.18");
        let jar = archive(
            &[(
                "META-INF/MANIFEST.MF",
                b"Bundle-SymbolicName: com.google.gson\nBundle-Version: 2.2.4\n",
            )],
            false,
        );
        let found = read("/jars/gson-2.2.4.jar", &jar, Limits::default());
        assert_eq!(listed(&found)[0].0, "gson");
    }

    #[test]
    fn nested_archives_are_read_with_their_way_in_as_path() {
        let lib = archive(
            &[(
                "META-INF/maven/org.springframework/spring-core/pom.properties",
                &pom("org.springframework", "spring-core", "5.3.20"),
            )],
            false,
        );
        // Spring Boot stores nested jars uncompressed; a WAR deflates them.
        let boot = archive(
            &[
                (
                    "META-INF/maven/com.example/demo/pom.properties",
                    &pom("com.example", "demo", "0.0.1-SNAPSHOT"),
                ),
                ("BOOT-INF/lib/spring-core-5.3.20.jar", &lib),
            ],
            true,
        );
        let war = archive(&[("WEB-INF/lib/demo.jar", &boot)], false);
        let found = read("/srv/app.war", &war, Limits::default());
        assert_eq!(found.problems, []);
        let got: Vec<_> = listed(&found).iter().map(|p| (p.0, p.3)).collect();
        assert_eq!(
            got,
            [
                ("com.example:demo", "/srv/app.war!/WEB-INF/lib/demo.jar"),
                (
                    "org.springframework:spring-core",
                    "/srv/app.war!/WEB-INF/lib/demo.jar!/BOOT-INF/lib/spring-core-5.3.20.jar"
                ),
            ]
        );
        // One level less allowed: the innermost is said, not read.
        let limits = Limits {
            max_depth: 1,
            ..Limits::default()
        };
        let found = read("/srv/app.war", &war, limits);
        assert_eq!(listed(&found).len(), 1);
        assert!(matches!(
            &found.problems[..],
            [BinaryProblem::JavaArchiveIncomplete { path, .. }]
                if path == "/srv/app.war!/WEB-INF/lib/demo.jar!/BOOT-INF/lib/spring-core-5.3.20.jar"
        ));
    }

    #[test]
    fn bounds_are_kept_and_said() {
        let big = vec![b'x'; 4096];
        let jar = archive(&[("lib/inner.jar", &big), ("a", b"1"), ("b", b"2")], false);
        // Too large to hold: not read at all.
        let limits = Limits {
            max_archive_bytes: 100,
            ..Limits::default()
        };
        let found = read("/a.jar", &jar, limits);
        assert!(matches!(
            &found.problems[..],
            [BinaryProblem::JavaArchiveTooLarge { path, size, limit: 100 }]
                if path == "/a.jar" && *size == jar.len() as u64
        ));
        // A nested archive that inflates past its bound (a zip bomb's way).
        let limits = Limits {
            max_nested_bytes: 1000,
            ..Limits::default()
        };
        let found = read("/a.jar", &jar, limits);
        assert!(matches!(
            &found.problems[..],
            [BinaryProblem::JavaArchiveIncomplete { path, .. }] if path == "/a.jar!/lib/inner.jar"
        ));
        // The inflation budget for the whole file.
        let limits = Limits {
            max_inflated_bytes: 1000,
            ..Limits::default()
        };
        let found = read("/a.jar", &jar, limits);
        assert_eq!(found.problems.len(), 1);
        // More entries than allowed: the directory is not even parsed.
        let limits = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        let found = read("/a.jar", &jar, limits);
        assert!(matches!(
            &found.problems[..],
            [BinaryProblem::JavaArchiveIncomplete { path, reason }]
                if path == "/a.jar" && reason.contains("more than 2 entries")
        ));
    }

    #[test]
    fn a_nested_archive_larger_than_it_declares_is_refused() {
        let inner = archive(
            &[(
                "META-INF/maven/g.h/a/pom.properties",
                &pom("g.h", "a", "1.0"),
            )],
            true,
        );
        let mut jar = archive(&[("lib/a-1.0.jar", &inner)], true);
        // Lower the declared size in both headers: the entry's data is
        // still all there, stored, so only the declared size lies.
        let declared = (inner.len() as u32).to_le_bytes();
        let smaller = (inner.len() as u32 - 10).to_le_bytes();
        let mut patched = 0;
        for at in 0..jar.len() - 4 {
            if jar[at..at + 4] == declared {
                jar[at..at + 4].copy_from_slice(&smaller);
                patched += 1;
            }
        }
        assert!(patched >= 2, "sizes patched: {patched}");
        let found = read("/x.jar", &jar, Limits::default());
        assert_eq!(found.packages, []);
        assert!(
            matches!(&found.problems[..], [BinaryProblem::JavaArchiveUnreadable { path, .. }] if path.starts_with("/x.jar!/lib/")),
            "{:?}",
            found.problems
        );
    }

    #[test]
    fn what_is_not_an_archive_or_a_coordinate_is_said() {
        let found = read("/app/x.jar", b"just text, not a zip", Limits::default());
        assert!(matches!(
            &found.problems[..],
            [BinaryProblem::JavaArchiveUnreadable { path, .. }] if path == "/app/x.jar"
        ));
        let jar = archive(
            &[(
                "META-INF/maven/g.h/a/pom.properties",
                b"groupId=g.h\nartifactId=a\nversion=${project.version}\n",
            )],
            false,
        );
        let found = read("/app/a.jar", &jar, Limits::default());
        assert_eq!(found.packages, []);
        match &found.problems[..] {
            [BinaryProblem::JavaArchiveUnreadable { path, reason }] => {
                assert_eq!(path, "/app/a.jar!/META-INF/maven/g.h/a/pom.properties");
                assert!(reason.contains("\"${project.version}\""), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn properties_files_are_read_as_java_reads_them() {
        let text = "# comment\n! also\n  groupId : org.example\nartifactId   lib\\\n    rary\nversion=1.0\\u002d1\n";
        assert_eq!(
            pom_properties(text.as_bytes()),
            Ok(Coordinates {
                group: "org.example".into(),
                artifact: "library".into(),
                version: "1.0-1".into(),
            })
        );
        assert!(pom_properties(b"groupId=a\nartifactId=b\n").is_err());
    }

    #[test]
    fn problems_are_bounded_per_file_and_long_names_cut() {
        // 100 jars nested one level too deep, under a very long name.
        let long = "d".repeat(5000);
        let many: Vec<(String, Vec<u8>)> = (0..100)
            .map(|i| (format!("{long}/{i}.jar"), b"x".to_vec()))
            .collect();
        let entries: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        let inner = archive(&entries, false);
        let jar = archive(&[("lib/inner.jar", &inner)], true);
        let limits = Limits {
            max_depth: 1,
            ..Limits::default()
        };
        let found = read("/a.jar", &jar, limits);
        assert_eq!(found.problems.len(), MAX_PROBLEMS_PER_FILE + 1);
        match found.problems.last() {
            Some(BinaryProblem::JavaArchiveIncomplete { path, reason }) => {
                assert_eq!(path, "/a.jar");
                assert!(reason.starts_with("80 more problems"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        for problem in &found.problems {
            assert!(problem.to_string().chars().count() < 800, "{problem}");
        }
    }

    #[test]
    fn an_archive_that_cannot_be_read_is_known_by_its_file_name() {
        let found = read(
            "/lib/log4j-core-2.14.1.jar",
            b"not a zip",
            Limits::default(),
        );
        assert_eq!(listed(&found)[0].0, "log4j-core");
        assert_eq!(listed(&found)[0].1, "2.14.1");
        assert_eq!(found.problems.len(), 1);
        // Too large to hold: not read, known by name.
        let limits = Limits {
            max_archive_bytes: 4,
            ..Limits::default()
        };
        let found = read("/lib/log4j-core-2.14.1.jar", b"12345", limits);
        assert_eq!(listed(&found)[0].1, "2.14.1");
        // Stored data that looks like directory entries does not make a
        // small archive unreadable: it cannot hold that many entries.
        let blob = b"PK\x01\x02".repeat(2000);
        let jar = archive(
            &[
                (&java_archive::pom_path("g.h", "a"), &pom("g.h", "a", "1.0")),
                ("data/blob.bin", &blob),
            ],
            true,
        );
        let limits = Limits {
            max_entries: 1000,
            ..Limits::default()
        };
        let found = read("/lib/a-1.0.jar", &jar, limits);
        assert_eq!(found.problems, []);
        assert_eq!(listed(&found)[0].0, "g.h:a");
    }

    #[test]
    fn entries_of_the_same_name_are_said() {
        // The `zip` writer refuses duplicates: write two archives and
        // rename the second's entry in its bytes.
        let jar = archive(
            &[
                (&java_archive::pom_path("g.h", "a"), &pom("g.h", "a", "2.0")),
                (&java_archive::pom_path("g.h", "b"), &pom("g.h", "a", "1.0")),
            ],
            true,
        );
        let from = java_archive::pom_path("g.h", "b");
        let to = java_archive::pom_path("g.h", "a");
        let mut bytes = jar.clone();
        let mut at = 0;
        while let Some(i) = memchr::memmem::find(&bytes[at..], from.as_bytes()) {
            bytes[at + i..at + i + to.len()].copy_from_slice(to.as_bytes());
            at += i + to.len();
        }
        let found = read("/lib/a.jar", &bytes, Limits::default());
        assert!(
            found.problems.iter().any(|p| matches!(p,
                BinaryProblem::JavaArchiveIncomplete { reason, .. } if reason.contains("same name"))),
            "{:?}",
            found.problems
        );
    }

    #[test]
    fn properties_and_manifests_end_lines_as_java_does() {
        // CR-only line ends, Latin-1, and a header name cut by a continuation.
        let c = pom_properties(b"groupId=g.h\rartifactId=a\rversion=1.0\r").unwrap();
        assert_eq!((c.group.as_str(), c.version.as_str()), ("g.h", "1.0"));
        assert!(pom_properties(b"groupId=g.h\nartifactId=a\nversion=1.0-caf\xe9\n").is_err());
        let attributes = main_attributes(
            b"Implementation-Ver\r sion: 2.14.1\rImplementation-Vendor-Id: org.x\r",
        );
        assert_eq!(
            attributes,
            [
                ("implementation-version".to_owned(), "2.14.1".to_owned()),
                ("implementation-vendor-id".to_owned(), "org.x".to_owned())
            ]
        );
        // Invisible Unicode is no coordinate.
        assert!(!is_coordinate("\u{202e}1.71.2"));
        assert!(!is_coordinate("e\u{200b}"));
    }

    #[test]
    fn file_names_and_manifest_versions() {
        assert_eq!(
            split_file_name("log4j-1.2-api-2.14.1"),
            ("log4j-1.2-api", Some("2.14.1"))
        );
        assert_eq!(
            split_file_name("jcip-annotations-1.0-1"),
            ("jcip-annotations", Some("1.0-1"))
        );
        assert_eq!(
            split_file_name("guava-31.1-jre"),
            ("guava", Some("31.1-jre"))
        );
        assert_eq!(
            split_file_name("log4j-api-2.0-beta9"),
            ("log4j-api", Some("2.0-beta9"))
        );
        assert!(same_release("2.12.18.v20230518-020143-VFINAL", "2.12.18"));
        assert!(same_release("2.0-beta9", "2.0-beta9"));
        assert!(!same_release("2.14.1", "2"));
        assert!(!same_release("1.0-1", "1.0"));
        // log4j-core-2.jar whose manifest says 2.14.1: not that manifest's
        // group, so not matched as version 2 of log4j-core.
        let jar = archive(
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Version: 2.14.1\nImplementation-Vendor-Id: org.apache.logging.log4j\n",
            )],
            false,
        );
        let found = read("/lib/log4j-core-2.jar", &jar, Limits::default());
        assert_eq!(listed(&found)[0].0, "log4j-core");
    }

    #[test]
    fn the_outer_file_is_the_first_archive_before_a_way_in() {
        assert_eq!(
            outer_file("/app/app.jar!/BOOT-INF/lib/x.jar"),
            "/app/app.jar"
        );
        assert_eq!(outer_file("/app/bang!/x.jar"), "/app/bang!/x.jar");
        assert_eq!(
            outer_file("/app/bang!/x.war!/WEB-INF/lib/y.jar"),
            "/app/bang!/x.war"
        );
    }

    #[test]
    fn archive_names_and_pom_paths() {
        assert!(is_archive_name("/usr/share/java/a.jar"));
        assert!(is_archive_name("x/App.EAR"));
        assert!(!is_archive_name("/a/.jar"));
        assert!(!is_archive_name("/a/jar"));
        assert!(!is_archive_name("/a/b.jar.sha1"));
        assert!(is_pom_properties("META-INF/maven/g/a/pom.properties"));
        assert!(is_pom_properties(
            "BOOT-INF/classes/META-INF/maven/g/a/pom.properties"
        ));
        assert!(!is_pom_properties("META-INF/maven/a/pom.properties"));
        assert!(!is_pom_properties("NOT-META-INF/maven/g/a/pom.properties"));
        assert_eq!(
            split_file_name("log4j-core-2.14.1"),
            ("log4j-core", Some("2.14.1"))
        );
        assert_eq!(
            split_file_name("commons-lang3-3.12.0"),
            ("commons-lang3", Some("3.12.0"))
        );
        assert_eq!(split_file_name("app"), ("app", None));
    }
}
