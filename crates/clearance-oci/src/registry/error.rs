use crate::verify::VerifyError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{method} {url}: HTTP {status}{}: {message}", code.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    Http {
        method: &'static str,
        url: String,
        status: u16,
        /// The OCI error envelope's code (`MANIFEST_UNKNOWN`, `DENIED`, …).
        code: Option<String>,
        message: String,
    },
    #[error("{url}: authentication required{}", hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
    Unauthorized { url: String, hint: Option<String> },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("getting a token from {realm}: {message}")]
    Token { realm: String, message: String },
    /// The registry's `WWW-Authenticate` challenge names a realm that is not
    /// an `http`/`https` URL (`file:///etc/passwd`, garbage).
    #[error(
        "the registry's token realm {realm:?} is not an http(s) URL{}; refusing to ask it for a \
         token (the registry's WWW-Authenticate header is wrong)",
        reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    BadRealm {
        realm: String,
        /// Why it does not parse, if it does not.
        reason: Option<String>,
    },
    #[error("{url}: response larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error(
        "refusing plain HTTP to {host}: only loopback hosts and hosts named with --insecure-registry may use it"
    )]
    InsecureRefused { host: String },
    /// A registry answered with a success the spec does not allow there
    /// (an upload session without a `Location`, a digest that is none).
    #[error("{method} {url}: HTTP {status}: {message}")]
    Protocol {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
    },
    /// A file to upload could not be read.
    #[error("reading {}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("docker config: {0}")]
    Config(String),
    #[error(transparent)]
    CredentialHelper(#[from] crate::registry::auth::HelperError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

impl RegistryError {
    /// The HTTP status, where the registry answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Http { status, .. } | RegistryError::Protocol { status, .. } => {
                Some(*status)
            }
            RegistryError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

/// The OCI distribution error envelope.
#[derive(serde::Deserialize)]
pub(crate) struct Envelope {
    pub errors: Vec<EnvelopeError>,
}

#[derive(serde::Deserialize)]
pub(crate) struct EnvelopeError {
    pub code: Option<String>,
    pub message: Option<String>,
}
