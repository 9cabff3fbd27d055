//! `clearance check IMAGE --env ENV`: the gate a pipeline runs. Gathers the
//! evidence an environment's rules read — the tag's signers through
//! Clearance trust, the scan (from stored layer inventories), the image
//! configuration — asks the one decision function
//! ([`clearance_policy::evaluate`]), prints a green check or a red cross
//! with the reasons, and appends the decision to the audit trail. Exit 0
//! allowed, 1 denied, 2 when it could not be judged (schema
//! `clearance.check/v1`, docs/policy.md).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use clearance_policy::audit::{AuditLog, AuditRecord};
use clearance_policy::decision::{Decision, Outcome};
use clearance_policy::evidence::{Evidence, Severity};
use clearance_scan::db::AdvisoryDb;
use serde::Serialize;

use super::db::DbArgs;
use super::evidence::{Gathered, Needs, Sources};
use super::image::ImageArgs;
use super::trust::common::OptionalTrustArgs;
use super::trust::verify::RootArgs;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _, bad, dim, good, text, warn};

/// The JSON shape's name.
pub const SCHEMA: &str = "clearance.check/v1";

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The environment to judge against: one the policy defines
    /// (`production`, `staging`, …).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// The policy file (YAML, docs/policy.md).
    #[arg(long, env = "CLEARANCE_POLICY", value_name = "FILE")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub roots: RootArgs,
    #[command(flatten)]
    pub trust: OptionalTrustArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub log: DecisionLogArgs,
}

/// Where decisions are appended (`clearance.audit/v1`, one JSON line each).
#[derive(Debug, Clone, Args)]
pub struct DecisionLogArgs {
    /// The decision log [default: $CLEARANCE_HOME/decisions.jsonl,
    /// CLEARANCE_HOME defaulting to ~/.clearance].
    #[arg(long, env = "CLEARANCE_DECISION_LOG", value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
}

impl DecisionLogArgs {
    /// The log file to use.
    ///
    /// # Errors
    ///
    /// No home directory to default to.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.decision_log {
            return Ok(p.clone());
        }
        let home = std::env::var_os("CLEARANCE_HOME").map(PathBuf::from);
        let home = super::trust::common::home_dir(home.as_deref())?;
        Ok(home.join("decisions.jsonl"))
    }
}

/// `clearance.check/v1`: the decision and the evidence it rests on.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    schema: &'static str,
    decision: &'a Decision,
    evidence: &'a Evidence,
    /// What the evidence could not cover (layers not read, …).
    warnings: &'a [String],
    /// The file the decision was appended to.
    decision_log: String,
}

pub async fn run(args: CheckArgs, format: Format) -> anyhow::Result<Exit> {
    let policy = super::policy::load(&args.policy)?;
    let Some(env) = policy.environments.get(&args.env) else {
        anyhow::bail!(
            "{} has no environment {:?}; it has: {} (pass one with --env)",
            args.policy.display(),
            args.env,
            policy.environment_names()
        );
    };
    let needs = Needs::of(env);
    let log_path = args.log.path()?;
    // Opened before any work: a log that cannot be written stops the gate
    // rather than leave a decision unrecorded.
    let log = AuditLog::open(&log_path)
        .with_context(|| format!("cannot open the decision log {}", log_path.display()))?;
    let sources = Sources {
        image: args.image.clone(),
        roots: args.roots.clone(),
        trust: args.trust.trust(),
        db_path: args.db.path()?,
    };
    let db = if needs.scan {
        Some(AdvisoryDb::open(&sources.db_path).await?)
    } else {
        None
    };
    let gathered = sources.gather(&args.image.image, needs, db.as_ref()).await;
    // Closed on every path: a pool left open leaves -wal/-shm files.
    if let Some(db) = db {
        db.close().await;
    }
    let Gathered {
        evidence, warnings, ..
    } = gathered?;
    let now = i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX);
    let decision = clearance_policy::evaluate(&policy, &args.env, &evidence, now)?;
    log.append(&AuditRecord::new("check", "", &decision, &evidence, now))
        .with_context(|| format!("cannot append to the decision log {}", log_path.display()))?;

    let report = CheckReport {
        schema: SCHEMA,
        decision: &decision,
        evidence: &evidence,
        warnings: &warnings,
        decision_log: log_path.display().to_string(),
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        _ => render(&report, &mut page),
    }
    page.emit()?;
    Ok(if decision.allowed {
        Exit::Ok
    } else {
        Exit::Denied
    })
}

