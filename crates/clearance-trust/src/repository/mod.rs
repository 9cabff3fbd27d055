//! Where a publisher's repository lives, and the publish cycle on top of
//! it: load the current metadata verified from the pinned root, change it,
//! sign, store; when another publisher got there first, load again and
//! redo the change.
//!
//! A [`RepositoryStore`] is a trust service ([`ServiceStore`]: Notary's
//! HTTP layout, publishes checked and stored by the service, which may sign
//! snapshot and timestamp itself) or a directory ([`DirectoryStore`]:
//! `file:///DIR`, the publisher writes every file). [`Remote`] is either,
//! chosen by the trust server's address; [`load`] and [`edit`] work on any.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use clearance_trust::client::{DirStore, HttpTransport, ServerAddress};
//! use clearance_trust::publish::Bins;
//! use clearance_trust::repository::{Remote, load};
//! use clearance_trust::Gun;
//!
//! let address: ServerAddress = "https://trust.example.com".parse()?;
//! let transport = HttpTransport::new(std::time::Duration::from_secs(30), None)?;
//! let store = Remote::new(&address, transport);
//! let gun = Gun::new("registry.example.com/team/app")?;
//! let pinned = DirStore::new("/home/me/.clearance/trust/tuf/registry.example.com%2Fteam%2Fapp")?;
//! let repo = load(&store, &gun, &pinned, Bins::All).await?;
//! println!("targets is at version {}", repo.targets.common.version);
//! # Ok(()) }
//! ```

mod directory;
mod online;
mod service;

use std::future::Future;
use std::path::PathBuf;

pub use directory::{DirectoryStore, PUBLISH_LOCK_WAIT, StoreLock};
pub use online::OnlineKeys;
pub use service::ServiceStore;

use crate::client::{
    DirStore, Expiration, FetchError, HttpTransport, PublishOutcome, ServerAddress, Transport,
    UpdateError, Updater, UpdaterSettings,
};
use crate::gun::Gun;
use crate::publish::{Bins, Expiries, PublishError, RepositoryEditor, ServerSigned, SignedFile};
use crate::schema::RoleName;

/// Most attempts at a publish that other publishers keep overtaking.
pub const PUBLISH_ATTEMPTS: u32 = 8;

/// What went wrong loading a repository or storing a publish.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// No root is pinned for the repository, so what the store holds cannot
    /// be verified before it is signed again.
    #[error(
        "no pinned root for {gun} here, so its trust data cannot be verified before it is signed again. To sign as a delegate or a second publisher of a repository someone else initialised, pin its root first: `clearance trust verify --root ROOT.json {gun}:TAG` (ROOT.json from its owner); a new repository starts with `clearance trust init {gun}`"
    )]
    NotPinned {
        /// The repository.
        gun: Gun,
    },
    /// The pinned metadata could not be read, or the pinned root does not
    /// verify, or is for another repository.
    #[error(transparent)]
    Pinned(#[from] UpdateError),
    /// The current metadata did not verify from the pinned root (a
    /// tampering server or directory, or a fetch that failed).
    #[error("verifying the current trust data of {gun} from {url}")]
    Load {
        /// The repository.
        gun: Gun,
        /// Its metadata URL.
        url: String,
        /// Why.
        #[source]
        source: PublishError,
    },
    /// The store has no trust data for a repository whose root is pinned
    /// here: the wrong server, or the data was deleted there.
    #[error(
        "the trust server has no trust data for {gun} at {url}, though its root is pinned here: check that --server (CLEARANCE_TRUST_SERVER) names the server it was published to; if it does, its trust data was deleted there (its publisher publishes it again, or, to start over, forget it here: see the README's \"To forget a repository\")"
    )]
    Vanished {
        /// The repository.
        gun: Gun,
        /// Its metadata URL (where timestamp.json is not).
        url: String,
    },
    /// A trust service did not take the publish (nothing was stored).
    #[error("publishing to {url}")]
    Publish {
        /// The repository's metadata URL.
        url: String,
        /// The service's answer, or why it could not be asked.
        #[source]
        source: FetchError,
    },
    /// A file of a directory repository could not be written.
    #[error("writing {}", path.display())]
    Write {
        /// The file (or the directory it goes in).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The login given may not publish to the repository (or the service
    /// could not be asked).
    #[error("checking that this login may publish to {gun}")]
    Login {
        /// The repository.
        gun: Gun,
        /// The service's answer, or why it could not be asked.
        #[source]
        source: FetchError,
    },
    /// The store could not be asked whether the repository exists.
    #[error("asking {url} whether {gun} exists")]
    Exists {
        /// The repository.
        gun: Gun,
        /// What was asked for.
        url: String,
        /// Why it could not be answered.
        #[source]
        source: FetchError,
    },
    /// The server answered for a repository's first root with something
    /// that is no root: it is not a trust server.
    #[error(
        "{url} answered with something that is not TUF root metadata: check that --server (CLEARANCE_TRUST_SERVER) names a trust server (`clearance serve --trust`, or a Notary-compatible server)"
    )]
    NotTrustServer {
        /// What was asked for.
        url: String,
    },
    /// Another publish landed first, and this one (which is not redone
    /// automatically) must be run again.
    #[error("another publish landed first ({why}); run the command again")]
    Overtaken {
        /// The service's reason.
        why: String,
    },
    /// Another publisher held a directory repository's lock longer than a
    /// publish waits for it.
    #[error(
        "another publisher has been writing to {} for more than {waited} s (it holds {}): try again when it has finished; the lock is released when the process holding it ends",
        dir.display(),
        lock.display()
    )]
    Locked {
        /// The repository's directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// How long this publish waited, in seconds.
        waited: u64,
    },
    /// Other publishers landed first [`PUBLISH_ATTEMPTS`] times in a row.
    #[error("gave up after {attempts} attempts, others kept publishing first: {why}")]
    GaveUp {
        /// How many publishes were tried.
        attempts: u32,
        /// The service's reason for the last refusal.
        why: String,
    },
}

