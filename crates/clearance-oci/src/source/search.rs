//! The walk that chooses one image out of an index and the indexes inside
//! it, in containerd's order (see `resolve.rs`).

use oci_spec::image::{ImageIndex, ImageManifest};

use crate::manifest::{self, BlobRef, IndexEntry, Manifest, ManifestError, SkipReason};
use crate::platform::Platform;
use crate::source::resolve::{
    Candidate, Document, MAX_INDEX_DEPTH, MAX_SEARCH_FETCHES, config_platform,
};
use crate::source::{ManifestFetch, SourceError};

/// The walk over an index and the indexes inside it, containerd's order at
/// each level. Remembers what it saw for the error.
pub(super) struct Search<'a, F> {
    src: &'a F,
    wanted: &'a Platform,
    label: &'a str,
    fetches: usize,
    available: Vec<String>,
    /// Entries whose platform could not be decided: digest, reason.
    undecided: Vec<(String, String)>,
    skipped: Vec<String>,
}

/// One entry of an index, in the order it is tried.
enum Step {
    /// An image whose descriptor names a platform the request runs.
    Image(BlobRef, Platform),
    /// An index inside the index (its descriptor's platform, if any,
    /// runs under the request).
    Index(BlobRef),
    /// An image whose descriptor names no platform.
    Unlabelled(BlobRef),
}

/// One index being walked.
struct Level {
    steps: std::vec::IntoIter<Step>,
    depth: usize,
    what: String,
}

impl<'a, F: ManifestFetch> Search<'a, F> {
    pub fn new(src: &'a F, wanted: &'a Platform, label: &'a str) -> Self {
        Search {
            src,
            wanted,
            label,
            fetches: 0,
            available: Vec::new(),
            undecided: Vec::new(),
            skipped: Vec::new(),
        }
    }

