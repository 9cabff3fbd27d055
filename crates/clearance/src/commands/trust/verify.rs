//! `clearance trust verify IMAGE:TAG`: resolve the tag through TUF, fetch
//! the manifest by the signed digest, and check it. Exit 1 if not trusted.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::registry::{RegistryClient, RegistryError};
use clearance_trust::client::{
    DirStore, FetchError, HttpTransport, StagedStore, TrustedSet, UpdateError, Updater,
    UpdaterSettings, root_descends,
};
use clearance_trust::image::{manifest_digest, media_type};
use clearance_trust::metadata::Signed;
use clearance_trust::schema::{Root, TargetFile};
use clearance_trust::time::UtcTime;
use clearance_trust::{Gun, RoleName, TopRole};
use serde::Serialize;

use super::common::{TrustArgs, TrustSettings, gun, registry_ref, show};
use super::failure::{fetch_error, no_trust_data, vanished};
use crate::cli::{Format, RegistryArgs};
use crate::exit::Exit;
use crate::output::{Page, bad, good, text};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image to verify, by tag: [docker://]HOST/REPO:TAG.
    pub image: String,
    #[command(flatten)]
    pub roots: RootArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Which root a consumer starts from: shared by `trust verify` and
/// `db pull`.
#[derive(Debug, Clone, Args)]
pub struct RootArgs {
    /// A root.json to trust for this repository (from its publisher). Needed
    /// the first time, unless --trust-on-first-use; pinned only once the
    /// repository verifies from it. Given again later, it must be the pinned
    /// root or a version of its chain (else the command fails; see --repin).
    #[arg(long)]
    pub root: Option<std::path::PathBuf>,
    /// Trust whatever root the server offers the first time (as Notary did).
    #[arg(long)]
    pub trust_on_first_use: bool,
    /// Replace the pinned root with --root, once the repository verifies
    /// from it (the old trust data is kept until then).
    #[arg(long, requires = "root")]
    pub repin: bool,
}

/// The verdict; its JSON shape (`clearance.trust.verify/v1`) is in
/// `docs/trust-verify-json.md`.
#[derive(Debug, Serialize)]
struct Verdict {
    schema: &'static str,
    image: String,
    trusted: bool,
    digest: Option<String>,
    media_type: Option<String>,
    signed_by: Option<String>,
    /// The version of the role that signed the tag (`signed_by`).
    signed_by_version: Option<clearance_trust::schema::Version>,
    targets_version: Option<clearance_trust::schema::Version>,
    expires: Option<String>,
    /// What the registry's tag points at now (a warning when it is not
    /// `digest`: deploy by digest).
    registry_digest: Option<String>,
    reason: Option<String>,
}

/// A tag as its repository's trust data signs it.
#[derive(Debug, Clone)]
pub(crate) struct SignedTag {
    /// The signed manifest digest (`sha256:…`).
    pub digest: String,
    /// The signed target: length, hashes, custom data.
    pub target: TargetFile,
    /// The role that signed it.
    pub role: RoleName,
    /// That role's version.
    pub role_version: Option<clearance_trust::schema::Version>,
    /// Top-level targets' version.
    pub targets_version: Option<clearance_trust::schema::Version>,
    /// When the signing role's signature expires.
    pub expires: UtcTime,
    /// Every role that lists the tag, with the manifest digest it signs
    /// (in search order; `role` is the first that decides the tag).
    pub signers: Vec<(RoleName, String)>,
}

/// What a repository's trust data says of a tag.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Signed, as this.
    Signed(Box<SignedTag>),
    /// Not trusted (exit 1): not signed, no trust data, or trust data that
    /// is tampered with, rolled back or expired; why.
    NotTrusted(String),
}

