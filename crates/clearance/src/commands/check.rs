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
use clearance_oci::{ImageRef, ResolvedImage};
use clearance_policy::audit::{AuditLog, AuditRecord};
use clearance_policy::decision::{Decision, Outcome};
use clearance_policy::evidence::{
    ConfigEvidence, Evidence, FindingEvidence, ImageEvidence, ScanEvidence, SecretEvidence,
    Severity, Signer, TrustEvidence,
};
use clearance_policy::policy::{Environment, Requirement};
use clearance_scan::advisory::Severity as ScanSeverity;
use clearance_scan::db::AdvisoryDb;
use clearance_scan::matcher::{self, MatchSettings, Report};
use clearance_scan::secrets::SecretsReport;
use serde::Serialize;

use super::db::DbArgs;
use super::image::ImageArgs;
use super::trust::common::{OptionalTrustArgs, gun};
use super::trust::verify::{Lookup, RootArgs, look_up};
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

/// What the environment's rules read, so that nothing else is gathered.
#[derive(Debug, Clone, Copy)]
struct Needs {
    trust: bool,
    scan: bool,
}

impl Needs {
    fn of(env: &Environment) -> Needs {
        Needs {
            trust: env
                .trust
                .as_ref()
                .is_some_and(|t| t.signed == Requirement::Required || !t.roles.is_empty()),
            scan: env.contents.is_some(),
        }
    }
}

