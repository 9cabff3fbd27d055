//! The token endpoint of the Docker registry token scheme.
//!
//! `GET /token?service=...&scope=...` with optional `Authorization: Basic`,
//! as in <https://distribution.github.io/distribution/spec/auth/token/>, and
//! `POST /token` with an OAuth2 password grant, as containerd sends. Both
//! answer `{"token","access_token","expires_in","issued_at"}`. Asking for more
//! than the rules grant is not an error: the token carries what was granted,
//! possibly nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::access::AccessRules;
use crate::envelope::{ErrorCode, error_response};
use crate::name::{RepositoryName, excerpt};
use crate::scope::{Action, GrantedScope, Scope, ScopeError};
use crate::time::rfc3339;
use crate::token::TokenIssuer;
use crate::users::{MAX_PASSWORD, MAX_USER_NAME, Users};

/// Most scopes one request may ask for.
pub const MAX_SCOPES: usize = 32;

/// Largest `POST /token` body read.
const MAX_FORM_BODY: usize = 16 * 1024;

/// The realm of the Basic challenge sent on bad credentials.
pub const BASIC_REALM: &str = "clearance";

/// Password checks running at once: each may hold an argon2 block of tens of
/// MiB and a core, so a flood of sign-ins queues instead of exhausting memory.
static VERIFICATIONS: Semaphore = Semaphore::const_new(4);

/// What the token endpoint needs: who may sign in, what they may do, and the
/// key that signs their tokens.
#[derive(Debug)]
pub struct TokenService {
    /// The users who may sign in.
    pub users: Users,
    /// What users and anonymous clients may do.
    pub rules: AccessRules,
    /// Signs the tokens; its `service` is the one clients must name.
    pub issuer: TokenIssuer,
}

/// The router serving `GET /token` and `POST /token`.
pub fn token_router(state: Arc<TokenService>) -> Router {
    Router::new()
        .route("/token", get(get_token).post(post_token))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .with_state(state)
}

#[derive(Serialize)]
struct TokenResponse {
    token: String,
    access_token: String,
    expires_in: u64,
    issued_at: String,
}

/// Who is asking. Holds a password: deliberately not `Debug`.
enum Credentials {
    Anonymous,
    Password { user: String, password: String },
}

/// A refusal, in the OCI error envelope.
enum EndpointError {
    BadRequest { code: ErrorCode, message: String },
    Unauthorized,
    Internal(&'static str),
}

impl IntoResponse for EndpointError {
    fn into_response(self) -> Response {
        match self {
            EndpointError::BadRequest { code, message } => {
                error_response(StatusCode::BAD_REQUEST, code, &message, None)
            }
            EndpointError::Unauthorized => error_response(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "invalid username or password",
                Some(&format!("Basic realm=\"{BASIC_REALM}\"")),
            ),
            EndpointError::Internal(message) => {
                tracing::error!(message, "token endpoint failed");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Unknown,
                    "could not issue a token",
                    None,
                )
            }
        }
    }
}

fn bad_request(code: ErrorCode, message: impl Into<String>) -> EndpointError {
    EndpointError::BadRequest {
        code,
        message: message.into(),
    }
}

