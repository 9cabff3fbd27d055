//! The packages of an image, each with the layer that brought it in.
//!
//! Reading: every layer streams once through a [`LayerCapture`], which keeps
//! only the files the catalogers and OS detection ask for (each at most
//! [`MAX_DATABASE_BYTES`]) and the layer's whiteouts. Every other regular
//! file is offered as a stream: an executable (ELF, Mach-O, PE by its first
//! bytes) is read as it goes by for Go build info and cargo-auditable data
//! ([`catalog::binary`]), and only the packages found are kept, never the
//! file. Layers can be read in parallel; nothing else of them is held.
//!
//! Replaying: [`Inventory::build`] applies the captures in layer order, as
//! a runtime stacks the layers (image-spec layer.md "Applying Changesets"):
//! a whiteout hides the path below, an opaque whiteout empties the
//! directory below, and a layer's own entries then land on top. After each
//! layer that changed a cataloger's files, that cataloger reads the files
//! now visible. A package is attributed to the first layer after which it
//! has been listed continuously up to the top, so an upgrade is the
//! upgrading layer's and an untouched package stays with the layer that
//! installed it. A package the top no longer lists is not in the image.
//! Binaries replay the same way: a whiteout, or an executable, link or
//! other binary written at a binary's path, takes its packages away.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use clearance_oci::layer::{EntryKind, ImagePath, LayerEntry, LayerVisitor};
use serde::Serialize;

use crate::catalog::binary::{self, BinaryInventory, BinaryProblem, MAX_BINARIES_PER_LAYER};
use crate::catalog::java;
use crate::catalog::{
    self, CatalogError, Cataloger, MAX_DATABASE_BYTES, MAX_PACKAGES, Package, apk, dpkg, npm, rpm,
};
use crate::os::{self, Distro};

/// Most packages one cataloger may list for a whole image (a Debian image
/// with everything installed has about 65,000 packages; node_modules trees
/// of 10,000 are real).
pub const MAX_PACKAGES_IN_IMAGE: usize = MAX_PACKAGES;

/// What one layer holds of interest: the wanted files it writes, the
/// wanted paths it turns into something other than a file, and its
/// whiteouts.
#[derive(Debug, Default, Clone)]
pub struct LayerCapture {
    wanted: Wanted,
    /// Each wanted path the layer writes: its content, or `None` when the
    /// layer puts a non-file there (a directory, a link) or the file was
    /// too large to keep.
    changes: Vec<(ImagePath, Option<Vec<u8>>)>,
    /// Whiteouts, in archive order: the path hidden and whether it is
    /// opaque (the directory stays, its lower content goes).
    whiteouts: Vec<(ImagePath, bool)>,
    /// Wanted files over [`MAX_DATABASE_BYTES`], not kept.
    too_large: Vec<(ImagePath, u64)>,
    /// Wanted paths that are links: the path and where it points. A hard
    /// link to a file this layer captured takes that file's content
    /// instead; the others are named in a warning, never silently dropped.
    links: Vec<(ImagePath, String)>,
    /// Non-directories laid over a path that may be a directory holding
    /// wanted files (`var/lib/dpkg`, a `node_modules`): what was below is
    /// gone, as a runtime's applier removes it (at most [`MAX_REPLACED`]).
    replaced: Vec<ImagePath>,
    /// Bytes kept so far, at most [`MAX_CAPTURED_PER_LAYER`].
    kept: u64,
    /// Wanted files not kept because the layer's budget was spent.
    over_budget: u64,
    /// The first few of those, to name in the warning.
    over_budget_named: Vec<ImagePath>,
    /// Executables the layer writes, in archive order: each binary with
    /// what it was built from, and other executables and links (`None`),
    /// which take away what a binary below had at their path (at most
    /// [`MAX_EXECUTABLES_PER_LAYER`]).
    binaries: Vec<(ImagePath, Option<BinaryInventory>)>,
    /// The binary streamed last, until its entry arrives.
    pending: Option<(ImagePath, BinaryInventory)>,
    /// Binaries inspected, at most [`MAX_BINARIES_PER_LAYER`].
    inspected: usize,
    /// Binaries past that, not inspected.
    binaries_skipped: u64,
    /// The first few of those, to name in the warning.
    binaries_skipped_named: Vec<ImagePath>,
    /// Bytes inflated from this layer's Java archives, at most
    /// [`java::MAX_INFLATED_PER_LAYER`].
    java_inflated: u64,
    /// Whether this capture asked for the content of the entry being read
    /// (another visitor beside it may have asked for a file it refused
    /// for its budget: that content is not kept).
    took: bool,
}

