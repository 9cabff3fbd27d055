//! The advisory database: an embedded SQLite file holding every imported
//! feed, and the lookup that hands the matcher what an image's packages
//! need.
//!
//! Tables (schema [`SCHEMA_VERSION`]):
//! - `sources(name, kind, origin, imported_at, data_date, advisories,
//!   affected, etag, last_modified)`: one row per feed;
//! - `advisories(source, id, cve, record)`: `[source, AdvisoryRecord]` as
//!   JSON, indexed by id and by CVE so distribution records find CVSS from
//!   other feeds;
//! - `affected(source, ecosystem, package, advisory, record)`:
//!   `[source, AffectedRecord]` as JSON, indexed by (ecosystem, package);
//! - `kev(cve, record)`, `epss(cve, probability, percentile)`;
//! - `meta(key, value)`: `schema_version`.
//!
//! Importing a source replaces all it gave before in one transaction, so a
//! failed import leaves the previous data whole.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row, SqlitePool};

use crate::advisory::source::{FeedKind, Import};
use crate::advisory::{AdvisoryRecord, AffectedRecord, EpssScore, KevEntry};

/// The schema this code reads and writes; a database of another version
/// is refused with a message to rebuild it.
pub const SCHEMA_VERSION: i64 = 1;

/// Rows per multi-row INSERT (each row binds at most 5 values; SQLite
/// allows 32,766 per statement).
const BATCH: usize = 1000;

/// Errors of the advisory database, each naming its file.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No database file yet.
    #[error(
        "no advisory database at {0}: run `clearance db update` (or, offline, `clearance db build --source PATH`)"
    )]
    Missing(PathBuf),
    /// A database of another schema.
    #[error(
        "the advisory database at {path} has schema version {found}, this clearance reads version {SCHEMA_VERSION}: rebuild it with `clearance db update` or `clearance db build`"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: String,
    },
    /// The file to create or update is not an SQLite database at all.
    #[error(
        "{0} is not an SQLite database (not a Clearance advisory database); choose another --db path"
    )]
    NotSqlite(PathBuf),
    /// The file to create or update is an SQLite database of something
    /// else (objects of its own, no Clearance schema version); it is left
    /// untouched.
    #[error(
        "{0} is an SQLite database but not a Clearance advisory database (it has tables and no Clearance schema version), and was left as it is; choose another --db path"
    )]
    NotAdvisoryDb(PathBuf),
    /// A database in WAL mode with no `-wal` beside it (left so by an
    /// older clearance, or a killed writer) in a directory this user may
    /// not write: SQLite cannot read it without creating its `-wal` and
    /// `-shm`.
    #[error(
        "the advisory database at {0} is in WAL mode, and SQLite cannot read it without creating its -wal and -shm files beside it, which this user may not: have its owner run `clearance db update` (or `sqlite3 FILE 'PRAGMA journal_mode=DELETE'`) once, which leaves it in rollback-journal mode"
    )]
    WalNotWritable(PathBuf),
    /// SQLite failed.
    #[error("advisory database {path}: {source}")]
    Sql {
        /// The file.
        path: PathBuf,
        /// The error.
        source: sqlx::Error,
    },
    /// A stored record is not what this code wrote.
    #[error(
        "advisory database {path}: a stored {what} is unreadable ({message}); rebuild the database"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which kind of record.
        what: &'static str,
        /// serde's message.
        message: String,
    },
}

/// An open advisory database.
#[derive(Debug, Clone)]
pub struct AdvisoryDb {
    pool: SqlitePool,
    path: PathBuf,
    access: Access,
}

/// How an [`AdvisoryDb`] was opened, which says what closing it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Read only ([`AdvisoryDb::open`]): nothing is written, not even
    /// beside the file.
    ReadOnly,
    /// For writing, in WAL mode while open, so readers are not held up by
    /// an import ([`AdvisoryDb::create`]); closing turns the file back to
    /// rollback-journal mode.
    Writer,
    /// One connection in rollback-journal mode
    /// ([`AdvisoryDb::open_unshared`]).
    Unshared,
}

/// One source's row in `db status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceStatus {
    /// Its name (`osv:PyPI`).
    pub name: String,
    /// Which feed.
    pub kind: String,
    /// The path or URL it came from.
    pub origin: String,
    /// When it was imported, Unix seconds.
    pub imported_at: i64,
    /// How current its data is, as the feed says (RFC 3339 or a date).
    pub data_date: Option<String>,
    /// Advisory records.
    pub advisories: i64,
    /// Affected-package records (KEV entries, EPSS scores for those feeds).
    pub affected: i64,
}

