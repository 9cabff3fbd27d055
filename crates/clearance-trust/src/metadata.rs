//! Signed metadata documents: parsing the envelope, the canonical bytes the
//! signatures cover, and checking a threshold of distinct keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::keys::{Key, hex_decode};
use crate::notary::{self, Dialect};
use crate::schema::{Role, RoleName, Validate};

/// Why a document is not acceptable metadata of its role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not JSON.
    #[error("{role} metadata is not valid JSON: {message}")]
    Json {
        /// The role it was read as.
        role: RoleName,
        /// The JSON parser's reason.
        message: String,
    },
    /// JSON, but not this role's structure (TUF 1.0 §4), or a rule the
    /// structure breaks (`Validate`: thresholds, role names, …).
    #[error("{role} metadata is malformed: {message}")]
    Malformed {
        /// The role it was read as.
        role: RoleName,
        /// What is wrong.
        message: String,
    },
    /// Two signatures carry one key id (§4.1: the signatures counted are
    /// those of distinct keys).
    #[error("{role} metadata has two signatures with keyid {keyid}")]
    DuplicateSignature {
        /// The role.
        role: RoleName,
        /// The key id signed twice.
        keyid: String,
    },
    /// Notary's form where only TUF 1.0 is taken (to store or re-sign).
    #[error(
        "{role} metadata is in Notary's form: Clearance verifies Notary repositories but writes TUF 1.0 only; start a Clearance repository with `clearance trust init`"
    )]
    NotaryForm {
        /// The role.
        role: RoleName,
    },
    /// Fewer valid signatures of distinct keys than the threshold (5.3.4,
    /// 5.4.2, 5.5.3, 5.6.3).
    #[error("{role} metadata is signed by {valid} of the {threshold} keys it needs")]
    ThresholdNotMet {
        /// The role.
        role: RoleName,
        /// Distinct keys whose signatures verify.
        valid: usize,
        /// Keys needed.
        threshold: u64,
    },
}

/// One entry of `signatures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key id that signed.
    pub keyid: String,
    /// The signature, hex (Notary's base64 translated).
    pub sig: String,
}

/// A parsed document: the typed role, the canonical bytes of `signed`, the
/// signatures and the bytes exactly as received (what gets persisted).
#[derive(Debug, Clone)]
pub struct Signed<T> {
    /// The role's content (Notary's form translated to TUF 1.0's).
    pub signed: T,
    /// The OLPC canonical JSON of `signed` as written: what the signatures
    /// cover.
    pub canonical: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<Signature>,
    /// The document exactly as received.
    pub raw: Vec<u8>,
    /// TUF 1.0, or Notary's older form (translated on parsing).
    pub dialect: Dialect,
}

impl<T: Role + Validate> Signed<T> {
    /// Parse and structurally check a document of role type `T`; `role`
    /// names it in errors (a delegated role's name, or the top-level name).
    pub fn parse(raw: &[u8], role: &RoleName) -> Result<Signed<T>, MetadataError> {
        let malformed = |message: String| MetadataError::Malformed {
            role: role.clone(),
            message,
        };
        let doc: Value = serde_json::from_slice(raw).map_err(|e| MetadataError::Json {
            role: role.clone(),
            message: e.to_string(),
        })?;
        let Value::Object(mut doc) = doc else {
            return Err(malformed("not a JSON object".into()));
        };
        let signed_value = doc
            .remove("signed")
            .ok_or_else(|| malformed("no \"signed\"".into()))?;
        let Some(Value::Array(sigs)) = doc.remove("signatures") else {
            return Err(malformed("no \"signatures\" array".into()));
        };
        let dialect = signed_value
            .get("_type")
            .and_then(Value::as_str)
            .and_then(|t| Dialect::of(t, T::TOP))
            .ok_or_else(|| malformed(format!("_type is not {:?}", T::TYPE)))?;
        let mut signatures = Vec::with_capacity(sigs.len());
        let mut seen = BTreeSet::new();
        for s in sigs {
            let keyid = s.get("keyid").and_then(Value::as_str);
            let sig = s.get("sig").and_then(Value::as_str);
            let (Some(keyid), Some(sig)) = (keyid, sig) else {
                return Err(malformed("a signature lacks keyid or sig".into()));
            };
            if !seen.insert(keyid.to_owned()) {
                return Err(MetadataError::DuplicateSignature {
                    role: role.clone(),
                    keyid: keyid.to_owned(),
                });
            }
            signatures.push(match dialect {
                Dialect::Tuf1 => Signature {
                    keyid: keyid.to_owned(),
                    sig: sig.to_owned(),
                },
                Dialect::Notary => {
                    notary::translate_signature(keyid, s.get("method").and_then(Value::as_str), sig)
                }
            });
        }
        // The signatures cover the document as written, in either dialect.
        let canonical =
            crate::cjson::to_canonical(&signed_value).map_err(|e| malformed(e.to_string()))?;
        let signed_value = match (dialect, signed_value) {
            (Dialect::Tuf1, v) => v,
            (Dialect::Notary, Value::Object(map)) => {
                notary::translate_signed(map, T::TOP).map_err(malformed)?
            }
            (Dialect::Notary, _) => return Err(malformed("\"signed\" is not an object".into())),
        };
        let signed: T =
            serde_json::from_value(signed_value).map_err(|e| malformed(e.to_string()))?;
        signed.validate(dialect).map_err(malformed)?;
        Ok(Signed {
            signed,
            canonical,
            signatures,
            raw: raw.to_vec(),
            dialect,
        })
    }

    /// As [`Signed::parse`], for metadata Clearance will sign again or
    /// store as its own: TUF 1.0 only.
    pub fn parse_tuf1(raw: &[u8], role: &RoleName) -> Result<Signed<T>, MetadataError> {
        let parsed = Self::parse(raw, role)?;
        match parsed.dialect {
            Dialect::Tuf1 => Ok(parsed),
            Dialect::Notary => Err(MetadataError::NotaryForm { role: role.clone() }),
        }
    }

    /// Check that a threshold of distinct keys among `keyids` signed this.
    /// A key signing twice, or listed under two ids, counts once; bad or
    /// unverifiable signatures simply do not count.
    pub fn verify(
        &self,
        keys: &BTreeMap<String, Key>,
        keyids: &[String],
        threshold: u64,
        role: &RoleName,
    ) -> Result<(), MetadataError> {
        let mut signers: BTreeSet<Vec<u8>> = BTreeSet::new();
        for keyid in keyids {
            let Some(key) = keys.get(keyid) else { continue };
            let Some(sig) = self.signatures.iter().find(|s| &s.keyid == keyid) else {
                continue;
            };
            let (Ok(verifier), Some(bytes)) = (key.verifier(), hex_decode(&sig.sig)) else {
                continue;
            };
            if verifier.verify(&self.canonical, &bytes) {
                signers.insert(verifier.public_bytes().to_vec());
            } else {
                tracing::debug!(%role, keyid, "signature does not verify");
            }
        }
        if (signers.len() as u64) < threshold {
            return Err(MetadataError::ThresholdNotMet {
                role: role.clone(),
                valid: signers.len(),
                threshold,
            });
        }
        Ok(())
    }

    /// The role's version.
    pub fn version(&self) -> crate::schema::Version {
        self.signed.common().version
    }
}
