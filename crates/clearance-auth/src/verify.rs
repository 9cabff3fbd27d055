//! Checking bearer tokens: size, algorithm, key id, signature, issuer,
//! audience and validity window, in that order.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

use crate::key::{KeyError, TokenKey, key_id_of};
use crate::time::now_unix;
use crate::token::{ALGORITHM, Claims, Header, TokenError};

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Verifies tokens signed by one key for one issuer and service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    public_key: UnparsedPublicKey<Vec<u8>>,
    key_id: String,
    issuer: String,
    service: String,
}

impl TokenVerifier {
    /// A verifier for an uncompressed P-256 public key (65 bytes, `04 || x || y`).
    pub fn new(
        public_key: &[u8],
        issuer: impl Into<String>,
        service: impl Into<String>,
    ) -> Result<TokenVerifier, KeyError> {
        if public_key.len() != 65 || public_key.first() != Some(&0x04) {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(TokenVerifier::from_parts(
            public_key,
            issuer.into(),
            service.into(),
        ))
    }

    /// A verifier for tokens signed by `key`.
    pub fn for_key(
        key: &TokenKey,
        issuer: impl Into<String>,
        service: impl Into<String>,
    ) -> TokenVerifier {
        TokenVerifier::from_parts(key.public_key(), issuer.into(), service.into())
    }

    fn from_parts(public_key: &[u8], issuer: String, service: String) -> TokenVerifier {
        TokenVerifier {
            inner: Arc::new(Inner {
                public_key: UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key.to_vec()),
                key_id: key_id_of(public_key),
                issuer,
                service,
            }),
        }
    }

    /// The key id tokens must carry.
    pub fn key_id(&self) -> &str {
        &self.inner.key_id
    }

    /// Checks `token` against the current time.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, now_unix())
    }

    /// Checks `token` as if it were `now` (Unix seconds).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = serde_json::from_slice(&decode(header_b64, "header")?)
            .map_err(|_| TokenError::Header)?;
        // RFC 8725 3.1: accept only the algorithm we issue, never `none`.
        if header.alg != ALGORITHM {
            return Err(TokenError::Algorithm);
        }
        if header.kid.as_deref() != Some(self.inner.key_id.as_str()) {
            return Err(TokenError::KeyId {
                expected: self.inner.key_id.clone(),
            });
        }
        let signature = decode(signature_b64, "signature")?;
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
        self.inner
            .public_key
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = serde_json::from_slice(&decode(claims_b64, "claims")?)
            .map_err(|_| TokenError::Claims)?;
        self.check_claims(&claims, now)?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &Claims, now: u64) -> Result<(), TokenError> {
        if claims.iss != self.inner.issuer {
            return Err(TokenError::Issuer {
                expected: self.inner.issuer.clone(),
            });
        }
        if claims.aud != self.inner.service {
            return Err(TokenError::Audience {
                expected: self.inner.service.clone(),
            });
        }
        if now > claims.exp.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if claims.nbf > now.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::NotYetValid {
                nbf: claims.nbf,
                now,
            });
        }
        Ok(())
    }
}

