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

/// One OSV record of PyPI package `name`, last modified at `modified`,
/// written as `ID.json` into `dir`.
fn osv_record(dir: &Path, id: &str, name: &str, modified: &str) {
    let text = serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": modified,
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]
        }]
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{id}.json")), text.to_string()).unwrap();
}

/// Import every source `path` holds into `db`.
async fn import_path(db: &AdvisoryDb, path: &Path) {
    for import in source::read_path(path).unwrap() {
        db.import(&import).await.unwrap();
    }
}

/// Finding f1 (issue 9): a database's age came from when its sources were
/// imported, so an air-gapped site importing a 2024 snapshot today was
/// told its data was current. A source is as old as its data's date (the
/// `data_date` `db status` shows), the database as its stalest source,
/// for `db status` and for a scan's lookup alike.
#[tokio::test]
async fn f1_an_old_snapshot_imported_today_is_as_old_as_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    osv_record(&osv, "PYSEC-1", "requests", "2024-10-10T08:00:00Z");
    osv_record(&osv, "PYSEC-2", "urllib3", "2024-09-01T00:00:00Z");
    let path = dir.path().join("advisories.db");
    let db = AdvisoryDb::create(&path).await.unwrap();
    let before = now_unix();
    import_path(&db, &osv).await;
    let snapshot = parse_data_date("2024-10-10T08:00:00Z").unwrap();
    assert_eq!(db.status().await.unwrap().updated_at, Some(snapshot));
    let set = db
        .lookup(&[("PyPI".to_owned(), "requests".to_owned())])
        .await
        .unwrap();
    assert_eq!(set.updated_at, Some(snapshot));
    let stalest = set.stalest.unwrap();
    assert_eq!(stalest.name, "osv:PyPI");
    assert!(
        stalest.refresh_hint().contains("clearance db build"),
        "{}",
        stalest.refresh_hint()
    );
    // A feed whose data is from now (as `db update` fetches it) is
    // current, and a fresh source does not make the old one look current.
    let fresh = dir.path().join("fresh");
    let now = clearance_oci::time::rfc3339(clearance_oci::time::now_unix());
    let mut imports = source::read_path(&feeds().join("kev.json")).unwrap();
    imports[0].data_date = Some(now.clone());
    db.import(&imports[0]).await.unwrap();
    assert_eq!(db.status().await.unwrap().updated_at, Some(snapshot));
    osv_record(&fresh, "PYSEC-3", "idna", &now);
    import_path(&db, &fresh).await;
    let updated = db.status().await.unwrap().updated_at.unwrap();
    assert!(updated >= before - 1, "{updated} < {before}");
    db.close().await;
}

/// A feed `db update` fetched is as current as its fetch, whatever its
/// newest record's date: an ecosystem with no new advisory this week is
/// not stale for that.
#[tokio::test]
async fn f1_a_fetched_feed_is_as_current_as_its_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    osv_record(&osv, "PYSEC-1", "requests", "2024-10-10T08:00:00Z");
    let db = AdvisoryDb::create(&dir.path().join("advisories.db"))
        .await
        .unwrap();
    let before = now_unix();
    for mut import in source::read_path(&osv).unwrap() {
        import.origin = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip".into();
        db.import(&import).await.unwrap();
    }
    let updated = db.status().await.unwrap().updated_at.unwrap();
    assert!((before..=now_unix()).contains(&updated), "{updated}");
    let stalest = db.stalest().await.unwrap().unwrap();
    assert!(
        stalest
            .refresh_hint()
            .starts_with("run `clearance db update`")
    );
    db.close().await;
}

/// A source whose data date cannot be known (the Debian tracker gives
/// none; EPSS without a `score_date` gives only its model's version) is as
/// old as its import, and a data date in the future counts as the import
/// time, never later.
#[tokio::test]
async fn f1_a_source_without_a_data_date_is_as_old_as_its_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("advisories.db");
    let db = AdvisoryDb::create(&path).await.unwrap();
    let before = now_unix();
    let mut imports = source::read_path(&feeds().join("epss.csv")).unwrap();
    imports[0].data_date = Some("v2025.03.14".to_owned());
    db.import(&imports[0]).await.unwrap();
    let updated = db.status().await.unwrap().updated_at.unwrap();
    assert!((before..=now_unix()).contains(&updated), "{updated}");
    imports[0].data_date = Some("2999-01-01".to_owned());
    db.import(&imports[0]).await.unwrap();
    let updated = db.status().await.unwrap().updated_at.unwrap();
    assert!((before..=now_unix()).contains(&updated), "{updated}");
    db.close().await;
}

/// The data dates the importers store: OSV's and KEV's RFC 3339, EPSS's
/// `+0000`, a bare date; versions are no dates.
#[test]
fn data_dates_parse_as_the_feeds_write_them() {
    let day = 20_006 * 86_400; // 2024-10-10
    assert_eq!(parse_data_date("2024-10-10"), Some(day));
    assert_eq!(parse_data_date("2024-10-10T01:02:03Z"), Some(day + 3723));
    assert_eq!(
        parse_data_date("2024-10-10T17:03:12.0000Z"),
        Some(day + 61_392)
    );
    assert_eq!(parse_data_date("2024-10-10T02:00:00+0200"), Some(day));
    assert_eq!(
        parse_data_date("2024-10-10T00:00:00-01:00"),
        Some(day + 3600)
    );
    for not in [
        "v2025.03.14",
        "2024.11.29",
        "2024-13-01",
        "2024-10-10T",
        "",
        "2024-10-10Tx",
    ] {
        assert_eq!(parse_data_date(not), None, "{not}");
    }
}

/// Finding f2 (issue 9): `db build --db FILE` wrote Clearance's tables
/// into any SQLite database, and a file of another kind gave SQLite's raw
/// "file is not a database". Both are refused, naming the file, and are
/// left byte for byte as they were; an empty file is a database to create.
#[tokio::test]
async fn f2_a_foreign_database_or_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.sqlite");
    let pool = sqlite_pool_with(&app, Open::Create, 1, Some(SqliteJournalMode::Delete))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE users (x)")
        .execute(&pool)
        .await
        .unwrap();
    close_pool(&pool).await;
    let before = on_disk(dir.path());
    let refused = AdvisoryDb::create(&app).await.unwrap_err();
    assert!(
        matches!(&refused, DbError::NotAdvisoryDb(p) if p == &app),
        "{refused:?}"
    );
    assert!(on_disk(dir.path()) == before, "the directory changed");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words").unwrap();
    let refused = AdvisoryDb::create(&text).await.unwrap_err();
    assert!(
        matches!(&refused, DbError::NotSqlite(p) if p == &text),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(&text).unwrap(),
        b"not a database at all, just some words"
    );

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    AdvisoryDb::create(&empty).await.unwrap().close().await;
    // An advisory database is opened again for the next import.
    let db = AdvisoryDb::create(&empty).await.unwrap();
    import_path(&db, &feeds().join("kev.json")).await;
    db.close().await;
    AdvisoryDb::create(&empty).await.unwrap().close().await;
}
