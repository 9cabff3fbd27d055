#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::*;
use crate::advisory::source;

fn feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds")
}

/// A database of the PyPI and KEV fixtures at `path`, closed.
async fn database(path: &Path) {
    let db = AdvisoryDb::create(path).await.unwrap();
    for feed in ["osv-pypi", "kev.json"] {
        for import in source::read_path(&feeds().join(feed)).unwrap() {
            db.import(&import).await.unwrap();
        }
    }
    db.close().await;
}

/// What a look at the database's directory sees: each file's name, bytes
/// and modification time.
fn on_disk(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// SQLite's file header: byte 18 is the write version, 1 for a
/// rollback journal, 2 for WAL (fileformat2.html §1.3).
fn journal_version(path: &Path) -> u8 {
    std::fs::read(path).unwrap()[18]
}

/// Break-it (issue 9): `db status` set WAL mode on the database it only
/// read, writing its header and leaving `-wal`/`-shm` beside it. A
/// read-only open writes nothing: the directory is byte for byte as it
/// was, and the connection is read-only (even for root, whom file modes do
/// not stop: an import through it is refused by SQLite).
#[tokio::test]
async fn b9_a_read_only_open_changes_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("advisories.db");
    database(&path).await;
    // A writer leaves the file at rest in rollback-journal mode, with
    // nothing beside it.
    assert_eq!(journal_version(&path), 1);
    let before = on_disk(dir.path());
    assert_eq!(before.len(), 1, "{:?}", before.iter().map(|f| &f.0));

    let db = AdvisoryDb::open(&path).await.unwrap();
    let status = db.status().await.unwrap();
    assert_eq!(status.sources.len(), 2);
    let set = db
        .lookup(&[("PyPI".to_owned(), "requests".to_owned())])
        .await
        .unwrap();
    assert!(!set.affected.is_empty());
    let import = source::read_path(&feeds().join("kev.json")).unwrap();
    let refused = db.import(&import[0]).await.unwrap_err();
    assert!(
        matches!(&refused, DbError::Sql { source: sqlx::Error::Database(e), .. }
            if e.code().as_deref() == Some("8")),
        "SQLITE_READONLY: {refused:?}"
    );
    db.close().await;
    assert!(on_disk(dir.path()) == before, "the directory changed");
}

/// A file the reader may not write (mode 0444 in a directory of mode
/// 0555) is read. Run as root, file modes stop nothing and this proves
/// only that the read works; the test above proves the open read-only.
#[cfg(unix)]
#[tokio::test]
async fn b9_a_read_only_file_in_a_read_only_directory_is_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("db");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("advisories.db");
    database(&path).await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = on_disk(&sub);
    let opened = AdvisoryDb::open(&path).await;
    let status = match &opened {
        Ok(db) => db.status().await.map(|s| s.sources.len()),
        Err(_) => Ok(0),
    };
    if let Ok(db) = &opened {
        db.close().await;
    }
    let after = on_disk(&sub);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(opened.is_ok(), "{:?}", opened.err());
    assert_eq!(status.unwrap(), 2);
    assert!(after == before, "the directory changed");
}

/// A writer works in WAL mode and, closing with the file to itself, turns
/// it back to rollback-journal mode; while a reader has the file open, it
/// leaves WAL mode alone (the reader is not disturbed).
#[tokio::test]
async fn a_writer_leaves_the_database_in_rollback_mode_unless_it_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("advisories.db");
    let db = AdvisoryDb::create(&path).await.unwrap();
    assert_eq!(journal_version(&path), 2);
    let reader = AdvisoryDb::open(&path).await.unwrap();
    reader.status().await.unwrap();
    db.close().await;
    assert_eq!(journal_version(&path), 2, "a reader holds it");
    assert_eq!(reader.status().await.unwrap().sources.len(), 0);
    reader.close().await;
    let db = AdvisoryDb::create(&path).await.unwrap();
    db.close().await;
    assert_eq!(journal_version(&path), 1);
    let names: Vec<String> = on_disk(dir.path()).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["advisories.db"]);
}
