//! Requests to a registry: scheme choice, auth handshake, retries, bounded
//! and verified bodies.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};

use crate::digest::{Digest, Hasher};
use crate::manifest::{BlobRef, MAX_MANIFEST_BYTES};
use crate::media_type;
use crate::reference::RegistryRef;
use crate::registry::auth::{Challenge, Credential, DockerConfig, parse_challenge};
use crate::registry::error::RegistryError;
use crate::registry::tls;
use crate::registry::token::{TokenRequest, fetch_token};
use crate::registry::transport::{
    Retry, header, http_allowed, http_error, is_certificate_error, method_name, read_limited,
    redirect_policy, send_with_retry,
};
use crate::verify::{VerifyError, VerifyingReader, read_verified};

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
    /// Retries after a 429, a 5xx or a failed connection, and their delays.
    pub retry: Retry,
    /// Connect timeout, the longest a response may stall, and the longest a
    /// manifest, config, token or error body may take to arrive whole; a
    /// blob gets this plus its size at [`MIN_BLOB_RATE`]. A Docker
    /// credential helper that has not answered within it is killed.
    pub timeout: Duration,
}

/// The slowest average a blob may arrive at, in bytes per second, after
/// the first `timeout` (see [`RegistryClient::open_blob`]).
pub const MIN_BLOB_RATE: u64 = 64 << 10;

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            credentials: None,
            docker_config: DockerConfig::default_path(),
            extra_ca_file: None,
            insecure_registries: Vec::new(),
            retry: Retry {
                retries: 3,
                backoff: Duration::from_millis(250),
            },
            timeout: Duration::from_secs(30),
        }
    }
}

