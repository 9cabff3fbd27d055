//! One pass over a layer gathers everything a scan needs from it: the
//! package metadata files ([`LayerCapture`]) and the entries' metadata for
//! the configuration checks ([`LayerListing`]).

use std::sync::Arc;

use clearance_oci::layer::{LayerEntry, LayerVisitor};

use crate::catalog::Cataloger;
use crate::config::LayerListing;
use crate::inventory::LayerCapture;

/// What a scan keeps of one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerScan {
    /// The package metadata files and whiteouts.
    pub capture: LayerCapture,
    /// Every entry's path, kind, mode and size (bounded).
    pub listing: LayerListing,
}

impl LayerScan {
    /// A scan of one layer for `catalogers`.
    pub fn new(catalogers: Arc<Vec<Box<dyn Cataloger>>>) -> LayerScan {
        LayerScan {
            capture: LayerCapture::new(catalogers),
            listing: LayerListing::default(),
        }
    }
}

impl LayerVisitor for LayerScan {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        // Both are asked: each keeps its own budget.
        let listing = self.listing.wants_content(entry);
        self.capture.wants_content(entry) || listing
    }

    fn stream_content(&mut self, entry: &LayerEntry, content: &mut dyn std::io::Read) {
        self.capture.stream_content(entry, content);
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        self.listing.entry(entry.clone(), None);
        self.capture.entry(entry, content);
    }
}
