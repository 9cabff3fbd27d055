//! One pass over a layer gathers everything a scan needs from it: the
//! package metadata files ([`LayerCapture`]), the entries' metadata for
//! the configuration checks ([`LayerListing`]) and the secrets in its
//! small text files ([`SecretScanner`]).

use std::sync::Arc;

use clearance_oci::layer::{LayerEntry, LayerVisitor};

use crate::catalog::Cataloger;
use crate::config::LayerListing;
use crate::inventory::LayerCapture;
use crate::secrets::{LayerSecrets, SecretScanner};

/// What a scan keeps of one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerScan {
    /// The package metadata files and whiteouts.
    pub capture: LayerCapture,
    /// Every entry's path, kind, mode and size (bounded).
    pub listing: LayerListing,
    /// The secrets in the layer's files (masked), at layer 0 until
    /// [`LayerScan::secrets_at`] places them.
    pub secrets: SecretScanner,
    /// Whether the secret scanner asked for the entry being read.
    secrets_asked: bool,
}

impl LayerScan {
    /// A scan of one layer for `catalogers`.
    pub fn new(catalogers: Arc<Vec<Box<dyn Cataloger>>>) -> LayerScan {
        LayerScan {
            capture: LayerCapture::new(catalogers),
            ..LayerScan::default()
        }
    }

    /// A layer scan rebuilt from what a layer store kept of it.
    pub fn from_parts(
        capture: LayerCapture,
        listing: LayerListing,
        secrets: SecretScanner,
    ) -> LayerScan {
        LayerScan {
            capture,
            listing,
            secrets,
            secrets_asked: false,
        }
    }

    /// The layer's secrets as layer `layer` of an image, for
    /// [`crate::secrets::SecretsReport::build`], with the removals its
    /// listing records when `below` is [`Below::HasFindings`] (they only
    /// matter for findings of lower layers, and making them walks every
    /// path the layer wrote).
    pub fn secrets_at(&self, layer: usize, below: Below) -> LayerSecrets {
        let mut secrets = self.secrets.clone().finish().at_layer(layer);
        if below == Below::HasFindings {
            secrets.removals = self.listing.removals();
        }
        secrets
    }
}

/// Whether the layers below one hold secret findings (whose files this
/// layer may delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Below {
    /// Some lower layer has findings: the removal record is needed.
    HasFindings,
    /// None has.
    NoFindings,
}

impl LayerScan {
    /// Whether this layer's secret scan found anything.
    pub fn has_secret_findings(&self) -> bool {
        self.secrets.has_findings()
    }
}

impl LayerVisitor for LayerScan {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        // Each is asked (each keeps its own budget and counts); the secret
        // scanner gets the content only if it asked for it, the capture
        // decides for itself.
        let listing = self.listing.wants_content(entry);
        let capture = self.capture.wants_content(entry);
        self.secrets_asked = self.secrets.wants_content(entry);
        capture || self.secrets_asked || listing
    }

    fn stream_content(&mut self, entry: &LayerEntry, content: &mut dyn std::io::Read) {
        self.capture.stream_content(entry, content);
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        let secrets_asked = std::mem::take(&mut self.secrets_asked);
        self.listing.entry(entry.clone(), None);
        if secrets_asked && let Some(content) = &content {
            self.secrets.scan_file(&entry, content);
        }
        self.secrets.link(&entry);
        // The capture keeps only what it asked for, and reads a binary
        // another visitor had handed over whole from memory.
        self.capture.entry(entry, content);
    }
}
