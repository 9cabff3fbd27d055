//! `clearance trust revoke REPO KEYID`: take a key out of every role that
//! lists it (refused when a role would fall below its threshold).

use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::publish::{Changed, RoleSigners};
use clearance_trust::signer::Signer;

use super::common::{
    Held, OnlineKeys, RootKeyArgs, TrustArgs, gun, load_repository, published, role_key, root_key,
};
use crate::exit::Exit;
use crate::output::Page;

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
    pub root: RootKeyArgs,
}

pub async fn run(args: RevokeArgs) -> anyhow::Result<Exit> {
    let reference = RegistryRef::parse(&args.repository)?;
    let gun = gun(&reference);
    let mut repo = load_repository(&args.trust, &gun).await?;
    let keystore = args.trust.keystore()?;
    // The full id, or a unique prefix of it (what `trust inspect` shows).
    let keyid = clearance_trust::key_id::resolve(
        &args.keyid,
        repo.key_ids().iter().map(String::as_str),
        &format!("in {gun}"),
    )?;
    let old_root = root_key(&args.root, &keystore, &repo, &gun)?;
    let affected = repo.revoke(&keyid)?;
    // A revoked root key: the new root must also meet its own threshold.
    let new_root = if affected.iter().any(|r| r == "root") {
        Some(Held::Local(Box::new(role_key(
            &keystore, &repo, &gun, "root",
        )?)))
    } else {
        None
    };
    let targets = role_key(&keystore, &repo, &gun, "targets")?;
    let online = OnlineKeys::load(&args.trust, &keystore, &repo, &gun)?;
    let mut root: Vec<&dyn Signer> = vec![old_root.signer()];
    if let Some(n) = &new_root {
        root.push(n.signer());
    }
    let signers = RoleSigners {
        root,
        ..online.signers(vec![&targets])
    };
    repo.name_repository(&gun); // written with the root this re-signs
    let files = repo.publish(Changed::RootAndTargets, &signers, false)?;
    published(args.trust.publish(&gun, &files).await?)?;
    let mut page = Page::default();
    page.field("Revoked", &keyid);
    page.field("From roles", affected.join(", "));
    page.field("Root", format!("v{}", repo.root.common.version));
    page.emit()?;
    Ok(Exit::Ok)
}
