//! HTTP plumbing shared by registry and trust clients: retries with
//! backoff, the plain-HTTP rule (loopback and named hosts only, redirects
//! included), bounded body reads, and errors in the OCI envelope.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};

use crate::registry::error::{Envelope, RegistryError};

pub(crate) const MAX_ERROR_BODY: u64 = 64 << 10;
const MAX_REDIRECTS: usize = 5;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How often and how patiently to retry a request.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Retries after a 429, a 5xx or a failed connection.
    pub retries: u32,
    /// The first retry's delay; each later one doubles it.
    pub backoff: Duration,
}

/// Send the request `build` makes, again after a 429, a 5xx or a failed
/// connection, waiting longer each time (or as `Retry-After` says, capped).
pub async fn send_with_retry(
    retry: Retry,
    url: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Response, RegistryError> {
    let mut attempt = 0;
    loop {
        let retryable = attempt < retry.retries;
        let delay = retry.backoff * 2u32.saturating_pow(attempt);
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

/// Plain HTTP may go to loopback hosts and to hosts named insecure.
pub fn http_allowed(authority: &str, insecure: &[String]) -> bool {
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

/// `host` or `host:port` of a URL, as `http_allowed` takes it.
pub(crate) fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// Whether a request failed on the peer's TLS certificate.
pub(crate) fn is_certificate_error(e: &reqwest::Error) -> bool {
    error_chain(e).contains("certificate")
}

/// A redirect to plain HTTP must obey the same rule as the first request.
#[derive(Debug, thiserror::Error)]
#[error("redirect to plain HTTP on {host} refused")]
struct InsecureRedirect {
    host: String,
}

/// At most 5 redirects, and plain HTTP only where `http_allowed` says so.
pub fn redirect_policy(insecure: Vec<String>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("too many redirects (more than {MAX_REDIRECTS})"));
        }
        let url = attempt.url();
        let authority = authority(url);
        let scheme = url.scheme().to_owned();
        match scheme.as_str() {
            "https" => attempt.follow(),
            "http" if http_allowed(&authority, &insecure) => attempt.follow(),
            "http" => attempt.error(InsecureRedirect { host: authority }),
            _ => attempt.error(format!("redirect to unsupported scheme {scheme:?}")),
        }
    })
}

pub(crate) fn retry_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

pub(crate) fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

pub(crate) fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        _ => "GET",
    }
}

pub(crate) fn transport_error(url: &str, e: &reqwest::Error) -> RegistryError {
    use std::error::Error as _;
    let mut message = error_chain(e);
    if is_certificate_error(e) {
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
pub fn error_chain(e: &reqwest::Error) -> String {
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
pub(crate) async fn read_limited(
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

/// A whole body, refusing more than `limit` bytes (by `Content-Length`
/// before reading, and while reading).
pub async fn read_body(
    mut resp: Response,
    limit: u64,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
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

pub(crate) async fn http_error(
    method: &'static str,
    resp: Response,
    deadline: Duration,
) -> RegistryError {
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
