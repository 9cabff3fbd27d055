//! `clearance trust delegate add | remove`: let another key sign some tags
//! (a team, a release pipeline), limited to path patterns.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_trust::keys::Key;
use clearance_trust::publish::{Bins, Changed, FirstVersion};
use clearance_trust::signer::Signer;
use clearance_trust::{RoleName, TopRole};
use serde::Serialize;

use super::common::{repository_ref, RoleNameParser, TimeoutArgs, TrustArgs, gun, show};
use super::held::{delegated_keys, online_keys, role_key};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust delegate add|remove --format json`.
const SCHEMA: &str = "clearance.trust.delegate/v1";

/// The delegation as published; its JSON shape
/// (`clearance.trust.delegate/v1`) is in `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct DelegationView {
    schema: &'static str,
    repository: String,
    role: String,
    /// `added` or `removed`.
    change: &'static str,
    /// What the role may sign, its keys and threshold (none once removed).
    paths: Option<Vec<String>>,
    keyids: Option<Vec<String>>,
    threshold: Option<u64>,
    /// The command its keys' holder signs its first tag with, when the
    /// role has no metadata yet.
    next: Option<String>,
}

impl DelegationView {
    fn render(&self, page: &mut Page) {
        let title = match self.change {
            "added" => "Delegated",
            _ => "Removed",
        };
        page.field(title, format!("{} in {}", self.role, self.repository));
        if let (Some(paths), Some(keyids), Some(threshold)) =
            (&self.paths, &self.keyids, self.threshold)
        {
            page.field("Paths", paths.join(", "));
            page.field("Keys", format!("{threshold} of {}", keyids.join(", ")));
        }
        if let Some(next) = &self.next {
            page.field("Next", next);
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// Let ROLE sign tags matching --paths with its own keys (someone
    /// else's public key, from `trust key export`, or one in the keystore).
    /// Only targets is signed here; the role's keys sign its metadata when
    /// they first sign a tag (`trust sign --role ROLE`).
    Add(AddArgs),
    /// Stop delegating to ROLE.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The delegated role's name, e.g. releases or qa (a team, a
    /// pipeline): lower-case letters, digits and -. Notary's
    /// targets/releases is releases here.
    #[arg(value_parser = RoleNameParser::NEW_DELEGATION)]
    pub role: RoleName,
    /// The delegate's public key: a file from `trust key export` (someone
    /// else's key), or a key id in the keystore, whole or a unique prefix of
    /// at least 8 hex digits (repeatable).
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
    /// Tag patterns the role may sign (`*` within a path component), comma-separated.
    #[arg(long, required = true, value_delimiter = ',')]
    pub paths: Vec<String>,
    /// Signatures needed.
    #[arg(long, default_value_t = 1)]
    pub threshold: u64,
    /// Stop the search at this role for the tags it covers.
    #[arg(long)]
    pub terminating: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The delegated role to stop delegating to.
    #[arg(value_parser = RoleNameParser::ANY)]
    pub role: RoleName,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

pub async fn run(command: DelegateCommand, format: Format) -> anyhow::Result<Exit> {
    let (repository, trust) = match &command {
        DelegateCommand::Add(a) => (&a.repository, a.trust.settings(a.timeout.timeout)?),
        DelegateCommand::Remove(r) => (&r.repository, r.trust.settings(r.timeout.timeout)?),
    };
    let gun = gun(&repository_ref(repository)?)?;
    let publisher = trust.publisher(&gun)?;
    let first = publisher.load(Bins::All).await?;
    // A wrong login shows before any key is unsealed.
    publisher.check_login().await?;
    let keystore = trust.keystore()?;
    let added = matches!(command, DelegateCommand::Add(_));
    let role = match &command {
        DelegateCommand::Add(a) => a.role.clone(),
        DelegateCommand::Remove(r) => r.role.clone(),
    };
    let new_keys = match &command {
        DelegateCommand::Add(a) => a
            .keys
            .iter()
            .map(|k| public_key(k, &keystore))
            .collect::<anyhow::Result<Vec<Key>>>()?,
        DelegateCommand::Remove(_) => Vec::new(),
    };
    let targets = role_key(&keystore, &first, &gun, TopRole::Targets)?;
    let online = online_keys(&publisher, &keystore, &first)?;
    // The delegate's keys, only when the role must be signed in this
    // publish (a role of that name was delegated before: B-9).
    let mut delegated = Vec::new();
    let mut signs_later = false;
    let repo = publisher
        .edit(first, Bins::All, |repo| {
            match &command {
                DelegateCommand::Add(a) => {
                    let first = repo.add_delegation(
                        &a.role,
                        &new_keys,
                        a.threshold,
                        a.paths.clone(),
                        a.terminating,
                    )?;
                    signs_later = first == FirstVersion::Later && !repo.is_published(&a.role);
                    if first == FirstVersion::Now && delegated.is_empty() {
                        delegated = delegated_keys(&keystore, repo, &role).with_context(|| {
                            format!(
                                "{role} was delegated before, and snapshot still lists its last version, signed by its old keys: its new keys must sign the next one now, so add it where they are in the keystore, or choose another role name"
                            )
                        })?;
                    }
                }
                DelegateCommand::Remove(r) => repo.remove_delegation(&r.role)?,
            }
            let mut signers = online.signers(vec![&targets]);
            signers.delegated.insert(
                role.clone(),
                delegated.iter().map(|s| s as &dyn Signer).collect(),
            );
            anyhow::Ok(repo.publish(Changed::Targets, &signers, false)?)
        })
        .await?;
    let delegation = repo.delegation(&role);
    let view = DelegationView {
        schema: SCHEMA,
        repository: gun.to_string(),
        role: role.to_string(),
        change: if added { "added" } else { "removed" },
        paths: delegation.map(|d| d.paths.clone().unwrap_or_default()),
        keyids: delegation.map(|d| d.keyids.clone()),
        threshold: delegation.map(|d| d.threshold),
        next: signs_later.then(|| {
            format!(
                "{role} signs its first tag with `clearance trust sign {gun}:TAG --role {role}` (its keys' holder, with {gun}'s root pinned: `clearance trust verify --root ROOT.json {gun}:TAG`)"
            )
        }),
    };
    show(format, &view, DelegationView::render)?;
    Ok(Exit::Ok)
}

/// An exported `{"keyid", "key"}` file, or a key id in the keystore
/// (whole, or a unique prefix of at least 8 hex digits).
fn public_key(spec: &str, keystore: &clearance_trust::keystore::Keystore) -> anyhow::Result<Key> {
    let path = std::path::Path::new(spec);
    if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {spec}"))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{spec} is not JSON"))?;
        return serde_json::from_value(doc.get("key").cloned().unwrap_or(doc)).with_context(|| {
            format!("{spec} holds no public key (export one with `trust key export`)")
        });
    }
    let context = || {
        format!(
            "--key {spec} is not a file, so it was taken as a key id (give a file from `trust key export`, or an id from `trust key list`)"
        )
    };
    let keyid = keystore.resolve(spec).with_context(context)?;
    keystore.public(&keyid).with_context(context)
}
