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
    #[error("key {object:?} on token {token:?} is refused: {problem}")]
    Key {
        object: String,
        token: String,
        problem: KeyProblem,
    },
    #[error("token {token:?}: {message}")]
    Token { token: String, message: String },
}

/// Why a key found on a token is not used (review B-8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("{0} private keys carry that label; give each key its own label")]
    Ambiguous(usize),
    #[error("no public key has the private key's CKA_ID")]
    NoPublicKey,
    #[error("{0} public keys share the private key's CKA_ID")]
    AmbiguousPublic(usize),
    #[error("it is not an ECDSA P-256 key")]
    NotP256,
    #[error("it may have left the token: {0} (a key imported or once extractable is refused)")]
    MayLeaveToken(&'static str),
    #[error("its public key does not verify what the private key signs")]
    PairMismatch,
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
        // Initialised by someone else in this process: usable as it is.
        Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
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
        let refused = |problem| Pkcs11Error::Key {
            object: object.clone(),
            token: uri.token.clone(),
            problem,
        };
        let (public_handle, private, origin) =
            match find_pair(&session, &label).map_err(token_err)? {
                Ok(Some((p, k))) => (p, k, KeyOrigin::Found),
                Ok(None) if if_missing == IfMissing::Generate => {
                    let (p, k) = generate(&session, &label).map_err(token_err)?;
                    (p, k, KeyOrigin::Generated)
                }
                Ok(None) => {
                    return Err(Pkcs11Error::NoKey {
                        object,
                        token: uri.token.clone(),
                    });
                }
                Err(problem) => return Err(refused(problem)),
            };
        let raw = check_key(&session, public_handle, private)
            .map_err(token_err)?
            .map_err(refused)?;
        let public = key("ecdsa", "ecdsa-sha2-nistp256", p256_pem(&raw));
        let signer = HsmSigner {
            session: Mutex::new(session),
            private,
            key_id: public.key_id(),
            public,
            uri: format!("pkcs11:token={};object={object}", uri.token),
            origin,
        };
        // The pair proven on the token: what it signs, its public key verifies.
        let challenge = b"clearance: does this private key match its public key?";
        let verifies = signer.sign(challenge).ok().is_some_and(|sig| {
            signer
                .public
                .verifier()
                .is_ok_and(|v| v.verify(challenge, &sig))
        });
        if !verifies {
            return Err(refused(KeyProblem::PairMismatch));
        }
        Ok(signer)
    }

    /// Whether the key was on the token already or generated by [`HsmSigner::open`].
    pub fn origin(&self) -> KeyOrigin {
        self.origin
    }

    /// Whether the private key is sensitive and not extractable, and always
    /// was (`CKA_ALWAYS_SENSITIVE`, `CKA_NEVER_EXTRACTABLE`): it was made on
    /// the token and has never left it. [`HsmSigner::open`] refuses others.
    pub fn is_protected(&self) -> bool {
        let session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        protection(&session, self.private).is_ok_and(|p| p.is_none())
    }
}

/// The private key labelled `label` and the public key with its `CKA_ID`
/// (B-8: never the first public key that happens to carry the label).
/// `Ok(None)` when no private key has the label.
fn find_pair(
    session: &Session,
    label: &[u8],
) -> cryptoki::error::Result<Result<Option<(ObjectHandle, ObjectHandle)>, KeyProblem>> {
    let privates = session.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::Label(label.to_vec()),
    ])?;
    let private = match privates.as_slice() {
        [] => return Ok(Ok(None)),
        [one] => *one,
        many => return Ok(Err(KeyProblem::Ambiguous(many.len()))),
    };
    let id = session
        .get_attributes(private, &[AttributeType::Id])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::Id(id) => Some(id),
            _ => None,
        })
        .unwrap_or_default();
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::Id(id.clone()),
    ];
    if id.is_empty() {
        // A pair made without an id (as Clearance once did): the label too.
        template.push(Attribute::Label(label.to_vec()));
    }
    Ok(match session.find_objects(&template)?.as_slice() {
        [] => Err(KeyProblem::NoPublicKey),
        [public] => Ok(Some((*public, private))),
        many => Err(KeyProblem::AmbiguousPublic(many.len())),
    })
}

