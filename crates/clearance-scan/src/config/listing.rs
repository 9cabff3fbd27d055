//! One layer's listing: every entry's path, kind, size and mode, and its
//! whiteouts, kept as a [`LayerVisitor`] sees them (no content is read).

use std::collections::HashMap;

use clearance_oci::layer::{EntryKind, ImagePath, LayerEntry, LayerVisitor};
use serde::{Deserialize, Serialize};

/// Most ordinary entries (files, directories, links) one layer's listing
/// keeps. Real layers hold tens of thousands; the largest images seen have
/// a few hundred thousand files in all. Past this, entries are counted in
/// [`Untracked`] and their sizes summed, but a later whiteout cannot take
/// them out of the totals.
pub const MAX_ENTRIES_PER_LAYER: usize = 500_000;

/// Most whiteouts and entries with risky modes (setuid, setgid,
/// world-writable) kept past [`MAX_ENTRIES_PER_LAYER`], so a layer cannot
/// hide a setuid file or a whiteout behind half a million others.
pub const MAX_EXTRA_PER_LAYER: usize = 50_000;

/// Mode bits: set-user-ID.
pub const S_ISUID: u32 = 0o4000;
/// Mode bits: set-group-ID.
pub const S_ISGID: u32 = 0o2000;
/// Mode bits: sticky (in a directory: only an entry's owner may remove it).
pub const S_ISVTX: u32 = 0o1000;
/// Mode bits: writable by others.
pub const S_IWOTH: u32 = 0o002;

/// What one layer holds, as metadata: build one per layer with
/// [`LayerListing::default`], hand it to
/// [`read_layer`](clearance_oci::layer::read_layer), then give every
/// layer's listing, in layer order, to [`check`](super::check).
///
/// Memory: about 60 bytes plus the path's length per entry, at most
/// [`MAX_ENTRIES_PER_LAYER`] + [`MAX_EXTRA_PER_LAYER`] entries.
#[derive(Debug, Clone, Default)]
pub struct LayerListing {
    /// Entries in archive order, whiteouts included.
    pub(super) nodes: Vec<Node>,
    /// Entries past the caps: counted, not kept.
    pub(super) untracked: Untracked,
    /// Files of this layer with risky modes, by path: a hard link to one
    /// takes its mode (a tar hard link names a file earlier in its layer).
    risky: HashMap<Box<str>, u32>,
}

/// A [`LayerListing`] in storable form (JSON in a layer store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredListing {
    /// Each entry: image path (no leading `/`), kind, size in bytes, mode
    /// (`0o7777` bits), owner uid.
    pub entries: Vec<(String, StoredKind, u64, u32, u32)>,
    /// Entries counted but not kept.
    pub untracked: Untracked,
}

/// What a stored entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredKind {
    /// A regular file or a hard link.
    #[serde(rename = "f")]
    File,
    /// A directory.
    #[serde(rename = "d")]
    Dir,
    /// A symbolic link, with its target as written.
    #[serde(rename = "l")]
    Symlink(String),
    /// A whiteout of the path.
    #[serde(rename = "w")]
    Whiteout,
    /// An opaque whiteout of the directory.
    #[serde(rename = "o")]
    Opaque,
}

/// Entries a listing counted but did not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Untracked {
    /// How many.
    pub entries: u64,
    /// How many of them were files (regular files and hard links).
    pub files: u64,
    /// The sum of their sizes, in bytes.
    pub bytes: u64,
}

/// One entry as a listing keeps it. `path` is an image path without the
/// leading `/` (as [`clearance_oci::layer::ImagePath`] holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    pub path: Box<str>,
    pub kind: Kind,
    /// Bytes of content (0 for anything but a regular file).
    pub size: u64,
    /// Permission bits with setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    /// Owner, saturated at `u32::MAX`.
    pub uid: u32,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// A regular file, or a hard link (size 0: it shares its target's
    /// content).
    File,
    Dir,
    /// With its target as written.
    Symlink(Box<str>),
    /// `.wh.NAME`: the path is hidden.
    Whiteout,
    /// `.wh..wh..opq`: what lower layers hold under the directory is hidden.
    Opaque,
}

impl Node {
    /// Whether the node's mode is one a check looks at.
    pub fn is_risky(&self) -> bool {
        match self.kind {
            Kind::File => self.mode & (S_ISUID | S_ISGID | S_IWOTH) != 0,
            Kind::Dir => self.mode & S_IWOTH != 0,
            _ => false,
        }
    }
}

impl LayerListing {
    /// Entries the listing keeps.
    pub fn entries(&self) -> usize {
        self.nodes.len()
    }

    /// Entries counted but not kept (past [`MAX_ENTRIES_PER_LAYER`]).
    pub fn untracked(&self) -> Untracked {
        self.untracked
    }