/// Most executables and links recorded per layer besides the binaries
/// inspected (paths only: what may replace a binary of a lower layer;
/// about 4 MiB at most).
pub const MAX_EXECUTABLES_PER_LAYER: usize = 50_000;

/// Most bytes of wanted files kept from one layer (package databases,
/// metadata files, `package.json`s). Real layers hold a few MiB of them;
/// with layers read two at a time this bounds what the scan holds.
pub const MAX_CAPTURED_PER_LAYER: u64 = 64 << 20;

/// Most directory replacements recorded per layer.
pub const MAX_REPLACED: usize = 100_000;

/// Most warnings an inventory keeps; the rest are counted.
pub const MAX_WARNINGS: usize = 100;

/// Whether a path may be a directory that holds files a cataloger wants:
/// an ancestor of a fixed database path, or a directory of the kinds
/// language catalogers look in.
fn may_hold_wanted(path: &str) -> bool {
    const FIXED: [&str; 7] = [
        dpkg::STATUS,
        dpkg::STATUS_D,
        dpkg::INFO,
        apk::INSTALLED,
        apk::INSTALLED_USR,
        os::OS_RELEASE[0],
        os::OS_RELEASE[1],
    ];
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    FIXED.iter().chain(&rpm::DATABASES).any(|f| {
        f.strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'))
    }) || matches!(
        name,
        "node_modules" | "site-packages" | "dist-packages" | "nodejs" | "specifications"
    ) || name.ends_with(".dist-info")
        || name.ends_with(".egg-info")
        || npm::holds_packages(parent)
        || name.starts_with('@')
        // A gem home's `specifications/default`, and Composer's
        // `vendor/composer` (`vendor` itself: a `vendor` anywhere).
        || (name == "default" && parent.ends_with("specifications"))
        || name == "vendor"
        || (name == "composer" && (parent == "vendor" || parent.ends_with("/vendor")))
}

/// Which paths the inventory keeps: OS detection's and the catalogers'.
#[derive(Clone, Default)]
struct Wanted(std::sync::Arc<Vec<Box<dyn Cataloger>>>);

impl std::fmt::Debug for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wanted")
    }
}

impl Wanted {
    fn wants(&self, path: &str) -> bool {
        os::FILES.contains(&path) || self.0.iter().any(|c| c.wants(path))
    }
}

impl LayerCapture {
    /// A capture for one layer, keeping what `catalogers` and OS detection
    /// want. Share one `catalogers` list among all the layers of a scan.
    pub fn new(catalogers: std::sync::Arc<Vec<Box<dyn Cataloger>>>) -> LayerCapture {
        LayerCapture {
            wanted: Wanted(catalogers),
            ..LayerCapture::default()
        }
    }

    /// The capture in storable form: the files it kept (path, content or
    /// `None` for a non-file), and everything else it noted.
    pub fn to_stored(&self) -> (StoredFiles, StoredNotes) {
        let files = self
            .changes
            .iter()
            .map(|(p, c)| (p.as_str().to_owned(), c.clone()))
            .collect();
        let notes = StoredNotes {
            whiteouts: self
                .whiteouts
                .iter()
                .map(|(p, o)| (p.as_str().to_owned(), *o))
                .collect(),
            too_large: self
                .too_large
                .iter()
                .map(|(p, n)| (p.as_str().to_owned(), *n))
                .collect(),
            links: self
                .links
                .iter()
                .map(|(p, t)| (p.as_str().to_owned(), t.clone()))
                .collect(),
            replaced: self
                .replaced
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            kept: self.kept,
            over_budget: self.over_budget,
            over_budget_named: self
                .over_budget_named
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            binaries: self
                .binaries
                .iter()
                .map(|(p, b)| (p.as_str().to_owned(), b.clone()))
                .collect(),
            binaries_skipped: self.binaries_skipped,
            binaries_skipped_named: self
                .binaries_skipped_named
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        };
        (files, notes)
    }