/// A repository's home: where its current metadata is read from (through
/// a client, from the pinned root) and where a publish goes.
pub trait RepositoryStore {
    /// What reads the metadata (HTTP(S), or `file://` for a directory).
    type Transport: Transport;

    /// The URL of `gun`'s metadata, with a final `/` (Notary's layout:
    /// `<base>/v2/<gun>/_trust/tuf/`).
    fn metadata_url(&self, gun: &Gun) -> String;

    /// The transport that reads the metadata.
    fn transport(&self) -> &Self::Transport;

    /// Whether the store signs snapshot and timestamp itself when the
    /// publisher does not hold their keys (a trust service does; a
    /// directory never does).
    fn signs_online_roles(&self) -> bool;

    /// Store `files` (a publish, in the order signed: timestamp last). An
    /// empty publish stores nothing and is [`PublishOutcome::Stored`].
    /// [`PublishOutcome::Stale`] when another publish landed first.
    fn publish(
        &self,
        gun: &Gun,
        files: &[SignedFile],
    ) -> impl Future<Output = Result<PublishOutcome, RepositoryError>>;

    /// Check, before any key is unsealed, that this publisher may publish
    /// to `gun` (a login refused shows here, not after a passphrase).
    fn check_login(&self, gun: &Gun) -> impl Future<Output = Result<(), RepositoryError>>;

    /// Whether `gun` has metadata here already (its first root).
    fn exists(&self, gun: &Gun) -> impl Future<Output = Result<bool, RepositoryError>>;

    /// Keep other publishers of `gun` out until the lock is dropped: a
    /// directory has no server to refuse a stale publish, so [`edit`] and
    /// [`publish_once`] hold this across load, change and write. A trust
    /// service checks each publish itself (409), and locks nothing.
    fn lock(&self, _gun: &Gun) -> impl Future<Output = Result<StoreLock, RepositoryError>> {
        std::future::ready(Ok(StoreLock::none()))
    }
}

/// A trust service or a directory, as the trust server's address names it.
#[derive(Debug, Clone)]
pub enum Remote {
    /// `http://` or `https://`.
    Service(ServiceStore),
    /// `file:///DIR`.
    Directory(DirectoryStore),
}

impl Remote {
    /// The store at `address`, reached through `transport` (which carries
    /// the login and the trust server's CA).
    pub fn new(address: &ServerAddress, transport: HttpTransport) -> Remote {
        match address {
            ServerAddress::Service(_) => {
                Remote::Service(ServiceStore::new(address.clone(), transport))
            }
            ServerAddress::Directory(dir) => {
                Remote::Directory(DirectoryStore::new(dir.clone(), transport))
            }
        }
    }

    /// The trust service, if this is one.
    pub fn service(&self) -> Option<&ServiceStore> {
        match self {
            Remote::Service(s) => Some(s),
            Remote::Directory(_) => None,
        }
    }
}

impl RepositoryStore for Remote {
    type Transport = HttpTransport;

    fn metadata_url(&self, gun: &Gun) -> String {
        match self {
            Remote::Service(s) => s.metadata_url(gun),
            Remote::Directory(d) => d.metadata_url(gun),
        }
    }

    fn transport(&self) -> &HttpTransport {
        match self {
            Remote::Service(s) => s.transport(),
            Remote::Directory(d) => d.transport(),
        }
    }

