//! Hardware keys through PKCS#11 (YubiKey via ykcs11, SoftHSM2, HSMs):
//! ECDSA P-256 keys generated on or found on a token, named by RFC 7512
//! `pkcs11:` URIs. The private key is created sensitive and not
//! extractable, and signing happens on the token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use sha2::{Digest as _, Sha256};

use crate::keys::Key;
use crate::signer::{SignError, Signer, key, p256_pem};

/// DER of the prime256v1 OID, as CKA_EC_PARAMS wants it.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    #[error(
        "invalid pkcs11 URI {uri:?}: {reason} (e.g. pkcs11:token=clearance;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so)"
    )]
    Uri { uri: String, reason: String },
    #[error("PKCS#11 module {module}: {message}")]
    Module { module: PathBuf, message: String },
    #[error("no token labelled {token:?} (tokens present: {present})")]
    NoToken { token: String, present: String },
    #[error("no key {object:?} on token {token:?}")]
    NoKey { object: String, token: String },
    #[error("the pkcs11 URI for token {token:?} names no object (key label): add ;object=LABEL")]
    NoObject { token: String },
    #[error("token {token:?}: {message}")]
    Token { token: String, message: String },
}

/// A parsed `pkcs11:` URI: `token` and `object` in the path, and
/// `module-path`, `pin-value` or `pin-source` in the query. `object` (the
/// key's label) may be left out for the caller to choose one, as `trust`
/// does: a label per repository (review B-7).
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    pub token: String,
    pub object: Option<String>,
    pub module_path: Option<PathBuf>,
    pin_value: Option<String>,
    pub pin_source: Option<PathBuf>,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("module_path", &self.module_path)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "****"))
            .finish()
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| Pkcs11Error::Uri {
            uri: uri.split('?').next().unwrap_or("").to_owned(),
            reason: reason.to_owned(),
        };
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| fail("must start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut attrs = HashMap::new();
        for pair in path
            .split(';')
            .chain(query.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| fail("attributes are name=value"))?;
            attrs.insert(
                k.to_owned(),
                crate::client::unquote(v).ok_or_else(|| fail("bad percent-encoding"))?,
            );
        }
        Ok(Pkcs11Uri {
            token: attrs.remove("token").ok_or_else(|| fail("no token="))?,
            object: attrs.remove("object"),
            module_path: attrs.remove("module-path").map(PathBuf::from),
            pin_value: attrs.remove("pin-value"),
            pin_source: attrs.remove("pin-source").map(PathBuf::from),
        })
    }
}

impl Pkcs11Uri {
    /// The user PIN: `pin-value`, else the file named by `pin-source`.
    pub fn pin(&self) -> Result<Option<String>, Pkcs11Error> {
        if let Some(p) = &self.pin_value {
            return Ok(Some(p.clone()));
        }
        match &self.pin_source {
            Some(path) => std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|e| Pkcs11Error::Token {
                    token: self.token.clone(),
                    message: format!("reading pin-source {}: {e}", path.display()),
                }),
            None => Ok(None),
        }
    }
}

/// One initialised context per module for the whole process: PKCS#11
/// modules may be initialised once.
fn context(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    let err = |e: cryptoki::error::Error| Pkcs11Error::Module {
        module: module.to_owned(),
        message: e.to_string(),
    };
    let ctx = Pkcs11::new(module).map_err(err)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(e) if e.to_string().contains("AlreadyInitialized") => {}
        Err(e) => return Err(err(e)),
    }
    map.insert(module.to_owned(), ctx.clone());
    Ok(ctx)
}

/// A P-256 key on a token.
pub struct HsmSigner {
    session: Mutex<Session>,
    private: ObjectHandle,
    public: Key,
    key_id: String,
    uri: String,
    origin: KeyOrigin,
}

/// Whether a key was found on the token or made there just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The token already held it (it may root other repositories too).
    Found,
    Generated,
}

impl std::fmt::Debug for HsmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HsmSigner({})", self.uri)
    }
}

/// Whether to create the key when the token does not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    Generate,
    Fail,
}

