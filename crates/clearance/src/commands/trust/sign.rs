//! `clearance trust sign IMAGE:TAG`: pin the tag to its manifest.

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::registry::RegistryClient;
use clearance_oci::{ImageRef, RegistryRef};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{Changed, Expiries, Repository, RoleSigners};
use clearance_trust::signer::{LocalSigner, Signer};

use super::common::{TrustArgs, gun, passphrase};
use crate::cli::RegistryArgs;
use crate::exit::Exit;
use crate::output::Page;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image to sign, by tag: [docker://]HOST/REPO:TAG.
    pub image: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(args: SignArgs) -> anyhow::Result<Exit> {
    let reference = registry_ref(&args.image)?;
    let tag = reference.tag().context("sign a tag: IMAGE:TAG")?.to_owned();
    let gun = gun(&reference);
    let client = RegistryClient::new(&args.registry.settings()?.registry)?;
    let (manifest, digest, media_type) = client
        .get_manifest(&reference, &tag)
        .await
        .with_context(|| format!("fetching the manifest of {reference}"))?;
    let target = target_for_manifest(&manifest, media_type.as_deref());

    let url = args.trust.metadata_url(&gun);
    let fetch = |role: &str| -> anyhow::Result<Vec<u8>> {
        let path = url
            .strip_prefix("file://")
            .context("signing needs a file:// trust server for now")?;
        std::fs::read(format!("{path}{role}.json"))
            .with_context(|| format!("reading the current {role} of {gun}"))
    };
    let mut repo = Repository::load(
        &fetch("root")?,
        &fetch("targets")?,
        &fetch("snapshot")?,
        &fetch("timestamp")?,
        Expiries::default(),
        |bin| fetch(bin).ok(),
    )?;
    let keystore = args.trust.keystore()?;
    let mut held: Vec<(&str, LocalSigner)> = Vec::new();
    for role in ["targets", "snapshot", "timestamp"] {
        let keyids = &repo
            .root
            .roles
            .get(role)
            .context("root lacks a role")?
            .keyids;
        let Some(keyid) = keyids.iter().find(|k| keystore.public(k).is_ok()) else {
            bail!(
                "none of the {role} keys of {gun} is in {}",
                keystore.dir().display()
            );
        };
        let pass = passphrase(role, keyid, false)?;
        held.push((role, keystore.load(keyid, &pass)?));
    }
    let pick = |role: &str| -> Vec<&dyn Signer> {
        held.iter()
            .filter(|(r, _)| *r == role)
            .map(|(_, s)| s as &dyn Signer)
            .collect()
    };
    let signers = RoleSigners {
        root: Vec::new(),
        targets: pick("targets"),
        snapshot: pick("snapshot"),
        timestamp: pick("timestamp"),
    };
    repo.set_target(&tag, target);
    let files = repo.publish(Changed::Targets, &signers, false)?;
    args.trust.publish(&gun, &files)?;
    let mut page = Page::default();
    page.field("Signed", format!("{gun}:{tag}"));
    page.field("Digest", &digest);
    page.field(
        "Version",
        format!("targets v{}", repo.targets.common.version),
    );
    page.emit()?;
    Ok(Exit::Ok)
}

/// A registry reference from `IMAGE:TAG` or `docker://IMAGE:TAG`.
pub fn registry_ref(image: &str) -> anyhow::Result<RegistryRef> {
    match image.parse::<ImageRef>()? {
        ImageRef::Registry(r) => Ok(r),
        other => bail!("{other} is not in a registry; content trust covers registry images"),
    }
}
