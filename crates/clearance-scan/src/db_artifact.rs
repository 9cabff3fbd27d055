//! The advisory database as an OCI artifact, so a site can serve it from
//! its own registry (`clearance db push` / `db pull`).
//!
//! The artifact is an image manifest (image-spec 1.1 "Guidelines for
//! Artifact Usage", an artifact without config): `artifactType`
//! [`ARTIFACT_TYPE`], the empty config, and one layer of media type
//! [`LAYER_MEDIA_TYPE`]: a consistent copy of the SQLite file
//! (`VACUUM INTO`, never the live file and its WAL), compressed with zstd.
//! zstd rather than gzip: every runner of a fleet decompresses what one
//! push compressed, and zstd decompresses several times faster than gzip
//! at a better ratio; the layer reader already reads it, and its window is
//! held to 8 MiB (what level 19 uses) on both sides.
//!
//! Pulling: [`unpack`] decompresses the verified blob into a temporary
//! file beside the database (bounded: [`DEFAULT_MAX_DATABASE_BYTES`]),
//! [`check`] opens it as SQLite and requires a Clearance advisory database
//! of [`SCHEMA_VERSION`](crate::db::SCHEMA_VERSION) whose pages are sound, and [`install`] renames it
//! over the old file, which serves until then. The temporary file is gone
//! by the time anyone reads an error, so errors name the database it was
//! to replace.

use std::collections::BTreeMap;
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};

use clearance_oci::verify::VerifyError;

use crate::db::{
    AdvisoryDb, DbError, DbStatus, Open, SCHEMA_VERSION, close_pool, sqlite_pool_with,
};

/// The artifact's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.clearance.advisory-db.v1";
/// The media type of its one layer: the SQLite file, zstd-compressed.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.clearance.advisory-db.v1.sqlite+zstd";
/// Annotation: the database's schema version ([`SCHEMA_VERSION`](crate::db::SCHEMA_VERSION)).
pub const ANNOTATION_SCHEMA: &str = "vnd.clearance.advisory-db.schema-version";
/// Annotation prefix: one per source, `…source.<name>` = its data date
/// (else when it was imported), for people browsing a registry. Pulling
/// reads the database itself, never these.
pub const ANNOTATION_SOURCE: &str = "vnd.clearance.advisory-db.source.";
/// The OCI annotation for when the artifact was made (RFC 3339): here,
/// when its newest data was imported.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// The largest database a pull writes by default (2 GiB uncompressed).
pub const DEFAULT_MAX_DATABASE_BYTES: u64 = 2 << 30;
/// zstd level of a push. One push compresses what every runner downloads,
/// so more than zstd's default 3 pays: on a 13.5 MB database, 9 is 14%
/// smaller than 3 for 0.2 s instead of 0.06 s, while 19 is 25% smaller but
/// takes 5.9 s (about 7 minutes a gigabyte); decompressing costs the same
/// for all three (figures in the README, under `db push`).
pub const ZSTD_LEVEL: i32 = 9;
/// zstd window limit: 2^23 = 8 MiB, the most levels up to 19 use.
const MAX_WINDOW_LOG: u32 = 23;
/// Sources named in annotations at most.
const MAX_SOURCE_ANNOTATIONS: usize = 64;

/// Why a database could not be packed, or a pulled one not used.
#[derive(Debug, thiserror::Error)]
pub enum DbArtifactError {
    /// The database (the one pushed, or the one pulled) is not a readable
    /// Clearance advisory database of this schema.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A pulled database is not a sound Clearance advisory database of
    /// this schema ([`check`]). It was checked in a temporary file, removed
    /// since, so this names the database it was to replace.
    #[error("the database pulled for {} {}", target.display(), unusable(problem))]
    Unusable {
        /// The database it was to replace.
        target: PathBuf,
        /// What [`AdvisoryDb`] found (its path is the temporary file's).
        problem: DbError,
    },
    /// Writing a pulled database's temporary copy beside the database it
    /// is to replace failed (a full disk, permissions).
    #[error("writing the database pulled for {}: {source}", target.display())]
    Write {
        /// The database it was to replace.
        target: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The pulled blob's bytes are not what its digest or size says.
    #[error(transparent)]
    Verify(VerifyError),
    /// The pulled database is larger than allowed.
    #[error(
        "the advisory database in {what} is larger than {limit} bytes uncompressed; if it is genuine, raise the limit (--max-size)"
    )]
    TooLarge {
        /// The blob.
        what: String,
        /// The limit, bytes.
        limit: u64,
    },
    /// The blob is not zstd, or its frames are damaged.
    #[error("{what} is not a zstd-compressed advisory database: {message}")]
    Compression {
        /// The blob.
        what: String,
        /// zstd's message.
        message: String,
    },
}

