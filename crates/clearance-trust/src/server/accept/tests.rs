#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;
use crate::schema::TopRole;

fn v(n: u64) -> Version {
    Version::new(n).unwrap()
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
        matches!(
            err,
            ServiceError::Store(crate::server::StoreError::Query(_))
        ),
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
