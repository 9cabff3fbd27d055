//! `clearance trust sign IMAGE:TAG`: pin the tag to its manifest.

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::registry::RegistryClient;
use clearance_oci::{Digest, RegistryRef};
use clearance_trust::client::FetchError;
use clearance_trust::image::{manifest_digest, target_for_manifest};
use clearance_trust::publish::{Bins, Changed, RepositoryEditor, ServerSigned};
use clearance_trust::repository::Publisher;
use clearance_trust::schema::Version;
use clearance_trust::signer::Signer;
use clearance_trust::{Gun, RoleName, TopRole};
use serde::Serialize;

use super::common::{RoleNameParser, TrustArgs, TrustSettings, gun, registry_ref, show};
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
pub(crate) struct SignedView {
    schema: &'static str,
    image: String,
    digest: String,
    /// The role that signed.
    pub role: String,
    /// False when the tag was signed so already: nothing was published.
    pub published: bool,
    /// The signing role's version now (none when nothing was published).
    pub version: Option<Version>,
}

impl SignedView {
    /// The view as `trust sign` prints it.
    pub(crate) fn render(&self, page: &mut Page) {
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
    let signing = Signing::load(&trust, &reference, &tag, args.role.clone()).await?;
    let gun = &signing.gun;
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
    let view = signing
        .sign(&trust, &manifest, media_type.as_deref(), &digest)
        .await?;
    show(format, &view, SignedView::render)?;
    Ok(Exit::Ok)
}

/// A tag about to be signed: its repository loaded from the pinned root
/// (only the hash bin the tag falls in), the role checked. Nothing is
/// unsealed until [`Signing::sign`]. `trust sign` and `db push` sign
/// through it.
pub(crate) struct Signing {
    /// The repository.
    pub gun: Gun,
    tag: String,
    /// The delegated role signing, or `None` for targets.
    role: Option<RoleName>,
    publisher: Publisher,
    first: RepositoryEditor,
}

impl Signing {
    /// Load `reference`'s repository to sign `tag` (into `role`, a
    /// delegated role, or top-level targets): the pinned root and the role
    /// are checked first (review 9 #3, #10), before anything about the tag.
    pub(crate) async fn load(
        trust: &TrustSettings,
        reference: &RegistryRef,
        tag: &str,
        role: Option<RoleName>,
    ) -> anyhow::Result<Signing> {
        let gun = gun(reference)?;
        // Only the hash bin this tag falls in (a 10,000-tag repository has 64).
        let tags = [tag];
        let publisher = trust.publisher(&gun)?;
        let first = publisher.load(Bins::For(&tags)).await?;
        // `--role targets` is top-level targets, as without --role.
        let role = role.filter(|r| *r != TopRole::Targets);
        if let Some(role) = &role {
            check_delegated(&first, &gun, role)?;
        }
        Ok(Signing {
            gun,
            tag: tag.to_owned(),
            role,
            publisher,
            first,
        })
    }

    /// Sign the tag as `manifest` (its bytes as the registry serves them,
    /// its media type and `digest`): nothing is published when it is
    /// signed so already. The login is checked before any key is unsealed.
    pub(crate) async fn sign(
        self,
        trust: &TrustSettings,
        manifest: &[u8],
        media_type: Option<&str>,
        digest: &Digest,
    ) -> anyhow::Result<SignedView> {
        let Signing {
            gun,
            tag,
            role,
            publisher,
            first,
        } = self;
        let tags = [tag.as_str()];
        let target = target_for_manifest(manifest, media_type);
        let before = match &role {
            Some(role) => first.delegated.get(role).and_then(|r| r.targets.get(&tag)),
            None => first.target(&tag),
        };
        let role_name = role.clone().unwrap_or(RoleName::TARGETS);
        match before {
            // The same manifest again: nothing to sign, nothing published.
            Some(old) if old.length == target.length && old.hashes == target.hashes => {
                return Ok(SignedView {
                    schema: SCHEMA,
                    image: format!("{gun}:{tag}"),
                    digest: digest.to_string(),
                    role: role_name.to_string(),
                    published: false,
                    version: None,
                });
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
                let mut signers =
                    online.signers(targets.iter().map(|t| t as &dyn Signer).collect());
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
        Ok(SignedView {
            schema: SCHEMA,
            image: format!("{gun}:{tag}"),
            digest: digest.to_string(),
            role: role_name.to_string(),
            published: true,
            version,
        })
    }
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
