//! Private keys at rest: each key in its own file, sealed with
//! ChaCha20-Poly1305 under a key derived from a passphrase by Argon2id.
//! The key id is bound in as associated data, so a sealed key cannot be
//! passed off under another id. Public parts are stored in the clear.

use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::keys::{Key, hex_decode, hex_encode};
use crate::signer::{KeyKind, LocalSigner, Signer};

/// Argon2id cost: 64 MiB, 3 passes (OWASP's recommendation for Argon2id).
const M_COST_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;
const FORMAT: u32 = 1;

/// Why a key could not be sealed, found or unsealed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file that is not a key file of this format (or whose cost
    /// parameters are out of bounds).
    #[error("{path} is not a Clearance key file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The passphrase does not open the key (or the file was altered: the
    /// key id is bound in as associated data).
    #[error("wrong passphrase for key {keyid} (or the key file was altered)")]
    Decrypt {
        /// The key.
        keyid: String,
    },
    /// No such key in the keystore.
    #[error("no private key {keyid} in {dir}")]
    NotFound {
        /// The key id asked for.
        keyid: String,
        /// The keystore.
        dir: PathBuf,
    },
    /// A key file whose stated key id is not its public key's id (or not
    /// its file name): altered, or pasted together from two files.
    #[error(
        "{path} says it holds key {stated}, but its public key's id is {computed}: the file was altered or mixed up; remove it (or restore it from a backup)"
    )]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id the file states (its `keyid`, or its name).
        stated: String,
        /// The id computed from its public key.
        computed: String,
    },
    /// Argon2id failed.
    #[error("key derivation failed: {0}")]
    Kdf(String),
    /// The unsealed key is not a key of its kind.
    #[error(transparent)]
    Sign(#[from] crate::signer::SignError),
    /// A key id prefix that names no one key.
    #[error(transparent)]
    KeyId(#[from] crate::key_id::KeyIdError),
}

/// A sealed private key as written to disk.
#[derive(Debug, Serialize, Deserialize)]
struct KeyFile {
    clearance_key: u32,
    /// What the key is for, as the user named it (`root`, `targets`, …).
    role: String,
    kind: String,
    keyid: String,
    public: Key,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Kdf {
    name: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

/// A summary of a stored key, without secrets.
#[derive(Debug, Clone, Serialize)]
pub struct StoredKey {
    /// The key id.
    pub keyid: String,
    /// What the key is for, as named when it was made or imported (a label).
    pub role: String,
    /// Its scheme (`ed25519`, `ecdsa-sha2-nistp256`).
    pub kind: String,
    /// The sealed key file.
    pub path: PathBuf,
}

/// A directory of sealed keys (`KEYID.key`, mode 0600).
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keystore in `dir`, made if missing: it and every parent it
    /// makes are mode 0700 whatever the umask.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Keystore, KeystoreError> {
        let dir = dir.into();
        crate::files::create_private_dir(&dir).map_err(|source| KeystoreError::Io {
            path: dir.clone(),
            source,
        })?;
        restrict(&dir, 0o700)?;
        Ok(Keystore { dir })
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Seal and store a key; returns its id.
    pub fn save(
        &self,
        signer: &LocalSigner,
        role: &str,
        passphrase: &str,
    ) -> Result<String, KeystoreError> {
        let keyid = signer.key_id();
        let rng = SystemRandom::new();
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rng.fill(&mut salt)
            .map_err(|_| KeystoreError::Kdf("no randomness".into()))?;
        rng.fill(&mut nonce)
            .map_err(|_| KeystoreError::Kdf("no randomness".into()))?;
        let sealing = derive(passphrase, &salt, M_COST_KIB, T_COST, 1)?;
        let mut data = signer.pkcs8().to_vec();
        sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(keyid.as_bytes()),
                &mut data,
            )
            .map_err(|_| KeystoreError::Kdf("sealing failed".into()))?;
        let file = KeyFile {
            clearance_key: FORMAT,
            role: role.to_owned(),
            kind: signer.kind().name().to_owned(),
            keyid: keyid.clone(),
            public: signer.public_key().clone(),
            kdf: Kdf {
                name: "argon2id".into(),
                m_cost: M_COST_KIB,
                t_cost: T_COST,
                p_cost: 1,
                salt: hex_encode(&salt),
            },
            nonce: hex_encode(&nonce),
            ciphertext: hex_encode(&data),
        };
        let path = self.path(&keyid);
        let json = serde_json::to_vec_pretty(&file).map_err(|e| KeystoreError::Format {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::client::write_private(&path, &json).map_err(|source| KeystoreError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(keyid)
    }

    /// Unseal a key with its passphrase.
    pub fn load(&self, keyid: &str, passphrase: &str) -> Result<LocalSigner, KeystoreError> {
        let path = self.path(keyid);
        let file = self.read(&path)?;
        let format = |message: &str| KeystoreError::Format {
            path: path.clone(),
            message: message.to_owned(),
        };
        if file.keyid != keyid {
            return Err(format("it names another key id"));
        }
        if file.kdf.name != "argon2id" {
            return Err(format("unknown key derivation"));
        }
        let kind = match file.kind.as_str() {
            "ed25519" => KeyKind::Ed25519,
            "ecdsa-sha2-nistp256" => KeyKind::EcdsaP256,
            _ => return Err(format("unknown key kind")),
        };
        let salt = hex_decode(&file.kdf.salt).ok_or_else(|| format("bad salt"))?;
        let nonce: [u8; 12] = hex_decode(&file.nonce)
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| format("bad nonce"))?;
        let mut data = hex_decode(&file.ciphertext).ok_or_else(|| format("bad ciphertext"))?;
        // Bound the cost an altered file can make us pay.
        if file.kdf.m_cost > 1 << 20 || file.kdf.t_cost > 16 || file.kdf.p_cost > 8 {
            return Err(format("key derivation cost out of range"));
        }
        let opening = derive(
            passphrase,
            &salt,
            file.kdf.m_cost,
            file.kdf.t_cost,
            file.kdf.p_cost,
        )?;
        let pkcs8 = opening
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(keyid.as_bytes()),
                &mut data,
            )
            .map_err(|_| KeystoreError::Decrypt {
                keyid: keyid.to_owned(),
            })?;
        let signer = LocalSigner::from_pkcs8(kind, pkcs8)?;
        if signer.key_id() != keyid {
            return Err(format("the private key does not match its key id"));
        }
        Ok(signer)
    }

    /// Delete a stored key (one this process made, when what it was made
    /// for failed); a key that is not there is not an error.
    pub fn remove(&self, keyid: &str) -> Result<(), KeystoreError> {
        let path = self.path(keyid);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(KeystoreError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }

    /// The public key of a stored key (no passphrase needed).
    pub fn public(&self, keyid: &str) -> Result<Key, KeystoreError> {
        Ok(self.read(&self.path(keyid))?.public)
    }

    /// The id of a stored key, given whole or as a unique prefix of at
    /// least 8 hex digits ([`crate::key_id::resolve`]).
    pub fn resolve(&self, given: &str) -> Result<String, KeystoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| KeystoreError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".key").map(str::to_owned)
            })
            .collect();
        let place = format!("in {}", self.dir.display());
        Ok(crate::key_id::resolve(
            given,
            ids.iter().map(String::as_str),
            &place,
        )?)
    }

    /// Key files that others than their owner may read or write (mode &
    /// 0o077 set, e.g. copied in with `cp` under a wide umask), with their
    /// modes: sealed still, but open to offline passphrase guessing. Empty
    /// where file modes do not exist.
    pub fn exposed(&self) -> Vec<(PathBuf, u32)> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let Ok(entries) = std::fs::read_dir(&self.dir) else {
                return Vec::new();
            };
            let mut wide: Vec<(PathBuf, u32)> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "key"))
                .filter_map(|p| {
                    let mode = std::fs::metadata(&p).ok()?.permissions().mode() & 0o777;
                    (mode & 0o077 != 0).then_some((p, mode))
                })
                .collect();
            wide.sort();
            wide
        }
        #[cfg(not(unix))]
        Vec::new()
    }

    /// Every stored key, by id.
    pub fn list(&self) -> Result<Vec<StoredKey>, KeystoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| KeystoreError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "key") {
                let file = self.read(&path)?;
                keys.push(StoredKey {
                    keyid: file.keyid,
                    role: file.role,
                    kind: file.kind,
                    path,
                });
            }
        }
        keys.sort_by(|a, b| (&a.role, &a.keyid).cmp(&(&b.role, &b.keyid)));
        Ok(keys)
    }

    fn path(&self, keyid: &str) -> PathBuf {
        // Key ids are hex; anything else must not become a path.
        let safe: String = keyid.chars().filter(char::is_ascii_hexdigit).collect();
        self.dir.join(format!("{safe}.key"))
    }

    fn read(&self, path: &Path) -> Result<KeyFile, KeystoreError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => KeystoreError::NotFound {
                keyid: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir: self.dir.clone(),
            },
            _ => KeystoreError::Io {
                path: path.to_owned(),
                source,
            },
        })?;
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| KeystoreError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if file.clearance_key != FORMAT {
            return Err(KeystoreError::Format {
                path: path.to_owned(),
                message: format!("format version {} is not supported", file.clearance_key),
            });
        }
        // Review 9 #13: the id others are given (`key export`, `delegate
        // add --key ID`) must be the public key's own, and the file's name.
        let computed = file.public.key_id();
        let named = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        for stated in [Some(file.keyid.clone()), named].into_iter().flatten() {
            if stated != computed {
                return Err(KeystoreError::IdMismatch {
                    path: path.to_owned(),
                    stated,
                    computed,
                });
            }
        }
        Ok(file)
    }
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<LessSafeKey, KeystoreError> {
    let params =
        argon2::Params::new(m, t, p, Some(32)).map_err(|e| KeystoreError::Kdf(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| KeystoreError::Kdf(e.to_string()))?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key)
        .map_err(|_| KeystoreError::Kdf("bad key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), KeystoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        KeystoreError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> Result<(), KeystoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_unseals_and_refuses_the_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::open(dir.path().join("keys")).unwrap();
        let signer = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
        let keyid = store.save(&signer, "targets", "correct horse").unwrap();
        let text = std::fs::read_to_string(store.path(&keyid)).unwrap();
        assert!(
            !text.contains(&hex_encode(signer.pkcs8())),
            "private key stored in the clear"
        );
        let back = store.load(&keyid, "correct horse").unwrap();
        assert_eq!(back.key_id(), keyid);
        assert!(matches!(
            store.load(&keyid, "wrong"),
            Err(KeystoreError::Decrypt { .. })
        ));
        assert_eq!(store.public(&keyid).unwrap(), *signer.public_key());
        let listed = store.list().unwrap();
        assert_eq!(
            (listed[0].keyid.as_str(), listed[0].role.as_str()),
            (keyid.as_str(), "targets")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path(&keyid))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Review 9 #13: a key file stating one id and holding another key's
    /// public part (or renamed) is refused naming both ids, wherever it is
    /// read: `public` (export, delegate add), `load` and `list`.
    #[test]
    fn r9_13_a_key_file_whose_id_is_not_its_keys_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::open(dir.path()).unwrap();
        let a = store
            .save(
                &LocalSigner::generate(KeyKind::Ed25519).unwrap(),
                "qa",
                "pw",
            )
            .unwrap();
        let b_signer = LocalSigner::generate(KeyKind::Ed25519).unwrap();
        let b = store.save(&b_signer, "qa", "pw").unwrap();
        let path = store.path(&a);
        let mut file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let other: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.path(&b)).unwrap()).unwrap();
        file["public"] = other["public"].clone();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        let mismatch = |r: Result<(), KeystoreError>| match r {
            Err(KeystoreError::IdMismatch {
                stated, computed, ..
            }) => assert_eq!(
                (stated.as_str(), computed.as_str()),
                (a.as_str(), b.as_str())
            ),
            other => panic!("{other:?}"),
        };
        mismatch(store.public(&a).map(drop));
        mismatch(store.load(&a, "pw").map(drop));
        mismatch(store.list().map(drop));

        // A file renamed to another id.
        std::fs::remove_file(&path).unwrap();
        let renamed = dir.path().join(format!("{}.key", "0".repeat(64)));
        std::fs::copy(store.path(&b), &renamed).unwrap();
        assert!(matches!(
            store.list(),
            Err(KeystoreError::IdMismatch { computed, .. }) if computed == b
        ));
    }

    #[test]
    fn an_altered_key_file_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::open(dir.path()).unwrap();
        let signer = LocalSigner::generate(KeyKind::Ed25519).unwrap();
        let keyid = store.save(&signer, "root", "pw").unwrap();
        let path = store.path(&keyid);
        let mut file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let ct = file["ciphertext"].as_str().unwrap().to_owned();
        let flipped = format!("{}{}", if &ct[..1] == "0" { "1" } else { "0" }, &ct[1..]);
        file["ciphertext"] = flipped.into();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(matches!(
            store.load(&keyid, "pw"),
            Err(KeystoreError::Decrypt { .. })
        ));
        file["kdf"]["m_cost"] = (1u64 << 30).into();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(matches!(
            store.load(&keyid, "pw"),
            Err(KeystoreError::Format { .. })
        ));
        assert!(matches!(
            store.load("00ff", "pw"),
            Err(KeystoreError::NotFound { .. })
        ));
    }
}