/// A database packed for a push: the compressed copy, in a temporary
/// directory removed when this is dropped.
#[derive(Debug)]
pub struct Packed {
    /// Holds `path`.
    pub dir: tempfile::TempDir,
    /// The zstd-compressed copy (the layer to push).
    pub path: PathBuf,
    /// The layer's size, bytes.
    pub size: u64,
    /// The uncompressed copy's size, bytes.
    pub database_bytes: u64,
    /// The database as it was copied.
    pub status: DbStatus,
}

/// Copy the database at `db` consistently (`VACUUM INTO`, in a temporary
/// directory under `work`) and compress the copy with zstd at
/// [`ZSTD_LEVEL`]. The database keeps serving meanwhile.
///
/// # Errors
///
/// [`DbArtifactError::Db`] when `db` is missing or not a Clearance
/// advisory database of this schema; [`DbArtifactError::Io`] for the
/// temporary files.
pub async fn pack(db: &Path, work: &Path) -> Result<Packed, DbArtifactError> {
    let dir = tempfile::Builder::new()
        .prefix(".db-push-")
        .tempdir_in(work)
        .map_err(io_at(work))?;
    let copy = dir.path().join("advisories.db");
    let opened = AdvisoryDb::open(db).await?;
    let status = opened.status().await;
    let snapshot = opened.snapshot_into(&copy).await;
    opened.close().await;
    let status = status?;
    snapshot?;
    let path = dir.path().join("advisories.db.zst");
    let (from, to) = (copy.clone(), path.clone());
    let (database_bytes, size) = tokio::task::spawn_blocking(move || compress(&from, &to))
        .await
        .map_err(|e| DbArtifactError::Io {
            path: copy.clone(),
            source: io::Error::other(e),
        })??;
    std::fs::remove_file(&copy).map_err(io_at(&copy))?;
    Ok(Packed {
        dir,
        path,
        size,
        database_bytes,
        status,
    })
}

/// The artifact's annotations: `created` (when the database's newest
/// data was imported, so the same database always makes the same
/// artifact, and pushing it again signs nothing new), the schema version,
/// and each source's data date (or import time), keys made of
/// `[A-Za-z0-9._-]` only.
pub fn annotations(status: &DbStatus) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([(
        ANNOTATION_SCHEMA.to_owned(),
        status.schema_version.to_string(),
    )]);
    if let Some(newest) = status.sources.iter().map(|s| s.imported_at).max() {
        out.insert(
            ANNOTATION_CREATED.to_owned(),
            clearance_oci::time::rfc3339_signed(newest),
        );
    }
    for source in status.sources.iter().take(MAX_SOURCE_ANNOTATIONS) {
        let name: String = source
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let date = source
            .data_date
            .clone()
            .unwrap_or_else(|| clearance_oci::time::rfc3339_signed(source.imported_at));
        out.insert(
            format!("{ANNOTATION_SOURCE}{name}"),
            date.chars().take(40).collect(),
        );
    }
    out
}

/// What a download's temporary file beside the database is called.
const PULL_PREFIX: &str = ".db-pull-";

/// How long a download's temporary file may go unwritten before a later
/// pull takes it for one left by a killed pull.
const STALE_PULL: std::time::Duration = std::time::Duration::from_secs(600);

