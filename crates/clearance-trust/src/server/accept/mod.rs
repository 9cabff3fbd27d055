//! Accepting a publish: new metadata is checked against what the service
//! already trusts for the repository, and the service signs snapshot and
//! timestamp when it holds their keys. Nothing is stored here; the result is
//! the list of files to store in one transaction.
//!
//! The checks, in order, each a function of its own:
//! 1. [`Check::root`] (root.rs): a new root is signed by a threshold of the
//!    trusted root's root keys and of its own, one version on (TUF
//!    5.3.4–5.3.9); a new repository's root is signed by itself; a root
//!    that names a repository names this one (`clearance_repository`,
//!    review B-7);
//! 2. [`Check::targets`] (targets.rs, with the delegation walk in walk.rs):
//!    every uploaded targets role is at a higher version than the stored
//!    one and is delegated by the role that will verify it; a stored role
//!    whose delegator now gives it other keys is verified again, and when a
//!    delegator changes its hash bins' grant (keys, threshold, bit length)
//!    every bin must be in the upload;
//! 3. [`Check::snapshot`] and [`Check::timestamp`] (snapshot.rs): snapshot
//!    lists every targets role at the version now current (never dropping
//!    or lowering what the previous snapshot listed), timestamp names that
//!    snapshot, and both are at higher versions;
//! 4. [`Check::as_a_client_sees_it`] (client.rs): the whole result passes
//!    the client's own checks ([`crate::client::TrustedSet`]), so what the
//!    service stores is exactly what clients will accept.

mod client;
mod floors;
mod refused;
mod root;
mod snapshot;
mod targets;
mod walk;

use std::collections::BTreeMap;

pub use refused::{Refused, SnapshotListing};

use self::floors::Floors;
use self::root::AcceptedRoot;
use self::targets::AcceptedTargets;
use super::error::ServiceError;
use super::store::{NewFile, Store};
use crate::gun::Gun;
use crate::metadata::Signed;
use crate::schema::{RoleName, Snapshot, Version};
use crate::signer::LocalSigner;
use crate::time::UtcTime;

/// The keys the service holds for one repository (already unsealed): for
/// each role, a key made for a rotation first, then the current one. The
/// first that root names signs.
#[derive(Debug, Default)]
pub struct ServerSigners {
    /// Snapshot keys, the rotation's first.
    pub snapshot: Vec<LocalSigner>,
    /// Timestamp keys, the rotation's first.
    pub timestamp: Vec<LocalSigner>,
}

/// How long the signatures the service makes last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Snapshot's lifetime, in seconds (three years by default).
    pub snapshot_secs: i64,
    /// Timestamp's lifetime, in seconds (14 days by default).
    pub timestamp_secs: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            snapshot_secs: 3 * 365 * 86_400,
            timestamp_secs: 14 * 86_400,
        }
    }
}

/// What a publish asks for: uploaded files by role name. An empty upload
/// re-signs timestamp (and snapshot with it when `resign_snapshot`).
#[derive(Debug, Default)]
pub struct Upload {
    /// The uploaded documents, by role.
    pub files: BTreeMap<RoleName, Vec<u8>>,
    /// With no files: re-sign snapshot too, not only timestamp.
    pub resign_snapshot: bool,
}

/// Check an upload against the stored repository and return what to store;
/// `now` is the service's time (what the checks and new signatures use).
pub async fn accept(
    store: &Store,
    gun: &Gun,
    mut upload: Upload,
    signers: &ServerSigners,
    lifetimes: Lifetimes,
    now: UtcTime,
) -> Result<Vec<NewFile>, ServiceError> {
    let resign_only = upload.files.is_empty();
    let mut check = Check::read(store, gun, now).await?;
    if resign_only && !check.floors.stored.contains_key(&RoleName::TIMESTAMP) {
        return Err(Refused::Empty.into());
    }
    let files = &mut upload.files;
    let (new_root, new_targets) = (
        files.remove(&RoleName::ROOT),
        files.remove(&RoleName::TARGETS),
    );
    let (new_snapshot, new_timestamp) = (
        files.remove(&RoleName::SNAPSHOT),
        files.remove(&RoleName::TIMESTAMP),
    );

    // 1. root
    let root = check.root(new_root).await?;
    // 2. targets and delegated roles
    let targets = check.targets(&root, new_targets, files).await?;
    // 3. snapshot and timestamp
    let keep_snapshot = resign_only && !upload.resign_snapshot;
    let snapshot = check.snapshot(
        &root,
        &targets,
        new_snapshot,
        keep_snapshot,
        &signers.snapshot,
        lifetimes.snapshot_secs,
    )?;
    let timestamp = check.timestamp(
        &root,
        &snapshot,
        new_timestamp,
        &signers.timestamp,
        lifetimes.timestamp_secs,
    )?;
    // 4. everything as a client will see it
    check.as_a_client_sees_it(&root, &targets, &snapshot, &timestamp)?;
    Ok(check.out)
}

/// A publish being checked against one repository's stored state, and what
/// it will store.
struct Check<'a> {
    store: &'a Store,
    gun: &'a Gun,
    /// The service's time: what the checks and new signatures use.
    now: UtcTime,
    /// The versions every new one must go beyond.
    floors: Floors,
    /// The snapshot clients hold now, if any.
    old_snapshot: Option<Vec<u8>>,
    /// What to store, in order.
    out: Vec<NewFile>,
}

impl<'a> Check<'a> {
    /// What `gun` has now: its newest versions and the snapshot listing them.
    async fn read(store: &'a Store, gun: &'a Gun, now: UtcTime) -> Result<Check<'a>, ServiceError> {
        let old_snapshot = store.latest(gun, &RoleName::SNAPSHOT).await?;
        let floors = Floors {
            stored: store
                .current(gun)
                .await?
                .into_iter()
                .map(|f| (f.role, f.version))
                .collect(),
            listed: match &old_snapshot {
                Some(b) => parse::<Snapshot>(b, &RoleName::SNAPSHOT)?.meta,
                None => BTreeMap::new(),
            },
        };
        Ok(Check {
            store,
            gun,
            now,
            floors,
            old_snapshot,
            out: Vec::new(),
        })
    }

    /// Store `bytes` as `role` at `version`.
    fn store_file(&mut self, role: &RoleName, version: Version, bytes: &[u8]) {
        self.out.push(NewFile {
            role: role.clone(),
            version,
            bytes: bytes.to_vec(),
        });
    }
}

/// `bytes` as TUF 1.0 metadata of form `T`, named `role`: refused if it is
/// not (Notary's form included: the service stores TUF 1.0 only).
fn parse<T: crate::schema::Role + crate::schema::Validate>(
    bytes: &[u8],
    role: &RoleName,
) -> Result<T, Refused> {
    Signed::<T>::parse_tuf1(bytes, role)
        .map(|s| s.signed)
        .map_err(|e| Refused::Invalid {
            role: role.clone(),
            source: e.into(),
        })
}

#[cfg(test)]
mod tests;
