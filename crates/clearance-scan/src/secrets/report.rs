//! One image's secrets: every layer's findings with the configuration's,
//! each file finding marked with the later layer that deleted its file.

use serde::Serialize;

use super::{LayerSecrets, ScanStats, SecretFinding, mark_deleted};
use crate::advisory::Severity;

/// Every secret found in one image (the `secrets` member of
/// `clearance.scan/v1`, docs/scan-json.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretsReport {
    /// The findings, most severe first, then by layer, path and line.
    pub findings: Vec<SecretFinding>,
    /// What the layers' scans read and skipped, summed.
    pub stats: ScanStats,
    /// Why findings may be missing, one sentence each: a layer whose scan
    /// budget ran out, findings past a cap, a layer with too many paths to
    /// tell which files it deleted. Empty when every layer read was
    /// scanned whole.
    pub incomplete: Vec<String>,
}

impl SecretsReport {
    /// The report for an image whose layer `i` gave `layers[i]` (layers
    /// not read give an empty [`LayerSecrets`]) and whose configuration
    /// gave `config` ([`super::scan_config`]).
    pub fn build(layers: Vec<LayerSecrets>, config: Vec<SecretFinding>) -> SecretsReport {
        let mut stats = ScanStats::default();
        let mut incomplete = Vec::new();
        let mut findings = Vec::new();
        let mut removals = Vec::with_capacity(layers.len());
        for layer in layers {
            let s = &layer.stats;
            if s.skipped_budget > 0 {
                incomplete.push(format!(
                    "layer {}: {} files not scanned (the layer's {} MiB scan budget was spent)",
                    layer.layer,
                    s.skipped_budget,
                    super::MAX_SCANNED_BYTES_PER_LAYER >> 20
                ));
            }
            if s.findings_dropped > 0 {
                incomplete.push(format!(
                    "layer {}: {} findings past the first {} not kept",
                    layer.layer,
                    s.findings_dropped,
                    super::MAX_FINDINGS_PER_LAYER
                ));
            }
            if !layer.removals.complete {
                incomplete.push(format!(
                    "layer {}: too many paths to record them all; a file it deleted may not be marked deleted",
                    layer.layer
                ));
            }
            stats.add(s);
            findings.extend(layer.findings);
            removals.push(layer.removals);
        }
        let mut findings = mark_deleted(findings, &removals);
        findings.extend(config);
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.layer.cmp(&b.layer))
                .then_with(|| a.path.cmp(&b.path))
                .then(a.line.cmp(&b.line))
        });
        SecretsReport {
            findings,
            stats,
            incomplete,
        }
    }

    /// The findings at or above `severity`.
    pub fn at_or_above(&self, severity: Severity) -> impl Iterator<Item = &SecretFinding> {
        self.findings.iter().filter(move |f| f.severity >= severity)
    }
}