pub async fn run(args: VerifyArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.registry.timeout)?;
    let reference = registry_ref(&args.image)?;
    let tag = match reference.tag() {
        Some(tag) => tag.to_owned(),
        None if reference.digest().is_some() => anyhow::bail!(
            "{} names a digest but no tag: trust data signs tags, so give IMAGE:TAG (or IMAGE:TAG@sha256:… to check that the tag is signed as that digest)",
            args.image
        ),
        None => anyhow::bail!("verify a tag: IMAGE:TAG"),
    };
    let gun = gun(&reference)?;
    let mut verdict = Verdict {
        schema: "clearance.trust.verify/v1",
        image: format!("{gun}:{tag}"),
        trusted: false,
        digest: None,
        media_type: None,
        signed_by: None,
        signed_by_version: None,
        targets_version: None,
        expires: None,
        registry_digest: None,
        reason: None,
    };
    match look_up(&args.roots, &trust, &gun, &tag).await? {
        Lookup::NotTrusted(reason) => verdict.reason = Some(reason),
        Lookup::Signed(signed) => {
            match check(&args, &reference, &tag, &gun, &signed, &mut verdict).await {
                Ok(()) => {
                    verdict.trusted = true;
                    verdict.targets_version = signed.targets_version;
                    verdict.signed_by_version = signed.role_version;
                    verdict.expires = Some(signed.expires.to_string());
                    verdict.signed_by = Some(signed.role.to_string());
                    verdict.media_type = media_type(&signed.target).map(str::to_owned);
                    verdict.digest = Some(signed.digest.clone());
                }
                // Exit 2, not "not trusted": the registry could not be
                // asked, so nothing was learnt about the image (newcomer 8).
                Err(e) if unanswered(&e) => return Err(e),
                Err(e) => verdict.reason = Some(format!("{e:#}")),
            }
        }
    }
    show(format, &verdict, render)?;
    Ok(if verdict.trusted {
        Exit::Ok
    } else {
        Exit::Denied
    })
}

/// Pin the root `roots` says (when none is pinned, or to re-pin), update
/// `gun`'s trust data from it and find `tag`. An error is a usage error or
/// a trust server that could not be asked (exit 2); an answer that the
/// tag is not trusted is [`Lookup::NotTrusted`] (exit 1).
pub(crate) async fn look_up(
    roots: &RootArgs,
    trust: &TrustSettings,
    gun: &Gun,
    tag: &str,
) -> anyhow::Result<Lookup> {
    let store = trust.client_store(gun)?;
    // A pin that fails leaves no empty directory behind (finding 14 #14).
    let _tidy = RemoveIfEmpty(
        std::path::Path::new(&store.path_of(&RoleName::ROOT))
            .parent()
            .map(std::path::Path::to_path_buf),
    );
    // A --root that cannot be used, or none where one is needed, is a
    // usage error (exit 2); a server with no trust data is an answer.
    let mut pinned = false;
    let outcome = match pin(roots, trust, gun, &store).await {
        Ok(staged) => {
            pinned = staged.is_none();
            // The trust server's CA is --trust-ca-file's alone; --ca-file is
            // the registry's (it once overrode the trust server's CA).
            let updater = trust.updater(
                gun,
                staged
                    .as_ref()
                    .map_or_else(|| store.clone(), StagedStore::store),
            )?;
            find(roots, tag, gun, updater, staged).await
        }
        Err(e) if no_trust_data(&e) => Err(e),
        // The server answered with a first root that is no root: an answer
        // about the repository (exit 1), as a bad answer once pinned is.
        Err(e) if e.downcast_ref::<BadFirstRoot>().is_some() => Err(e),
        Err(e) => return Err(e),
    };
    match outcome {
        Ok(signed) => Ok(Lookup::Signed(Box::new(signed))),
        // Exit 2, not "not trusted": the server could not be asked, so
        // nothing was learnt about the image (newcomer 8).
        Err(e) if unanswered(&e) => Err(e),
        Err(e) if no_trust_data(&e) && pinned => {
            Ok(Lookup::NotTrusted(vanished(trust, gun).to_string()))
        }
        Err(e) if no_trust_data(&e) => Ok(Lookup::NotTrusted(format!(
            "no trust data for {gun} on {}: nothing was ever signed for it there",
            trust.server
        ))),
        Err(e) => Ok(Lookup::NotTrusted(format!("{e:#}"))),
    }
}

