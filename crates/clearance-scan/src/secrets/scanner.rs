//! The layer visitor: which files are worth reading, and the budget that
//! bounds one layer's scan.

use clearance_oci::layer::{LayerEntry, LayerVisitor};
use serde::{Deserialize, Serialize};

use super::deleted::LayerRemovals;
use super::{SecretFinding, detect};

/// Largest file scanned, in bytes. Secrets sit in small text files; large
/// ones are data, bundles or logs, and reading them would cost the scan
/// its speed.
pub const MAX_SCANNED_FILE_BYTES: u64 = 1 << 20;
/// Bytes at the start of a file looked at for a NUL: a file with one is
/// binary and not scanned (as `git` and `grep` decide).
pub const BINARY_SNIFF_BYTES: usize = 8 << 10;
/// Findings kept per layer; the rest are counted
/// ([`ScanStats::findings_dropped`]).
pub const MAX_FINDINGS_PER_LAYER: usize = 1_000;
/// Bytes of file content scanned per layer; files past it are counted
/// ([`ScanStats::skipped_budget`]) and not read. Ordinary text scans at
/// 150–250 MB/s on one core, the most hostile text measured at about
/// 15 MB/s (see `docs/secrets.md`): this bounds a layer to about 35
/// seconds of one core.
pub const MAX_SCANNED_BYTES_PER_LAYER: u64 = 512 << 20;

/// Scans one layer's files for secrets, and notes what the layer removed
/// from those below (for [`super::mark_deleted`]).
///
/// Holds at most one file ([`MAX_SCANNED_FILE_BYTES`], handed over by the
/// reader and dropped once scanned), [`MAX_FINDINGS_PER_LAYER`] findings
/// and [`super::MAX_REMOVAL_BYTES`] of paths: about 18 MiB.
#[derive(Debug, Clone)]
pub struct SecretScanner {
    layer: usize,
    findings: Vec<SecretFinding>,
    removals: LayerRemovals,
    stats: ScanStats,
}

/// What a layer's scan read and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanStats {
    /// Files scanned.
    pub files_scanned: u64,
    /// Bytes of them.
    pub bytes_scanned: u64,
    /// Files not read for their name or directory ([`skipped_path`]).
    pub skipped_path: u64,
    /// Files over [`MAX_SCANNED_FILE_BYTES`].
    pub skipped_large: u64,
    /// Files with a NUL in their first [`BINARY_SNIFF_BYTES`].
    pub skipped_binary: u64,
    /// Files not read because the layer's [`MAX_SCANNED_BYTES_PER_LAYER`]
    /// was spent: when not zero, the layer was not scanned whole.
    pub skipped_budget: u64,
    /// Findings past [`MAX_FINDINGS_PER_LAYER`].
    pub findings_dropped: u64,
}

impl ScanStats {
    /// Add another layer's figures to these (saturating).
    pub fn add(&mut self, other: &ScanStats) {
        self.files_scanned = self.files_scanned.saturating_add(other.files_scanned);
        self.bytes_scanned = self.bytes_scanned.saturating_add(other.bytes_scanned);
        self.skipped_path = self.skipped_path.saturating_add(other.skipped_path);
        self.skipped_large = self.skipped_large.saturating_add(other.skipped_large);
        self.skipped_binary = self.skipped_binary.saturating_add(other.skipped_binary);
        self.skipped_budget = self.skipped_budget.saturating_add(other.skipped_budget);
        self.findings_dropped = self.findings_dropped.saturating_add(other.findings_dropped);
    }
}

/// Everything a layer's scan produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSecrets {
    /// The layer's index in the image (0 = base).
    pub layer: usize,
    /// Its findings, in archive order (`deleted_in` not yet filled).
    pub findings: Vec<SecretFinding>,
    /// What it removed from the layers below.
    pub removals: LayerRemovals,
    /// What it read and skipped.
    pub stats: ScanStats,
}

/// A layer's findings and figures as a layer store keeps them (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecrets {
    /// The findings, masked.
    pub findings: Vec<SecretFinding>,
    /// What the scan read and skipped.
    pub stats: ScanStats,
}

