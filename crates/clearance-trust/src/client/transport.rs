//! Fetching metadata and targets with a hard length limit.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: not found")]
    NotFound { url: String },
    #[error("{url}: more than the {limit} bytes allowed")]
    TooLong { url: String, limit: u64 },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
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
}

impl HttpTransport {
    /// `extra_ca`: PEM certificates to trust besides the system's.
    pub fn new(
        timeout: Duration,
        extra_ca: Option<&std::path::Path>,
    ) -> Result<HttpTransport, FetchError> {
        let setup = |message: String| FetchError::Transport {
            url: String::new(),
            message,
        };
        let tls =
            clearance_oci::registry::tls_config(extra_ca).map_err(|e| setup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(HttpTransport { http })
    }
}

impl Transport for HttpTransport {
    async fn fetch(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return read_file(url, std::path::Path::new(path), max_len);
        }
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let mut resp = self.http.get(url).send().await.map_err(transport)?;
        match resp.status().as_u16() {
            200 => {}
            403 | 404 => return Ok(None),
            status => {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status,
                });
            }
        }
        if resp.content_length().is_some_and(|n| n > max_len) {
            return Err(FetchError::TooLong {
                url: url.to_owned(),
                limit: max_len,
            });
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if (out.len() + chunk.len()) as u64 > max_len {
                return Err(FetchError::TooLong {
                    url: url.to_owned(),
                    limit: max_len,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }
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
    file.take(max_len + 1)
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
