//! Hardware keys through PKCS#11 (YubiKey via ykcs11, SoftHSM2, HSMs):
//! ECDSA P-256 keys generated on or found on a token, named by RFC 7512
//! `pkcs11:` URIs. The private key is created sensitive and not
//! extractable, and signing happens on the token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use sha2::{Digest as _, Sha256};

use crate::keys::Key;
use crate::signer::{SignError, Signer, key, p256_pem};

mod pair;
mod uri;

use pair::{check_key, find_pair, protection};
pub use uri::Pkcs11Uri;

/// DER of the prime256v1 OID, as CKA_EC_PARAMS wants it.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Why a key on a token could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// Not a `pkcs11:` URI this client reads (RFC 7512).
    #[error(
        "invalid pkcs11 URI {uri:?}: {reason} (e.g. pkcs11:token=clearance;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so)"
    )]
    Uri {
        /// The URI, without its PIN.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {message}")]
    Module {
        /// The module's path.
        module: PathBuf,
        /// The module's reason.
        message: String,
    },
    /// No token has that label.
    #[error("no token labelled {token:?} (tokens present: {present})")]
    NoToken {
        /// The label asked for.
        token: String,
        /// The labels present.
        present: String,
    },
    /// The token holds no key of that label.
    #[error("no key {object:?} on token {token:?}")]
    NoKey {
        /// The key's label.
        object: String,
        /// The token's label.
        token: String,
    },
    /// The URI names no key label, and the caller gave none.
    #[error("the pkcs11 URI for token {token:?} names no object (key label): add ;object=LABEL")]
    NoObject {
        /// The token's label.
        token: String,
    },
    /// The key found is refused (review B-8).
    #[error("key {object:?} on token {token:?} is refused: {problem}")]
    Key {
        /// The key's label.
        object: String,
        /// The token's label.
        token: String,
        /// Why.
        problem: KeyProblem,
    },
    /// The token refused the user PIN (wrong, malformed, or locked after
    /// too many wrong ones).
    #[error(
        "the token {token:?} refused the PIN ({code}): check CLEARANCE_PKCS11_PIN, or the URI's pin-value / pin-source, or what was typed at the prompt; the token locks its PIN after a few wrong ones"
    )]
    PinRefused {
        /// The token's label.
        token: String,
        /// The PKCS#11 return code (`CKR_PIN_INCORRECT`, …).
        code: &'static str,
    },
    /// The token's user PIN is locked (too many wrong PINs).
    #[error(
        "the token {token:?} has locked its user PIN (CKR_PIN_LOCKED, after too many wrong PINs): reset it with the security officer PIN (softhsm2-util, ykman piv access unblock-pin, …)"
    )]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// The token refused an operation (log in, sign, generate).
    #[error("token {token:?}: {message}")]
    Token {
        /// The token's label.
        token: String,
        /// The module's reason.
        message: String,
    },
}

/// Why a key found on a token is not used (review B-8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// Several private keys carry the label (how many).
    #[error("{0} private keys carry that label; give each key its own label")]
    Ambiguous(usize),
    /// No public key pairs with the private key by `CKA_ID`.
    #[error("no public key has the private key's CKA_ID")]
    NoPublicKey,
    /// Several public keys share its `CKA_ID` (how many).
    #[error("{0} public keys share the private key's CKA_ID")]
    AmbiguousPublic(usize),
    /// Not an ECDSA P-256 key.
    #[error("it is not an ECDSA P-256 key")]
    NotP256,
    /// Not always sensitive, or once extractable (which attribute).
    #[error("it may have left the token: {0} (a key imported or once extractable is refused)")]
    MayLeaveToken(&'static str),
    /// The public key does not verify the private key's signature.
    #[error("its public key does not verify what the private key signs")]
    PairMismatch,
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
    /// The token's label.
    token: String,
    /// The key's label on the token (`CKA_LABEL`).
    object: String,
    origin: KeyOrigin,
}

/// Whether a key was found on the token or made there just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The token already held it (it may root other repositories too).
    Found,
    /// Made on the token just now.
    Generated,
}

impl std::fmt::Debug for HsmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HsmSigner(pkcs11:token={};object={})",
            self.token, self.object
        )
    }
}

/// Whether to create the key when the token does not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Generate it on the token (`trust init`, a root rotation).
    Generate,
    /// Fail: the key must exist.
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
            Err(cryptoki::error::Error::Pkcs11(rv, _)) if pin_refused(rv).is_some() => {
                return Err(Pkcs11Error::PinRefused {
                    token: uri.token.clone(),
                    code: pin_refused(rv).unwrap_or_default(),
                });
            }
            Err(cryptoki::error::Error::Pkcs11(RvError::PinLocked, _)) => {
                return Err(Pkcs11Error::PinLocked {
                    token: uri.token.clone(),
                });
            }
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
            token: uri.token.clone(),
            object: object.clone(),
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

    /// The key for people: `token LABEL, key LABEL` (what `trust init`
    /// and `trust rotate` print; the key id is shown beside it).
    pub fn label(&self) -> String {
        format!("token {}, key {}", self.token, self.object)
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
            .map_err(|e| SignError::Failed(format!("{}: {e}", self.label())))?;
        ecdsa_der(&raw).ok_or_else(|| {
            SignError::Failed(format!(
                "{}: unexpected signature length {}",
                self.label(),
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

/// The return code's name when a login failed on the PIN itself (PKCS#11
/// 3.0 §5.1: `C_Login`), not on the token.
fn pin_refused(rv: RvError) -> Option<&'static str> {
    match rv {
        RvError::PinIncorrect => Some("CKR_PIN_INCORRECT"),
        RvError::PinInvalid => Some("CKR_PIN_INVALID"),
        RvError::PinLenRange => Some("CKR_PIN_LEN_RANGE"),
        RvError::PinExpired => Some("CKR_PIN_EXPIRED"),
        _ => None,
    }
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