impl LayerSecrets {
    /// The same result placed at layer `layer` of an image: every
    /// finding's `layer` set to it.
    pub fn at_layer(mut self, layer: usize) -> Self {
        self.layer = layer;
        for f in &mut self.findings {
            f.layer = layer;
        }
        self
    }
}

impl Default for SecretScanner {
    /// A scanner for layer 0.
    fn default() -> Self {
        SecretScanner::new(0)
    }
}

impl SecretScanner {
    /// A scanner for layer `layer` (0 = base).
    pub fn new(layer: usize) -> Self {
        SecretScanner {
            layer,
            findings: Vec::new(),
            removals: LayerRemovals::new(),
            stats: ScanStats::default(),
        }
    }

    /// The findings and figures in storable form (for the layer store:
    /// findings are masked, so nothing stored holds a secret). The layer
    /// index is not part of it: a layer shared by images sits at different
    /// indexes.
    pub fn to_stored(&self) -> StoredSecrets {
        StoredSecrets {
            findings: self.findings.clone(),
            stats: self.stats.clone(),
        }
    }

    /// A finished scanner rebuilt from [`SecretScanner::to_stored`], at
    /// layer 0 until [`LayerSecrets::at_layer`] places its result.
    pub fn from_stored(stored: StoredSecrets) -> Self {
        SecretScanner {
            findings: stored.findings,
            stats: stored.stats,
            ..SecretScanner::new(0)
        }
    }

    /// Whether anything was found so far.
    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }

    /// The findings alone.
    pub fn findings(self) -> Vec<SecretFinding> {
        self.findings
    }

    /// The findings, the removals and the figures.
    pub fn finish(self) -> LayerSecrets {
        LayerSecrets {
            layer: self.layer,
            findings: self.findings,
            removals: self.removals,
            stats: self.stats,
        }
    }

    /// [`LayerVisitor::entry`] with the content borrowed, for a visitor
    /// that hands one layer's entries to several (the content is the one
    /// this scanner asked for with `wants_content`).
    pub fn visit(&mut self, entry: &LayerEntry, content: Option<&[u8]>) {
        self.removals.record(entry);
        if let Some(content) = content {
            self.scan_file(entry, content);
        }
        self.link(entry);
    }

    /// A hard link to a file of this layer holds that file's content: its
    /// findings are the link's too, so deleting the file in a later layer
    /// does not take the secret out of the image while the link stays.
    pub fn link(&mut self, entry: &LayerEntry) {
        let clearance_oci::layer::EntryKind::Hardlink { target } = &entry.kind else {
            return;
        };
        let from = format!("/{}", target.as_str());
        let to = format!("/{}", entry.path.as_str());
        let copies: Vec<SecretFinding> = self
            .findings
            .iter()
            .filter(|f| f.path == from)
            .map(|f| SecretFinding {
                path: to.clone(),
                ..f.clone()
            })
            .collect();
        let room = MAX_FINDINGS_PER_LAYER.saturating_sub(self.findings.len());
        self.stats.findings_dropped += copies.len().saturating_sub(room) as u64;
        self.findings.extend(copies.into_iter().take(room));
    }

    /// Scan one file's content this scanner asked for with
    /// `wants_content`, without noting the entry in the removal record:
    /// for a visitor that keeps the layer's paths itself (the scan's
    /// [`crate::layer_scan::LayerScan`] derives the removals from its
    /// listing, [`crate::config::LayerListing::removals`]).
    pub fn scan_file(&mut self, entry: &LayerEntry, content: &[u8]) {
        let head = &content[..content.len().min(BINARY_SNIFF_BYTES)];
        if head.contains(&0) {
            self.stats.skipped_binary += 1;
            return;
        }
        self.stats.files_scanned += 1;
        self.stats.bytes_scanned += content.len() as u64;
        let room = MAX_FINDINGS_PER_LAYER - self.findings.len().min(MAX_FINDINGS_PER_LAYER);
        let path = entry.path.to_string();
        let scan = detect::scan(&path, content, room);
        self.stats.findings_dropped += scan.dropped;
        self.findings.extend(
            scan.findings
                .into_iter()
                .map(|f| SecretFinding::new(f, self.layer, path.clone())),
        );
    }
}

