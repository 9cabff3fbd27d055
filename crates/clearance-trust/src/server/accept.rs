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

use super::store::{NewFile, Store, StoreError};
use super::walk::walk_delegations;
use crate::client::{TrustedSet, UpdateError};
use crate::editor::{self, common, meta_for};
use crate::gun::Gun;
use crate::metadata::Signed;
use crate::schema::{MetaFile, RoleName, Root, Snapshot, Targets, Timestamp, TopRole, Version};
use crate::signer::{LocalSigner, Signer as _};
use crate::time::UtcTime;

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{role}: {source}")]
    Invalid {
        role: RoleName,
        #[source]
        source: UpdateError,
    },
    #[error(
        "{role}: version {got} is not newer than the stored version {stored}; fetch the current metadata and publish again"
    )]
    Stale {
        role: RoleName,
        stored: Version,
        got: Version,
    },
    #[error(
        "{role} is at version {}, the largest there is; no later version can follow",
        Version::MAX
    )]
    Exhausted { role: RoleName },
    #[error("more than {limit} delegated roles")]
    TooManyRoles { limit: usize },
    #[error(
        "{delegator} gives its hash bins other keys, threshold or bit length, so every bin must be signed again and published with it; {bin} is missing"
    )]
    MissingBin { delegator: RoleName, bin: RoleName },
    #[error("signing {role}: {message}")]
    Sign { role: TopRole, message: String },
    #[error("{role}: {message}")]
    Missing { role: TopRole, message: String },
    #[error("{role} is not delegated by any role of this repository")]
    NotDelegated { role: RoleName },
    #[error("snapshot: {0}")]
    Snapshot(String),
    #[error("nothing to publish")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
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
) -> Result<Vec<NewFile>, Refused> {
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
        return Err(Refused::Empty);
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
            return Err(Refused::Missing {
                role: TopRole::Root,
                message: "a new repository starts with root.json".into(),
            });
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
            return Err(Refused::Missing {
                role: TopRole::Targets,
                message: "a new repository needs targets.json".into(),
            });
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
            .ok_or_else(|| Refused::Missing {
                role: TopRole::Root,
                message: "root names no targets keys".into(),
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
        });
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
            editor::sign(&snapshot, &[signer]).map_err(|e| Refused::Sign {
                role: TopRole::Snapshot,
                message: e.to_string(),
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
            let bytes = editor::sign(&timestamp, &[signer]).map_err(|e| Refused::Sign {
                role: TopRole::Timestamp,
                message: e.to_string(),
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
    for (name, want) in expected {
        let Some(got) = snapshot.meta.get(name) else {
            return Err(Refused::Snapshot(format!("does not list {name}")));
        };
        if got.version != want.version {
            let shown = |v: Option<Version>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
            return Err(Refused::Snapshot(format!(
                "lists {name} at version {}, but version {} is current",
                shown(got.version),
                shown(want.version)
            )));
        }
        if let (Some(l), Some(w)) = (got.length, want.length)
            && l != w
        {
            return Err(Refused::Snapshot(format!(
                "gives {name} a length of {l}, but it is {w} bytes"
            )));
        }
        if let (Some(h), Some(w)) = (&got.hashes, &want.hashes) {
            for (algorithm, value) in h {
                if w.get(algorithm)
                    .is_some_and(|v| !v.eq_ignore_ascii_case(value))
                {
                    return Err(Refused::Snapshot(format!(
                        "gives {name} a {algorithm} that is not the file's"
                    )));
                }
            }
        }
    }
    if let Some(extra) = snapshot.meta.keys().find(|k| !expected.contains_key(*k)) {
        return Err(Refused::Snapshot(format!(
            "lists {extra}, which this repository does not have"
        )));
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
    match named {
        Some(s) => Ok(s),
        None => Err(Refused::Missing {
            role,
            message: format!(
                "this trust service does not hold the {role} key that root names, so {role}.json must be published with the rest"
            ),
        }),
    }
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
