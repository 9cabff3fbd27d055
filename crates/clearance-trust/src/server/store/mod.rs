//! Where the trust service keeps metadata: every version of every role of
//! every repository, in SQLite (the default) or PostgreSQL (by URL). The
//! queries are the same for both; only the table definitions differ.
//!
//! A publish is one transaction: either every new file is stored or none
//! is, so a crash mid-publish leaves the previous versions served. Each
//! `(repository, role, version)` is stored once (primary key), so two
//! publishes built on the same versions cannot both land.
//!
//! Test builds (the crate's own tests, and the `test-hooks` feature that
//! only dev-dependencies turn on) can arm an [`InsertFault`] that stops the
//! next publish after its k-th row, so that "all or nothing" is tested at
//! every row rather than wherever a kill happens to land.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row as _};

#[cfg(any(test, feature = "test-hooks"))]
mod fault;
mod keys;

#[cfg(any(test, feature = "test-hooks"))]
pub use fault::InsertFault;
pub use keys::StoredServerKey;

use super::database_url::{DatabaseUrl, Engine};
use crate::gun::Gun;
use crate::schema::{RoleName, TopRole, Version};

/// What went wrong with the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (the URL is shown without its password).
    #[error("database {url}: {message}")]
    Open {
        /// The database URL, without its password.
        url: String,
        /// The driver's reason.
        message: String,
    },
    /// A query failed.
    #[error("database: {0}")]
    Query(String),
    /// Another publish stored this version first (the primary key
    /// (gun, role, version) refused the row); nothing of this publish was stored.
    #[error("{gun}: {role} version {version} was stored by another publish meanwhile")]
    Conflict {
        /// The repository.
        gun: Gun,
        /// The role.
        role: RoleName,
        /// The version stored first.
        version: Version,
    },
    /// A stored version is outside 1..=i64::MAX (not written by this code).
    #[error("database: {gun} {role} is stored at version {stored}, which is not a TUF version")]
    BadVersion {
        /// The repository.
        gun: Gun,
        /// The role.
        role: RoleName,
        /// The value in the column.
        stored: i64,
    },
    /// A stored role name is not a role name (not written by this code).
    #[error("database: {gun} has a row for {stored:?}, which is not a role name")]
    BadRole {
        /// The repository.
        gun: Gun,
        /// The value in the column.
        stored: String,
    },
    /// A server key another request stored was gone when read back.
    #[error("database: the {role} key of {gun} was stored by another request, then gone")]
    KeyVanished {
        /// The repository.
        gun: Gun,
        /// Snapshot or timestamp.
        role: TopRole,
    },
    /// Only ever made by an `InsertFault` a test armed (test builds).
    #[error("{gun}: a test fault stopped the publish after row {row}; nothing was stored")]
    InjectedFault {
        /// The repository.
        gun: Gun,
        /// The row after which it stopped (1-based).
        row: usize,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Query(e.to_string())
    }
}

/// A stored metadata file's identity, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The role.
    pub role: RoleName,
    /// Its newest version.
    pub version: Version,
    /// The sha256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Its length in bytes.
    pub length: u64,
}

/// A new file to store.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The role.
    pub role: RoleName,
    /// The version it is signed at.
    pub version: Version,
    /// The signed document, as uploaded or signed.
    pub bytes: Vec<u8>,
}

/// How long the first connection to a database server may take.
const FIRST_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The metadata database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Shared by every clone, so a test can arm the store a service holds.
    #[cfg(any(test, feature = "test-hooks"))]
    fault: std::sync::Arc<std::sync::Mutex<Option<InsertFault>>>,
}

