//! The Docker registry token handshake: answer a `Bearer` challenge by
//! asking the realm for a token with the scope needed, sending a login as
//! HTTP basic (or an identity token as an OAuth2 refresh token).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::registry::auth::Credential;
use crate::registry::error::RegistryError;
use crate::registry::transport::{Retry, authority, http_error, read_limited, send_with_retry};

const MAX_TOKEN_RESPONSE: u64 = 1 << 20;

/// Where and how to ask for a token.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub realm: &'a str,
    pub service: Option<&'a str>,
    pub scope: &'a str,
    pub credential: Option<&'a Credential>,
}

/// Ask the realm for a token. `http_allowed` says which hosts may be reached
/// over plain HTTP; the realm obeys the same rule as the registry.
pub async fn fetch_token(
    http: &reqwest::Client,
    request: TokenRequest<'_>,
    http_allowed: impl Fn(&str) -> bool,
    retry: Retry,
    timeout: Duration,
) -> Result<String, RegistryError> {
    let TokenRequest {
        realm,
        service,
        scope,
        credential,
    } = request;
    let token_err = |message: String| RegistryError::Token {
        realm: realm.to_owned(),
        message,
    };
    let bad_realm = |reason: Option<String>| RegistryError::BadRealm {
        realm: realm.to_owned(),
        reason,
    };
    let mut url = reqwest::Url::parse(realm).map_err(|e| bad_realm(Some(e.to_string())))?;
    let realm_authority = authority(&url);
    match url.scheme() {
        "https" if url.has_host() => {}
        "http" if url.has_host() && http_allowed(&realm_authority) => {}
        "http" if url.has_host() => {
            return Err(RegistryError::InsecureRefused {
                host: realm_authority,
            });
        }
        _ => return Err(bad_realm(None)),
    }
    let method = match credential {
        Some(Credential::IdentityToken(_)) => "POST",
        _ => "GET",
    };
    let resp = match credential {
        Some(Credential::IdentityToken(refresh)) => {
            let mut form = reqwest::Url::parse("x:/").map_err(|e| token_err(e.to_string()))?;
            form.query_pairs_mut()
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh)
                .append_pair("client_id", "clearance")
                .append_pair("scope", scope)
                .append_pair("service", service.unwrap_or_default());
            let body = form.query().unwrap_or_default().to_owned();
            send_with_retry(retry, realm, || {
                http.post(url.clone())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            })
            .await?
        }
        _ => {
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                q.append_pair("scope", scope);
            }
            let basic = credential.and_then(Credential::basic_header);
            send_with_retry(retry, realm, || {
                let req = http.get(url.clone());
                match &basic {
                    Some(b) => req.header(AUTHORIZATION, b),
                    None => req,
                }
            })
            .await?
        }
    };
    if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
        return Err(RegistryError::Unauthorized {
            url: realm.to_owned(),
            hint: Some("the token service refused the credentials".into()),
        });
    }
    if !resp.status().is_success() {
        return Err(http_error(method, resp, timeout).await);
    }
    let body = read_limited(resp, MAX_TOKEN_RESPONSE, realm, timeout).await?;
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| token_err(format!("not a token response: {e}")))?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| token_err("the response holds no usable token".into()))
}
