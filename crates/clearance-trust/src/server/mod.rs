//! The trust service (`clearance serve --trust`): stores every version of
//! each repository's TUF metadata, serves it the way Notary's server did
//! (`/v2/<gun>/_trust/tuf/<role>.json`, `<N>.<role>.json`,
//! `<role>.<sha256>.json`), accepts a publish only when it verifies against
//! what is already trusted, and signs timestamp (and snapshot, when the
//! publisher hands that role over) with keys that never leave it,
//! re-signing timestamp before it expires.

mod accept;
mod database_url;
mod error;
mod keys;
mod locks;
mod router;
mod store;

pub use accept::{Lifetimes, Refused, ServerSigners, Upload};
pub use database_url::{DatabaseUrl, redact};
pub use error::ServiceError;
pub use keys::{KeyError, MasterKey};
pub use router::router;
#[cfg(any(test, feature = "test-hooks"))]
pub use store::InsertFault;
pub use store::{FileInfo, NewFile, Store, StoreError, StoredServerKey};

use crate::gun::Gun;
use crate::keys::Key;
use crate::metadata::Signed;
use crate::schema::{RoleName, Root, Snapshot, Timestamp, TopRole};
use crate::time::{SharedClock, SystemClock};

/// Roles whose keys the service may hold.
pub const SERVER_ROLES: [TopRole; 2] = [TopRole::Timestamp, TopRole::Snapshot];

/// The service's state, shared by every request.
pub struct TrustService {
    store: Store,
    master: MasterKey,
    lifetimes: Lifetimes,
    guard: Option<clearance_auth::BearerGuard>,
    locks: locks::RepoLocks,
    clock: SharedClock,
}

