//! Signing keys. A [`Signer`] knows its public [`Key`] and signs bytes; the
//! private half may live in memory (from an encrypted key file) or on a
//! hardware token (PKCS#11), never leaving it.

use std::collections::BTreeMap;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

use crate::keys::{Key, KeyVal, hex_encode};

/// Why a key could not be made, read or used to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The PKCS#8 bytes are not a private key of that kind.
    #[error("key material is not a valid {kind} PKCS#8 private key")]
    BadKey {
        /// `ed25519` or `ecdsa-p256`.
        kind: &'static str,
    },
    /// The signer failed (no randomness, a token that refused).
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Something that signs TUF metadata.
pub trait Signer: Send + Sync {
    /// The public key as metadata lists it.
    fn public_key(&self) -> &Key;
    /// Sign `message` (canonical bytes of `signed`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The key's id: sha256 of its canonical JSON.
    fn key_id(&self) -> String {
        self.public_key().key_id()
    }
}

/// Which algorithm a new local key uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519: the online roles' keys.
    Ed25519,
    /// ECDSA on P-256 with SHA-256: root keys (what hardware tokens hold).
    EcdsaP256,
}

impl KeyKind {
    /// The TUF `scheme` of keys of this kind.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::EcdsaP256 => "ecdsa-sha2-nistp256",
        }
    }
}

/// A private key held in memory, from PKCS#8.
pub struct LocalSigner {
    kind: KeyKind,
    pkcs8: Vec<u8>,
    pair: Pair,
    public: Key,
    /// Worked out once: every signature names it.
    key_id: String,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        write!(f, "LocalSigner({}, {})", self.kind.name(), self.key_id())
    }
}

impl LocalSigner {
    /// A new random key.
    pub fn generate(kind: KeyKind) -> Result<LocalSigner, SignError> {
        let rng = SystemRandom::new();
        let pkcs8 = match kind {
            KeyKind::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            KeyKind::EcdsaP256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            }
        }
        .map_err(|_| SignError::Failed("key generation".into()))?;
        LocalSigner::from_pkcs8(kind, pkcs8.as_ref())
    }

    /// A signer from an unencrypted PKCS#8 v1/v2 private key of `kind`.
    pub fn from_pkcs8(kind: KeyKind, pkcs8: &[u8]) -> Result<LocalSigner, SignError> {
        let bad = SignError::BadKey { kind: kind.name() };
        let (pair, public) = match kind {
            KeyKind::Ed25519 => {
                // v2 PKCS#8 carries the public key; v1 (what openssl writes) does not.
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
                    .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
                    .map_err(|_| bad)?;
                let public = key("ed25519", "ed25519", hex_encode(pair.public_key().as_ref()));
                (Pair::Ed25519(pair), public)
            }
            KeyKind::EcdsaP256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|_| bad)?;
                let public = key(
                    "ecdsa",
                    "ecdsa-sha2-nistp256",
                    p256_pem(pair.public_key().as_ref()),
                );
                (Pair::Ecdsa(pair), public)
            }
        };
        Ok(LocalSigner {
            kind,
            pkcs8: pkcs8.to_vec(),
            pair,
            key_id: public.key_id(),
            public,
        })
    }

    /// The key's algorithm.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The private key, for encrypting at rest. Handle with care.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
}

impl Signer for LocalSigner {
    fn public_key(&self) -> &Key {
        &self.public
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
            Pair::Ecdsa(p) => p
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Failed("ecdsa".into())),
        }
    }
}

pub(crate) fn key(keytype: &str, scheme: &str, public: String) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: scheme.into(),
        keyval: KeyVal {
            public,
            extra: BTreeMap::new(),
        },
        extra: BTreeMap::new(),
    }
}

/// An uncompressed P-256 point as a PEM SubjectPublicKeyInfo, the form
/// securesystemslib (and so python-tuf) uses for ECDSA keys.
pub fn p256_pem(point: &[u8]) -> String {
    const SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(point);
    crate::keys::spki_pem(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_keys_sign_what_their_public_key_verifies() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
            let s = LocalSigner::generate(kind).unwrap();
            let sig = s.sign(b"canonical").unwrap();
            let v = s.public_key().verifier().unwrap();
            assert!(v.verify(b"canonical", &sig), "{kind:?}");
            assert!(!v.verify(b"canonicaL", &sig), "{kind:?}");
            let again = LocalSigner::from_pkcs8(kind, s.pkcs8()).unwrap();
            assert_eq!(again.key_id(), s.key_id());
            assert!(!format!("{s:?}").contains(&hex_encode(s.pkcs8())));
        }
        assert!(LocalSigner::from_pkcs8(KeyKind::Ed25519, b"junk").is_err());
    }
}
