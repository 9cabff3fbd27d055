//! The ECDSA P-256 key that signs tokens, and the file that keeps it.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

/// Largest key file read.
const MAX_KEY_FILE: u64 = 16 * 1024;
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// The token signing key: ECDSA P-256, kept as PKCS#8.
pub struct TokenKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    key_id: String,
}

/// Why a token key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Generating a key pair failed.
    #[error("could not generate an ecdsa p-256 key")]
    Generate,
    /// The bytes are not a PKCS#8 ECDSA P-256 key (with its public key).
    #[error("{what} is not a pkcs#8 ecdsa p-256 private key")]
    InvalidPrivateKey {
        /// Where the bytes came from.
        what: String,
    },
    /// The bytes are not an uncompressed P-256 public key.
    #[error("public key is not an uncompressed p-256 point")]
    InvalidPublicKey,
    /// The key file could not be read or created.
    #[error("could not {action} token key {path}")]
    Io {
        /// `read` or `create`.
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// The key file is open to group or others.
    #[error(
        "token key {path} is accessible by group or others (mode {mode:03o}); run chmod 600 {path}"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is larger than any key.
    #[error("token key {path} is larger than {max} bytes")]
    TooLarge {
        /// The key file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
}

impl TokenKey {
    /// A fresh random key.
    pub fn generate() -> Result<TokenKey, KeyError> {
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Generate)?;
        TokenKey::from_pkcs8(document.as_ref())
    }

    /// Reads a DER PKCS#8 ECDSA P-256 key (which must include its public key).
    pub fn from_pkcs8(der: &[u8]) -> Result<TokenKey, KeyError> {
        TokenKey::from_pkcs8_named(der, "key")
    }

    fn from_pkcs8_named(der: &[u8], what: &str) -> Result<TokenKey, KeyError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng).map_err(
            |_| KeyError::InvalidPrivateKey {
                what: what.to_owned(),
            },
        )?;
        let key_id = key_id_of(pair.public_key().as_ref());
        Ok(TokenKey {
            pair,
            pkcs8: der.to_vec(),
            key_id,
        })
    }

    /// The key as DER PKCS#8. Secret: keep it out of logs.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Reads the key at `path` (PEM `PRIVATE KEY` or DER PKCS#8), or, when
    /// there is no file, generates one and writes it as PEM with mode 0600.
    /// A file open to group or others is refused.
    pub fn load_or_create(path: &Path) -> Result<TokenKey, KeyError> {
        match TokenKey::load(path) {
            Err(KeyError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
            loaded => return loaded,
        }
        let key = TokenKey::generate()?;
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        let mut file = match created {
            Ok(file) => file,
            // Someone else created it meanwhile: use theirs.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return TokenKey::load(path),
            Err(source) => return Err(io_error("create", path, source)),
        };
        if let Err(source) = file
            .write_all(pem(&key.pkcs8).as_bytes())
            .and_then(|()| file.sync_all())
        {
            // A half-written key would fail every later start: leave none.
            let _ = std::fs::remove_file(path);
            return Err(io_error("create", path, source));
        }
        tracing::info!(path = %path.display(), key_id = %key.key_id, "created token key");
        Ok(key)
    }

    /// Reads the key at `path`, refusing a file open to group or others.
    pub fn load(path: &Path) -> Result<TokenKey, KeyError> {
        let file = File::open(path).map_err(|source| io_error("read", path, source))?;
        let metadata = file
            .metadata()
            .map_err(|source| io_error("read", path, source))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| io_error("read", path, source))?;
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(KeyError::TooLarge {
                path: path.to_owned(),
                max: MAX_KEY_FILE,
            });
        }
        let what = format!("token key {}", path.display());
        let der = match std::str::from_utf8(&bytes) {
            Ok(text) if text.trim_start().starts_with(PEM_BEGIN) => {
                unpem(text).ok_or_else(|| KeyError::InvalidPrivateKey { what: what.clone() })?
            }
            _ => bytes,
        };
        TokenKey::from_pkcs8_named(&der, &what)
    }

    /// Names the key in token headers: the first 16 bytes of the SHA-256 of
    /// the uncompressed public key, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The uncompressed P-256 public key (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Signs `message` (ES256, fixed-size `r || s`).
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let rng = SystemRandom::new();
        let signature = self.pair.sign(&rng, message).ok()?;
        Some(signature.as_ref().to_vec())
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The key id of an uncompressed P-256 public key.
pub(crate) fn key_id_of(public_key: &[u8]) -> String {
    digest(&SHA256, public_key).as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("{PEM_BEGIN}\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(PEM_END);
    text.push('\n');
    text
}

fn unpem(text: &str) -> Option<Vec<u8>> {
    let body = text.trim().strip_prefix(PEM_BEGIN)?.strip_suffix(PEM_END)?;
    let joined: String = body.split_whitespace().collect();
    STANDARD.decode(joined).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    #[test]
    fn pkcs8_round_trip_keeps_the_key_id() {
        let key = TokenKey::generate().unwrap();
        assert_eq!(key.key_id().len(), 32);
        assert_eq!(key.public_key().len(), 65);
        let again = TokenKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_ne!(TokenKey::generate().unwrap().key_id(), key.key_id());
        assert!(TokenKey::from_pkcs8(b"not a key").is_err());
    }

    #[test]
    fn load_or_create_writes_0600_and_reloads_the_same_key() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("token.key");
        let created = TokenKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(PEM_BEGIN), "{text}");
        let loaded = TokenKey::load_or_create(&path).unwrap();
        assert_eq!(loaded.key_id(), created.key_id());
    }

    #[test]
    fn reads_der_files_too() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("token.der");
        let key = TokenKey::generate().unwrap();
        std::fs::write(&path, key.pkcs8()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(TokenKey::load(&path).unwrap().key_id(), key.key_id());
    }

    #[test]
    fn refuses_a_key_readable_by_others() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("token.key");
        TokenKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = TokenKey::load_or_create(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::Permissions { mode: 0o644, path: p } if *p == path),
            "{err}"
        );
    }

    #[test]
    fn refuses_garbage_and_missing_directories() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("token.key");
        std::fs::write(&path, format!("{PEM_BEGIN}\nAAAA\n{PEM_END}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = TokenKey::load(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::InvalidPrivateKey { what } if what.ends_with("token.key")),
            "{err}"
        );
        let nowhere = dir.path().join("no/such/dir/token.key");
        let err = TokenKey::load_or_create(&nowhere).unwrap_err();
        assert!(
            matches!(&err, KeyError::Io { action: "create", path, .. } if *path == nowhere),
            "{err}"
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let key = TokenKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert!(
            debug.contains(key.key_id()) && !debug.contains("pkcs8"),
            "{debug}"
        );
    }
}
