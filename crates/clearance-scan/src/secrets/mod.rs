//! Secrets left in an image: private keys, cloud and CI tokens, and
//! credentials in `.env`, `.npmrc`, `.pypirc`, Docker's `config.json`,
//! `.git-credentials` and `.netrc`, in every layer, including files a
//! later layer deleted (the layer can still be pulled from the registry);
//! and secrets in the config's `ENV` values and build history.
//!
//! - [`SecretScanner`]: a layer visitor, one per layer, that reads the
//!   small text files of the layer and notes its whiteouts;
//! - [`scan_text`]: the detector over one file's bytes (pure);
//! - [`scan_config`]: `ENV` values and history lines;
//! - [`mark_deleted`]: which later layer removed each finding's file.
//!
//! A finding never holds a secret: only its first characters, masked
//! ([`Masked`]). Nothing here logs. The rules, what is skipped and why, and
//! the bounds are in `docs/secrets.md`.
//!
//! ```
//! use clearance_oci::layer::{LayerLimits, read_layer};
//! use clearance_scan::secrets::{SecretScanner, mark_deleted};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let blob: &[u8] = &[0u8; 1024]; // an empty tar
//! let mut scanner = SecretScanner::new(0);
//! read_layer(blob, &LayerLimits::default(), None, &mut scanner)?;
//! let layer = scanner.finish();
//! let findings = mark_deleted(layer.findings, &[layer.removals]);
//! assert!(findings.is_empty());
//! # Ok(())
//! # }
//! ```

mod allow;
mod config;
mod deleted;
mod detect;
mod files;
mod mask;
mod report;
mod rules;
mod scanner;
mod stopwords;

pub use config::{HistoryLine, scan_config, scan_image_config};
pub use deleted::{LayerRemovals, MAX_REMOVAL_BYTES, mark_deleted};
pub use detect::{MAX_FINDINGS_PER_TEXT, TextFinding, rule_errors, scan_text};
pub use files::{env_var_is_secret, secret_name};
pub use mask::{Masked, NotMasked};
pub use report::SecretsReport;
pub use rules::{RuleInfo, all_rules};
pub use scanner::{
    BINARY_SNIFF_BYTES, LayerSecrets, MAX_FINDINGS_PER_LAYER, MAX_SCANNED_BYTES_PER_LAYER,
    MAX_SCANNED_FILE_BYTES, PathSkip, ScanStats, SecretScanner, StoredSecrets, skipped_path,
};

use serde::{Deserialize, Serialize};

use crate::advisory::Severity;

/// A secret found in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretFinding {
    /// The rule's stable id (`aws-access-key-id`, `private-key`).
    pub rule_id: String,
    /// What was found, for a person (`AWS access key ID`).
    pub title: String,
    /// How bad a leak of this kind is.
    pub severity: Severity,
    /// The layer that holds it (0 = base); for the config, the layer its
    /// history line made (see [`scan_config`]).
    pub layer: usize,
    /// The file's absolute image path (`/root/.npmrc`), or `config:Env`,
    /// `config:history[N]`.
    pub path: String,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// The secret's first characters, then `****`.
    pub masked: Masked,
    /// The later layer that deleted or replaced the file, if one did: the
    /// running container does not see it, but the layer that holds it can
    /// still be pulled. Filled by [`mark_deleted`].
    pub deleted_in: Option<usize>,
}

impl SecretFinding {
    fn new(found: TextFinding, layer: usize, path: String) -> Self {
        SecretFinding {
            rule_id: found.rule.id.to_owned(),
            title: found.rule.title.to_owned(),
            severity: found.rule.severity,
            layer,
            path,
            line: found.line,
            masked: found.masked,
            deleted_in: None,
        }
    }
}

/// The rule table is broken: a bug in this crate, found by its tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// A rule's regex (or one of its allowlist regexes) did not compile.
    #[error("secret rule {rule} does not compile: {message}")]
    RuleDoesNotCompile {
        /// The rule's id.
        rule: &'static str,
        /// The regex crate's message.
        message: String,
    },
    /// A keyword automaton could not be built.
    #[error("secret rule {what} could not be built: {message}")]
    Prefilter {
        /// Which automaton (`keywords`, `stopwords`, `placeholders`).
        what: &'static str,
        /// The aho-corasick crate's message.
        message: String,
    },
}
