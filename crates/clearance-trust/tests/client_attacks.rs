//! The client against a repository that lies: rollback, freeze,
//! mix-and-match, threshold, tampering, and key rotation. Each attack is
//! refused with an error a person understands, and the trusted store keeps
//! exactly what it had.
#![allow(clippy::unwrap_used)]

mod support;

use clearance_trust::client::{DirStore, UpdateError, Updater, UpdaterSettings};
use clearance_trust::metadata::MetadataError;
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::{RoleName, TopRole};
use support::{BASE, Served, TARGETS_BASE, TestRepo, in_days, snapshot_dir};

struct Client {
    dir: tempfile::TempDir,
}

impl Client {
    fn init(repo: &TestRepo) -> Client {
        let dir = tempfile::tempdir().unwrap();
        DirStore::new(dir.path())
            .unwrap()
            .save(&RoleName::ROOT, &repo.root_bytes())
            .unwrap();
        Client { dir }
    }

    fn updater(&self, served: &Served) -> Result<Updater<Served>, UpdateError> {
        let store = DirStore::new(self.dir.path()).unwrap();
        Updater::new(store, served.clone(), BASE, UpdaterSettings::default())
    }

    async fn refresh(&self, repo: &TestRepo) -> Result<(), UpdateError> {
        self.updater(&repo.served)?.refresh().await
    }

    fn version(&self, role: &str) -> Option<u64> {
        let bytes = std::fs::read(self.dir.path().join(format!("{role}.json"))).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["signed"]["version"].as_u64()
    }

    /// Refresh expecting `role` to be refused; its stored copy must not
    /// change. (Roles verified before it may legitimately move on.)
    async fn refused(&self, repo: &TestRepo, role: &str) -> UpdateError {
        let file = format!("{role}.json");
        let before = snapshot_dir(self.dir.path()).remove(&file);
        let err = self.refresh(repo).await.unwrap_err();
        let after = snapshot_dir(self.dir.path()).remove(&file);
        assert!(before == after, "untrusted {role} reached the store: {err}");
        err
    }
}

#[tokio::test]
async fn a_fresh_client_refreshes_and_downloads_a_verified_target() {
    let mut repo = TestRepo::new();
    repo.add_target("app/v1", b"manifest bytes");
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    let mut updater = client.updater(&repo.served).unwrap();
    updater.refresh().await.unwrap();
    let info = updater.target_info("app/v1").await.unwrap().unwrap();
    assert_eq!(info.length, 14);
    let out = tempfile::tempdir().unwrap();
    let path = updater
        .download_target(&"app/v1".parse().unwrap(), &info, out.path(), TARGETS_BASE)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"manifest bytes");
    assert_eq!(updater.target_info("app/v2").await.unwrap(), None);
    for (role, version) in [("timestamp", 2), ("snapshot", 2), ("targets", 2)] {
        assert_eq!(client.version(role), Some(version), "{role}");
    }
}

#[tokio::test]
async fn a_target_whose_bytes_were_swapped_is_not_written() {
    let mut repo = TestRepo::new();
    repo.add_target("app/v1", b"genuine");
    repo.publish_targets_chain(true);
    repo.served.put_target("app/v1", b"evil!!!".to_vec()); // same length
    let client = Client::init(&repo);
    let mut updater = client.updater(&repo.served).unwrap();
    let info = updater.target_info("app/v1").await.unwrap().unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = updater
        .download_target(&"app/v1".parse().unwrap(), &info, out.path(), TARGETS_BASE)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::LengthOrHash { .. }), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn rollback_of_each_role_is_refused() {
    let mut repo = TestRepo::new();
    repo.publish_targets_chain(true); // v2 of everything
    let client = Client::init(&repo);
    client.refresh(&repo).await.unwrap();

    // timestamp v1 served again
    let new_ts = repo.served.get("timestamp.json");
    repo.served
        .put("timestamp.json", repo.history["1.timestamp.json"].clone());
    let err = client.refused(&repo, "timestamp").await;
    assert!(
        matches!(&err, UpdateError::Rollback { role, trusted, got } if role == "timestamp" && *trusted == 2 && *got == 1),
        "{err}"
    );
    repo.served.put("timestamp.json", new_ts);

    // a newer timestamp that points at an older snapshot
    repo.timestamp
        .meta
        .get_mut("snapshot.json")
        .unwrap()
        .version = Some(support::v(1));
    repo.publish_timestamp(true);
    let err = client.refused(&repo, "timestamp").await;
    assert!(
        matches!(
            &err,
            UpdateError::ListedRollback {
                listed_by: TopRole::Timestamp,
                trusted,
                got,
                ..
            } if *trusted == 2 && *got == 1
        ),
        "{err}"
    );

    // a newer snapshot that rolls targets back
    let mut repo = TestRepo::new();
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    client.refresh(&repo).await.unwrap();
    repo.snapshot
        .meta
        .insert("targets.json".into(), support::meta(1));
    repo.publish_snapshot_chain(true);
    let err = client.refused(&repo, "snapshot").await;
    assert!(
        matches!(&err, UpdateError::ListedRollback { entry, listed_by: TopRole::Snapshot, .. } if entry == "targets.json"),
        "{err}"
    );
}

