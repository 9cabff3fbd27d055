//! Accepting a publish: new metadata is checked against what the service
//! already trusts for the repository, and the service signs snapshot and
//! timestamp when it holds their keys. Nothing is stored here; the result is
//! the list of files to store in one transaction.
//!
//! The checks, in order:
//! 1. a new root is signed by a threshold of the trusted root's root keys
//!    and of its own, one version on (TUF 5.3.4–5.3.9); a new repository's
//!    root is signed by itself; a root that names a repository names this
//!    one (`clearance_repository`, review B-7);
//! 2. every uploaded targets role is at a higher version than the stored
//!    one and is delegated by the role that will verify it; a stored role
//!    whose delegator now gives it other keys is verified again, and when a
//!    delegator changes its hash bins' grant (keys, threshold, bit length)
//!    every bin must be in the upload;
//! 3. snapshot lists every targets role at the version now current (never
//!    dropping or lowering what the previous snapshot listed), timestamp
//!    names that snapshot, and both are at higher versions;
//! 4. the whole result passes the client's own checks ([`TrustedSet`]),
//!    so what the service stores is exactly what clients will accept.

use std::collections::{BTreeMap, HashMap};

use super::error::ServiceError;
use super::store::{NewFile, Store};
use super::walk::walk_delegations;
use crate::client::{TrustedSet, UpdateError};
use crate::editor::{self, EditError, common, meta_for};
use crate::gun::Gun;
use crate::metadata::Signed;
use crate::schema::{MetaFile, RoleName, Root, Snapshot, Targets, Timestamp, TopRole, Version};
use crate::signer::{LocalSigner, Signer as _};
use crate::time::UtcTime;

/// Why a publish was refused: what the publisher uploaded (or what the
/// service holds for it) does not make a repository clients would accept.
/// Nothing of it was stored. The database's own failures are
/// [`ServiceError::Store`], never one of these.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A document does not verify, or breaks a client's rule (TUF §5).
    #[error("{role}: {source}")]
    Invalid {
        /// The role whose document it is.
        role: RoleName,
        /// The client's reason.
        #[source]
        source: UpdateError,
    },
    /// A role is not newer than a version clients may have seen (another
    /// publish landed first: 409).
    #[error(
        "{role}: version {got} is not newer than the stored version {stored}; fetch the current metadata and publish again"
    )]
    Stale {
        /// The role.
        role: RoleName,
        /// The highest version stored or listed.
        stored: Version,
        /// The version uploaded.
        got: Version,
    },
    /// A role the service signs is at the largest version there is.
    #[error(
        "{role} is at version {}, the largest there is; no later version can follow",
        Version::MAX
    )]
    Exhausted {
        /// The role.
        role: RoleName,
    },
    /// The delegation walk met more roles than one publish may hold.
    #[error("more than {limit} delegated roles")]
    TooManyRoles {
        /// The most roles walked.
        limit: usize,
    },
    /// A delegator changed its hash bins' grant without uploading every bin
    /// (review B-11).
    #[error(
        "{delegator} gives its hash bins other keys, threshold or bit length, so every bin must be signed again and published with it; {bin} is missing"
    )]
    MissingBin {
        /// The role that delegates to the bins.
        delegator: RoleName,
        /// The first bin missing from the upload.
        bin: RoleName,
    },
    /// The service could not sign a role it holds the key for (500).
    #[error("signing {role}: {source}")]
    Sign {
        /// Snapshot or timestamp.
        role: TopRole,
        /// The signer's failure.
        #[source]
        source: EditError,
    },
    /// A new repository's first publish lacks a role it starts with.
    #[error("{role}: a new repository starts with {}", .role.role().file_name())]
    FirstPublish {
        /// Root or targets.
        role: TopRole,
    },
    /// Root names no keys for a top-level role.
    #[error("root: root names no {role} keys")]
    RootLacksKeys {
        /// The role.
        role: TopRole,
    },
    /// Snapshot or timestamp must be signed by the service, which does not
    /// hold the key root names for it, and the publisher did not upload it.
    #[error(
        "{role}: this trust service does not hold the {role} key that root names, so {role}.json must be published with the rest"
    )]
    NotServerSigned {
        /// Snapshot or timestamp.
        role: TopRole,
    },
    /// An uploaded role no role of the repository delegates to.
    #[error("{role} is not delegated by any role of this repository")]
    NotDelegated {
        /// The role.
        role: RoleName,
    },
    /// An uploaded snapshot does not list exactly what is current.
    #[error("snapshot: {0}")]
    SnapshotListing(SnapshotListing),
    /// A re-sign was asked of a repository that has nothing stored.
    #[error("nothing to publish")]
    Empty,
}

