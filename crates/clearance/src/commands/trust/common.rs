//! What the trust commands share: where keys and trusted metadata live, the
//! trust server, passphrases, and publishing files.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_oci::registry::Credential;
use clearance_trust::client::{
    DirStore, Expiration, HttpTransport, PublishOutcome, ServerAddress, Updater, UpdaterSettings,
    write_atomic,
};
use clearance_trust::keystore::Keystore;
use clearance_trust::publish::SignedFile;
use clearance_trust::{Gun, RoleName, TopRole};

use super::passphrase::unseal;

/// Where trust data lives.
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// The trust server: http(s)://HOST[:PORT] of `clearance serve --trust`
    /// (or of a Notary-compatible server), or file:///DIR for a repository
    /// kept in a directory.
    #[arg(long, env = "CLEARANCE_TRUST_SERVER", value_name = "URL")]
    pub server: ServerAddress,
    /// Clearance's own directory (keys, trusted metadata).
    #[arg(long, env = "CLEARANCE_HOME")]
    pub home: Option<PathBuf>,
    /// Login for the trust server's token service, USER:PASSWORD.
    #[arg(long, env = "CLEARANCE_TRUST_CREDS", hide_env_values = true)]
    pub trust_creds: Option<String>,
    /// Extra PEM CA certificates for the trust server.
    #[arg(long, env = "CLEARANCE_TRUST_CA_FILE")]
    pub trust_ca_file: Option<PathBuf>,
    /// Allow plain HTTP to this trust server host (repeatable; loopback hosts
    /// always may). A login is never sent over plain HTTP off loopback.
    #[arg(long = "insecure-trust-server", value_name = "HOST[:PORT]")]
    pub insecure_trust_servers: Vec<String>,
}

/// Most attempts at a publish that others keep overtaking.
const PUBLISH_ATTEMPTS: u32 = 8;

/// Clearance's own directory: `--home`, else `~/.clearance`.
pub fn home_dir(home: Option<&Path>) -> anyhow::Result<PathBuf> {
    match home {
        Some(h) => Ok(h.to_owned()),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".clearance"))
            .context("no home directory: set CLEARANCE_HOME or pass --home"),
    }
}

/// The keystore under a home directory (`trust/private`).
pub fn keystore_in(home: Option<&Path>) -> anyhow::Result<Keystore> {
    let dir = home_dir(home)?.join("trust/private");
    Keystore::open(&dir).with_context(|| format!("opening the keystore at {}", dir.display()))
}

impl TrustArgs {
    pub fn home(&self) -> anyhow::Result<PathBuf> {
        home_dir(self.home.as_deref())
    }

    pub fn keystore(&self) -> anyhow::Result<Keystore> {
        keystore_in(self.home.as_deref())
    }

    /// The client's trusted metadata for one repository.
    pub fn client_store(&self, gun: &Gun) -> anyhow::Result<DirStore> {
        let dir = self
            .home()?
            .join("trust/tuf")
            .join(clearance_trust::client::quote(gun.as_str()));
        DirStore::new(&dir).with_context(|| format!("creating {}", dir.display()))
    }

    pub fn metadata_url(&self, gun: &Gun) -> String {
        self.server.metadata_url(gun)
    }

    /// Whether the server is a trust service (not a file:// directory).
    pub fn is_service(&self) -> bool {
        self.server.is_service()
    }

    /// HTTP to the trust server, with its login and CA.
    pub fn transport(&self, extra_ca: Option<&std::path::Path>) -> anyhow::Result<HttpTransport> {
        let credential = match &self.trust_creds {
            Some(c) => {
                Some(Credential::parse_user_pass(c).context("--trust-creds takes USER:PASSWORD")?)
            }
            None => None,
        };
        let ca = extra_ca.or(self.trust_ca_file.as_deref());
        Ok(HttpTransport::allowing_http(
            std::time::Duration::from_secs(30),
            ca,
            self.insecure_trust_servers.clone(),
        )?
        .with_credential(credential))
    }

    /// Before any key is unsealed: check that the login may publish to
    /// `gun` (a trust service only; a file:// directory has no login).
    pub async fn check_login(&self, gun: &Gun) -> anyhow::Result<()> {
        if !self.is_service() {
            return Ok(());
        }
        let url = self.metadata_url(gun);
        self.transport(None)?
            .check_push(&url)
            .await
            .with_context(|| format!("checking that this login may publish to {gun}"))
    }