async fn get_token(
    State(service): State<Arc<TokenService>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<TokenResponse>, EndpointError> {
    let Query(params) = query
        .map_err(|_| bad_request(ErrorCode::Unsupported, "query string is not url-encoded"))?;
    let scopes = requested_scopes(&service, &params)?;
    let credentials = basic_credentials(&headers)?;
    respond(service, scopes, credentials).await
}

async fn post_token(
    State(service): State<Arc<TokenService>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Json<TokenResponse>, EndpointError> {
    let Form(params) = form.map_err(|_| {
        bad_request(
            ErrorCode::Unsupported,
            "expected an application/x-www-form-urlencoded body",
        )
    })?;
    let field = |name| single(&params, name);
    match field("grant_type")? {
        Some("password") => {}
        _ => {
            return Err(bad_request(
                ErrorCode::Unsupported,
                "only grant_type=password is supported",
            ));
        }
    }
    let scopes = requested_scopes(&service, &params)?;
    let (Some(user), Some(password)) = (field("username")?, field("password")?) else {
        return Err(bad_request(
            ErrorCode::Unsupported,
            "the password grant needs username and password",
        ));
    };
    let credentials = Credentials::Password {
        user: user.to_owned(),
        password: password.to_owned(),
    };
    respond(service, scopes, credentials).await
}

/// Checks the service, authenticates, grants and signs.
async fn respond(
    service: Arc<TokenService>,
    scopes: Vec<Scope>,
    credentials: Credentials,
) -> Result<Json<TokenResponse>, EndpointError> {
    let subject = authenticate(&service, credentials).await?;
    let granted: Vec<GrantedScope> = scopes
        .iter()
        .map(|scope| service.rules.grant(subject.as_deref(), scope))
        .filter(|granted| !granted.actions.is_empty())
        .collect();
    let issued = service
        .issuer
        .issue(subject.as_deref(), &granted)
        .map_err(|_| EndpointError::Internal("could not sign a token"))?;
    tracing::info!(
        user = subject.as_deref().unwrap_or("<anonymous>"),
        requested = %join(&scopes),
        granted = %join(&granted),
        "issued token"
    );
    Ok(Json(TokenResponse {
        access_token: issued.token.clone(),
        token: issued.token,
        expires_in: issued.expires_in,
        issued_at: rfc3339(issued.issued_at),
    }))
}

/// The signed-in user, `None` for anonymous; bad credentials are refused.
async fn authenticate(
    service: &Arc<TokenService>,
    credentials: Credentials,
) -> Result<Option<String>, EndpointError> {
    let (user, password) = match credentials {
        Credentials::Anonymous => return Ok(None),
        Credentials::Password { user, password } => (user, password),
    };
    if user.len() > MAX_USER_NAME || password.len() > MAX_PASSWORD {
        return Err(EndpointError::Unauthorized);
    }
    let _slot = VERIFICATIONS
        .acquire()
        .await
        .map_err(|_| EndpointError::Internal("password verification is shut down"))?;
    let shared = Arc::clone(service);
    let name = user.clone();
    let valid = tokio::task::spawn_blocking(move || shared.users.verify(&name, &password))
        .await
        .map_err(|_| EndpointError::Internal("password verification panicked"))?;
    if valid {
        Ok(Some(user))
    } else {
        tracing::warn!(user = ?excerpt(&user), "rejected credentials");
        Err(EndpointError::Unauthorized)
    }
}

/// Checks `service` and parses every `scope` parameter (each may hold
/// several space-separated scopes), merging scopes on the same repository.
fn requested_scopes(
    service: &TokenService,
    params: &[(String, String)],
) -> Result<Vec<Scope>, EndpointError> {
    let ours = &service.issuer.service;
    match single(params, "service")? {
        None => {
            return Err(bad_request(
                ErrorCode::Unsupported,
                "missing service parameter",
            ));
        }
        Some(asked) if asked != ours => {
            return Err(bad_request(
                ErrorCode::Unsupported,
                format!(
                    "service {:?} is not served here; expected {ours:?}",
                    excerpt(asked)
                ),
            ));
        }
        Some(_) => {}
    }
    let texts: Vec<&str> = params
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split_whitespace())
        .collect();
    if texts.len() > MAX_SCOPES {
        return Err(bad_request(
            ErrorCode::Unsupported,
            format!("at most {MAX_SCOPES} scopes may be requested at once"),
        ));
    }
    let mut merged: BTreeMap<RepositoryName, BTreeSet<Action>> = BTreeMap::new();
    for text in texts {
        match Scope::parse(text) {
            Ok(Some(scope)) => merged
                .entry(scope.repository)
                .or_default()
                .extend(scope.actions),
            Ok(None) => {}
            Err(err @ ScopeError::InvalidName { .. }) => {
                return Err(bad_request(ErrorCode::NameInvalid, err.to_string()));
            }
            Err(err) => return Err(bad_request(ErrorCode::Unsupported, err.to_string())),
        }
    }
    Ok(merged
        .into_iter()
        .map(|(repository, actions)| Scope::new(repository, actions))
        .collect())
}

/// The only value of parameter `name`, if any; repeating it is an error.
fn single<'a>(
    params: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, EndpointError> {
    let mut values = params.iter().filter(|(key, _)| key == name);
    let first = values.next().map(|(_, value)| value.as_str());
    if values.next().is_some() {
        return Err(bad_request(
            ErrorCode::Unsupported,
            format!("parameter {name} given more than once"),
        ));
    }
    Ok(first)
}

/// Reads `Authorization: Basic base64(user:password)`; none means anonymous.
fn basic_credentials(headers: &HeaderMap) -> Result<Credentials, EndpointError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Credentials::Anonymous);
    };
    let value = value.to_str().map_err(|_| EndpointError::Unauthorized)?;
    let (scheme, encoded) = value.split_once(' ').ok_or(EndpointError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(EndpointError::Unauthorized);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| EndpointError::Unauthorized)?;
    let text = String::from_utf8(decoded).map_err(|_| EndpointError::Unauthorized)?;
    let (user, password) = text.split_once(':').ok_or(EndpointError::Unauthorized)?;
    Ok(Credentials::Password {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let texts: Vec<String> = items.iter().map(ToString::to_string).collect();
    texts.join(" ")
}

#[cfg(test)]
mod tests;
