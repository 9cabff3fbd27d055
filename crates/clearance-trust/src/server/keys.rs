//! Keys the trust service holds for its repositories (timestamp, and
//! snapshot when the publisher hands it over). Each is generated on the
//! server, never leaves it, and is stored sealed with ChaCha20-Poly1305
//! under a master key kept in a file (mode 0600) beside the configuration,
//! not in the database: a database dump alone reveals no private key. The
//! repository, role and key id are bound in as associated data, so a sealed
//! key cannot be moved to another repository or role.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::store::StoredServerKey;
use crate::files::{Access, Existing, write_file};
use crate::gun::Gun;
use crate::schema::TopRole;
use crate::signer::{KeyKind, LocalSigner, Signer};

/// Why a server-held key could not be made, kept or unsealed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The master key file could not be read, made, or is readable by others.
    #[error("{path}: {message}")]
    MasterKey {
        /// The master key file.
        path: PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },
    /// A stored key does not open with this master key for its repository
    /// and role (another master key, a moved row, tampering).
    #[error("server key {keyid} of {gun} {role} does not unseal with this master key")]
    Unseal {
        /// The repository.
        gun: Gun,
        /// Snapshot or timestamp.
        role: TopRole,
        /// The key id the row names.
        keyid: String,
    },
    /// The cryptography itself failed (no randomness, a bad key).
    #[error("server key: {0}")]
    Crypto(String),
}

/// The master key that seals server-held signing keys.
pub struct MasterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Read the key file, creating it (32 random bytes, mode 0600) when it
    /// does not exist. A file others may read is refused.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, KeyError> {
        let err = |message: String| KeyError::MasterKey {
            path: path.to_owned(),
            message,
        };
        let bytes = match std::fs::metadata(path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(err(
                        "readable by group or others; run `chmod 600` on it".into()
                    ));
                }
                std::fs::read(path).map_err(|e| err(e.to_string()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut fresh = vec![0u8; 32];
                SystemRandom::new()
                    .fill(&mut fresh)
                    .map_err(|_| err("no randomness".into()))?;
                // Whole or not at all, and never over a key another process
                // made meanwhile (that one is used instead).
                match write_file(path, &fresh, Access::OwnerOnly, Existing::Keep) {
                    Ok(()) => fresh,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return MasterKey::load_or_create(path);
                    }
                    Err(e) => return Err(err(format!("cannot create: {e}"))),
                }
            }
            Err(e) => return Err(err(e.to_string())),
        };
        if bytes.len() != 32 {
            return Err(err(format!("holds {} bytes, expected 32", bytes.len())));
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| err("not a usable key".into()))?;
        Ok(MasterKey {
            key: LessSafeKey::new(key),
        })
    }

    /// A new ECDSA P-256 signing key for `gun`'s `role`, sealed for storage.
    pub fn generate(&self, gun: &Gun, role: TopRole) -> Result<StoredServerKey, KeyError> {
        let signer = LocalSigner::generate(KeyKind::EcdsaP256)
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let keyid = signer.key_id();
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Crypto("no randomness".into()))?;
        let mut sealed = signer.pkcs8().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(gun, role, &keyid)),
                &mut sealed,
            )
            .map_err(|_| KeyError::Crypto("sealing failed".into()))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        let public = serde_json::to_string(signer.public_key())
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(StoredServerKey {
            keyid,
            public,
            sealed: stored,
        })
    }

    /// Unseal a stored key into a signer, checking it is the key it claims.
    pub fn unseal(
        &self,
        gun: &Gun,
        role: TopRole,
        stored: &StoredServerKey,
    ) -> Result<LocalSigner, KeyError> {
        let refused = || KeyError::Unseal {
            gun: gun.clone(),
            role,
            keyid: stored.keyid.clone(),
        };
        if stored.sealed.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, sealed) = stored.sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut buf = sealed.to_vec();
        let pkcs8 = self
            .key
            .open_in_place(nonce, Aad::from(aad(gun, role, &stored.keyid)), &mut buf)
            .map_err(|_| refused())?;
        let signer = LocalSigner::from_pkcs8(KeyKind::EcdsaP256, pkcs8).map_err(|_| refused())?;
        if signer.key_id() != stored.keyid {
            return Err(refused());
        }
        Ok(signer)
    }
}

/// What a sealed key is bound to: its repository, role and key id.
fn aad(gun: &Gun, role: TopRole, keyid: &str) -> Vec<u8> {
    format!("clearance-server-key\0{gun}\0{role}\0{keyid}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_for_their_repository_and_role() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let master = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (app, other) = (Gun::new("r/app").unwrap(), Gun::new("r/other").unwrap());
        let stored = master.generate(&app, TopRole::Timestamp).unwrap();
        let again = MasterKey::load_or_create(&path).unwrap();
        let signer = again.unseal(&app, TopRole::Timestamp, &stored).unwrap();
        assert_eq!(signer.key_id(), stored.keyid);
        assert!(matches!(
            master.unseal(&other, TopRole::Timestamp, &stored),
            Err(KeyError::Unseal { .. })
        ));
        assert!(master.unseal(&app, TopRole::Snapshot, &stored).is_err());
        let mut tampered = stored.clone();
        let last = tampered.sealed.len() - 1;
        tampered.sealed[last] ^= 1;
        assert!(master.unseal(&app, TopRole::Timestamp, &tampered).is_err());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::MasterKey { path: p, message } if *p == path && message.contains("chmod 600")),
            "{err}"
        );
    }
}