/// How an uploaded snapshot's `meta` differs from what is current.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotListing {
    /// A current role is not listed.
    #[error("does not list {entry}")]
    Missing {
        /// Its `meta` entry (`ROLE.json`).
        entry: String,
    },
    /// A role is listed at another version than its current one.
    #[error("lists {entry} at version {}, but version {} is current", shown(.listed), shown(.current))]
    Version {
        /// The `meta` entry.
        entry: String,
        /// The version the snapshot lists.
        listed: Option<Version>,
        /// The version that is current.
        current: Option<Version>,
    },
    /// A role is listed with another length than its bytes have.
    #[error("gives {entry} a length of {listed}, but it is {actual} bytes")]
    Length {
        /// The `meta` entry.
        entry: String,
        /// The length listed.
        listed: u64,
        /// The file's length.
        actual: u64,
    },
    /// A role is listed with a hash that is not its bytes'.
    #[error("gives {entry} a {algorithm} that is not the file's")]
    Hash {
        /// The `meta` entry.
        entry: String,
        /// The hash algorithm (`sha256`).
        algorithm: String,
    },
    /// The snapshot lists a role the repository does not have.
    #[error("lists {entry}, which this repository does not have")]
    Extra {
        /// The `meta` entry.
        entry: String,
    },
}

/// A listed version, or `none`.
fn shown(version: &Option<Version>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

impl Refused {
    fn invalid(role: &RoleName) -> impl FnOnce(UpdateError) -> Refused + '_ {
        move |source| Refused::Invalid {
            role: role.clone(),
            source,
        }
    }
}

/// The keys the service holds for one repository (already unsealed): for
/// each role, a key made for a rotation first, then the current one. The
/// first that root names signs.
#[derive(Debug, Default)]
pub struct ServerSigners {
    pub snapshot: Vec<LocalSigner>,
    pub timestamp: Vec<LocalSigner>,
}