/// Both halves ECDSA P-256, the private one never out of the token; the
/// public key's raw point (`04 || x || y`).
fn check_key(
    session: &Session,
    public: ObjectHandle,
    private: ObjectHandle,
) -> cryptoki::error::Result<Result<Vec<u8>, KeyProblem>> {
    let attrs = session.get_attributes(
        public,
        &[
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::EcPoint,
        ],
    )?;
    let private_type = session.get_attributes(private, &[AttributeType::KeyType])?;
    let is_ec = |attrs: &[Attribute]| {
        attrs
            .iter()
            .any(|a| matches!(a, Attribute::KeyType(t) if *t == KeyType::EC))
    };
    let p256 = attrs
        .iter()
        .any(|a| matches!(a, Attribute::EcParams(p) if p.as_slice() == P256_PARAMS));
    if !(is_ec(&attrs) && is_ec(&private_type) && p256) {
        return Ok(Err(KeyProblem::NotP256));
    }
    if let Some(problem) = protection(session, private)? {
        return Ok(Err(problem));
    }
    let point = attrs.into_iter().find_map(|a| match a {
        Attribute::EcPoint(p) => Some(p),
        _ => None,
    });
    // CKA_EC_POINT is a DER OCTET STRING; some modules give the raw point.
    Ok(match point.as_deref() {
        Some([0x04, 0x41, rest @ ..]) if rest.len() == 65 => Ok(rest.to_vec()),
        Some(p) if p.len() == 65 && p[0] == 0x04 => Ok(p.to_vec()),
        _ => Err(KeyProblem::NotP256),
    })
}

/// What, if anything, lets a private key leave (or have left) the token.
fn protection(
    session: &Session,
    private: ObjectHandle,
) -> cryptoki::error::Result<Option<KeyProblem>> {
    let attrs = session.get_attributes(
        private,
        &[
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::AlwaysSensitive,
            AttributeType::NeverExtractable,
        ],
    )?;
    let flag = |want: fn(&Attribute) -> Option<bool>| attrs.iter().find_map(want);
    let checks: [(Option<bool>, bool, &'static str); 4] = [
        (
            flag(|a| match a {
                Attribute::Sensitive(b) => Some(*b),
                _ => None,
            }),
            true,
            "not sensitive",
        ),
        (
            flag(|a| match a {
                Attribute::Extractable(b) => Some(*b),
                _ => None,
            }),
            false,
            "extractable",
        ),
        (
            flag(|a| match a {
                Attribute::AlwaysSensitive(b) => Some(*b),
                _ => None,
            }),
            true,
            "not always sensitive (CKA_ALWAYS_SENSITIVE)",
        ),
        (
            flag(|a| match a {
                Attribute::NeverExtractable(b) => Some(*b),
                _ => None,
            }),
            true,
            "once extractable (CKA_NEVER_EXTRACTABLE)",
        ),
    ];
    Ok(checks
        .into_iter()
        .find(|(got, want, _)| *got != Some(*want))
        .map(|(_, _, why)| KeyProblem::MayLeaveToken(why)))
}

fn generate(
    session: &Session,
    label: &[u8],
) -> cryptoki::error::Result<(ObjectHandle, ObjectHandle)> {
    // A random CKA_ID on both halves pairs them (B-8).
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
        .map_err(|_| cryptoki::error::Error::InvalidValue)?;
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Verify(true),
        Attribute::Label(label.to_vec()),
        Attribute::Id(id.to_vec()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label.to_vec()),
        Attribute::Id(id.to_vec()),
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