impl HsmSigner {
    /// Log in to the token the URI names and find (or generate) its key.
    pub fn open(
        uri: &Pkcs11Uri,
        module: &Path,
        pin: &str,
        if_missing: IfMissing,
    ) -> Result<HsmSigner, Pkcs11Error> {
        let ctx = context(module)?;
        let token_err = |e: cryptoki::error::Error| Pkcs11Error::Token {
            token: uri.token.clone(),
            message: e.to_string(),
        };
        let mut present = Vec::new();
        let mut found = None;
        for slot in ctx.get_slots_with_token().map_err(token_err)? {
            let label = ctx
                .get_token_info(slot)
                .map_err(token_err)?
                .label()
                .trim()
                .to_owned();
            if label == uri.token {
                found = Some(slot);
                break;
            }
            if !label.is_empty() {
                present.push(label);
            }
        }
        let slot = found.ok_or_else(|| Pkcs11Error::NoToken {
            token: uri.token.clone(),
            present: if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        })?;
        let session = ctx.open_rw_session(slot).map_err(token_err)?;
        // Logins are per token for the whole process: a second key on the
        // same token (a root rotation from one token key to another) finds
        // the user logged in already.
        match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(token_err(e)),
        }
        let object = uri.object.clone().ok_or_else(|| Pkcs11Error::NoObject {
            token: uri.token.clone(),
        })?;
        let label = object.as_bytes().to_vec();
        let find = |class| {
            session
                .find_objects(&[Attribute::Class(class), Attribute::Label(label.clone())])
                .map_err(token_err)
        };
        let (public_handle, private, origin) = match (
            find(ObjectClass::PUBLIC_KEY)?.first(),
            find(ObjectClass::PRIVATE_KEY)?.first(),
        ) {
            (Some(p), Some(k)) => (*p, *k, KeyOrigin::Found),
            _ if if_missing == IfMissing::Generate => {
                let (p, k) = generate(&session, &label).map_err(token_err)?;
                (p, k, KeyOrigin::Generated)
            }
            _ => {
                return Err(Pkcs11Error::NoKey {
                    object,
                    token: uri.token.clone(),
                });
            }
        };
        let point = session
            .get_attributes(public_handle, &[AttributeType::EcPoint])
            .map_err(token_err)?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| Pkcs11Error::Token {
                token: uri.token.clone(),
                message: "the public key has no EC point".into(),
            })?;
        // CKA_EC_POINT is a DER OCTET STRING; some modules give the raw point.
        let raw = match point.as_slice() {
            [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest.to_vec(),
            p if p.len() == 65 && p[0] == 0x04 => p.to_vec(),
            _ => {
                return Err(Pkcs11Error::Token {
                    token: uri.token.clone(),
                    message: "the key is not a P-256 key".into(),
                });
            }
        };
        let public = key("ecdsa", "ecdsa-sha2-nistp256", p256_pem(&raw));
        Ok(HsmSigner {
            session: Mutex::new(session),
            private,
            key_id: public.key_id(),
            public,
            uri: format!("pkcs11:token={};object={object}", uri.token),
            origin,
        })
    }

    /// Whether the key was on the token already or generated by [`HsmSigner::open`].
    pub fn origin(&self) -> KeyOrigin {
        self.origin
    }

    /// Whether the private key is marked sensitive and never extractable.
    pub fn is_protected(&self) -> bool {
        let session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let attrs = session
            .get_attributes(
                self.private,
                &[AttributeType::Sensitive, AttributeType::Extractable],
            )
            .unwrap_or_default();
        let flag = |want: fn(&Attribute) -> Option<bool>| attrs.iter().find_map(want);
        flag(|a| match a {
            Attribute::Sensitive(b) => Some(*b),
            _ => None,
        }) == Some(true)
            && flag(|a| match a {
                Attribute::Extractable(b) => Some(*b),
                _ => None,
            }) == Some(false)
    }
}

fn generate(
    session: &Session,
    label: &[u8],
) -> cryptoki::error::Result<(ObjectHandle, ObjectHandle)> {
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Verify(true),
        Attribute::Label(label.to_vec()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label.to_vec()),
    ];
    session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
}

impl Signer for HsmSigner {
    fn public_key(&self) -> &Key {
        &self.public
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = Sha256::digest(message);
        let session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let raw = session
            .sign(&Mechanism::Ecdsa, self.private, &digest)
            .map_err(|e| SignError::Failed(format!("{}: {e}", self.uri)))?;
        ecdsa_der(&raw).ok_or_else(|| {
            SignError::Failed(format!(
                "{}: unexpected signature length {}",
                self.uri,
                raw.len()
            ))
        })
    }
}

/// PKCS#11 gives `r || s` (64 bytes for P-256); TUF and ring want DER.
fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    (raw.len() == 64)
        .then(|| crate::keys::ecdsa_fixed_to_der(raw))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris_and_hides_the_pin() {
        let u: Pkcs11Uri = "pkcs11:token=YubiKey%20PIV;object=root?module-path=/usr/lib/libykcs11.so&pin-value=123456"
            .parse()
            .unwrap();
        assert_eq!(
            (u.token.as_str(), u.object.as_deref()),
            ("YubiKey PIV", Some("root"))
        );
        assert_eq!(
            u.module_path.as_deref(),
            Some(Path::new("/usr/lib/libykcs11.so"))
        );
        assert_eq!(u.pin().unwrap().as_deref(), Some("123456"));
        assert!(!format!("{u:?}").contains("123456"));
        let bare: Pkcs11Uri = "pkcs11:token=t".parse().unwrap();
        assert_eq!(bare.object, None);
        for bad in ["pkcs11:object=x", "file:x", "pkcs11:token=%zz;object=x"] {
            assert!(bad.parse::<Pkcs11Uri>().is_err(), "{bad}");
        }
    }

    #[test]
    fn raw_signatures_become_der_that_ring_accepts_shape_of() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a leading zero
        raw[33] = 0x01; // s has leading zeros to strip
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(&der[..4], &[0x30, der.len() as u8 - 2, 0x02, 33]);
        assert_eq!(der[4], 0);
        assert!(ecdsa_der(&[0u8; 63]).is_none());
    }
}