/// How long the signatures the service makes last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub snapshot_secs: i64,
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
/// with `resign` set re-signs timestamp (and snapshot with it when asked).
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
    if resign_only && !floors.stored.contains_key(&RoleName::TIMESTAMP) {
        return Err(Refused::Empty.into());
    }
    let mut out = Vec::new();

    // 1. root
    let root_role = RoleName::ROOT;
    let invalid_root = Refused::invalid(&root_role);
    let old_root = store.latest(gun, &RoleName::ROOT).await?;
    let new_root = upload.files.remove(&RoleName::ROOT);
    let root_bytes = match (&new_root, &old_root) {
        // A root naming a repository must name this one (B-7), and a chain
        // that named it keeps naming it.
        (Some(new), Some(old)) => {
            TrustedSet::new(old, now)
                .and_then(|mut set| {
                    set.bind_repository(gun)?;
                    set.update_root(new)
                })
                .map_err(invalid_root)?;
            new.clone()
        }
        (Some(new), None) => {
            TrustedSet::new(new, now)
                .and_then(|mut set| set.bind_repository(gun))
                .map_err(invalid_root)?;
            new.clone()
        }
        (None, Some(old)) => old.clone(),
        (None, None) => {
            return Err(Refused::FirstPublish {
                role: TopRole::Root,
            }
            .into());
        }
    };
    let root = parse::<Root>(&root_bytes, &RoleName::ROOT)?;
    if new_root.is_some() {
        out.push(new_file(&RoleName::ROOT, root.common.version, &root_bytes));
    }

    // 2. targets and delegated roles
    let old_targets = store.latest(gun, &RoleName::TARGETS).await?;
    let new_targets = upload.files.remove(&RoleName::TARGETS);
    let targets_bytes = match (&new_targets, &old_targets) {
        (Some(b), _) | (None, Some(b)) => b.clone(),
        (None, None) => {
            return Err(Refused::FirstPublish {
                role: TopRole::Targets,
            }
            .into());
        }
    };
    let targets = Signed::<Targets>::parse_tuf1(&targets_bytes, &RoleName::TARGETS)
        .map_err(|e| Refused::invalid(&RoleName::TARGETS)(e.into()))?;
    if new_targets.is_some() {
        floors.check_newer(&RoleName::TARGETS, targets.version())?;
        // Signed by root's targets keys? Said now, before anything else is missing.
        let keys = root
            .roles
            .get(&TopRole::Targets)
            .ok_or(Refused::RootLacksKeys {
                role: TopRole::Targets,
            })?;
        targets
            .verify(&root.keys, &keys.keyids, keys.threshold, &RoleName::TARGETS)
            .map_err(|e| Refused::invalid(&RoleName::TARGETS)(e.into()))?;
        out.push(new_file(
            &RoleName::TARGETS,
            targets.version(),
            &targets_bytes,
        ));
    }
    let targets = targets.signed;
    let uploaded_snapshot = upload.files.remove(&RoleName::SNAPSHOT);
    let uploaded_timestamp = upload.files.remove(&RoleName::TIMESTAMP);
    let old_targets_parsed = match &old_targets {
        Some(b) => Some(parse::<Targets>(b, &RoleName::TARGETS)?),
        None => None,
    };
    let walk = walk_delegations(
        store,
        gun,
        &targets,
        old_targets_parsed.as_ref(),
        new_targets.is_some(),
        &mut upload.files,
    )
    .await?;
    if let Some(extra) = upload.files.keys().next() {
        return Err(Refused::NotDelegated {
            role: extra.clone(),
        }
        .into());
    }
    for (role, bytes, version) in &walk.uploaded {
        floors.check_newer(role, *version)?;
        out.push(new_file(role, *version, bytes));
    }

    // 3. snapshot: every role at its current version. Built from the previous
    // snapshot's entries, raised only by uploads that passed `check_newer`
    // (newer than both the stored and the listed version), so it never drops
    // or lowers one; an uploaded snapshot must list exactly that.
    let mut meta = floors.listed.clone();
    if new_targets.is_some() || !meta.contains_key(&RoleName::TARGETS.meta_name()) {
        meta.insert(
            RoleName::TARGETS.meta_name(),
            meta_for(targets.common.version, &targets_bytes),
        );
    }
    for (role, bytes, version) in &walk.uploaded {
        meta.insert(role.meta_name(), meta_for(*version, bytes));
    }
    let snapshot_bytes = match (uploaded_snapshot, &old_snapshot) {
        (Some(bytes), _) => {
            let s = parse::<Snapshot>(&bytes, &RoleName::SNAPSHOT)?;
            floors.check_newer(&RoleName::SNAPSHOT, s.common.version)?;
            check_snapshot_lists(&s, &meta)?;
            bytes
        }
        (None, Some(old)) if resign_only && !upload.resign_snapshot => old.clone(),
        (None, _) => {
            let signer = server_signer(&root, TopRole::Snapshot, &signers.snapshot)?;
            let snapshot = Snapshot {
                common: common(
                    TopRole::Snapshot,
                    floors.next(&RoleName::SNAPSHOT)?,
                    now.plus_seconds(lifetimes.snapshot_secs),
                ),
                meta,
                extra: BTreeMap::new(),
            };
            editor::sign(&snapshot, &[signer]).map_err(|source| Refused::Sign {
                role: TopRole::Snapshot,
                source,
            })?
        }
    };
    let snapshot_version = parse::<Snapshot>(&snapshot_bytes, &RoleName::SNAPSHOT)?
        .common
        .version;
    if floors.stored.get(&RoleName::SNAPSHOT) != Some(&snapshot_version) {
        out.push(new_file(
            &RoleName::SNAPSHOT,
            snapshot_version,
            &snapshot_bytes,
        ));
    }

    // timestamp
    let (timestamp_version, timestamp_bytes) = match uploaded_timestamp {
        Some(bytes) => {
            let version = parse::<Timestamp>(&bytes, &RoleName::TIMESTAMP)?
                .common
                .version;
            floors.check_newer(&RoleName::TIMESTAMP, version)?;
            (version, bytes)
        }
        None => {
            let signer = server_signer(&root, TopRole::Timestamp, &signers.timestamp)?;
            let version = floors.next(&RoleName::TIMESTAMP)?;
            let timestamp = Timestamp {
                common: common(
                    TopRole::Timestamp,
                    version,
                    now.plus_seconds(lifetimes.timestamp_secs),
                ),
                meta: BTreeMap::from([(
                    RoleName::SNAPSHOT.meta_name(),
                    meta_for(snapshot_version, &snapshot_bytes),
                )]),
                extra: BTreeMap::new(),
            };
            let bytes = editor::sign(&timestamp, &[signer]).map_err(|source| Refused::Sign {
                role: TopRole::Timestamp,
                source,
            })?;
            (version, bytes)
        }
    };
    out.push(new_file(
        &RoleName::TIMESTAMP,
        timestamp_version,
        &timestamp_bytes,
    ));

    // 4. everything as a client will see it
    let mut set = TrustedSet::new(&root_bytes, now).map_err(Refused::invalid(&RoleName::ROOT))?;
    set.bind_repository(gun)
        .map_err(Refused::invalid(&RoleName::ROOT))?;
    // The previous snapshot, as a client that trusted it holds it: the new
    // one may neither drop nor lower a role it lists (5.5.5).
    if let Some(old) = &old_snapshot {
        set.remember_snapshot(old);
    }
    set.update_timestamp(&timestamp_bytes)
        .map_err(Refused::invalid(&RoleName::TIMESTAMP))?;
    set.update_snapshot(&snapshot_bytes, false)
        .map_err(Refused::invalid(&RoleName::SNAPSHOT))?;
    set.update_targets(&targets_bytes, &RoleName::TARGETS, &RoleName::ROOT)
        .map_err(Refused::invalid(&RoleName::TARGETS))?;
    for (role, delegator, bytes) in &walk.to_verify {
        set.update_targets(bytes, role, delegator)
            .map_err(Refused::invalid(role))?;
    }
    Ok(out)
}