    fn signs_online_roles(&self) -> bool {
        matches!(self, Remote::Service(_))
    }

    async fn publish(
        &self,
        gun: &Gun,
        files: &[SignedFile],
    ) -> Result<PublishOutcome, RepositoryError> {
        match self {
            Remote::Service(s) => s.publish(gun, files).await,
            Remote::Directory(d) => d.publish(gun, files).await,
        }
    }

    async fn check_login(&self, gun: &Gun) -> Result<(), RepositoryError> {
        match self {
            Remote::Service(s) => s.check_login(gun).await,
            Remote::Directory(d) => d.check_login(gun).await,
        }
    }

    async fn exists(&self, gun: &Gun) -> Result<bool, RepositoryError> {
        match self {
            Remote::Service(s) => s.exists(gun).await,
            Remote::Directory(d) => d.exists(gun).await,
        }
    }

    async fn lock(&self, gun: &Gun) -> Result<StoreLock, RepositoryError> {
        match self {
            Remote::Service(s) => s.lock(gun).await,
            Remote::Directory(d) => d.lock(gun).await,
        }
    }
}

/// One repository as its publisher edits it: its name, its store, and the
/// directory holding the root pinned for it (what everything loaded is
/// verified from). [`load`], [`edit`] and [`publish_once`] bound to them.
#[derive(Debug, Clone)]
pub struct Publisher<S = Remote> {
    store: S,
    gun: Gun,
    pinned: DirStore,
    expiries: Expiries,
}

impl<S: RepositoryStore> Publisher<S>
where
    S::Transport: Clone,
{
    /// The publisher of `gun` in `store`, its pinned root in `pinned`.
    pub fn new(store: S, gun: Gun, pinned: DirStore) -> Publisher<S> {
        Publisher {
            store,
            gun,
            pinned,
            expiries: Expiries::default(),
        }
    }

    /// The same publisher, giving the roles it signs these lifetimes (those
    /// chosen at `trust init`; Notary's defaults otherwise).
    pub fn with_expiries(mut self, expiries: Expiries) -> Publisher<S> {
        self.expiries = expiries;
        self
    }

    /// The repository's name.
    pub fn gun(&self) -> &Gun {
        &self.gun
    }

    /// Where it lives.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The pinned metadata.
    pub fn pinned(&self) -> &DirStore {
        &self.pinned
    }

    /// [`load`] the repository (the hash bins `bins` selects).
    pub async fn load(&self, bins: Bins<'_>) -> Result<RepositoryEditor, RepositoryError> {
        let mut repo = load(&self.store, &self.gun, &self.pinned, bins).await?;
        repo.expiries = self.expiries;
        Ok(repo)
    }

    /// [`edit`] `repo` with `change`, redone when overtaken.
    pub async fn edit<E: From<RepositoryError>>(
        &self,
        repo: RepositoryEditor,
        bins: Bins<'_>,
        mut change: impl FnMut(&mut RepositoryEditor) -> Result<Vec<SignedFile>, E>,
    ) -> Result<RepositoryEditor, E> {
        // A reload (overtaken, or the directory locked) keeps the lifetimes.
        let expiries = self.expiries;
        let repo = edit(&self.store, &self.gun, &self.pinned, repo, bins, |repo| {
            repo.expiries = expiries;
            change(repo)
        })
        .await?;
        self.follow().await;
        Ok(repo)
    }

    /// [`publish_once`]: store `files`, an error if overtaken.
    pub async fn publish_once(&self, files: &[SignedFile]) -> Result<(), RepositoryError> {
        publish_once(&self.store, &self.gun, files).await?;
        self.follow().await;
        Ok(())
    }

    /// After a publish: bring the pinned metadata here up to what was
    /// published, verified as any update is (a new root through the chain
    /// from the pinned one), so what reads it offline (`trust key list`)
    /// sees the new keys (review 9 #6). The publish has landed either way:
    /// a failure is logged, and the next command's load catches up.
    async fn follow(&self) {
        // `trust init` publishes before it pins its root: nothing to follow.
        if !matches!(self.pinned.load(&RoleName::ROOT), Ok(Some(_))) {
            return;
        }
        let url = self.store.metadata_url(&self.gun);
        let settings = UpdaterSettings {
            expiration: Expiration::NotEnforcedToRepublish,
            ..UpdaterSettings::default()
        };
        let updated = async {
            Updater::new(
                self.pinned.clone(),
                self.store.transport().clone(),
                &url,
                settings,
            )?
            .bind_repository(&self.gun)?
            .refresh()
            .await
        }
        .await;
        if let Err(e) = updated {
            tracing::warn!(
                "published to {url}, but the trusted metadata here was not brought up to date ({e}); the next trust command does it"
            );
        }
    }

    /// [`RepositoryStore::check_login`] for this repository.
    pub async fn check_login(&self) -> Result<(), RepositoryError> {
        self.store.check_login(&self.gun).await
    }

    /// Which of snapshot and timestamp the store signs for `repo`: those
    /// whose keys (`holds`, by key id) the publisher does not hold.
    pub fn server_signed(
        &self,
        repo: &RepositoryEditor,
        holds: impl Fn(&str) -> bool,
    ) -> ServerSigned {
        ServerSigned::for_publisher(&repo.root, self.store.signs_online_roles(), holds)
    }
}

