//! `clearance trust init REPO`: keys for root, targets, snapshot and
//! timestamp, and the repository's first signed metadata.

use anyhow::Context as _;
use clap::Args;
use clearance_trust::pkcs11::IfMissing;
use clearance_trust::publish::{
    Changed, Days, Expiries, RepositoryEditor, RoleSigners, ServerSigned,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

use clearance_trust::keystore::Keystore;
use clearance_trust::repository::{Publisher, RepositoryStore as _};
use clearance_trust::{Gun, RoleName, TopRole};
use serde::Serialize;

use super::common::{TimeoutArgs, TrustArgs, gun, repository_ref, show};
use super::held::{Held, RootKeyArgs, root_key_label, token_key};
use super::passphrase::new_passphrase;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust init --format json`.
const SCHEMA: &str = "clearance.trust.init/v1";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The image repository to protect, e.g. registry.example.com/team/app.
    pub repository: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
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
    /// The root key: on a token (generated there if it has none by that
    /// name), else made and sealed in the keystore.
    #[command(flatten)]
    pub root: RootKeyArgs,
    /// Hand snapshot to the trust service too (its key made and kept there),
    /// so publishers need only the targets key. Timestamp is always the
    /// service's when publishing to one.
    #[arg(long)]
    pub server_snapshot: bool,
}

/// The repository made; its JSON shape (`clearance.trust.init/v1`) is in
/// `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct Initialised {
    schema: &'static str,
    repository: String,
    root_keyid: String,
    /// `keystore` or `token`.
    root_key_held: &'static str,
    /// The keystore directory, or the token and key label.
    root_key_where: String,
    targets_keyid: String,
    snapshot_keyid: String,
    /// `keystore`, or `service` (`--server-snapshot`).
    snapshot_key_held: &'static str,
    timestamp_keyid: String,
    /// `keystore` (a `file://` repository), or `service`.
    timestamp_key_held: &'static str,
    trusted_root: String,
}

impl Initialised {
    fn render(&self, page: &mut Page) {
        page.field("Repository", &self.repository);
        let how = match self.root_key_held {
            "token" => format!("on {}, not extractable", self.root_key_where),
            _ => format!("sealed in {}", self.root_key_where),
        };
        page.field("Root key", format!("{} ({how})", self.root_keyid));
        page.field("Targets key", &self.targets_keyid);
        let held = |by: &str| match by {
            "service" => " (held by the trust service)",
            _ => "",
        };
        page.field(
            "Snapshot key",
            format!("{}{}", self.snapshot_keyid, held(self.snapshot_key_held)),
        );
        page.field(
            "Timestamp key",
            format!("{}{}", self.timestamp_keyid, held(self.timestamp_key_held)),
        );
        page.field("Trusted root", &self.trusted_root);
        page.line("Give consumers that root.json (clearance trust verify --root FILE) to pin it.");
    }
}

fn root_key(args: &InitArgs, gun: &Gun) -> anyhow::Result<Held> {
    match &args.root.root_key {
        Some(uri) => Ok(Held::Token(Box::new(token_key(
            uri,
            args.root.pkcs11_module.as_ref(),
            IfMissing::Generate,
            &root_key_label(gun, None),
        )?))),
        None => Ok(Held::Local(Box::new(LocalSigner::generate(
            KeyKind::EcdsaP256,
        )?))),
    }
}

pub async fn run(args: InitArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings_to_create(args.timeout.timeout)?;
    let reference = repository_ref(&args.repository)?;
    let gun = gun(&reference)?;
    let publisher = trust.publisher(&gun)?;
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
            trust.server
        );
    }
    let expiries = Expiries {
        root_days: args.root_expires_days,
        targets_days: args.targets_expires_days,
        snapshot_days: args.snapshot_expires_days,
        timestamp_days: args.timestamp_expires_days,
    };
    let defaults = Expiries::default();
    if publisher.store().service().is_some() {
        // The service signs timestamp (and snapshot, with --server-snapshot)
        // with its own lifetimes.
        if expiries.timestamp_days != defaults.timestamp_days {
            crate::output::warning(format!(
                "--timestamp-expires-days {} is not used: the trust service holds the timestamp key and signs timestamps for the lifetime its `timestamp_expiry` setting gives (see docs/serve.md)",
                expiries.timestamp_days
            ));
        }
        if args.server_snapshot && expiries.snapshot_days != defaults.snapshot_days {
            crate::output::warning(format!(
                "--snapshot-expires-days {} is not used: with --server-snapshot the trust service signs snapshots for the lifetime its `snapshot_expiry` setting gives (see docs/serve.md)",
                expiries.snapshot_days
            ));
        }
    }
    let keystore = trust.keystore()?;
    let mut saved = Vec::new();
    let result = initialise(&args, &publisher, &keystore, expiries, &mut saved).await;
    if result.is_err() {
        // Nothing was published: the keys made for it go too.
        for keyid in &saved {
            if let Err(e) = keystore.remove(keyid) {
                crate::output::warning(format!("removing the unused key {keyid}: {e}"));
            }
        }
    }
    let initialised = result?;
    // Every later signing of this repository here keeps these lifetimes.
    trust.save_lifetimes(&gun, &expiries)?;
    show(format, &initialised, Initialised::render)?;
    Ok(Exit::Ok)
}

/// Make the keys (their ids pushed to `saved` as they are sealed), sign
/// and publish the first metadata, and pin its root.
async fn initialise(
    args: &InitArgs,
    publisher: &Publisher,
    keystore: &Keystore,
    expiries: Expiries,
    saved: &mut Vec<String>,
) -> anyhow::Result<Initialised> {
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
    let mut repo = RepositoryEditor::create(
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
    let (root_key_held, root_key_where) = match &root_key {
        Held::Token(hsm) => ("token", hsm.label()),
        Held::Local(_) => ("keystore", keystore.dir().display().to_string()),
    };
    Ok(Initialised {
        schema: SCHEMA,
        repository: gun.to_string(),
        root_keyid: root.key_id(),
        root_key_held,
        root_key_where,
        targets_keyid: targets.key_id(),
        snapshot_keyid: snapshot
            .as_ref()
            .map(|k| k.key_id())
            .or(server_snapshot.as_ref().map(|k| k.key_id()))
            .unwrap_or_default(),
        snapshot_key_held: if snapshot.is_some() {
            "keystore"
        } else {
            "service"
        },
        timestamp_keyid: timestamp
            .as_ref()
            .map(|k| k.key_id())
            .or(server_timestamp.as_ref().map(|k| k.key_id()))
            .unwrap_or_default(),
        timestamp_key_held: if timestamp.is_some() {
            "keystore"
        } else {
            "service"
        },
        trusted_root: store.path_of(&RoleName::ROOT),
    })
}
