//! Writing metadata: build roles, sign their canonical bytes, and describe
//! signed files for snapshot and timestamp (`meta` entries with version,
//! length and hashes).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::keys::hex_encode;
use crate::schema::{Common, MetaFile, Role, SPEC_VERSION, TopRole, Version};
use crate::signer::{SignError, Signer};
use crate::time::UtcTime;

/// Why a role could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A signer failed (a token removed, a key refused).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The role could not be turned into (canonical) JSON.
    #[error("cannot serialise metadata: {0}")]
    Serialize(String),
}

/// The common fields of a new version of a role of form `form` (delegated
/// roles and hash bins have the form of targets).
pub fn common(form: TopRole, version: Version, expires: UtcTime) -> Common {
    Common {
        type_: form.name().to_owned(),
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires,
    }
}

/// Sign a role with each signer, producing the document's bytes
/// (`{"signatures": […], "signed": {…}}`). The signatures cover the
/// canonical form of `signed`; the document itself is ordinary compact JSON,
/// since canonical JSON leaves control characters (the newlines of a PEM
/// key) unescaped, which JSON parsers refuse.
pub fn sign<T: Role>(signed: &T, signers: &[&dyn Signer]) -> Result<Vec<u8>, EditError> {
    let canonical =
        crate::cjson::to_canonical(signed).map_err(|e| EditError::Serialize(e.to_string()))?;
    let mut signatures = Vec::with_capacity(signers.len());
    for s in signers {
        signatures.push(SignatureOut {
            keyid: s.key_id(),
            sig: hex_encode(&s.sign(&canonical)?),
        });
    }
    let doc = Document { signatures, signed };
    serde_json::to_vec(&doc).map_err(|e| EditError::Serialize(e.to_string()))
}

#[derive(Serialize)]
struct SignatureOut {
    keyid: String,
    sig: String,
}

#[derive(Serialize)]
struct Document<'a, T> {
    signatures: Vec<SignatureOut>,
    signed: &'a T,
}

/// A `meta` entry describing signed bytes: version, length and sha256.
pub fn meta_for(version: Version, bytes: &[u8]) -> MetaFile {
    MetaFile {
        version: Some(version),
        length: Some(bytes.len() as u64),
        hashes: Some(BTreeMap::from([(
            "sha256".to_owned(),
            clearance_oci::Digest::sha256_of(bytes).hex().to_owned(),
        )])),
        extra: BTreeMap::new(),
    }
}

/// A `meta` entry with the version only (what snapshot lists for targets
/// roles unless hashes are wanted).
pub fn meta_version(version: Version) -> MetaFile {
    MetaFile {
        version: Some(version),
        length: None,
        hashes: None,
        extra: BTreeMap::new(),
    }
}
