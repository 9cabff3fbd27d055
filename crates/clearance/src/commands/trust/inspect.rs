//! `clearance trust inspect REPO`: who may sign what, and when it expires.
//! The JSON shape (`clearance.trust.inspect/v1`) is in
//! `docs/trust-inspect-json.md`.

use std::collections::BTreeSet;

use anyhow::Context as _;
use clap::Args;
use clearance_trust::client::{
    Expiration, HttpTransport, TrustedSet, UpdateError, Updater, UpdaterSettings,
};
use clearance_trust::notary::Dialect;
use clearance_trust::schema::{Targets, Version};
use clearance_trust::time::UtcTime;
use clearance_trust::{Gun, RoleName, TopRole};
use serde::Serialize;

use super::common::{TimeoutArgs, TrustArgs, gun, repository_ref, show};
use super::failure::vanished;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _, dim, warn};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

/// What a role is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    /// root, targets, snapshot, timestamp.
    TopLevel,
    /// A named role targets delegates to (a team, releases).
    Delegated,
    /// Targets' TAP 15 hash bins, as one entry.
    HashBins,
}

#[derive(Debug, Serialize)]
struct RoleView {
    name: String,
    kind: Kind,
    signed_by: String,
    keyids: Vec<String>,
    threshold: u64,
    /// Tag patterns a delegated role may sign (TUF `paths`).
    paths: Option<Vec<String>>,
    /// Notary's path prefixes, for a delegated role that has them.
    path_prefixes: Option<Vec<String>>,
    /// Hash prefixes, for a delegated role that has them.
    path_hash_prefixes: Option<Vec<String>>,
    /// Whether the search stops at this delegated role for its paths.
    terminating: Option<bool>,
    /// How many hash bins (the hash-bins entry only).
    bins: Option<u64>,
    /// The current version; none for a delegated role not signed yet, or
    /// for the hash bins (each has its own).
    version: Option<Version>,
    /// When it expires (for the hash bins: the first of them to expire).
    expires: Option<String>,
    expires_in_days: Option<i64>,
    /// Whether it has expired (consumers refuse the repository until it is
    /// signed again).
    expired: Option<bool>,
    /// Tags this role lists (none for root, snapshot and timestamp).
    targets: Option<usize>,
}

#[derive(Debug, Serialize)]
struct RepoView {
    schema: &'static str,
    repository: String,
    /// `tuf-1.0`, or `notary` for a repository Notary 0.x wrote.
    metadata_format: &'static str,
    consistent_snapshot: bool,
    roles: Vec<RoleView>,
    /// Distinct tags signed anywhere: top-level targets, delegated roles
    /// and hash bins.
    targets: usize,
    /// Hash bins holding tags (0 when targets has none).
    hash_bins: u64,
}

pub async fn run(args: InspectArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.timeout.timeout)?;
    let reference = repository_ref(&args.repository)?;
    let gun = gun(&reference)?;
    let store = trust.client_store(&gun)?;
    if store.load(&RoleName::ROOT)?.is_none() {
        anyhow::bail!(
            "no trusted root for {gun} here: run `clearance trust verify --root ROOT.json {gun}:TAG` first"
        );
    }
    // Expired metadata is shown, marked (finding 14 #9), as a publisher
    // loads it to sign it again; nothing here is trusted to verify.
    let settings = UpdaterSettings {
        expiration: Expiration::NotEnforcedToRepublish,
        ..UpdaterSettings::default()
    };
    let now = settings.clock.now();
    let mut updater = Updater::new(
        store,
        trust.transport()?,
        &trust.metadata_url(&gun),
        settings,
    )?
    .bind_repository(&gun)?;
    match updater.refresh().await {
        Err(UpdateError::NoTrustData { .. }) => return Err(vanished(&trust, &gun).into()),
        other => other.context("updating trust metadata")?,
    }
    let view = view(&mut updater, gun, now).await?;
    show(format, &view, render)?;
    Ok(Exit::Ok)
}