/// What the last download of a feed answered, for the next conditional
/// request (RFC 9110 §13.1.1 `If-None-Match`, §13.1.3 `If-Modified-Since`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// What `db status` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DbStatus {
    /// The database file.
    pub path: PathBuf,
    /// [`SCHEMA_VERSION`].
    pub schema_version: i64,
    /// How current the stalest source's data is, Unix seconds
    /// ([`source_as_of`]); `None` without sources.
    pub updated_at: Option<i64>,
    /// Each source.
    pub sources: Vec<SourceStatus>,
}

/// What one import stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Advisory records stored.
    pub advisories: usize,
    /// Affected records (or KEV entries / EPSS scores) stored.
    pub affected: usize,
}

/// A stored affected record with the source that gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedAffected {
    /// The source's name.
    pub source: String,
    /// The record.
    pub record: AffectedRecord,
}

/// Everything the matcher needs for one set of packages: the affected
/// records of their (ecosystem, package) keys, the advisories those name
/// and every record sharing their CVE ids, and KEV and EPSS by CVE.
/// Built by [`AdvisoryDb::lookup`] or by hand (tests, benchmarks).
#[derive(Debug, Clone, Default)]
pub struct AdvisorySet {
    /// By (ecosystem key, package key).
    pub affected: HashMap<(String, String), Vec<SourcedAffected>>,
    /// By advisory id: each source's record.
    pub advisories: HashMap<String, Vec<(String, AdvisoryRecord)>>,
    /// By CVE id: the ids of records that are about it.
    pub by_cve: HashMap<String, BTreeSet<String>>,
    /// KEV entries by CVE.
    pub kev: HashMap<String, KevEntry>,
    /// EPSS scores by CVE.
    pub epss: HashMap<String, EpssScore>,
    /// Ecosystem keys the database holds any data for: a package of
    /// another ecosystem was not checked, which a report must say.
    pub covered: BTreeSet<String>,
    /// How current the stalest source's data is, Unix seconds
    /// ([`source_as_of`]): the database is as old as that.
    pub updated_at: Option<i64>,
    /// That stalest source, to say how to refresh it.
    pub stalest: Option<StalestSource>,
}

/// Whether a source's data was fetched from its feed's URL (`db update`),
/// every part of it when it was merged.
fn fetched(origin: &str) -> bool {
    origin
        .split(" + ")
        .all(|o| o.starts_with("https://") || o.starts_with("http://"))
}

/// The source that makes a database as old as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalestSource {
    /// Its name (`osv:PyPI`).
    pub name: String,
    /// The path or URL it came from (`a + b` when merged).
    pub origin: String,
    /// How current its data is, Unix seconds ([`source_as_of`]).
    pub as_of: i64,
}

impl StalestSource {
    /// What refreshes this source: a feed fetched from a URL by `clearance
    /// db update` is fetched again; one imported from files (an air-gapped
    /// site) needs fresher files; either can be replaced by a fresher
    /// database from a registry.
    pub fn refresh_hint(&self) -> String {
        if fetched(&self.origin) {
            "run `clearance db update` (or `clearance db pull` a fresher database from your registry)"
                .to_owned()
        } else {
            format!(
                "import fresher feed files with `clearance db build --source PATH` ({} came from {}), run `clearance db update` where the feeds can be reached, or `clearance db pull` a fresher database from your registry",
                self.name,
                clearance_oci::text::clean(&self.origin)
            )
        }
    }
}

/// How current a source's data is, Unix seconds: the date the feed gives
/// its data (`data_date`: an OSV source's newest `modified`, KEV's
/// `dateReleased`, EPSS's `score_date`) when that is a date
/// ([`parse_data_date`]), never later than the source was brought up to
/// date; otherwise when it was brought up to date (`refreshed`: imported,
/// or found unchanged by a conditional request). An old snapshot imported
/// today is as old as its data; a feed whose data date cannot be known
/// (the Debian tracker, Alpine secdb, EPSS's bare `model_version`) is as
/// old as its import.
pub fn source_as_of(refreshed: i64, data_date: Option<&str>) -> i64 {
    // (A feed fetched by `db update` is judged by when it was fetched: see
    // [`AdvisoryDb::stalest`].)
    match data_date.and_then(parse_data_date) {
        Some(data) => data.min(refreshed),
        None => refreshed,
    }
}

