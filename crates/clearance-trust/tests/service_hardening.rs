//! The trust service against the review's findings (2026-11, part B): each
//! test is named after the finding it guards. The service runs in process
//! on a temporary SQLite store; clients reach it over HTTP on 127.0.0.1.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use clearance_trust::client::{DirStore, HttpTransport, UpdateError, Updater, UpdaterSettings};
use clearance_trust::image::target_for_manifest;
use clearance_trust::keys::Key;
use clearance_trust::metadata::MetadataError;
use clearance_trust::publish::{
    Changed, Expiries, RepositoryEditor, RoleSigners, ServerSigned, SignedFile,
};
use clearance_trust::schema::Version;
use clearance_trust::server::{
    Lifetimes, MasterKey, NewFile, Refused, ServiceError, Store, TrustService, Upload,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::{Gun, RoleName, TopRole};
use serde_json::Value;

const GUN: &str = "127.0.0.1:5000/team/app";

fn gun() -> Gun {
    Gun::new(GUN).unwrap()
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

/// A service, its publisher (root, targets and snapshot keys; the service
/// signs timestamp, and snapshot too when asked), and a delegate's key.
struct Setup {
    _dir: Option<tempfile::TempDir>,
    service: Arc<TrustService>,
    gun: Gun,
    url: String,
    root_key: LocalSigner,
    targets_key: LocalSigner,
    snapshot_key: LocalSigner,
    server: ServerSigned,
    repo: RepositoryEditor,
}

async fn setup(server: ServerSigned) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("trust.db").to_str().unwrap())
        .await
        .unwrap();
    let master = MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
    let service = Arc::new(TrustService::new(store, master, Lifetimes::default(), None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = clearance_trust::server::router(service.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let root_key = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
    let mut setup = repository(&service, &format!("http://{addr}"), GUN, server, root_key).await;
    setup._dir = Some(dir);
    setup
}

/// A repository `gun` on `service`, rooted by `root_key`, its root naming it.
async fn repository(
    service: &Arc<TrustService>,
    base: &str,
    gun: &str,
    server: ServerSigned,
    root_key: LocalSigner,
) -> Setup {
    let key = |kind| LocalSigner::generate(kind).unwrap();
    let (targets_key, snapshot_key) = (key(KeyKind::Ed25519), key(KeyKind::Ed25519));
    let gun = Gun::new(gun).unwrap();
    let server_key = |role| {
        let service = service.clone();
        let gun = gun.clone();
        async move { service.server_key(&gun, role, true).await.unwrap().unwrap() }
    };
    let timestamp = server_key(TopRole::Timestamp).await;
    let snapshot = match server {
        ServerSigned::SnapshotAndTimestamp => server_key(TopRole::Snapshot).await,
        _ => snapshot_key.public_key().clone(),
    };
    let mut repo = RepositoryEditor::create(
        [
            root_key.public_key(),
            targets_key.public_key(),
            &snapshot,
            &timestamp,
        ],
        Expiries::default(),
    );
    repo.name_repository(&gun);
    let mut setup = Setup {
        _dir: None,
        service: service.clone(),
        gun: gun.clone(),
        url: format!("{base}/v2/{gun}/_trust/tuf/"),
        root_key,
        targets_key,
        snapshot_key,
        server,
        repo,
    };
    let files = setup.sign(Changed::RootAndTargets, &[], true);
    setup.publish(&files).await.unwrap();
    setup
}

impl Setup {
    /// Sign what changed with the publisher's keys (and `delegated`'s for
    /// the delegated role `releases`).
    fn sign(
        &mut self,
        changed: Changed,
        delegated: &[&LocalSigner],
        first: bool,
    ) -> Vec<SignedFile> {
        let mut signers = RoleSigners {
            root: vec![&self.root_key],
            targets: vec![&self.targets_key],
            server: self.server,
            ..Default::default()
        };
        if self.server != ServerSigned::SnapshotAndTimestamp {
            signers.snapshot = vec![&self.snapshot_key];
        }
        signers.delegated.insert(
            role("releases"),
            delegated.iter().map(|s| *s as &dyn Signer).collect(),
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
        self.service.publish(&self.gun, upload).await
    }

    /// The root the publisher would hand its consumers.
    async fn root(&self) -> Vec<u8> {
        self.service
            .store()
            .by_version(&self.gun, &RoleName::ROOT, Version::FIRST)
            .await
            .unwrap()
            .unwrap()
    }

    /// A consumer pinning that root, with its own store.
    async fn client(&self, dir: &std::path::Path) -> Updater<HttpTransport> {
        let store = DirStore::new(dir).unwrap();
        if store.load(&RoleName::ROOT).unwrap().is_none() {
            store.save(&RoleName::ROOT, &self.root().await).unwrap();
        }
        let http = HttpTransport::new(std::time::Duration::from_secs(10), None).unwrap();
        Updater::new(store, http, &self.url, UpdaterSettings::default())
            .unwrap()
            .bind_repository(&self.gun)
            .unwrap()
    }
}

fn manifest(n: u32) -> clearance_trust::schema::TargetFile {
    target_for_manifest(format!(r#"{{"schemaVersion":2,"n":{n}}}"#).as_bytes(), None)
}

/// Sign a `signed` body given as JSON (so it may hold what the typed
/// schema refuses to build) with `signer`.
fn sign_json(signed: &Value, signer: &LocalSigner) -> Vec<u8> {
    let canonical = clearance_trust::cjson::to_canonical(signed).unwrap();
    let sig: String = signer
        .sign(&canonical)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "signatures": [{"keyid": signer.key_id(), "sig": sig}],
        "signed": signed,
    }))
    .unwrap()
}

/// `releases` delegated (all tags) to a new key, published.
async fn delegate_releases(setup: &mut Setup) -> LocalSigner {
    let releases = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    let public: Key = releases.public_key().clone();
    setup
        .repo
        .add_delegation(&role("releases"), &[public], 1, vec!["*".into()], false)
        .unwrap();
    let files = setup.sign(Changed::Targets, &[&releases], false);
    setup.publish(&files).await.unwrap();
    releases
}

#[tokio::test]
async fn b3_a_delegated_signer_cannot_publish_a_version_the_store_would_wrap() {
    let mut setup = setup(ServerSigned::SnapshotAndTimestamp).await;
    let releases = delegate_releases(&mut setup).await;
    let body = |version: u64| {
        let mut role = serde_json::to_value(&setup.repo.delegated["releases"]).unwrap();
        role["version"] = version.into();
        sign_json(&role, &releases)
    };
    let upload = |bytes: Vec<u8>| Upload {
        files: [(role("releases"), bytes)].into(),
        resign_snapshot: false,
    };

    // 2^63 would be stored as -2^63 and sort below every honest version.
    let err = setup
        .service
        .publish(&gun(), upload(body(1 << 63)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ServiceError::Refused(Refused::Invalid {
                role,
                source: UpdateError::Metadata(MetadataError::Malformed { .. }),
            }) if role == "releases"
        ),
        "{err}"
    );

    // The largest storable version is the newest, so nothing lower follows it.
    setup
        .service
        .publish(&gun(), upload(body(Version::MAX)))
        .await
        .unwrap();
    let err = setup
        .service
        .publish(&gun(), upload(body(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(Refused::Stale { stored, got, .. })
            if *stored == Version::MAX && *got == 5),
        "{err}"
    );

    // A client follows: releases is at the top, and the repository still verifies.
    let dir = tempfile::tempdir().unwrap();
    let mut client = setup.client(dir.path()).await;
    client.refresh().await.unwrap();
    assert_eq!(
        client.trusted().snapshot().unwrap().signed.meta["releases.json"].version,
        Version::new(Version::MAX).ok()
    );
    assert!(client.target_info("v1").await.unwrap().is_none());
}

#[tokio::test]
async fn b9_readded_delegation_continues_its_version_on_the_service() {
    let mut setup = setup(ServerSigned::Timestamp).await;
    let releases = delegate_releases(&mut setup).await;
    for n in 1..=2 {
        setup
            .repo
            .set_delegated_target(&role("releases"), &format!("v{n}"), manifest(n))
            .unwrap();
        let files = setup.sign(Changed::Targets, &[&releases], false);
        setup.publish(&files).await.unwrap();
    }
    // A consumer trusts releases at version 3.
    let dir = tempfile::tempdir().unwrap();
    let mut client = setup.client(dir.path()).await;
    assert!(client.target_info("v2").await.unwrap().is_some());

    setup.repo.remove_delegation(&role("releases")).unwrap();
    let files = setup.sign(Changed::Targets, &[], false);
    setup.publish(&files).await.unwrap();
    let again = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    setup
        .repo
        .add_delegation(
            &role("releases"),
            &[again.public_key().clone()],
            1,
            vec!["*".into()],
            false,
        )
        .unwrap();
    setup
        .repo
        .set_delegated_target(&role("releases"), "v3", manifest(3))
        .unwrap();
    let files = setup.sign(Changed::Targets, &[&again], false);
    let stored = setup.publish(&files).await.unwrap();
    let releases = stored.iter().find(|f| f.role == "releases").unwrap();
    assert_eq!(releases.version, 4, "listed at 3, so the new role is 4");

    let mut client = setup.client(dir.path()).await;
    client.refresh().await.unwrap();
    assert!(client.target_info("v3").await.unwrap().is_some());
    assert!(client.target_info("v2").await.unwrap().is_none());
}

/// A repository whose tags live in 16 hash bins, `v0` … `v39` signed.
async fn binned() -> Setup {
    let mut setup = setup(ServerSigned::Timestamp).await;
    setup.repo.use_bins(4);
    for n in 0..40 {
        setup
            .repo
            .set_target(&format!("v{n}"), manifest(n))
            .unwrap();
    }
    let files = setup.sign(Changed::Targets, &[], false);
    setup.publish(&files).await.unwrap();
    setup
}

#[tokio::test]
async fn b11_a_new_succinct_grant_needs_every_hash_bin_in_the_upload() {
    let mut setup = binned().await;
    // Another publisher's targets gives the bins a new key but re-signs one bin.
    let rogue = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    let d = setup.repo.targets.delegations.as_mut().unwrap();
    d.keys.insert(rogue.key_id(), rogue.public_key().clone());
    let s = d.succinct_roles.as_mut().unwrap();
    s.keyids = vec![rogue.key_id()];
    let one = s.bin_for("v40");
    setup.repo.set_target("v40", manifest(40)).unwrap();
    let signers = RoleSigners {
        root: vec![&setup.root_key],
        targets: vec![&setup.targets_key, &rogue],
        snapshot: vec![&setup.snapshot_key],
        server: ServerSigned::Timestamp,
        ..Default::default()
    };
    // (Root goes along only because the editor re-signs targets with it.)
    let files = setup
        .repo
        .publish(Changed::RootAndTargets, &signers, false)
        .unwrap();
    let uploaded: Vec<RoleName> = files.iter().map(|f| f.role.clone()).collect();
    assert!(
        uploaded.contains(&one) && uploaded.contains(&RoleName::TARGETS) && uploaded.len() == 4,
        "{uploaded:?}"
    );
    let err = setup.publish(&files).await.unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(Refused::MissingBin { delegator, .. }) if delegator == "targets"),
        "{err}"
    );

    // Rotating the targets key the publisher's way re-signs every bin: accepted,
    // and every tag still verifies.
    let mut setup = binned().await;
    let fresh = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    setup
        .repo
        .rotate(
            TopRole::Targets,
            fresh.public_key(),
            clearance_trust::publish::OldKeys::Replace,
        )
        .unwrap();
    setup.targets_key = fresh;
    let files = setup.sign(Changed::RootAndTargets, &[], false);
    assert_eq!(files.len(), 16 + 3, "root, targets, snapshot and every bin");
    setup.publish(&files).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = setup.client(dir.path()).await;
    for n in [0, 17, 39] {
        assert!(
            client
                .target_info(&format!("v{n}"))
                .await
                .unwrap()
                .is_some(),
            "v{n}"
        );
    }
}

#[tokio::test]
async fn b17_the_service_refuses_a_hash_bin_under_an_alias() {
    let setup = binned().await;
    // `bins-A` parses as bin 10, but clients only ever read `bins-a`.
    let mut bin = setup.repo.bins[&role("bins-a")].clone();
    bin.common.version = bin.common.version.next().unwrap();
    let bytes = clearance_trust::editor::sign(&bin, &[&setup.targets_key]).unwrap();
    let err = setup
        .service
        .publish(
            &gun(),
            Upload {
                files: [(role("bins-A"), bytes)].into(),
                resign_snapshot: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(Refused::NotDelegated { role }) if role == "bins-A"),
        "{err}"
    );
}

#[tokio::test]
async fn b7_a_root_for_another_repository_is_refused_even_when_the_root_key_is_shared() {
    let mut a = setup(ServerSigned::SnapshotAndTimestamp).await;
    let base = a.url.split("/v2/").next().unwrap().to_owned();
    let shared = LocalSigner::from_pkcs8(KeyKind::EcdsaP256, a.root_key.pkcs8()).unwrap();
    let gun_b = "127.0.0.1:5000/team/other";
    let b = repository(
        &a.service,
        &base,
        gun_b,
        ServerSigned::SnapshotAndTimestamp,
        shared,
    )
    .await;

    // A moves on (root v2); someone with push on B replays A's whole set there.
    let fresh = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    a.repo
        .rotate(
            TopRole::Targets,
            fresh.public_key(),
            clearance_trust::publish::OldKeys::Replace,
        )
        .unwrap();
    a.targets_key = fresh;
    let files = a.sign(Changed::RootAndTargets, &[], false);
    a.publish(&files).await.unwrap();
    let store = a.service.store();
    let mut replay = std::collections::BTreeMap::new();
    for role in [
        RoleName::ROOT,
        RoleName::TARGETS,
        RoleName::SNAPSHOT,
        RoleName::TIMESTAMP,
    ] {
        let bytes = store.latest(&a.gun, &role).await.unwrap().unwrap();
        replay.insert(role, bytes);
    }
    let err = b
        .service
        .publish(
            &b.gun,
            Upload {
                files: replay,
                resign_snapshot: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ServiceError::Refused(Refused::Invalid {
                source: UpdateError::WrongRepository { named, expected, .. },
                ..
            }) if named == GUN && expected == gun_b
        ),
        "{err}"
    );

    // A consumer of B bound to B refuses A's root too.
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    store
        .save(
            &RoleName::ROOT,
            &a.service
                .store()
                .latest(&gun(), &RoleName::ROOT)
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
    let http = HttpTransport::new(std::time::Duration::from_secs(10), None).unwrap();
    let err = Updater::new(store, http, &b.url, UpdaterSettings::default())
        .unwrap()
        .bind_repository(&b.gun)
        .unwrap_err();
    assert!(matches!(err, UpdateError::WrongRepository { .. }), "{err}");
}