    /// A capture rebuilt from [`LayerCapture::to_stored`]'s parts, for the
    /// same catalogers. Paths are normalised again, so a stored path cannot
    /// name anything a layer could not.
    pub fn from_stored(
        catalogers: std::sync::Arc<Vec<Box<dyn Cataloger>>>,
        files: StoredFiles,
        notes: StoredNotes,
    ) -> LayerCapture {
        let path = |p: &str| ImagePath::normalise(p).0;
        LayerCapture {
            wanted: Wanted(catalogers),
            changes: files.into_iter().map(|(p, c)| (path(&p), c)).collect(),
            whiteouts: notes.whiteouts.iter().map(|(p, o)| (path(p), *o)).collect(),
            too_large: notes.too_large.iter().map(|(p, n)| (path(p), *n)).collect(),
            links: notes
                .links
                .into_iter()
                .map(|(p, t)| (path(&p), t))
                .collect(),
            replaced: notes.replaced.iter().map(|p| path(p)).collect(),
            kept: notes.kept,
            over_budget: notes.over_budget,
            over_budget_named: notes.over_budget_named.iter().map(|p| path(p)).collect(),
            binaries: notes
                .binaries
                .into_iter()
                .map(|(p, found)| {
                    let p = path(&p);
                    let found = found.map(|mut f| {
                        // A package's path is its binary's, whatever was stored.
                        for package in &mut f.packages {
                            rebase(package, &p);
                        }
                        f
                    });
                    (p, found)
                })
                .collect(),
            pending: None,
            inspected: 0,
            java_inflated: 0,
            binaries_skipped: notes.binaries_skipped,
            binaries_skipped_named: notes
                .binaries_skipped_named
                .iter()
                .map(|p| path(p))
                .collect(),
            took: false,
        }
    }

    /// Whether to keep this file's content: a wanted path, within
    /// [`MAX_DATABASE_BYTES`] and the layer's budget (both noted when not).
    fn asks_for(&mut self, entry: &LayerEntry) -> bool {
        if !self.wanted.wants(entry.path.as_str()) {
            return false;
        }
        if entry.size > MAX_DATABASE_BYTES {
            self.too_large.push((entry.path.clone(), entry.size));
            return false;
        }
        if self.kept.saturating_add(entry.size) > MAX_CAPTURED_PER_LAYER {
            self.over_budget += 1;
            if self.over_budget_named.len() < 3 {
                self.over_budget_named.push(entry.path.clone());
            }
            return false;
        }
        self.kept += entry.size;
        true
    }

    /// Note an entry that may replace a binary of a lower layer, or is one.
    fn note_executable(&mut self, entry: &LayerEntry) {
        let found = match &entry.kind {
            EntryKind::File => match self.pending.take() {
                Some((p, found)) if p == entry.path => Some(found),
                _ if entry.mode & 0o111 != 0 => None,
                _ => return,
            },
            EntryKind::Symlink { .. } => None,
            // A hard link is the file it names, written earlier in the layer.
            EntryKind::Hardlink { target } => self
                .binaries
                .iter()
                .rev()
                .find(|(p, _)| p == target)
                .and_then(|(_, found)| found.clone())
                .map(|mut found| {
                    for package in &mut found.packages {
                        rebase(package, &entry.path);
                    }
                    // Said once, of the file itself.
                    found.problems.clear();
                    found
                }),
            _ => return,
        };
        if found.is_none() && self.binaries.len() >= MAX_EXECUTABLES_PER_LAYER {
            return;
        }
        self.binaries.push((entry.path.clone(), found));
    }
}

/// Give a binary's package the binary's path `file`, keeping the way into
/// a nested Java archive (`!/BOOT-INF/lib/x.jar`) its path went on with.
fn rebase(package: &mut Package, file: &ImagePath) {
    let inner = &package.path[java::outer_file(&package.path).len()..];
    package.path = format!("/{}{inner}", file.as_str());
}

/// A capture's files in storable form: (image path, content, or `None`
/// where the layer put a non-file).
pub type StoredFiles = Vec<(String, Option<Vec<u8>>)>;

