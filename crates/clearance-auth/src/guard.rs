//! What a resource server (trust service, registry) checks on each request:
//! a bearer token allowing the action, unless anyone may do it anyway.
//!
//! Refusals answer 401 with the challenge that sends Docker clients to the
//! token endpoint, as in <https://distribution.github.io/distribution/spec/auth/token/>:
//! `WWW-Authenticate: Bearer realm="...",service="...",scope="repository:NAME:ACTION"`.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::access::AccessRules;
use crate::envelope::{ErrorCode, error_response, quoted};
use crate::name::{NameError, RepositoryName};
use crate::scope::Action;
use crate::time::now_unix;
use crate::verify::TokenVerifier;

/// Checks bearer tokens for one service.
#[derive(Clone, Debug)]
pub struct BearerGuard {
    /// Verifies tokens of our token endpoint.
    pub verifier: TokenVerifier,
    /// Says which repositories are public.
    pub rules: AccessRules,
    /// The token endpoint URL, e.g. `https://auth.example/token`.
    pub realm: String,
    /// The service name clients must ask the token endpoint for.
    pub service: String,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeniedKind {
    /// No bearer token, and the action is not public.
    MissingToken,
    /// The bearer token failed verification.
    InvalidToken,
    /// A valid token that does not allow the action.
    InsufficientScope,
    /// The repository name breaks the OCI grammar.
    InvalidName,
}

/// A refused request; answers 401 with a Bearer challenge (400 for invalid names).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    kind: DeniedKind,
    message: String,
    challenge: Option<String>,
}

impl BearerGuard {
    /// A guard for `service`, sending clients to `realm` for tokens.
    pub fn new(
        verifier: TokenVerifier,
        rules: AccessRules,
        realm: impl Into<String>,
        service: impl Into<String>,
    ) -> BearerGuard {
        BearerGuard {
            verifier,
            rules,
            realm: realm.into(),
            service: service.into(),
        }
    }

    /// Whether the request may do `action` on `repository`. Gives the token's
    /// subject (`None` when anonymous, or when no token was needed).
    pub fn check(
        &self,
        headers: &HeaderMap,
        repository: &RepositoryName,
        action: Action,
    ) -> Result<Option<String>, Denied> {
        self.check_at(headers, repository, action, now_unix())
    }

    /// [`BearerGuard::check`] as if it were `now` (Unix seconds).
    pub fn check_at(
        &self,
        headers: &HeaderMap,
        name: &RepositoryName,
        action: Action,
        now: u64,
    ) -> Result<Option<String>, Denied> {
        let public = self.rules.is_public(name.as_str(), action);
        let deny = |kind, message: String| Denied {
            kind,
            message,
            challenge: Some(self.challenge(name, action, kind)),
        };
        let Some(token) = bearer_token(headers) else {
            if public {
                return Ok(None);
            }
            return Err(deny(
                DeniedKind::MissingToken,
                format!("authentication required to {action} {name}"),
            ));
        };
        let claims = token
            .and_then(|token| {
                self.verifier
                    .verify_at(token, now)
                    .map_err(|e| e.to_string())
            })
            .map_err(|reason| {
                deny(
                    DeniedKind::InvalidToken,
                    format!("invalid bearer token: {reason}"),
                )
            })?;
        if claims.allows(name.as_str(), action) || public {
            return Ok(claims.subject().map(str::to_owned));
        }
        tracing::debug!(user = claims.sub, repository = %name, %action, "token lacks scope");
        Err(deny(
            DeniedKind::InsufficientScope,
            format!("token does not allow {action} on {name}"),
        ))
    }

    fn challenge(&self, name: &RepositoryName, action: Action, kind: DeniedKind) -> String {
        let mut challenge = format!(
            "Bearer realm={},service={},scope=\"repository:{name}:{action}\"",
            quoted(&self.realm),
            quoted(&self.service)
        );
        match kind {
            DeniedKind::InvalidToken => challenge.push_str(",error=\"invalid_token\""),
            DeniedKind::InsufficientScope => challenge.push_str(",error=\"insufficient_scope\""),
            DeniedKind::MissingToken | DeniedKind::InvalidName => {}
        }
        challenge
    }
}

/// The bearer token of the request: `None` when there is no `Bearer`
/// authorization at all, `Some(Err)` when there is one we cannot read.
fn bearer_token(headers: &HeaderMap) -> Option<Result<&str, String>> {
    let value = headers.get(AUTHORIZATION)?;
    let Ok(text) = value.to_str() else {
        return Some(Err("authorization header is not visible ascii".to_owned()));
    };
    let (scheme, token) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| Ok(token.trim()))
}

impl Denied {
    /// Why the request was refused.
    pub fn kind(&self) -> DeniedKind {
        self.kind
    }

    /// The `WWW-Authenticate` value sent, if any.
    pub fn challenge(&self) -> Option<&str> {
        self.challenge.as_deref()
    }

    /// The HTTP status: 401, or 400 for an invalid repository name.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            DeniedKind::InvalidName => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The OCI error code: `UNAUTHORIZED`, `DENIED` or `NAME_INVALID`.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            DeniedKind::MissingToken | DeniedKind::InvalidToken => ErrorCode::Unauthorized,
            DeniedKind::InsufficientScope => ErrorCode::Denied,
            DeniedKind::InvalidName => ErrorCode::NameInvalid,
        }
    }
}

