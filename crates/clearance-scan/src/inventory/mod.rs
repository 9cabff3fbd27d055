//! The packages of an image, each with the layer that brought it in.
//!
//! Reading: every layer streams once through a [`LayerCapture`], which keeps
//! only the files the catalogers and OS detection ask for (each at most
//! [`MAX_DATABASE_BYTES`]) and the layer's whiteouts. Layers can be read in
//! parallel; nothing else of them is held.
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

use std::collections::{BTreeMap, HashMap};

use clearance_oci::layer::{EntryKind, ImagePath, LayerEntry, LayerVisitor};
use serde::Serialize;

use crate::catalog::{self, CatalogError, Cataloger, MAX_DATABASE_BYTES, Package};
use crate::os::{self, Distro};

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
}

/// Which paths the inventory keeps.
#[derive(Clone, Default)]
struct Wanted(Option<std::sync::Arc<Vec<Box<dyn Cataloger>>>>);

impl std::fmt::Debug for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wanted")
    }
}

impl Wanted {
    fn wants(&self, path: &str) -> bool {
        os::FILES.contains(&path)
            || self
                .0
                .as_ref()
                .is_some_and(|all| all.iter().any(|c| c.wants(path)))
    }
}

impl LayerCapture {
    /// A capture for one layer, keeping what `catalogers` and OS detection
    /// want. Share one `catalogers` list among all the layers of a scan.
    pub fn new(catalogers: std::sync::Arc<Vec<Box<dyn Cataloger>>>) -> LayerCapture {
        LayerCapture {
            wanted: Wanted(Some(catalogers)),
            ..LayerCapture::default()
        }
    }
}

impl LayerVisitor for LayerCapture {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        if !self.wanted.wants(entry.path.as_str()) {
            return false;
        }
        if entry.size > MAX_DATABASE_BYTES {
            self.too_large.push((entry.path.clone(), entry.size));
            return false;
        }
        true
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        match entry.kind {
            EntryKind::Whiteout => self.whiteouts.push((entry.path, false)),
            EntryKind::OpaqueWhiteout => self.whiteouts.push((entry.path, true)),
            _ if self.wanted.wants(entry.path.as_str()) => {
                // A hard link to a wanted file reads as that file's content
                // only if the reader hands it over; otherwise it hides the
                // lower file like any other non-file.
                let content = content.filter(|_| entry.kind == EntryKind::File);
                self.changes.push((entry.path, content));
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
    /// What could not be read.
    #[serde(skip)]
    pub warnings: Vec<InventoryWarning>,
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
    /// Replay the layers' captures in order (index 0 first) and catalog
    /// what each layer leaves visible. `catalogers` must be the list the
    /// captures were made with.
    pub fn build(catalogers: &[Box<dyn Cataloger>], layers: Vec<LayerCapture>) -> Inventory {
        let mut visible: BTreeMap<ImagePath, Vec<u8>> = BTreeMap::new();
        let mut inventory = Inventory::default();
        // Per cataloger: what it listed after the last layer that touched
        // its files, each with the layer that brought it in.
        let mut listed: Vec<HashMap<Key, Found>> = vec![HashMap::new(); catalogers.len()];
        for (layer, capture) in layers.into_iter().enumerate() {
            let mut touched: Vec<ImagePath> = Vec::new();
            for (path, opaque) in &capture.whiteouts {
                let gone: Vec<ImagePath> = visible
                    .keys()
                    .filter(|p| p.starts_with(path) && (!*opaque || *p != path))
                    .cloned()
                    .collect();
                for p in gone {
                    visible.remove(&p);
                    touched.push(p);
                }
            }
            for (path, content) in capture.changes {
                match content {
                    Some(bytes) => {
                        visible.insert(path.clone(), bytes);
                    }
                    None => {
                        visible.remove(&path);
                    }
                }
                touched.push(path);
            }
            for (path, size) in capture.too_large {
                inventory.warnings.push(InventoryWarning::TooLarge {
                    layer,
                    path: path.to_string(),
                    size,
                });
            }
            if touched.iter().any(|p| os::FILES.contains(&p.as_str())) {
                inventory.distro = os::detect(|path| {
                    visible
                        .iter()
                        .find(|(p, _)| p.as_str() == path)
                        .map(|(_, b)| b.as_slice())
                });
            }
            for (i, cataloger) in catalogers.iter().enumerate() {
                if !touched.iter().any(|p| cataloger.wants(p.as_str())) {
                    continue;
                }
                let files: Vec<(String, &[u8])> = visible
                    .iter()
                    .filter(|(p, _)| cataloger.wants(p.as_str()))
                    .map(|(p, b)| (p.to_string(), b.as_slice()))
                    .collect();
                let mut problems = Vec::new();
                let now = cataloger.catalog(&files, inventory.distro.as_ref(), &mut problems);
                inventory.warnings.extend(
                    problems
                        .into_iter()
                        .map(|problem| InventoryWarning::Catalog { layer, problem }),
                );
                let before = std::mem::take(&mut listed[i]);
                let mut next: HashMap<Key, Found> = HashMap::with_capacity(now.len());
                for package in now {
                    let k = key(&package);
                    let from = before.get(&k).map_or(layer, |f| f.layer);
                    next.insert(
                        k,
                        Found {
                            package,
                            layer: from,
                        },
                    );
                }
                for (k, gone) in before {
                    if !next.contains_key(&k) {
                        inventory.removed.push(Removed {
                            package: gone.package,
                            layer: gone.layer,
                            removed_in: layer,
                        });
                    }
                }
                listed[i] = next;
            }
        }
        inventory.packages = listed.into_iter().flat_map(HashMap::into_values).collect();
        // The distribution may be known only from a layer after the one
        // that listed a package: name it in every purl.
        let distro = inventory.distro.as_ref();
        for p in inventory
            .packages
            .iter_mut()
            .map(|f| &mut f.package)
            .chain(inventory.removed.iter_mut().map(|r| &mut r.package))
        {
            p.purl = catalog::purl(p.kind, distro, &p.name, &p.version, p.arch.as_deref());
        }
        inventory.packages.sort_by_key(|a| key(&a.package));
        inventory
            .removed
            .sort_by_key(|a| (a.removed_in, key(&a.package)));
        inventory
    }
}