    /// What this layer hid of the layers below (its whiteouts, and every
    /// path it wrote), for [`crate::secrets::mark_deleted`]: the same
    /// record a [`crate::secrets::SecretScanner`] keeps, made from the
    /// listing so that a stored layer has it too. Marked incomplete when
    /// the listing counted entries it did not keep.
    pub fn removals(&self) -> crate::secrets::LayerRemovals {
        let mut removals = crate::secrets::LayerRemovals::new();
        for node in &self.nodes {
            let kind = match node.kind {
                // Which set an entry goes to depends only on whether it is
                // a directory, a whiteout, or anything else.
                Kind::File | Kind::Symlink(_) => EntryKind::File,
                Kind::Dir => EntryKind::Directory,
                Kind::Whiteout => EntryKind::Whiteout,
                Kind::Opaque => EntryKind::OpaqueWhiteout,
            };
            removals.record(&LayerEntry {
                path: ImagePath::normalise(&node.path).0,
                kind,
                size: 0,
                mode: 0,
                uid: 0,
                gid: 0,
            });
        }
        if self.untracked.entries > 0 {
            removals.complete = false;
        }
        removals
    }

    /// The listing in storable form (for the layer store, keyed by diff
    /// id like [`crate::inventory::LayerCapture::to_stored`]).
    pub fn to_stored(&self) -> StoredListing {
        let entries = self
            .nodes
            .iter()
            .map(|n| {
                let kind = match &n.kind {
                    Kind::File => StoredKind::File,
                    Kind::Dir => StoredKind::Dir,
                    Kind::Symlink(t) => StoredKind::Symlink(t.to_string()),
                    Kind::Whiteout => StoredKind::Whiteout,
                    Kind::Opaque => StoredKind::Opaque,
                };
                (n.path.to_string(), kind, n.size, n.mode, n.uid)
            })
            .collect();
        StoredListing {
            entries,
            untracked: self.untracked,
        }
    }

    /// A listing rebuilt from [`LayerListing::to_stored`]. Paths are
    /// normalised again and the caps applied again, so a stored listing
    /// can hold nothing a layer could not.
    pub fn from_stored(stored: StoredListing) -> LayerListing {
        let mut listing = LayerListing {
            untracked: stored.untracked,
            ..LayerListing::default()
        };
        for (path, kind, size, mode, uid) in stored.entries {
            let kind = match kind {
                StoredKind::File => Kind::File,
                StoredKind::Dir => Kind::Dir,
                StoredKind::Symlink(t) => Kind::Symlink(t.into_boxed_str()),
                StoredKind::Whiteout => Kind::Whiteout,
                StoredKind::Opaque => Kind::Opaque,
            };
            listing.keep(Node {
                path: ImagePath::normalise(&path).0.as_str().into(),
                kind,
                size,
                mode: mode & 0o7777,
                uid,
            });
        }
        listing
    }

    fn keep(&mut self, node: Node) {
        let extra = matches!(node.kind, Kind::Whiteout | Kind::Opaque) || node.is_risky();
        let room = if extra {
            MAX_ENTRIES_PER_LAYER + MAX_EXTRA_PER_LAYER
        } else {
            MAX_ENTRIES_PER_LAYER
        };
        if self.nodes.len() < room {
            self.nodes.push(node);
            return;
        }
        self.untracked.entries += 1;
        if node.kind == Kind::File {
            self.untracked.files += 1;
            self.untracked.bytes = self.untracked.bytes.saturating_add(node.size);
        }
    }
}

impl LayerVisitor for LayerListing {
    /// Metadata only: no content is ever read.
    fn wants_content(&mut self, _entry: &LayerEntry) -> bool {
        false
    }

    fn entry(&mut self, entry: LayerEntry, _content: Option<Vec<u8>>) {
        let mut mode = entry.mode & 0o7777;
        let (kind, size) = match entry.kind {
            EntryKind::File => (Kind::File, entry.size),
            EntryKind::Directory => (Kind::Dir, 0),
            EntryKind::Symlink { target } => (Kind::Symlink(target.into_boxed_str()), 0),
            EntryKind::Hardlink { target } => {
                if let Some(&linked) = self.risky.get(target.as_str()) {
                    mode = linked;
                }
                (Kind::File, 0)
            }
            EntryKind::Whiteout => (Kind::Whiteout, 0),
            EntryKind::OpaqueWhiteout => (Kind::Opaque, 0),
        };
        let node = Node {
            path: entry.path.as_str().into(),
            kind,
            size,
            mode,
            uid: u32::try_from(entry.uid).unwrap_or(u32::MAX),
        };
        if node.kind == Kind::File {
            if node.is_risky() {
                if self.risky.len() < MAX_EXTRA_PER_LAYER {
                    self.risky.insert(node.path.clone(), node.mode);
                }
            } else if !self.risky.is_empty() {
                // The same path written again in this layer, now harmless.
                self.risky.remove(&node.path);
            }
        }
        self.keep(node);
    }
}
