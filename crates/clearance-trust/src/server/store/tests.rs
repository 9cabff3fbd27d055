#![allow(clippy::unwrap_used)]

use super::*;

fn gun(name: &str) -> Gun {
    Gun::new(name).unwrap()
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

#[tokio::test]
async fn a_publish_is_all_or_nothing_and_versions_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.db").to_str().unwrap())
        .await
        .unwrap();
    let file = |role: &str, version: u64, b: &[u8]| NewFile {
        role: super::RoleName::new(role).unwrap(),
        version: Version::new(version).unwrap(),
        bytes: b.to_vec(),
    };
    store
        .insert(
            &gun("r/a"),
            &[file("targets", 1, b"t1"), file("timestamp", 1, b"ts1")],
            &[],
        )
        .await
        .unwrap();
    // A second publish reusing timestamp version 1 lands nothing at all.
    let err = store
        .insert(
            &gun("r/a"),
            &[file("targets", 2, b"t2"), file("timestamp", 1, b"ts1b")],
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { version, .. } if version == 1),
        "{err}"
    );
    assert_eq!(
        store
            .latest(&gun("r/a"), &role("targets"))
            .await
            .unwrap()
            .unwrap(),
        b"t1"
    );
    let two = Version::new(2).unwrap();
    assert_eq!(
        store
            .by_version(&gun("r/a"), &role("targets"), two)
            .await
            .unwrap(),
        None
    );
    store
        .insert(
            &gun("r/a"),
            &[file("targets", 2, b"t2"), file("timestamp", 2, b"ts2")],
            &[],
        )
        .await
        .unwrap();
    let mut current = store.current(&gun("r/a")).await.unwrap();
    current.sort_by(|a, b| a.role.cmp(&b.role));
    assert_eq!(current.len(), 2);
    assert_eq!(current[0].role, "targets");
    assert_eq!(current[0].version, 2);
    assert_eq!(current[0].length, 2);
    let hash = current[0].sha256.clone();
    assert_eq!(
        store
            .by_hash(&gun("r/a"), &role("targets"), &hash)
            .await
            .unwrap()
            .unwrap(),
        b"t2"
    );
    assert_eq!(
        store
            .by_version(&gun("r/a"), &role("targets"), Version::FIRST)
            .await
            .unwrap()
            .unwrap(),
        b"t1"
    );
    assert!(store.current(&gun("r/other")).await.unwrap().is_empty());
}

/// Review A.6: whatever row a publish stops after, none of it is
/// stored, and the same publish lands afterwards.
#[tokio::test]
async fn a6_an_insert_failing_after_any_row_stores_none_of_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.db").to_str().unwrap())
        .await
        .unwrap();
    let file = |role: &str, version: u64| NewFile {
        role: super::RoleName::new(role).unwrap(),
        version: Version::new(version).unwrap(),
        bytes: format!("{role} {version}").into_bytes(),
    };
    let roles = ["root", "targets", "snapshot", "timestamp"];
    let first: Vec<NewFile> = roles.iter().map(|r| file(r, 1)).collect();
    store.insert(&gun("r/a"), &first, &[]).await.unwrap();
    let before = store.current(&gun("r/a")).await.unwrap();
    let mut second: Vec<NewFile> = roles.iter().map(|r| file(r, 2)).collect();
    second.push(file("releases", 1));
    for k in 1..=second.len() {
        store.arm(InsertFault::FailAfterRow(k));
        let err = store.insert(&gun("r/a"), &second, &[]).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InjectedFault { row, .. } if row == k),
            "{err}"
        );
        assert_eq!(store.current(&gun("r/a")).await.unwrap(), before, "row {k}");
        for f in &second {
            let stored = store
                .by_version(&gun("r/a"), &f.role, f.version)
                .await
                .unwrap();
            assert_eq!(stored, None, "row {k}: {} was stored", f.role);
        }
    }
    // Armed past the last row, the fault does not fire.
    store.arm(InsertFault::FailAfterRow(second.len() + 1));
    store.insert(&gun("r/a"), &second, &[]).await.unwrap();
    assert_eq!(store.current(&gun("r/a")).await.unwrap().len(), 5);
}

#[tokio::test]
async fn b3_the_largest_version_is_stored_as_the_newest_and_a_wrapped_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.db").to_str().unwrap())
        .await
        .unwrap();
    let file = |version: Version, b: &[u8]| NewFile {
        role: role("releases"),
        version,
        bytes: b.to_vec(),
    };
    let max = Version::new(Version::MAX).unwrap();
    store
        .insert(
            &gun("r/a"),
            &[file(Version::new(5).unwrap(), b"v5"), file(max, b"max")],
            &[],
        )
        .await
        .unwrap();
    // Stored as i64::MAX, not wrapped below 5: newest by every query.
    assert_eq!(
        store
            .latest(&gun("r/a"), &role("releases"))
            .await
            .unwrap()
            .unwrap(),
        b"max"
    );
    assert_eq!(store.current(&gun("r/a")).await.unwrap()[0].version, max);
    // A row no Version wrote (as `as i64` once wrote 2^63) is an error.
    sqlx::query(
        "INSERT INTO tuf_files (gun, role, version, sha256, length, data, published_at)
         VALUES ('r/a', 'wrapped', -9223372036854775808, '', 1, x'00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    assert!(matches!(
        store.current(&gun("r/a")).await,
        Err(StoreError::BadVersion {
            stored: i64::MIN,
            ..
        })
    ));
}