impl std::fmt::Debug for TrustService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustService")
            .field("lifetimes", &self.lifetimes)
            .field("auth", &self.guard.is_some())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TrustService {
    /// `guard`: `None` serves without authentication (loopback use only;
    /// the binary enforces that). The service runs on the system's clock
    /// unless handed another ([`TrustService::with_clock`]).
    pub fn new(
        store: Store,
        master: MasterKey,
        lifetimes: Lifetimes,
        guard: Option<clearance_auth::BearerGuard>,
    ) -> TrustService {
        TrustService {
            store,
            master,
            lifetimes,
            guard,
            locks: locks::RepoLocks::default(),
            clock: std::sync::Arc::new(SystemClock),
        }
    }

    /// Run on `clock`: the time the service signs at (expiries of the
    /// snapshots and timestamps it signs), checks uploads at, and re-signs
    /// by. Tests hand a [`crate::time::ManualClock`] and move it.
    pub fn with_clock(mut self, clock: SharedClock) -> TrustService {
        self.clock = clock;
        self
    }

    /// The metadata database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Check and store a publish. Publishes to one repository run one at a
    /// time; each is checked against the versions the previous one stored.
    /// The checks (up to 70,000 roles' signatures) run on a blocking thread,
    /// not on the workers that answer requests.
    pub async fn publish(&self, gun: &Gun, upload: Upload) -> Result<Vec<NewFile>, ServiceError> {
        let claim = self.locks.claim(gun);
        let _held = claim.lock().await;
        let (signers, next) = self.signers(gun).await?;
        let (store, owned_gun, lifetimes) = (self.store.clone(), gun.clone(), self.lifetimes);
        let now = self.clock.now();
        let runtime = tokio::runtime::Handle::current();
        let files = tokio::task::spawn_blocking(move || {
            runtime.block_on(accept::accept(
                &store, &owned_gun, upload, &signers, lifetimes, now,
            ))
        })
        .await
        .map_err(|source| ServiceError::Interrupted {
            gun: gun.clone(),
            source,
        })??;
        // A rotation's key that the new root names is the role's key from
        // this publish on, stored in the same transaction.
        let root = files
            .iter()
            .find(|f| f.role == TopRole::Root)
            .and_then(|f| Signed::<Root>::parse(&f.bytes, &RoleName::ROOT).ok());
        let promote: Vec<(TopRole, &StoredServerKey)> = next
            .iter()
            .filter(|(role, key)| {
                root.as_ref().is_some_and(|r| {
                    r.signed
                        .roles
                        .get(role)
                        .is_some_and(|k| k.keyids.contains(&key.keyid))
                })
            })
            .map(|(role, key)| (*role, key))
            .collect();
        self.store.insert(gun, &files, &promote).await?;
        for (role, key) in promote {
            tracing::info!(%gun, %role, keyid = %key.keyid, "rotated the service's key");
        }
        Ok(files)
    }

    /// Start a rotation of the key the service holds for `gun`'s `role`:
    /// make a new key and return its public part. The service goes on
    /// signing with the current key until a published root names the new
    /// one (as `notary key rotate … -r` does with Notary's server).
    pub async fn rotate_server_key(&self, gun: &Gun, role: TopRole) -> Result<Key, ServiceError> {
        check_server_role(role)?;
        let claim = self.locks.claim(gun);
        let _held = claim.lock().await;
        if self.store.server_key(gun, role).await?.is_none() {
            return Err(ServiceError::NoServerKey { role });
        }
        let fresh = self.master.generate(gun, role)?;
        self.store.set_next_server_key(gun, role, &fresh).await?;
        serde_json::from_str(&fresh.public).map_err(|source| ServiceError::CorruptKey {
            gun: gun.clone(),
            role,
            source,
        })
    }

    /// The public key the service holds for `gun`'s `role`, made on first
    /// request when `create` is set.
    pub async fn server_key(
        &self,
        gun: &Gun,
        role: TopRole,
        create: bool,
    ) -> Result<Option<Key>, ServiceError> {
        check_server_role(role)?;
        let stored = match self.store.server_key(gun, role).await? {
            Some(k) => k,
            None if create => {
                let fresh = self.master.generate(gun, role)?;
                self.store.put_server_key(gun, role, &fresh).await?
            }
            None => return Ok(None),
        };
        let key: Key =
            serde_json::from_str(&stored.public).map_err(|source| ServiceError::CorruptKey {
                gun: gun.clone(),
                role,
                source,
            })?;
        Ok(Some(key))
    }

    /// Re-sign timestamp for every repository whose timestamp the service
    /// signs and that expires within `within_secs` of the service's clock
    /// (snapshot too, when the service signs it and it expires as soon).
    /// Returns the repositories re-signed; a failure for one does not stop
    /// the others.
    pub async fn resign_due(&self, within_secs: i64) -> Result<Vec<Gun>, ServiceError> {
        let deadline = self.clock.now().plus_seconds(within_secs);
        let mut done = Vec::new();
        for gun in self.store.guns_with_server_key(TopRole::Timestamp).await? {
            let Some(ts) = self.store.latest(&gun, &RoleName::TIMESTAMP).await? else {
                continue;
            };
            let Ok(ts) = Signed::<Timestamp>::parse(&ts, &RoleName::TIMESTAMP) else {
                continue;
            };
            if ts.signed.common.expires > deadline {
                continue;
            }
            let resign_snapshot = match self.store.latest(&gun, &RoleName::SNAPSHOT).await? {
                Some(b) => Signed::<Snapshot>::parse(&b, &RoleName::SNAPSHOT)
                    .map(|s| s.signed.common.expires <= deadline)
                    .unwrap_or(false),
                None => false,
            };
            let upload = Upload {
                files: Default::default(),
                resign_snapshot,
            };
            match self.publish(&gun, upload).await {
                Ok(_) => done.push(gun),
                Err(e) => tracing::warn!(%gun, error = %e, "re-signing timestamp failed"),
            }
        }
        Ok(done)
    }

    /// The keys the service holds for `gun`, unsealed, and the rotation
    /// keys among them (by role).
    async fn signers(
        &self,
        gun: &Gun,
    ) -> Result<(ServerSigners, Vec<(TopRole, StoredServerKey)>), ServiceError> {
        let mut signers = ServerSigners::default();
        let mut rotations = Vec::new();
        for role in SERVER_ROLES {
            let next = self.store.next_server_key(gun, role).await?;
            let current = self.store.server_key(gun, role).await?;
            for stored in next.iter().chain(current.iter()) {
                let signer = self.master.unseal(gun, role, stored)?;
                match role {
                    TopRole::Timestamp => signers.timestamp.push(signer),
                    _ => signers.snapshot.push(signer),
                }
            }
            rotations.extend(next.map(|key| (role, key)));
        }
        Ok((signers, rotations))
    }
}

/// Only timestamp and snapshot keys are ever held by the service.
fn check_server_role(role: TopRole) -> Result<(), ServiceError> {
    if SERVER_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(ServiceError::NotServerRole {
            role: role.to_string(),
        })
    }
}
