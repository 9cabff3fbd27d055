//! Notary's dialect of TUF, so repositories signed with Docker Content
//! Trust or the `notary` client (0.x) verify with the same client.
//!
//! Notary predates TUF 1.0. Its documents differ in form only, and are
//! translated here into the 1.0 model the client checks:
//!
//! | Notary | TUF 1.0 |
//! |---|---|
//! | `_type` `Root`, `Targets`, … | `root`, `targets`, … |
//! | no `spec_version` | checked as 1.0 |
//! | keys `ecdsa`, `rsa` (base64 DER), `ed25519` (base64), `*-x509` (a PEM certificate) | PEM SubjectPublicKeyInfo, hex ed25519, with a `scheme` |
//! | signatures base64, `method` `ecdsa` as raw r‖s | hex, ECDSA as ASN.1 DER |
//! | hashes base64 | hex |
//! | `meta` keyed `snapshot`, `targets/releases` | `snapshot.json`, `targets/releases.json` |
//! | `meta` without `version` (bound by hash) | `version` absent: the client checks hashes and keeps its own floors |
//! | delegation `paths` are prefixes, no `terminating` | `path_prefixes`, `terminating: false` |
//! | `expires` RFC 3339 with nanoseconds and any offset | whole seconds UTC, rounded down |
//!
//! The signatures are still checked over the canonical bytes of the
//! document as Notary signed it; only the model the checks read is
//! translated.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::keys::{ecdsa_fixed_to_der, hex_encode, pem_decode, spki_parts, spki_pem, tlv};
use crate::metadata::Signature;
use crate::schema::{RoleName, TopRole};
use crate::time::UtcTime;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// TUF 1.0: what Clearance writes.
    #[default]
    Tuf1,
    /// Notary 0.x (Docker Content Trust): verified, never written.
    Notary,
}

impl Dialect {
    /// The dialect of a document whose `signed._type` is `type_`, for a role
    /// whose TUF 1.0 type is `expected`'s name (`root`, `targets`, …);
    /// Notary capitalises it (`Root`).
    pub fn of(type_: &str, expected: TopRole) -> Option<Dialect> {
        if type_ == expected.name() {
            return Some(Dialect::Tuf1);
        }
        let mut chars = expected.name().chars();
        let capitalised: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        (type_ == capitalised).then_some(Dialect::Notary)
    }
}

const STD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Translate a Notary `signed` object into TUF 1.0 form.
pub fn translate_signed(mut signed: Map<String, Value>, role: TopRole) -> Result<Value, String> {
    // Fields Notary never writes would keep a TUF 1.0 meaning here that
    // Notary does not give them: refused rather than read two ways.
    if signed.contains_key("spec_version") {
        return Err("spec_version in a Notary document".into());
    }
    signed.insert("_type".into(), Value::String(role.name().to_owned()));
    signed.insert("spec_version".into(), Value::String("1.0.0".into()));
    let expires = signed
        .get("expires")
        .and_then(Value::as_str)
        .ok_or("no expires")?;
    let expires = UtcTime::parse_rfc3339(expires)
        .map_err(|e| format!("expires: {e}"))?
        .to_string();
    signed.insert("expires".into(), Value::String(expires));
    match role {
        TopRole::Root => {
            if let Some(Value::Object(keys)) = signed.get_mut("keys") {
                translate_keys(keys);
            }
        }
        TopRole::Timestamp | TopRole::Snapshot => {
            let Some(Value::Object(meta)) = signed.remove("meta") else {
                return Err("no meta object".into());
            };
            let mut out = Map::new();
            for (name, entry) in meta {
                out.insert(format!("{name}.json"), translate_file(entry, &name)?);
            }
            signed.insert("meta".into(), Value::Object(out));
        }
        TopRole::Targets => {
            if let Some(Value::Object(targets)) = signed.get_mut(TopRole::Targets.name()) {
                for (name, entry) in targets.iter_mut() {
                    *entry = translate_file(std::mem::take(entry), name)?;
                }
            }
            if let Some(Value::Object(delegations)) = signed.get_mut("delegations") {
                translate_delegations(delegations)?;
            }
        }
    }
    Ok(Value::Object(signed))
}

/// A signature entry: base64 → hex, ECDSA r‖s → DER. A signature that
/// cannot be decoded becomes one that verifies with no key.
pub fn translate_signature(keyid: &str, method: Option<&str>, sig: &str) -> Signature {
    let bytes = STD.decode(sig).unwrap_or_default();
    let bytes = match method {
        Some("ecdsa") => ecdsa_fixed_to_der(&bytes).unwrap_or_default(),
        _ => bytes,
    };
    Signature {
        keyid: keyid.to_owned(),
        sig: hex_encode(&bytes),
    }
}

