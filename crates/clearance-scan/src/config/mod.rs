//! Configuration and attack surface: what an image's config and its
//! layers' file metadata say about how exposed a container of it is.
//!
//! Reading: every layer streams once through a [`LayerListing`] (a layer
//! visitor that reads no content), which keeps each entry's path, kind,
//! size and mode, and the layer's whiteouts ([`StoredListing`] is its
//! storable form, for a layer store keyed by diff id).
//!
//! Checking: [`check`] is a pure function over the image configuration,
//! the listings in layer order and what the caller knows ([`ImageFacts`]):
//!
//! - from the configuration: runs as root, `ADD` of a URL in the history,
//!   SSH, telnet and other risky ports exposed;
//! - from the layers, replayed with their whiteouts so that a file a later
//!   layer deleted is not reported: setuid and setgid files,
//!   world-writable directories and files on `PATH`, world-writable
//!   directories without the sticky bit elsewhere;
//! - an [`AttackSurface`] summary: package count, shells and package
//!   managers present, setuid files, files and total size.
//!
//! Each [`ConfigFinding`] has a stable [`Check`] id (`CLR-CFG-001`, listed
//! in `docs/config-checks.md`), a severity, a one-line fix, its evidence,
//! and its [`Origin`]: the base image's layers or the image's own, when the
//! caller knows how many layers the base has.
//!
//! Secrets in `ENV` or in build arguments kept in the history are the
//! secrets scanner's; [`secret_candidates`] hands it those texts with
//! where each came from.

mod base;
mod checks;
mod files;
mod history;
mod image;
mod listing;
mod replay;
mod texts;

use std::collections::BTreeMap;

use oci_spec::image::ImageConfiguration;

pub use base::{BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION, BaseError, base_layers};
use serde::Serialize;

use crate::advisory::Severity;

pub use checks::Check;
pub use files::{AttackSurface, Tool};
pub use listing::{
    LayerListing, MAX_ENTRIES_PER_LAYER, MAX_EXTRA_PER_LAYER, S_ISGID, S_ISUID, S_ISVTX, S_IWOTH,
    StoredKind, StoredListing, Untracked,
};
pub use texts::{ConfigText, TextPlace, secret_candidates};

/// Most findings kept per check; the rest are counted in
/// [`ConfigReport::not_shown`].
pub const MAX_FINDINGS_PER_CHECK: usize = 1_000;

/// Longest evidence string kept (a path, a history line), in bytes; longer
/// ones are cut at a character boundary and end with `…`.
pub const MAX_EVIDENCE_BYTES: usize = 1_024;

/// Most `PATH` directories checked (a real `PATH` has a handful).
pub const MAX_PATH_DIRS: usize = 256;

/// The `PATH` a container gets when the image's config sets none (what
/// Docker and containerd use).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the caller knows about the image besides its config and layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// Packages in the image (from the inventory), for the summary.
    pub packages: usize,
    /// How many of the image's bottom layers are its base image's: from
    /// the `org.opencontainers.image.base.*` annotations, or by comparing
    /// diff ids with `--base IMAGE`. `None` when unknown: every finding's
    /// origin is then [`Origin::Unknown`].
    pub base_layers: Option<usize>,
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The base image's layers or history.
    Base,
    /// The image's own layers or history (or its final configuration).
    Own,
    /// The base is not known, or the history does not say.
    Unknown,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigFinding {
    /// The check (serialised as its id, `CLR-CFG-001`).
    pub id: Check,
    /// The check's name (`runs-as-root`).
    pub name: &'static str,
    /// How serious.
    pub severity: Severity,
    /// What it means, in one line.
    pub title: &'static str,
    /// What to do, in one line.
    pub fix: &'static str,
    /// Base image, own layers, or unknown.
    pub origin: Origin,
    /// What was seen, and where.
    pub evidence: Evidence,
}

/// What a finding saw, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The value that triggered the finding (`USER root`, `22/tcp`, a URL,
    /// `mode 4755 uid 0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The image path (absolute: `/usr/bin/passwd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The layer whose version of the path is visible, or that the history
    /// line made (0 is the bottom layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// The history line (`created_by`) of that layer, or the line that set
    /// the value (`USER root`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigReport {
    /// Findings, most severe first, then by id, layer and path; at most
    /// [`MAX_FINDINGS_PER_CHECK`] per check.
    pub findings: Vec<ConfigFinding>,
    /// Per check, the findings past [`MAX_FINDINGS_PER_CHECK`]: counted,
    /// not listed.
    pub not_shown: BTreeMap<Check, u64>,
    /// Findings listed, by origin.
    pub by_origin: BTreeMap<Origin, usize>,
    /// The attack-surface summary.
    pub surface: AttackSurface,
}