/// What a [`LayerCapture`] noted besides its files, in storable form
/// (JSON in the layer store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StoredNotes {
    /// Whiteouts: path and whether opaque.
    pub whiteouts: Vec<(String, bool)>,
    /// Wanted files too large to keep: path and size.
    pub too_large: Vec<(String, u64)>,
    /// Wanted paths that are links: path and target.
    pub links: Vec<(String, String)>,
    /// Non-directories laid over a directory that may hold wanted files.
    pub replaced: Vec<String>,
    /// Bytes kept.
    pub kept: u64,
    /// Wanted files not kept for the layer's budget.
    pub over_budget: u64,
    /// The first few of those.
    pub over_budget_named: Vec<String>,
    /// Executables and links written: path, and for a binary what it was
    /// built from.
    #[serde(default)]
    pub binaries: Vec<(String, Option<BinaryInventory>)>,
    /// Binaries not inspected for the layer's limit.
    #[serde(default)]
    pub binaries_skipped: u64,
    /// The first few of those.
    #[serde(default)]
    pub binaries_skipped_named: Vec<String>,
}

/// Bump when what a layer store keeps changes (a cataloger wants new
/// files, the secret rules or the listing change): layers stored under
/// another version are read again. 3: secrets; 4: binaries; 5: Java
/// archives.
pub const CAPTURE_VERSION: u32 = 5;

/// The fingerprint stored captures are kept under: [`CAPTURE_VERSION`]
/// and the names of the catalogers, so adding or removing one makes
/// stored captures stale.
pub fn capture_fingerprint(catalogers: &[Box<dyn Cataloger>]) -> String {
    let names: Vec<&str> = catalogers.iter().map(|c| c.name()).collect();
    format!("{CAPTURE_VERSION}:{}", names.join(","))
}

impl LayerVisitor for LayerCapture {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        self.took = self.asks_for(entry);
        self.took
    }

    fn stream_content(&mut self, entry: &LayerEntry, content: &mut dyn Read) {
        self.pending = None;
        if self.inspected >= MAX_BINARIES_PER_LAYER {
            let mut head = Vec::new();
            let sniffed = content.take(4096).read_to_end(&mut head).is_ok();
            if sniffed
                && (binary::sniff(&head).is_some() || java::is_archive_name(entry.path.as_str()))
            {
                self.binaries_skipped += 1;
                if self.binaries_skipped_named.len() < 3 {
                    self.binaries_skipped_named.push(entry.path.clone());
                }
            }
            return;
        }
        let path = format!("/{}", entry.path.as_str());
        // A read error is the layer's: the reader fails it.
        let found = if java::is_archive_name(&path) {
            let limits = java::Limits {
                max_inflated_bytes: java::MAX_INFLATED_BYTES
                    .min(java::MAX_INFLATED_PER_LAYER.saturating_sub(self.java_inflated)),
                ..java::Limits::default()
            };
            java::inspect_with(&path, content, entry.size, limits).map(|(found, inflated)| {
                self.java_inflated += inflated;
                Some(found)
            })
        } else {
            binary::inspect(&path, content, entry.size)
        };
        if let Ok(Some(found)) = found {
            self.inspected += 1;
            self.pending = Some((entry.path.clone(), found));
        }
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        let wanted = self.wanted.wants(entry.path.as_str());
        // Content this capture refused (too large, over budget) that
        // another visitor asked for is not kept.
        let took = std::mem::take(&mut self.took);
        if !wanted {
            // A file another visitor beside this one (`LayerScan`) had
            // handed over whole was never streamed: read it from memory.
            if let (EntryKind::File, Some(bytes)) = (&entry.kind, &content) {
                self.stream_content(&entry, &mut &bytes[..]);
            }
            self.note_executable(&entry);
        }
        match entry.kind {
            EntryKind::Whiteout => self.whiteouts.push((entry.path, false)),
            EntryKind::OpaqueWhiteout => self.whiteouts.push((entry.path, true)),
            EntryKind::File if wanted => self
                .changes
                .push((entry.path, if took { content } else { None })),
            EntryKind::Hardlink { target } if wanted => {
                // tar hard links name a file earlier in the same layer.
                let earlier = self
                    .changes
                    .iter()
                    .rev()
                    .find(|(p, _)| *p == target)
                    .and_then(|(_, c)| c.clone());
                if earlier.is_none() {
                    self.links
                        .push((entry.path.clone(), format!("/{}", target.as_str())));
                }
                self.changes.push((entry.path, earlier));
            }
            EntryKind::Symlink { target } if wanted => {
                if !os::FILES.contains(&entry.path.as_str()) {
                    self.links.push((entry.path.clone(), target));
                }
                self.changes.push((entry.path, None));
            }
            EntryKind::Directory if wanted => self.changes.push((entry.path, None)),
            EntryKind::Directory => {}
            _ if may_hold_wanted(entry.path.as_str()) && self.replaced.len() < MAX_REPLACED => {
                self.replaced.push(entry.path);
            }
            _ => {}
        }
    }
}

