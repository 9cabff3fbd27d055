//! `clearance trust init REPO`: keys for root, targets, snapshot and
//! timestamp, and the repository's first signed metadata.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::publish::{Changed, Expiries, Repository, RoleSigners};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

use super::common::{TrustArgs, gun, passphrase};
use crate::exit::Exit;
use crate::output::Page;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The image repository to protect, e.g. registry.example.com/team/app.
    pub repository: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Days until root expires.
    #[arg(long, default_value_t = Expiries::default().root_days)]
    pub root_expires_days: i64,
    /// Days until targets expire.
    #[arg(long, default_value_t = Expiries::default().targets_days)]
    pub targets_expires_days: i64,
    /// Days until snapshot expires.
    #[arg(long, default_value_t = Expiries::default().snapshot_days)]
    pub snapshot_expires_days: i64,
    /// Days until timestamp expires.
    #[arg(long, default_value_t = Expiries::default().timestamp_days)]
    pub timestamp_expires_days: i64,
}

pub fn run(args: InitArgs) -> anyhow::Result<Exit> {
    let reference = RegistryRef::parse(&args.repository)?;
    let gun = gun(&reference);
    let store = args.trust.client_store(&gun)?;
    if store.load("root")?.is_some() {
        anyhow::bail!(
            "{gun} already has trust data here; use `clearance trust rotate` to change keys"
        );
    }
    let keystore = args.trust.keystore()?;
    // Root on P-256 (what hardware tokens hold); the online roles on ed25519.
    let root = LocalSigner::generate(KeyKind::EcdsaP256)?;
    let targets = LocalSigner::generate(KeyKind::Ed25519)?;
    let snapshot = LocalSigner::generate(KeyKind::Ed25519)?;
    let timestamp = LocalSigner::generate(KeyKind::Ed25519)?;
    for (role, key) in [
        ("root", &root),
        ("targets", &targets),
        ("snapshot", &snapshot),
        ("timestamp", &timestamp),
    ] {
        let pass = passphrase(role, &key.key_id(), true)?;
        keystore
            .save(key, role, &pass)
            .with_context(|| format!("saving the {role} key"))?;
    }
    let expiries = Expiries {
        root_days: args.root_expires_days,
        targets_days: args.targets_expires_days,
        snapshot_days: args.snapshot_expires_days,
        timestamp_days: args.timestamp_expires_days,
    };
    let mut repo = Repository::create(
        [
            root.public_key(),
            targets.public_key(),
            snapshot.public_key(),
            timestamp.public_key(),
        ],
        expiries,
    );
    let signers = RoleSigners {
        root: vec![&root],
        targets: vec![&targets],
        snapshot: vec![&snapshot],
        timestamp: vec![&timestamp],
    };
    let files = repo.publish(Changed::RootAndTargets, &signers, true)?;
    args.trust.publish(&gun, &files)?;
    let root_bytes = &files
        .iter()
        .find(|(n, _)| n == "root.json")
        .context("no root.json published")?
        .1;
    store.save("root", root_bytes)?;
    let mut page = Page::default();
    page.field("Repository", &gun);
    page.field("Root key", root.key_id());
    page.field("Targets key", targets.key_id());
    page.field("Trusted root", store.path_of("root"));
    page.line("Give consumers that root.json (clearance trust verify --root FILE) to pin it.");
    page.emit()?;
    Ok(Exit::Ok)
}
