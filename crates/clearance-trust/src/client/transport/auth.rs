//! The plain-HTTP rule and the login: the trust server, its redirects and
//! its token realm use plain HTTP only on loopback or on hosts named
//! insecure, and a login never goes over plain HTTP off loopback (review
//! B-2). A `Bearer` challenge is answered with a token from the realm it
//! names (kept per repository and access), a `Basic` one with the login.

use std::collections::HashMap;
use std::time::Duration;

use clearance_oci::registry::{Challenge, Credential, Retry, TokenRequest, parse_challenge};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use super::error::request_error;
use super::{FetchError, HttpTransport};

impl HttpTransport {
    /// Send a request, answering one `Bearer` challenge with a token.
    /// `access` says what the request does (`pull`, `push`): tokens are kept
    /// per repository and access, the way a challenge's scope asks for them.
    pub(super) async fn send(
        &self,
        url: &str,
        access: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FetchError> {
        let transport = |e: reqwest::Error| request_error(url, &e, self.timeout);
        // The server URL itself obeys the plain-HTTP rule, before anything is sent.
        let plain_http = self.check_scheme(url)?;
        let repository = url.split_once("/_trust/tuf/").map_or(url, |(r, _)| r);
        let key = format!("{access} {repository}");
        let cached = self.lock().get(&key).cloned();
        let with_auth = |auth: &Option<String>| match auth {
            Some(a) => build().header(AUTHORIZATION, a),
            None => build(),
        };
        let resp = with_auth(&cached).send().await.map_err(transport)?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .and_then(parse_challenge);
        let auth = match challenge {
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope = scope.unwrap_or_default();
                let request = TokenRequest {
                    realm: &realm,
                    service: service.as_deref(),
                    scope: &scope,
                    credential: self.credential.as_ref(),
                };
                let retry = Retry {
                    retries: 2,
                    backoff: Duration::from_millis(250),
                };
                // The realm obeys the same rule as the server, and gets the
                // login over plain HTTP only on loopback.
                if self.credential.is_some()
                    && let Some(host) = plain_http_off_loopback(&realm)
                {
                    return Err(FetchError::CredentialsOverHttp { host });
                }
                let token = clearance_oci::registry::fetch_token(
                    &self.http,
                    request,
                    |authority| clearance_oci::registry::http_allowed(authority, &self.insecure),
                    retry,
                    self.timeout,
                )
                .await
                .map_err(|e| match e {
                    clearance_oci::registry::RegistryError::InsecureRefused { host } => {
                        FetchError::Insecure { host }
                    }
                    clearance_oci::registry::RegistryError::Unauthorized { url, .. } => {
                        FetchError::LoginRefused { realm: url }
                    }
                    e => FetchError::Transport {
                        url: url.to_owned(),
                        message: e.to_string(),
                    },
                })?;
                let value = format!("Bearer {token}");
                self.lock().insert(key, value.clone());
                value
            }
            Some(Challenge::Basic) => {
                match self.credential.as_ref().and_then(Credential::basic_header) {
                    Some(_) if plain_http == PlainHttp::OffLoopback => {
                        return Err(FetchError::CredentialsOverHttp {
                            host: plain_http_off_loopback(url).unwrap_or_default(),
                        });
                    }
                    Some(b) => b,
                    None => return Ok(resp),
                }
            }
            None => return Ok(resp),
        };
        let basic = auth.starts_with("Basic ");
        let resp = with_auth(&Some(auth)).send().await.map_err(transport)?;
        // A Basic login the server refuses: say whose, where, and what to
        // check (a Bearer login refused at the realm is `LoginRefused`).
        if basic && resp.status() == StatusCode::UNAUTHORIZED {
            return Err(FetchError::BasicRefused {
                user: match &self.credential {
                    Some(Credential::Basic { username, .. }) => username.clone(),
                    _ => String::new(),
                },
                server: reqwest::Url::parse(url)
                    .map(|u| authority(&u))
                    .unwrap_or_else(|_| url.to_owned()),
                url: url.to_owned(),
            });
        }
        Ok(resp)
    }

    /// Whether `url` is plain HTTP, and where; refused unless the host is
    /// loopback or named insecure.
    fn check_scheme(&self, url: &str) -> Result<PlainHttp, FetchError> {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Ok(PlainHttp::No); // reqwest reports the bad URL
        };
        if parsed.scheme() != "http" {
            return Ok(PlainHttp::No);
        }
        let host = authority(&parsed);
        if clearance_oci::registry::http_allowed(&host, &[]) {
            Ok(PlainHttp::Loopback)
        } else if clearance_oci::registry::http_allowed(&host, &self.insecure) {
            Ok(PlainHttp::OffLoopback)
        } else {
            Err(FetchError::Insecure { host })
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a request goes over plain HTTP, and whether off loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlainHttp {
    No,
    Loopback,
    OffLoopback,
}

/// `host[:port]` of a URL, as `http_allowed` takes it.
fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// The host of `url` when it is plain HTTP to a host that is not loopback.
fn plain_http_off_loopback(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = authority(&parsed);
    (parsed.scheme() == "http" && !clearance_oci::registry::http_allowed(&host, &[]))
        .then_some(host)
}
