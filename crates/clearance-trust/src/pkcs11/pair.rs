//! Which key on a token is used (review B-8): one private key per label,
//! paired with its public key by `CKA_ID`, ECDSA P-256, and never able to
//! have left the token.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use super::{KeyProblem, P256_PARAMS};

/// The private key labelled `label` and the public key with its `CKA_ID`
/// (B-8: never the first public key that happens to carry the label).
/// `Ok(None)` when no private key has the label.
pub(super) fn find_pair(
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
pub(super) fn check_key(
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
pub(super) fn protection(
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