fn translate_file(entry: Value, name: &str) -> Result<Value, String> {
    let Value::Object(mut entry) = entry else {
        return Err(format!("{name}: not an object"));
    };
    if let Some(Value::Object(hashes)) = entry.get_mut("hashes") {
        for (algorithm, value) in hashes.iter_mut() {
            let decoded = value
                .as_str()
                .and_then(|s| STD.decode(s).ok())
                .ok_or_else(|| format!("{name}: {algorithm} hash is not base64"))?;
            *value = Value::String(hex_encode(&decoded));
        }
    }
    Ok(Value::Object(entry))
}

fn translate_delegations(delegations: &mut Map<String, Value>) -> Result<(), String> {
    if delegations.contains_key("succinct_roles") {
        return Err("succinct_roles in a Notary document".into());
    }
    if let Some(Value::Object(keys)) = delegations.get_mut("keys") {
        translate_keys(keys);
    }
    if let Some(Value::Array(roles)) = delegations.get_mut("roles") {
        for role in roles {
            let Value::Object(role) = role else {
                return Err("a delegated role is not an object".into());
            };
            for field in ["terminating", "path_prefixes", "path_hash_prefixes"] {
                if role.contains_key(field) {
                    return Err(format!("{field} in a Notary delegation"));
                }
            }
            if let Some(paths) = role.remove("paths") {
                role.insert("path_prefixes".into(), paths);
            }
            role.insert("terminating".into(), Value::Bool(false));
        }
    }
    Ok(())
}

/// Keys Clearance cannot use keep their id but get a scheme no verifier
/// has, so only signatures by them fail to count.
fn translate_keys(keys: &mut Map<String, Value>) {
    for key in keys.values_mut() {
        let keytype = key
            .get("keytype")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let public = key
            .pointer("/keyval/public")
            .and_then(Value::as_str)
            .and_then(|p| STD.decode(p).ok());
        *key = public
            .and_then(|public| translate_key(&keytype, &public))
            .unwrap_or_else(|| {
                serde_json::json!({
                    "keytype": keytype,
                    "scheme": format!("notary-{keytype}"),
                    "keyval": {"public": ""},
                })
            });
    }
}

fn translate_key(keytype: &str, public: &[u8]) -> Option<Value> {
    let (keytype, public) = match keytype {
        "ed25519" => {
            return (public.len() == 32).then(|| {
                serde_json::json!({
                    "keytype": "ed25519",
                    "scheme": "ed25519",
                    "keyval": {"public": hex_encode(public)},
                })
            });
        }
        "ecdsa" | "rsa" => (keytype, public.to_vec()),
        "ecdsa-x509" => ("ecdsa", certificate_pem_spki(public)?),
        "rsa-x509" => ("rsa", certificate_pem_spki(public)?),
        _ => return None,
    };
    let (_, params, _) = spki_parts(&public)?;
    let scheme = match (keytype, params) {
        ("rsa", _) => "rsassa-pss-sha256",
        ("ecdsa", crate::keys::OID_P256) => "ecdsa-sha2-nistp256",
        ("ecdsa", crate::keys::OID_P384) => "ecdsa-sha2-nistp384",
        _ => return None,
    };
    Some(serde_json::json!({
        "keytype": keytype,
        "scheme": scheme,
        "keyval": {"public": spki_pem(&public)},
    }))
}

/// `targets/releases`: the delegated role Docker Content Trust signs tags
/// with, and the only one (beside targets) whose tags it trusts.
pub fn releases_role() -> RoleName {
    RoleName::from_checked(format!("{}/releases", TopRole::Targets.name()))
}

/// The URL path of a delegated role (`targets/releases`): Notary serves it
/// unquoted, one path segment per level. `None` for a name Notary itself
/// would refuse (empty or dot segments, spaces, anything outside `targets/`).
pub fn role_path(role: &RoleName) -> Option<String> {
    let top = TopRole::Targets.name();
    let mut segments = role.as_str().split('/');
    if segments.next() != Some(top) {
        return None;
    }
    let mut path = top.to_owned();
    for segment in segments {
        if segment.is_empty()
            || segment == "."
            || segment == ".."
            || !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return None;
        }
        path.push('/');
        path.push_str(segment);
    }
    Some(path)
}

fn certificate_pem_spki(pem: &[u8]) -> Option<Vec<u8>> {
    let der = pem_decode(std::str::from_utf8(pem).ok()?)?;
    certificate_spki(&der).map(<[u8]>::to_vec)
}

/// The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1),
/// header included. Notary's root keys are self-signed certificates whose
/// validity TUF's own `expires` already bounds.
pub fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (0x30, certificate, _) = tlv(der)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(certificate)? else {
        return None;
    };
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2; // [0] version
    }
    // serialNumber, signature, issuer, validity, subject
    for tag in [0x02, 0x30, 0x30, 0x30, 0x30] {
        let (found, _, rest) = tlv(tbs)?;
        if found != tag {
            return None;
        }
        tbs = rest;
    }
    let (0x30, _, rest) = tlv(tbs)? else {
        return None;
    };
    Some(&tbs[..tbs.len() - rest.len()])
}

#[cfg(test)]
mod tests;
