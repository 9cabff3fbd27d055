#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use clearance_oci::Digest;
use clearance_oci::verify::VerifyingReader;

use super::*;
use crate::advisory::source;
use crate::db::{SCHEMA_VERSION, sqlite_pool};

fn feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds")
}

/// A database of the fixture feeds named.
async fn database(path: &Path, feeds_named: &[&str]) -> DbStatus {
    let db = AdvisoryDb::create(path).await.unwrap();
    for feed in feeds_named {
        for import in source::read_path(&feeds().join(feed)).unwrap() {
            db.import(&import).await.unwrap();
        }
    }
    let status = db.status().await.unwrap();
    db.close().await;
    status
}

/// The packed layer's bytes and digest.
fn layer(packed: &Packed) -> (Vec<u8>, Digest) {
    let bytes = std::fs::read(&packed.path).unwrap();
    let digest = Digest::sha256_of(&bytes);
    (bytes, digest)
}

/// [`unpack`] of bytes that are their own digest's (a blob as a registry
/// serves it, through the verifying reader), for `target`.
fn unpack_blob(
    bytes: Vec<u8>,
    target: &Path,
    max: u64,
) -> Result<tempfile::NamedTempFile, DbArtifactError> {
    let digest = Digest::sha256_of(&bytes);
    unpack(verified(bytes, &digest), "blob", target, max)
}

fn verified(bytes: Vec<u8>, digest: &Digest) -> impl std::io::Read {
    let size = bytes.len() as u64;
    VerifyingReader::new(
        std::io::Cursor::new(bytes),
        "blob",
        digest.clone(),
        Some(size),
    )
}

fn names(status: &DbStatus) -> Vec<(String, i64, i64)> {
    status
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.advisories, s.affected))
        .collect()
}

#[tokio::test]
async fn a_packed_database_unpacks_checks_and_installs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("advisories.db");
    let status = database(&original, &["osv-pypi", "kev.json", "alpine/main.json"]).await;
    let packed = pack(&original, dir.path()).await.unwrap();
    assert_eq!(names(&packed.status), names(&status));
    assert!(packed.size > 0 && packed.size < packed.database_bytes);

    let target = dir.path().join("pulled/advisories.db");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let file = unpack_blob(layer(&packed).0, &target, DEFAULT_MAX_DATABASE_BYTES).unwrap();
    let pulled = check(file.path(), &target).await.unwrap();
    assert_eq!(names(&pulled), names(&status));
    install(file, &target).await.unwrap();
    let db = AdvisoryDb::open(&target).await.unwrap();
    assert_eq!(names(&db.status().await.unwrap()), names(&status));
    db.close().await;
    // Not the temporary file's 0600: SQLite's 0644, or the old file's mode.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o644);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let file = unpack_blob(layer(&packed).0, &target, DEFAULT_MAX_DATABASE_BYTES).unwrap();
        check(file.path(), &target).await.unwrap();
        install(file, &target).await.unwrap();
        assert_eq!(mode(&target), 0o640);
    }
    // Nothing is left of the temporary file, not even its log.
    let left: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with("advisories.db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn annotations_name_the_schema_and_each_source_in_short_keys() {
    let dir = tempfile::tempdir().unwrap();
    let status = database(&dir.path().join("a.db"), &["osv-pypi", "kev.json"]).await;
    let a = annotations(&status);
    let newest = status.sources.iter().map(|s| s.imported_at).max().unwrap();
    assert_eq!(
        a[ANNOTATION_CREATED],
        clearance_oci::time::rfc3339_signed(newest)
    );
    assert_eq!(
        annotations(&status),
        a,
        "the same database, the same annotations"
    );
    assert_eq!(a[ANNOTATION_SCHEMA], SCHEMA_VERSION.to_string());
    for s in &status.sources {
        let key = a
            .keys()
            .find(|k| k.starts_with(ANNOTATION_SOURCE) && k.ends_with(&s.name.replace(':', "-")))
            .unwrap_or_else(|| panic!("no annotation for {} in {a:?}", s.name));
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "{key}"
        );
    }
}

