//! Fetching metadata and targets with a hard length limit, and sending a
//! publish to a trust service; both answer a Docker-style `Bearer`
//! challenge with a token from the realm it names.
//!
//! Plain HTTP follows the registry client's rule (`clearance_oci::registry::
//! http_allowed`): the trust server, its redirects and its token realm may
//! use it only on loopback or on hosts named insecure. A login never goes
//! over plain HTTP off loopback, not even to a host named insecure: it is
//! the login the token endpoint turns into push tokens (review B-2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clearance_oci::registry::{Challenge, Credential, Retry, TokenRequest, parse_challenge};

use crate::schema::{RoleName, TopRole};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

/// Most bytes of a trust service's answer to a refused publish that are read.
const MAX_ERROR_BODY: u64 = 64 << 10;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: not found")]
    NotFound { url: String },
    #[error("{url}: more than the {limit} bytes allowed")]
    TooLong { url: String, limit: u64 },
    /// An HTTP error, with the server's own reason (the OCI error
    /// envelope's message, or the start of its body) when it gave one.
    #[error("{url}: HTTP {status}{}{}", prefixed(": ", message), prefixed("; ", hint.unwrap_or_default()))]
    Status {
        url: String,
        status: u16,
        message: String,
        hint: Option<&'static str>,
    },
    #[error("{url}: the trust service refused the publish (HTTP {status}): {message}{}", prefixed("; ", hint.unwrap_or_default()))]
    Refused {
        url: String,
        status: u16,
        message: String,
        hint: Option<&'static str>,
    },
    /// No connection: the host does not resolve, nothing listens, or it
    /// did not answer in time.
    #[error(
        "cannot reach {url}: {message} (is the trust server's address right, and is it running?)"
    )]
    Unreachable { url: String, message: String },
    /// The TLS handshake failed.
    #[error("{url}: {problem}")]
    Tls { url: String, problem: TlsProblem },
    #[error(
        "{realm}: the token service refused the credentials given (--trust-creds or CLEARANCE_TRUST_CREDS)"
    )]
    LoginRefused { realm: String },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error(
        "refusing plain HTTP to {host}: only loopback hosts and hosts named with --insecure-trust-server may use it; use https://"
    )]
    Insecure { host: String },
    #[error(
        "refusing to send the trust server login to {host} over plain HTTP (it earns push tokens); use https://, or no login for public reads"
    )]
    CredentialsOverHttp { host: String },
}

/// Why a TLS handshake with the trust server failed, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    #[error(
        "its certificate is not signed by a CA this client trusts: pass the CA with --trust-ca-file or CLEARANCE_TRUST_CA_FILE"
    )]
    UntrustedCa,
    #[error("the server did not answer TLS; is it http://?")]
    NotTls,
    #[error("TLS: {0}")]
    Other(String),
}

impl FetchError {
    /// Whether the server could not be asked, or answered with an error
    /// instead of metadata (no connection, TLS, plain HTTP refused, a login
    /// refused, an HTTP error): nothing can be said about what it holds.
    /// `NotFound` and `TooLong` are answers about the metadata itself.
    pub fn is_unanswered(&self) -> bool {
        !matches!(
            self,
            FetchError::NotFound { .. } | FetchError::TooLong { .. }
        )
    }
}

/// `sep` then `text`, or nothing for empty text.
fn prefixed(sep: &str, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{sep}{text}")
    }
}

/// A failed request, told apart: TLS (with what to do), no connection, or
/// else the whole cause chain.
fn request_error(url: &str, e: &reqwest::Error) -> FetchError {
    if let Some(tls) = rustls_error(e) {
        let problem = match tls {
            // No chain to a trusted CA: an unknown issuer, or an issuer
            // of that name whose key did not sign it (another CA).
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
            ) => TlsProblem::UntrustedCa,
            rustls::Error::InvalidMessage(_) => TlsProblem::NotTls,
            other => TlsProblem::Other(other.to_string()),
        };
        return FetchError::Tls {
            url: url.to_owned(),
            problem,
        };
    }
    if e.is_connect() || e.is_timeout() {
        return FetchError::Unreachable {
            url: url.to_owned(),
            message: root_cause(e),
        };
    }
    FetchError::Transport {
        url: url.to_owned(),
        message: clearance_oci::registry::error_chain(e),
    }
}

/// The rustls error under a request error, if the handshake failed. rustls
/// reaches hyper inside an `io::Error`, whose `source()` skips it, so each
/// `io::Error` in the chain is looked into.
fn rustls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        // An io::Error may hold another io::Error that holds the rustls one.
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(s);
        while let Some(i) = inner {
            if let Some(tls) = i.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            inner = i
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        source = s.source();
    }
    None
}

