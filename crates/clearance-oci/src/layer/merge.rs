//! The merged filesystem of an image: layers applied in order with their
//! whiteouts, remembering which layer added, replaced or deleted each path.

use std::collections::BTreeMap;

use crate::layer::path::ImagePath;
use crate::layer::reader::{EntryKind, LayerEntry};

/// What a layer did to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Replaced,
    Deleted,
}

/// One step in a path's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PathEvent {
    /// Index of the layer, from 0 (the base).
    pub layer: usize,
    pub change: Change,
}

/// A path as it stands in the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedEntry {
    pub entry: LayerEntry,
    /// The layer whose version of the path is visible.
    pub layer: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{path}: too many levels of symbolic links")]
    Loop { path: ImagePath },
    #[error("{path}: no such file in the image")]
    NotFound { path: ImagePath },
}

/// Most symlinks followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: usize = 40;

/// The merged view of all layers applied so far.
#[derive(Debug, Default)]
pub struct MergedFs {
    live: BTreeMap<ImagePath, MergedEntry>,
    history: BTreeMap<ImagePath, Vec<PathEvent>>,
    layers: usize,
}

impl MergedFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply the next layer's entries. Whiteouts act on lower layers only,
    /// so a layer may empty a directory and fill it again.
    pub fn apply_layer(&mut self, entries: impl IntoIterator<Item = LayerEntry>) {
        let layer = self.layers;
        self.layers += 1;
        let (hides, adds): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|e| matches!(e.kind, EntryKind::Whiteout | EntryKind::OpaqueWhiteout));
        for w in hides {
            match w.kind {
                EntryKind::OpaqueWhiteout => self.remove_below(&w.path, layer),
                _ => {
                    self.remove_below(&w.path, layer);
                    self.remove(&w.path, layer);
                }
            }
        }
        for entry in adds {
            if entry.path.is_root() {
                continue;
            }
            // A non-directory over a directory hides what was below it.
            if entry.kind != EntryKind::Directory {
                self.remove_below(&entry.path, layer);
            }
            let path = entry.path.clone();
            let change = match self.live.get(&path) {
                Some(old) if old.layer == layer => None, // repeated in one layer: last wins
                Some(_) => Some(Change::Replaced),
                None => Some(Change::Added),
            };
            self.live.insert(path.clone(), MergedEntry { entry, layer });
            if let Some(change) = change {
                self.history
                    .entry(path)
                    .or_default()
                    .push(PathEvent { layer, change });
            }
        }
    }

    /// The visible entry at `path`, without following links.
    pub fn get(&self, path: &ImagePath) -> Option<&MergedEntry> {
        self.live.get(path)
    }

    /// What each layer did to `path`, oldest first.
    pub fn history(&self, path: &ImagePath) -> &[PathEvent] {
        self.history
            .get(path)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every visible entry, in path order.
    pub fn entries(&self) -> impl Iterator<Item = &MergedEntry> {
        self.live.values()
    }

    /// Every path any layer ever deleted and that is still gone.
    pub fn deleted(&self) -> impl Iterator<Item = (&ImagePath, &PathEvent)> {
        self.history.iter().filter_map(|(p, h)| match h.last() {
            Some(e) if e.change == Change::Deleted && !self.live.contains_key(p) => Some((p, e)),
            _ => None,
        })
    }

    /// Follow symlinks (and hardlinks) to the entry `path` names, as the
    /// kernel would inside a chroot: `..` and absolute targets never leave
    /// the image root.
    pub fn resolve(&self, path: &ImagePath) -> Result<&MergedEntry, ResolveError> {
        let mut hops = 0;
        let mut pending: Vec<String> = path
            .as_str()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .rev()
            .collect();
        let mut current = ImagePath::ROOT;
        while let Some(name) = pending.pop() {
            let next = current.join(&name);
            let Some(found) = self.live.get(&next) else {
                return Err(ResolveError::NotFound { path: path.clone() });
            };
            let target = match &found.entry.kind {
                EntryKind::Symlink { target } => next.link_target(target).0,
                EntryKind::Hardlink { target } if pending.is_empty() => target.clone(),
                _ => {
                    current = next;
                    continue;
                }
            };
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Err(ResolveError::Loop { path: path.clone() });
            }
            pending.extend(
                target
                    .as_str()
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .rev(),
            );
            current = ImagePath::ROOT;
        }
        if current.is_root() {
            return Err(ResolveError::NotFound { path: path.clone() });
        }
        self.live
            .get(&current)
            .ok_or(ResolveError::NotFound { path: path.clone() })
    }

    fn remove(&mut self, path: &ImagePath, layer: usize) {
        if self.live.remove(path).is_some() {
            self.history
                .entry(path.clone())
                .or_default()
                .push(PathEvent {
                    layer,
                    change: Change::Deleted,
                });
        }
    }

    fn remove_below(&mut self, dir: &ImagePath, layer: usize) {
        let below: Vec<ImagePath> = self
            .live
            .range(dir.descendants_start()..)
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for p in below {
            self.remove(&p, layer);
        }
    }
}