/// Update from the pinned (or staged) root and find the tag; pin a staged
/// root once the repository verified from it.
async fn find(
    roots: &RootArgs,
    tag: &str,
    gun: &Gun,
    mut updater: Updater<HttpTransport>,
    staged: Option<StagedStore>,
) -> anyhow::Result<SignedTag> {
    let mut refreshed = false;
    let result = async {
        updater.refresh().await.context("updating trust metadata")?;
        refreshed = true;
        let found = updater
            .find_target(tag)
            .await?
            .with_context(|| format!("{gun}:{tag} is not signed"))?;
        let digest = manifest_digest(&found.target).context("the signed target has no sha256")?;
        let targets_version = updater
            .trusted()
            .targets(&RoleName::TARGETS, &RoleName::ROOT)
            .context("targets not loaded")?
            .signed
            .common
            .version;
        let role_version = updater
            .trusted()
            .targets(&found.role, &found.delegator)
            .map(|t| t.signed.common.version);
        // Each role that lists the tag, for a policy that asks which roles
        // sign the digest (targets/releases for production).
        let signers = updater
            .find_signers(tag)
            .await?
            .into_iter()
            .filter_map(|f| manifest_digest(&f.target).map(|d| (f.role, d)))
            .collect();
        anyhow::Ok(SignedTag {
            signers,
            digest,
            target: found.target,
            role: found.role,
            role_version,
            targets_version: Some(targets_version),
            expires: found.expires,
        })
    }
    .await;
    // The repository verified from the root given: pin it now, whether or
    // not the tag is signed (B-4); a root that did not verify is not kept.
    let root = updater.trusted().root().signed.clone();
    drop(updater);
    if let Some(staged) = staged
        && refreshed
    {
        staged.commit()?;
        // Trusted on first use: the keys, so that they can be checked with
        // the publisher (newcomer 15).
        if roots.root.is_none() {
            let keys = root
                .roles
                .get(&TopRole::Root)
                .map(|r| r.keyids.join(", "))
                .unwrap_or_default();
            crate::output::warning(format!(
                "trusted on first use: pinned root v{} of {gun}, root key {keys}; check it with the publisher (their `clearance trust inspect {gun}` shows it)",
                root.common.version
            ));
        }
    }
    result
}

/// Fetch the signed manifest by its digest and check it; say where the
/// registry's tag points now.
async fn check(
    args: &VerifyArgs,
    reference: &clearance_oci::RegistryRef,
    tag: &str,
    gun: &Gun,
    signed: &SignedTag,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let digest = &signed.digest;
    // `IMAGE:TAG@sha256:…` asks whether that image is the one signed
    // under the tag: a different digest is not trusted, never ignored.
    if let Some(asked) = reference.digest()
        && asked.to_string() != *digest
    {
        anyhow::bail!(
            "{gun}:{tag} is signed as {digest}, not as the {asked} you named: that image was not signed under this tag"
        );
    }
    let client = RegistryClient::new(&args.registry.settings()?.registry)?;
    signed_manifest(&client, reference, gun, tag, signed)
        .await
        .inspect_err(|e| {
            // The one failure whose verdict names the digest: it is gone.
            if e.downcast_ref::<SignedManifestGone>().is_some() {
                verdict.digest = Some(digest.clone());
            }
        })?;
    // What runs is what the tag points at when pulled: say when that is
    // no longer what was signed (newcomer 12).
    match client.get_manifest(reference, tag).await {
        Ok((_, now, _)) => {
            if now.to_string() != *digest {
                crate::output::warning(format!(
                    "registry tag {gun}:{tag} now points to {now}, not the signed {digest}; run by digest: {gun}@{digest}"
                ));
            }
            verdict.registry_digest = Some(now.to_string());
        }
        Err(e) => crate::output::warning(format!(
            "could not check where the registry's {gun}:{tag} points now ({e}); run by digest: {gun}@{digest}"
        )),
    }
    Ok(())
}

/// The manifest `signed` names, fetched by its digest (checked) and held
/// to the signed length; returns its bytes and `Content-Type`. A manifest
/// the registry no longer has is an answer (not trusted); a registry that
/// cannot be reached is not ([`RegistryUnreachable`]).
pub(crate) async fn signed_manifest(
    client: &RegistryClient,
    reference: &clearance_oci::RegistryRef,
    gun: &Gun,
    tag: &str,
    signed: &SignedTag,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let digest = &signed.digest;
    let host = reference.registry();
    let (bytes, _, content_type) = match client.get_manifest(reference, digest).await {
        Ok(got) => got,
        // An answer (exit 1): the image signed under the tag is gone.
        Err(RegistryError::Http { status: 404, .. }) => {
            return Err(SignedManifestGone {
                digest: digest.clone(),
                image: format!("{gun}:{tag}"),
                host: host.to_owned(),
            }
            .into());
        }
        // No answer (exit 2), said once, with what to check.
        Err(RegistryError::Transport { message, .. }) => {
            return Err(RegistryUnreachable {
                host: host.to_owned(),
                digest: digest.clone(),
                cause: message.rsplit(": ").next().unwrap_or_default().to_owned(),
            }
            .into());
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("fetching the signed manifest {digest}"))
            );
        }
    };
    if bytes.len() as u64 != signed.target.length {
        anyhow::bail!(
            "manifest {digest} is {} bytes, signed as {}",
            bytes.len(),
            signed.target.length
        );
    }
    Ok((bytes, content_type))
}

