//! Which later layer removed a file: its whiteouts, and the paths it
//! wrote over.
//!
//! A file a later layer deletes is gone from the running container, but
//! its layer is still in the registry: anyone who can pull the image can
//! read it. Such findings stay in the report, marked with the layer that
//! removed them.

use std::collections::{BTreeSet, HashMap};

use clearance_oci::layer::{EntryKind, LayerEntry};
use serde::{Deserialize, Serialize};

use super::SecretFinding;

/// Bytes of paths one layer's [`LayerRemovals`] keeps, counted with an
/// estimate of each entry's overhead; past it, written paths are no longer
/// kept and the record is marked incomplete. 16 MiB holds about 200,000
/// typical paths.
pub const MAX_REMOVAL_BYTES: usize = 16 << 20;
const ENTRY_OVERHEAD: usize = 48;

/// What one layer hid of the layers below it. Paths are image paths
/// without the leading `/` (the root is the empty path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRemovals {
    /// `.wh.NAME`: the path, and all under it, removed.
    pub whiteouts: BTreeSet<String>,
    /// `.wh..wh..opq`: the directory emptied of what lower layers put in it.
    pub opaque: BTreeSet<String>,
    /// Files, links and other non-directories the layer wrote: each
    /// replaces the lower layers' file at that path, or everything under a
    /// lower directory there.
    pub written: BTreeSet<String>,
    /// Directories the layer wrote: each replaces a lower file at that path.
    pub dirs: BTreeSet<String>,
    /// False when [`MAX_REMOVAL_BYTES`] stopped the record: what it holds is
    /// true, but some paths the layer wrote are missing, so a finding
    /// below may not be marked deleted.
    pub complete: bool,
    /// Bytes counted against [`MAX_REMOVAL_BYTES`].
    #[serde(skip)]
    bytes: usize,
}

impl Default for LayerRemovals {
    fn default() -> Self {
        LayerRemovals::new()
    }
}

impl LayerRemovals {
    /// An empty record.
    pub fn new() -> Self {
        LayerRemovals {
            whiteouts: BTreeSet::new(),
            opaque: BTreeSet::new(),
            written: BTreeSet::new(),
            dirs: BTreeSet::new(),
            complete: true,
            bytes: 0,
        }
    }

    /// Note one entry of the layer.
    pub fn record(&mut self, entry: &LayerEntry) {
        let cost = entry.path.as_str().len() + ENTRY_OVERHEAD;
        if self.bytes + cost > MAX_REMOVAL_BYTES {
            self.complete = false;
            return;
        }
        let set = match entry.kind {
            EntryKind::Whiteout => &mut self.whiteouts,
            EntryKind::OpaqueWhiteout => &mut self.opaque,
            EntryKind::Directory => &mut self.dirs,
            EntryKind::File | EntryKind::Symlink { .. } | EntryKind::Hardlink { .. } => {
                &mut self.written
            }
        };
        if set.insert(entry.path.as_str().to_owned()) {
            self.bytes += cost;
        }
    }
}

/// How a layer touched a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    Whiteout,
    Opaque,
    Written,
    Dir,
}

/// Fill in each file finding's `deleted_in`: the first layer after the
/// finding's own that hid the file (image-spec `layer.md`, "Whiteouts"):
///
/// - a whiteout of the file or of a directory above it;
/// - an opaque whiteout of a directory above it;
/// - a new entry at the file's path (the file rewritten or replaced);
/// - a non-directory at a directory above it.
///
/// `layers[i]` is layer `i`'s record. Findings outside the filesystem
/// (`config:…` paths) are left alone. Runs in time linear in the layers'
/// records plus the findings' path depths.
pub fn mark_deleted(
    mut findings: Vec<SecretFinding>,
    layers: &[LayerRemovals],
) -> Vec<SecretFinding> {
    // Every path a finding lies at or under, with what each layer did there.
    let mut touched: HashMap<&str, Vec<(usize, Touch)>> = HashMap::new();
    for f in &findings {
        if let Some(path) = f.path.strip_prefix('/') {
            for (prefix, _) in prefixes(path) {
                touched.entry(prefix).or_default();
            }
        }
    }
    for (index, layer) in layers.iter().enumerate() {
        for (set, touch) in [
            (&layer.whiteouts, Touch::Whiteout),
            (&layer.opaque, Touch::Opaque),
            (&layer.written, Touch::Written),
            (&layer.dirs, Touch::Dir),
        ] {
            if set.len() < touched.len() {
                for p in set {
                    if let Some(v) = touched.get_mut(p.as_str()) {
                        v.push((index, touch));
                    }
                }
            } else {
                for (p, v) in touched.iter_mut() {
                    if set.contains(*p) {
                        v.push((index, touch));
                    }
                }
            }
        }
    }
    let deleted: Vec<Option<usize>> = findings
        .iter()
        .map(|f| {
            let path = f.path.strip_prefix('/')?;
            prefixes(path)
                .filter_map(|(prefix, itself)| {
                    touched
                        .get(prefix)?
                        .iter()
                        .filter(|(layer, touch)| *layer > f.layer && hides(*touch, itself))
                        .map(|(layer, _)| *layer)
                        .min()
                })
                .min()
        })
        .collect();
    for (f, d) in findings.iter_mut().zip(deleted) {
        if d.is_some() {
            f.deleted_in = d;
        }
    }
    findings
}

/// Whether a touch at a path hides a file there (`itself`) or below it.
fn hides(touch: Touch, itself: bool) -> bool {
    match touch {
        Touch::Whiteout | Touch::Written => true,
        Touch::Opaque => !itself,
        Touch::Dir => itself,
    }
}

/// The root (`""`), each directory above `path`, and `path` itself (the
/// last, marked `true`).
fn prefixes(path: &str) -> impl Iterator<Item = (&str, bool)> {
    std::iter::once(("", path.is_empty()))
        .chain(
            path.match_indices('/')
                .map(move |(i, _)| (&path[..i], false)),
        )
        .chain((!path.is_empty()).then_some((path, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_run_from_the_root_to_the_path() {
        let all: Vec<_> = prefixes("a/b/c").collect();
        assert_eq!(
            all,
            [("", false), ("a", false), ("a/b", false), ("a/b/c", true)]
        );
    }
}
