//! A repository past the bin threshold moves its targets into TAP 15 hash
//! bins; a change then re-signs one bin, and clients find targets through
//! the succinct delegation.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{
    BIN_THRESHOLD, Bins, Changed, Expiries, OldKeys, PublishError, RepositoryEditor, RoleSigners,
    SignedFile,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::{RoleName, TopRole};

/// Write signed roles as a directory repository holds them.
fn write_to(dir: &std::path::Path, files: &[SignedFile]) {
    for file in files {
        for name in file.file_names() {
            std::fs::write(dir.join(name), &file.bytes).unwrap();
        }
    }
}

/// How many of `files` are hash bins.
fn bins_in(files: &[SignedFile]) -> usize {
    files
        .iter()
        .filter(|f| f.role.as_str().starts_with("bins-"))
        .count()
}

/// The first root among `files`.
fn root_of(files: &[SignedFile]) -> Vec<u8> {
    files
        .iter()
        .find(|f| f.role == TopRole::Root)
        .unwrap()
        .bytes
        .clone()
}

#[tokio::test]
async fn large_repositories_use_hash_bins_and_one_change_signs_one_bin() {
    let keys: Vec<LocalSigner> = (0..4)
        .map(|_| LocalSigner::generate(KeyKind::Ed25519).unwrap())
        .collect();
    let signers = RoleSigners {
        root: vec![&keys[0]],
        targets: vec![&keys[1]],
        snapshot: vec![&keys[2]],
        timestamp: vec![&keys[3]],
        ..Default::default()
    };
    let mut repo = RepositoryEditor::create(
        [
            keys[0].public_key(),
            keys[1].public_key(),
            keys[2].public_key(),
            keys[3].public_key(),
        ],
        Expiries::default(),
    );
    let count = BIN_THRESHOLD + 500;
    for i in 0..count {
        repo.set_target(
            &format!("v{i}"),
            target_for_manifest(format!("m{i}").as_bytes(), None),
        )
        .unwrap();
    }
    assert!(repo.targets.targets.is_empty(), "targets moved into bins");
    // Made when the count first passed the threshold: 2049 / 32, rounded up to a power of two.
    assert_eq!(repo.bins.len(), 64);
    assert_eq!(repo.all_targets().count(), count);
    let dir = tempfile::tempdir().unwrap();
    let write = |files: &[SignedFile]| write_to(dir.path(), files);
    let first = repo
        .publish(Changed::RootAndTargets, &signers, true)
        .unwrap();
    write(&first);

    repo.set_target("one-more", target_for_manifest(b"new", None))
        .unwrap();
    let second = repo.publish(Changed::Targets, &signers, false).unwrap();
    write(&second);
    let names: Vec<String> = second.iter().flat_map(SignedFile::file_names).collect();
    assert_eq!(bins_in(&second), 1, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("2.bins-")), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "targets.json"),
        "top-level targets unchanged: {names:?}"
    );

    // A client finds targets through the bins.
    let client = tempfile::tempdir().unwrap();
    let store = DirStore::new(client.path()).unwrap();
    store.save(&RoleName::ROOT, &root_of(&first)).unwrap();
    let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
    let url = format!("file://{}/", dir.path().display());
    let mut updater = Updater::new(store, transport, &url, UpdaterSettings::default()).unwrap();
    let found = updater.find_target("one-more").await.unwrap().unwrap();
    assert!(found.role.as_str().starts_with("bins-"), "{}", found.role);
    assert_eq!(found.delegator, "targets");
    assert!(updater.target_info("v7").await.unwrap().is_some());
    assert!(updater.target_info("v999999").await.unwrap().is_none());

    // Reload from what was published, then edit again: still one bin.
    let read = |n: &RoleName| std::fs::read(dir.path().join(n.file_name())).ok();
    let mut again = RepositoryEditor::load(
        &read(&RoleName::ROOT).unwrap(),
        &read(&RoleName::TARGETS).unwrap(),
        &read(&RoleName::SNAPSHOT).unwrap(),
        &read(&RoleName::TIMESTAMP).unwrap(),
        Expiries::default(),
        read,
    )
    .unwrap();
    assert_eq!(again.all_targets().count(), count + 1);

    // Loaded for one tag, as `trust sign` loads: that tag's bin only. A
    // change elsewhere, or a key rotation (which re-signs every bin), is an
    // error rather than a lost change.
    let mut one = RepositoryEditor::load_bins(
        &read(&RoleName::ROOT).unwrap(),
        &read(&RoleName::TARGETS).unwrap(),
        &read(&RoleName::SNAPSHOT).unwrap(),
        &read(&RoleName::TIMESTAMP).unwrap(),
        Expiries::default(),
        Bins::For(&["v7"]),
        read,
    )
    .unwrap();
    assert_eq!(one.bins.len(), 1);
    assert!(!one.needs_every_bin());
    let bins = one
        .targets
        .delegations
        .clone()
        .unwrap()
        .succinct_roles
        .unwrap();
    let elsewhere = (0..)
        .map(|i| format!("v{i}"))
        .find(|t| bins.bin_for(t) != bins.bin_for("v7"))
        .unwrap();
    let err = one
        .set_target(&elsewhere, target_for_manifest(b"x", None))
        .unwrap_err();
    // The bin it falls in, named: a load error, never a lost change.
    let bin = bins.bin_for(&elsewhere);
    assert!(
        matches!(&err, PublishError::BinNotLoaded { bin: b } if *b == bin),
        "{err}"
    );
    let other = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    assert!(
        one.rotate(TopRole::Timestamp, other.public_key(), OldKeys::Replace)
            .is_err()
    );
    assert!(one.remove_target("v7").unwrap());
    let partial = one.publish(Changed::Targets, &signers, false).unwrap();
    assert_eq!(bins_in(&partial), 1);

    again.remove_target("v7").unwrap();
    let third = again.publish(Changed::Targets, &signers, false).unwrap();
    assert_eq!(bins_in(&third), 1);

    // A new timestamp key leaves the bins alone; a new targets key re-signs them all.
    let new_timestamp = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    again
        .rotate(
            TopRole::Timestamp,
            new_timestamp.public_key(),
            OldKeys::Replace,
        )
        .unwrap();
    let rotated = RoleSigners {
        root: vec![&keys[0]],
        targets: vec![&keys[1]],
        snapshot: vec![&keys[2]],
        timestamp: vec![&new_timestamp],
        ..Default::default()
    };
    let files = again
        .publish(Changed::RootAndTargets, &rotated, false)
        .unwrap();
    assert_eq!(bins_in(&files), 0);
    let new_targets = LocalSigner::generate(KeyKind::Ed25519).unwrap();
    again
        .rotate(TopRole::Targets, new_targets.public_key(), OldKeys::Replace)
        .unwrap();
    let rotated = RoleSigners {
        targets: vec![&new_targets],
        ..rotated
    };
    let files = again
        .publish(Changed::RootAndTargets, &rotated, false)
        .unwrap();
    assert_eq!(bins_in(&files), 64);
}