/// The registry answered 404 for the signed manifest: an answer (not
/// trusted), the image signed under the tag was deleted.
#[derive(Debug)]
pub(crate) struct SignedManifestGone {
    digest: String,
    image: String,
    host: String,
}

impl std::fmt::Display for SignedManifestGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the signed manifest {} of {} is not in the registry {} (HTTP 404): the image signed under the tag was deleted there; push it again, or sign what the tag points at now",
            self.digest, self.image, self.host
        )
    }
}

impl std::error::Error for SignedManifestGone {}

/// The registry could not be asked for the signed manifest (no connection).
#[derive(Debug)]
struct RegistryUnreachable {
    host: String,
    digest: String,
    cause: String,
}

impl std::fmt::Display for RegistryUnreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot reach the registry {host} to fetch the signed manifest {} ({}): check that the registry is running and that {host} is its address; nothing was verified",
            self.digest,
            self.cause,
            host = self.host
        )
    }
}

impl std::error::Error for RegistryUnreachable {}

/// Whether an error means the trust server or the registry could not be
/// asked (no connection, TLS, a login refused, an HTTP error), rather than
/// that what they hold is not trusted.
pub(crate) fn unanswered(e: &anyhow::Error) -> bool {
    if fetch_error(e).is_some_and(FetchError::is_unanswered)
        || e.downcast_ref::<RegistryUnreachable>().is_some()
    {
        return true;
    }
    e.chain().any(|cause| {
        cause
            .downcast_ref::<RegistryError>()
            .is_some_and(|r| match r {
                RegistryError::Http { status, .. } => *status >= 500 || *status == 401,
                RegistryError::Verify(_) | RegistryError::TooLarge { .. } => false,
                _ => true,
            })
    })
}

fn render(v: &Verdict, page: &mut Page) {
    if v.trusted {
        page.line(text!(good("✔ trusted"), " ", &v.image));
        page.field("Digest", v.digest.as_deref().unwrap_or_default());
        // Deploy by digest: the tag may move after this check.
        if let (Some((repository, _)), Some(digest)) = (v.image.rsplit_once(':'), &v.digest) {
            page.field("Run", format!("{repository}@{digest}"));
        }
        page.field("Signed by", v.signed_by.as_deref().unwrap_or_default());
        // The signing role's version; a delegation's, then targets'.
        let version = match (
            v.signed_by.as_deref(),
            v.signed_by_version,
            v.targets_version,
        ) {
            (Some(role), Some(own), Some(targets)) if role != RoleName::TARGETS.as_str() => {
                format!("{role} v{own} (targets v{targets})")
            }
            (_, _, Some(targets)) => format!("targets v{targets}"),
            _ => String::new(),
        };
        page.field("Version", version);
        page.field("Expires", v.expires.as_deref().unwrap_or_default());
    } else {
        page.line(text!(bad("✘ not trusted"), " ", &v.image));
        page.field("Reason", v.reason.as_deref().unwrap_or_default());
    }
}

/// The root to start from, staged when it is not pinned yet (or is being
/// re-pinned): `None` means the pinned root is used. A `--root` file is
/// always read; one naming other root keys than the pinned root is an
/// error unless `--repin` (review B-4).
async fn pin(
    args: &RootArgs,
    trust: &TrustSettings,
    gun: &Gun,
    store: &DirStore,
) -> anyhow::Result<Option<StagedStore>> {
    let given = match &args.root {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading --root {}", path.display()))?;
            // Named when it is no root (finding 14 #5), not as a staged copy.
            TrustedSet::new(&bytes, UtcTime::now()).with_context(|| {
                format!(
                    "--root {} is not a root.json that verifies by itself: give the root.json of {gun} from its publisher",
                    path.display()
                )
            })?;
            Some(bytes)
        }
        None => None,
    };
    let root = match (store.load(&RoleName::ROOT)?, given) {
        (Some(pinned), Some(given)) if !args.repin => {
            let path = args.root.as_deref().unwrap_or(std::path::Path::new(""));
            check_same_root(trust, gun, &pinned, &given, path, store).await?;
            return Ok(None);
        }
        (Some(_), None) => return Ok(None),
        (_, Some(given)) => given,
        (None, None) if args.trust_on_first_use => {
            let url = format!(
                "{}{}",
                trust.metadata_url(gun),
                RoleName::ROOT.versioned_file_name(clearance_trust::schema::Version::FIRST)
            );
            let root = fetch_once(trust, &url)
                .await?
                .ok_or_else(|| UpdateError::NoTrustData { url: url.clone() })?;
            if let Err(e) = TrustedSet::new(&root, UtcTime::now()) {
                return Err(BadFirstRoot { url, why: e }.into());
            }
            root
        }
        (None, None) => anyhow::bail!(
            "no trusted root for {gun} yet: pass --root ROOT.json from its publisher, or --trust-on-first-use"
        ),
    };
    Ok(Some(StagedStore::new(store, &root)?))
}