impl ConfigReport {
    /// The findings of one origin (the base image's, the image's own).
    pub fn from_origin(&self, origin: Origin) -> impl Iterator<Item = &ConfigFinding> {
        self.findings.iter().filter(move |f| f.origin == origin)
    }
}

/// Why the checks could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The base is said to have more layers than the image.
    #[error(
        "the base image is said to have {base} layers, but the image has only {layers}; is it really this image's base?"
    )]
    BaseLongerThanImage {
        /// Layers the caller said the base has.
        base: usize,
        /// Layers the image has.
        layers: usize,
    },
}

/// Check an image: its configuration, and `layers` (one listing per layer
/// of the image, bottom first) replayed with their whiteouts. Pure and
/// bounded: at most [`MAX_FINDINGS_PER_CHECK`] findings per check.
///
/// # Errors
///
/// [`ConfigError::BaseLongerThanImage`] when `facts.base_layers` is more
/// than the number of layers.
pub fn check(
    config: &ImageConfiguration,
    layers: Vec<LayerListing>,
    facts: ImageFacts,
) -> Result<ConfigReport, ConfigError> {
    if let Some(base) = facts.base_layers
        && base > layers.len()
    {
        return Err(ConfigError::BaseLongerThanImage {
            base,
            layers: layers.len(),
        });
    }
    let timeline = history::Timeline::new(config, layers.len(), facts.base_layers);
    let path = image::path_dirs(config);
    let fs = replay::FinalFs::build(layers);
    let mut found = Findings::default();
    image::check_config(config, &timeline, &mut found);
    files::check_files(&fs, &path, &timeline, &mut found);
    let surface = files::surface(&fs, &path, facts.packages);

    let Findings {
        mut kept,
        not_shown,
        ..
    } = found;
    kept.sort_by(|a, b| {
        (
            b.severity,
            a.id,
            a.evidence.layer,
            &a.evidence.path,
            &a.evidence.value,
        )
            .cmp(&(
                a.severity,
                b.id,
                b.evidence.layer,
                &b.evidence.path,
                &b.evidence.value,
            ))
    });
    let mut by_origin = BTreeMap::new();
    for f in &kept {
        *by_origin.entry(f.origin).or_default() += 1;
    }
    Ok(ConfigReport {
        findings: kept,
        not_shown,
        by_origin,
        surface,
    })
}

/// Findings as the checks make them, at most [`MAX_FINDINGS_PER_CHECK`]
/// per check (the first ones made; the checks walk paths in order, so
/// which are kept does not vary).
#[derive(Debug, Default)]
struct Findings {
    kept: Vec<ConfigFinding>,
    per_check: BTreeMap<Check, usize>,
    not_shown: BTreeMap<Check, u64>,
}

impl Findings {
    /// Add a finding of `check` at its usual severity, with the evidence
    /// `evidence` builds, unless the check has its fill: then it is only
    /// counted. Returns the finding added, to adjust.
    fn add(
        &mut self,
        check: Check,
        origin: Origin,
        evidence: impl FnOnce() -> Evidence,
    ) -> Option<&mut ConfigFinding> {
        let n = self.per_check.entry(check).or_default();
        if *n >= MAX_FINDINGS_PER_CHECK {
            *self.not_shown.entry(check).or_default() += 1;
            return None;
        }
        *n += 1;
        self.kept
            .push(ConfigFinding::new(check, origin, evidence()));
        self.kept.last_mut()
    }
}

impl ConfigFinding {
    /// A finding of `check` at its usual severity.
    fn new(check: Check, origin: Origin, evidence: Evidence) -> ConfigFinding {
        ConfigFinding {
            id: check,
            name: check.name(),
            severity: check.severity(),
            title: check.title(),
            fix: check.fix(),
            origin,
            evidence,
        }
    }
}

/// `s`, cut to [`MAX_EVIDENCE_BYTES`] at a character boundary.
fn clip(s: &str) -> String {
    if s.len() <= MAX_EVIDENCE_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_EVIDENCE_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