/// A package found in the image, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The package.
    #[serde(flatten)]
    pub package: Package,
    /// Index of the layer that brought this version in (0 is the base).
    pub layer: usize,
    /// For a language package: the OS package whose file list includes its
    /// metadata file (Debian's `python3-requests` ships
    /// `requests-2.28.1.egg-info`). Its fixes come from the distribution,
    /// so it is matched against the distribution's data, not the
    /// language's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<Owner>,
}

/// The OS package that installed a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// `deb`, `apk` or `rpm`.
    #[serde(rename = "type")]
    pub kind: catalog::PackageType,
    /// The OS package's name.
    pub name: String,
}

/// Something the inventory could not read, named so a person can look.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryWarning {
    /// A package database is unreadable in part (after layer `layer`).
    #[error("layer {layer}: {problem}")]
    Catalog {
        /// The layer after which it was read.
        layer: usize,
        /// What was wrong.
        problem: CatalogError,
    },
    /// One cataloger's packages over [`MAX_PACKAGES_IN_IMAGE`]; its
    /// listing from the layer before is kept.
    #[error(
        "layer {layer}: the {cataloger} databases list more than {MAX_PACKAGES_IN_IMAGE} packages; refusing them as hostile"
    )]
    TooManyPackages {
        /// The layer after which they were counted.
        layer: usize,
        /// The cataloger (`dpkg`).
        cataloger: &'static str,
    },
    /// A layer's wanted files together were over [`MAX_CAPTURED_PER_LAYER`].
    #[error(
        "layer {layer}: {files} package metadata files were not read (first: {}): the layer's files of interest passed {MAX_CAPTURED_PER_LAYER} bytes; their packages are not listed",
        first.join(", ")
    )]
    OverBudget {
        /// The layer.
        layer: usize,
        /// How many files were left unread.
        files: u64,
        /// The first of them (up to three), as absolute paths.
        first: Vec<String>,
    },
    /// A package database or metadata file that is a link this layer does
    /// not resolve (a symbolic link, or a hard link to a file not read):
    /// its packages are not listed.
    #[error(
        "layer {layer}: {path} is a link to {target:?}, which is not read; the packages it lists (if any) are not listed"
    )]
    LinkNotFollowed {
        /// The layer.
        layer: usize,
        /// The wanted path.
        path: String,
        /// Where it points, as written.
        target: String,
    },
    /// A binary whose build info or cargo-auditable data could not be
    /// read in full (read from the layer that wrote it).
    #[error("layer {layer}: {problem}")]
    Binary {
        /// The layer that wrote the binary.
        layer: usize,
        /// What was wrong.
        problem: BinaryProblem,
    },
    /// A layer with more binaries than [`MAX_BINARIES_PER_LAYER`]: the
    /// rest were not read.
    #[error(
        "layer {layer}: {count} binaries and Java archives were not read for what they hold (first: {}): the layer has more than {MAX_BINARIES_PER_LAYER}",
        first.join(", ")
    )]
    TooManyBinaries {
        /// The layer.
        layer: usize,
        /// How many were left unread.
        count: u64,
        /// The first of them (up to three), as absolute paths.
        first: Vec<String>,
    },
    /// A wanted file was too large to read.
    #[error(
        "layer {layer}: {path} is {size} bytes, over the {MAX_DATABASE_BYTES}-byte limit for a package database; its packages are not listed"
    )]
    TooLarge {
        /// The layer holding it.
        layer: usize,
        /// The file.
        path: String,
        /// Its size in bytes.
        size: u64,
    },
}

/// The packages of an image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// The distribution, when the image says.
    pub distro: Option<Distro>,
    /// Packages in the final image, by type, name, version and path.
    pub packages: Vec<Found>,
    /// Packages a later layer removed or replaced with another version:
    /// still in the registry's blobs, not in the image a container runs.
    pub removed: Vec<Removed>,
    /// What could not be read: the first [`MAX_WARNINGS`].
    #[serde(skip)]
    pub warnings: Vec<InventoryWarning>,
    /// Warnings past the first [`MAX_WARNINGS`], counted.
    #[serde(skip)]
    pub warnings_not_shown: u64,
}

