//! What a decision is made on: plain data that the enforcement points
//! gather (the trust result, the scan report, the image configuration, the
//! runtime request) and [`crate::evaluate`] reads. Nothing here fetches
//! anything; a part that was not gathered is `None`, and a rule that needs
//! it denies and says so.

use serde::Serialize;

/// Everything one decision reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The image as asked for and as resolved.
    pub image: ImageEvidence,
    /// What Clearance trust said of the tag; `None`: not checked.
    pub trust: Option<TrustEvidence>,
    /// The scan's findings; `None`: not scanned.
    pub scan: Option<ScanEvidence>,
    /// The image configuration; `None`: not read.
    pub config: Option<ConfigEvidence>,
    /// How a container is asked to run (admission, Docker); `None` for
    /// `clearance check`, which judges the image alone.
    pub request: Option<RuntimeRequest>,
}

/// The image reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageEvidence {
    /// As written (`registry.example.com/team/app:1.4`).
    pub reference: String,
    /// Its registry host (`registry.example.com`, `docker.io`).
    pub registry: String,
    /// Its repository's full name (`registry.example.com/team/app`).
    pub repository: String,
    /// The digest it resolved to (`sha256:…`), when known.
    pub digest: Option<String>,
    /// Whether the reference names the digest (`…@sha256:…`).
    pub pinned: bool,
}

/// What verifying the tag through Clearance trust gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrustEvidence {
    /// Whether the tag verified (TUF metadata valid, the tag listed).
    pub verified: bool,
    /// Why not, when it did not.
    pub problem: Option<String>,
    /// Each role that lists the tag, with the digest it signs.
    pub signers: Vec<Signer>,
}

/// A role that signs the tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// The role (`targets`, `targets/releases`, or `releases` as TUF
    /// delegations are named).
    pub role: String,
    /// The manifest digest it signs for the tag (`sha256:…`).
    pub digest: String,
}

/// Severity as the scanner rates a finding (`clearance.scan/v1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No source rates it.
    #[default]
    Unknown,
    /// Not worth acting on.
    Negligible,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 9.0–10.0.
    Critical,
}

/// The scan report's parts a policy reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanEvidence {
    /// When the advisory database was last updated (Unix seconds): its
    /// stalest source.
    pub database_updated_at: i64,
    /// The findings (after VEX).
    pub findings: Vec<FindingEvidence>,
    /// Secrets found in any layer.
    pub secrets: Vec<SecretEvidence>,
    /// Whether a package inventory (SBOM) was made.
    pub sbom: bool,
    /// Packages of ecosystems the database has no data for.
    pub unchecked_packages: usize,
}

/// One vulnerability finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingEvidence {
    /// The advisory id (`CVE-2023-4911`, `GHSA-…`).
    pub id: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The package's name.
    pub package: String,
    /// Its installed version.
    pub version: String,
    /// How severe.
    pub severity: Severity,
    /// The first version that fixes it, when one does.
    pub fixed_version: Option<String>,
    /// Whether it is in CISA KEV.
    pub known_exploited: bool,
}

/// One secret found (already masked by the scanner).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretEvidence {
    /// The rule that found it.
    pub rule: String,
    /// Where (`/root/.aws/credentials`, `config:Env`).
    pub path: String,
}

/// The image configuration's parts a policy reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigEvidence {
    /// `User` as configured (`""` when unset: root).
    pub user: String,
    /// The uid that user resolves to in the image's `/etc/passwd`, when
    /// the gatherer could tell.
    pub user_uid: Option<u32>,
}

/// How a container is asked to run, as an admission request or a Docker
/// API call says it; adapters normalise both into this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuntimeRequest {
    /// The user asked for (`runAsUser`, Docker `User`), when one is.
    pub user: Option<String>,
    /// Kubernetes `runAsNonRoot: true`.
    pub run_as_non_root: bool,
    /// Whether the container gets its own user namespace.
    pub user_namespace: bool,
    /// Privileged.
    pub privileged: bool,
    /// Whether gaining privileges is explicitly prevented
    /// (`allowPrivilegeEscalation: false`, `no-new-privileges`).
    pub no_new_privileges: bool,
    /// The host namespaces shared (`pid`, `ipc`, `network`, `uts`).
    pub host_namespaces: Vec<String>,
    /// Host paths mounted.
    pub host_paths: Vec<String>,
    /// Capabilities added, as written.
    pub capabilities_added: Vec<String>,
    /// Confinement turned off, as written: Docker `seccomp=unconfined`,
    /// `apparmor=unconfined`, `label=disable`, `MaskedPaths: []`, device
    /// cgroup rules; Kubernetes `seccompProfile`/`appArmorProfile` of type
    /// `Unconfined`, `procMount: Unmasked`. `runtime.privileged: deny`
    /// denies these as it denies privileged.
    pub unconfined: Vec<String>,
}
