//! Bearer tokens of the Docker registry token scheme: ES256 JWTs carrying
//! `access` claims, as in <https://distribution.github.io/distribution/spec/auth/jwt/>.
//!
//! Written in-house on ring: the format is small, and a JWT crate would bring
//! a second crypto backend and algorithms we never want to accept.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::key::TokenKey;
use crate::scope::{Action, GrantedScope};
use crate::time::now_unix;
use crate::verify::TokenVerifier;

/// The only signature algorithm issued or accepted.
pub const ALGORITHM: &str = "ES256";

/// The claims of a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who issued the token.
    pub iss: String,
    /// The user it was issued to; empty for anonymous tokens.
    pub sub: String,
    /// The service it is for.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not valid before, Unix seconds.
    pub nbf: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Random token id.
    pub jti: String,
    /// What the token allows.
    #[serde(default)]
    pub access: Vec<ResourceAccess>,
}

/// One entry of the `access` claim:
/// `{"type":"repository","name":"team/app","actions":["pull","push"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    /// The resource type; always `repository` in tokens we issue.
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource name.
    pub name: String,
    /// The actions allowed on it.
    pub actions: Vec<String>,
}

impl Claims {
    /// Whether the token allows `action` on repository `repository`.
    pub fn allows(&self, repository: &str, action: Action) -> bool {
        self.access.iter().any(|entry| {
            entry.kind == "repository"
                && entry.name == repository
                && entry.actions.iter().any(|a| a == action.as_str())
        })
    }

    /// The signed-in user, or `None` for an anonymous token.
    pub fn subject(&self) -> Option<&str> {
        (!self.sub.is_empty()).then_some(self.sub.as_str())
    }
}

/// The JOSE header of tokens we issue.
#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) typ: Option<String>,
    #[serde(default)]
    pub(crate) kid: Option<String>,
}

/// Everything that can go wrong issuing or verifying a token. Messages never
/// repeat the token or its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Serialising the header or claims failed.
    #[error("could not encode the token claims")]
    Encode,
    /// Drawing the token id failed.
    #[error("could not draw a random token id")]
    Random,
    /// Signing failed.
    #[error("could not sign the token")]
    Sign,
    /// The token is longer than any we issue.
    #[error("token is {len} bytes, longer than the {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not three dot-separated parts.
    #[error("token is not three dot-separated parts")]
    Malformed,
    /// A part is not unpadded base64url.
    #[error("token {part} is not unpadded base64url")]
    Encoding {
        /// `header`, `claims` or `signature`.
        part: &'static str,
    },
    /// The header is not the JSON expected.
    #[error("token header is not a json object with alg and kid")]
    Header,
    /// The header names another algorithm (`none`, `HS256`, ...).
    #[error("token algorithm is not ES256")]
    Algorithm,
    /// The header names another key, or none.
    #[error("token key id does not match the verifying key {expected}")]
    KeyId {
        /// Our key id.
        expected: String,
    },
    /// The signature does not verify.
    #[error("token signature does not verify")]
    Signature,
    /// The claims are not the JSON expected.
    #[error("token claims are not the expected json")]
    Claims,
    /// Issued by someone else.
    #[error("token issuer is not {expected:?}")]
    Issuer {
        /// The issuer we accept.
        expected: String,
    },
    /// Meant for another service.
    #[error("token audience is not {expected:?}")]
    Audience {
        /// Our service.
        expected: String,
    },
    /// Past its expiry, beyond the leeway.
    #[error("token expired at {exp} (unix seconds), it is now {now}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time checked against.
        now: u64,
    },
    /// Before its `nbf`, beyond the leeway.
    #[error("token is not valid before {nbf} (unix seconds), it is now {now}")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// The time checked against.
        now: u64,
    },
}

/// Signs tokens for one service.
#[derive(Debug)]
pub struct TokenIssuer {
    /// The signing key.
    pub key: TokenKey,
    /// The `iss` claim, e.g. `clearance`.
    pub issuer: String,
    /// The `aud` claim: the service the tokens are for.
    pub service: String,
    /// How long tokens stay valid.
    pub ttl: Duration,
}

/// A freshly signed token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT. A credential: never log it.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// When it was issued, Unix seconds.
    pub issued_at: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