/// Removes a directory when dropped, if it is empty (`remove_dir` refuses
/// any other).
struct RemoveIfEmpty(Option<std::path::PathBuf>);

impl Drop for RemoveIfEmpty {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The first root a trust server offered (trust on first use) is no root
/// that verifies by itself.
#[derive(Debug)]
struct BadFirstRoot {
    url: String,
    why: UpdateError,
}

impl std::fmt::Display for BadFirstRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the trust server's first root {} is not a root.json that verifies by itself ({}); nothing was pinned: check --server (CLEARANCE_TRUST_SERVER) names a trust server, or pin the root from its publisher with --root ROOT.json",
            self.url, self.why
        )
    }
}

impl std::error::Error for BadFirstRoot {}

/// A `--root` given while a root is pinned must be that root, or another
/// version of its chain (the root the consumer first pinned, after the
/// publisher rotated root keys): checked through the repository's root
/// chain. Anything else is an error naming both roots' keys.
async fn check_same_root(
    trust: &TrustSettings,
    gun: &Gun,
    pinned: &[u8],
    given: &[u8],
    path: &std::path::Path,
    store: &DirStore,
) -> anyhow::Result<()> {
    let parse = |bytes: &[u8], what: &str| -> anyhow::Result<Signed<Root>> {
        Signed::<Root>::parse(bytes, &RoleName::ROOT)
            .with_context(|| format!("{what} is not a root.json"))
    };
    // A pinned root that does not verify was altered here: the given one
    // cannot be compared with it (finding 14 #5).
    if let Err(e) = TrustedSet::new(pinned, UtcTime::now()) {
        anyhow::bail!(
            "the root pinned for {gun} ({}) does not verify ({e}): it was altered or damaged after it was pinned. If --root {} is the genuine root from its publisher, pin it again: add --repin",
            store.path_of(&RoleName::ROOT),
            path.display()
        );
    }
    let pinned_root = parse(pinned, &store.path_of(&RoleName::ROOT))?;
    let given_root = parse(given, &format!("--root {}", path.display()))?;
    if pinned_root.canonical == given_root.canonical {
        return Ok(());
    }
    let (older, newer) = if given_root.version() <= pinned_root.version() {
        (given, pinned)
    } else {
        (pinned, given)
    };
    let transport = trust.transport()?;
    let url = trust.metadata_url(gun);
    let linked = root_descends(&transport, &url, older, newer, &UpdaterSettings::default())
        .await
        .with_context(|| {
            format!(
                "checking --root {} against the root pinned for {gun}",
                path.display()
            )
        })?;
    if linked {
        return Ok(());
    }
    let keys = |root: &Signed<Root>| {
        root.signed
            .roles
            .get(&TopRole::Root)
            .map(|r| r.keyids.join(", "))
            .unwrap_or_default()
    };
    anyhow::bail!(
        "--root {} (root v{}, root key {}) is not the root pinned for {gun} (root v{} in {}, root key {}) nor a version of its chain; nothing was changed. \
         If --root is the root to trust, re-pin: add --repin (the new root is pinned once the repository verifies from it)",
        path.display(),
        given_root.version(),
        keys(&given_root),
        pinned_root.version(),
        store.path_of(&RoleName::ROOT),
        keys(&pinned_root),
    )
}

/// The first root, as the server offers it (`None`: it has none).
async fn fetch_once(trust: &TrustSettings, url: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use clearance_trust::client::Transport as _;
    Ok(trust.transport()?.fetch(url, 512_000).await?)
}