/// The last cause of an error (`Connection refused (os error 111)`,
/// `failed to lookup address information: …`), without reqwest's wrappers.
fn root_cause(e: &reqwest::Error) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    if e.is_timeout() && std::ptr::addr_eq(last, e as &dyn std::error::Error) {
        return "timed out".into();
    }
    last.to_string()
}

/// Where the client gets bytes from. `Ok(None)` means the file is not there
/// (HTTP 403 or 404), which ends the root chain.
pub trait Transport {
    fn fetch(
        &self,
        url: &str,
        max_len: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, FetchError>>;
}

/// HTTP(S) with rustls.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    http: reqwest::Client,
    timeout: Duration,
    credential: Option<Credential>,
    /// Hosts (`host` or `host:port`) allowed plain HTTP besides loopback.
    insecure: Vec<String>,
    /// `Authorization` values by access and repository URL.
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

/// What a trust service said to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    Stored,
    /// Someone published first (HTTP 409): fetch again and redo the change.
    Stale(String),
}

impl HttpTransport {
    /// `extra_ca`: PEM certificates to trust besides the system's. Plain
    /// HTTP only to loopback hosts.
    pub fn new(
        timeout: Duration,
        extra_ca: Option<&std::path::Path>,
    ) -> Result<HttpTransport, FetchError> {
        HttpTransport::allowing_http(timeout, extra_ca, Vec::new())
    }

    /// As [`HttpTransport::new`], also allowing plain HTTP (without a
    /// login) to `insecure` hosts (`host` or `host:port`), the way
    /// `--insecure-registry` does for registries.
    pub fn allowing_http(
        timeout: Duration,
        extra_ca: Option<&std::path::Path>,
        insecure: Vec<String>,
    ) -> Result<HttpTransport, FetchError> {
        let setup = |message: String| FetchError::Transport {
            url: String::new(),
            message,
        };
        let tls =
            clearance_oci::registry::tls_config(extra_ca).map_err(|e| setup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // Redirects follow the registry client's rule: plain HTTP on loopback only.
            .redirect(clearance_oci::registry::redirect_policy(insecure.clone()))
            .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(HttpTransport {
            http,
            timeout,
            credential: None,
            insecure,
            tokens: Arc::default(),
        })
    }

    /// Log in to the trust service's token realm with this credential.
    pub fn with_credential(mut self, credential: Option<Credential>) -> HttpTransport {
        self.credential = credential;
        self
    }

    /// Send a request, answering one `Bearer` challenge with a token.
    /// `access` says what the request does (`pull`, `push`): tokens are kept
    /// per repository and access, the way a challenge's scope asks for them.
    async fn send(
        &self,
        url: &str,
        access: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FetchError> {
        let transport = |e: reqwest::Error| request_error(url, &e);
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
        with_auth(&Some(auth)).send().await.map_err(transport)
    }

    /// POST a publish to a trust service (`metadata_url` is the repository's
    /// `…/_trust/tuf/` URL): one multipart part per file, named by role.
    pub async fn publish(
        &self,
        metadata_url: &str,
        files: &[(RoleName, Vec<u8>)],
    ) -> Result<PublishOutcome, FetchError> {
        let build = || {
            let mut form = reqwest::multipart::Form::new();
            for (role, bytes) in files {
                // Named as Notary's client names parts: `targets/releases.json`.
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(role.meta_name())
                    .mime_str("application/json")
                    .unwrap_or_else(|_| reqwest::multipart::Part::bytes(bytes.clone()));
                form = form.part("files", part);
            }
            self.http.post(metadata_url).multipart(form)
        };
        let resp = self.send(metadata_url, "push", build).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(PublishOutcome::Stored);
        }
        let message = reason(resp, metadata_url).await;
        if status == StatusCode::CONFLICT {
            return Ok(PublishOutcome::Stale(message));
        }
        Err(FetchError::Refused {
            url: metadata_url.to_owned(),
            status: status.as_u16(),
            message,
            hint: self.hint(status),
        })
    }

    /// What to do about an HTTP error: a 401 without a login asks for one.
    fn hint(&self, status: StatusCode) -> Option<&'static str> {
        (status == StatusCode::UNAUTHORIZED && self.credential.is_none()).then_some(
            "no login was given: set CLEARANCE_TRUST_CREDS or pass --trust-creds USER:PASSWORD",
        )
    }