/// Every role of the repository, delegated roles and hash bins loaded
/// (and verified) through the updater.
async fn view(
    updater: &mut Updater<HttpTransport>,
    gun: Gun,
    now: UtcTime,
) -> anyhow::Result<RepoView> {
    let dated = |version: Option<Version>, expires: Option<UtcTime>| Dated {
        version,
        expires: expires.map(|e| e.to_string()),
        expires_in_days: expires.map(|e| (e.unix() - now.unix()) / 86_400),
        expired: expires.map(|e| e <= now),
    };
    let trusted = updater.trusted();
    let root = trusted.root().signed.clone();
    let targets = trusted
        .targets(&RoleName::TARGETS, &RoleName::ROOT)
        .context("targets not loaded")?
        .signed
        .clone();
    let mut roles = Vec::new();
    let mut tags: BTreeSet<String> = targets.targets.keys().cloned().collect();
    for name in [
        TopRole::Root,
        TopRole::Targets,
        TopRole::Snapshot,
        TopRole::Timestamp,
    ] {
        let keys = root
            .roles
            .get(&name)
            .with_context(|| format!("root names no {name} keys"))?;
        let d = match top_level(trusted, name) {
            Some((v, e)) => dated(Some(v), Some(e)),
            None => dated(None, None),
        };
        roles.push(RoleView {
            name: name.to_string(),
            kind: Kind::TopLevel,
            signed_by: TopRole::Root.to_string(),
            keyids: keys.keyids.clone(),
            threshold: keys.threshold,
            paths: None,
            path_prefixes: None,
            path_hash_prefixes: None,
            terminating: None,
            bins: None,
            version: d.version,
            expires: d.expires,
            expires_in_days: d.expires_in_days,
            expired: d.expired,
            targets: (name == TopRole::Targets).then_some(targets.targets.len()),
        });
    }
    let mut hash_bins = 0;
    if let Some(d) = &targets.delegations {
        for r in d.roles.iter().flatten() {
            // None: snapshot does not list it, nothing is signed yet.
            let role = load(updater, &r.name).await?;
            let d = dated(
                role.as_ref().map(|t| t.common.version),
                role.as_ref().map(|t| t.common.expires),
            );
            tags.extend(role.iter().flat_map(|t| t.targets.keys().cloned()));
            roles.push(RoleView {
                name: r.name.to_string(),
                kind: Kind::Delegated,
                signed_by: TopRole::Targets.to_string(),
                keyids: r.keyids.clone(),
                threshold: r.threshold,
                paths: r.paths.clone(),
                path_prefixes: r.path_prefixes.clone(),
                path_hash_prefixes: r.path_hash_prefixes.clone(),
                terminating: Some(r.terminating),
                bins: None,
                version: d.version,
                expires: d.expires,
                expires_in_days: d.expires_in_days,
                expired: d.expired,
                targets: Some(role.map_or(0, |t| t.targets.len())),
            });
        }
        if let Some(s) = &d.succinct_roles {
            hash_bins = 1u64 << s.bit_length;
            let mut first_expiry: Option<UtcTime> = None;
            let mut count = 0;
            for bin in clearance_trust::publish::bin_names(s) {
                if let Some(role) = load(updater, &bin).await? {
                    count += role.targets.len();
                    tags.extend(role.targets.keys().cloned());
                    first_expiry = Some(match first_expiry {
                        Some(e) if e <= role.common.expires => e,
                        _ => role.common.expires,
                    });
                }
            }
            let d = dated(None, first_expiry);
            roles.push(RoleView {
                name: format!("{}-*", s.name_prefix),
                kind: Kind::HashBins,
                signed_by: TopRole::Targets.to_string(),
                keyids: s.keyids.clone(),
                threshold: s.threshold,
                paths: None,
                path_prefixes: None,
                path_hash_prefixes: None,
                terminating: None,
                bins: Some(hash_bins),
                version: None,
                expires: d.expires,
                expires_in_days: d.expires_in_days,
                expired: d.expired,
                targets: Some(count),
            });
        }
    }
    let trusted = updater.trusted();
    Ok(RepoView {
        schema: "clearance.trust.inspect/v1",
        repository: gun.to_string(),
        metadata_format: match trusted.dialect() {
            Dialect::Tuf1 => "tuf-1.0",
            Dialect::Notary => "notary",
        },
        consistent_snapshot: root.consistent_snapshot,
        roles,
        targets: tags.len(),
        hash_bins,
    })
}

