//! Fetching metadata and targets with a hard length limit, and sending a
//! publish to a trust service; both answer a Docker-style `Bearer`
//! challenge with a token from the realm it names.
//!
//! Plain HTTP follows the registry client's rule (`clearance_oci::registry::
//! http_allowed`): the trust server, its redirects and its token realm may
//! use it only on loopback or on hosts named insecure. A login never goes
//! over plain HTTP off loopback, not even to a host named insecure: it is
//! the login the token endpoint turns into push tokens (review B-2).
//!
//! The pieces: [`FetchError`] and how a failed request is told apart
//! (error.rs); the plain-HTTP rule and the `Bearer`/`Basic` handshake
//! (auth.rs); what only a trust service answers, publishes and its keys
//! (service.rs); `file://` reads (file.rs).

mod auth;
mod error;
mod file;
mod service;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clearance_oci::registry::Credential;

pub use error::{FetchError, TlsProblem};

/// Where the client gets bytes from. `Ok(None)` means the file is not there
/// (HTTP 403 or 404), which ends the root chain.
pub trait Transport {
    /// The bytes at `url`, at most `max_len` of them (an error past that),
    /// or `None` when it is not there.
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
    /// Stored: the publish landed (or there was nothing to publish).
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
        let setup = |message: String| FetchError::Setup { message };
        let tls = clearance_oci::registry::tls_config(extra_ca).map_err(|e| match e {
            clearance_oci::registry::RegistryError::Tls(message) => setup(message),
            other => setup(other.to_string()),
        })?;
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
}

impl Transport for HttpTransport {
    async fn fetch(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return file::read_file(url, std::path::Path::new(path), max_len);
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
                    message: service::reason(resp, url).await,
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

#[cfg(test)]
mod tests;