impl TokenIssuer {
    /// An issuer signing with `key` for `service`.
    pub fn new(
        key: TokenKey,
        issuer: impl Into<String>,
        service: impl Into<String>,
        ttl: Duration,
    ) -> TokenIssuer {
        TokenIssuer {
            key,
            issuer: issuer.into(),
            service: service.into(),
            ttl,
        }
    }

    /// Signs a token for `subject` (anonymous when `None`) carrying `access`.
    pub fn issue(
        &self,
        subject: Option<&str>,
        access: &[GrantedScope],
    ) -> Result<IssuedToken, TokenError> {
        self.issue_at(subject, access, now_unix())
    }

    /// [`TokenIssuer::issue`] with the clock given, for tests and replays.
    pub fn issue_at(
        &self,
        subject: Option<&str>,
        access: &[GrantedScope],
        now: u64,
    ) -> Result<IssuedToken, TokenError> {
        let ttl = self.ttl.as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.unwrap_or_default().to_owned(),
            aud: self.service.clone(),
            exp: now.saturating_add(ttl),
            nbf: now,
            iat: now,
            jti: random_id()?,
            access: access
                .iter()
                .filter(|scope| !scope.actions.is_empty())
                .map(|scope| ResourceAccess {
                    kind: "repository".to_owned(),
                    name: scope.repository.to_string(),
                    actions: scope
                        .actions
                        .iter()
                        .map(|a| a.as_str().to_owned())
                        .collect(),
                })
                .collect(),
        };
        let header = Header {
            alg: ALGORITHM.to_owned(),
            typ: Some("JWT".to_owned()),
            kid: Some(self.key.key_id().to_owned()),
        };
        let header = serde_json::to_vec(&header).map_err(|_| TokenError::Encode)?;
        let claims = serde_json::to_vec(&claims).map_err(|_| TokenError::Encode)?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = self
            .key
            .sign(signing_input.as_bytes())
            .ok_or(TokenError::Sign)?;
        Ok(IssuedToken {
            token: format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
            expires_in: ttl,
            issued_at: now,
        })
    }

    /// A verifier for the tokens this issuer signs.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::for_key(&self.key, self.issuer.clone(), self.service.clone())
    }
}

/// 16 random bytes in hex.
fn random_id() -> Result<String, TokenError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TokenError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::RepositoryName;
    use std::collections::BTreeSet;

    fn granted(repo: &str, actions: &[Action]) -> GrantedScope {
        GrantedScope {
            repository: RepositoryName::parse(repo).unwrap(),
            actions: actions.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn issues_distribution_shaped_claims() {
        let issuer = TokenIssuer::new(
            TokenKey::generate().unwrap(),
            "clearance",
            "registry.example",
            Duration::from_secs(300),
        );
        let access = [
            granted("team/app", &[Action::Push, Action::Pull]),
            granted("team/empty", &[]),
        ];
        let issued = issuer.issue_at(Some("alice"), &access, 1_000).unwrap();
        assert_eq!((issued.expires_in, issued.issued_at), (300, 1_000));
        let parts: Vec<&str> = issued.token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": issuer.key.key_id()})
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "clearance");
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["aud"], "registry.example");
        assert_eq!(
            (claims["iat"].as_u64(), claims["exp"].as_u64()),
            (Some(1_000), Some(1_300))
        );
        assert_eq!(claims["nbf"], 1_000);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
        assert_eq!(
            claims["access"],
            serde_json::json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
        assert!(!format!("{issued:?}").contains(&issued.token));
    }

    #[test]
    fn claims_allow_only_what_they_list() {
        let claims = Claims {
            iss: "i".into(),
            sub: String::new(),
            aud: "s".into(),
            exp: 0,
            nbf: 0,
            iat: 0,
            jti: "j".into(),
            access: vec![ResourceAccess {
                kind: "repository".into(),
                name: "team/app".into(),
                actions: vec!["pull".into()],
            }],
        };
        assert!(claims.allows("team/app", Action::Pull));
        assert!(!claims.allows("team/app", Action::Push));
        assert!(!claims.allows("team/app2", Action::Pull));
        assert_eq!(claims.subject(), None);
    }
}