    pub async fn run(
        &mut self,
        top: ImageIndex,
        what: &str,
    ) -> Result<Option<Candidate>, SourceError> {
        let mut stack = vec![self.level(&top, 0, what)?];
        while let Some(level) = stack.last_mut() {
            let (depth, what) = (level.depth, level.what.clone());
            let Some(step) = level.steps.next() else {
                stack.pop();
                continue;
            };
            let found = match step {
                Step::Image(blob, platform) => self.labelled(blob, platform, &what).await?,
                Step::Unlabelled(blob) => self.unlabelled(blob).await,
                Step::Index(blob) => {
                    if let Some(index) = self.nested(&blob, depth).await {
                        let what = format!("index {} of {}", blob.digest, self.label);
                        stack.push(self.level(&index, depth + 1, &what)?);
                    }
                    None
                }
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Order one index's entries: those whose descriptor names a platform
    /// the request runs, best first (stable, so index order among equals),
    /// then those without a platform in index order.
    fn level(
        &mut self,
        index: &ImageIndex,
        depth: usize,
        what: &str,
    ) -> Result<Level, SourceError> {
        let mut labelled: Vec<(usize, Step)> = Vec::new();
        let mut unlabelled = Vec::new();
        for d in index.manifests() {
            let (step, platform) = match manifest::classify_entry(d, what)? {
                IndexEntry::Skipped { digest, reason } => {
                    self.skipped.push(format!("{digest} ({reason})"));
                    continue;
                }
                IndexEntry::Image { blob, platform } => {
                    (Step::Image(blob, platform.clone()), Some(platform))
                }
                IndexEntry::Index { blob, platform } => (Step::Index(blob), platform),
                IndexEntry::Unlabelled(blob) => (Step::Unlabelled(blob), None),
            };
            match platform {
                None => unlabelled.push(step),
                Some(p) => match self.wanted.preference(&p) {
                    Some(rank) => labelled.push((rank, step)),
                    None => self.available.push(p.to_string()),
                },
            }
        }
        labelled.sort_by_key(|(rank, _)| *rank);
        let steps: Vec<Step> = labelled
            .into_iter()
            .map(|(_, s)| s)
            .chain(unlabelled)
            .collect();
        Ok(Level {
            steps: steps.into_iter(),
            depth,
            what: what.to_owned(),
        })
    }

    /// An index entry that is an index: fetch it, within bounds.
    async fn nested(&mut self, blob: &BlobRef, depth: usize) -> Option<ImageIndex> {
        if depth >= MAX_INDEX_DEPTH {
            self.undecide(
                blob,
                format!("an index nested more than {MAX_INDEX_DEPTH} deep"),
            );
            return None;
        }
        match self.fetch_manifest(blob).await {
            Ok((Manifest::Index(index), _, _)) => Some(*index),
            Ok((Manifest::Image(_), _, _)) => {
                self.undecide(
                    blob,
                    "its descriptor says index, the document is a manifest".into(),
                );
                None
            }
            Err(reason) => {
                self.undecide(blob, reason);
                None
            }
        }
    }

    /// An image entry whose descriptor names its platform. A fetch that
    /// fails here fails the resolution: this is the image asked for.
    async fn labelled(
        &mut self,
        blob: BlobRef,
        platform: Platform,
        index: &str,
    ) -> Result<Option<Candidate>, SourceError> {
        let bytes = match Document::Manifest.fetch(self.src, &blob, self.label).await {
            Ok(bytes) => bytes,
            // A registry's index names a manifest the registry lost; the
            // advice about `docker save` fits archives and layouts only.
            Err(e) if e.is_registry_not_found() => {
                return Err(SourceError::RegistryMissingChild {
                    index: index.to_owned(),
                    platform: Box::new(platform),
                    digest: blob.digest,
                });
            }
            Err(e) if e.is_not_found() => {
                return Err(SourceError::MissingChild {
                    index: index.to_owned(),
                    platform: Box::new(platform),
                    digest: blob.digest,
                    holder: self.label.to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        let what = format!("manifest {} of {}", blob.digest, self.label);
        let (parsed, media_type) = manifest::parse_manifest(&bytes, Some(&blob.media_type), &what)?;
        let Manifest::Image(m) = parsed else {
            return Err(ManifestError::Invalid {
                what,
                kind: "image manifest",
                message: "its index descriptor says image manifest, the document is an index"
                    .into(),
            }
            .into());
        };
        if self.is_artifact(&blob, &m) {
            return Ok(None);
        }
        Ok(Some(Candidate {
            digest: blob.digest,
            media_type,
            bytes,
            manifest: *m,
            config: None,
            declared: Some(platform),
        }))
    }

    /// An image entry without a platform: its config says which it is.
    /// Anything that stops the decision names the entry instead of failing.
    async fn unlabelled(&mut self, blob: BlobRef) -> Option<Candidate> {
        let (m, media_type, bytes) = match self.fetch_manifest(&blob).await {
            Ok((Manifest::Image(m), media_type, bytes)) => (m, media_type, bytes),
            Ok((Manifest::Index(_), _, _)) => {
                self.undecide(
                    &blob,
                    "its descriptor says manifest, the document is an index".into(),
                );
                return None;
            }
            Err(reason) => {
                self.undecide(&blob, reason);
                return None;
            }
        };
        if self.is_artifact(&blob, &m) {
            return None;
        }
        let (config, platform) = match self.fetch_config(&m).await {
            Ok(found) => found,
            Err(reason) => {
                self.undecide(&blob, reason);
                return None;
            }
        };
        if !self.wanted.accepts(&platform) {
            self.available.push(platform.to_string());
            return None;
        }
        Some(Candidate {
            digest: blob.digest,
            media_type,
            bytes,
            manifest: *m,
            config: Some(config),
            declared: None,
        })
    }

    fn is_artifact(&mut self, blob: &BlobRef, m: &ImageManifest) -> bool {
        let what = format!("manifest {} of {}", blob.digest, self.label);
        match manifest::image_config_ref(m, &what) {
            Err(ManifestError::NotAnImage { media_type, .. }) => {
                let reason = SkipReason::Artifact { media_type };
                self.skipped.push(format!("{} ({reason})", blob.digest));
                true
            }
            _ => false,
        }
    }

    /// Count one more document fetched; `false` once over the budget.
    fn spend(&mut self) -> bool {
        self.fetches += 1;
        self.fetches <= MAX_SEARCH_FETCHES
    }

    async fn fetch_manifest(
        &mut self,
        blob: &BlobRef,
    ) -> Result<(Manifest, String, Vec<u8>), String> {
        if !self.spend() {
            return Err(over_budget());
        }
        let bytes = Document::Manifest
            .fetch(self.src, blob, self.label)
            .await
            .map_err(|e| format!("not read: {e}"))?;
        let what = format!("manifest {} of {}", blob.digest, self.label);
        let (parsed, media_type) = manifest::parse_manifest(&bytes, Some(&blob.media_type), &what)
            .map_err(|e| e.to_string())?;
        Ok((parsed, media_type, bytes))
    }

    async fn fetch_config(&mut self, m: &ImageManifest) -> Result<(Vec<u8>, Platform), String> {
        if !self.spend() {
            return Err(over_budget());
        }
        let what = format!("a manifest of {}", self.label);
        let blob = manifest::image_config_ref(m, &what).map_err(|e| e.to_string())?;
        let bytes = Document::Config
            .fetch(self.src, &blob, self.label)
            .await
            .map_err(|e| format!("config not read: {e}"))?;
        let what = format!("config {} of {}", blob.digest, self.label);
        let config = manifest::parse_config(&bytes, &what).map_err(|e| e.to_string())?;
        Ok((bytes, config_platform(&config)))
    }

    fn undecide(&mut self, blob: &BlobRef, reason: String) {
        self.undecided.push((blob.digest.to_string(), reason));
    }

    pub fn no_platform(self, what: String) -> ManifestError {
        let mut seen = std::collections::HashSet::new();
        let mut available = self.available;
        available.retain(|p| seen.insert(p.clone()));
        // An index may name one digest twice: say why once.
        let mut seen = std::collections::HashSet::new();
        let undecided = self
            .undecided
            .into_iter()
            .filter(|(digest, _)| seen.insert(digest.clone()))
            .map(|(digest, reason)| format!("{digest} ({reason})"))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut skipped = self.skipped;
        skipped.retain(|s| seen.insert(s.clone()));
        ManifestError::NoPlatform {
            what,
            wanted: Box::new(self.wanted.clone()),
            available: capped(available),
            undecided: capped(undecided),
            skipped: capped(skipped),
        }
    }
}

/// Most items of each list an error names; the rest are counted.
const MAX_LISTED: usize = 32;

fn capped(mut items: Vec<String>) -> Vec<String> {
    if items.len() > MAX_LISTED {
        let more = items.len() - MAX_LISTED;
        items.truncate(MAX_LISTED);
        items.push(format!("and {more} more"));
    }
    items
}

fn over_budget() -> String {
    format!("not examined: choosing a platform may fetch at most {MAX_SEARCH_FETCHES} documents")
}