    /// The public key the trust service holds for `role` (`timestamp` or
    /// `snapshot`) of the repository at `metadata_url`, made on first request.
    pub async fn server_key(
        &self,
        metadata_url: &str,
        role: TopRole,
    ) -> Result<crate::keys::Key, FetchError> {
        let url = key_url(metadata_url, role);
        // Making the key needs push.
        let bytes = self.get(&url, "push", 64 << 10).await?;
        public_key(url, bytes)
    }

    /// Check now that this client may publish to the repository at
    /// `metadata_url`: the push token is fetched (the login checked) by
    /// reading the service's timestamp key, which needs push. A wrong login
    /// or missing rights show here, before a publisher unseals any key.
    pub async fn check_push(&self, metadata_url: &str) -> Result<(), FetchError> {
        let url = key_url(metadata_url, TopRole::Timestamp);
        self.get(&url, "push", 64 << 10).await.map(|_| ())
    }

    /// Ask the trust service for a new key for `role`, which it will use
    /// once a published root names it.
    pub async fn rotate_server_key(
        &self,
        metadata_url: &str,
        role: TopRole,
    ) -> Result<crate::keys::Key, FetchError> {
        let url = key_url(metadata_url, role);
        let bytes = self
            .call(&url, "push", 64 << 10, || self.http.post(&url))
            .await?;
        public_key(url, bytes)
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

impl Transport for HttpTransport {
    async fn fetch(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return read_file(url, std::path::Path::new(path), max_len);
        }
        self.get(url, "pull", max_len).await
    }
}

impl HttpTransport {
    /// GET with a length limit; 403 and 404 are `None`.
    async fn get(
        &self,
        url: &str,
        access: &str,
        max_len: u64,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        self.call(url, access, max_len, || self.http.get(url)).await
    }

    /// A request and its answer's body, up to `max_len` bytes; 403 and 404
    /// are `None`.
    async fn call(
        &self,
        url: &str,
        access: &str,
        max_len: u64,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let resp = self.send(url, access, build).await?;
        match resp.status().as_u16() {
            200 => {}
            403 | 404 => return Ok(None),
            _ => {
                let status = resp.status();
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: status.as_u16(),
                    message: reason(resp, url).await,
                    hint: self.hint(status),
                });
            }
        }
        match clearance_oci::registry::read_body(resp, max_len, url).await {
            Ok(body) => Ok(Some(body)),
            Err(clearance_oci::registry::RegistryError::TooLarge { limit, .. }) => {
                Err(FetchError::TooLong {
                    url: url.to_owned(),
                    limit,
                })
            }
            Err(e) => Err(FetchError::Transport {
                url: url.to_owned(),
                message: e.to_string(),
            }),
        }
    }
}

