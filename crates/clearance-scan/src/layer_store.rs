//! Per-layer inventories stored by diff id (issue 9: "a layer shared by
//! many images is read once, and an image already seen is re-matched
//! without reading a layer").
//!
//! An embedded SQLite file (`layers.db`, beside the advisory database)
//! keeps each layer's [`LayerScan`]: the package metadata files it wrote
//! and what else it noted (whiteouts, replaced directories, links, files
//! too large), its entries' listing for the configuration checks, and the
//! secrets found in its files (masked: the store holds no secret). Replaying stored captures gives the same inventory
//! as reading the layers, because it is the same input to
//! [`crate::inventory::Inventory::build`].
//!
//! A capture is stored only after its layer was read in full and its
//! uncompressed digest matched the diff id the image config names, so a
//! stored capture stands for exactly that content. Captures are keyed by
//! (diff id, [`capture_fingerprint`]): when the catalogers change, old
//! captures are not used.
//!
//! Tables: `layers(diff_id, fingerprint, notes, listing, secrets, stored_at)`,
//! `layer_files(diff_id, seq, path, content)`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clearance_oci::Digest;
use sqlx::{Row, SqlitePool};

use crate::catalog::Cataloger;
use crate::config::{LayerListing, StoredListing};
use crate::db::DbError;
use crate::inventory::{LayerCapture, StoredFiles, StoredNotes, capture_fingerprint};
use crate::layer_scan::LayerScan;
use crate::secrets::{SecretScanner, StoredSecrets};

/// An open layer store.
#[derive(Debug, Clone)]
pub struct LayerStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl LayerStore {
    /// Open (creating if missing) the store at `path`.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`] when the file cannot be opened or its tables made.
    pub async fn open(path: &Path) -> Result<LayerStore, DbError> {
        let sql = |source| DbError::Sql {
            path: path.to_owned(),
            source,
        };
        let pool = crate::db::sqlite_pool(path, true, 2).await?;
        for statement in [
            "CREATE TABLE IF NOT EXISTS layers (diff_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, notes TEXT NOT NULL, listing TEXT, stored_at INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS layer_files (diff_id TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL, content BLOB, PRIMARY KEY (diff_id, seq))",
        ] {
            sqlx::query(statement).execute(&pool).await.map_err(sql)?;
        }
        // A store made before listings or secrets were kept: add the
        // columns (its rows are stale by fingerprint anyway).
        for column in ["listing", "secrets"] {
            let has: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('layers') WHERE name = ?)",
            )
            .bind(column)
            .fetch_one(&pool)
            .await
            .map_err(sql)?;
            if !has {
                sqlx::query(&format!("ALTER TABLE layers ADD COLUMN {column} TEXT"))
                    .execute(&pool)
                    .await
                    .map_err(sql)?;
            }
        }
        Ok(LayerStore {
            pool,
            path: path.to_owned(),
        })
    }

    fn sql(&self) -> impl Fn(sqlx::Error) -> DbError + '_ {
        |source| DbError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// One stored JSON column, or [`DbError::Corrupt`] naming `what`.
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        json: &str,
        what: &'static str,
    ) -> Result<T, DbError> {
        serde_json::from_str(json).map_err(|e| DbError::Corrupt {
            path: self.path.clone(),
            what,
            message: e.to_string(),
        })
    }

    /// The stored captures of these layers that were made with the same
    /// catalogers; layers not stored (or stored by other catalogers) are
    /// absent from the map.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`], or [`DbError::Corrupt`] for notes this code did
    /// not write.
    pub async fn get(
        &self,
        diff_ids: &[Digest],
        catalogers: &Arc<Vec<Box<dyn Cataloger>>>,
    ) -> Result<HashMap<Digest, LayerScan>, DbError> {
        let fingerprint = capture_fingerprint(catalogers);
        let mut out = HashMap::new();
        for diff_id in diff_ids {
            if out.contains_key(diff_id) {
                continue;
            }
            let key = diff_id.to_string();
            let row = sqlx::query(
                "SELECT notes, listing, secrets FROM layers WHERE diff_id = ? AND fingerprint = ? AND listing IS NOT NULL AND secrets IS NOT NULL",
            )
            .bind(&key)
            .bind(&fingerprint)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.sql())?;
            let Some(row) = row else { continue };
            let notes: StoredNotes = self.decode(&row.get::<String, _>(0), "layer notes")?;
            let listing: StoredListing = self.decode(&row.get::<String, _>(1), "layer listing")?;
            let secrets: StoredSecrets = self.decode(&row.get::<String, _>(2), "layer secrets")?;
            let rows =
                sqlx::query("SELECT path, content FROM layer_files WHERE diff_id = ? ORDER BY seq")
                    .bind(&key)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.sql())?;
            let files: StoredFiles = rows
                .into_iter()
                .map(|r| (r.get::<String, _>(0), r.get::<Option<Vec<u8>>, _>(1)))
                .collect();
            out.insert(
                diff_id.clone(),
                LayerScan::from_parts(
                    LayerCapture::from_stored(catalogers.clone(), files, notes),
                    LayerListing::from_stored(listing),
                    SecretScanner::from_stored(secrets),
                ),
            );
        }
        Ok(out)
    }

    /// Store a layer's capture under its verified diff id, replacing what
    /// was stored for it, in one transaction.
    ///
    /// # Errors
    ///
    /// [`DbError::Sql`]; nothing is stored then.
    pub async fn put(
        &self,
        diff_id: &Digest,
        scan: &LayerScan,
        catalogers: &[Box<dyn Cataloger>],
    ) -> Result<(), DbError> {
        let (files, notes) = scan.capture.to_stored();
        let listing = serde_json::to_string(&scan.listing.to_stored()).unwrap_or_default();
        let secrets = serde_json::to_string(&scan.secrets.to_stored()).unwrap_or_default();
        let key = diff_id.to_string();
        let notes = serde_json::to_string(&notes).unwrap_or_default();
        let now = crate::db::now_unix();
        let mut tx = self.pool.begin().await.map_err(self.sql())?;
        sqlx::query("DELETE FROM layer_files WHERE diff_id = ?")
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(self.sql())?;
        for (seq, (path, content)) in files.iter().enumerate() {
            sqlx::query(
                "INSERT INTO layer_files (diff_id, seq, path, content) VALUES (?, ?, ?, ?)",
            )
            .bind(&key)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(path)
            .bind(content.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(self.sql())?;
        }
        sqlx::query(
            "INSERT OR REPLACE INTO layers (diff_id, fingerprint, notes, listing, secrets, stored_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&key)
        .bind(capture_fingerprint(catalogers))
        .bind(notes)
        .bind(listing)
        .bind(secrets)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(self.sql())?;
        tx.commit().await.map_err(self.sql())
    }

    /// Close the pool, waiting until no connection is left (the workaround
    /// for sqlx#3217 that [`crate::db`] uses too).
    pub async fn close(&self) {
        crate::db::close_pool(&self.pool).await;
    }
}