/// Remove the temporary files of pulls that were killed (a signal, a
/// cancelled CI job): `.db-pull-*.db` in `dir` not written for
/// [`STALE_PULL`]. A pull in progress writes its file as it downloads, so
/// it is not taken. Failures are ignored: this is tidying.
fn sweep_stale_pulls(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PULL_PREFIX) && name.ends_with(".db")) {
            continue;
        }
        let stale = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_PULL);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Decompress a pulled layer from `blob` (a reader that verifies the
/// blob's digest and size, such as the registry client's) into a new
/// temporary file beside `target` (the database it is to replace, whose
/// directory must exist), at most `max` bytes. The blob is read to its
/// end, so its digest is checked before this returns; a blob whose bytes
/// are not its digest's is a [`DbArtifactError::Verify`] even when the
/// damage also broke the zstd frames. `what` names the blob in errors.
/// Blocking: run it on a blocking thread.
///
/// # Errors
///
/// [`DbArtifactError::Verify`], [`DbArtifactError::TooLarge`],
/// [`DbArtifactError::Compression`], [`DbArtifactError::Io`] (naming the
/// directory) when the temporary file cannot be made,
/// [`DbArtifactError::Write`] when it cannot be written.
pub fn unpack(
    blob: impl Read,
    what: &str,
    target: &Path,
    max: u64,
) -> Result<tempfile::NamedTempFile, DbArtifactError> {
    let dir = directory_of(target);
    sweep_stale_pulls(dir);
    let mut file = tempfile::Builder::new()
        .prefix(PULL_PREFIX)
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(io_at(dir))?;
    let mut decoder = zstd::stream::read::Decoder::new(blob).map_err(|e| compression(what, &e))?;
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| compression(what, &e))?;
    let copied = io::copy(&mut (&mut decoder).take(max + 1), file.as_file_mut());
    let outcome = match copied {
        Ok(n) if n > max => Err(DbArtifactError::TooLarge {
            what: what.to_owned(),
            limit: max,
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(classify(what, target, e)),
    };
    // Read the blob to its end whatever happened: the digest is checked at
    // the last byte, and a tampered blob says so rather than how it broke
    // the decoder.
    let drained = io::copy(decoder.get_mut(), &mut io::sink());
    if let Err(e) = drained
        && let Some(v) = VerifyError::from_io(&e)
    {
        return Err(DbArtifactError::Verify(v.clone()));
    }
    outcome?;
    file.as_file_mut().flush().map_err(write_for(target))?;
    file.as_file().sync_all().map_err(write_for(target))?;
    Ok(file)
}

/// The directory a database file is in (`.` for a bare name).
fn directory_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Open a pulled file as SQLite and check it is a Clearance advisory
/// database this binary reads (schema [`SCHEMA_VERSION`](crate::db::SCHEMA_VERSION)) whose pages are
/// sound; return what it holds. Nothing is written beside it. `target` is
/// the database it is to replace, which errors name.
///
/// # Errors
///
/// [`DbArtifactError::Unusable`] with [`DbError::Schema`] for a SQLite
/// file that is not ours or of another schema, [`DbError::Sql`] for one
/// that is no SQLite file, [`DbError::Corrupt`] for damaged pages.
pub async fn check(path: &Path, target: &Path) -> Result<DbStatus, DbArtifactError> {
    let unusable = |problem| DbArtifactError::Unusable {
        target: target.to_owned(),
        problem,
    };
    // Rollback-journal mode: nothing beside the file to outlive the rename
    // (a WAL pool's -wal and -shm can), no lock held once idle.
    let db = AdvisoryDb::open_unshared(path).await.map_err(unusable)?;
    let checked = async {
        db.quick_check().await?;
        db.status().await
    }
    .await;
    db.close().await;
    checked.map_err(unusable)
}

/// What is wrong with a pulled database, for [`DbArtifactError::Unusable`]
/// (after "the database pulled for TARGET"), and what to do.
fn unusable(problem: &DbError) -> String {
    match problem {
        DbError::Missing(_) => "was removed while it was checked; pull again".to_owned(),
        DbError::WalNotWritable(_) => {
            "is in WAL mode in a directory this user may not write".to_owned()
        }
        DbError::NotSqlite(_) | DbError::NotAdvisoryDb(_) => {
            "is not a Clearance advisory database: check the reference; `clearance db push` makes these".to_owned()
        }
        DbError::Schema { found, .. } if found.starts_with("none") => {
            "is not a Clearance advisory database (it has no Clearance schema version): check the reference; `clearance db push` makes these".to_owned()
        }
        DbError::Schema { found, .. } => format!(
            "has schema version {found}, and this clearance reads version {SCHEMA_VERSION}: pull with a clearance that reads it, or push one this clearance made"
        ),
        DbError::Sql { source, .. } => {
            format!("cannot be read as SQLite ({source}): push the database again")
        }
        DbError::Corrupt { what, message, .. } => format!(
            "is damaged: a stored {what} is unreadable ({message}); push the database again from a sound copy"
        ),
    }
}

/// Put a checked database in place of `target`, atomically: readers see
/// the old file or the new one, never a mix. The old file is checkpointed
/// first (`wal_checkpoint(TRUNCATE)`), and after the rename its `-wal` and
/// `-shm` are removed, so a new connection never replays the old file's
/// log onto the new one. A process that still has the old file open keeps
/// reading it through its open descriptors; SQLite sees that the file was
/// renamed over and, closing, neither checkpoints nor deletes the new
/// file's `-wal` (`databaseIsUnmoved`).
///
/// # Errors
///
/// [`DbArtifactError::Io`] when the rename fails; the old file is then
/// untouched.
pub async fn install(
    database: tempfile::NamedTempFile,
    target: &Path,
) -> Result<(), DbArtifactError> {
    if target.is_file() {
        // Best effort, and brief: a reader in a long transaction keeps its
        // frames in the log, which is removed after the rename anyway. The
        // journal mode is left as it is: a file in rollback-journal mode
        // has no log to checkpoint.
        if let Ok(pool) = sqlite_pool_with(target, Open::Existing, 1, None).await {
            for statement in [
                "PRAGMA busy_timeout = 1000",
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ] {
                // A failure here costs nothing: the file is being replaced.
                let _ = sqlx::query(statement).execute(&pool).await;
            }
            close_pool(&pool).await;
        }
    }
    // The new file keeps the old one's mode (readers of another user keep
    // reading), else SQLite's 0644; a temporary file starts at 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(target)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644);
        std::fs::set_permissions(database.path(), std::fs::Permissions::from_mode(mode))
            .map_err(write_for(target))?;
    }
    database.persist(target).map_err(|e| DbArtifactError::Io {
        path: target.to_owned(),
        source: e.error,
    })?;
    for suffix in ["-wal", "-shm"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DbArtifactError::Io {
                    path: PathBuf::from(name),
                    source: e,
                });
            }
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(handle) = std::fs::File::open(dir)
    {
        // The rename is durable once the directory is.
        let _ = handle.sync_all();
    }
    Ok(())
}

