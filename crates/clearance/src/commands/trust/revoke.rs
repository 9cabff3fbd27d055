//! `clearance trust revoke REPO KEYID`: take a key out of every role that
//! lists it, top-level or delegated (refused when a role would fall below
//! its threshold).

use anyhow::Context as _;
use clap::Args;
use clearance_trust::TopRole;
use clearance_trust::publish::{Bins, Changed, RoleSigners};
use clearance_trust::schema::Version;
use clearance_trust::signer::Signer;
use serde::Serialize;

use super::common::{TimeoutArgs, TrustArgs, gun, repository_ref, show};
use super::held::{Held, RootKeyArgs, delegated_keys, online_keys, role_key, root_key};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust revoke --format json`.
const SCHEMA: &str = "clearance.trust.revoke/v1";

/// What the key was taken out of; its JSON shape
/// (`clearance.trust.revoke/v1`) is in `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct RevokedView {
    schema: &'static str,
    repository: String,
    keyid: String,
    /// Top-level roles that listed the key (root was signed again).
    roles: Vec<String>,
    /// Delegated roles that listed it.
    delegations: Vec<String>,
    /// Root's version now, when root was signed again.
    root_version: Option<Version>,
}

impl RevokedView {
    fn render(&self, page: &mut Page) {
        page.field("Revoked", &self.keyid);
        if let Some(v) = self.root_version {
            page.field("From roles", self.roles.join(", "));
            page.field("Root", format!("v{v}"));
        }
        if !self.delegations.is_empty() {
            page.field("From delegations", self.delegations.join(", "));
        }
    }
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The key id to revoke: whole, or a unique prefix of at least 8 hex
    /// digits (as `trust inspect` shows them).
    pub keyid: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    #[command(flatten)]
    pub root: RootKeyArgs,
}

pub async fn run(args: RevokeArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.timeout.timeout)?;
    let reference = repository_ref(&args.repository)?;
    let gun = gun(&reference)?;
    let publisher = trust.publisher(&gun)?;
    let mut repo = publisher.load(Bins::All).await?;
    // A wrong login shows before any key is unsealed.
    publisher.check_login().await?;
    let keystore = trust.keystore()?;
    // The full id, or a unique prefix of it (what `trust inspect` shows).
    let keyid = clearance_trust::key_id::resolve(
        &args.keyid,
        repo.key_ids().iter().map(String::as_str),
        &format!("in {gun}"),
    )?;
    let old_root = repo
        .root
        .roles
        .values()
        .any(|r| r.keyids.contains(&keyid))
        .then(|| root_key(&args.root, &keystore, &repo, &gun))
        .transpose()?;
    let revoked = repo.revoke(&keyid)?;
    // A revoked root key: the new root must also meet its own threshold.
    let new_root = if revoked.roles.contains(&TopRole::Root) {
        Some(Held::Local(Box::new(role_key(
            &keystore,
            &repo,
            &gun,
            TopRole::Root,
        )?)))
    } else {
        None
    };
    let targets = role_key(&keystore, &repo, &gun, TopRole::Targets)?;
    // Each delegated role that lost the key is signed again by the keys it
    // has left (its current version may carry only the revoked key's
    // signature).
    let mut delegated = Vec::new();
    for role in revoked.delegations.iter().filter(|r| repo.is_published(r)) {
        let keys = delegated_keys(&keystore, &repo, role).with_context(|| {
            format!(
                "{role} is signed again by its remaining keys when one of its keys is revoked; revoke where a threshold of them is in the keystore"
            )
        })?;
        delegated.push((role.clone(), keys));
    }
    let online = online_keys(&publisher, &keystore, &repo)?;
    let mut root: Vec<&dyn Signer> = old_root.iter().map(Held::signer).collect();
    if let Some(n) = &new_root {
        root.push(n.signer());
    }
    let mut signers = RoleSigners {
        root,
        ..online.signers(vec![&targets])
    };
    for (role, keys) in &delegated {
        signers.delegated.insert(
            role.clone(),
            keys.iter().map(|k| k as &dyn Signer).collect(),
        );
    }
    let changed = if revoked.roles.is_empty() {
        Changed::Targets
    } else {
        repo.name_repository(&gun); // written with the root this re-signs
        Changed::RootAndTargets
    };
    let files = repo.publish(changed, &signers, false)?;
    publisher.publish_once(&files).await?;
    let view = RevokedView {
        schema: SCHEMA,
        repository: gun.to_string(),
        root_version: (!revoked.roles.is_empty()).then_some(repo.root.common.version),
        roles: revoked.roles.iter().map(ToString::to_string).collect(),
        delegations: revoked
            .delegations
            .iter()
            .map(ToString::to_string)
            .collect(),
        keyid,
    };
    show(format, &view, RevokedView::render)?;
    Ok(Exit::Ok)
}