#[tokio::test]
async fn a_blob_that_is_not_its_digest_is_a_digest_error_even_when_zstd_breaks_first() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("advisories.db");
    database(&original, &["osv-pypi"]).await;
    let packed = pack(&original, dir.path()).await.unwrap();
    let (mut bytes, digest) = layer(&packed);
    // Damage the middle of the frame: the decoder fails before the end.
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    let e = unpack(
        verified(bytes, &digest),
        "blob",
        &original,
        DEFAULT_MAX_DATABASE_BYTES,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DbArtifactError::Verify(VerifyError::DigestMismatch { .. })
        ),
        "{e:?}"
    );
    // Nothing of it is left behind.
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".db-pull-")
    }));
}

#[tokio::test]
async fn a_database_over_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("advisories.db");
    database(&original, &["osv-pypi"]).await;
    let packed = pack(&original, dir.path()).await.unwrap();
    let (bytes, _) = layer(&packed);
    let limit = packed.database_bytes - 1;
    let e = unpack_blob(bytes, &dir.path().join("advisories.db"), limit).unwrap_err();
    assert!(
        matches!(e, DbArtifactError::TooLarge { limit: l, .. } if l == limit),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_sqlite_file_that_is_not_ours_is_refused_and_so_is_one_that_is_no_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    let pool = sqlite_pool(&other, true, 1).await.unwrap();
    sqlx::query("CREATE TABLE t (x)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let target = dir.path().join("advisories.db");
    assert!(matches!(
        check(&other, &target).await,
        Err(DbArtifactError::Unusable {
            problem: DbError::Schema { .. },
            ..
        })
    ));
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    assert!(matches!(
        check(&junk, &target).await,
        Err(DbArtifactError::Unusable {
            problem: DbError::Sql { .. } | DbError::Schema { .. },
            ..
        })
    ));
}

/// The old file's log must not be replayed onto the new one: with a
/// reader holding the old WAL (so the checkpoint cannot empty it), the
/// new database still reads as itself once installed.
#[tokio::test]
async fn installing_over_a_database_with_a_live_log_leaves_the_new_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("advisories.db");
    database(&target, &["osv-pypi", "kev.json"]).await;
    // A writer leaves frames in the old WAL, and a reader pins them.
    let writer = sqlite_pool(&target, false, 1).await.unwrap();
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(&writer)
        .await
        .unwrap();
    let reader = sqlite_pool(&target, false, 1).await.unwrap();
    let mut pinned = reader.begin().await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM advisories")
        .fetch_one(&mut *pinned)
        .await
        .unwrap();
    sqlx::query("DELETE FROM advisories")
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query("UPDATE sources SET advisories = 0")
        .execute(&writer)
        .await
        .unwrap();
    let mut wal = target.as_os_str().to_owned();
    wal.push("-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);

    let fresh = dir.path().join("fresh.db");
    let status = database(&fresh, &["alpine/main.json"]).await;
    let packed = pack(&fresh, dir.path()).await.unwrap();
    let file = unpack_blob(layer(&packed).0, &target, DEFAULT_MAX_DATABASE_BYTES).unwrap();
    check(file.path(), &target).await.unwrap();
    install(file, &target).await.unwrap();

    let db = AdvisoryDb::open(&target).await.unwrap();
    db.quick_check().await.unwrap();
    assert_eq!(names(&db.status().await.unwrap()), names(&status));
    db.close().await;
    // The old reader still reads the old file, as it was for it.
    let old: i64 = sqlx::query_scalar("SELECT count(*) FROM advisories")
        .fetch_one(&mut *pinned)
        .await
        .unwrap();
    assert!(old > 0);
    drop(pinned);
    reader.close().await;
    writer.close().await;
    // Closing them touched nothing of the new file.
    let db = AdvisoryDb::open(&target).await.unwrap();
    db.quick_check().await.unwrap();
    assert_eq!(names(&db.status().await.unwrap()), names(&status));
    db.close().await;
}

#[test]
fn a_blob_that_is_no_zstd_is_a_compression_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"SQLite format 3\0 not compressed".to_vec();
    let e = unpack_blob(bytes, &dir.path().join("advisories.db"), 1 << 20).unwrap_err();
    assert!(matches!(e, DbArtifactError::Compression { .. }), "{e:?}");
}