    /// A TUF client for `gun`, starting from the trusted metadata in `store`.
    pub fn updater(
        &self,
        gun: &Gun,
        store: DirStore,
        extra_ca: Option<&std::path::Path>,
    ) -> anyhow::Result<Updater<HttpTransport>> {
        Ok(Updater::new(
            store,
            self.transport(extra_ca)?,
            &self.metadata_url(gun),
            UpdaterSettings::default(),
        )?
        .bind_repository(gun)?)
    }

    /// Send published files to the trust service, or write them into a
    /// file:// directory.
    pub async fn publish(&self, gun: &Gun, files: &[SignedFile]) -> anyhow::Result<PublishOutcome> {
        if files.is_empty() {
            // An empty publish is not sent (a service answers it with 400).
            return Ok(PublishOutcome::Stored);
        }
        let Some(dir) = self.server.metadata_dir(gun) else {
            let current: Vec<(RoleName, Vec<u8>)> = files
                .iter()
                .map(|f| (f.role.clone(), f.bytes.clone()))
                .collect();
            let url = self.metadata_url(gun);
            return self
                .transport(None)?
                .publish(&url, &current)
                .await
                .with_context(|| format!("publishing to {url}"));
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // In order: timestamp last, so readers never see it ahead of what it names.
        for file in files {
            for name in file.file_names() {
                let path = dir.join(name);
                write_atomic(&path, &file.bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Ok(PublishOutcome::Stored)
    }

    /// Change `repo` (freshly loaded) and publish; when another publisher
    /// got there first (the service answers 409), load again and redo it.
    pub async fn edit(
        &self,
        gun: &Gun,
        mut repo: Repository,
        bins: Bins<'_>,
        mut change: impl FnMut(&mut Repository) -> anyhow::Result<Vec<SignedFile>>,
    ) -> anyhow::Result<Repository> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                repo = load_repository_for(self, gun, bins).await?;
            }
            let files = change(&mut repo)?;
            match self.publish(gun, &files).await? {
                PublishOutcome::Stored => return Ok(repo),
                PublishOutcome::Stale(why) if attempt < PUBLISH_ATTEMPTS => {
                    tracing::info!(attempt, %why, "another publish landed first; trying again");
                    let pause = 50 * u64::from(attempt) + u64::from(std::process::id() % 50);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                PublishOutcome::Stale(why) => {
                    bail!("gave up after {attempt} attempts, others kept publishing first: {why}")
                }
            }
        }
    }

    /// Which of snapshot and timestamp the trust service signs for `repo`:
    /// those whose keys are not in the publisher's keystore.
    pub fn server_signed(&self, repo: &Repository) -> anyhow::Result<ServerSigned> {
        if !self.is_service() {
            return Ok(ServerSigned::Neither);
        }
        let keystore = self.keystore()?;
        let held = |role: TopRole| {
            repo.root
                .roles
                .get(&role)
                .is_some_and(|r| r.keyids.iter().any(|k| keystore.public(k).is_ok()))
        };
        Ok(match (held(TopRole::Snapshot), held(TopRole::Timestamp)) {
            (_, true) => ServerSigned::Neither,
            (true, false) => ServerSigned::Timestamp,
            (false, false) => ServerSigned::SnapshotAndTimestamp,
        })
    }
}

/// A publish that must land first time (root changes are not retried:
/// the keys that sign them may be on a token).
pub fn published(outcome: PublishOutcome) -> anyhow::Result<()> {
    match outcome {
        PublishOutcome::Stored => Ok(()),
        PublishOutcome::Stale(why) => {
            bail!("another publish landed first ({why}); run the command again")
        }
    }
}

/// The repository name (GUN) for a reference: `registry/repository`.
pub fn gun(reference: &RegistryRef) -> anyhow::Result<Gun> {
    Ok(Gun::of(reference)?)
}

/// Parses a top-level role name on the command line, listing the four as
/// its possible values (in `--help` and in the error).
pub fn top_role_parser() -> impl clap::builder::TypedValueParser<Value = TopRole> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(TopRole::ALL.map(TopRole::name))
        .try_map(|name| name.parse::<TopRole>())
}

/// A registry reference from `IMAGE:TAG` or `docker://IMAGE:TAG`.
pub fn registry_ref(image: &str) -> anyhow::Result<RegistryRef> {
    match image.parse::<clearance_oci::ImageRef>()? {
        clearance_oci::ImageRef::Registry(r) => Ok(r),
        other => bail!("{other} is not in a registry; content trust covers registry images"),
    }
}

use clearance_trust::pkcs11::{HsmSigner, IfMissing, KeyOrigin, Pkcs11Uri};
use clearance_trust::publish::{Bins, Expiries, Repository, RoleSigners, ServerSigned};
use clearance_trust::signer::{LocalSigner, Signer};

/// Where the root key is, for commands that change root.
#[derive(Debug, Clone, Args)]
pub struct RootKeyArgs {
    /// The root key on a hardware token (pkcs11: URI); else the keystore.
    #[arg(long, value_name = "PKCS11_URI")]
    pub root_key: Option<String>,
    /// The PKCS#11 module (else the URI's module-path).
    #[arg(long, env = "CLEARANCE_PKCS11_MODULE")]
    pub pkcs11_module: Option<PathBuf>,
}

/// A signing key the publisher holds: sealed on disk or on a token.
pub enum Held {
    Local(Box<LocalSigner>),
    Token(Box<HsmSigner>),
}

impl Held {
    pub fn signer(&self) -> &dyn Signer {
        match self {
            Held::Local(s) => s.as_ref(),
            Held::Token(s) => s.as_ref(),
        }
    }
}

/// Open (or, at init and root rotations, create) a key on a PKCS#11 token;
/// `HsmSigner::open` refuses one that can leave the token. A URI without `object=` names the
/// label `default_label` (a label per repository: review B-7); a key that
/// was to be created but was found already is warned about, since one key
/// rooting several repositories is one compromise away from all of them.
pub fn token_key(
    uri: &str,
    module: Option<&PathBuf>,
    if_missing: IfMissing,
    default_label: &str,
) -> anyhow::Result<HsmSigner> {
    let mut uri: Pkcs11Uri = uri.parse()?;
    let label = uri
        .object
        .get_or_insert_with(|| default_label.to_owned())
        .clone();
    let module = module.cloned().or_else(|| uri.module_path.clone()).context(
        "name the PKCS#11 module: --pkcs11-module PATH (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so, YubiKey: libykcs11.so)",
    )?;
    let pin = match uri.pin()? {
        Some(pin) => pin,
        None => match std::env::var("CLEARANCE_PKCS11_PIN") {
            Ok(pin) => pin,
            Err(_) => rpassword::prompt_password(format!("PIN for token {}: ", uri.token))?,
        },
    };
    // Refuses a key that may have left the token, or whose halves do not pair.
    let signer = HsmSigner::open(&uri, &module, &pin, if_missing)?;
    if if_missing == IfMissing::Generate && signer.origin() == KeyOrigin::Found {
        crate::output::warning(format!(
            "token {} already holds the key {label} ({}); using it. If it roots other repositories, one compromise reaches all of them (each root names its repository, so their metadata cannot be swapped); leave object= out for a key per repository",
            uri.token,
            signer.key_id()
        ));
    }
    Ok(signer)
}

/// The token label `trust` gives a repository's root key when the URI
/// names none: `clearance-root-<first 16 hex digits of sha256(gun)>`, and
/// `…-v<N>` for the key a root rotation brings in at root version N.
pub fn root_key_label(gun: &Gun, version: Option<u64>) -> String {
    let hash = clearance_oci::Digest::sha256_of(gun.as_str().as_bytes());
    let short = &hash.hex()[..16];
    match version {
        Some(v) => format!("clearance-root-{short}-v{v}"),
        None => format!("clearance-root-{short}"),
    }
}

/// The current metadata of a repository, verified first as a consumer
/// verifies it, from the root pinned at `trust init` (or by `trust verify
/// --root`), whether it comes from a trust service or a file:// directory:
/// a publisher never re-signs what a tampering server, or whoever else can
/// write to the directory, put there (review B-12).
pub async fn load_repository(trust: &TrustArgs, gun: &Gun) -> anyhow::Result<Repository> {
    load_repository_for(trust, gun, Bins::All).await
}

/// As [`load_repository`], with only the hash bins `bins` selects.
pub async fn load_repository_for(
    trust: &TrustArgs,
    gun: &Gun,
    bins: Bins<'_>,
) -> anyhow::Result<Repository> {
    let url = trust.metadata_url(gun);
    let store = trust.client_store(gun)?;
    if store.load(&RoleName::ROOT)?.is_none() {
        bail!(
            "no pinned root for {gun} here, so its trust data cannot be verified before it is signed again. To sign as a delegate or a second publisher of a repository someone else initialised, pin its root first: `clearance trust verify --root ROOT.json {gun}:TAG` (ROOT.json from its owner); a new repository starts with `clearance trust init {gun}`"
        );
    }
    let settings = UpdaterSettings {
        // Loaded to be signed again: what expired is re-signed, not refused.
        expiration: Expiration::NotEnforcedToRepublish,
        ..UpdaterSettings::default()
    };
    let mut updater =
        Updater::new(store, trust.transport(None)?, &url, settings)?.bind_repository(gun)?;
    Repository::load_verified(&mut updater, Expiries::default(), bins)
        .await
        .with_context(|| format!("verifying the current trust data of {gun} from {url}"))
}

/// The publisher's sealed key for a top-level role of `repo`.
pub fn role_key(
    keystore: &Keystore,
    repo: &Repository,
    gun: &Gun,
    role: TopRole,
) -> anyhow::Result<LocalSigner> {
    let keyids = &repo
        .root
        .roles
        .get(&role)
        .with_context(|| format!("root names no {role} keys"))?
        .keyids;
    let Some(keyid) = keyids.iter().find(|k| keystore.public(k).is_ok()) else {
        bail!(
            "none of the {role} keys of {gun} is in {}",
            keystore.dir().display()
        );
    };
    unseal(keystore, role.name(), keyid)
}

/// The current root key: on a token when --root-key says so, else sealed.
pub fn root_key(
    args: &RootKeyArgs,
    keystore: &Keystore,
    repo: &Repository,
    gun: &Gun,
) -> anyhow::Result<Held> {
    match &args.root_key {
        Some(uri) => Ok(Held::Token(Box::new(token_key(
            uri,
            args.pkcs11_module.as_ref(),
            IfMissing::Fail,
            &root_key_label(gun, None),
        )?))),
        None => Ok(Held::Local(Box::new(role_key(
            keystore,
            repo,
            gun,
            TopRole::Root,
        )?))),
    }
}

/// The snapshot and timestamp keys the publisher holds; the trust service
/// signs the others.
pub struct OnlineKeys {
    pub snapshot: Option<LocalSigner>,
    pub timestamp: Option<LocalSigner>,
    pub server: ServerSigned,
}

impl OnlineKeys {
    pub fn load(
        trust: &TrustArgs,
        keystore: &Keystore,
        repo: &Repository,
        gun: &Gun,
    ) -> anyhow::Result<OnlineKeys> {
        let server = trust.server_signed(repo)?;
        let snapshot = match server {
            ServerSigned::SnapshotAndTimestamp => None,
            _ => Some(role_key(keystore, repo, gun, TopRole::Snapshot)?),
        };
        let timestamp = match server {
            ServerSigned::Neither => Some(role_key(keystore, repo, gun, TopRole::Timestamp)?),
            _ => None,
        };
        Ok(OnlineKeys {
            snapshot,
            timestamp,
            server,
        })
    }

