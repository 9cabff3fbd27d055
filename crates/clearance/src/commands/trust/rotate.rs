//! `clearance trust rotate REPO ROLE`: a new key for a top-level role.
//! Root is re-signed by the old root key (and the new one when root itself
//! rotates), so clients follow the change through the root chain.

use anyhow::Context as _;
use clap::Args;
use clearance_trust::keystore::Keystore;
use clearance_trust::pkcs11::IfMissing;
use clearance_trust::publish::{
    Bins, Changed, OldKeys, RepositoryEditor, RoleSigners, ServerSigned,
};
use clearance_trust::repository::{Publisher, RepositoryStore as _};
use clearance_trust::schema::Version;
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::{Gun, TopRole};
use serde::Serialize;

use super::common::{TimeoutArgs, TrustArgs, gun, repository_ref, show, top_role_parser};
use super::held::{Held, RootKeyArgs, role_key, root_key, root_key_label, token_key};
use super::passphrase::new_passphrase;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust rotate --format json`.
const SCHEMA: &str = "clearance.trust.rotate/v1";

/// The rotation as published; its JSON shape (`clearance.trust.rotate/v1`)
/// is in `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct RotatedView {
    schema: &'static str,
    repository: String,
    role: TopRole,
    new_keyid: String,
    /// `publisher` (a key file or a token) or `service`.
    held_by: &'static str,
    /// The role's keys now.
    keyids: Vec<String>,
    root_version: Version,
    /// A new root key on a token: `token LABEL, key LABEL`.
    new_key_label: Option<String>,
}

impl RotatedView {
    fn render(&self, page: &mut Page) {
        page.field("Rotated", format!("{} of {}", self.role, self.repository));
        match &self.new_key_label {
            Some(label) => page.field(
                "New key",
                format!("{} (on {label}, not extractable)", self.new_keyid),
            ),
            None => page.field("New key", &self.new_keyid),
        }
        if self.held_by == "service" {
            page.field("Held by", "the trust service");
        }
        page.field("Keys now", self.keyids.join(", "));
        page.field("Root", format!("v{}", self.root_version));
    }
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The role to give a new key.
    #[arg(value_parser = top_role_parser())]
    pub role: TopRole,
    /// Add the new key beside the current ones instead of replacing them
    /// (revoke the old ones later with `trust revoke`).
    #[arg(long)]
    pub keep_old: bool,
    /// For root: put the new root key on a token (pkcs11: URI; without
    /// object=, the key is labelled for this repository and root version).
    #[arg(long, value_name = "PKCS11_URI")]
    pub new_root_key: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    #[command(flatten)]
    pub root: RootKeyArgs,
}

pub async fn run(args: RotateArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.timeout.timeout)?;
    let reference = repository_ref(&args.repository)?;
    let gun = gun(&reference)?;
    let publisher = trust.publisher(&gun)?;
    let repo = publisher.load(Bins::All).await?;
    // A wrong login shows before any key is unsealed.
    publisher.check_login().await?;
    let keystore = trust.keystore()?;
    let mut saved = None;
    let old_root = root_key(&args.root, &keystore, &repo, &gun)
        .context("the current root key signs the rotation")?;
    let role = args.role;
    let server = publisher.server_signed(&repo, |k| keystore.public(k).is_ok());
    let on_service = server.signs(role);
    // A key the service holds is rotated by the service: it makes the new
    // key, and signs with it once the root published below names it.
    let new = if let (true, Some(service)) = (on_service, publisher.store().service()) {
        let key = service
            .rotate_server_key(&gun, role)
            .await
            .with_context(|| {
                let url = service.metadata_url(&gun);
                format!("asking {url} for a new {role} key")
            })?;
        New::OnService(key)
    } else {
        let held = match (role, &args.new_root_key) {
            (TopRole::Root, Some(uri)) => Held::Token(Box::new(token_key(
                uri,
                args.root.pkcs11_module.as_ref(),
                IfMissing::Generate,
                &root_key_label(&gun, Some(repo.root.common.version.get() + 1)),
            )?)),
            (TopRole::Root, None) => {
                Held::Local(Box::new(LocalSigner::generate(KeyKind::EcdsaP256)?))
            }
            _ => Held::Local(Box::new(LocalSigner::generate(KeyKind::Ed25519)?)),
        };
        if let Held::Local(key) = &held {
            let pass = new_passphrase(role.name(), &key.key_id())?;
            saved = Some(keystore.save(key, role.name(), &pass)?);
        }
        New::Held(held)
    };
    // Review 9 #5: a rotation that fails from here leaves no new key in
    // the keystore.
    let result = finish(
        &args, &publisher, &keystore, repo, &gun, &old_root, new, server,
    )
    .await;
    if result.is_err()
        && let Some(keyid) = &saved
        && let Err(e) = keystore.remove(keyid)
    {
        crate::output::warning(format!(
            "the rotation failed, and its new key {keyid} could not be removed from {}: {e}",
            keystore.dir().display()
        ));
    }
    let view = result?;
    show(format, &view, RotatedView::render)?;
    Ok(Exit::Ok)
}