/// A feed's data date in Unix seconds: `YYYY-MM-DD` (midnight UTC) or an
/// RFC 3339 time (`T` or a space between date and time, fractional seconds
/// dropped, `Z`, `±HH:MM` or EPSS's `±HHMM`); `None` for anything else
/// (`v2023.03.01`, KEV's `catalogVersion` `2024.11.29`).
pub fn parse_data_date(text: &str) -> Option<i64> {
    fn num(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    }
    let b = text.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (year, month, day) = (num(text, 0..4)?, num(text, 5..7)?, num(text, 8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let midnight = clearance_oci::time::days_from_civil(year, month, day) * 86_400;
    let rest = text.get(10..)?;
    if rest.is_empty() {
        return Some(midnight);
    }
    let time = rest.strip_prefix(['T', 't', ' '])?;
    if time.as_bytes().get(2) != Some(&b':') || time.as_bytes().get(5) != Some(&b':') {
        return None;
    }
    let (hour, minute, second) = (num(time, 0..2)?, num(time, 3..5)?, num(time, 6..8)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = time.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = fraction.get(digits..)?;
    }
    let offset = match zone.as_bytes() {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let hm = zone.get(1..)?;
            let (h, m) = match hm.len() {
                5 if hm.as_bytes()[2] == b':' => (num(hm, 0..2)?, num(hm, 3..5)?),
                4 => (num(hm, 0..2)?, num(hm, 2..4)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    Some(midnight + hour * 3600 + minute * 60 + second - offset)
}

impl AdvisorySet {
    /// Add an advisory record (indexing its CVE).
    pub fn add_advisory(&mut self, source: &str, record: AdvisoryRecord) {
        if let Some(cve) = record.cve() {
            self.by_cve
                .entry(cve.to_owned())
                .or_default()
                .insert(record.id.clone());
        }
        self.advisories
            .entry(record.id.clone())
            .or_default()
            .push((source.to_owned(), record));
    }

    /// Add an affected record under its own key (its ecosystem is then
    /// covered, if [`covers_release`] says the source does).
    pub fn add_affected(&mut self, source: &str, record: AffectedRecord) {
        if covers_release(source) {
            self.covered.insert(record.ecosystem.clone());
        }
        self.affected
            .entry((record.ecosystem.clone(), record.package.clone()))
            .or_default()
            .push(SourcedAffected {
                source: source.to_owned(),
                record,
            });
    }
}

/// Whether a source's records make their ecosystem covered. Alpine secdb
/// comes one file per repository, and only `main` covers a release:
/// `community` or `testing` alone would pass most of an image's packages
/// unchecked. OSV's Alpine data holds every repository. (The same rule is
/// written in SQL in [`AdvisoryDb::lookup`].)
pub fn covers_release(source: &str) -> bool {
    !source.starts_with("alpine-secdb:") || source.ends_with("/main")
}

/// A pool on the SQLite file at `path` (WAL journal, 30 s busy timeout),
/// creating the file when `create`.
pub(crate) async fn sqlite_pool(
    path: &Path,
    create: bool,
    connections: u32,
) -> Result<SqlitePool, DbError> {
    let open = if create { Open::Create } else { Open::Existing };
    sqlite_pool_with(path, open, connections, Some(SqliteJournalMode::Wal)).await
}

/// How a pool opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// Read and write, creating the file if missing.
    Create,
    /// Read and write an existing file.
    Existing,
    /// Read only (`SQLITE_OPEN_READONLY`): SQLite writes nothing, the
    /// file's journal mode included.
    ReadOnly,
}

/// As [`sqlite_pool`]: opened as `open` says, in the journal mode given
/// (`None`: as the file is).
pub(crate) async fn sqlite_pool_with(
    path: &Path,
    open: Open,
    connections: u32,
    journal: Option<SqliteJournalMode>,
) -> Result<SqlitePool, DbError> {
    let sql = |source| DbError::Sql {
        path: path.to_owned(),
        source,
    };
    let mut options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(sql)?
        .filename(path)
        .create_if_missing(open == Open::Create)
        .read_only(open == Open::ReadOnly)
        .busy_timeout(std::time::Duration::from_secs(30));
    if let Some(journal) = journal {
        options = options.journal_mode(journal);
    }
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .map_err(sql)
}

/// Close `pool` and wait, up to a second, until none of its connections is
/// left. sqlx's `Pool::close` can return with one still open
/// (launchbadge/sqlx#3217: a connection on its way back from a query lands
/// in the pool after the last drain), which keeps its lock on the file,
/// and the file's `-wal` and `-shm`, until the process exits.
pub(crate) async fn close_pool(pool: &SqlitePool) {
    pool.close().await;
    for _ in 0..200 {
        if pool.size() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        pool.close().await;
    }
}

/// Whether SQLite failed for want of writing: `SQLITE_READONLY` or
/// `SQLITE_CANTOPEN`, with any extended code (a read-only connection to a
/// WAL database whose `-wal`/`-shm` it cannot create).
fn cannot_write_beside(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(e) = e else {
        return false;
    };
    e.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 8 | 14))
}

/// Whether the file's header says WAL mode: its read and write versions
/// (bytes 18 and 19, fileformat2.html §1.3) are 2.
fn in_wal_mode(path: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// Complaints of `quick_check` a message shows.
const CHECK_LINES: usize = 3;

/// What `quick_check` answered, on one line: its first [`CHECK_LINES`]
/// complaints, each escaped, joined by `; ` (`…` when there were more).
/// SQLite puts several lines in one answer (the first names the schema,
/// `*** in database main ***`, which is left out).
fn check_lines(rows: &[String]) -> String {
    let mut lines = rows
        .iter()
        .flat_map(|row| row.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("*** in database "));
    let shown: Vec<String> = lines
        .by_ref()
        .take(CHECK_LINES)
        .map(|line| clearance_oci::text::clean(line).into_owned())
        .collect();
    if shown.is_empty() {
        return "no answer to quick_check".to_owned();
    }
    let mut text = shown.join("; ");
    if lines.next().is_some() {
        text.push_str("; …");
    }
    text
}

/// SQLite's file header string (fileformat2.html §1.3).
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuse, before anything is written to it, a file at `path` that is no
/// advisory database: one that is not SQLite ([`DbError::NotSqlite`]), or
/// an SQLite database holding objects and no Clearance schema version
/// ([`DbError::NotAdvisoryDb`]). A missing or empty file, or an SQLite
/// database with nothing in it, is one to create; an advisory database of
/// another schema is left to [`AdvisoryDb::create`]'s migration to refuse.
async fn refuse_foreign(path: &Path) -> Result<(), DbError> {
    use std::io::Read as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(());
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() || &header != SQLITE_HEADER {
        return Err(DbError::NotSqlite(path.to_owned()));
    }
    let pool = sqlite_pool_with(path, Open::ReadOnly, 1, None).await?;
    let verdict = async {
        let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
            .fetch_one(&pool)
            .await?;
        if objects == 0 {
            return Ok(true);
        }
        // No `meta` table is no schema version.
        let version: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema_version'")
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
        Ok(version.is_some())
    }
    .await;
    close_pool(&pool).await;
    match verdict {
        Ok(true) => Ok(()),
        Ok(false) => Err(DbError::NotAdvisoryDb(path.to_owned())),
        Err(source) => Err(DbError::Sql {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Now, in Unix seconds, as the tables store it.
pub(crate) fn now_unix() -> i64 {
    i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX)
}

impl AdvisoryDb {
    /// Open the database at `path` for reading and writing, creating it
    /// (and its tables) if missing.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`] when the file cannot be opened or created,
    /// [`DbError::Schema`] for a database of another schema,
    /// [`DbError::NotSqlite`] or [`DbError::NotAdvisoryDb`] for a file that
    /// is no advisory database (nothing is written to it then).
    pub async fn create(path: &Path) -> Result<AdvisoryDb, DbError> {
        refuse_foreign(path).await?;
        let db = Self::connect(path, true).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Open an existing database for reading only (`db status`, a scan's
    /// lookup, a push's copy): SQLite opens it read-only and its journal
    /// mode is left as it is, so nothing on disk changes and a file that
    /// may not be written (mode 0444, a read-only mount) is read.
    ///
    /// A database at rest is in rollback-journal mode ([`AdvisoryDb::close`]
    /// leaves it so), which a reader needs nothing beside. One left in WAL
    /// mode (a writer killed, or one that closed while a reader had it
    /// open) is read through its `-wal`, which SQLite creates if missing.
    ///
    /// # Errors
    ///
    /// [`DbError::Missing`] when there is none, [`DbError::Schema`] for
    /// another schema, [`DbError::Sql`] when SQLite fails.
    pub async fn open(path: &Path) -> Result<AdvisoryDb, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.to_owned()));
        }
        let opened = async {
            let db = AdvisoryDb {
                pool: sqlite_pool_with(path, Open::ReadOnly, 4, None).await?,
                path: path.to_owned(),
                access: Access::ReadOnly,
            };
            db.check_schema().await?;
            Ok(db)
        }
        .await;
        opened.map_err(|e| match e {
            DbError::Sql { source, .. } if cannot_write_beside(&source) && in_wal_mode(path) => {
                DbError::WalNotWritable(path.to_owned())
            }
            e => e,
        })
    }

    /// Open an existing database file that no other process uses (one just
    /// downloaded, to check it) in rollback-journal mode: nothing is ever
    /// written beside it (no `-wal`, no `-shm`), and an idle connection
    /// holds no lock on it. A file in WAL mode is turned out of it.
    ///
    /// # Errors
    ///
    /// As [`AdvisoryDb::open`].
    pub async fn open_unshared(path: &Path) -> Result<AdvisoryDb, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.to_owned()));
        }
        let db = AdvisoryDb {
            pool: sqlite_pool_with(path, Open::Existing, 1, Some(SqliteJournalMode::Delete))
                .await?,
            path: path.to_owned(),
            access: Access::Unshared,
        };
        db.check_schema().await?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn connect(path: &Path, create: bool) -> Result<AdvisoryDb, DbError> {
        Ok(AdvisoryDb {
            pool: sqlite_pool(path, create, 4).await?,
            path: path.to_owned(),
            access: Access::Writer,
        })
    }

    fn sql(&self) -> impl Fn(sqlx::Error) -> DbError + '_ {
        |source| DbError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let statements = [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY, kind TEXT NOT NULL, origin TEXT NOT NULL, imported_at INTEGER NOT NULL, data_date TEXT, advisories INTEGER NOT NULL, affected INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS feeds (name TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT, checked_at INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS advisories (source TEXT NOT NULL, id TEXT NOT NULL, cve TEXT, record TEXT NOT NULL, PRIMARY KEY (source, id))",
            "CREATE INDEX IF NOT EXISTS advisories_cve ON advisories (cve)",
            "CREATE INDEX IF NOT EXISTS advisories_id ON advisories (id)",
            "CREATE TABLE IF NOT EXISTS affected (source TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL, advisory TEXT NOT NULL, record TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS affected_package ON affected (ecosystem, package)",
            "CREATE INDEX IF NOT EXISTS affected_source ON affected (source)",
            "CREATE TABLE IF NOT EXISTS kev (cve TEXT PRIMARY KEY, record TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS epss (cve TEXT PRIMARY KEY, probability REAL NOT NULL, percentile REAL NOT NULL)",
        ];
        let mut tx = self.pool.begin().await.map_err(self.sql())?;
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(self.sql())?;
        }
        let found: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema_version'")
                .fetch_optional(&mut *tx)
                .await
                .map_err(self.sql())?;
        match found {
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('schema_version', ?)")
                    .bind(SCHEMA_VERSION.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql())?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(found) => {
                return Err(DbError::Schema {
                    path: self.path.clone(),
                    found,
                });
            }
        }
        tx.commit().await.map_err(self.sql())
    }

    async fn check_schema(&self) -> Result<(), DbError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema_version'")
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| {
                    if cannot_write_beside(&e) {
                        return self.sql()(e);
                    }
                    DbError::Schema {
                        path: self.path.clone(),
                        found: "none (not a Clearance advisory database)".into(),
                    }
                })?;
        match found {
            Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
            other => Err(DbError::Schema {
                path: self.path.clone(),
                found: other.unwrap_or_else(|| "none".into()),
            }),
        }
    }

    /// Replace everything `import.name` gave before with `import`'s
    /// records, in one transaction.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`]; nothing is changed then.
    pub async fn import(&self, import: &Import) -> Result<ImportSummary, DbError> {
        let mut tx = self.pool.begin().await.map_err(self.sql())?;
        for table in ["advisories", "affected"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE source = ?"))
                .bind(&import.name)
                .execute(&mut *tx)
                .await
                .map_err(self.sql())?;
        }
        match import.kind {
            FeedKind::Kev => {
                sqlx::query("DELETE FROM kev")
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql())?;
            }
            FeedKind::Epss => {
                sqlx::query("DELETE FROM epss")
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql())?;
            }
            _ => {}
        }
        // One record per (source, id): a feed that repeats an id keeps its
        // last record.
        let mut advisories: HashMap<&str, &AdvisoryRecord> = HashMap::new();
        for a in &import.advisories {
            advisories.insert(a.id.as_str(), a);
        }
        let advisories: Vec<&AdvisoryRecord> = advisories.into_values().collect();
        for chunk in advisories.chunks(BATCH) {
            let mut q = QueryBuilder::new("INSERT INTO advisories (source, id, cve, record) ");
            q.push_values(chunk, |mut b, a| {
                b.push_bind(&import.name)
                    .push_bind(&a.id)
                    .push_bind(a.cve().map(str::to_owned))
                    .push_bind(serde_json::to_string(&(&import.name, a)).unwrap_or_default());
            });
            q.build().execute(&mut *tx).await.map_err(self.sql())?;
        }
        for chunk in import.affected.chunks(BATCH) {
            let mut q = QueryBuilder::new(
                "INSERT INTO affected (source, ecosystem, package, advisory, record) ",
            );
            q.push_values(chunk, |mut b, a| {
                b.push_bind(&import.name)
                    .push_bind(&a.ecosystem)
                    .push_bind(&a.package)
                    .push_bind(&a.advisory)
                    .push_bind(serde_json::to_string(&(&import.name, a)).unwrap_or_default());
            });
            q.build().execute(&mut *tx).await.map_err(self.sql())?;
        }
        for chunk in import.kev.chunks(BATCH) {
            let mut q = QueryBuilder::new("INSERT OR REPLACE INTO kev (cve, record) ");
            q.push_values(chunk, |mut b, k| {
                b.push_bind(&k.cve)
                    .push_bind(serde_json::to_string(k).unwrap_or_default());
            });
            q.build().execute(&mut *tx).await.map_err(self.sql())?;
        }
        for chunk in import.epss.chunks(BATCH) {
            let mut q =
                QueryBuilder::new("INSERT OR REPLACE INTO epss (cve, probability, percentile) ");
            q.push_values(chunk, |mut b, (cve, s)| {
                b.push_bind(cve)
                    .push_bind(s.probability)
                    .push_bind(s.percentile);
            });
            q.build().execute(&mut *tx).await.map_err(self.sql())?;
        }
        let summary = ImportSummary {
            advisories: advisories.len(),
            affected: import.affected.len() + import.kev.len() + import.epss.len(),
        };
        let now = now_unix();
        sqlx::query(
            "INSERT OR REPLACE INTO sources (name, kind, origin, imported_at, data_date, advisories, affected) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&import.name)
        .bind(import.kind.as_str())
        .bind(&import.origin)
        .bind(now)
        .bind(&import.data_date)
        .bind(i64::try_from(summary.advisories).unwrap_or(i64::MAX))
        .bind(i64::try_from(summary.affected).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(self.sql())?;
        tx.commit().await.map_err(self.sql())?;
        Ok(summary)
    }

    /// The validators the last download of feed `name` answered with.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`].
    pub async fn validators(&self, name: &str) -> Result<Validators, DbError> {
        let row = sqlx::query("SELECT etag, last_modified FROM feeds WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.sql())?;
        Ok(row.map_or_else(Validators::default, |r| Validators {
            etag: r.get(0),
            last_modified: r.get(1),
        }))
    }

    /// Remember a feed's validators after a download (or a `304 Not
    /// Modified`, which keeps the previous ones).
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`].
    pub async fn record_feed(
        &self,
        name: &str,
        url: &str,
        validators: &Validators,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT OR REPLACE INTO feeds (name, url, etag, last_modified, checked_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(url)
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .bind(now_unix())
        .execute(&self.pool)
        .await
        .map_err(self.sql())?;
        Ok(())
    }

    /// Sources, dates and counts.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`].
    pub async fn status(&self) -> Result<DbStatus, DbError> {
        let rows = sqlx::query(
            "SELECT name, kind, origin, imported_at, data_date, advisories, affected FROM sources ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.sql())?;
        let sources = rows
            .into_iter()
            .map(|r| SourceStatus {
                name: r.get(0),
                kind: r.get(1),
                origin: r.get(2),
                imported_at: r.get(3),
                data_date: r.get(4),
                advisories: r.get(5),
                affected: r.get(6),
            })
            .collect();
        Ok(DbStatus {
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            updated_at: self.updated_at().await?,
            sources,
        })
    }

    /// How current the stalest source's data is, Unix seconds; `None`
    /// without sources. A fresh KEV must not make week-old OSV data look
    /// current, so the database is as old as its stalest source.
    async fn updated_at(&self) -> Result<Option<i64>, DbError> {
        Ok(self.stalest().await?.map(|s| s.as_of))
    }

    /// The source whose data is least current ([`source_as_of`]: its data
    /// date, else when it was imported or found unchanged by a conditional
    /// request); `None` without sources.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`].
    pub async fn stalest(&self) -> Result<Option<StalestSource>, DbError> {
        let rows = sqlx::query(
            "SELECT s.name, s.origin, max(s.imported_at, coalesce(f.checked_at, 0)), s.data_date FROM sources s LEFT JOIN feeds f ON f.name = s.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.sql())?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let refreshed: i64 = r.get(2);
                let data_date: Option<String> = r.get(3);
                let origin: String = r.get(1);
                // A feed `db update` fetched, or found unchanged, is as
                // current as its publisher keeps it: an ecosystem with no
                // new record this week, or a KEV with no new entry, is not
                // stale for that. Files imported by `db build` are as old
                // as their data.
                let as_of = if fetched(&origin) {
                    refreshed
                } else {
                    source_as_of(refreshed, data_date.as_deref())
                };
                StalestSource {
                    name: r.get(0),
                    origin,
                    as_of,
                }
            })
            .min_by(|a, b| a.as_of.cmp(&b.as_of).then_with(|| a.name.cmp(&b.name))))
    }

    /// The records the matcher needs for these (ecosystem key, package
    /// key) pairs: a few queries, each taking every key at once as a JSON
    /// array (the ecosystems covered, the affected rows, then the
    /// advisories named and every record sharing their CVEs, then KEV and
    /// EPSS).
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`], or [`DbError::Corrupt`] for a record this code
    /// cannot read.
    pub async fn lookup(&self, keys: &[(String, String)]) -> Result<AdvisorySet, DbError> {
        let keys_json = serde_json::to_string(keys).unwrap_or_default();
        // Each query returns one row, a JSON array of the stored [source,
        // record] pairs joined by SQLite (a row per record costs several
        // microseconds in the driver, more than parsing it).
        // An ecosystem is covered when a source gives records for it
        // (`covers_release`).
        let covered = sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT json_extract(value, '$[0]') AS e FROM json_each(?1) \
             WHERE EXISTS (SELECT 1 FROM affected WHERE ecosystem = json_extract(value, '$[0]') \
               AND (source NOT LIKE 'alpine-secdb:%' OR source LIKE 'alpine-secdb:%/main'))",
        )
        .bind(&keys_json)
        .fetch_all(&self.pool)
        .await
        .map_err(self.sql())?;
        let affected = self
            .joined::<AffectedRecord>(
                "affected record",
                "SELECT '[' || group_concat(record, ',') || ']' FROM affected WHERE (ecosystem, package) IN \
                 (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))",
                &keys_json,
            )
            .await?;
        let stalest = self.stalest().await?;
        let mut set = AdvisorySet {
            updated_at: stalest.as_ref().map(|s| s.as_of),
            stalest,
            covered: covered.into_iter().collect(),
            ..AdvisorySet::default()
        };
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for (source, record) in affected {
            ids.insert(record.advisory.clone());
            set.add_affected(&source, record);
        }
        // The advisories named, and for those named by a bare CVE id (the
        // Debian tracker's, Alpine secdb's: no CVSS, no summary) every
        // other record about that CVE (the OSV record of it may have
        // both); records of other feeds carry their own. Both at once.
        let ids_json = serde_json::to_string(&ids).unwrap_or_default();
        let bare: Vec<&String> = ids.iter().filter(|i| crate::advisory::is_cve(i)).collect();
        let bare_json = serde_json::to_string(&bare).unwrap_or_default();
        let (named, same_cve) = futures_util::future::try_join(
            self.joined::<AdvisoryRecord>(
                "advisory record",
                "SELECT '[' || group_concat(record, ',') || ']' FROM advisories WHERE id IN (SELECT value FROM json_each(?1))",
                &ids_json,
            ),
            self.joined::<AdvisoryRecord>(
                "advisory record",
                "SELECT '[' || group_concat(record, ',') || ']' FROM advisories WHERE cve IN (SELECT value FROM json_each(?1)) AND id <> cve",
                &bare_json,
            ),
        )
        .await?;
        for (source, record) in named.into_iter().chain(same_cve) {
            set.add_advisory(&source, record);
        }
        let cves: BTreeSet<&String> = set
            .by_cve
            .keys()
            .chain(ids.iter().filter(|i| crate::advisory::is_cve(i)))
            .collect();
        let cves_json = serde_json::to_string(&cves).unwrap_or_default();
        let rows =
            sqlx::query("SELECT record FROM kev WHERE cve IN (SELECT value FROM json_each(?))")
                .bind(&cves_json)
                .fetch_all(&self.pool)
                .await
                .map_err(self.sql())?;
        for row in rows {
            let text: String = row.get(0);
            let entry: KevEntry = self.decode("KEV entry", &text)?;
            set.kev.insert(entry.cve.clone(), entry);
        }
        let rows = sqlx::query(
            "SELECT cve, probability, percentile FROM epss WHERE cve IN (SELECT value FROM json_each(?))",
        )
        .bind(&cves_json)
        .fetch_all(&self.pool)
        .await
        .map_err(self.sql())?;
        for row in rows {
            set.epss.insert(
                row.get(0),
                EpssScore {
                    probability: row.get(1),
                    percentile: row.get(2),
                },
            );
        }
        Ok(set)
    }

    /// Run a query returning one row holding a JSON array of stored
    /// `[source, record]` pairs (or NULL for none), and parse it on a
    /// blocking thread.
    async fn joined<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        what: &'static str,
        sql: &str,
        bind: &str,
    ) -> Result<Vec<(String, T)>, DbError> {
        let text: Option<String> = sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(&self.pool)
            .await
            .map_err(self.sql())?;
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            serde_json::from_str(&text).map_err(|e| DbError::Corrupt {
                path,
                what,
                message: e.to_string(),
            })
        })
        .await
        .map_err(|e| DbError::Corrupt {
            path: self.path.clone(),
            what,
            message: e.to_string(),
        })?
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        text: &str,
    ) -> Result<T, DbError> {
        serde_json::from_str(text).map_err(|e| DbError::Corrupt {
            path: self.path.clone(),
            what,
            message: e.to_string(),
        })
    }

    /// Write a consistent copy of the whole database to `to`, a file that
    /// must not exist yet (SQLite `VACUUM INTO`: it reads in one
    /// transaction, so the copy holds every committed import and nothing
    /// half-written, whatever the WAL holds; free pages are left out).
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`] (naming this database) when SQLite fails, `to`
    /// exists or its name is not UTF-8.
    pub async fn snapshot_into(&self, to: &Path) -> Result<(), DbError> {
        let target = to.to_str().ok_or_else(|| DbError::Sql {
            path: self.path.clone(),
            source: sqlx::Error::Configuration(
                format!("{} is not a UTF-8 path", to.display()).into(),
            ),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(self.sql())?;
        Ok(())
    }

    /// SQLite's `PRAGMA quick_check`: every page and b-tree of the file is
    /// sound (indexes are not compared with their tables).
    ///
    /// # Errors
    ///
    /// [`DbError::Corrupt`] with SQLite's first complaints on one line
    /// ([`check_lines`]), [`DbError::Sql`].
    pub async fn quick_check(&self) -> Result<(), DbError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(5)")
            .fetch_all(&self.pool)
            .await
            .map_err(self.sql())?;
        if rows.first().map(String::as_str) == Some("ok") {
            return Ok(());
        }
        Err(DbError::Corrupt {
            path: self.path.clone(),
            what: "page or index",
            message: check_lines(&rows),
        })
    }

    /// Close the pool (waits for connections to finish). A database opened
    /// for writing is then turned back to rollback-journal mode (its WAL
    /// checkpointed, `-wal` and `-shm` removed), so readers, which open it
    /// read-only, find nothing they would have to create beside it. That
    /// needs the file alone: while another process has it open, it stays in
    /// WAL mode until the next writer closes.
    pub async fn close(&self) {
        close_pool(&self.pool).await;
        if self.access == Access::Writer
            && let Ok(pool) = sqlite_pool_with(
                &self.path,
                Open::Existing,
                1,
                Some(SqliteJournalMode::Delete),
            )
            .await
        {
            close_pool(&pool).await;
        }
    }
}

#[cfg(test)]
mod tests;