#[test]
fn a_frame_that_asks_for_a_window_over_8_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 19).unwrap();
    encoder.window_log(27).unwrap();
    std::io::Write::write_all(&mut encoder, &vec![0u8; 1 << 20]).unwrap();
    let bytes = encoder.finish().unwrap();
    let e = unpack_blob(bytes, &dir.path().join("advisories.db"), 1 << 30).unwrap_err();
    assert!(matches!(e, DbArtifactError::Compression { .. }), "{e:?}");
}

/// A pull killed by a signal leaves its temporary file; the next pull
/// removes such files once they have not been written for ten minutes,
/// and leaves a pull in progress (a fresh file) alone.
#[test]
fn the_next_pull_removes_what_killed_pulls_left() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join(".db-pull-killed.db");
    let fresh = dir.path().join(".db-pull-running.db");
    let other = dir.path().join("advisories.db");
    for path in [&stale, &fresh, &other] {
        std::fs::write(path, b"x").unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for path in [&stale, &other] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    let bytes = b"not zstd".to_vec();
    let _ = unpack_blob(bytes, &dir.path().join("advisories.db"), 1 << 20);
    assert!(!stale.exists(), "a killed pull's file is removed");
    assert!(fresh.exists(), "a pull in progress is left alone");
    assert!(other.exists(), "only .db-pull-*.db files are touched");
}

/// Break-it (issue 9): a pulled database with a damaged page was
/// reported as `advisory database …/.db-pull-XXXX.db: … (*** in database
/// main ***\nOn tree page …)`: a temporary file already removed, and
/// SQLite's lines joined by a newline the terminal showed as `\n`. The
/// error names the database the pull was to replace, and the complaints
/// on one line.
#[tokio::test]
async fn b9_a_damaged_pulled_database_is_named_by_its_target_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let pulled = dir.path().join(".db-pull-test.db");
    database(&pulled, &["osv-pypi", "kev.json"]).await;
    damage_index(&pulled, "affected_package").await;
    let target = dir.path().join("advisories.db");
    let e = check(&pulled, &target).await.unwrap_err();
    let DbArtifactError::Unusable {
        target: named,
        problem: DbError::Corrupt { message, .. },
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(named, &target);
    assert!(
        !message.contains('\n') && !message.contains("***"),
        "{message:?}"
    );
    assert_eq!(message.matches(" cell ").count(), 3, "{message}");
    assert!(message.ends_with("; …"), "{message}");
    let shown = e.to_string();
    assert!(!shown.contains(".db-pull-"), "{shown}");
    assert!(shown.contains(&target.display().to_string()), "{shown}");
}

/// Overwrite the cells of the b-tree `name` in the database at `path`
/// (past its page header), so `quick_check` finds them out of range.
async fn damage_index(path: &Path, name: &str) {
    let pool = sqlite_pool(path, false, 1).await.unwrap();
    let (root, page_size): (i64, i64) = sqlx::query_as(
        "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master WHERE name = ?",
    )
    .bind(name)
    .fetch_one(&pool)
    .await
    .unwrap();
    crate::db::close_pool(&pool).await;
    let mut bytes = std::fs::read(path).unwrap();
    let start = usize::try_from((root - 1) * page_size).unwrap() + 8;
    bytes[start..start + 192].fill(0x41);
    std::fs::write(path, bytes).unwrap();
}
