//! `clearance trust inspect REPO`: who may sign what, and when it expires.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::notary::Dialect;
use clearance_trust::schema::DelegatedRole;
use clearance_trust::time::UtcTime;
use serde::Serialize;

use super::common::{TrustArgs, gun};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _, warn};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Serialize)]
struct RoleView {
    role: String,
    signed_by: String,
    keyids: Vec<String>,
    threshold: u64,
    version: Option<clearance_trust::schema::Version>,
    expires: Option<String>,
    expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize)]
struct RepoView {
    repository: String,
    /// `tuf-1.0`, or `notary` for a repository Notary 0.x wrote.
    metadata_format: &'static str,
    consistent_snapshot: bool,
    roles: Vec<RoleView>,
    /// Targets listed in top-level targets.
    targets: usize,
    /// Hash bins holding the rest (each bin is loaded only when searched).
    hash_bins: usize,
}

pub async fn run(args: InspectArgs, format: Format) -> anyhow::Result<Exit> {
    let reference = RegistryRef::parse(&args.repository)?;
    let gun = gun(&reference);
    let store = args.trust.client_store(&gun)?;
    if store.load("root")?.is_none() {
        anyhow::bail!(
            "no trusted root for {gun} here: run `clearance trust verify --root ROOT.json {gun}:TAG` first"
        );
    }
    let mut updater = args.trust.updater(&gun, store, None)?;
    updater.refresh().await.context("updating trust metadata")?;
    let trusted = updater.trusted();
    let root = &trusted.root().signed;
    let now = UtcTime::now();
    let days = |t: UtcTime| (t.unix() - now.unix()) / 86_400;
    let version_of = |role: &str| -> Option<(clearance_trust::schema::Version, UtcTime)> {
        match role {
            "root" => Some((root.common.version, root.common.expires)),
            "timestamp" => trusted
                .timestamp()
                .map(|t| (t.signed.common.version, t.signed.common.expires)),
            "snapshot" => trusted
                .snapshot()
                .map(|t| (t.signed.common.version, t.signed.common.expires)),
            _ => trusted
                .targets(role, "root")
                .map(|t| (t.signed.common.version, t.signed.common.expires)),
        }
    };
    let mut roles = Vec::new();
    for name in ["root", "targets", "snapshot", "timestamp"] {
        let keys = root
            .roles
            .get(name)
            .context("root lacks a top-level role")?;
        let v = version_of(name);
        roles.push(RoleView {
            role: name.to_owned(),
            signed_by: "root".into(),
            keyids: keys.keyids.clone(),
            threshold: keys.threshold,
            version: v.map(|v| v.0),
            expires: v.map(|v| v.1.to_string()),
            expires_in_days: v.map(|v| days(v.1)),
        });
    }
    let targets = trusted
        .targets("targets", "root")
        .context("targets not loaded")?;
    let count = targets.signed.targets.len();
    let mut hash_bins = 0;
    if let Some(d) = &targets.signed.delegations {
        for r in d.roles.iter().flatten() {
            roles.push(RoleView {
                role: format!("{} ({})", r.name, paths_of(r)),
                signed_by: "targets".into(),
                keyids: r.keyids.clone(),
                threshold: r.threshold,
                version: None,
                expires: None,
                expires_in_days: None,
            });
        }
        if let Some(s) = &d.succinct_roles {
            roles.push(RoleView {
                role: format!("{}-* ({} hash bins)", s.name_prefix, 1u64 << s.bit_length),
                signed_by: "targets".into(),
                keyids: s.keyids.clone(),
                threshold: s.threshold,
                version: None,
                expires: None,
                expires_in_days: None,
            });
            hash_bins = 1usize << s.bit_length;
        }
    }
    let view = RepoView {
        repository: gun,
        metadata_format: match trusted.dialect() {
            Dialect::Tuf1 => "tuf-1.0",
            Dialect::Notary => "notary",
        },
        consistent_snapshot: root.consistent_snapshot,
        roles,
        targets: count,
        hash_bins,
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&view)?,
        Format::Table => {
            page.field("Repository", &view.repository);
            page.field("Format", view.metadata_format);
            let mut t = output::table(&[
                "Role",
                "Signed by",
                "Keys",
                "Threshold",
                "Version",
                "Expires",
            ]);
            for r in &view.roles {
                let expires = match (&r.expires, r.expires_in_days) {
                    (Some(e), Some(d)) if d < 30 => warn(format!("{e} (in {d} days)")),
                    (Some(e), Some(d)) => format!("{e} (in {d} days)").to_text(),
                    _ => Text::default(),
                };
                let keys = Text::lines(
                    r.keyids
                        .iter()
                        .map(|k| k.chars().take(12).collect::<String>().to_text()),
                );
                t.row([
                    (&r.role).to_text(),
                    (&r.signed_by).to_text(),
                    keys,
                    r.threshold.to_text(),
                    r.version.map(|v| v.to_text()).unwrap_or_default(),
                    expires,
                ]);
            }
            page.line(t);
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}

/// What a delegation covers, in words: TUF patterns as written, Notary's
/// prefixes with an ellipsis (`""` is everything), or hash prefixes.
fn paths_of(r: &DelegatedRole) -> String {
    if let Some(patterns) = &r.paths {
        return patterns.join(", ");
    }
    if let Some(prefixes) = &r.path_prefixes {
        if prefixes.iter().any(String::is_empty) {
            return "everything".into();
        }
        return prefixes
            .iter()
            .map(|p| format!("{p}…"))
            .collect::<Vec<_>>()
            .join(", ");
    }
    match &r.path_hash_prefixes {
        Some(h) => format!("hash prefixes {}", h.join(", ")),
        None => "nothing".into(),
    }
}
