//! What can go wrong reaching the trust server, told apart: no connection,
//! TLS (with what to do), the server's own refusal, the plain-HTTP rule.

use std::time::Duration;

/// Why a request to the trust server (or a read of a `file://`
/// repository) failed. [`FetchError::is_unanswered`] tells "could not ask"
/// from an answer about the metadata.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The file is not there (a fetch that needed it).
    #[error("{url}: not found")]
    NotFound {
        /// What was asked for.
        url: String,
    },
    /// The answer is longer than the limit for what was asked (bytes).
    #[error("{url}: more than the {limit} bytes allowed")]
    TooLong {
        /// What was asked for.
        url: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// An HTTP error, with the server's own reason (the OCI error
    /// envelope's message, or the start of its body) when it gave one.
    #[error("{url}: HTTP {status}{}{}", prefixed(": ", message), prefixed("; ", hint.unwrap_or_default()))]
    Status {
        /// What was asked for.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's reason (possibly empty).
        message: String,
        /// What to do, when this client knows (a missing login).
        hint: Option<&'static str>,
    },
    /// A trust service refused a publish (4xx or 5xx other than 409), with
    /// its reason.
    #[error("{url}: the trust service refused the publish (HTTP {status}): {message}{}", prefixed("; ", hint.unwrap_or_default()))]
    Refused {
        /// The repository's metadata URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The service's reason.
        message: String,
        /// What to do, when this client knows.
        hint: Option<&'static str>,
    },
    /// No connection: the host does not resolve, nothing listens, or it
    /// did not answer in time.
    #[error(
        "cannot reach {url}: {message} (is the trust server's address right, and is it running?)"
    )]
    Unreachable {
        /// What was asked for.
        url: String,
        /// The last cause (`Connection refused`, a DNS failure, `timed out`).
        message: String,
    },
    /// The server took the connection but did not answer within the
    /// timeout (`--timeout`).
    #[error(
        "the trust server at {server} did not answer within {secs} s (it took the connection; it may be overloaded or stuck): try again, or give a longer --timeout"
    )]
    Stalled {
        /// The server (`scheme://host:port`).
        server: String,
        /// What was asked for.
        url: String,
        /// The timeout, in seconds.
        secs: u64,
    },
    /// The TLS handshake failed.
    #[error("{url}: {problem}")]
    Tls {
        /// What was asked for.
        url: String,
        /// Why, and what to do.
        problem: TlsProblem,
    },
    /// The token service refused the login given.
    #[error(
        "{realm}: the token service refused the credentials given (--trust-creds or CLEARANCE_TRUST_CREDS)"
    )]
    LoginRefused {
        /// The token realm.
        realm: String,
    },
    /// The server refused a Basic login (HTTP 401 to the request that
    /// carried it).
    #[error(
        "{url}: the trust server {server} refused the login for user {user:?} (HTTP 401): check the user and password in CLEARANCE_TRUST_CREDS or --trust-creds (USER:PASSWORD), and that {server} knows this user"
    )]
    BasicRefused {
        /// The user of the login.
        user: String,
        /// The server's `host[:port]`.
        server: String,
        /// What was asked for.
        url: String,
    },
    /// Any other failure of the request or of reading its answer.
    #[error("{url}: {message}")]
    Transport {
        /// What was asked for.
        url: String,
        /// The cause chain.
        message: String,
    },
    /// The HTTP client could not be set up: the trust server's CA bundle
    /// (`--trust-ca-file`) is unreadable or holds no certificate.
    #[error(
        "setting up TLS for the trust server: {message} (check --trust-ca-file or CLEARANCE_TRUST_CA_FILE)"
    )]
    Setup {
        /// Why.
        message: String,
    },
    /// Plain HTTP to a host that is neither loopback nor named insecure
    /// (the server, a redirect, or a token realm).
    #[error(
        "refusing plain HTTP to {host}: only loopback hosts and hosts named with --insecure-trust-server may use it; use https://"
    )]
    Insecure {
        /// `host[:port]`.
        host: String,
    },
    /// The login would go over plain HTTP off loopback (review B-2).
    #[error(
        "refusing to send the trust server login to {host} over plain HTTP (it earns push tokens); use https://, or no login for public reads"
    )]
    CredentialsOverHttp {
        /// `host[:port]`.
        host: String,
    },
}

/// Why a TLS handshake with the trust server failed, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    /// The certificate does not chain to a CA this client trusts.
    #[error(
        "its certificate is not signed by a CA this client trusts: pass the CA with --trust-ca-file or CLEARANCE_TRUST_CA_FILE"
    )]
    UntrustedCa,
    /// The server did not speak TLS (an `https://` URL for a plain service).
    #[error("the server did not answer TLS; is it http://?")]
    NotTls,
    /// An `http://` URL for a server that speaks TLS (its answer to plain
    /// HTTP is a TLS alert, which no HTTP parser takes).
    #[error("the server speaks TLS, not plain HTTP: use https://")]
    OnlyTls,
    /// Any other TLS failure, as rustls names it.
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
pub(super) fn request_error(url: &str, e: &reqwest::Error, timeout: Duration) -> FetchError {
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
    if url.starts_with("http://") && answered_unparsable(e) {
        return FetchError::Tls {
            url: url.to_owned(),
            problem: TlsProblem::OnlyTls,
        };
    }
    // Connected, then no answer in time: not "cannot reach" (finding 14 #2).
    if e.is_timeout() && !e.is_connect() {
        return FetchError::Stalled {
            server: reqwest::Url::parse(url)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| url.to_owned()),
            url: url.to_owned(),
            secs: timeout.as_secs(),
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

/// Whether the server answered with bytes that are not HTTP: what a TLS
/// server sends (an alert record, `0x15 0x03 …`) to a plain request.
fn answered_unparsable(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
        {
            return true;
        }
        source = s.source();
    }
    false
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
