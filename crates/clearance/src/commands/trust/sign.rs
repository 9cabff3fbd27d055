//! `clearance trust sign IMAGE:TAG`: pin the tag to its manifest.

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::Digest;
use clearance_oci::registry::RegistryClient;
use clearance_trust::client::FetchError;
use clearance_trust::image::{manifest_digest, target_for_manifest};
use clearance_trust::publish::{Bins, Changed, RepositoryEditor, ServerSigned};
use clearance_trust::schema::Version;
use clearance_trust::signer::Signer;
use clearance_trust::{Gun, RoleName, TopRole};
use serde::Serialize;

use super::common::{RoleNameParser, TrustArgs, gun, registry_ref, show};
use super::failure::fetch_error;
use super::held::{delegated_keys, online_keys, role_key};
use crate::cli::{Format, RegistryArgs};
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust sign --format json`.
const SCHEMA: &str = "clearance.trust.sign/v1";

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image to sign: [docker://]HOST/REPO:TAG, best with the digest
    /// that was built: HOST/REPO:TAG@sha256:… (or --digest). A pinned digest
    /// is signed only if the registry's tag points at it.
    pub image: String,
    /// The manifest digest to sign for the tag (what the build pushed).
    #[arg(long, value_name = "sha256:…")]
    pub digest: Option<Digest>,
    /// Sign into this delegated role instead of top-level targets.
    #[arg(long, value_parser = RoleNameParser::ANY)]
    pub role: Option<RoleName>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// What was signed; its JSON shape (`clearance.trust.sign/v1`) is in
/// `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct SignedView {
    schema: &'static str,
    image: String,
    digest: String,
    role: String,
    /// False when the tag was signed so already: nothing was published.
    published: bool,
    /// The signing role's version now (none when nothing was published).
    version: Option<Version>,
}

impl SignedView {
    fn render(&self, page: &mut Page) {
        if !self.published {
            page.field("Already signed", format!("{} by {}", self.image, self.role));
            page.field("Digest", &self.digest);
            page.line("Nothing was published.");
            return;
        }
        page.field("Signed", &self.image);
        page.field("Digest", &self.digest);
        match (self.role == RoleName::TARGETS.as_str(), self.version) {
            (true, Some(v)) => page.field("Version", format!("targets v{v}")),
            (false, Some(v)) => {
                page.field("Role", &self.role);
                page.field("Version", format!("{} v{v}", self.role));
            }
            (_, None) => page.field("Role", &self.role),
        }
    }
}

