//! `clearance trust init REPO`: keys for root, targets, snapshot and
//! timestamp, and the repository's first signed metadata.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::pkcs11::IfMissing;
use clearance_trust::publish::{Changed, Expiries, Repository, RoleSigners};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

use super::common::{Held, TrustArgs, gun, passphrase, token_key};
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
    /// Keep the root key on a hardware token: a pkcs11: URI such as
    /// "pkcs11:token=YubiKey PIV #123;object=root". The key is generated on
    /// the token if it has none by that name; it never leaves the token.
    #[arg(long, value_name = "PKCS11_URI")]
    pub root_key: Option<String>,
    /// The PKCS#11 module (else the URI's module-path).
    #[arg(long, env = "CLEARANCE_PKCS11_MODULE")]
    pub pkcs11_module: Option<std::path::PathBuf>,
}

fn root_key(args: &InitArgs) -> anyhow::Result<Held> {
    match &args.root_key {
        Some(uri) => Ok(Held::Token(token_key(
            uri,
            args.pkcs11_module.as_ref(),
            IfMissing::Generate,
        )?)),
        None => Ok(Held::Local(Box::new(LocalSigner::generate(
            KeyKind::EcdsaP256,
        )?))),
    }
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
    let root_key = root_key(&args)?;
    let root = root_key.signer();
    let targets = LocalSigner::generate(KeyKind::Ed25519)?;
    let snapshot = LocalSigner::generate(KeyKind::Ed25519)?;
    let timestamp = LocalSigner::generate(KeyKind::Ed25519)?;
    let mut local = vec![
        ("targets", &targets),
        ("snapshot", &snapshot),
        ("timestamp", &timestamp),
    ];
    if let Held::Local(root) = &root_key {
        local.insert(0, ("root", root.as_ref()));
    }
    for (role, key) in local {
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
        root: vec![root],
        targets: vec![&targets],
        snapshot: vec![&snapshot],
        timestamp: vec![&timestamp],
        ..Default::default()
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
    match &root_key {
        Held::Token(hsm) => page.field(
            "Root key",
            format!("{} ({hsm:?}, not extractable)", root.key_id()),
        ),
        Held::Local(_) => page.field(
            "Root key",
            format!("{} (sealed in {})", root.key_id(), keystore.dir().display()),
        ),
    }
    page.field("Targets key", targets.key_id());
    page.field("Trusted root", store.path_of("root"));
    page.line("Give consumers that root.json (clearance trust verify --root FILE) to pin it.");
    page.emit()?;
    Ok(Exit::Ok)
}