/// A package some layer listed and a later one took away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The package as it was listed.
    #[serde(flatten)]
    pub package: Package,
    /// The layer that brought it in.
    pub layer: usize,
    /// The layer after which it was no longer listed.
    pub removed_in: usize,
}

type Key = (catalog::PackageType, String, String, Option<String>, String);

fn key(p: &Package) -> Key {
    (
        p.kind,
        p.name.clone(),
        p.version.clone(),
        p.arch.clone(),
        p.path.clone(),
    )
}

impl Inventory {
    /// What one source (a cataloger, or the binaries) lists after `layer`:
    /// `now`, each keeping the layer that brought it in when `before`
    /// listed it too; what `before` listed and `now` does not was removed
    /// in `layer`.
    fn relist(
        &mut self,
        layer: usize,
        before: HashMap<Key, Found>,
        now: Vec<Package>,
    ) -> HashMap<Key, Found> {
        let mut next: HashMap<Key, Found> = HashMap::with_capacity(now.len());
        for package in now {
            let k = key(&package);
            let from = before.get(&k).map_or(layer, |f| f.layer);
            next.insert(
                k,
                Found {
                    package,
                    layer: from,
                    owned_by: None,
                },
            );
        }
        for (k, gone) in before {
            if !next.contains_key(&k) {
                self.removed.push(Removed {
                    package: gone.package,
                    layer: gone.layer,
                    removed_in: layer,
                });
            }
        }
        next
    }

    fn warn(&mut self, warning: InventoryWarning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.warnings_not_shown += 1;
        }
    }

    /// Replay the layers' captures in order (index 0 first) and catalog
    /// what each layer leaves visible. `catalogers` must be the list the
    /// captures were made with. Each file is read once, when a layer
    /// writes it; a layer that touches a cataloger's files re-lists that
    /// cataloger's packages from what is visible.
    pub fn build(catalogers: &[Box<dyn Cataloger>], layers: Vec<LayerCapture>) -> Inventory {
        let mut visible: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        // Per visible path: the layer that wrote it last.
        let mut written_in: HashMap<String, usize> = HashMap::new();
        // Per (cataloger, path): the packages the file lists.
        let mut parsed: BTreeMap<(usize, String), Vec<Package>> = BTreeMap::new();
        let mut inventory = Inventory::default();
        // Per cataloger: what it listed after the last layer that touched
        // its files, each with the layer that brought it in.
        let mut listed: Vec<HashMap<Key, Found>> = vec![HashMap::new(); catalogers.len()];
        let mut binaries = BinaryReplay::default();
        for (layer, mut capture) in layers.into_iter().enumerate() {
            binaries.apply(&mut inventory, layer, &mut capture);
            let mut touched: Vec<String> = Vec::new();
            for (path, opaque) in &capture.whiteouts {
                for p in hidden_by(&visible, path, *opaque) {
                    visible.remove(&p);
                    touched.push(p);
                }
            }
            for path in &capture.replaced {
                for p in hidden_by(&visible, path, true) {
                    visible.remove(&p);
                    touched.push(p);
                }
            }
            for (path, target) in capture.links {
                inventory.warn(InventoryWarning::LinkNotFollowed {
                    layer,
                    path: path.to_string(),
                    target,
                });
            }
            let mut written: HashSet<String> = HashSet::new();
            for (path, content) in capture.changes {
                let path = path.as_str().to_owned();
                match content {
                    Some(bytes) => {
                        visible.insert(path.clone(), bytes);
                        written_in.insert(path.clone(), layer);
                        written.insert(path.clone());
                    }
                    None => {
                        visible.remove(&path);
                    }
                }
                touched.push(path);
            }
            if capture.over_budget > 0 {
                inventory.warn(InventoryWarning::OverBudget {
                    layer,
                    files: capture.over_budget,
                    first: capture
                        .over_budget_named
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                });
            }
            for (path, size) in capture.too_large {
                inventory.warn(InventoryWarning::TooLarge {
                    layer,
                    path: path.to_string(),
                    size,
                });
            }
            if touched.iter().any(|p| os::FILES.contains(&p.as_str())) {
                inventory.distro = os::detect(|path| visible.get(path).map(Vec::as_slice));
            }
            for (i, cataloger) in catalogers.iter().enumerate() {
                let mine: Vec<&String> = touched.iter().filter(|p| cataloger.wants(p)).collect();
                if mine.is_empty() {
                    continue;
                }
                let mut problems = Vec::new();
                for path in mine {
                    parsed.remove(&(i, path.clone()));
                    let Some(bytes) = visible.get(path).filter(|_| written.contains(path)) else {
                        continue;
                    };
                    let absolute = format!("/{path}");
                    match cataloger.read(&absolute, bytes, inventory.distro.as_ref(), &mut problems)
                    {
                        Ok(found) => {
                            parsed.insert((i, path.clone()), found);
                        }
                        Err(e) => problems.push(e),
                    }
                }
                for problem in problems {
                    inventory.warn(InventoryWarning::Catalog { layer, problem });
                }
                let now: Vec<Package> = parsed
                    .range((i, String::new())..(i + 1, String::new()))
                    .flat_map(|(_, found)| found.iter().cloned())
                    .take(MAX_PACKAGES_IN_IMAGE + 1)
                    .collect();
                if now.len() > MAX_PACKAGES_IN_IMAGE {
                    inventory.warn(InventoryWarning::TooManyPackages {
                        layer,
                        cataloger: cataloger.name(),
                    });
                    continue;
                }
                let before = std::mem::take(&mut listed[i]);
                listed[i] = inventory.relist(layer, before, now);
            }
        }
        for (_, layer, problems) in std::mem::take(&mut binaries.problems) {
            for problem in problems {
                inventory.warn(InventoryWarning::Binary { layer, problem });
            }
        }
        listed.push(binaries.listed);
        inventory.packages = listed.into_iter().flat_map(HashMap::into_values).collect();
        mark_owned(&mut inventory.packages, &visible, &written_in);
        // The distribution may be known only from a layer after the one
        // that listed a package: name it in every purl.
        let distro = inventory.distro.as_ref();
        for p in inventory
            .packages
            .iter_mut()
            .map(|f| &mut f.package)
            .chain(inventory.removed.iter_mut().map(|r| &mut r.package))
        {
            p.purl = catalog::package_purl(p, distro);
        }
        inventory.packages.sort_by_key(|a| key(&a.package));
        inventory
            .removed
            .sort_by_key(|a| (a.removed_in, key(&a.package)));
        inventory
    }
}