pub async fn run(mut args: CheckArgs, format: Format) -> anyhow::Result<Exit> {
    let policy = super::policy::load(&args.policy)?;
    let Some(env) = policy.environments.get(&args.env) else {
        anyhow::bail!(
            "{} has no environment {:?}; it has: {} (pass one with --env)",
            args.policy.display(),
            args.env,
            policy
                .environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let needs = Needs::of(env);
    let log_path = args.log.path()?;
    // Opened before any work: a log that cannot be written stops the gate
    // rather than leave a decision unrecorded.
    let log = AuditLog::open(&log_path)
        .with_context(|| format!("cannot open the decision log {}", log_path.display()))?;
    let asked = args.image.image.clone();
    let reference: ImageRef = asked.parse()?;

    let trust = if needs.trust {
        let (evidence, signed) = trust_evidence(&args, &reference).await?;
        if let Some(pinned) = signed {
            // Judge and scan what the tag is signed as, not what the
            // registry's tag points at now.
            args.image.image = pinned;
        }
        Some(evidence)
    } else {
        None
    };

    let db_path = args.db.path()?;
    let db = if needs.scan {
        Some(AdvisoryDb::open(&db_path).await?)
    } else {
        None
    };
    let gathered = gather(&args, db.as_ref(), &db_path).await;
    if let Some(db) = db {
        db.close().await;
    }
    let Gathered {
        image,
        scan,
        warnings,
    } = gathered?;

    let evidence = Evidence {
        image: ImageEvidence {
            reference: asked.clone(),
            registry: match &reference {
                ImageRef::Registry(r) => r.registry().to_owned(),
                _ => String::new(),
            },
            repository: match &reference {
                ImageRef::Registry(r) => r.name(),
                _ => String::new(),
            },
            digest: Some(
                image
                    .index_digest
                    .as_ref()
                    .unwrap_or(&image.manifest_digest)
                    .to_string(),
            ),
            pinned: matches!(&reference, ImageRef::Registry(r) if r.digest().is_some()),
        },
        trust,
        scan,
        config: Some(config_evidence(&image)),
        request: None,
    };
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

/// The tag's trust evidence, and the reference pinned to its signed
/// digest when it verified. An error is a trust server that could not be
/// asked (exit 2); every answer about the tag is evidence.
async fn trust_evidence(
    args: &CheckArgs,
    reference: &ImageRef,
) -> anyhow::Result<(TrustEvidence, Option<String>)> {
    let not = |problem: String| {
        Ok((
            TrustEvidence {
                verified: false,
                problem: Some(problem),
                signers: Vec::new(),
            },
            None,
        ))
    };
    let ImageRef::Registry(r) = reference else {
        return not(format!(
            "{reference} is not in a registry; content trust signs registry tags"
        ));
    };
    let Some(trust) = args.trust.trust() else {
        return not(
            "no trust server was named: pass --server URL or set CLEARANCE_TRUST_SERVER".into(),
        );
    };
    let tag = match (r.tag(), r.digest()) {
        (Some(tag), _) => tag.to_owned(),
        (None, Some(_)) => {
            return not(format!(
                "{reference} names a digest but no tag, and trust data signs tags: give IMAGE:TAG or IMAGE:TAG@sha256:…"
            ));
        }
        // As `docker pull` reads a bare name.
        (None, None) => "latest".to_owned(),
    };
    let settings = trust.settings(args.image.registry.timeout)?;
    let gun = gun(r)?;
    let signed = match look_up(&args.roots, &settings, &gun, &tag).await? {
        Lookup::NotTrusted(reason) => return not(reason),
        Lookup::Signed(signed) => signed,
    };
    let signers = signed
        .signers
        .iter()
        .map(|(role, digest)| Signer {
            role: role.to_string(),
            digest: digest.clone(),
        })
        .collect();
    if let Some(asked) = r.digest()
        && asked.to_string() != signed.digest
    {
        return Ok((
            TrustEvidence {
                verified: false,
                problem: Some(format!(
                    "{gun}:{tag} is signed as {}, not as the {asked} named",
                    signed.digest
                )),
                signers,
            },
            None,
        ));
    }
    let digest: clearance_oci::Digest = signed
        .digest
        .parse()
        .context("the signed digest does not parse")?;
    Ok((
        TrustEvidence {
            verified: true,
            problem: None,
            signers,
        },
        Some(r.with_digest(digest).to_string()),
    ))
}

struct Gathered {
    image: ResolvedImage,
    scan: Option<ScanEvidence>,
    warnings: Vec<String>,
}

/// Open the image, and when `db` is given (the environment has contents
/// rules) read its layers through the layer store and match them.
async fn gather(
    args: &CheckArgs,
    db: Option<&AdvisoryDb>,
    db_path: &std::path::Path,
) -> anyhow::Result<Gathered> {
    let Some(db) = db else {
        let (_, _, image) = args.image.open().await?;
        return Ok(Gathered {
            image,
            scan: None,
            warnings: Vec::new(),
        });
    };
    let super::image::ReadImage {
        image,
        inventory,
        secrets,
        warnings,
        ..
    } = args.image.read(db_path).await?;
    let advisories = db.lookup(&matcher::lookup_keys(&inventory)).await?;
    let report = Report::generate(&advisories, &inventory, &MatchSettings::default());
    let secrets = SecretsReport::build(
        secrets,
        clearance_scan::secrets::scan_image_config(&image.config),
    );
    let scan = scan_evidence(
        &report,
        &secrets,
        advisories.updated_at,
        !inventory.packages.is_empty(),
    );
    Ok(Gathered {
        image,
        scan: Some(scan),
        warnings,
    })
}

fn severity(s: ScanSeverity) -> Severity {
    match s {
        ScanSeverity::Unknown => Severity::Unknown,
        ScanSeverity::Negligible => Severity::Negligible,
        ScanSeverity::Low => Severity::Low,
        ScanSeverity::Medium => Severity::Medium,
        ScanSeverity::High => Severity::High,
        ScanSeverity::Critical => Severity::Critical,
    }
}

/// The scan's parts a policy reads. `updated_at`: the database's stalest
/// source (Unix seconds; unknown counts as never).
fn scan_evidence(
    report: &Report,
    secrets: &SecretsReport,
    updated_at: Option<i64>,
    sbom: bool,
) -> ScanEvidence {
    ScanEvidence {
        database_updated_at: updated_at.unwrap_or(0),
        findings: report
            .findings
            .iter()
            .map(|f| FindingEvidence {
                id: f.id.clone(),
                aliases: f.aliases.clone(),
                package: f.package.name.clone(),
                version: f.package.version.clone(),
                severity: severity(f.severity),
                fixed_version: f.fixed_version.clone(),
                known_exploited: f.kev.is_some(),
            })
            .collect(),
        secrets: secrets
            .findings
            .iter()
            .map(|s| SecretEvidence {
                rule: s.rule_id.clone(),
                path: s.path.clone(),
            })
            .collect(),
        sbom,
        unchecked_packages: report.unmatched.iter().map(|u| u.packages).sum(),
    }
}

/// The configured user; its uid only when written as one (a named user's
/// uid is not looked up in the image's /etc/passwd yet, so a policy that
/// needs non-root denies it and says so).
fn config_evidence(image: &ResolvedImage) -> ConfigEvidence {
    let user = image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.user().as_deref())
        .unwrap_or("")
        .trim()
        .to_owned();
    let name = user.split(':').next().unwrap_or_default();
    let user_uid = match name {
        "" | "root" => Some(0),
        n => n.parse().ok(),
    };
    ConfigEvidence { user, user_uid }
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
