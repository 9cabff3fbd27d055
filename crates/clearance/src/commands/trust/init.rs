//! `clearance trust init REPO`: keys for root, targets, snapshot and
//! timestamp, and the repository's first signed metadata.

use anyhow::Context as _;
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_trust::pkcs11::IfMissing;
use clearance_trust::publish::{Changed, Days, Expiries, Repository, RoleSigners, ServerSigned};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

use clearance_trust::keystore::Keystore;
use clearance_trust::repository::{Publisher, RepositoryStore as _};
use clearance_trust::{Gun, RoleName, TopRole};

use super::common::{TrustArgs, gun};
use super::held::{Held, root_key_label, token_key};
use super::passphrase::new_passphrase;
use crate::exit::Exit;
use crate::output::Page;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The image repository to protect, e.g. registry.example.com/team/app.
    pub repository: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Days until root expires (1 to 36500).
    #[arg(long, default_value_t = Expiries::default().root_days)]
    pub root_expires_days: Days,
    /// Days until targets expire (1 to 36500).
    #[arg(long, default_value_t = Expiries::default().targets_days)]
    pub targets_expires_days: Days,
    /// Days until snapshot expires (1 to 36500).
    #[arg(long, default_value_t = Expiries::default().snapshot_days)]
    pub snapshot_expires_days: Days,
    /// Days until timestamp expires (1 to 36500).
    #[arg(long, default_value_t = Expiries::default().timestamp_days)]
    pub timestamp_expires_days: Days,
    /// Keep the root key on a hardware token: a pkcs11: URI such as
    /// "pkcs11:token=clearance" (the key labelled for this repository) or
    /// "pkcs11:token=YubiKey PIV #123;object=LABEL". The key is generated on
    /// the token if it has none by that name; it never leaves the token.
    #[arg(long, value_name = "PKCS11_URI")]
    pub root_key: Option<String>,
    /// The PKCS#11 module (else the URI's module-path).
    #[arg(long, env = "CLEARANCE_PKCS11_MODULE")]
    pub pkcs11_module: Option<std::path::PathBuf>,
    /// Hand snapshot to the trust service too (its key made and kept there),
    /// so publishers need only the targets key. Timestamp is always the
    /// service's when publishing to one.
    #[arg(long)]
    pub server_snapshot: bool,
}

fn root_key(args: &InitArgs, gun: &Gun) -> anyhow::Result<Held> {
    match &args.root_key {
        Some(uri) => Ok(Held::Token(Box::new(token_key(
            uri,
            args.pkcs11_module.as_ref(),
            IfMissing::Generate,
            &root_key_label(gun, None),
        )?))),
        None => Ok(Held::Local(Box::new(LocalSigner::generate(
            KeyKind::EcdsaP256,
        )?))),
    }
}

pub async fn run(args: InitArgs) -> anyhow::Result<Exit> {
    let reference = RegistryRef::parse(&args.repository)?;
    let gun = gun(&reference)?;
    let publisher = args.trust.publisher(&gun)?;
    let store = publisher.pinned();
    if store.load(&RoleName::ROOT)?.is_some() {
        anyhow::bail!(
            "{gun} is already initialised: its root is pinned here ({}); sign with `clearance trust sign`, change keys with `clearance trust rotate`",
            store.path_of(&RoleName::ROOT)
        );
    }
    if args.server_snapshot && publisher.store().service().is_none() {
        anyhow::bail!(
            "--server-snapshot needs a trust service as --server, not a file:// directory"
        );
    }
    // Before any key is made: a repository someone else initialised is
    // joined by pinning its root, not by making another (newcomer 9).
    if publisher.store().exists(&gun).await? {
        anyhow::bail!(
            "{gun} is already initialised on {}; to sign as a delegate or a second publisher, pin its root with `clearance trust verify --root ROOT.json {gun}:TAG` (ROOT.json from its owner), then `clearance trust sign {gun}:TAG --role ROLE`",
            args.trust.server
        );
    }
    let keystore = args.trust.keystore()?;
    let mut saved = Vec::new();
    let result = initialise(&args, &publisher, &keystore, &mut saved).await;
    if result.is_err() {
        // Nothing was published: the keys made for it go too.
        for keyid in &saved {
            if let Err(e) = keystore.remove(keyid) {
                crate::output::warning(format!("removing the unused key {keyid}: {e}"));
            }
        }
    }
    result
}