#[tokio::test]
async fn an_expired_timestamp_served_forever_is_a_freeze() {
    let mut repo = TestRepo::new();
    repo.timestamp.common.expires = in_days(-1);
    repo.publish_timestamp(true);
    let client = Client::init(&repo);
    let err = client.refused(&repo, "timestamp").await;
    assert!(
        matches!(&err, UpdateError::Expired { role, .. } if role == "timestamp"),
        "{err}"
    );
    assert_eq!(client.version("snapshot"), None);
}

#[tokio::test]
async fn snapshot_and_targets_from_different_versions_do_not_mix() {
    let mut repo = TestRepo::new();
    repo.add_target("a", b"1");
    repo.publish_targets_chain(true); // targets v2 listed in snapshot v2
    let old_targets = repo.served.get("targets.json");
    repo.add_target("b", b"2");
    repo.publish_targets_chain(true); // targets v3, snapshot v3
    repo.served.put("targets.json", old_targets); // mix: snapshot v3 + targets v2
    let client = Client::init(&repo);
    let err = client.refused(&repo, "targets").await;
    assert!(
        matches!(&err, UpdateError::LengthOrHash { what, .. } if what == "targets"),
        "{err}"
    );
    assert_eq!(client.version("targets"), None);
}

#[tokio::test]
async fn metadata_below_its_threshold_is_refused() {
    let mut repo = TestRepo::new();
    let second = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    repo.root
        .keys
        .insert(second.key_id(), second.public_key().clone());
    let targets = repo.root.roles.get_mut(&TopRole::Targets).unwrap();
    targets.keyids.push(second.key_id());
    targets.threshold = 2;
    repo.root.common.version = support::v(2);
    repo.publish_root(&[]);
    repo.publish_targets_chain(true); // signed by the first targets key only
    let client = Client::init(&repo);
    let err = client.refused(&repo, "targets").await;
    assert!(
        matches!(&err, UpdateError::Metadata(MetadataError::ThresholdNotMet { role, valid: 1, threshold: 2 }) if role == "targets"),
        "{err}"
    );
    assert_eq!(
        client.version("root"),
        Some(2),
        "root v2 is genuine and kept"
    );
    assert_eq!(client.version("targets"), None, "targets never verified");
}

