//! The publisher against the review's findings (2026-11, part B) on a
//! `file://` repository: a directory the publisher writes and the client
//! reads through its `file://` transport. Each test is named after the
//! finding it guards.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use clearance_trust::RoleName;
use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings, write_atomic};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{Changed, Expiries, RepositoryEditor, RoleSigners};
use clearance_trust::schema::TargetFile;
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

/// A repository published into a directory, with its four keys.
struct DirRepo {
    dir: tempfile::TempDir,
    keys: [LocalSigner; 4],
    repo: RepositoryEditor,
}

impl DirRepo {
    fn new() -> DirRepo {
        let keys = [
            LocalSigner::generate(KeyKind::EcdsaP256).unwrap(),
            LocalSigner::generate(KeyKind::Ed25519).unwrap(),
            LocalSigner::generate(KeyKind::Ed25519).unwrap(),
            LocalSigner::generate(KeyKind::Ed25519).unwrap(),
        ];
        let repo = RepositoryEditor::create(
            [
                keys[0].public_key(),
                keys[1].public_key(),
                keys[2].public_key(),
                keys[3].public_key(),
            ],
            Expiries::default(),
        );
        let mut dir = DirRepo {
            dir: tempfile::tempdir().unwrap(),
            keys,
            repo,
        };
        dir.publish(Changed::RootAndTargets, &[], true);
        dir
    }