/// An uploaded snapshot must list exactly what is now current.
fn check_snapshot_lists(
    snapshot: &Snapshot,
    expected: &BTreeMap<String, crate::schema::MetaFile>,
) -> Result<(), Refused> {
    let refuse = |listing| Err(Refused::SnapshotListing(listing));
    for (name, want) in expected {
        let entry = || name.clone();
        let Some(got) = snapshot.meta.get(name) else {
            return refuse(SnapshotListing::Missing { entry: entry() });
        };
        if got.version != want.version {
            return refuse(SnapshotListing::Version {
                entry: entry(),
                listed: got.version,
                current: want.version,
            });
        }
        if let (Some(listed), Some(actual)) = (got.length, want.length)
            && listed != actual
        {
            return refuse(SnapshotListing::Length {
                entry: entry(),
                listed,
                actual,
            });
        }
        if let (Some(h), Some(w)) = (&got.hashes, &want.hashes) {
            for (algorithm, value) in h {
                if w.get(algorithm)
                    .is_some_and(|v| !v.eq_ignore_ascii_case(value))
                {
                    return refuse(SnapshotListing::Hash {
                        entry: entry(),
                        algorithm: algorithm.clone(),
                    });
                }
            }
        }
    }
    if let Some(extra) = snapshot.meta.keys().find(|k| !expected.contains_key(*k)) {
        return refuse(SnapshotListing::Extra {
            entry: extra.clone(),
        });
    }
    Ok(())
}

/// The server's key for `role` if root names it (threshold 1).
fn server_signer<'a>(
    root: &Root,
    role: TopRole,
    candidates: &'a [LocalSigner],
) -> Result<&'a dyn crate::signer::Signer, Refused> {
    let named = root
        .roles
        .get(&role)
        .filter(|k| k.threshold == 1)
        .and_then(|k| candidates.iter().find(|s| k.keyids.contains(&s.key_id())));
    named
        .map(|s| s as &dyn crate::signer::Signer)
        .ok_or(Refused::NotServerSigned { role })
}

/// The versions an upload must go beyond: each role's newest stored
/// version, and the version the previous snapshot lists for it (B-3: the
/// snapshot is what clients hold, so a role the store lost track of, or a
/// delegation removed and added again, can still never go below it).
struct Floors {
    stored: HashMap<RoleName, Version>,
    listed: BTreeMap<String, MetaFile>,
}

