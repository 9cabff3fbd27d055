//! `clearance trust refresh REPO`: re-sign what expires soon (timestamp
//! always), so clients never see stale metadata.

use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::publish::{Changed, RoleSigners};
use clearance_trust::signer::Signer;

use super::common::{
    OnlineKeys, RootKeyArgs, TrustArgs, delegated_keys, gun, holds_delegated, load_repository,
    published, role_key, root_key,
};
use crate::exit::Exit;
use crate::output::Page;

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// Re-sign every role that expires within this many days (delegated
    /// roles too, when their keys are in the keystore).
    #[arg(long, default_value_t = 7)]
    pub within_days: u32,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub root: RootKeyArgs,
}

pub async fn run(args: RefreshArgs) -> anyhow::Result<Exit> {
    let reference = RegistryRef::parse(&args.repository)?;
    let gun = gun(&reference);
    let mut repo = load_repository(&args.trust, &gun).await?;
    let keystore = args.trust.keystore()?;
    let mut expiring = repo.expiring(args.within_days);
    let changed = repo.refresh(args.within_days);
    // Delegated roles are re-signed by their own keys: those held here.
    let mut delegated = Vec::new();
    for role in repo.expiring_delegated(args.within_days) {
        if holds_delegated(&keystore, &repo, &role) {
            repo.resign_delegated(&role)?;
            let keys = delegated_keys(&keystore, &repo, &role)?;
            delegated.push((role, keys));
        } else {
            let expires = repo.delegated[&role].common.expires;
            crate::output::warning(format!(
                "{role} expires {expires}, and the keys that sign it are not in {}: whoever holds them re-signs it with `clearance trust refresh {gun}`",
                keystore.dir().display()
            ));
            expiring.retain(|r| *r != role);
        }
    }
    let root = match changed {
        Changed::RootAndTargets => Some(root_key(&args.root, &keystore, &repo, &gun)?),
        _ => None,
    };
    let targets = match changed {
        Changed::Nothing => None,
        _ => Some(role_key(&keystore, &repo, &gun, "targets")?),
    };
    let online = OnlineKeys::load(&args.trust, &keystore, &repo, &gun)?;
    let mut signers = RoleSigners {
        root: root.iter().map(|r| r.signer()).collect(),
        ..online.signers(targets.iter().map(|t| t as &dyn Signer).collect())
    };
    for (role, keys) in &delegated {
        signers
            .delegated
            .insert(role.clone(), keys.iter().map(|k| k as &dyn Signer).collect());
    }
    repo.name_repository(&gun); // written if root is re-signed
    let files = repo.publish(changed, &signers, false)?;
    published(args.trust.publish(&gun, &files).await?)?;
    let mut page = Page::default();
    page.field("Refreshed", &gun);
    page.field("Re-signed", expiring.join(", "));
    page.field(
        "Timestamp",
        format!(
            "v{}, expires {}",
            repo.timestamp.common.version, repo.timestamp.common.expires
        ),
    );
    page.emit()?;
    Ok(Exit::Ok)
}