    fn metadata(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    /// Sign what changed (`delegated` signs the role `releases`) and write
    /// it, as `trust` writes a file:// repository.
    fn publish(&mut self, changed: Changed, delegated: &[&LocalSigner], first: bool) {
        let mut signers = RoleSigners {
            root: vec![&self.keys[0]],
            targets: vec![&self.keys[1]],
            snapshot: vec![&self.keys[2]],
            timestamp: vec![&self.keys[3]],
            ..Default::default()
        };
        signers.delegated.insert(
            role("releases"),
            delegated.iter().map(|s| *s as &dyn Signer).collect(),
        );
        let files = self.repo.publish(changed, &signers, first).unwrap();
        std::fs::create_dir_all(self.metadata()).unwrap();
        for file in files {
            for name in file.file_names() {
                write_atomic(&self.metadata().join(name), &file.bytes).unwrap();
            }
        }
    }

    fn client(&self, store: &Path) -> Updater<HttpTransport> {
        let store = DirStore::new(store).unwrap();
        if store.load(&RoleName::ROOT).unwrap().is_none() {
            let root = std::fs::read(self.metadata().join("1.root.json")).unwrap();
            store.save(&RoleName::ROOT, &root).unwrap();
        }
        let http = HttpTransport::new(std::time::Duration::from_secs(5), None).unwrap();
        let url = format!("file://{}/", self.metadata().display());
        Updater::new(store, http, &url, UpdaterSettings::default()).unwrap()
    }
}

fn gun(name: &str) -> clearance_trust::Gun {
    clearance_trust::Gun::new(name).unwrap()
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

fn manifest(n: u32) -> TargetFile {
    target_for_manifest(format!(r#"{{"schemaVersion":2,"n":{n}}}"#).as_bytes(), None)
}

fn delegate(repo: &mut RepositoryEditor, key: &LocalSigner) {
    repo.add_delegation(
        &role("releases"),
        &[key.public_key().clone()],
        1,
        vec!["*".into()],
        false,
    )
    .unwrap();
}

#[tokio::test]
async fn b9_readded_delegation_continues_its_version_on_file_repositories() {
    let mut repo = DirRepo::new();
    let first = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    delegate(&mut repo.repo, &first);
    repo.publish(Changed::Targets, &[&first], false);
    for n in 1..=2 {
        repo.repo
            .set_delegated_target(&role("releases"), &format!("v{n}"), manifest(n))
            .unwrap();
        repo.publish(Changed::Targets, &[&first], false);
    }
    let store = tempfile::tempdir().unwrap();
    let mut client = repo.client(store.path());
    assert!(client.target_info("v2").await.unwrap().is_some());

    repo.repo.remove_delegation(&role("releases")).unwrap();
    repo.publish(Changed::Targets, &[], false);
    let second = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    delegate(&mut repo.repo, &second);
    repo.repo
        .set_delegated_target(&role("releases"), "v3", manifest(3))
        .unwrap();
    repo.publish(Changed::Targets, &[&second], false);
    assert_eq!(
        repo.repo.delegated[&role("releases")].common.version,
        4,
        "snapshot listed releases at 3"
    );

    // The client that trusted releases at 3 follows; no rollback.
    let mut client = repo.client(store.path());
    client.refresh().await.unwrap();
    assert!(client.target_info("v3").await.unwrap().is_some());
}

#[test]
fn b18_the_publisher_refuses_target_names_unsafe_as_paths() {
    let mut repo = DirRepo::new();
    for bad in ["..", ".", "a/../b", "v1\u{1b}[2J"] {
        assert!(
            matches!(
                repo.repo.set_target(bad, manifest(1)),
                Err(clearance_trust::publish::PublishError::TargetName(_))
            ),
            "{bad:?}"
        );
    }
    let key = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    delegate(&mut repo.repo, &key);
    assert!(matches!(
        repo.repo
            .set_delegated_target(&role("releases"), "..", manifest(1)),
        Err(clearance_trust::publish::PublishError::TargetName(_))
    ));
    repo.repo.set_target("v1", manifest(1)).unwrap();
}

#[test]
fn b12_a_publisher_verifies_expired_metadata_to_sign_it_again_and_a_consumer_refuses_it() {
    use clearance_trust::client::{Expiration, TrustedSet, UpdateError};
    let repo = DirRepo::new();
    let read = |name: &str| std::fs::read(repo.metadata().join(name)).unwrap();
    // A month on, the 14-day timestamp has expired.
    let later = clearance_trust::time::UtcTime::now().plus_seconds(30 * 86_400);
    let mut consumer = TrustedSet::new(&read("1.root.json"), later).unwrap();
    assert!(matches!(
        consumer.update_timestamp(&read("timestamp.json")),
        Err(UpdateError::Expired { .. })
    ));
    let mut publisher = TrustedSet::new(&read("1.root.json"), later).unwrap();
    publisher.set_expiration(Expiration::NotEnforcedToRepublish);
    publisher.update_timestamp(&read("timestamp.json")).unwrap();
    publisher
        .update_snapshot(&read("1.snapshot.json"), false)
        .unwrap();
    // Everything but expiry still holds: a tampered targets is refused.
    let mut tampered = read("1.targets.json");
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert!(matches!(
        publisher.update_targets(&tampered, &RoleName::TARGETS, &RoleName::ROOT),
        Err(UpdateError::LengthOrHash { .. })
    ));
    publisher
        .update_targets(&read("1.targets.json"), &RoleName::TARGETS, &RoleName::ROOT)
        .unwrap();
}

#[tokio::test]
async fn b7_a_client_refuses_roots_for_another_repository_and_old_roots_still_verify() {
    use clearance_trust::client::UpdateError;
    let mut repo = DirRepo::new();
    // Root v1 was written before roots named their repository: still fine.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bound = |store: &Path, name: &str| repo.client(store).bind_repository(&gun(name));
    bound(a.path(), "r/app").unwrap().refresh().await.unwrap();

    // Root v2 names r/app: its consumers follow, another repository's refuse.
    repo.repo.name_repository(&gun("r/app"));
    repo.publish(Changed::RootAndTargets, &[], false);
    let bound = |store: &Path, name: &str| repo.client(store).bind_repository(&gun(name));
    bound(a.path(), "r/app").unwrap().refresh().await.unwrap();
    let err = bound(b.path(), "r/other")
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UpdateError::WrongRepository { named, expected, .. }
            if named == "r/app" && expected == "r/other"),
        "{err}"
    );

    // A later root may not drop the name (nor change it).
    repo.repo.root.repository = None;
    repo.publish(Changed::RootAndTargets, &[], false);
    let err = repo
        .client(a.path())
        .bind_repository(&gun("r/app"))
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateError::RepositoryDropped { .. }),
        "{err}"
    );
}
