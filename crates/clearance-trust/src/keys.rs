//! Public keys as TUF metadata carries them, and signature verification for
//! the spec's key types: ed25519, ecdsa-sha2-nistp256 (and nistp384),
//! rsassa-pss-sha256 (and rsa-pkcs1v15-sha256). One backend: ring.

use std::collections::BTreeMap;

use base64::Engine as _;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A public key entry of `keys` in root or delegations. Unknown fields are
/// kept so that re-serialising signed metadata does not change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// `ed25519`, `ecdsa`, `rsa` (TUF 1.0 §4.2).
    pub keytype: String,
    /// The signature scheme: `ed25519`, `ecdsa-sha2-nistp256`,
    /// `rsassa-pss-sha256`, …
    pub scheme: String,
    /// The key's value.
    pub keyval: KeyVal,
    /// Fields this client does not know, kept.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A key's `keyval`: the public part (hex for ed25519, PEM
/// SubjectPublicKeyInfo otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// The public key.
    pub public: String,
    /// Fields this client does not know, kept.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Why a key cannot verify signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A key type or scheme this client does not support.
    #[error("unsupported key type/scheme {keytype}/{scheme}")]
    Unsupported {
        /// The `keytype`.
        keytype: String,
        /// The `scheme`.
        scheme: String,
    },
    /// The public value does not decode for its scheme.
    #[error("malformed {scheme} public key: {reason}")]
    Malformed {
        /// The `scheme`.
        scheme: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A key ready to verify signatures.
#[derive(Debug, Clone)]
pub struct Verifier {
    algorithm: &'static dyn VerificationAlgorithm,
    public: Vec<u8>,
}

impl Verifier {
    /// Whether `sig` is a valid signature of `message` by this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(self.algorithm, &self.public)
            .verify(message, sig)
            .is_ok()
    }

    /// The public key material, for comparing keys by value.
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

impl Key {
    /// Parse the public key for its scheme.
    pub fn verifier(&self) -> Result<Verifier, KeyError> {
        let malformed = |reason| KeyError::Malformed {
            scheme: self.scheme.clone(),
            reason,
        };
        let public = self.keyval.public.trim();
        let (algorithm, bytes): (&'static dyn VerificationAlgorithm, Vec<u8>) =
            match (self.keytype.as_str(), self.scheme.as_str()) {
                ("ed25519", "ed25519") => {
                    let raw = hex_decode(public).ok_or_else(|| malformed("not hex"))?;
                    if raw.len() != 32 {
                        return Err(malformed("not 32 bytes"));
                    }
                    (&signature::ED25519, raw)
                }
                ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => (
                    &signature::ECDSA_P256_SHA256_ASN1,
                    ec_point(public, OID_P256, 65)
                        .ok_or_else(|| malformed("not a P-256 public key"))?,
                ),
                ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => (
                    &signature::ECDSA_P384_SHA384_ASN1,
                    ec_point(public, OID_P384, 97)
                        .ok_or_else(|| malformed("not a P-384 public key"))?,
                ),
                ("rsa", "rsassa-pss-sha256") => (
                    &signature::RSA_PSS_2048_8192_SHA256,
                    rsa_public(public).ok_or_else(|| malformed("not an RSA public key"))?,
                ),
                ("rsa", "rsa-pkcs1v15-sha256") => (
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    rsa_public(public).ok_or_else(|| malformed("not an RSA public key"))?,
                ),
                _ => {
                    return Err(KeyError::Unsupported {
                        keytype: self.keytype.clone(),
                        scheme: self.scheme.clone(),
                    });
                }
            };
        Ok(Verifier {
            algorithm,
            public: bytes,
        })
    }

    /// The key's id as TUF computes it for new keys: sha256 of its canonical JSON.
    /// (Ids found in metadata are taken as given, never recomputed.)
    pub fn key_id(&self) -> String {
        let canonical = crate::cjson::to_canonical(self).unwrap_or_default();
        hex_encode(ring::digest::digest(&ring::digest::SHA256, &canonical).as_ref())
    }
}

/// An EC point from PEM SubjectPublicKeyInfo, or from hex of the raw point.
fn ec_point(public: &str, curve: &[u8], len: usize) -> Option<Vec<u8>> {
    let point = if public.starts_with("-----BEGIN") {
        let der = pem_decode(public)?;
        let (alg, params, key) = spki_parts(&der)?;
        if alg != OID_EC_PUBLIC_KEY || params != curve {
            return None;
        }
        key.to_vec()
    } else {
        hex_decode(public)?
    };
    (point.len() == len && point[0] == 0x04).then_some(point)
}

/// The PKCS#1 `RSAPublicKey` inside a PEM SubjectPublicKeyInfo.
fn rsa_public(public: &str) -> Option<Vec<u8>> {
    let der = pem_decode(public)?;
    let (alg, _, key) = spki_parts(&der)?;
    (alg == OID_RSA).then(|| key.to_vec())
}

/// The DER in a PEM block (header and footer lines dropped).
pub fn pem_decode(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// `SEQUENCE { SEQUENCE { OID alg, params }, BIT STRING key }` → (alg, params OID or empty, key).
pub(crate) fn spki_parts(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (0x30, outer, _) = tlv(der)? else {
        return None;
    };
    let (0x30, alg_id, rest) = tlv(outer)? else {
        return None;
    };
    let (0x06, alg, params) = tlv(alg_id)? else {
        return None;
    };
    let params = match tlv(params) {
        Some((0x06, oid, _)) => oid,
        _ => &[],
    };
    let (0x03, bits, _) = tlv(rest)? else {
        return None;
    };
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then_some((alg, params, key))
}

/// One DER tag-length-value: (tag, content, rest).
pub(crate) fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Raw `r ‖ s` (as Go's crypto and PKCS#11 produce) → ASN.1 `ECDSA-Sig-Value`.
pub fn ecdsa_fixed_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 132 {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::with_capacity(raw.len() + 6);
    for int in [r, s] {
        let trimmed = match int.iter().position(|&b| b != 0) {
            Some(first) => &int[first..],
            None => &int[int.len() - 1..],
        };
        let pad = trimmed[0] & 0x80 != 0;
        body.push(0x02);
        body.push((trimmed.len() + usize::from(pad)) as u8);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(trimmed);
    }
    let mut der = vec![0x30];
    if body.len() >= 0x80 {
        der.push(0x81);
    }
    der.push(body.len() as u8);
    der.extend_from_slice(&body);
    Some(der)
}

/// A DER SubjectPublicKeyInfo as PEM, 64 columns.
pub fn spki_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair as _;

    use crate::signer::key;

    #[test]
    fn verifies_ed25519_and_refuses_a_changed_message() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let k = key("ed25519", "ed25519", hex_encode(pair.public_key().as_ref()));
        let v = k.verifier().unwrap();
        let sig = pair.sign(b"signed bytes");
        assert!(v.verify(b"signed bytes", sig.as_ref()));
        assert!(!v.verify(b"signed bytez", sig.as_ref()));
        assert!(!v.verify(b"signed bytes", b""));
    }

    #[test]
    fn verifies_ecdsa_p256_from_a_pem_spki() {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let mut der = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        der.extend_from_slice(pair.public_key().as_ref());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&der)
        );
        let v = key("ecdsa", "ecdsa-sha2-nistp256", pem).verifier().unwrap();
        let sig = pair.sign(&rng, b"m").unwrap();
        assert!(v.verify(b"m", sig.as_ref()));
        assert!(!v.verify(b"n", sig.as_ref()));
    }

    #[test]
    fn unsupported_and_malformed_keys_are_errors_not_panics() {
        assert!(matches!(
            key("dsa", "dsa-sha1", "00".into()).verifier(),
            Err(KeyError::Unsupported { .. })
        ));
        for public in [
            "zz",
            "00",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert!(key("ed25519", "ed25519", public.into()).verifier().is_err());
            assert!(
                key("ecdsa", "ecdsa-sha2-nistp256", public.into())
                    .verifier()
                    .is_err()
            );
            assert!(
                key("rsa", "rsassa-pss-sha256", public.into())
                    .verifier()
                    .is_err()
            );
        }
    }

    #[test]
    fn der_lengths_are_bounded() {
        assert!(tlv(&[0x30, 0x84, 1, 2, 3, 4]).is_none());
        assert!(tlv(&[0x30, 0x05, 1]).is_none());
        assert_eq!(
            tlv(&[0x04, 0x01, 9, 8]),
            Some((0x04, &[9u8][..], &[8u8][..]))
        );
    }
}