/// Make the keys (their ids pushed to `saved` as they are sealed), sign
/// and publish the first metadata, and pin its root.
async fn initialise(
    args: &InitArgs,
    publisher: &Publisher,
    keystore: &Keystore,
    saved: &mut Vec<String>,
) -> anyhow::Result<Exit> {
    let (gun, store) = (publisher.gun(), publisher.pinned());
    // Root on P-256 (what hardware tokens hold); the online roles on ed25519.
    let root_key = root_key(args, gun)?;
    let root = root_key.signer();
    let targets = LocalSigner::generate(KeyKind::Ed25519)?;
    let service = publisher.store().service();
    // The key the trust service holds for `role`, made now.
    let server_key = |role: TopRole| async move {
        let url = publisher.store().metadata_url(gun);
        match service {
            Some(service) => service
                .server_key(gun, role)
                .await
                .with_context(|| format!("asking {url} for its {role} key")),
            None => anyhow::bail!("{url} is a directory: it holds no {role} key"),
        }
    };
    let (snapshot, server_snapshot) = if args.server_snapshot {
        (None, Some(server_key(TopRole::Snapshot).await?))
    } else {
        (Some(LocalSigner::generate(KeyKind::Ed25519)?), None)
    };
    let (timestamp, server_timestamp) = if service.is_some() {
        (None, Some(server_key(TopRole::Timestamp).await?))
    } else {
        (Some(LocalSigner::generate(KeyKind::Ed25519)?), None)
    };
    let mut local = vec![(TopRole::Targets, &targets)];
    local.extend(snapshot.iter().map(|k| (TopRole::Snapshot, k)));
    local.extend(timestamp.iter().map(|k| (TopRole::Timestamp, k)));
    if let Held::Local(root) = &root_key {
        local.insert(0, (TopRole::Root, root.as_ref()));
    }
    // Every passphrase first, then the keys are sealed.
    let mut passes = Vec::new();
    for (role, key) in &local {
        passes.push(new_passphrase(role.name(), &key.key_id())?);
    }
    for ((role, key), pass) in local.iter().zip(&passes) {
        let keyid = keystore
            .save(key, role.name(), pass)
            .with_context(|| format!("saving the {role} key"))?;
        saved.push(keyid);
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
            snapshot
                .as_ref()
                .map(|k| k.public_key())
                .or(server_snapshot.as_ref())
                .context("no snapshot key")?,
            timestamp
                .as_ref()
                .map(|k| k.public_key())
                .or(server_timestamp.as_ref())
                .context("no timestamp key")?,
        ],
        expiries,
    );
    // Root names its repository, so nothing it signs passes for another's.
    repo.name_repository(gun);
    let signers = RoleSigners {
        root: vec![root],
        targets: vec![&targets],
        snapshot: snapshot.iter().map(|k| k as &dyn Signer).collect(),
        timestamp: timestamp.iter().map(|k| k as &dyn Signer).collect(),
        server: match (server_snapshot.is_some(), server_timestamp.is_some()) {
            (true, _) => ServerSigned::SnapshotAndTimestamp,
            (false, true) => ServerSigned::Timestamp,
            (false, false) => ServerSigned::Neither,
        },
        ..Default::default()
    };
    let files = repo.publish(Changed::RootAndTargets, &signers, true)?;
    publisher.publish_once(&files).await?;
    let root_bytes = &files
        .iter()
        .find(|f| f.role == TopRole::Root)
        .context("no root.json published")?
        .bytes;
    store.save(&RoleName::ROOT, root_bytes)?;
    let mut page = Page::default();
    page.field("Repository", gun.as_str());
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
    page.field("Trusted root", store.path_of(&RoleName::ROOT));
    page.line("Give consumers that root.json (clearance trust verify --root FILE) to pin it.");
    page.emit()?;
    Ok(Exit::Ok)
}