fn render(report: &CheckReport<'_>, page: &mut Page) {
    let d = report.decision;
    let denials = d
        .reasons
        .iter()
        .filter(|r| r.outcome == Outcome::Deny)
        .count();
    if d.allowed {
        page.line(text!(
            good("✓ allowed"),
            ": ",
            &d.reference,
            " in ",
            &d.environment,
            if d.reasons.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} mode: {} would deny)",
                    d.mode.name(),
                    output::count(d.reasons.len(), "reason", "reasons")
                )
            }
        ));
    } else {
        page.line(text!(
            bad("✗ denied"),
            ": ",
            &d.reference,
            " in ",
            &d.environment,
            format!(" ({})", output::count(denials, "reason", "reasons"))
        ));
    }
    if let Some(digest) = &d.digest {
        page.field("digest", digest);
    }
    if !d.reasons.is_empty() {
        let mut t = output::table(&["Rule", "Why", "Evidence", "Fix"]);
        for r in &d.reasons {
            t.row([
                match r.outcome {
                    Outcome::Deny => bad(r.rule),
                    Outcome::Warn => warn(r.rule),
                },
                (&r.message).to_text(),
                dim(&r.evidence),
                (&r.fix).to_text(),
            ]);
        }
        page.line(t);
    }
    for e in &d.exceptions {
        page.line(text!(
            dim("exception "),
            &e.id,
            format!(" {} (until {}): ", e.state, e.expires),
            &e.reason
        ));
    }
    page.line(evidence_line(report.evidence));
    for w in report.warnings {
        page.line(text!(warn("warning: "), w));
    }
    page.line(dim(format!("decision logged to {}", report.decision_log)));
}

/// One line per evidence part: what the decision rested on.
fn evidence_line(e: &Evidence) -> Text {
    let mut parts = Vec::new();
    parts.push(match &e.trust {
        None => dim("trust: not needed"),
        Some(t) if t.verified => {
            let signers: Vec<String> = t
                .signers
                .iter()
                .map(|s| format!("{} ({})", s.role, short(&s.digest)))
                .collect();
            text!("trust: signed by ", signers.join(", "))
        }
        Some(t) => text!(
            "trust: not verified (",
            t.problem.as_deref().unwrap_or("no reason"),
            ")"
        ),
    });
    parts.push(match &e.scan {
        None => dim("scan: not needed"),
        Some(s) => {
            let critical = s
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Critical)
                .count();
            let high = s
                .findings
                .iter()
                .filter(|f| f.severity == Severity::High)
                .count();
            let now = i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX);
            let age = if s.database_updated_at > 0 {
                format!(
                    "database {} old",
                    output::count((now - s.database_updated_at).max(0) / 86_400, "day", "days")
                )
            } else {
                "database of unknown age".to_owned()
            };
            text!(format!(
                "scan: {} ({critical} critical, {high} high), {}, {age}",
                output::count(s.findings.len(), "finding", "findings"),
                output::count(s.secrets.len(), "secret", "secrets"),
            ))
        }
    });
    if let Some(c) = &e.config {
        parts.push(text!(
            "user: ",
            if c.user.is_empty() {
                "unset (root)"
            } else {
                &c.user
            }
        ));
    }
    let mut out = vec![dim("evidence: ")];
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(dim("; "));
        }
        out.push(p);
    }
    Text::concat(out)
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}