/// Rotate `role` to `new` in `repo`, sign and publish: what was published.
#[allow(clippy::too_many_arguments)]
async fn finish(
    args: &RotateArgs,
    publisher: &Publisher,
    keystore: &Keystore,
    mut repo: RepositoryEditor,
    gun: &Gun,
    old_root: &Held,
    new: New,
    server: ServerSigned,
) -> anyhow::Result<RotatedView> {
    let role = args.role;
    let on_service = matches!(new, New::OnService(_));
    let gun = gun.clone();
    let mode = if args.keep_old {
        OldKeys::Keep
    } else {
        OldKeys::Replace
    };
    let new_public = match &new {
        New::OnService(key) => key.clone(),
        New::Held(held) => held.signer().public_key().clone(),
    };
    repo.rotate(role, &new_public, mode)?;
    repo.name_repository(&gun);
    // The publisher signs what the trust service does not; each key unlocked once.
    let mut held: Vec<(TopRole, Held)> = Vec::new();
    for (other, kept) in [
        (TopRole::Targets, true),
        (
            TopRole::Snapshot,
            server != ServerSigned::SnapshotAndTimestamp,
        ),
        (TopRole::Timestamp, server == ServerSigned::Neither),
    ] {
        if other != role && kept {
            held.push((
                other,
                Held::Local(Box::new(role_key(keystore, &repo, &gun, other)?)),
            ));
        }
    }
    let pick = |r: TopRole| -> Vec<&dyn Signer> {
        if r == role {
            return match &new {
                New::Held(held) => vec![held.signer()],
                New::OnService(_) => Vec::new(),
            };
        }
        held.iter()
            .filter(|(n, _)| *n == r)
            .map(|(_, h)| h.signer())
            .collect()
    };
    let mut root_signers = vec![old_root.signer()];
    if let (TopRole::Root, New::Held(held)) = (role, &new) {
        root_signers.push(held.signer());
    }
    let signers = RoleSigners {
        root: root_signers,
        targets: pick(TopRole::Targets),
        snapshot: pick(TopRole::Snapshot),
        timestamp: pick(TopRole::Timestamp),
        server,
        ..Default::default()
    };
    let files = repo.publish(Changed::RootAndTargets, &signers, false)?;
    publisher.publish_once(&files).await?;
    Ok(RotatedView {
        schema: SCHEMA,
        repository: gun.to_string(),
        role,
        new_keyid: new_public.key_id(),
        held_by: if on_service { "service" } else { "publisher" },
        keyids: repo
            .root
            .roles
            .get(&role)
            .map(|k| k.keyids.clone())
            .unwrap_or_default(),
        root_version: repo.root.common.version,
        new_key_label: match &new {
            New::Held(Held::Token(hsm)) => Some(hsm.label()),
            _ => None,
        },
    })
}

/// Where the new key lives.
enum New {
    /// With the publisher: a key file or a token.
    Held(Held),
    /// On the trust service, which signs with it.
    OnService(clearance_trust::keys::Key),
}