    /// Signers for a publish: these keys for snapshot and timestamp (the
    /// service signing the others), `targets` for targets.
    pub fn signers<'a>(&'a self, targets: Vec<&'a dyn Signer>) -> RoleSigners<'a> {
        RoleSigners {
            targets,
            snapshot: self.snapshot.iter().map(|s| s as &dyn Signer).collect(),
            timestamp: self.timestamp.iter().map(|s| s as &dyn Signer).collect(),
            server: self.server,
            ..Default::default()
        }
    }
}

/// Whether the keystore holds a threshold of a delegated role's keys.
pub fn holds_delegated(keystore: &Keystore, repo: &Repository, role: &RoleName) -> bool {
    repo.delegation(role).is_some_and(|d| {
        let held = d
            .keyids
            .iter()
            .filter(|k| keystore.public(k).is_ok())
            .count() as u64;
        held >= d.threshold
    })
}

/// The publisher's sealed keys for a delegated role (as many as it holds).
pub fn delegated_keys(
    keystore: &Keystore,
    repo: &Repository,
    role: &RoleName,
) -> anyhow::Result<Vec<LocalSigner>> {
    let delegation = repo
        .delegation(role)
        .with_context(|| format!("targets does not delegate to {role:?}"))?;
    let held: Vec<&String> = delegation
        .keyids
        .iter()
        .filter(|k| keystore.public(k).is_ok())
        .collect();
    // Counted before anything is unsealed.
    if (held.len() as u64) < delegation.threshold {
        bail!(
            "{role} needs {} of its keys {:?}; {} of them are in {}",
            delegation.threshold,
            delegation.keyids,
            held.len(),
            keystore.dir().display()
        );
    }
    held.into_iter()
        .map(|keyid| unseal(keystore, role.as_str(), keyid))
        .collect()
}