impl Floors {
    /// The highest version `role` has had, stored or listed.
    fn highest(&self, role: &RoleName) -> Option<Version> {
        let listed = self.listed.get(&role.meta_name()).and_then(|m| m.version);
        self.stored.get(role).copied().max(listed)
    }

    /// TUF 5.4.3 / 5.5.5 / 5.6.4, from the repository's side: a new version
    /// of a role must be higher than every version clients may have seen.
    fn check_newer(&self, role: &RoleName, got: Version) -> Result<(), Refused> {
        match self.highest(role) {
            Some(stored) if got <= stored => Err(Refused::Stale {
                role: role.clone(),
                stored,
                got,
            }),
            _ => Ok(()),
        }
    }

    /// The version the service gives a role it signs: one past the highest.
    fn next(&self, role: &RoleName) -> Result<Version, Refused> {
        match self.highest(role) {
            None => Ok(Version::FIRST),
            Some(v) => v
                .next()
                .map_err(|_| Refused::Exhausted { role: role.clone() }),
        }
    }
}

pub(super) fn parse<T: crate::schema::Role + crate::schema::Validate>(
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

fn new_file(role: &RoleName, version: Version, bytes: &[u8]) -> NewFile {
    NewFile {
        role: role.clone(),
        version,
        bytes: bytes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u64) -> Version {
        Version::new(n).unwrap()
    }

    fn role(name: &str) -> RoleName {
        RoleName::new(name).unwrap()
    }

    /// Review A.1 (4): a store failure met while checking a publish is the
    /// service's own failure (500, "see the server log"), in one place,
    /// never a refusal of the publisher's metadata.
    #[tokio::test]
    async fn a1_4_a_store_failure_while_checking_is_the_services_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap())
            .await
            .unwrap();
        store.close().await;
        let upload = Upload {
            files: BTreeMap::from([(RoleName::ROOT, b"{}".to_vec())]),
            resign_snapshot: false,
        };
        let gun = crate::gun::Gun::new("r/a").unwrap();
        let err = accept(
            &store,
            &gun,
            upload,
            &ServerSigners::default(),
            Lifetimes::default(),
            UtcTime::now(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ServiceError::Store(super::super::StoreError::Query(_))),
            "{err:?}"
        );
        assert!(err.is_internal());
    }

    #[test]
    fn snapshot_listing_refusals_say_what_differs() {
        let listing = |l: SnapshotListing| Refused::SnapshotListing(l).to_string();
        assert_eq!(
            listing(SnapshotListing::Version {
                entry: "targets.json".into(),
                listed: Some(v(2)),
                current: None,
            }),
            "snapshot: lists targets.json at version 2, but version none is current"
        );
        assert_eq!(
            listing(SnapshotListing::Missing {
                entry: "releases.json".into()
            }),
            "snapshot: does not list releases.json"
        );
        assert_eq!(
            Refused::FirstPublish {
                role: TopRole::Root
            }
            .to_string(),
            "root: a new repository starts with root.json"
        );
    }

    #[test]
    fn b3_a_role_never_goes_below_the_version_the_previous_snapshot_lists() {
        // The store's newest releases row says 4, the snapshot clients hold says 10.
        let floors = Floors {
            stored: HashMap::from([(role("releases"), v(4)), (RoleName::SNAPSHOT, v(7))]),
            listed: BTreeMap::from([("releases.json".to_owned(), editor::meta_version(v(10)))]),
        };
        assert!(matches!(
            floors.check_newer(&role("releases"), v(5)),
            Err(Refused::Stale { stored, .. }) if stored == 10
        ));
        assert!(floors.check_newer(&role("releases"), v(11)).is_ok());
        assert_eq!(floors.next(&role("releases")).unwrap(), 11);
        assert_eq!(floors.next(&RoleName::SNAPSHOT).unwrap(), 8);
        assert_eq!(floors.next(&RoleName::TIMESTAMP).unwrap(), 1);
        let top = Floors {
            stored: HashMap::from([(RoleName::TIMESTAMP, v(Version::MAX))]),
            listed: BTreeMap::new(),
        };
        assert!(matches!(
            top.next(&RoleName::TIMESTAMP),
            Err(Refused::Exhausted { role }) if role == TopRole::Timestamp
        ));
    }
}