/// zstd-compress `from` into `to`; returns (bytes read, bytes written).
fn compress(from: &Path, to: &Path) -> Result<(u64, u64), DbArtifactError> {
    let mut input = std::fs::File::open(from).map_err(io_at(from))?;
    let output = std::fs::File::create(to).map_err(io_at(to))?;
    let mut encoder = zstd::stream::write::Encoder::new(output, ZSTD_LEVEL).map_err(io_at(to))?;
    // Written into each frame, so a reader can tell a cut-off file.
    encoder.include_checksum(true).map_err(io_at(to))?;
    let read = io::copy(&mut input, &mut encoder).map_err(io_at(to))?;
    let output = encoder.finish().map_err(io_at(to))?;
    output.sync_all().map_err(io_at(to))?;
    let written = output.metadata().map_err(io_at(to))?.len();
    Ok((read, written))
}

/// An error while decompressing: a digest or size mismatch the verifying
/// reader raised, a write of the copy pulled for `target`, or damaged zstd.
fn classify(what: &str, target: &Path, e: io::Error) -> DbArtifactError {
    if let Some(v) = VerifyError::from_io(&e) {
        return DbArtifactError::Verify(v.clone());
    }
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::PermissionDenied => write_for(target)(e),
        _ => compression(what, &e),
    }
}

fn write_for(target: &Path) -> impl Fn(io::Error) -> DbArtifactError + '_ {
    move |source| DbArtifactError::Write {
        target: target.to_owned(),
        source,
    }
}

fn compression(what: &str, e: &io::Error) -> DbArtifactError {
    DbArtifactError::Compression {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> DbArtifactError + '_ {
    move |source| DbArtifactError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests;
