//! Reading layers safely: one streaming pass per layer, nothing written to
//! the host, hostile entries normalised or refused, and a merged view.

mod decode;
mod merge;
mod path;
mod reader;
pub mod tarstream;

pub use merge::{Change, MergedEntry, MergedFs, PathEvent, ResolveError};
pub use path::{ImagePath, Normalised};
pub use reader::{
    Compression, EntryKind, LayerEntry, LayerError, LayerLimits, LayerStats, LayerVisitor,
    LayerWarning, read_layer,
};

/// A visitor that keeps every entry and the content of files `select` names.
pub struct Collect<F> {
    select: F,
    pub entries: Vec<LayerEntry>,
    pub files: Vec<(ImagePath, Vec<u8>)>,
}

impl<F: FnMut(&ImagePath) -> bool> Collect<F> {
    pub fn new(select: F) -> Self {
        Collect {
            select,
            entries: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl<F> std::fmt::Debug for Collect<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collect")
            .field("entries", &self.entries.len())
            .field("files", &self.files.len())
            .finish()
    }
}

impl<F: FnMut(&ImagePath) -> bool> LayerVisitor for Collect<F> {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        (self.select)(&entry.path)
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        if let Some(content) = content {
            self.files.push((entry.path.clone(), content));
        }
        self.entries.push(entry);
    }
}