/// The server's reason for an HTTP error: the OCI error envelope's first
/// message, else the start of the body. Bounded like every other body
/// (B-14): a hostile or broken service cannot fill memory with its refusal.
async fn reason(resp: reqwest::Response, url: &str) -> String {
    match clearance_oci::registry::read_body(resp, MAX_ERROR_BODY, url).await {
        Ok(body) => {
            let body = String::from_utf8_lossy(&body);
            serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.trim().chars().take(500).collect())
        }
        Err(e) => format!("its answer could not be read: {e}"),
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

/// Where a trust service serves the key it holds for `role`: `ROLE.key`.
fn key_url(metadata_url: &str, role: TopRole) -> String {
    format!("{metadata_url}{role}.key")
}

fn public_key(url: String, bytes: Option<Vec<u8>>) -> Result<crate::keys::Key, FetchError> {
    let bytes = bytes.ok_or_else(|| FetchError::NotFound { url: url.clone() })?;
    serde_json::from_slice(&bytes).map_err(|e| FetchError::Transport {
        url,
        message: format!("not a TUF public key: {e}"),
    })
}

/// `file://` URLs: a repository in a local directory (offline use, tests).
fn read_file(
    url: &str,
    path: &std::path::Path,
    max_len: u64,
) -> Result<Option<Vec<u8>>, FetchError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(FetchError::Transport {
                url: url.to_owned(),
                message: e.to_string(),
            });
        }
    };
    let mut out = Vec::new();
    // One byte past the limit tells a longer file; saturating, since a
    // target's signed length may be u64::MAX (B-18).
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    if out.len() as u64 > max_len {
        return Err(FetchError::TooLong {
            url: url.to_owned(),
            limit: max_len,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A server on 127.0.0.1 answering every request with `answer`.
    async fn serve(answer: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        format!("http://{addr}/")
    }

    /// A server on 127.0.0.1 that answers every request with `answer` and
    /// counts the requests that carried an `Authorization` header.
    async fn recording(answer: String) -> (std::net::SocketAddr, Arc<Mutex<u32>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("\r\nauthorization:")
                {
                    *count.lock().unwrap() += 1;
                }
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        (addr, seen)
    }

    /// A transport with a login that resolves `name` to `addr` (so a
    /// non-loopback host name reaches a server on 127.0.0.1).
    fn resolving(name: &str, addr: std::net::SocketAddr, insecure: Vec<String>) -> HttpTransport {
        let mut t = HttpTransport::allowing_http(Duration::from_secs(5), None, insecure.clone())
            .unwrap()
            .with_credential(Credential::parse_user_pass("alice:s3cret-pass"));
        t.http = reqwest::Client::builder()
            .use_preconfigured_tls(clearance_oci::registry::tls_config(None).unwrap())
            .redirect(clearance_oci::registry::redirect_policy(insecure))
            .resolve(name, addr)
            .build()
            .unwrap();
        t
    }

    #[tokio::test]
    async fn b2_no_login_goes_over_plain_http_to_a_host_that_is_not_loopback() {
        let basic = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"trust\"\r\nContent-Length: 0\r\n\r\n";
        let (addr, seen) = recording(basic.to_owned()).await;
        let name = "trust.example.test";
        let url = format!("http://{name}:{}/v2/r/a/_trust/tuf/root.json", addr.port());

        // Not named insecure: refused before anything is sent.
        let err = resolving(name, addr, Vec::new())
            .fetch(&url, 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Insecure { host } if host.starts_with(name)),
            "{err}"
        );
        assert!(err.to_string().contains("--insecure-trust-server"), "{err}");

        // Named insecure: plain HTTP is allowed, the login is not.
        let err = resolving(name, addr, vec![name.to_owned()])
            .fetch(&url, 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::CredentialsOverHttp { .. }),
            "{err}"
        );
        assert_eq!(*seen.lock().unwrap(), 0, "the login reached the server");

        // A Bearer realm over plain HTTP off loopback does not get it either.
        let bearer = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{name}:{}/token\",service=\"trust\"\r\nContent-Length: 0\r\n\r\n",
            addr.port()
        );
        let (addr, seen) = recording(bearer).await;
        let url = format!("http://{name}:{}/v2/r/a/_trust/tuf/root.json", addr.port());
        let err = resolving(name, addr, vec![name.to_owned()])
            .fetch(&url, 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::CredentialsOverHttp { .. }),
            "{err}"
        );
        assert_eq!(*seen.lock().unwrap(), 0);

        // On loopback the login is answered as before.
        let (addr, seen) = recording(basic.to_owned()).await;
        let url = format!("http://{addr}/v2/r/a/_trust/tuf/root.json");
        let _ = resolving("unused.test", addr, Vec::new())
            .fetch(&url, 1000)
            .await;
        assert_eq!(*seen.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_redirect_to_plain_http_off_loopback_is_refused() {
        let url = serve(
            "HTTP/1.1 302 Found\r\nLocation: http://trust.example.invalid/root.json\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
        let err = transport
            .fetch(&format!("{url}root.json"), 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Transport { message, .. }
                if message.contains("redirect to plain HTTP on trust.example.invalid")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn b14_a_refused_publish_reads_a_bounded_answer() {
        // 8 MiB of refusal, without a length: read until 64 KiB, then stop.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let head = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
            let _ = conn.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..128 {
                if conn.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let transport = HttpTransport::new(Duration::from_secs(10), None).unwrap();
        let url = format!("http://{addr}/v2/r/a/_trust/tuf/");
        let err = transport
            .publish(&url, &[(RoleName::TARGETS, b"{}".to_vec())])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Refused { status: 400, message, .. }
                if message.contains("larger than the limit of 65536 bytes")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn b18_a_limit_of_u64_max_does_not_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, b"abc").unwrap();
        let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
        let url = format!("file://{}", path.display());
        assert_eq!(
            transport.fetch(&url, u64::MAX).await.unwrap().unwrap(),
            b"abc"
        );
    }

    #[tokio::test]
    async fn a_body_longer_than_allowed_is_refused() {
        let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789").await;
        let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
        let err = transport.fetch(&url, 9).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLong { limit: 9, .. }), "{err}");
        assert_eq!(
            transport.fetch(&url, 10).await.unwrap().unwrap(),
            b"0123456789"
        );
    }
}
