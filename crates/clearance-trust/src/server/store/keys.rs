//! The keys the service holds, sealed (see `server::keys`): the current
//! key of each (repository, role), and one a rotation made, used once a
//! published root names it.

use sqlx::Row as _;

use super::{Store, StoreError, is_unique_violation};
use crate::gun::Gun;
use crate::schema::TopRole;

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

impl Store {
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