/// The binaries of an image, replayed layer by layer beside the
/// catalogers' files: a binary's packages are listed while it is visible.
#[derive(Default)]
struct BinaryReplay {
    /// Each visible binary's packages, by path (no leading `/`).
    visible: BTreeMap<String, Vec<Package>>,
    /// What visible binaries could not say, in the order they were
    /// written: (path, layer, problems). Said once the image is replayed,
    /// so a binary a later layer deleted or replaced says nothing.
    problems: Vec<(String, usize, Vec<BinaryProblem>)>,
    /// What they listed after the last layer that changed them, each with
    /// the layer that brought it in.
    listed: HashMap<Key, Found>,
}

impl BinaryReplay {
    /// Apply one layer: its whiteouts and replaced directories hide
    /// binaries below, then its own executables land on top (a binary's
    /// packages, or nothing for a script or link).
    fn apply(&mut self, inventory: &mut Inventory, layer: usize, capture: &mut LayerCapture) {
        let mut touched = false;
        let hiding = capture
            .whiteouts
            .iter()
            .map(|(p, opaque)| (p, *opaque))
            .chain(capture.replaced.iter().map(|p| (p, true)));
        for (path, opaque) in hiding {
            for p in hidden_by(&self.visible, path, opaque) {
                self.visible.remove(&p);
                self.problems.retain(|(q, ..)| *q != p);
                touched = true;
            }
        }
        for (path, found) in std::mem::take(&mut capture.binaries) {
            touched = true;
            let path = path.as_str().to_owned();
            self.problems.retain(|(q, ..)| *q != path);
            match found {
                Some(found) => {
                    if !found.problems.is_empty() {
                        self.problems.push((path.clone(), layer, found.problems));
                    }
                    self.visible.insert(path, found.packages);
                }
                None => {
                    self.visible.remove(&path);
                }
            }
        }
        if capture.binaries_skipped > 0 {
            inventory.warn(InventoryWarning::TooManyBinaries {
                layer,
                count: capture.binaries_skipped,
                first: capture
                    .binaries_skipped_named
                    .iter()
                    .map(|p| format!("/{}", p.as_str()))
                    .collect(),
            });
        }
        if !touched {
            return;
        }
        let now: Vec<Package> = self
            .visible
            .values()
            .flatten()
            .take(MAX_PACKAGES_IN_IMAGE + 1)
            .cloned()
            .collect();
        if now.len() > MAX_PACKAGES_IN_IMAGE {
            inventory.warn(InventoryWarning::TooManyPackages {
                layer,
                cataloger: "binaries",
            });
            return;
        }
        let before = std::mem::take(&mut self.listed);
        self.listed = inventory.relist(layer, before, now);
    }
}