/// A registry client; cheap to share, holds tokens per repository scope.
#[derive(Debug)]
pub struct RegistryClient {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: RegistrySettings,
    docker_config: std::sync::Arc<DockerConfig>,
    state: Mutex<State>,
    /// One credential-helper run at a time, so two requests never both ask.
    helper_runs: tokio::sync::Mutex<()>,
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
            docker_config: std::sync::Arc::new(docker_config),
            state: Mutex::new(State::default()),
            helper_runs: tokio::sync::Mutex::new(()),
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
        // A slow drip never trips the per-read timeout: the whole blob must
        // arrive within the timeout plus its size at MIN_BLOB_RATE.
        let allowed = self.settings.timeout
            + Duration::from_secs_f64(blob.size as f64 / MIN_BLOB_RATE as f64);
        let deadline = tokio::time::Instant::now() + allowed;
        let slow_url = url.clone();
        let stream = resp.bytes_stream().map(move |chunk| {
            if tokio::time::Instant::now() > deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "{slow_url} came slower than {} KiB/s on average (allowed {:.0} s in all); stopped",
                        MIN_BLOB_RATE >> 10,
                        allowed.as_secs_f64()
                    ),
                ));
            }
            chunk.map_err(std::io::Error::other)
        });
        let reader =
            tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(Box::pin(stream)));
        Ok(Box::new(VerifyingReader::new(
            reader,
            url,
            blob.digest.clone(),
            Some(blob.size),
        )))
    }

    /// Send a request for `/v2/<repo>/<path>` with pull access, handling
    /// auth and retries.
    async fn send(
        &self,
        r: &RegistryRef,
        method: Method,
        path: &str,
        accept: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let url = self.repository_url(r, path).await?;
        self.send_to(
            r,
            Access::Pull,
            &method,
            &url,
            self.settings.retry,
            |req| match accept {
                Some(a) => req.header(ACCEPT, a),
                None => req,
            },
        )
        .await
    }

    /// `<base>/v2/<repo>/<path>`, the scheme chosen for the host.
    pub(crate) async fn repository_url(
        &self,
        r: &RegistryRef,
        path: &str,
    ) -> Result<String, RegistryError> {
        let base = self.base_url(r.api_host()).await?;
        Ok(format!("{base}/v2/{}/{path}", r.repository()))
    }

    /// Send `method` to `url` (a URL of `r`'s registry, or an upload
    /// location elsewhere), `decorate` adding headers and body to each try.
    /// A 401 is answered once by logging in for `access` to `r`'s
    /// repository; the login goes only to the registry's own origin, never
    /// to another host an upload location names. Any status but a success
    /// is an error with the registry's own code.
    pub(crate) async fn send_to(
        &self,
        r: &RegistryRef,
        access: Access,
        method: &Method,
        url: &str,
        retry: Retry,
        decorate: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let host = r.api_host().to_owned();
        let base = self.base_url(&host).await?;
        let own_origin = same_origin(url, &base);
        let scope = access.scope(r.repository());
        let key = (host.clone(), scope.clone());
        let mut authenticated = false;
        loop {
            let auth = own_origin
                .then(|| self.lock().auth.get(&key).cloned())
                .flatten();
            let resp = send_with_retry(retry, url, || {
                let mut req = decorate(self.http.request(method.clone(), url));
                if let Some(auth) = &auth {
                    req = req.header(AUTHORIZATION, auth);
                }
                req
            })
            .await?;
            if resp.status() == StatusCode::UNAUTHORIZED && !authenticated && own_origin {
                authenticated = true;
                let challenge =
                    header(resp.headers(), WWW_AUTHENTICATE).and_then(|h| parse_challenge(&h));
                let value = self.authorize(r, url, challenge, &scope).await?;
                self.lock().auth.insert(key.clone(), value);
                continue;
            }
            if resp.status() == StatusCode::UNAUTHORIZED {
                return Err(RegistryError::Unauthorized {
                    url: url.to_owned(),
                    hint: Some(match (access, self.credential(r).await?) {
                        (Access::Push, Some(_)) => {
                            "the registry refused the credentials given, or they may not push here"
                                .into()
                        }
                        (Access::Pull, Some(_)) => {
                            "the registry refused the credentials given".into()
                        }
                        (_, None) => {
                            "pass --creds USER:PASSWORD or log in with `docker login`".into()
                        }
                    }),
                });
            }
            if !resp.status().is_success() {
                return Err(http_error(method_name(method), resp, self.settings.timeout).await);
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
        let credential = self.credential(r).await?;
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
        let request = TokenRequest {
            realm,
            service,
            scope,
            credential,
        };
        fetch_token(
            &self.http,
            request,
            |authority| self.http_allowed(authority),
            self.settings.retry,
            self.settings.timeout,
        )
        .await
    }

    /// `https://host`, or `http://host` for hosts allowed plain HTTP that do
    /// not answer TLS.
    pub(crate) async fn base_url(&self, host: &str) -> Result<String, RegistryError> {
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
                Err(e) if is_certificate_error(&e) => "https",
                Err(_) => "http",
            }
        };
        tracing::debug!(host, scheme, "registry scheme");
        self.lock().schemes.insert(host.to_owned(), scheme);
        Ok(format!("{scheme}://{host}"))
    }

    pub(crate) fn http_allowed(&self, authority: &str) -> bool {
        http_allowed(authority, &self.settings.insecure_registries)
    }

    /// The login for `r`'s registry: flags and environment first, then the
    /// Docker config (asked once per registry). A credential helper gets
    /// the registry timeout to answer.
    async fn credential(&self, r: &RegistryRef) -> Result<Option<Credential>, RegistryError> {
        if let Some(c) = &self.settings.credentials {
            return Ok(Some(c.clone()));
        }
        let _one_at_a_time = self.helper_runs.lock().await;
        if let Some(known) = self.lock().credentials.get(r.registry()) {
            return Ok(known.clone());
        }
        let found = self
            .docker_config
            .get(r.registry(), self.settings.timeout)
            .await?;
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

/// What a request may do in its repository: the scope of the token asked
/// for it (Distribution's token scope `repository:NAME:ACTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read manifests and blobs.
    Pull,
    /// Upload too (a push also checks what is there, so it asks for both).
    Push,
}

impl Access {
    fn scope(self, repository: &str) -> String {
        match self {
            Access::Pull => format!("repository:{repository}:pull"),
            Access::Push => format!("repository:{repository}:pull,push"),
        }
    }
}

/// Whether `url` has the scheme, host and port of `base`.
fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

pub(crate) fn digest_with(algorithm: crate::digest::Algorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}