/// The current metadata of `gun` in `store`, verified first as a consumer
/// verifies it, from the root pinned in `pinned` (at `trust init`, or by
/// `trust verify --root`): a publisher never re-signs what a tampering
/// server, or whoever else can write to the directory, put there (review
/// B-12). Expired metadata is loaded (to be signed again); only the hash
/// bins `bins` selects are loaded.
pub async fn load<S: RepositoryStore>(
    store: &S,
    gun: &Gun,
    pinned: &DirStore,
    bins: Bins<'_>,
) -> Result<RepositoryEditor, RepositoryError>
where
    S::Transport: Clone,
{
    if pinned.load(&RoleName::ROOT)?.is_none() {
        return Err(RepositoryError::NotPinned { gun: gun.clone() });
    }
    let url = store.metadata_url(gun);
    let settings = UpdaterSettings {
        // Loaded to be signed again: what expired is re-signed, not refused.
        expiration: Expiration::NotEnforcedToRepublish,
        ..UpdaterSettings::default()
    };
    let mut updater = Updater::new(pinned.clone(), store.transport().clone(), &url, settings)?
        .bind_repository(gun)?;
    RepositoryEditor::load_verified(&mut updater, Expiries::default(), bins)
        .await
        .map_err(|source| match source {
            PublishError::Update(UpdateError::NoTrustData { .. }) => RepositoryError::Vanished {
                gun: gun.clone(),
                url: url.clone(),
            },
            source => RepositoryError::Load {
                gun: gun.clone(),
                url,
                source,
            },
        })
}

/// Change `repo` (freshly [`load`]ed) with `change`, which signs and
/// returns the files to publish, and store them; when another publisher got
/// there first (a service's 409), load again and redo the change, up to
/// [`PUBLISH_ATTEMPTS`] times, pausing a little longer each time. A
/// directory repository is locked ([`RepositoryStore::lock`]) for the whole
/// cycle and loaded again once the lock is held, so the change is made to
/// the latest versions (two `trust sign` at once both land). Returns the
/// repository as published.
pub async fn edit<S, E>(
    store: &S,
    gun: &Gun,
    pinned: &DirStore,
    mut repo: RepositoryEditor,
    bins: Bins<'_>,
    mut change: impl FnMut(&mut RepositoryEditor) -> Result<Vec<SignedFile>, E>,
) -> Result<RepositoryEditor, E>
where
    S: RepositoryStore,
    S::Transport: Clone,
    E: From<RepositoryError>,
{
    let lock = store.lock(gun).await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if attempt > 1 || lock.is_held() {
            repo = load(store, gun, pinned, bins).await?;
        }
        let files = change(&mut repo)?;
        match store.publish(gun, &files).await? {
            PublishOutcome::Stored => return Ok(repo),
            PublishOutcome::Stale(why) if attempt < PUBLISH_ATTEMPTS => {
                tracing::info!(attempt, %why, "another publish landed first; trying again");
                let pause = 50 * u64::from(attempt) + u64::from(std::process::id() % 50);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            PublishOutcome::Stale(why) => {
                return Err(RepositoryError::GaveUp {
                    attempts: attempt,
                    why,
                }
                .into());
            }
        }
    }
}

/// Store a publish that must land the first time (a root change, whose
/// keys may be on a token, is not redone behind the publisher's back): a
/// directory repository is locked while it is written, and a publish that
/// another overtook (a version there already) is refused, as a service
/// refuses it.
pub async fn publish_once<S: RepositoryStore>(
    store: &S,
    gun: &Gun,
    files: &[SignedFile],
) -> Result<(), RepositoryError> {
    let _lock = store.lock(gun).await?;
    match store.publish(gun, files).await? {
        PublishOutcome::Stored => Ok(()),
        PublishOutcome::Stale(why) => Err(RepositoryError::Overtaken { why }),
    }
}

#[cfg(test)]
mod tests;