#[tokio::test]
async fn a_tampered_byte_in_signed_metadata_is_refused() {
    let mut repo = TestRepo::new();
    repo.add_target("app", b"x");
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    let mut ts = repo.served.get("timestamp.json");
    let text = String::from_utf8(ts.clone()).unwrap();
    let at = text.find("\"version\":2").unwrap() + "\"version\":".len();
    ts[at] = b'9';
    repo.served.put("timestamp.json", ts);
    let err = client.refused(&repo, "timestamp").await;
    assert!(
        matches!(
            err,
            UpdateError::Metadata(MetadataError::ThresholdNotMet { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_compromised_targets_key_is_replaced_by_rotating_root() {
    let mut repo = TestRepo::new();
    repo.add_target("app", b"genuine");
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    client.refresh(&repo).await.unwrap();

    // The owners rotate the targets key in root v2 and re-sign targets.
    let stolen = repo.targets_signers.remove(0);
    let fresh = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    repo.root
        .keys
        .insert(fresh.key_id(), fresh.public_key().clone());
    repo.root.roles.get_mut(&TopRole::Targets).unwrap().keyids = vec![fresh.key_id()];
    repo.root.common.version = support::v(2);
    repo.publish_root(&[]);
    repo.targets_signers.push(fresh);
    repo.publish_targets_chain(true);
    client.refresh(&repo).await.unwrap();
    assert_eq!(client.version("root"), Some(2));

    // The thief signs a malicious targets with the stolen key: refused.
    repo.add_target("app", b"malicious");
    repo.targets.common.version = repo.targets.common.version.next().unwrap();
    let evil = repo.sign_role(&repo.targets.clone(), &[stolen]);
    repo.served.put("targets.json", evil.clone());
    repo.snapshot.meta.insert(
        "targets.json".into(),
        clearance_trust::editor::meta_for(repo.targets.common.version, &evil),
    );
    repo.publish_snapshot_chain(true);
    let err = client.refused(&repo, "targets").await;
    assert!(
        matches!(&err, UpdateError::Metadata(MetadataError::ThresholdNotMet { role, .. }) if role == "targets"),
        "{err}"
    );
}

#[tokio::test]
async fn a_new_root_needs_both_the_old_and_its_own_threshold() {
    let mut repo = TestRepo::new();
    let client = Client::init(&repo);
    let new_root_key = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
    repo.root
        .keys
        .insert(new_root_key.key_id(), new_root_key.public_key().clone());
    repo.root.roles.get_mut(&TopRole::Root).unwrap().keyids = vec![new_root_key.key_id()];
    repo.root.common.version = support::v(2);
    let old = std::mem::replace(&mut repo.root_signers, vec![new_root_key]);

    repo.publish_root(&[]); // signed by the new key only
    let err = client.refused(&repo, "root").await;
    assert!(
        matches!(&err, UpdateError::Metadata(MetadataError::ThresholdNotMet { role, .. }) if role == "root"),
        "{err}"
    );

    repo.publish_root(&[&old[0]]); // cross-signed by the old key too
    client.refresh(&repo).await.unwrap();
    assert_eq!(client.version("root"), Some(2));

    // A root that skips a version is refused.
    repo.root.common.version = support::v(4);
    repo.publish_root(&[]);
    repo.served
        .put("3.root.json", repo.served.get("4.root.json"));
    let err = client.refused(&repo, "root").await;
    assert!(
        matches!(
            err,
            UpdateError::Version {
                expected,
                got,
                ..
            } if expected == 3 && got == 4
        ),
        "{err}"
    );
}

#[tokio::test]
async fn delegations_are_searched_in_order_and_terminating_roles_stop_the_search() {
    let mut repo = TestRepo::new();
    repo.delegate("releases", &["release/*"], true);
    repo.delegate("everyone", &["*/*"], false);
    repo.add_delegated_target("releases", "release/v1", b"signed by releases");
    repo.add_delegated_target("everyone", "release/v2", b"everyone may not sign releases");
    repo.add_delegated_target("everyone", "team/tool", b"tool");
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    let mut updater = client.updater(&repo.served).unwrap();
    assert!(updater.target_info("release/v1").await.unwrap().is_some());
    assert_eq!(
        updater.target_info("release/v2").await.unwrap(),
        None,
        "releases is terminating"
    );
    assert!(updater.target_info("team/tool").await.unwrap().is_some());
    assert_eq!(client.version("releases"), Some(2));
    assert_eq!(
        client.version("everyone"),
        Some(3),
        "two targets added, two versions on"
    );
}

#[tokio::test]
async fn every_role_that_signs_a_target_is_found_and_a_terminating_role_still_ends_the_search() {
    let mut repo = TestRepo::new();
    repo.add_target("app/v1", b"targets signs this");
    repo.delegate("ci", &["app/*"], false);
    repo.delegate("releases", &["app/*"], false);
    repo.delegate("gate", &["locked/*"], true);
    repo.delegate("other", &["locked/*"], false);
    repo.add_delegated_target("ci", "app/v1", b"ci built this");
    repo.add_delegated_target("releases", "app/v1", b"releases signs this");
    repo.add_delegated_target("gate", "locked/v1", b"gate");
    repo.add_delegated_target("other", "locked/v1", b"other may not");
    repo.publish_targets_chain(true);
    let client = Client::init(&repo);
    let mut updater = client.updater(&repo.served).unwrap();
    let signers = updater.find_signers("app/v1").await.unwrap();
    let got: Vec<(String, u64)> = signers
        .iter()
        .map(|s| (s.role.to_string(), s.target.length))
        .collect();
    assert_eq!(
        got,
        [
            ("targets".to_owned(), 18),
            ("ci".to_owned(), 13),
            ("releases".to_owned(), 19)
        ]
    );
    // TUF's own answer is still the first.
    let first = updater.find_target("app/v1").await.unwrap().unwrap();
    assert_eq!(first.role.to_string(), "targets");
    let locked = updater.find_signers("locked/v1").await.unwrap();
    assert_eq!(
        locked
            .iter()
            .map(|s| s.role.to_string())
            .collect::<Vec<_>>(),
        ["gate"]
    );
    assert!(updater.find_signers("nobody/v1").await.unwrap().is_empty());
}