impl Store {
    /// Open (creating tables as needed) `sqlite:///path/to/trust.db` or
    /// `postgres://user@host/db`. A bare path means SQLite.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::connect(&DatabaseUrl::parse(url)?).await
    }

    /// Open a checked URL (creating tables as needed; a new SQLite file is
    /// made mode 0600). Errors show the URL without its password.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        install_default_drivers();
        url.create_private_file()?;
        let engine = url.engine();
        let open_err = |e: sqlx::Error| StoreError::Open {
            url: url.to_string(),
            message: e.to_string(),
        };
        // One connection first: its error says why (refused, no such host,
        // a login refused), where the pool says only "pool timed out" after
        // its acquire timeout (finding 14 #13). SQLite opens a file.
        if engine == Engine::Postgres {
            use sqlx::Connection as _;
            let first = tokio::time::timeout(
                FIRST_CONNECTION_TIMEOUT,
                sqlx::AnyConnection::connect(url.secret()),
            )
            .await;
            match first {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                }
                Ok(Err(e)) => return Err(open_err(e)),
                Err(_) => {
                    return Err(StoreError::Open {
                        url: url.to_string(),
                        message: format!(
                            "no answer within {} s: is the database server running, and is the host right?",
                            FIRST_CONNECTION_TIMEOUT.as_secs()
                        ),
                    });
                }
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if engine == Engine::Sqlite { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        use sqlx::Executor as _;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                    }
                    Ok(())
                })
            })
            .connect(url.secret())
            .await
            .map_err(open_err)?;
        let store = Store {
            pool,
            #[cfg(any(test, feature = "test-hooks"))]
            fault: Default::default(),
        };
        store.migrate(engine).await.map_err(open_err)?;
        Ok(store)
    }

    async fn migrate(&self, engine: Engine) -> Result<(), sqlx::Error> {
        let blob = match engine {
            Engine::Sqlite => "BLOB",
            Engine::Postgres => "BYTEA",
        };
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS tuf_files (
                    gun TEXT NOT NULL,
                    role TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    sha256 TEXT NOT NULL,
                    length BIGINT NOT NULL,
                    data {blob} NOT NULL,
                    published_at BIGINT NOT NULL,
                    PRIMARY KEY (gun, role, version))"
            ),
            "CREATE INDEX IF NOT EXISTS tuf_files_by_hash ON tuf_files (gun, role, sha256)".into(),
            format!(
                "CREATE TABLE IF NOT EXISTS tuf_server_keys (
                    gun TEXT NOT NULL,
                    role TEXT NOT NULL,
                    keyid TEXT NOT NULL,
                    public TEXT NOT NULL,
                    sealed {blob} NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (gun, role))"
            ),
            // A key made for a rotation, used once a published root names it.
            format!(
                "CREATE TABLE IF NOT EXISTS tuf_server_keys_next (
                    gun TEXT NOT NULL,
                    role TEXT NOT NULL,
                    keyid TEXT NOT NULL,
                    public TEXT NOT NULL,
                    sealed {blob} NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (gun, role))"
            ),
        ];
        for s in statements {
            sqlx::query(&s).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// The newest version of each role of a repository.
    pub async fn current(&self, gun: &Gun) -> Result<Vec<FileInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.role, f.version, f.sha256, f.length FROM tuf_files f
             JOIN (SELECT role, MAX(version) AS v FROM tuf_files WHERE gun = $1 GROUP BY role) m
               ON f.role = m.role AND f.version = m.v
             WHERE f.gun = $2",
        )
        .bind(gun.as_str())
        .bind(gun.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let stored: String = r.try_get(0)?;
                let role = RoleName::new(&stored).map_err(|_| StoreError::BadRole {
                    gun: gun.clone(),
                    stored,
                })?;
                let stored: i64 = r.try_get(1)?;
                // Versions are written as i64 from a Version (≤ i64::MAX);
                // anything else in the column was not written by this code.
                let version = Version::try_from(stored).map_err(|_| StoreError::BadVersion {
                    gun: gun.clone(),
                    role: role.clone(),
                    stored,
                })?;
                Ok(FileInfo {
                    role,
                    version,
                    sha256: r.try_get(2)?,
                    length: u64::try_from(r.try_get::<i64, _>(3)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The newest version of one role.
    pub async fn latest(&self, gun: &Gun, role: &RoleName) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT data FROM tuf_files WHERE gun = $1 AND role = $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(gun.as_str())
        .bind(role.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Version `version` of one role.
    pub async fn by_version(
        &self,
        gun: &Gun,
        role: &RoleName,
        version: Version,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row =
            sqlx::query("SELECT data FROM tuf_files WHERE gun = $1 AND role = $2 AND version = $3")
                .bind(gun.as_str())
                .bind(role.as_str())
                .bind(version.to_i64())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The version of one role whose bytes have this sha256 (hex, any case).
    pub async fn by_hash(
        &self,
        gun: &Gun,
        role: &RoleName,
        sha256: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT data FROM tuf_files WHERE gun = $1 AND role = $2 AND sha256 = $3 LIMIT 1",
        )
        .bind(gun.as_str())
        .bind(role.as_str())
        .bind(sha256.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Store a publish's files in one transaction. A version someone else
    /// stored first is a [`StoreError::Conflict`] and nothing is stored.
    /// `promote`: rotation keys the published root names, which become the
    /// keys of their roles in the same transaction.
    pub async fn insert(
        &self,
        gun: &Gun,
        files: &[NewFile],
        promote: &[(TopRole, &StoredServerKey)],
    ) -> Result<(), StoreError> {
        let now = crate::time::UtcTime::now().unix();
        #[cfg(any(test, feature = "test-hooks"))]
        let fault = self.take_fault();
        let mut tx = self.pool.begin().await?;
        for (row, f) in (1..).zip(files) {
            let sha256 = clearance_oci::Digest::sha256_of(&f.bytes).hex().to_owned();
            let result = sqlx::query(
                "INSERT INTO tuf_files (gun, role, version, sha256, length, data, published_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(gun.as_str())
            .bind(f.role.as_str())
            .bind(f.version.to_i64())
            .bind(sha256)
            .bind(f.bytes.len() as i64)
            .bind(f.bytes.clone())
            .bind(now)
            .execute(&mut *tx)
            .await;
            if let Err(e) = result {
                if is_unique_violation(&e) {
                    return Err(StoreError::Conflict {
                        gun: gun.clone(),
                        role: f.role.clone(),
                        version: f.version,
                    });
                }
                return Err(e.into());
            }
            #[cfg(any(test, feature = "test-hooks"))]
            fault::meet_fault(fault, gun, row)?;
            #[cfg(not(any(test, feature = "test-hooks")))]
            let _ = row;
        }
        for (role, next) in promote {
            sqlx::query(
                "UPDATE tuf_server_keys SET keyid = $3, public = $4, sealed = $5, created_at = $6
                 WHERE gun = $1 AND role = $2",
            )
            .bind(gun.as_str())
            .bind(role.name())
            .bind(&next.keyid)
            .bind(&next.public)
            .bind(next.sealed.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM tuf_server_keys_next WHERE gun = $1 AND role = $2 AND keyid = $3",
            )
            .bind(gun.as_str())
            .bind(role.name())
            .bind(&next.keyid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Close the database: every later query fails (how a store failure
    /// surfaces is tested with it).
    #[cfg(test)]
    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `e` is a primary-key violation (another publish stored the row).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || {
                // The Any driver does not always map the kind; fall back to the codes.
                let code = d.code().unwrap_or_default();
                code == "23505" || code == "2067" || code == "1555"
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
