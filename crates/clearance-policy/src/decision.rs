//! A decision: allowed or not, and each reason with the rule, the evidence
//! and what would fix it (`clearance.decision/v1`).

use serde::Serialize;

use crate::policy::Mode;

/// The JSON shape's name.
pub const SCHEMA: &str = "clearance.decision/v1";

/// The answer for one image in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// Whether it may run. In `warn` mode always true, with the reasons.
    pub allowed: bool,
    /// The environment judged against.
    pub environment: String,
    /// Its mode.
    pub mode: Mode,
    /// The image reference as asked for.
    pub reference: String,
    /// The digest judged, when known.
    pub digest: Option<String>,
    /// Why not (and warnings), in the order the rules were applied.
    pub reasons: Vec<Reason>,
    /// Exceptions of the environment that matched a finding: applied, or
    /// expired and so not applied.
    pub exceptions: Vec<ExceptionUse>,
}

/// One rule's finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule (`trust.roles`, `contents.max_severity`, …).
    pub rule: &'static str,
    /// Deny, or warn in `warn` mode.
    pub outcome: Outcome,
    /// What is wrong, in a sentence.
    pub message: String,
    /// The evidence it rests on (`trust.signers = targets/ci`).
    pub evidence: String,
    /// What would make it pass.
    pub fix: String,
}

/// A reason's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The image is denied.
    Deny,
    /// Would deny; the environment only warns.
    Warn,
}

/// An exception that matched a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionUse {
    /// The advisory it names.
    pub id: String,
    /// Its reason.
    pub reason: String,
    /// Its last day (`YYYY-MM-DD`).
    pub expires: String,
    /// `applied`, or `expired` (the finding counted).
    pub state: &'static str,
}