fn decode(part: &str, name: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Encoding { part: name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::RepositoryName;
    use crate::scope::{Action, GrantedScope};
    use crate::token::TokenIssuer;
    use std::time::Duration;

    const NOW: u64 = 1_700_000_000;

    fn issuer(ttl: u64) -> TokenIssuer {
        TokenIssuer::new(
            TokenKey::generate().unwrap(),
            "clearance",
            "registry.example",
            Duration::from_secs(ttl),
        )
    }

    fn pull(repo: &str) -> Vec<GrantedScope> {
        vec![GrantedScope {
            repository: RepositoryName::parse(repo).unwrap(),
            actions: [Action::Pull].into(),
        }]
    }

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    /// Replaces one part of a token.
    fn with_part(token: &str, index: usize, part: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[index] = part;
        parts.join(".")
    }

    fn claims_of(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn round_trip() {
        let issuer = issuer(300);
        let token = issuer
            .issue_at(Some("alice"), &pull("team/app"), NOW)
            .unwrap()
            .token;
        let claims = issuer.verifier().verify_at(&token, NOW + 10).unwrap();
        assert_eq!(claims.subject(), Some("alice"));
        assert!(claims.allows("team/app", Action::Pull));
        assert!(!claims.allows("team/app", Action::Push));
        let live = issuer.issue(None, &[]).unwrap().token;
        assert_eq!(issuer.verifier().verify(&live).unwrap().subject(), None);
    }

    #[test]
    fn a_verifier_built_from_the_public_key_agrees() {
        let issuer = issuer(300);
        let verifier =
            TokenVerifier::new(issuer.key.public_key(), "clearance", "registry.example").unwrap();
        assert_eq!(verifier.key_id(), issuer.key.key_id());
        let token = issuer.issue_at(None, &pull("x"), NOW).unwrap().token;
        assert!(verifier.verify_at(&token, NOW).is_ok());
        assert!(TokenVerifier::new(&[4; 64], "i", "s").is_err());
    }

    #[test]
    fn tampered_claims_are_refused() {
        let issuer = issuer(300);
        let token = issuer
            .issue_at(Some("alice"), &pull("team/app"), NOW)
            .unwrap()
            .token;
        let mut claims = claims_of(&token);
        claims["access"][0]["actions"] = serde_json::json!(["pull", "push"]);
        let forged = with_part(&token, 1, &b64(&claims));
        let err = issuer.verifier().verify_at(&forged, NOW).unwrap_err();
        assert_eq!(err, TokenError::Signature);
    }

    #[test]
    fn tokens_of_another_key_issuer_or_service_are_refused() {
        let ours = issuer(300);
        let theirs = issuer(300);
        let token = theirs.issue_at(None, &pull("x"), NOW).unwrap().token;
        let err = ours.verifier().verify_at(&token, NOW).unwrap_err();
        assert!(matches!(err, TokenError::KeyId { .. }), "{err}");

        // Their signature under our key id still fails.
        let header = b64(&serde_json::json!({"alg": "ES256", "kid": ours.key.key_id()}));
        let relabelled = with_part(&token, 0, &header);
        assert_eq!(
            ours.verifier().verify_at(&relabelled, NOW),
            Err(TokenError::Signature)
        );

        let token = ours.issue_at(None, &pull("x"), NOW).unwrap().token;
        let other_issuer = TokenVerifier::for_key(&ours.key, "someone-else", "registry.example");
        let err = other_issuer.verify_at(&token, NOW).unwrap_err();
        assert!(matches!(err, TokenError::Issuer { .. }), "{err}");
        let other_service = TokenVerifier::for_key(&ours.key, "clearance", "trust.example");
        let err = other_service.verify_at(&token, NOW).unwrap_err();
        assert_eq!(
            err,
            TokenError::Audience {
                expected: "trust.example".into()
            }
        );
    }

    #[test]
    fn expiry_and_not_before_allow_a_minute_of_skew() {
        let issuer = issuer(0);
        let verifier = issuer.verifier();
        let token = issuer.issue_at(None, &pull("x"), NOW).unwrap().token;
        assert!(verifier.verify_at(&token, NOW + LEEWAY_SECS).is_ok());
        let err = verifier
            .verify_at(&token, NOW + LEEWAY_SECS + 1)
            .unwrap_err();
        assert!(matches!(err, TokenError::Expired { exp: NOW, .. }), "{err}");
        assert!(verifier.verify_at(&token, NOW - LEEWAY_SECS).is_ok());
        let err = verifier
            .verify_at(&token, NOW - LEEWAY_SECS - 1)
            .unwrap_err();
        assert!(
            matches!(err, TokenError::NotYetValid { nbf: NOW, .. }),
            "{err}"
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let issuer = issuer(300);
        let verifier = issuer.verifier();
        let token = issuer.issue_at(None, &pull("x"), NOW).unwrap().token;
        let kid = issuer.key.key_id();
        for alg in ["none", "HS256", "ES384", "es256"] {
            let header = b64(&serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid}));
            let unsigned = format!(
                "{}.",
                with_part(&token, 0, &header).rsplit_once('.').unwrap().0
            );
            assert_eq!(
                verifier.verify_at(&unsigned, NOW),
                Err(TokenError::Algorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn malformed_and_oversized_tokens_are_refused() {
        let issuer = issuer(300);
        let verifier = issuer.verifier();
        let token = issuer.issue_at(None, &pull("x"), NOW).unwrap().token;
        let huge = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
        let err = verifier.verify_at(&huge, NOW).unwrap_err();
        assert!(matches!(err, TokenError::TooLong { .. }));
        assert!(!err.to_string().contains(&token[..20]));
        for bad in ["", "a.b", "a.b.c.d", &format!("{token}.x")] {
            assert_eq!(
                verifier.verify_at(bad, NOW),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
        let padded = with_part(
            &token,
            2,
            &format!("{}=", token.rsplit('.').next().unwrap()),
        );
        assert!(matches!(
            verifier.verify_at(&padded, NOW),
            Err(TokenError::Encoding { part: "signature" })
        ));
        let garbage_header = with_part(&token, 0, "e30"); // {}
        assert_eq!(
            verifier.verify_at(&garbage_header, NOW),
            Err(TokenError::Header)
        );
        let no_kid = with_part(&token, 0, &b64(&serde_json::json!({"alg": "ES256"})));
        assert!(matches!(
            verifier.verify_at(&no_kid, NOW),
            Err(TokenError::KeyId { .. })
        ));
    }
}
