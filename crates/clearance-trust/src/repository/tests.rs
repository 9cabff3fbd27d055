#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::time::Duration;

use super::*;
use crate::image::target_for_manifest;
use crate::publish::{Changed, PublishError, RoleSigners, ServerSigned};
use crate::schema::TopRole;
use crate::signer::{KeyKind, LocalSigner, Signer as _};

/// A directory repository, its publisher's keys and pinned root.
struct Fixture {
    _dir: tempfile::TempDir,
    store: DirectoryStore,
    pinned: DirStore,
    gun: Gun,
    keys: Vec<LocalSigner>,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
        let store = DirectoryStore::new(dir.path().join("repo"), transport);
        let pinned = DirStore::new(dir.path().join("pinned")).unwrap();
        let gun = Gun::new("127.0.0.1:5000/team/app").unwrap();
        let keys: Vec<LocalSigner> = (0..4)
            .map(|_| LocalSigner::generate(KeyKind::Ed25519).unwrap())
            .collect();
        let mut repo = RepositoryEditor::create(
            [
                keys[0].public_key(),
                keys[1].public_key(),
                keys[2].public_key(),
                keys[3].public_key(),
            ],
            Expiries::default(),
        );
        repo.name_repository(&gun);
        let fixture = Fixture {
            _dir: dir,
            store,
            pinned,
            gun,
            keys,
        };
        let files = repo
            .publish(Changed::RootAndTargets, &fixture.signers(), true)
            .unwrap();
        publish_once(&fixture.store, &fixture.gun, &files)
            .await
            .unwrap();
        let root = files.iter().find(|f| f.role == RoleName::ROOT).unwrap();
        fixture.pinned.save(&RoleName::ROOT, &root.bytes).unwrap();
        fixture
    }

    fn signers(&self) -> RoleSigners<'_> {
        RoleSigners {
            root: vec![&self.keys[0]],
            targets: vec![&self.keys[1]],
            snapshot: vec![&self.keys[2]],
            timestamp: vec![&self.keys[3]],
            ..Default::default()
        }
    }

    /// Sign `tag` as another publisher would, straight into the directory.
    async fn sign_elsewhere(&self, tag: &str) {
        let mut repo = load(&self.store, &self.gun, &self.pinned, Bins::All)
            .await
            .unwrap();
        repo.set_target(tag, target_for_manifest(tag.as_bytes(), None))
            .unwrap();
        let files = repo
            .publish(Changed::Targets, &self.signers(), false)
            .unwrap();
        publish_once(&self.store, &self.gun, &files).await.unwrap();
    }
}

/// A store that answers its first `stale` publishes as a service answers
/// one that another publish overtook (409), letting `overtake` land a
/// change first; then stores as the directory does.
struct Overtaken<'a> {
    inner: &'a Fixture,
    stale: Cell<u32>,
}

impl RepositoryStore for Overtaken<'_> {
    type Transport = HttpTransport;

    fn metadata_url(&self, gun: &Gun) -> String {
        self.inner.store.metadata_url(gun)
    }

    fn transport(&self) -> &HttpTransport {
        self.inner.store.transport()
    }

    fn signs_online_roles(&self) -> bool {
        false
    }

    async fn publish(
        &self,
        gun: &Gun,
        files: &[SignedFile],
    ) -> Result<PublishOutcome, RepositoryError> {
        let left = self.stale.get();
        if left > 0 {
            self.stale.set(left - 1);
            self.inner.sign_elsewhere(&format!("other-{left}")).await;
            return Ok(PublishOutcome::Stale(format!(
                "targets went to a new version ({left})"
            )));
        }
        self.inner.store.publish(gun, files).await
    }

    async fn check_login(&self, _gun: &Gun) -> Result<(), RepositoryError> {
        Ok(())
    }

    async fn exists(&self, gun: &Gun) -> Result<bool, RepositoryError> {
        self.inner.store.exists(gun).await
    }
}

