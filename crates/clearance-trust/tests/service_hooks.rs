//! The trust service in process, driven through its test hooks (review
//! A.6, "tests that can fail"): a store that fails after row k of a publish,
//! for every k, and clocks the tests set instead of waiting for time to
//! pass. The service runs on a temporary SQLite store; a consumer reaches it
//! over HTTP on 127.0.0.1.
#![cfg(all(feature = "server", feature = "test-hooks"))]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use clearance_trust::client::{DirStore, HttpTransport, UpdateError, Updater, UpdaterSettings};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{
    Changed, Expiries, RepositoryEditor, RoleSigners, ServerSigned, SignedFile,
};
use clearance_trust::schema::{TargetFile, Version};
use clearance_trust::server::{
    FileInfo, InsertFault, Lifetimes, MasterKey, NewFile, ServiceError, Store, StoreError,
    TrustService, Upload,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::time::{Clock as _, ManualClock, UtcTime};
use clearance_trust::{Gun, RoleName, TopRole};

const GUN: &str = "127.0.0.1:5000/team/app";

fn gun() -> Gun {
    Gun::new(GUN).unwrap()
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

/// A service holding the snapshot and timestamp keys of one repository,
/// and that repository's publisher. The service runs on `clock`, which
/// starts at the system's time and moves only when a test moves it.
struct Setup {
    _dir: tempfile::TempDir,
    service: Arc<TrustService>,
    clock: ManualClock,
    url: String,
    root_key: LocalSigner,
    targets_key: LocalSigner,
    repo: RepositoryEditor,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("trust.db").to_str().unwrap())
        .await
        .unwrap();
    let master = MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
    let clock = ManualClock::new(UtcTime::now());
    let service = Arc::new(
        TrustService::new(store, master, Lifetimes::default(), None)
            .with_clock(Arc::new(clock.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = clearance_trust::server::router(service.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let root_key = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
    let targets_key = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    let server_key = |role| {
        let service = service.clone();
        async move {
            service
                .server_key(&gun(), role, true)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let (snapshot, timestamp) = (
        server_key(TopRole::Snapshot).await,
        server_key(TopRole::Timestamp).await,
    );
    let mut repo = RepositoryEditor::create(
        [
            root_key.public_key(),
            targets_key.public_key(),
            &snapshot,
            &timestamp,
        ],
        Expiries::default(),
    );
    repo.name_repository(&gun());
    repo.set_target("v1", manifest(1)).unwrap();
    let mut setup = Setup {
        _dir: dir,
        service,
        clock,
        url: format!("http://{addr}/v2/{GUN}/_trust/tuf/"),
        root_key,
        targets_key,
        repo,
    };
    let files = setup.sign(Changed::RootAndTargets, &[], true);
    setup.publish(&files).await.unwrap();
    setup
}

impl Setup {
    fn sign(
        &mut self,
        changed: Changed,
        releases: &[&LocalSigner],
        first: bool,
    ) -> Vec<SignedFile> {
        let mut signers = RoleSigners {
            root: vec![&self.root_key],
            targets: vec![&self.targets_key],
            server: ServerSigned::SnapshotAndTimestamp,
            ..Default::default()
        };
        signers.delegated.insert(
            role("releases"),
            releases.iter().map(|s| *s as &dyn Signer).collect(),
        );
        self.repo.publish(changed, &signers, first).unwrap()
    }

    async fn publish(&self, files: &[SignedFile]) -> Result<Vec<NewFile>, ServiceError> {
        let upload = Upload {
            files: files
                .iter()
                .map(|f| (f.role.clone(), f.bytes.clone()))
                .collect(),
            resign_snapshot: false,
        };
        self.service.publish(&gun(), upload).await
    }

    fn store(&self) -> &Store {
        self.service.store()
    }

    /// The newest version of every role, sorted by role.
    async fn current(&self) -> Vec<FileInfo> {
        let mut current = self.store().current(&gun()).await.unwrap();
        current.sort_by(|a, b| a.role.cmp(&b.role));
        current
    }

    /// A consumer pinning the first root, with its own store in `dir`, its
    /// clock at the service's.
    async fn client(&self, dir: &std::path::Path) -> Updater<HttpTransport> {
        self.client_at(dir, self.clock.now()).await
    }

    /// As [`Setup::client`], its clock standing at `at`.
    async fn client_at(&self, dir: &std::path::Path, at: UtcTime) -> Updater<HttpTransport> {
        let store = DirStore::new(dir).unwrap();
        if store.load(&RoleName::ROOT).unwrap().is_none() {
            let root = self
                .store()
                .by_version(&gun(), &RoleName::ROOT, Version::FIRST)
                .await
                .unwrap()
                .unwrap();
            store.save(&RoleName::ROOT, &root).unwrap();
        }
        let http = HttpTransport::new(std::time::Duration::from_secs(10), None).unwrap();
        let settings = UpdaterSettings {
            clock: Arc::new(ManualClock::new(at)),
            ..UpdaterSettings::default()
        };
        Updater::new(store, http, &self.url, settings)
            .unwrap()
            .bind_repository(&gun())
            .unwrap()
    }
}

fn manifest(n: u32) -> TargetFile {
    target_for_manifest(format!(r#"{{"schemaVersion":2,"n":{n}}}"#).as_bytes(), None)
}

/// Review A.6: a publish that fails after any of its rows leaves every role
/// at its previous version, stores nothing of its own, and the same
/// publish lands afterwards. The publish has five rows (root, releases,
/// targets, snapshot, timestamp); the store fails after row k for each k.
#[tokio::test]
async fn a6_a_publish_failing_after_any_row_leaves_the_previous_versions_served() {
    let mut setup = setup().await;
    let consumer = tempfile::tempdir().unwrap();
    assert!(
        setup
            .client(consumer.path())
            .await
            .target_info("v1")
            .await
            .unwrap()
            .is_some()
    );

    // One publish of several rows: a new root, a new delegation with a tag,
    // targets, and the snapshot and timestamp the service signs.
    let releases = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    setup
        .repo
        .add_delegation(
            &role("releases"),
            &[releases.public_key().clone()],
            1,
            vec!["*".into()],
            false,
        )
        .unwrap();
    setup
        .repo
        .set_delegated_target(&role("releases"), "v2", manifest(2))
        .unwrap();
    let files = setup.sign(Changed::RootAndTargets, &[&releases], false);
    let before = setup.current().await;
    let rows = 5;

    for k in 1..=rows {
        setup.store().arm(InsertFault::FailAfterRow(k));
        let err = setup.publish(&files).await.unwrap_err();
        assert!(
            matches!(&err, ServiceError::Store(StoreError::InjectedFault { row, .. }) if *row == k),
            "row {k}: {err:?}"
        );
        // Every role at its previous version, and nothing newer stored.
        assert_eq!(setup.current().await, before, "row {k}");
        for FileInfo { role, version, .. } in &before {
            let next = Version::new(version.get() + 1).unwrap();
            let stored = setup.store().by_version(&gun(), role, next).await.unwrap();
            assert_eq!(stored, None, "row {k}: {role} version {next} was stored");
        }
        assert_eq!(
            setup
                .store()
                .latest(&gun(), &role("releases"))
                .await
                .unwrap(),
            None,
            "row {k}"
        );
        // A consumer still sees the previous repository, and only it.
        let mut client = setup.client(consumer.path()).await;
        client.refresh().await.unwrap();
        assert_eq!(client.trusted().root().version(), Version::FIRST, "row {k}");
        assert!(client.target_info("v1").await.unwrap().is_some(), "row {k}");
        assert!(client.target_info("v2").await.unwrap().is_none(), "row {k}");
    }

    // Armed past the last row, the fault never fires: 1..=5 was every row.
    setup.store().arm(InsertFault::FailAfterRow(rows + 1));
    let stored = setup.publish(&files).await.unwrap();
    assert_eq!(stored.len(), rows);
    let mut client = setup.client(consumer.path()).await;
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().version(), 2);
    assert!(client.target_info("v2").await.unwrap().is_some());
}

/// The newest timestamp's version and expiry.
async fn timestamp(setup: &Setup) -> (Version, UtcTime) {
    let bytes = setup
        .store()
        .latest(&gun(), &RoleName::TIMESTAMP)
        .await
        .unwrap()
        .unwrap();
    let ts: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let version = Version::new(ts["signed"]["version"].as_u64().unwrap()).unwrap();
    let expires = ts["signed"]["expires"].as_str().unwrap().parse().unwrap();
    (version, expires)
}

/// Review A.6 (was a 4 s expiry and a 6 s sleep): the service re-signs a
/// timestamp once its clock is within the re-signing window of the expiry,
/// not before, and the re-signed timestamp is valid past the old expiry.
#[tokio::test]
async fn a6_the_service_re_signs_a_timestamp_about_to_expire_by_its_clock() {
    let setup = setup().await;
    let (first, expires) = timestamp(&setup).await;
    let day = 86_400;
    let lifetime = Lifetimes::default().timestamp_secs;
    assert_eq!(expires, setup.clock.now().plus_seconds(lifetime));

    // A day before the window opens: nothing to do.
    setup.clock.set(expires.plus_seconds(-2 * day));
    assert!(setup.service.resign_due(day).await.unwrap().is_empty());
    assert_eq!(timestamp(&setup).await.0, first);

    // An hour before the expiry, inside the window: re-signed from the
    // service's time, not the system's.
    setup.clock.set(expires.plus_seconds(-3600));
    assert_eq!(setup.service.resign_due(day).await.unwrap(), [GUN]);
    let (second, renewed) = timestamp(&setup).await;
    assert_eq!(second.get(), first.get() + 1);
    assert_eq!(renewed, expires.plus_seconds(lifetime - 3600));
    assert!(setup.service.resign_due(day).await.unwrap().is_empty());

    // Past the first expiry, a consumer verifies the re-signed timestamp.
    let consumer = tempfile::tempdir().unwrap();
    let mut client = setup
        .client_at(consumer.path(), expires.plus_seconds(3600))
        .await;
    assert!(client.target_info("v1").await.unwrap().is_some());
}

/// Review A.6 (was a 3 s expiry and a 4 s sleep): a client whose clock has
/// reached the timestamp's expiry refuses it (a frozen service), a second
/// earlier it accepts it, and nothing refused is stored.
#[tokio::test]
async fn a6_a_client_refuses_a_timestamp_expired_by_its_clock() {
    let setup = setup().await;
    let (_, expires) = timestamp(&setup).await;
    let consumer = tempfile::tempdir().unwrap();
    let mut client = setup
        .client_at(consumer.path(), expires.plus_seconds(-1))
        .await;
    assert!(client.target_info("v1").await.unwrap().is_some());
    let stored = std::fs::read(consumer.path().join("timestamp.json")).unwrap();

    let mut client = setup.client_at(consumer.path(), expires).await;
    let err = client.refresh().await.unwrap_err();
    assert!(
        matches!(&err, UpdateError::Expired { role, expired } if role == "timestamp" && *expired == expires),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(consumer.path().join("timestamp.json")).unwrap(),
        stored
    );
}
