//! Command-line arguments: parsed here, turned into library settings by the
//! command that uses them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clearance_oci::SourceSettings;
use clearance_oci::registry::{Credential, RegistrySettings};

/// Decide which container images may run in production, and prove why.
///
/// Exit codes: 0 success; 1 a gate said no (findings, denial, untrusted);
/// 2 usage or input error.
#[derive(Debug, Parser)]
#[command(name = "clearance", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); CLEARANCE_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Output format for structured results.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true, env = "CLEARANCE_FORMAT")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Coloured text and tables for people.
    Table,
    /// JSON for machines; each shape has a `schema` field and a document in
    /// docs/: inspect-json.md, sbom-json.md, trust-verify-json.md, trust-inspect-json.md,
    /// trust-keys-json.md, trust-publish-json.md, scan-json.md, db-json.md, policy.md.
    Json,
    /// CycloneDX 1.6 JSON: `sbom` (the packages) and `scan` (with vulnerabilities).
    Cyclonedx,
    /// SPDX 2.3 JSON: `sbom` and `scan` (the packages).
    Spdx,
    /// SARIF 2.1.0: `scan` (code-scanning dashboards, GitHub, GitLab).
    Sarif,
}

impl Format {
    /// The value as `--format` takes it (`sarif`).
    pub fn name(self) -> String {
        ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// Whether `command` (`sbom`, `scan`, …) can print this format; table and
    /// JSON every command can.
    pub fn fits(self, command: &str) -> bool {
        match self {
            Format::Table | Format::Json => true,
            Format::Cyclonedx | Format::Spdx => matches!(command, "sbom" | "scan"),
            Format::Sarif => command == "scan",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show an image's manifest, platform, config and layers.
    ///
    /// IMAGE is oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG|:@N],
    /// docker://HOST/REPO[:TAG][@DIGEST] or REPO[:TAG] (Docker Hub naming).
    Inspect(crate::commands::inspect::InspectArgs),
    /// List the packages in an image, each with the layer that brought it in.
    ///
    /// IMAGE takes the same forms as `inspect`. Reads dpkg, apk, rpm, Python
    /// (dist-info, egg-info), npm (node_modules), Cargo.lock, gemspecs,
    /// Composer and .NET packages, Go and cargo-auditable binaries, and Java
    /// archives (jar, war, ear, nested ones too). `--format cyclonedx|spdx`
    /// for the standard documents.
    Sbom(crate::commands::sbom::SbomArgs),
    /// Find known vulnerabilities in an image's packages, with the layer that
    /// brought each in, the fixed version and how urgent it is.
    ///
    /// Needs an advisory database: `clearance db update`, or offline
    /// `clearance db build --source PATH`. Exit 1 with --fail-on when a
    /// finding reaches the threshold.
    Scan(crate::commands::scan::ScanArgs),
    /// The advisory database: build or update it, show its status, push it to
    /// and pull it from a registry.
    #[command(subcommand)]
    Db(crate::commands::db::DbCommand),
    /// Content trust: sign and verify tags with TUF.
    #[command(subcommand)]
    Trust(crate::commands::trust::TrustCommand),
    /// Judge an image for an environment: verify who signed it, scan it,
    /// apply the policy; a green check or a red cross with the reasons.
    ///
    /// Exit 0 allowed, 1 denied, 2 when it could not be judged. Every
    /// decision is appended to the decision log (`clearance decisions`).
    Check(crate::commands::check::CheckArgs),
    /// List the decision log: every decision of `check`, the admission
    /// webhook and the Docker authorization plugin, newest last.
    Decisions(crate::commands::decisions::DecisionsArgs),
    /// The Kubernetes admission webhooks' configuration (`clearance serve
    /// --admission` serves them).
    #[command(subcommand)]
    Admission(crate::commands::admission::AdmissionCommand),
    /// Policy files: which images may run where (docs/policy.md).
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),
    /// Run Clearance's servers: `--trust` for the trust service.
    Serve(crate::commands::serve::ServeArgs),
}

/// How to reach registries; shared by every command that reads images.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry login as USER:PASSWORD (else ~/.docker/config.json is used).
    #[arg(long, env = "CLEARANCE_REGISTRY_CREDS", hide_env_values = true)]
    pub creds: Option<String>,
    /// Docker config file to read `auths` from.
    #[arg(long, env = "DOCKER_CONFIG_FILE")]
    pub docker_config: Option<PathBuf>,
    /// Extra PEM CA certificates to trust for registries.
    #[arg(long, env = "CLEARANCE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow plain HTTP to this registry host (repeatable); loopback hosts always may.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]", value_parser = registry_host)]
    pub insecure_registries: Vec<String>,
    /// Retries after 429, 5xx or a failed connection.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Connect timeout and longest stall of a response, in seconds (1 to 86400); a manifest
    /// or config must arrive whole within it, a layer within it plus its size
    /// at 64 KiB/s, and a Docker credential helper must answer within it.
    #[arg(long, default_value_t = 30, value_parser = timeout_seconds)]
    pub timeout: u64,
}

impl RegistryArgs {
    pub fn settings(&self) -> anyhow::Result<SourceSettings> {
        let credentials = self
            .creds
            .as_deref()
            .map(|c| Credential::parse_user_pass(c).context("--creds must be USER:PASSWORD"))
            .transpose()?;
        if let Some(path) = &self.docker_config
            && !path.is_file()
        {
            anyhow::bail!(
                "--docker-config {} does not exist (or is not a file); name Docker's config.json, or leave the flag out to use ~/.docker/config.json",
                path.display()
            );
        }
        let defaults = RegistrySettings::default();
        Ok(SourceSettings {
            registry: RegistrySettings {
                credentials,
                docker_config: self.docker_config.clone().or(defaults.docker_config),
                extra_ca_file: self.ca_file.clone(),
                insecure_registries: self.insecure_registries.clone(),
                retry: clearance_oci::registry::Retry {
                    retries: self.retries,
                    ..defaults.retry
                },
                timeout: Duration::from_secs(self.timeout),
            },
        })
    }
}

/// The longest `--timeout` taken, in seconds (a day): beyond it a deadline
/// is as good as none, and far beyond it clock arithmetic overflows.
const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// `--timeout`: whole seconds, 1 to [`MAX_TIMEOUT_SECS`].
pub(crate) fn timeout_seconds(value: &str) -> Result<u64, String> {
    let secs: u64 = value
        .parse()
        .map_err(|_| "give whole seconds, for example 60".to_owned())?;
    match secs {
        0 => Err("must be at least 1 second; a timeout cannot be switched off".into()),
        s if s > MAX_TIMEOUT_SECS => Err(format!(
            "must be at most {MAX_TIMEOUT_SECS} seconds (a day)"
        )),
        s => Ok(s),
    }
}

/// `--insecure-registry`: a registry as images name it, `HOST[:PORT]`,
/// without a scheme, path or login (those would never match a host).
fn registry_host(value: &str) -> Result<String, String> {
    let example = "for example build-cache.lan:5000";
    if value.contains("://") {
        return Err(format!(
            "give HOST[:PORT] without a scheme ({example}); plain HTTP is what the flag allows"
        ));
    }
    if value.contains('/') {
        return Err(format!("give HOST[:PORT] without a path ({example})"));
    }
    let valid = |b: u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b);
    if value.is_empty() || !value.bytes().all(valid) {
        return Err(format!("give HOST[:PORT] ({example})"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests;