#[tokio::test]
async fn crowded_bins_are_split_and_clients_follow_without_a_rollback() {
    // 32 bins (bins-00 … bins-1f) → 256: every old name is reused, a version up.
    split_scenario(5, 8193, 8).await;
    // 16 bins (bins-0 … bins-f) → 128 (bins-00 …): the old names stay listed.
    split_scenario(4, 4097, 7).await;
}

/// Past 256 targets per bin on average, bins split to about 32 per bin.
async fn split_scenario(start_bits: u32, total: usize, split_bits: u32) {
    let keys: Vec<LocalSigner> = (0..4)
        .map(|_| LocalSigner::generate(KeyKind::Ed25519).unwrap())
        .collect();
    let signers = RoleSigners {
        root: vec![&keys[0]],
        targets: vec![&keys[1]],
        snapshot: vec![&keys[2]],
        timestamp: vec![&keys[3]],
        ..Default::default()
    };
    let mut repo = RepositoryEditor::create(
        [
            keys[0].public_key(),
            keys[1].public_key(),
            keys[2].public_key(),
            keys[3].public_key(),
        ],
        Expiries::default(),
    );
    repo.use_bins(start_bits);
    for i in 0..100 {
        repo.set_target(&format!("v{i}"), target_for_manifest(&[i as u8], None))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |files: &[SignedFile]| write_to(dir.path(), files);
    let first = repo
        .publish(Changed::RootAndTargets, &signers, true)
        .unwrap();
    write(&first);
    let old_bins: Vec<RoleName> = repo.bins.keys().cloned().collect();

    // A client trusts the repository with its first bins.
    let client = tempfile::tempdir().unwrap();
    let root = root_of(&first);
    let url = format!("file://{}/", dir.path().display());
    let updater = || {
        let store = DirStore::new(client.path()).unwrap();
        if store.load(&RoleName::ROOT).unwrap().is_none() {
            store.save(&RoleName::ROOT, &root).unwrap();
        }
        let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
        Updater::new(store, transport, &url, UpdaterSettings::default()).unwrap()
    };
    assert!(updater().target_info("v50").await.unwrap().is_some());

    for i in 100..total {
        repo.set_target(
            &format!("v{i}"),
            target_for_manifest(format!("m{i}").as_bytes(), None),
        )
        .unwrap();
    }
    let split = repo.publish(Changed::Targets, &signers, false).unwrap();
    write(&split);
    let bins = repo
        .targets
        .delegations
        .as_ref()
        .unwrap()
        .succinct_roles
        .clone()
        .unwrap();
    assert_eq!(bins.bit_length, split_bits);
    assert_eq!(repo.bins.len(), 1 << split_bits);
    assert_eq!(repo.all_targets().count(), total);
    for old in &old_bins {
        // Still listed: a name the new set shares went up a version.
        let listed = repo.snapshot.meta[&old.meta_name()].version;
        let reused = repo.bins.contains_key(old);
        assert_eq!(
            listed,
            clearance_trust::schema::Version::new(if reused { 2 } else { 1 }).ok(),
            "{old}"
        );
    }
    let newest = format!("bins-{:02x}", (1u32 << split_bits) - 1);
    assert_eq!(
        repo.snapshot.meta[&format!("{newest}.json")].version,
        clearance_trust::schema::Version::new(1).ok()
    );

    // The client that trusted the old bins follows: no role dropped or rolled back.
    let mut after = updater();
    let last = format!("v{}", total - 1);
    let found = after.find_target(&last).await.unwrap().unwrap();
    assert_eq!(found.role, bins.bin_for(&last));
    assert!(after.target_info("v50").await.unwrap().is_some());

    // From then on a change signs one bin again.
    repo.set_target("one-more", target_for_manifest(b"new", None))
        .unwrap();
    let next = repo.publish(Changed::Targets, &signers, false).unwrap();
    assert_eq!(bins_in(&next), 1);
}