impl LayerVisitor for SecretScanner {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        if entry.size == 0 {
            return false;
        }
        if skipped_path(entry.path.as_str()).is_some() {
            self.stats.skipped_path += 1;
            return false;
        }
        if entry.size > MAX_SCANNED_FILE_BYTES {
            self.stats.skipped_large += 1;
            return false;
        }
        if self.stats.bytes_scanned.saturating_add(entry.size) > MAX_SCANNED_BYTES_PER_LAYER {
            self.stats.skipped_budget += 1;
            return false;
        }
        true
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        self.visit(&entry, content.as_deref());
    }
}

/// Why a file is not read, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSkip {
    /// Documentation, manual pages, translations and time zones
    /// (`usr/share/doc`, `usr/share/man`, `usr/share/info`, `usr/share/locale`,
    /// `usr/share/i18n`, `usr/lib/locale`, `usr/share/zoneinfo`, and the same
    /// under `usr/local`): examples of keys and tokens abound there and none
    /// is the image's.
    Documentation,
    /// A test or fixture directory (`test`, `tests`, `__tests__`,
    /// `testdata`, `test_data`, `fixtures`, `__fixtures__`) or a test file
    /// (`test_*.py`, `*_test.py`, `*_test.go`, `*_test.rb`, `*_spec.rb`,
    /// `*.test.js`, `*.spec.js`, `*.test.ts`, `*.spec.ts`) inside a package
    /// tree: a package manager's (`site-packages`, `dist-packages`,
    /// `node_modules`, `gems`, Go's `pkg/mod`), vendored code (`vendor`,
    /// `third_party`), or a language's own library (`lib/pythonX.Y`, whose
    /// `test` suite alone holds dozens of private keys, `lib/ruby`).
    /// Packages ship test keys and tokens; none is the image's.
    PackageTests,
    /// A package's own documentation inside a package manager's tree:
    /// `README*`, `CHANGELOG*`, `CHANGES*`, `HISTORY*`, `*.md`, `*.rst`,
    /// and the long description in `*.dist-info/METADATA` and
    /// `*.egg-info/PKG-INFO`: usage examples with sample tokens.
    PackageDocumentation,
    /// A binary or media format by its extension (images, fonts, audio,
    /// video, archives, compiled code, office documents, databases,
    /// compiled translations): reading them costs time and a text rule
    /// cannot match inside a compressed or encoded file. Files with no such
    /// extension are still checked for NUL bytes.
    BinaryExtension,
}

const DOC_DIRS: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/i18n/",
    "usr/share/zoneinfo/",
    "usr/lib/locale/",
    "usr/local/share/doc/",
    "usr/local/share/man/",
    "usr/local/share/info/",
    "usr/local/share/locale/",
];

const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "testdata",
    "test_data",
    "fixtures",
    "__fixtures__",
];

/// Directories that hold other people's code (see [`PathSkip::PackageTests`]).
const PACKAGE_ROOTS: &[&str] = &[
    "site-packages",
    "dist-packages",
    "node_modules",
    "gems",
    "vendor",
    "third_party",
];

/// Test files by name, inside a package tree.
const TEST_FILE_PREFIXES: &[&str] = &["test_"];
const TEST_FILE_SUFFIXES: &[&str] = &[
    "_test.py", "_test.go", "_test.rb", "_spec.rb", ".test.js", ".spec.js", ".test.ts", ".spec.ts",
];

const BINARY_EXTENSIONS: &[&str] = &[
    // images
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "psd", "svg", "svgz",
    // fonts
    "ttf", "otf", "woff", "woff2", "eot", "pfb", "pcf", // audio and video
    "mp3", "mp4", "m4a", "wav", "ogg", "oga", "flac", "avi", "mov", "mkv", "webm",
    // archives and packages
    "gz", "tgz", "bz2", "xz", "zst", "lz4", "lzma", "zip", "jar", "war", "ear", "whl", "egg", "tar",
    "7z", "rar", "deb", "rpm", "apk", "nupkg", "gem", // compiled code
    "so", "a", "o", "obj", "dll", "exe", "dylib", "lib", "pyc", "pyo", "class", "wasm", "node",
    "beam", // documents and data
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "db", "sqlite", "sqlite3", "mo",
    "pak", "dat",
];

