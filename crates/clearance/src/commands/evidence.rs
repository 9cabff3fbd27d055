//! Gathering the evidence a decision reads (`clearance_policy::evidence`)
//! for one image: the tag's signers through Clearance trust, the image by
//! its signed digest, its scan from the stored layer inventories, its
//! configured user. Shared by `clearance check` and the admission webhook
//! (`clearance serve --admission`); each gathers only what the
//! environment's rules read.

use std::path::PathBuf;

use anyhow::Context as _;
use clearance_oci::{ImageRef, ResolvedImage};
use clearance_policy::evidence::{
    ConfigEvidence, Evidence, FindingEvidence, ImageEvidence, ScanEvidence, SecretEvidence,
    Severity, Signer, TrustEvidence,
};
use clearance_policy::policy::{Environment, Requirement};
use clearance_scan::advisory::Severity as ScanSeverity;
use clearance_scan::db::AdvisoryDb;
use clearance_scan::matcher::{self, MatchSettings, Report};
use clearance_scan::secrets::SecretsReport;

use super::image::ImageArgs;
use super::trust::common::{TrustArgs, gun};
use super::trust::verify::{Lookup, RootArgs, look_up};

/// What an environment's rules read, so that nothing else is gathered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Needs {
    /// A signature (a `trust` group asking for one or for roles).
    pub trust: bool,
    /// A scan (a `contents` group).
    pub scan: bool,
}

impl Needs {
    /// What `env` reads.
    pub fn of(env: &Environment) -> Needs {
        Needs {
            trust: env
                .trust
                .as_ref()
                .is_some_and(|t| t.signed == Requirement::Required || !t.roles.is_empty()),
            scan: env.contents.is_some(),
        }
    }
}

/// Where evidence comes from: how images are read (registry flags,
/// platform, layer store), the trust server and pinned roots, the
/// advisory database.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The image flags; `image` is replaced by each reference gathered.
    pub image: ImageArgs,
    /// Which root to start from.
    pub roots: RootArgs,
    /// The trust server, when one was named.
    pub trust: Option<TrustArgs>,
    /// The advisory database file (the layer store is beside it).
    pub db_path: PathBuf,
}

/// The evidence of one image (no runtime request), and what it could not
/// cover.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// Image, trust, scan and configuration evidence.
    pub evidence: Evidence,
    /// Layers not read and the like, one line each.
    pub warnings: Vec<String>,
    /// Where the registry's tag points now (`sha256:…`), when the image
    /// was named by tag alone and judged by its signed digest: what a
    /// runtime pulling the tag would get.
    pub tag_digest: Option<String>,
}

impl Sources {
    /// Gather what `needs` asks for `reference` (as written). `db` must be
    /// open when `needs.scan`.
    ///
    /// # Errors
    ///
    /// A reference that does not parse, a registry or trust server that
    /// cannot be asked, a layer that cannot be read: the image could not
    /// be judged. Every answer about the image (not signed, tampered
    /// trust data) is evidence, not an error.
    pub async fn gather(
        &self,
        reference: &str,
        needs: Needs,
        db: Option<&AdvisoryDb>,
    ) -> anyhow::Result<Gathered> {
        let parsed: ImageRef = reference.parse()?;
        let mut image_args = self.image.clone();
        image_args.image = reference.to_owned();
        let mut tag_digest = None;
        let mut moved = Vec::new();
        let trust = if needs.trust {
            let (evidence, signed) = trust_evidence(self, &parsed).await?;
            if let Some(pinned) = signed {
                // Judge and scan what the tag is signed as, not what the
                // registry's tag points at now; but say where that is.
                if let ImageRef::Registry(r) = &parsed
                    && r.digest().is_none()
                {
                    let client = clearance_oci::registry::RegistryClient::new(
                        &self.image.registry.settings()?.registry,
                    )?;
                    let tag = r.tag().unwrap_or("latest");
                    let (_, now, _) = client
                        .get_manifest(r, tag)
                        .await
                        .with_context(|| format!("finding where {r} points now"))?;
                    let now = now.to_string();
                    let signed_digest = pinned.rsplit('@').next().unwrap_or_default();
                    if now != signed_digest {
                        moved.push(format!(
                            "the registry's tag {r} now points to {now}, not the signed {signed_digest} judged here; run the image by its signed digest"
                        ));
                    }
                    tag_digest = Some(now);
                }
                image_args.image = pinned;
            }
            Some(evidence)
        } else {
            None
        };
        let (image, scan, warnings) = match db.filter(|_| needs.scan) {
            None => {
                let (_, _, image) = image_args.open().await?;
                (image, None, Vec::new())
            }
            Some(db) => {
                let super::image::ReadImage {
                    image,
                    inventory,
                    secrets,
                    warnings,
                    ..
                } = image_args.read(&self.db_path).await?;
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
                (image, Some(scan), warnings)
            }
        };
        let registry = match &parsed {
            ImageRef::Registry(r) => Some(r),
            _ => None,
        };
        let evidence = Evidence {
            image: ImageEvidence {
                reference: reference.to_owned(),
                registry: registry
                    .map(|r| r.registry().to_owned())
                    .unwrap_or_default(),
                repository: registry.map(|r| r.name()).unwrap_or_default(),
                digest: Some(
                    image
                        .index_digest
                        .as_ref()
                        .unwrap_or(&image.manifest_digest)
                        .to_string(),
                ),
                pinned: registry.is_some_and(|r| r.digest().is_some()),
            },
            trust,
            scan,
            config: Some(config_evidence(&image)),
            request: None,
        };
        let mut warnings = warnings;
        warnings.extend(moved);
        Ok(Gathered {
            evidence,
            warnings,
            tag_digest,
        })
    }
}

/// The tag's trust evidence, and the reference pinned to its signed
/// digest when it verified. An error is a trust server that could not be
/// asked (exit 2); every answer about the tag is evidence.
async fn trust_evidence(
    sources: &Sources,
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
    let Some(trust) = &sources.trust else {
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
    let settings = trust.settings(sources.image.registry.timeout)?;
    let gun = gun(r)?;
    let signed = match look_up(&sources.roots, &settings, &gun, &tag).await? {
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
