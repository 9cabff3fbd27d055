//! From a top-level manifest down to one image: choose a platform in an
//! index, then read and check the config.
//!
//! Indexes are read as image-spec image-index.md allows them: `platform`
//! is optional ("SHOULD be present if its target is platform-specific"), so
//! an entry without one is decided by its child's config, as containerd
//! does; an entry may itself be an index (followed up to
//! [`MAX_INDEX_DEPTH`] deep); attestation manifests and artifacts are
//! skipped and never chosen. Everything fetched is digest-checked.

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::digest::Digest;
use crate::manifest::{
    self, BlobRef, IndexEntry, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, Manifest, ManifestError,
    SkipReason,
};
use crate::platform::Platform;
use crate::source::{LayerRef, ManifestFetch, ResolvedImage, SourceError};

/// Deepest chain of indexes below the top one that is followed.
pub const MAX_INDEX_DEPTH: usize = 4;
/// Most documents (nested indexes, and the manifests and configs of entries
/// without a platform) fetched while choosing, beyond the chosen image's own.
pub const MAX_SEARCH_FETCHES: usize = 32;

/// From a top-level manifest (already verified against `digest`) down to
/// one image: choose the platform in an index, then read the config.
pub(crate) async fn resolve_manifest(
    src: &impl ManifestFetch,
    bytes: &[u8],
    digest: Digest,
    declared: Option<&str>,
    platform: &Platform,
    label: &str,
) -> Result<ResolvedImage, SourceError> {
    let what = format!("manifest {digest} of {label}");
    let (parsed, media_type) = manifest::parse_manifest(bytes, declared, &what)?;
    match parsed {
        Manifest::Image(m) => {
            let chosen = Candidate {
                digest,
                media_type,
                bytes: bytes.to_vec(),
                manifest: *m,
                config: None,
            };
            finish(src, None, chosen, label).await
        }
        Manifest::Index(index) => {
            let mut search = Search::new(src, platform, label);
            match search.run(*index, &what).await? {
                Some(chosen) => finish(src, Some(digest), chosen, label).await,
                None => Err(search.no_platform(what).into()),
            }
        }
    }
}

/// The image manifest chosen, with its config when choosing needed it.
struct Candidate {
    digest: Digest,
    media_type: String,
    bytes: Vec<u8>,
    manifest: ImageManifest,
    config: Option<Vec<u8>>,
}

async fn finish(
    src: &impl ManifestFetch,
    index_digest: Option<Digest>,
    chosen: Candidate,
    label: &str,
) -> Result<ResolvedImage, SourceError> {
    let what = format!("manifest {} of {label}", chosen.digest);
    let config_blob = manifest::image_config_ref(&chosen.manifest, &what)?;
    let config_bytes = match chosen.config {
        Some(bytes) => bytes,
        None => src.fetch_blob(&config_blob, MAX_CONFIG_BYTES).await?,
    };
    let config = manifest::parse_config(
        &config_bytes,
        &format!("config {} of {label}", config_blob.digest),
    )?;
    let layers = layer_refs(&chosen.manifest, &config, &what)?;
    tracing::info!(
        image = label,
        manifest = %chosen.digest,
        config = %config_blob.digest,
        layers = layers.len(),
        "resolved"
    );
    Ok(ResolvedImage {
        reference: label.to_owned(),
        index_digest,
        manifest_digest: chosen.digest,
        manifest_media_type: chosen.media_type,
        manifest_bytes: chosen.bytes,
        manifest: chosen.manifest,
        config_blob,
        config_bytes,
        platform: config_platform(&config),
        config,
        layers,
    })
}

