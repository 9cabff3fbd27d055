//! Requests to a registry: scheme choice, auth handshake, retries, bounded
//! and verified bodies.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode};

use crate::digest::{Digest, Hasher};
use crate::manifest::{BlobRef, MAX_MANIFEST_BYTES};
use crate::media_type;
use crate::reference::RegistryRef;
use crate::registry::auth::{Challenge, Credential, DockerConfig, parse_challenge};
use crate::registry::error::{Envelope, RegistryError};
use crate::registry::tls;
use crate::verify::{VerifyError, VerifyingReader, read_verified};

const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
const MAX_ERROR_BODY: u64 = 64 << 10;
const MAX_REDIRECTS: usize = 5;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// A login given on the command line or in the environment; it wins over
    /// the Docker config file.
    pub credentials: Option<Credential>,
    /// A Docker `config.json` to read `auths` from.
    pub docker_config: Option<PathBuf>,
    /// Extra PEM CA certificates to trust.
    pub extra_ca_file: Option<PathBuf>,
    /// Hosts (`host` or `host:port`) that may be reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Retries after a 429, a 5xx or a failed connection.
    pub retries: u32,
    /// Connect timeout, the longest a response may stall, and the longest a
    /// manifest, config, token or error body may take to arrive whole.
    pub timeout: Duration,
    /// The first retry's delay; each later one doubles it.
    pub backoff: Duration,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            credentials: None,
            docker_config: DockerConfig::default_path(),
            extra_ca_file: None,
            insecure_registries: Vec::new(),
            retries: 3,
            timeout: Duration::from_secs(30),
            backoff: Duration::from_millis(250),
        }
    }
}

/// A registry client; cheap to share, holds tokens per repository scope.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    settings: RegistrySettings,
    docker_config: DockerConfig,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `Authorization` values by (host, scope).
    auth: HashMap<(String, String), String>,
    /// `http` or `https`, by host.
    schemes: HashMap<String, &'static str>,
    /// Logins from the Docker config, by registry.
    credentials: HashMap<String, Option<Credential>>,
}

impl RegistryClient {
    pub fn new(settings: &RegistrySettings) -> Result<RegistryClient, RegistryError> {
        let tls = tls::client_config(settings.extra_ca_file.as_deref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout)
            .read_timeout(settings.timeout)
            .redirect(redirect_policy(settings.insecure_registries.clone()))
            .build()
            .map_err(|e| RegistryError::Tls(e.to_string()))?;
        let docker_config = match &settings.docker_config {
            Some(path) => DockerConfig::load(path).map_err(RegistryError::Config)?,
            None => DockerConfig::default(),
        };
        Ok(RegistryClient {
            http,
            settings: settings.clone(),
            docker_config,
            state: Mutex::new(State::default()),
        })
    }