pub async fn run(args: SignArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.registry.timeout)?;
    let reference = registry_ref(&args.image)?;
    let tag = reference.tag().context("sign a tag: IMAGE:TAG")?.to_owned();
    let pinned = match (reference.digest(), &args.digest) {
        (Some(a), Some(b)) if a != b => {
            bail!(
                "{} pins {a} but --digest says {b}; give one digest",
                args.image
            )
        }
        (a, b) => a.or(b.as_ref()).cloned(),
    };
    let gun = gun(&reference)?;
    // Only the hash bin this tag falls in (a 10,000-tag repository has 64).
    let tags = [tag.as_str()];
    let publisher = trust.publisher(&gun)?;
    // The pinned root and the role first (review 9 #3, #10): a missing
    // root or an unknown role is told before anything about the tag.
    let first = publisher.load(Bins::For(&tags)).await?;
    // `--role targets` is top-level targets, as without --role.
    let role = args.role.clone().filter(|r| *r != TopRole::Targets);
    if let Some(role) = &role {
        check_delegated(&first, &gun, role)?;
    }
    let client = RegistryClient::new(&args.registry.settings()?.registry)?;
    let (manifest, digest, media_type) = client
        .get_manifest(&reference, &tag)
        .await
        .with_context(|| format!("fetching the manifest of {gun}:{tag}"))?;
    // B-6: content trust exists to survive a registry that lies; sign what
    // was built, and only if the tag still points at it.
    match &pinned {
        Some(want) if Digest::of(want.algorithm(), &manifest) != *want => bail!(
            "the registry's {gun}:{tag} points at {digest}, not at {want}; refusing to sign (someone re-pointed the tag, or the push did not land: push again and sign the digest it reports)"
        ),
        Some(_) => {}
        None => crate::output::warning(format!(
            "signing {gun}:{tag} by tag: the registry says it is {digest}; to sign what you built, give its digest ({gun}:{tag}@{digest} or --digest)"
        )),
    }
    let target = target_for_manifest(&manifest, media_type.as_deref());

    let before = match &role {
        Some(role) => first.delegated.get(role).and_then(|r| r.targets.get(&tag)),
        None => first.target(&tag),
    };
    let role_name = role.clone().unwrap_or(RoleName::TARGETS);
    match before {
        // The same manifest again: nothing to sign, nothing published.
        Some(old) if old.length == target.length && old.hashes == target.hashes => {
            let view = SignedView {
                schema: SCHEMA,
                image: format!("{gun}:{tag}"),
                digest: digest.to_string(),
                role: role_name.to_string(),
                published: false,
                version: None,
            };
            show(format, &view, SignedView::render)?;
            return Ok(Exit::Ok);
        }
        Some(old) => crate::output::warning(format!(
            "{gun}:{tag} was signed by {role_name} as {}; it is now signed as {digest}",
            manifest_digest(old).unwrap_or_else(|| "another manifest".into())
        )),
        None => {}
    }
    // A wrong login shows before any key is unsealed.
    publisher.check_login().await?;
    let keystore = trust.keystore()?;
    let (targets, delegated) = match &role {
        Some(role) => (None, delegated_keys(&keystore, &first, role)?),
        None => (
            Some(role_key(&keystore, &first, &gun, TopRole::Targets)?),
            Vec::new(),
        ),
    };
    let online = online_keys(&publisher, &keystore, &first)?;
    let repo = publisher
        .edit(first, Bins::For(&tags), |repo| {
            match &role {
                Some(role) => repo.set_delegated_target(role, &tag, target.clone())?,
                None => repo.set_target(&tag, target.clone())?,
            }
            let mut signers = online.signers(targets.iter().map(|t| t as &dyn Signer).collect());
            if let Some(role) = &role {
                signers.delegated.insert(
                    role.clone(),
                    delegated.iter().map(|s| s as &dyn Signer).collect(),
                );
            }
            anyhow::Ok(repo.publish(Changed::Targets, &signers, false)?)
        })
        .await;
    let repo = match repo {
        // A delegate or second publisher without the snapshot key relies on
        // the service signing snapshot; say so when it refuses.
        Err(e)
            if online.server == ServerSigned::SnapshotAndTimestamp
                && matches!(fetch_error(&e), Some(FetchError::Refused { .. })) =>
        {
            return Err(e.context(format!(
                "none of {gun}'s snapshot keys is in {}, so the trust service must sign snapshot, which it does for repositories made with `clearance trust init --server-snapshot`",
                keystore.dir().display()
            )));
        }
        other => other?,
    };
    let version = match &role {
        Some(role) => repo.delegated.get(role).map(|r| r.common.version),
        None => Some(repo.targets.common.version),
    };
    let view = SignedView {
        schema: SCHEMA,
        image: format!("{gun}:{tag}"),
        digest: digest.to_string(),
        role: role_name.to_string(),
        published: true,
        version,
    };
    show(format, &view, SignedView::render)?;
    Ok(Exit::Ok)
}

/// Refuse `--role ROLE` unless targets delegates to ROLE, saying what the
/// repository's roles are and how to list them (not a signing error about
/// missing keys).
fn check_delegated(repo: &RepositoryEditor, gun: &Gun, role: &RoleName) -> anyhow::Result<()> {
    if repo.delegation(role).is_some() {
        return Ok(());
    }
    if role.is_top() {
        bail!(
            "{role} is a top-level role and signs no tags: leave out --role to sign with targets, or name a role targets delegates to (`clearance trust inspect {gun}` lists them)"
        );
    }
    let delegated: Vec<String> = repo
        .targets
        .delegations
        .iter()
        .flat_map(|d| d.roles.iter().flatten())
        .map(|r| r.name.to_string())
        .collect();
    let notary = role
        .as_str()
        .strip_prefix("targets/")
        .filter(|plain| delegated.iter().any(|d| d == plain))
        .map(|plain| format!(" ({role} is Notary's spelling: here the role is {plain})"))
        .unwrap_or_default();
    let roles = if delegated.is_empty() {
        "it delegates to no role yet (`clearance trust delegate add` makes one)".to_owned()
    } else {
        format!("it delegates to {}", delegated.join(", "))
    };
    bail!(
        "{role} is not a delegated role of {gun}: targets does not delegate to it{notary}; {roles}. `clearance trust inspect {gun}` lists its roles"
    )
}