fn config_platform(config: &ImageConfiguration) -> Platform {
    Platform {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

/// Pair each layer with its `diff_id`; their counts must agree.
fn layer_refs(
    manifest: &ImageManifest,
    config: &ImageConfiguration,
    what: &str,
) -> Result<Vec<LayerRef>, SourceError> {
    let diff_ids = config.rootfs().diff_ids();
    let invalid = |kind, message| ManifestError::Invalid {
        what: what.to_owned(),
        kind,
        message,
    };
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            "image",
            format!(
                "{} layers but the config lists {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        )
        .into());
    }
    manifest
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| {
            let diff_id = diff_id
                .parse::<Digest>()
                .map_err(|e| invalid("image config", e.to_string()))?;
            Ok(LayerRef {
                blob: BlobRef::from_descriptor(d, what)?,
                diff_id: Some(diff_id),
                urls: d.urls().clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// A depth-first walk of an index in document order; the first image for
/// the wanted platform wins. Remembers what it saw for the error.
struct Search<'a, F> {
    src: &'a F,
    wanted: &'a Platform,
    label: &'a str,
    fetches: usize,
    available: Vec<String>,
    undecided: Vec<String>,
    skipped: Vec<String>,
}

/// What looking at one entry gave.
enum Found {
    Image(Box<Candidate>),
    Index(Box<ImageIndex>),
    Nothing,
}

impl<'a, F: ManifestFetch> Search<'a, F> {
    fn new(src: &'a F, wanted: &'a Platform, label: &'a str) -> Self {
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

    async fn run(&mut self, top: ImageIndex, what: &str) -> Result<Option<Candidate>, SourceError> {
        let mut stack = vec![(top.manifests().clone().into_iter(), 0, what.to_owned())];
        while let Some((entries, depth, what)) = stack.last_mut() {
            let (depth, what) = (*depth, what.clone());
            let Some(d) = entries.next() else {
                stack.pop();
                continue;
            };
            match self.visit(&d, depth, &what).await? {
                Found::Image(c) => return Ok(Some(*c)),
                Found::Index(index) => {
                    let what = format!("index {} of {}", d.digest(), self.label);
                    stack.push((index.manifests().clone().into_iter(), depth + 1, what));
                }
                Found::Nothing => {}
            }
        }
        Ok(None)
    }

    async fn visit(
        &mut self,
        d: &Descriptor,
        depth: usize,
        what: &str,
    ) -> Result<Found, SourceError> {
        Ok(match manifest::classify_entry(d, what)? {
            IndexEntry::Skipped { digest, reason } => {
                self.skipped.push(format!("{digest} ({reason})"));
                Found::Nothing
            }
            IndexEntry::Index { blob, platform } => self.nested(blob, platform, depth).await,
            IndexEntry::Image { blob, platform } => self.labelled(blob, platform).await?,
            IndexEntry::Unlabelled(blob) => self.unlabelled(blob).await,
        })
    }

    /// An index entry that is an index: follow it, within bounds.
    async fn nested(&mut self, blob: BlobRef, platform: Option<Platform>, depth: usize) -> Found {
        if let Some(p) = platform
            && !self.wanted.accepts(&p)
        {
            self.available.push(p.to_string());
            return Found::Nothing;
        }
        if depth >= MAX_INDEX_DEPTH {
            self.undecided.push(format!(
                "{} (an index nested more than {MAX_INDEX_DEPTH} deep)",
                blob.digest
            ));
            return Found::Nothing;
        }
        match self.fetch_manifest(&blob).await {
            Ok((Manifest::Index(index), _, _)) => Found::Index(index),
            Ok((Manifest::Image(_), _, _)) => {
                self.undecide(
                    &blob,
                    "its descriptor says index, the document is a manifest",
                );
                Found::Nothing
            }
            Err(reason) => {
                self.undecide(&blob, &reason);
                Found::Nothing
            }
        }
    }

    /// An image entry whose descriptor names its platform. A fetch that
    /// fails here fails the resolution: this is the image asked for.
    async fn labelled(&mut self, blob: BlobRef, platform: Platform) -> Result<Found, SourceError> {
        if !self.wanted.accepts(&platform) {
            self.available.push(platform.to_string());
            return Ok(Found::Nothing);
        }
        let bytes = self.src.fetch_blob(&blob, MAX_MANIFEST_BYTES).await?;
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
            return Ok(Found::Nothing);
        }
        Ok(Found::Image(Box::new(Candidate {
            digest: blob.digest,
            media_type,
            bytes,
            manifest: *m,
            config: None,
        })))
    }

    /// An image entry without a platform: its config says which it is.
    /// Anything that stops the decision names the entry instead of failing.
    async fn unlabelled(&mut self, blob: BlobRef) -> Found {
        let (m, media_type, bytes) = match self.fetch_manifest(&blob).await {
            Ok((Manifest::Image(m), media_type, bytes)) => (m, media_type, bytes),
            Ok((Manifest::Index(_), _, _)) => {
                self.undecide(
                    &blob,
                    "its descriptor says manifest, the document is an index",
                );
                return Found::Nothing;
            }
            Err(reason) => {
                self.undecide(&blob, &reason);
                return Found::Nothing;
            }
        };
        if self.is_artifact(&blob, &m) {
            return Found::Nothing;
        }
        let (config, platform) = match self.fetch_config(&m).await {
            Ok(found) => found,
            Err(reason) => {
                self.undecide(&blob, &reason);
                return Found::Nothing;
            }
        };
        if !self.wanted.accepts(&platform) {
            self.available.push(platform.to_string());
            return Found::Nothing;
        }
        Found::Image(Box::new(Candidate {
            digest: blob.digest,
            media_type,
            bytes,
            manifest: *m,
            config: Some(config),
        }))
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
        let bytes = self
            .src
            .fetch_blob(blob, MAX_MANIFEST_BYTES)
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
        let bytes = self
            .src
            .fetch_blob(&blob, MAX_CONFIG_BYTES)
            .await
            .map_err(|e| format!("config not read: {e}"))?;
        let what = format!("config {} of {}", blob.digest, self.label);
        let config = manifest::parse_config(&bytes, &what).map_err(|e| e.to_string())?;
        Ok((bytes, config_platform(&config)))
    }

    fn undecide(&mut self, blob: &BlobRef, reason: &str) {
        self.undecided.push(format!("{} ({reason})", blob.digest));
    }

    fn no_platform(self, what: String) -> ManifestError {
        let mut seen = std::collections::HashSet::new();
        let mut available = self.available;
        available.retain(|p| seen.insert(p.clone()));
        ManifestError::NoPlatform {
            what,
            wanted: Box::new(self.wanted.clone()),
            available: capped(available),
            undecided: capped(self.undecided),
            skipped: capped(self.skipped),
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