    /// GET a manifest by tag or digest. Returns its bytes, its digest (checked
    /// against the reference when that is a digest, and against the
    /// registry's `Docker-Content-Digest`) and its `Content-Type`.
    pub async fn get_manifest(
        &self,
        r: &RegistryRef,
        reference: &str,
    ) -> Result<(Vec<u8>, Digest, Option<String>), RegistryError> {
        let accept = media_type::ACCEPTED_MANIFESTS
            .iter()
            .chain([
                &media_type::DOCKER_SCHEMA1_SIGNED,
                &media_type::DOCKER_SCHEMA1,
            ])
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let resp = self
            .send(
                r,
                Method::GET,
                &format!("manifests/{reference}"),
                Some(&accept),
            )
            .await?;
        let url = resp.url().to_string();
        let content_type = header(resp.headers(), CONTENT_TYPE);
        let claimed = header(
            resp.headers(),
            reqwest::header::HeaderName::from_static("docker-content-digest"),
        );
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, &url, self.settings.timeout).await?;
        let digest = match reference.parse::<Digest>() {
            Ok(expected) => {
                let actual = digest_with(expected.algorithm(), &bytes);
                if actual != expected {
                    return Err(VerifyError::DigestMismatch {
                        what: url,
                        expected,
                        actual,
                    }
                    .into());
                }
                expected
            }
            Err(_) => {
                let actual = Digest::sha256_of(&bytes);
                if let Some(claimed) = claimed.and_then(|c| c.parse::<Digest>().ok()) {
                    let ours = digest_with(claimed.algorithm(), &bytes);
                    if ours != claimed {
                        return Err(VerifyError::DigestMismatch {
                            what: format!("{url} (Docker-Content-Digest)"),
                            expected: claimed,
                            actual: ours,
                        }
                        .into());
                    }
                }
                actual
            }
        };
        Ok((bytes, digest, content_type))
    }

    /// GET a small blob (a config) whole, bounded and verified.
    pub async fn get_small_blob(
        &self,
        r: &RegistryRef,
        blob: &BlobRef,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let resp = self
            .send(r, Method::GET, &format!("blobs/{}", blob.digest), None)
            .await?;
        let url = resp.url().to_string();
        let bytes = read_limited(resp, limit, &url, self.settings.timeout).await?;
        read_verified(&bytes[..], &url, &blob.digest, Some(blob.size), limit).map_err(|e| {
            match VerifyError::from_io(&e) {
                Some(v) => RegistryError::Verify(v.clone()),
                None => RegistryError::Transport {
                    url: url.clone(),
                    message: e.to_string(),
                },
            }
        })
    }

    /// Open a blob for streaming; the reader verifies digest and size and
    /// blocks, so read it inside `spawn_blocking`.
    pub async fn open_blob(
        &self,
        r: &RegistryRef,
        blob: &BlobRef,
    ) -> Result<Box<dyn Read + Send>, RegistryError> {
        let resp = self
            .send(r, Method::GET, &format!("blobs/{}", blob.digest), None)
            .await?;
        let url = resp.url().to_string();
        if resp.content_length().is_some_and(|len| len != blob.size) {
            return Err(VerifyError::SizeMismatch {
                what: url,
                expected: blob.digest.clone(),
                size: blob.size,
                actual: resp.content_length().unwrap_or_default().to_string(),
            }
            .into());
        }
        let stream = resp.bytes_stream().map_err(std::io::Error::other);
        let reader =
            tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(Box::pin(stream)));
        Ok(Box::new(VerifyingReader::new(
            reader,
            url,
            blob.digest.clone(),
            Some(blob.size),
        )))
    }

    /// Send a request for `/v2/<repo>/<path>`, handling auth and retries.
    async fn send(
        &self,
        r: &RegistryRef,
        method: Method,
        path: &str,
        accept: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let host = r.api_host().to_owned();
        let base = self.base_url(&host).await?;
        let url = format!("{base}/v2/{}/{path}", r.repository());
        let scope = format!("repository:{}:pull", r.repository());
        let key = (host.clone(), scope.clone());
        let mut authenticated = false;
        loop {
            let auth = self.lock().auth.get(&key).cloned();
            let resp = self
                .send_with_retry(&url, || {
                    let mut req = self.http.request(method.clone(), &url);
                    if let Some(a) = &accept {
                        req = req.header(ACCEPT, *a);
                    }
                    if let Some(auth) = &auth {
                        req = req.header(AUTHORIZATION, auth);
                    }
                    req
                })
                .await?;
            if resp.status() == StatusCode::UNAUTHORIZED && !authenticated {
                authenticated = true;
                let challenge =
                    header(resp.headers(), WWW_AUTHENTICATE).and_then(|h| parse_challenge(&h));
                let value = self.authorize(r, &url, challenge, &scope).await?;
                self.lock().auth.insert(key.clone(), value);
                continue;
            }
            if resp.status() == StatusCode::UNAUTHORIZED {
                return Err(RegistryError::Unauthorized {
                    url,
                    hint: Some(match self.credential(r)? {
                        Some(_) => "the registry refused the credentials given".into(),
                        None => "pass --creds USER:PASSWORD or log in with `docker login`".into(),
                    }),
                });
            }
            if !resp.status().is_success() {
                return Err(http_error(method_name(&method), resp, self.settings.timeout).await);
            }
            return Ok(resp);
        }
    }

    /// Answer a challenge: basic credentials, or a bearer token for `scope`.
    async fn authorize(
        &self,
        r: &RegistryRef,
        url: &str,
        challenge: Option<Challenge>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let credential = self.credential(r)?;
        let unauthorized = |hint: &str| RegistryError::Unauthorized {
            url: url.to_owned(),
            hint: Some(hint.to_owned()),
        };
        match challenge {
            Some(Challenge::Basic) => credential.and_then(|c| c.basic_header()).ok_or_else(|| {
                unauthorized("pass --creds USER:PASSWORD or log in with `docker login`")
            }),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope, credential.as_ref())
                    .await?;
                Ok(format!("Bearer {token}"))
            }
            None => Err(unauthorized(
                "the registry sent no usable WWW-Authenticate challenge",
            )),
        }
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<String, RegistryError> {
        let token_err = |message: String| RegistryError::Token {
            realm: realm.to_owned(),
            message,
        };
        let mut url =
            reqwest::Url::parse(realm).map_err(|e| token_err(format!("bad realm URL: {e}")))?;
        let realm_host = url.host_str().unwrap_or_default().to_owned();
        let realm_authority = match url.port() {
            Some(p) => format!("{realm_host}:{p}"),
            None => realm_host.clone(),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.http_allowed(&realm_authority) => {}
            _ => {
                return Err(RegistryError::InsecureRefused {
                    host: realm_authority,
                });
            }
        }
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
                self.send_with_retry(realm, || {
                    self.http
                        .post(url.clone())
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
                self.send_with_retry(realm, || {
                    let req = self.http.get(url.clone());
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
            return Err(http_error("GET", resp, self.settings.timeout).await);
        }
        let body = read_limited(resp, MAX_TOKEN_RESPONSE, realm, self.settings.timeout).await?;
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

    async fn send_with_retry(
        &self,
        url: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut attempt = 0;
        loop {
            let retryable = attempt < self.settings.retries;
            let delay = self.settings.backoff * 2u32.saturating_pow(attempt);
            attempt += 1;
            match build().send().await {
                Ok(resp) if retryable && retry_status(resp.status()) => {
                    let wait = retry_after(resp.headers())
                        .unwrap_or(delay)
                        .min(MAX_RETRY_AFTER);
                    tracing::debug!(url, status = resp.status().as_u16(), ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if retryable && (e.is_connect() || e.is_timeout()) => {
                    tracing::debug!(url, error = %e, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(transport_error(url, &e)),
            }
        }
    }

    /// `https://host`, or `http://host` for hosts allowed plain HTTP that do
    /// not answer TLS.
    async fn base_url(&self, host: &str) -> Result<String, RegistryError> {
        if let Some(scheme) = self.lock().schemes.get(host) {
            return Ok(format!("{scheme}://{host}"));
        }
        let scheme = if !self.http_allowed(host) {
            "https"
        } else {
            let probe = self
                .http
                .get(format!("https://{host}/v2/"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match probe {
                Ok(_) => "https",
                // It speaks TLS but we do not trust it: say so rather than fall back.
                Err(e) if error_chain(&e).contains("certificate") => "https",
                Err(_) => "http",
            }
        };
        tracing::debug!(host, scheme, "registry scheme");
        self.lock().schemes.insert(host.to_owned(), scheme);
        Ok(format!("{scheme}://{host}"))
    }

    fn http_allowed(&self, authority: &str) -> bool {
        http_allowed(authority, &self.settings.insecure_registries)
    }

    /// The login for `r`'s registry: flags and environment first, then the
    /// Docker config (asked once per registry; helpers are programs).
    fn credential(&self, r: &RegistryRef) -> Result<Option<Credential>, RegistryError> {
        if let Some(c) = &self.settings.credentials {
            return Ok(Some(c.clone()));
        }
        if let Some(known) = self.lock().credentials.get(r.registry()) {
            return Ok(known.clone());
        }
        let found = self
            .docker_config
            .get(r.registry())
            .map_err(RegistryError::Config)?;
        self.lock()
            .credentials
            .insert(r.registry().to_owned(), found.clone());
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Plain HTTP may go to loopback hosts and to hosts named insecure.
fn http_allowed(authority: &str, insecure: &[String]) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => authority,
    };
    let loopback = host == "localhost"
        || host == "[::1]"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback || insecure.iter().any(|i| i == authority || i == host)
}

/// A redirect to plain HTTP must obey the same rule as the first request.
#[derive(Debug, thiserror::Error)]
#[error("redirect to plain HTTP on {host} refused")]
struct InsecureRedirect {
    host: String,
}

fn redirect_policy(insecure: Vec<String>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("too many redirects (more than {MAX_REDIRECTS})"));
        }
        let url = attempt.url();
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let scheme = url.scheme().to_owned();
        match scheme.as_str() {
            "https" => attempt.follow(),
            "http" if http_allowed(&authority, &insecure) => attempt.follow(),
            "http" => attempt.error(InsecureRedirect { host: authority }),
            _ => attempt.error(format!("redirect to unsupported scheme {scheme:?}")),
        }
    })
}

fn digest_with(algorithm: crate::digest::Algorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}

fn retry_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        _ => "GET",
    }
}

fn transport_error(url: &str, e: &reqwest::Error) -> RegistryError {
    use std::error::Error as _;
    let mut message = error_chain(e);
    if message.contains("certificate") {
        message.push_str("; if the registry uses a private CA, pass --ca-file CA.pem");
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<InsecureRedirect>() {
            return RegistryError::InsecureRefused {
                host: refused.host.clone(),
            };
        }
        source = s.source();
    }
    RegistryError::Transport {
        url: url.to_owned(),
        message,
    }
}

/// An error with all its causes, `a: b: c`.
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

/// Read a whole body, refusing more than `limit` bytes or taking longer than
/// `deadline` (a slow drip never trips the per-read timeout).
async fn read_limited(
    resp: Response,
    limit: u64,
    url: &str,
    deadline: Duration,
) -> Result<Vec<u8>, RegistryError> {
    tokio::time::timeout(deadline, read_body(resp, limit, url))
        .await
        .unwrap_or_else(|_| {
            Err(RegistryError::Transport {
                url: url.to_owned(),
                message: format!(
                    "timed out reading the body (allowed {} s)",
                    deadline.as_secs_f64()
                ),
            })
        })
}

async fn read_body(mut resp: Response, limit: u64, url: &str) -> Result<Vec<u8>, RegistryError> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(RegistryError::TooLarge {
            url: url.to_owned(),
            limit,
        });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(url, &e))? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(RegistryError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn http_error(method: &'static str, resp: Response, deadline: Duration) -> RegistryError {
    let status = resp.status().as_u16();
    let url = resp.url().to_string();
    let body = read_limited(resp, MAX_ERROR_BODY, &url, deadline)
        .await
        .unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<Envelope>(&body) {
        Ok(env) if !env.errors.is_empty() => {
            let first = &env.errors[0];
            (
                first.code.clone(),
                first.message.clone().unwrap_or_default(),
            )
        }
        _ => (
            None,
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_lowercase(),
        ),
    };
    RegistryError::Http {
        method,
        url,
        status,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::http_allowed;

    #[test]
    fn plain_http_only_for_loopback_and_named_hosts() {
        let none: Vec<String> = Vec::new();
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.9.9.9",
            "[::1]:5000",
        ] {
            assert!(http_allowed(ok, &none), "{ok}");
        }
        for refused in [
            "registry.example.com",
            "10.0.0.5:5000",
            "[::2]:5000",
            "localhost.evil.com",
        ] {
            assert!(!http_allowed(refused, &none), "{refused}");
        }
        let named = vec!["cache.lan:5000".to_owned(), "mirror.lan".to_owned()];
        assert!(http_allowed("cache.lan:5000", &named));
        assert!(
            !http_allowed("cache.lan:6000", &named),
            "a named host:port allows only that port"
        );
        assert!(
            http_allowed("mirror.lan:8080", &named),
            "a bare host allows every port"
        );
    }
}
