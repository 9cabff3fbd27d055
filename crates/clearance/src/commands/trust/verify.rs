//! `clearance trust verify IMAGE:TAG`: resolve the tag through TUF, fetch
//! the manifest by the signed digest, and check it. Exit 1 if not trusted.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::registry::RegistryClient;
use clearance_trust::image::{manifest_digest, media_type};
use owo_colors::{OwoColorize as _, Stream};
use serde::Serialize;

use super::common::{TrustArgs, gun, registry_ref};
use crate::cli::{Format, RegistryArgs};
use crate::exit::Exit;
use crate::output::Page;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image to verify, by tag: [docker://]HOST/REPO:TAG.
    pub image: String,
    /// A root.json to trust for this repository (from its publisher). Needed
    /// the first time, unless --trust-on-first-use.
    #[arg(long)]
    pub root: Option<std::path::PathBuf>,
    /// Trust whatever root the server offers the first time (as Notary did).
    #[arg(long)]
    pub trust_on_first_use: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Serialize)]
struct Verdict {
    image: String,
    trusted: bool,
    digest: Option<String>,
    media_type: Option<String>,
    signed_by: Option<String>,
    targets_version: Option<clearance_trust::schema::Version>,
    expires: Option<String>,
    reason: Option<String>,
}

pub async fn run(args: VerifyArgs, format: Format) -> anyhow::Result<Exit> {
    let reference = registry_ref(&args.image)?;
    let tag = reference
        .tag()
        .context("verify a tag: IMAGE:TAG")?
        .to_owned();
    let gun = gun(&reference);
    let store = args.trust.client_store(&gun)?;
    if store.load("root")?.is_none() {
        let root = match (&args.root, args.trust_on_first_use) {
            (Some(path), _) => {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
            }
            (None, true) => {
                let url = format!("{}1.root.json", args.trust.metadata_url(&gun));
                fetch_once(&args.trust, &url, args.registry.ca_file.as_deref()).await?
            }
            (None, false) => anyhow::bail!(
                "no trusted root for {gun} yet: pass --root ROOT.json from its publisher, or --trust-on-first-use"
            ),
        };
        store.save("root", &root)?;
    }
    let mut updater = args
        .trust
        .updater(&gun, store, args.registry.ca_file.as_deref())?;
    let mut verdict = Verdict {
        image: format!("{gun}:{tag}"),
        trusted: false,
        digest: None,
        media_type: None,
        signed_by: None,
        targets_version: None,
        expires: None,
        reason: None,
    };
    let outcome: anyhow::Result<()> = async {
        updater.refresh().await.context("updating trust metadata")?;
        let found = updater
            .find_target(&tag)
            .await?
            .with_context(|| format!("{gun}:{tag} is not signed"))?;
        let target = found.target.clone();
        let digest = manifest_digest(&target).context("the signed target has no sha256")?;
        let client = RegistryClient::new(&args.registry.settings()?.registry)?;
        let (bytes, _, _) = client
            .get_manifest(&reference, &digest)
            .await
            .with_context(|| format!("fetching the signed manifest {digest}"))?;
        if bytes.len() as u64 != target.length {
            anyhow::bail!(
                "manifest {digest} is {} bytes, signed as {}",
                bytes.len(),
                target.length
            );
        }
        let targets = &updater
            .trusted()
            .targets("targets", "root")
            .context("targets not loaded")?
            .signed;
        verdict.targets_version = Some(targets.common.version);
        verdict.expires = Some(found.expires.to_string());
        verdict.signed_by = Some(found.role.clone());
        verdict.media_type = media_type(&target).map(str::to_owned);
        verdict.digest = Some(digest);
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => verdict.trusted = true,
        Err(e) => verdict.reason = Some(format!("{e:#}")),
    }
    let mut page = Page::default();
    match format {
        Format::Json => page.line(serde_json::to_string_pretty(&verdict)?),
        Format::Table => render(&verdict, &mut page),
    }
    page.emit()?;
    Ok(if verdict.trusted {
        Exit::Ok
    } else {
        Exit::Denied
    })
}

fn render(v: &Verdict, page: &mut Page) {
    if v.trusted {
        let mark = "✔ trusted"
            .if_supports_color(Stream::Stdout, |t| t.green().bold().to_string())
            .to_string();
        page.line(format!("{mark} {}", v.image));
        page.field("Digest", v.digest.as_deref().unwrap_or_default());
        page.field("Signed by", v.signed_by.as_deref().unwrap_or_default());
        page.field(
            "Version",
            v.targets_version
                .map(|v| format!("targets v{v}"))
                .unwrap_or_default(),
        );
        page.field("Expires", v.expires.as_deref().unwrap_or_default());
    } else {
        let mark = "✘ not trusted"
            .if_supports_color(Stream::Stdout, |t| t.red().bold().to_string())
            .to_string();
        page.line(format!("{mark} {}", v.image));
        page.field("Reason", v.reason.as_deref().unwrap_or_default());
    }
}

async fn fetch_once(
    trust: &super::common::TrustArgs,
    url: &str,
    extra_ca: Option<&std::path::Path>,
) -> anyhow::Result<Vec<u8>> {
    use clearance_trust::client::Transport as _;
    trust
        .transport(extra_ca)?
        .fetch(url, 512_000)
        .await?
        .with_context(|| format!("{url} not found"))
}
