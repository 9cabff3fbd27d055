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

use super::database_url::{DatabaseUrl, Engine};
use crate::gun::Gun;
use crate::schema::{RoleName, TopRole, Version};

/// What went wrong with the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (the URL is shown without its password).
    #[error("database {url}: {message}")]
    Open { url: String, message: String },
    /// A query failed.
    #[error("database: {0}")]
    Query(String),
    /// Another publish stored this version first (the primary key
    /// (gun, role, version) refused the row); nothing of this publish was stored.
    #[error("{gun}: {role} version {version} was stored by another publish meanwhile")]
    Conflict {
        gun: Gun,
        role: RoleName,
        version: Version,
    },
    /// A stored version is outside 1..=i64::MAX (not written by this code).
    #[error("database: {gun} {role} is stored at version {stored}, which is not a TUF version")]
    BadVersion {
        gun: Gun,
        role: RoleName,
        stored: i64,
    },
    /// A stored role name is not a role name (not written by this code).
    #[error("database: {gun} has a row for {stored:?}, which is not a role name")]
    BadRole { gun: Gun, stored: String },
    /// A server key another request stored was gone when read back.
    #[error("database: the {role} key of {gun} was stored by another request, then gone")]
    KeyVanished { gun: Gun, role: TopRole },
    /// Only ever made by an [`InsertFault`] a test armed (test builds).
    #[error("{gun}: a test fault stopped the publish after row {row}; nothing was stored")]
    InjectedFault { gun: Gun, row: usize },
}

/// A fault [`Store::insert`] meets on the next publish, armed by a test with
/// [`Store::arm`]: after row `k` (1-based, in the order the publish lists its
/// files) is written and before the transaction commits. Only in test
/// builds: the crate's own tests and the `test-hooks` feature.
#[cfg(any(test, feature = "test-hooks"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertFault {
    /// Return [`StoreError::InjectedFault`]; the transaction is rolled back.
    FailAfterRow(usize),
    /// Abort the process (SIGABRT, no unwinding, nothing flushed), as a
    /// crash would: the open transaction is never committed.
    AbortAfterRow(usize),
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

/// A server-held private key, sealed (see `server::keys`).
#[derive(Debug, Clone)]
pub struct StoredServerKey {
    /// The key's TUF key id.
    pub keyid: String,
    /// The public key as TUF metadata lists it (JSON).
    pub public: String,
    /// Nonce, then the PKCS#8 key sealed with ChaCha20-Poly1305.
    pub sealed: Vec<u8>,
}

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
            meet_fault(fault, gun, row)?;
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

    /// Arm `fault` for the next publish (test builds only); it is used up
    /// by that publish whether or not it had row `k`.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn arm(&self, fault: InsertFault) {
        let mut slot = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(fault);
    }

    #[cfg(any(test, feature = "test-hooks"))]
    fn take_fault(&self) -> Option<InsertFault> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Every repository that has a server-held key for `role` (a row whose
    /// name is not a repository name, which this code never writes, is
    /// skipped with a warning).
    pub async fn guns_with_server_key(&self, role: TopRole) -> Result<Vec<Gun>, StoreError> {
        let rows = sqlx::query("SELECT gun FROM tuf_server_keys WHERE role = $1 ORDER BY gun")
            .bind(role.name())
            .fetch_all(&self.pool)
            .await?;
        let mut guns = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            match Gun::new(&name) {
                Ok(gun) => guns.push(gun),
                Err(e) => tracing::warn!(error = %e, "a server key row for no repository"),
            }
        }
        Ok(guns)
    }

    /// The key the service holds for `gun`'s `role`, if it holds one.
    pub async fn server_key(
        &self,
        gun: &Gun,
        role: TopRole,
    ) -> Result<Option<StoredServerKey>, StoreError> {
        self.key_in("tuf_server_keys", gun, role).await
    }

    /// The key a rotation made for `role`, not yet named by a published root.
    pub async fn next_server_key(
        &self,
        gun: &Gun,
        role: TopRole,
    ) -> Result<Option<StoredServerKey>, StoreError> {
        self.key_in("tuf_server_keys_next", gun, role).await
    }

    /// Keep `key` as the next key of `role`, replacing an unused one.
    pub async fn set_next_server_key(
        &self,
        gun: &Gun,
        role: TopRole,
        key: &StoredServerKey,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM tuf_server_keys_next WHERE gun = $1 AND role = $2")
            .bind(gun.as_str())
            .bind(role.name())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tuf_server_keys_next (gun, role, keyid, public, sealed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(gun.as_str())
        .bind(role.name())
        .bind(&key.keyid)
        .bind(&key.public)
        .bind(key.sealed.clone())
        .bind(crate::time::UtcTime::now().unix())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn key_in(
        &self,
        table: &'static str,
        gun: &Gun,
        role: TopRole,
    ) -> Result<Option<StoredServerKey>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT keyid, public, sealed FROM {table} WHERE gun = $1 AND role = $2"
        ))
        .bind(gun.as_str())
        .bind(role.name())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredServerKey {
                keyid: r.try_get(0)?,
                public: r.try_get(1)?,
                sealed: r.try_get(2)?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| e.into())
    }

    /// Store a new server key unless one exists; returns the one stored
    /// (the existing key when two requests raced).
    pub async fn put_server_key(
        &self,
        gun: &Gun,
        role: TopRole,
        key: &StoredServerKey,
    ) -> Result<StoredServerKey, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO tuf_server_keys (gun, role, keyid, public, sealed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(gun.as_str())
        .bind(role.name())
        .bind(&key.keyid)
        .bind(&key.public)
        .bind(key.sealed.clone())
        .bind(crate::time::UtcTime::now().unix())
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(key.clone()),
            Err(e) if is_unique_violation(&e) => {
                self.server_key(gun, role)
                    .await?
                    .ok_or_else(|| StoreError::KeyVanished {
                        gun: gun.clone(),
                        role,
                    })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Fail or abort when `fault` is for `row` (test builds only).
#[cfg(any(test, feature = "test-hooks"))]
fn meet_fault(fault: Option<InsertFault>, gun: &Gun, row: usize) -> Result<(), StoreError> {
    match fault {
        Some(InsertFault::FailAfterRow(k)) if k == row => {
            tracing::warn!(
                %gun,
                row,
                "test fault: failing the publish before it commits"
            );
            Err(StoreError::InjectedFault {
                gun: gun.clone(),
                row,
            })
        }
        Some(InsertFault::AbortAfterRow(k)) if k == row => {
            tracing::warn!(%gun, row, "test fault: aborting before the publish commits");
            std::process::abort()
        }
        _ => Ok(()),
    }
}

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
mod tests {
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
}