/// A version and an expiry, as shown.
struct Dated {
    version: Option<Version>,
    expires: Option<String>,
    expires_in_days: Option<i64>,
    expired: Option<bool>,
}

/// The version and expiry of a top-level role the update loaded.
fn top_level(trusted: &TrustedSet, role: TopRole) -> Option<(Version, UtcTime)> {
    let common = match role {
        TopRole::Root => &trusted.root().signed.common,
        TopRole::Timestamp => &trusted.timestamp()?.signed.common,
        TopRole::Snapshot => &trusted.snapshot()?.signed.common,
        TopRole::Targets => {
            &trusted
                .targets(&RoleName::TARGETS, &RoleName::ROOT)?
                .signed
                .common
        }
    };
    Some((common.version, common.expires))
}

/// A role targets delegates to, verified; `None` if snapshot does not list it.
async fn load(
    updater: &mut Updater<HttpTransport>,
    role: &RoleName,
) -> anyhow::Result<Option<Targets>> {
    if updater
        .role_bytes(role, &RoleName::TARGETS)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(updater
        .trusted()
        .targets(role, &RoleName::TARGETS)
        .map(|t| t.signed.clone()))
}

fn render(view: &RepoView, page: &mut Page) {
    page.field("Repository", &view.repository);
    page.field("Format", view.metadata_format);
    page.field(
        "Tags",
        format!(
            "{} signed{}",
            view.targets,
            if view.hash_bins > 0 {
                format!(
                    " (in targets, delegated roles and {} hash bins)",
                    view.hash_bins
                )
            } else {
                String::new()
            }
        ),
    );
    let mut t = output::table(&[
        "Role",
        "Signed by",
        "Keys",
        "Threshold",
        "Paths",
        "Version",
        "Expires",
        "Tags",
    ]);
    for r in &view.roles {
        let expires = match (&r.expires, r.expires_in_days) {
            (Some(e), _) if r.expired == Some(true) => warn(format!("{e} (expired)")),
            (Some(e), Some(d)) if d < 30 => warn(format!("{e} (in {d} days)")),
            (Some(e), Some(d)) => format!("{e} (in {d} days)").to_text(),
            _ => Text::default(),
        };
        let keys = Text::lines(
            r.keyids
                .iter()
                .map(|k| k.chars().take(12).collect::<String>().to_text()),
        );
        let version = match (r.kind, r.version) {
            (_, Some(v)) => v.to_text(),
            (Kind::Delegated, None) => dim("not signed yet"),
            (Kind::HashBins, None) => dim(format!("{} bins", r.bins.unwrap_or_default())),
            (Kind::TopLevel, None) => Text::default(),
        };
        t.row([
            (&r.name).to_text(),
            (&r.signed_by).to_text(),
            keys,
            r.threshold.to_text(),
            paths_of(r),
            version,
            expires,
            r.targets.map(|n| n.to_text()).unwrap_or_default(),
        ]);
    }
    page.line(t);
    let expired: Vec<&str> = view
        .roles
        .iter()
        .filter(|r| r.expired == Some(true))
        .map(|r| r.name.as_str())
        .collect();
    if !expired.is_empty() {
        page.line(warn(format!(
            "Expired: {}. Consumers refuse {} until it is signed again: `clearance trust refresh {}` (a trust service re-signs the roles it holds itself)",
            expired.join(", "),
            view.repository,
            view.repository
        )));
    }
}

/// What a delegation covers, in words: TUF patterns as written, Notary's
/// prefixes with an ellipsis (`""` is everything), or hash prefixes; and
/// whether the search stops there.
fn paths_of(r: &RoleView) -> Text {
    let covers = if let Some(patterns) = &r.paths {
        patterns.join(", ")
    } else if let Some(prefixes) = &r.path_prefixes {
        if prefixes.iter().any(String::is_empty) {
            "everything".into()
        } else {
            prefixes
                .iter()
                .map(|p| format!("{p}…"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    } else if let Some(h) = &r.path_hash_prefixes {
        format!("hash prefixes {}", h.join(", "))
    } else if r.kind == Kind::Delegated {
        "nothing".into()
    } else {
        return Text::default();
    };
    match r.terminating {
        Some(true) => Text::concat([covers.to_text(), dim(" (terminating)")]),
        _ => covers.to_text(),
    }
}