/// Whether a file is skipped for its path, and why. `path` is an image
/// path without the leading `/`.
pub fn skipped_path(path: &str) -> Option<PathSkip> {
    if DOC_DIRS.iter().any(|d| path.starts_with(d)) {
        return Some(PathSkip::Documentation);
    }
    let (in_tests, in_package) = in_package_tree(path);
    if in_tests {
        return Some(PathSkip::PackageTests);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    if in_package && package_documentation(path, &lower) {
        return Some(PathSkip::PackageDocumentation);
    }
    // `libfoo.so.1.2` is a shared library too.
    if lower.contains(".so.") {
        return Some(PathSkip::BinaryExtension);
    }
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    BINARY_EXTENSIONS
        .contains(&ext)
        .then_some(PathSkip::BinaryExtension)
}

/// Whether `path` (without its leading `/`) is a test file or lies in a
/// test directory of a package tree, and whether it lies in a package
/// tree at all: a package manager's (`site-packages`, `dist-packages`,
/// `node_modules`, `gems`, Go's `pkg/mod`), vendored code (`vendor`,
/// `third_party`), or a language's own library (`lib/pythonX.Y`,
/// `lib/ruby`).
pub(super) fn in_package_tree(path: &str) -> (bool, bool) {
    let parts: Vec<&str> = path.split('/').collect();
    let (name, dirs) = parts.split_last().unwrap_or((&"", &[]));
    let root = (0..dirs.len()).find(|&i| {
        let d = dirs[i];
        let after = |p: &str| i > 0 && dirs[i - 1] == p;
        let language = (after("lib") || after("lib64"))
            && (d == "ruby"
                || d.strip_prefix("python")
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())));
        PACKAGE_ROOTS.contains(&d) || (d == "mod" && after("pkg")) || language
    });
    let Some(root) = root else {
        return (false, false);
    };
    let lower = name.to_ascii_lowercase();
    let tests = dirs[root + 1..].iter().any(|d| TEST_DIRS.contains(d))
        || TEST_FILE_PREFIXES.iter().any(|p| lower.starts_with(p))
        || TEST_FILE_SUFFIXES.iter().any(|s| lower.ends_with(s));
    (tests, true)
}

/// `lower` is the file's name, lower-cased.
fn package_documentation(path: &str, lower: &str) -> bool {
    let parent = path.rsplit('/').nth(1).unwrap_or("");
    ["readme", "changelog", "changes", "history"]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower.ends_with(".md")
        || lower.ends_with(".rst")
        || (lower == "metadata" && parent.ends_with(".dist-info"))
        || (lower == "pkg-info" && parent.ends_with(".egg-info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_by_path() {
        for (path, why) in [
            ("usr/share/doc/openssl/README", PathSkip::Documentation),
            ("usr/share/man/man1/ssh.1.gz", PathSkip::Documentation),
            (
                "usr/lib/python3/dist-packages/foo/tests/key.pem",
                PathSkip::PackageTests,
            ),
            (
                "app/node_modules/jws/test/data/private.pem",
                PathSkip::PackageTests,
            ),
            (
                "usr/lib/python3.12/test/keycert.pem",
                PathSkip::PackageTests,
            ),
            (
                "root/go/pkg/mod/x/y@v1/testdata/k.pem",
                PathSkip::PackageTests,
            ),
            (
                "usr/lib/sdk/third_party/kubernetes/config/kube_config_test.py",
                PathSkip::PackageTests,
            ),
            (
                "usr/lib/x86_64-linux-gnu/libssl.so.3",
                PathSkip::BinaryExtension,
            ),
            ("app/logo.PNG", PathSkip::BinaryExtension),
            (
                "usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
                PathSkip::PackageDocumentation,
            ),
            (
                "app/node_modules/@npmcli/arborist/README.md",
                PathSkip::PackageDocumentation,
            ),
        ] {
            assert_eq!(skipped_path(path), Some(why), "{path}");
        }
        for path in [
            "root/.ssh/id_rsa",
            "app/tests/.env",
            "app/node_modules/.bin/x",
            "etc/ssl/private/server.key",
            "app/src/test.py",
            "app/README.md",
            "usr/lib/python3.12/site-packages/tests.py",
        ] {
            assert_eq!(skipped_path(path), None, "{path}");
        }
    }
}