/// Mark each language package whose metadata file an OS package's file
/// list names (dpkg `info/*.list`, apk `R:` lines, rpm headers): Debian's
/// `python3-requests` egg-info, `node-semver`'s
/// `/usr/share/nodejs/semver/package.json`, `ruby-rack`'s gemspec. Only the
/// language packages' own paths are looked up, so nothing grows with the
/// OS file lists. A package that came in with a layer after the one that
/// wrote the file list is not the OS package's, even at a path the list
/// names: a later layer wrote over the OS package's file (a vulnerable
/// jar copied over Debian's), and the distribution's data says nothing
/// about what it wrote.
fn mark_owned(
    packages: &mut [Found],
    visible: &BTreeMap<String, Vec<u8>>,
    written_in: &HashMap<String, usize>,
) {
    use catalog::PackageType;
    let mut wanted: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in packages.iter().enumerate() {
        if !f.package.kind.is_os() {
            // A nested Java archive is owned as the file that holds it.
            let file = java::outer_file(&f.package.path);
            let path = file.strip_prefix('/').unwrap_or(file);
            wanted.entry(path).or_default().push(i);
        }
    }
    if wanted.is_empty() {
        return;
    }
    // (package, its owner, the file list that names it)
    let mut owners: Vec<(usize, Owner, &str)> = Vec::new();
    for (path, bytes) in visible {
        if dpkg::is_file_list(path) {
            let absolute = format!("/{path}");
            for (file, name) in dpkg::owned_files(&absolute, bytes) {
                for &i in wanted.get(file.as_str()).into_iter().flatten() {
                    owners.push((
                        i,
                        Owner {
                            kind: PackageType::Deb,
                            name: name.to_owned(),
                        },
                        path.as_str(),
                    ));
                }
            }
        } else if rpm::DATABASES.contains(&path.as_str()) {
            let absolute = format!("/{path}");
            for (file, name) in rpm::owned_files(&absolute, bytes, |f| wanted.contains_key(f)) {
                for &i in wanted.get(file.as_str()).into_iter().flatten() {
                    owners.push((
                        i,
                        Owner {
                            kind: PackageType::Rpm,
                            name: name.clone(),
                        },
                        path.as_str(),
                    ));
                }
            }
        } else if path == apk::INSTALLED || path == apk::INSTALLED_USR {
            for (file, name) in apk::owned_files(bytes) {
                for &i in wanted.get(file.as_str()).into_iter().flatten() {
                    owners.push((
                        i,
                        Owner {
                            kind: PackageType::Apk,
                            name: name.clone(),
                        },
                        path.as_str(),
                    ));
                }
            }
        }
    }
    for (i, owner, list) in owners {
        if written_in
            .get(list)
            .is_some_and(|&at| packages[i].layer <= at)
        {
            packages[i].owned_by.get_or_insert(owner);
        }
    }
}

/// The visible paths a whiteout hides (image-spec layer.md "Whiteouts"):
/// the path itself and everything under it, or for an opaque whiteout only
/// what is under the directory. Found by range, not by scanning every path.
fn hidden_by<V>(visible: &BTreeMap<String, V>, path: &ImagePath, opaque: bool) -> Vec<String> {
    if path.is_root() {
        return visible.keys().cloned().collect();
    }
    let dir = format!("{}/", path.as_str());
    let mut out: Vec<String> = visible
        .range(dir.clone()..)
        .map(|(p, _)| p)
        .take_while(|p| p.starts_with(&dir))
        .cloned()
        .collect();
    if !opaque && visible.contains_key(path.as_str()) {
        out.push(path.as_str().to_owned());
    }
    out
}