/// What a caller's change may fail with: its own error, or the store's.
#[derive(Debug)]
enum Failed {
    Store(Box<RepositoryError>),
    Change(#[allow(dead_code)] PublishError),
}

impl From<RepositoryError> for Failed {
    fn from(e: RepositoryError) -> Failed {
        Failed::Store(Box::new(e))
    }
}

impl From<PublishError> for Failed {
    fn from(e: PublishError) -> Failed {
        Failed::Change(e)
    }
}

async fn sign_v1(store: &Overtaken<'_>, f: &Fixture) -> (Result<RepositoryEditor, Failed>, u32) {
    let repo = load(store, &f.gun, &f.pinned, Bins::All).await.unwrap();
    let mut changes = 0;
    let result = edit(store, &f.gun, &f.pinned, repo, Bins::All, |repo| {
        changes += 1;
        repo.set_target("v1", target_for_manifest(b"v1", None))?;
        Ok::<_, Failed>(repo.publish(Changed::Targets, &f.signers(), false)?)
    })
    .await;
    (result, changes)
}

#[tokio::test(start_paused = true)]
async fn a_publish_another_publisher_overtook_is_redone_on_what_that_one_published() {
    let f = Fixture::new().await;
    let store = Overtaken {
        inner: &f,
        stale: Cell::new(2),
    };
    let (result, changes) = sign_v1(&store, &f).await;
    let repo = result.unwrap();
    assert_eq!(changes, 3, "changed once per attempt");
    // Nothing the others signed meanwhile was lost.
    let stored = load(&f.store, &f.gun, &f.pinned, Bins::All).await.unwrap();
    for tag in ["v1", "other-1", "other-2"] {
        assert!(stored.target(tag).is_some(), "{tag}");
    }
    assert_eq!(stored.targets.common.version, repo.targets.common.version);
}

#[tokio::test(start_paused = true)]
async fn a_publish_overtaken_every_time_gives_up_after_the_last_attempt() {
    let f = Fixture::new().await;
    let store = Overtaken {
        inner: &f,
        stale: Cell::new(PUBLISH_ATTEMPTS),
    };
    let (result, changes) = sign_v1(&store, &f).await;
    assert!(
        matches!(&result, Err(Failed::Store(e)) if matches!(**e, RepositoryError::GaveUp { attempts, .. } if attempts == PUBLISH_ATTEMPTS)),
        "{result:?}"
    );
    assert_eq!(changes, PUBLISH_ATTEMPTS);
    let overtaken = Overtaken {
        inner: &f,
        stale: Cell::new(1),
    };
    assert!(matches!(
        publish_once(&overtaken, &f.gun, &[]).await,
        Err(RepositoryError::Overtaken { .. })
    ));
}

#[tokio::test]
async fn nothing_is_loaded_without_a_pinned_root() {
    let f = Fixture::new().await;
    let empty = DirStore::new(f._dir.path().join("nothing pinned")).unwrap();
    assert!(matches!(
        load(&f.store, &f.gun, &empty, Bins::All).await,
        Err(RepositoryError::NotPinned { .. })
    ));
    assert!(f.store.exists(&f.gun).await.unwrap());
    let other = Gun::new("127.0.0.1:5000/team/other").unwrap();
    assert!(!f.store.exists(&other).await.unwrap());
}

#[test]
fn the_store_signs_the_online_roles_whose_keys_the_publisher_lacks() {
    let keys: Vec<LocalSigner> = (0..4)
        .map(|_| LocalSigner::generate(KeyKind::Ed25519).unwrap())
        .collect();
    let repo = RepositoryEditor::create(
        [
            keys[0].public_key(),
            keys[1].public_key(),
            keys[2].public_key(),
            keys[3].public_key(),
        ],
        Expiries::default(),
    );
    let holding = |held: &[usize]| {
        let ids: Vec<String> = held.iter().map(|i| keys[*i].key_id()).collect();
        move |k: &str| ids.iter().any(|id| id == k)
    };
    let root = &repo.root;
    assert_eq!(
        ServerSigned::for_publisher(root, true, holding(&[2, 3])),
        ServerSigned::Neither
    );
    assert_eq!(
        ServerSigned::for_publisher(root, true, holding(&[2])),
        ServerSigned::Timestamp
    );
    assert_eq!(
        ServerSigned::for_publisher(root, true, holding(&[])),
        ServerSigned::SnapshotAndTimestamp
    );
    assert_eq!(
        ServerSigned::for_publisher(root, false, holding(&[])),
        ServerSigned::Neither
    );
    let mut asked = Vec::new();
    let online = OnlineKeys::load(ServerSigned::Timestamp, |role| {
        asked.push(role);
        LocalSigner::generate(KeyKind::Ed25519)
    })
    .unwrap();
    assert_eq!(asked, [TopRole::Snapshot]);
    assert!(online.snapshot.is_some() && online.timestamp.is_none());
    let signers = online.signers(vec![&keys[1]]);
    assert_eq!((signers.snapshot.len(), signers.timestamp.len()), (1, 0));
}

#[tokio::test]
async fn f14_1_a_directory_publisher_waits_a_bounded_time_for_the_lock() {
    let f = Fixture::new().await;
    let held = f.store.lock(&f.gun).await.unwrap();
    assert!(held.is_held());
    let waiting = f.store.clone().with_lock_wait(Duration::from_millis(200));
    assert!(matches!(
        waiting.lock(&f.gun).await,
        Err(RepositoryError::Locked { .. })
    ));
    drop(held);
    assert!(waiting.lock(&f.gun).await.unwrap().is_held());
}
