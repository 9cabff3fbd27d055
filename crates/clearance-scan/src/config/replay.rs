//! The image's final filesystem, as metadata: every layer's listing applied
//! in layer order with its whiteouts, as a runtime stacks the layers
//! (image-spec layer.md "Applying Changesets").

use std::collections::BTreeMap;
use std::ops::Bound;

use clearance_oci::layer::ImagePath;

use super::listing::{Kind, LayerListing, Node, Untracked};

/// Most symbolic links followed while resolving one path, as Linux's
/// `MAXSYMLINKS`.
const MAX_LINK_HOPS: usize = 40;

/// What the image a container runs holds: each visible path with the layer
/// whose version of it is visible.
#[derive(Debug, Default)]
pub(super) struct FinalFs {
    live: BTreeMap<Box<str>, Live>,
    /// Entries past the listings' caps, summed over all layers: they are
    /// counted as if visible, since no whiteout can be checked against them.
    pub untracked: Untracked,
    /// A buffer for [`FinalFs::remove_below`]'s prefix.
    scratch: String,
}

/// A visible path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Live {
    pub kind: LiveKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    /// The layer whose version is visible (0 is the bottom layer).
    pub layer: usize,
}

/// What a visible path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LiveKind {
    File,
    Dir,
    Symlink(Box<str>),
}

impl FinalFs {
    /// Apply the listings in order, index 0 first.
    pub fn build(layers: Vec<LayerListing>) -> FinalFs {
        let mut fs = FinalFs::default();
        for (layer, listing) in layers.into_iter().enumerate() {
            fs.untracked.entries += listing.untracked.entries;
            fs.untracked.files += listing.untracked.files;
            fs.untracked.bytes = fs.untracked.bytes.saturating_add(listing.untracked.bytes);
            fs.apply(layer, listing.nodes);
        }
        fs
    }

    fn apply(&mut self, layer: usize, nodes: Vec<Node>) {
        // layer.md "Whiteouts": "Whiteout files MUST only apply to resources
        // in lower/parent layers. Files that are present in the same layer
        // as a whiteout file can only be hidden by whiteout files in
        // subsequent layers." So a layer's whiteouts go first.
        for node in &nodes {
            match node.kind {
                Kind::Whiteout => {
                    self.remove_below(&node.path);
                    self.live.remove(&node.path);
                }
                // "An opaque whiteout ... indicat[es] that all siblings
                // are hidden in the lower layer."
                Kind::Opaque => self.remove_below(&node.path),
                _ => {}
            }
        }
        for node in nodes {
            let kind = match node.kind {
                Kind::Whiteout | Kind::Opaque => continue,
                // The root's own entry (`./`) is not a path of the image.
                _ if node.path.is_empty() => continue,
                Kind::File => LiveKind::File,
                Kind::Dir => LiveKind::Dir,
                Kind::Symlink(target) => LiveKind::Symlink(target),
            };
            // A non-directory laid over a directory replaces it with all it
            // held (a runtime's applier removes the directory first).
            if kind != LiveKind::Dir {
                self.remove_below(&node.path);
            }
            let live = Live {
                kind,
                size: node.size,
                mode: node.mode,
                uid: node.uid,
                layer,
            };
            self.live.insert(node.path, live);
        }
    }

    /// Remove everything below `dir` (everything, for the root). Called
    /// for every file a layer adds, so it allocates nothing when nothing
    /// is below.
    fn remove_below(&mut self, dir: &str) {
        if dir.is_empty() {
            self.live.clear();
            return;
        }
        let mut prefix = std::mem::take(&mut self.scratch);
        prefix.clear();
        prefix.push_str(dir);
        prefix.push('/');
        let below: Vec<Box<str>> = below(&self.live, &prefix).map(|(p, _)| p.clone()).collect();
        for p in below {
            self.live.remove(&p);
        }
        self.scratch = prefix;
    }

    /// The entries directly in `dir`, in path order. Each is one range
    /// lookup: what lies below an entry is skipped, not walked.
    pub fn children<'a>(&'a self, dir: &str) -> Vec<(&'a str, &'a Live)> {
        let prefix = format!("{dir}/");
        let mut out = Vec::new();
        let mut from = Bound::Included(prefix.clone());
        while let Some((path, live)) = self
            .live
            .range::<str, _>((from.as_ref().map(String::as_str), Bound::Unbounded))
            .next()
        {
            let Some(rest) = path.strip_prefix(prefix.as_str()) else {
                break;
            };
            from = match rest.split_once('/') {
                None => {
                    out.push((&**path, live));
                    Bound::Excluded(path.to_string())
                }
                // Past `dir/name/…`: `0` follows `/`.
                Some((name, _)) => Bound::Included(format!("{prefix}{name}0")),
            };
        }
        out
    }

    /// Every visible path, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Live)> {
        self.live.iter().map(|(p, l)| (&**p, l))
    }

    /// Follow symbolic links to what `path` names, as the kernel would in
    /// a chroot: each component in turn, `..` and absolute targets kept
    /// inside the image. Returns the real path and its entry; `None` when
    /// nothing is there, for the root, or past [`MAX_LINK_HOPS`] links.
    pub fn resolve(&self, path: &str) -> Option<(String, &Live)> {
        let mut pending: Vec<String> = components(path);
        let mut current = String::new();
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            let next = if current.is_empty() {
                name
            } else {
                format!("{current}/{name}")
            };
            // A directory, or one only implied by the paths below it (a
            // layer need not list its parents): go on from there.
            let Some(LiveKind::Symlink(target)) = self.live.get(next.as_str()).map(|l| &l.kind)
            else {
                current = next;
                continue;
            };
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return None;
            }
            let (resolved, _) = ImagePath::normalise(&next).0.link_target(target);
            pending.extend(components(resolved.as_str()));
            current = String::new();
        }
        let live = self.live.get(current.as_str())?;
        Some((current, live))
    }
}

/// The entries of `live` whose path starts with `prefix` (which ends in
/// `/`), in path order: they sort together, after `a` and `a-b` for `a/`.
fn below<'a>(
    live: &'a BTreeMap<Box<str>, Live>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a Box<str>, &'a Live)> + 'a {
    live.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(move |(p, _)| p.starts_with(prefix))
}

/// A path's components, last first (to pop in order).
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .rev()
        .map(str::to_owned)
        .collect()
}
