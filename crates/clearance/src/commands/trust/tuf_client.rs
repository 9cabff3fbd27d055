//! The client-under-test CLI of the TUF conformance suite
//! (tuf-conformance `CLIENT-CLI.md`): exit 0 on success, 1 on any failure.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_trust::RoleName;
use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings};
use clearance_trust::schema::TargetName;

use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct TufClientArgs {
    /// Where the client keeps the metadata it trusts.
    #[arg(long)]
    metadata_dir: PathBuf,
    /// The repository's metadata URL.
    #[arg(long)]
    metadata_url: Option<String>,
    /// A target to download (repeatable, processed in order).
    #[arg(long = "target-name")]
    target_names: Vec<String>,
    /// The repository's targets URL.
    #[arg(long)]
    target_base_url: Option<String>,
    /// Where downloaded targets go.
    #[arg(long)]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Trust this root.json (copied, not checked, as the protocol says).
    Init { trusted_root: PathBuf },
    /// Update metadata by the TUF client workflow.
    Refresh,
    /// Refresh, then download and verify each --target-name.
    Download,
}

pub async fn run(args: TufClientArgs) -> anyhow::Result<Exit> {
    match execute(args).await {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => {
            eprintln!("tuf client: {e:#}");
            Ok(Exit::Denied)
        }
    }
}

async fn execute(args: TufClientArgs) -> anyhow::Result<()> {
    let store = DirStore::new(&args.metadata_dir)
        .with_context(|| format!("creating {}", args.metadata_dir.display()))?;
    if let Action::Init { trusted_root } = &args.action {
        let bytes = std::fs::read(trusted_root)
            .with_context(|| format!("reading {}", trusted_root.display()))?;
        store.save(&RoleName::ROOT, &bytes)?;
        return Ok(());
    }
    let url = args
        .metadata_url
        .as_deref()
        .context("--metadata-url is required")?;
    let transport = HttpTransport::new(Duration::from_secs(15), None)?;
    let mut updater = Updater::new(store, transport, url, UpdaterSettings::default())?;
    updater.refresh().await?;
    if let Action::Download = args.action {
        let dir = args
            .target_dir
            .as_deref()
            .context("--target-dir is required")?;
        let base = args
            .target_base_url
            .as_deref()
            .context("--target-base-url is required")?;
        for name in &args.target_names {
            let target: TargetName = name.parse()?;
            let info = updater
                .target_info(name)
                .await?
                .with_context(|| format!("target {name:?} is not in the repository"))?;
            updater.download_target(&target, &info, dir, base).await?;
        }
    }
    Ok(())
}