/// A repository name that breaks the grammar: 400 `NAME_INVALID`, no challenge.
impl From<NameError> for Denied {
    fn from(err: NameError) -> Denied {
        Denied {
            kind: DeniedKind::InvalidName,
            message: err.to_string(),
            challenge: None,
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        error_response(self.status(), self.code(), &self.message, self.challenge())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::GrantedScope;
    use crate::testutil::{sample_issuer, sample_rules};
    use crate::token::TokenIssuer;
    use axum::http::HeaderValue;
    use axum::http::header::WWW_AUTHENTICATE;

    const REALM: &str = "https://auth.example/token";

    fn guard(issuer: &TokenIssuer) -> BearerGuard {
        BearerGuard::new(issuer.verifier(), sample_rules(), REALM, "registry.example")
    }

    fn name(repo: &str) -> RepositoryName {
        RepositoryName::parse(repo).unwrap()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        headers.insert(AUTHORIZATION, value);
        headers
    }

    fn token(issuer: &TokenIssuer, user: &str, repo: &str, actions: &[Action]) -> String {
        let scope = GrantedScope {
            repository: RepositoryName::parse(repo).unwrap(),
            actions: actions.iter().copied().collect(),
        };
        issuer.issue(Some(user), &[scope]).unwrap().token
    }

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn public_pull_needs_no_token() {
        let issuer = sample_issuer();
        let guard = guard(&issuer);
        assert_eq!(
            guard.check(&HeaderMap::new(), &name("public/tools"), Action::Pull),
            Ok(None)
        );
        let mut basic = HeaderMap::new();
        basic.insert(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
        assert_eq!(
            guard.check(&basic, &name("public/tools"), Action::Pull),
            Ok(None)
        );
    }

    #[tokio::test]
    async fn push_without_token_gets_the_exact_challenge() {
        let issuer = sample_issuer();
        let denied = guard(&issuer)
            .check(&HeaderMap::new(), &name("public/tools"), Action::Push)
            .unwrap_err();
        assert_eq!(denied.kind(), DeniedKind::MissingToken);
        let response = denied.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",\
             scope=\"repository:public/tools:push\""
        );
        let body = body(response).await;
        assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
        assert_eq!(body["errors"][0]["detail"], serde_json::Value::Null);
        assert_eq!(
            body["errors"][0]["message"],
            "authentication required to push public/tools"
        );
    }

    #[tokio::test]
    async fn token_lacking_push_is_insufficient_scope() {
        let issuer = sample_issuer();
        let guard = guard(&issuer);
        let headers = bearer(&token(&issuer, "carol", "team/app", &[Action::Pull]));
        assert_eq!(
            guard.check(&headers, &name("team/app"), Action::Pull),
            Ok(Some("carol".to_owned()))
        );
        let denied = guard
            .check(&headers, &name("team/app"), Action::Push)
            .unwrap_err();
        assert_eq!(denied.kind(), DeniedKind::InsufficientScope);
        let response = denied.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",\
             scope=\"repository:team/app:push\",error=\"insufficient_scope\""
        );
        assert_eq!(body(response).await["errors"][0]["code"], "DENIED");
    }

    #[test]
    fn tokens_that_fail_verification_are_invalid_tokens() {
        let issuer = sample_issuer();
        let guard = guard(&issuer);
        let stranger = sample_issuer();
        let foreign = token(&stranger, "alice", "team/app", &[Action::Push]);
        for headers in [bearer(&foreign), bearer("garbage")] {
            let denied = guard
                .check(&headers, &name("team/app"), Action::Push)
                .unwrap_err();
            assert_eq!(denied.kind(), DeniedKind::InvalidToken);
            assert!(
                denied
                    .challenge()
                    .unwrap()
                    .ends_with(",error=\"invalid_token\"")
            );
            assert!(!denied.to_string().contains(&foreign), "{denied}");
        }
        let good = bearer(&token(&issuer, "alice", "team/app", &[Action::Push]));
        let late = now_unix() + 3600;
        let denied = guard
            .check_at(&good, &name("team/app"), Action::Push, late)
            .unwrap_err();
        assert_eq!(denied.kind(), DeniedKind::InvalidToken);
        assert!(denied.to_string().contains("expired"), "{denied}");
    }

    #[test]
    fn valid_tokens_pass_and_invalid_names_are_400() {
        let issuer = sample_issuer();
        let guard = guard(&issuer);
        let headers = bearer(&token(
            &issuer,
            "alice",
            "team/app",
            &[Action::Pull, Action::Push],
        ));
        assert_eq!(
            guard.check(&headers, &name("team/app"), Action::Push),
            Ok(Some("alice".to_owned()))
        );
        assert!(
            guard
                .check(&headers, &name("team/other"), Action::Push)
                .is_err()
        );
        let denied = Denied::from(RepositoryName::parse("Team/App").unwrap_err());
        assert_eq!(denied.kind(), DeniedKind::InvalidName);
        assert_eq!(
            (denied.status(), denied.code()),
            (StatusCode::BAD_REQUEST, ErrorCode::NameInvalid)
        );
        assert_eq!(denied.challenge(), None);
    }
}
