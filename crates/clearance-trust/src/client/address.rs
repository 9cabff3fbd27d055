//! Where a repository's trust metadata is: a trust service's base URL
//! (`http://` or `https://`), or a directory (`file:///DIR`). Checked once,
//! when given, so that a typo is a usage error naming the accepted forms
//! rather than a failed request later (newcomer finding 8).

use std::path::{Path, PathBuf};

use crate::gun::Gun;

/// The accepted forms, for messages.
const FORMS: &str = "http://HOST[:PORT], https://HOST[:PORT] or file:///DIR";

/// Why a trust server address is refused (a usage error, before any
/// request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `scheme://`.
    #[error("{given:?} has no scheme: the trust server is {FORMS} (did you mean http://{given}?)")]
    NoScheme {
        /// The address given.
        given: String,
    },
    /// A scheme other than http, https and file.
    #[error("{given:?}: the scheme {scheme:?} is not one the trust server takes: {FORMS}")]
    Scheme {
        /// The address given.
        given: String,
        /// Its scheme.
        scheme: String,
    },
    /// Not a URL, or one without a host.
    #[error("{given:?} is not a URL ({reason}): the trust server is {FORMS}")]
    Malformed {
        /// The address given.
        given: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The URL itself is not kept: it holds a password.
    #[error(
        "the trust server URL carries a login (USER:PASSWORD@): give it with --trust-creds or CLEARANCE_TRUST_CREDS instead, so it is never printed"
    )]
    Login,
    /// A query or fragment.
    #[error("{given:?} has a query or fragment, which a trust server's base URL never has")]
    Query {
        /// The address given.
        given: String,
    },
    /// `file://` with a relative path.
    #[error("{given:?}: a file:// repository needs an absolute path, file:///DIR")]
    RelativeDirectory {
        /// The address given.
        given: String,
    },
}

/// A trust server, validated: a service (`http://`, `https://`, with a host
/// and no login, query or fragment) or a directory (`file:///DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddress {
    /// `clearance serve --trust`, or another Notary-compatible service.
    Service(reqwest::Url),
    /// A repository kept in a directory (`DIR/v2/<gun>/_trust/tuf/`).
    Directory(PathBuf),
}

impl std::str::FromStr for ServerAddress {
    type Err = AddressError;

    fn from_str(given: &str) -> Result<ServerAddress, AddressError> {
        let owned = || given.to_owned();
        if let Some(path) = given.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(AddressError::RelativeDirectory { given: owned() });
            }
            return Ok(ServerAddress::Directory(PathBuf::from(path)));
        }
        let Some((scheme, _)) = given.split_once("://") else {
            return Err(AddressError::NoScheme { given: owned() });
        };
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return Err(AddressError::Scheme {
                given: owned(),
                scheme: scheme.to_owned(),
            });
        }
        let url = reqwest::Url::parse(given).map_err(|e| AddressError::Malformed {
            given: owned(),
            reason: e.to_string(),
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(AddressError::Malformed {
                given: owned(),
                reason: "no host".into(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(AddressError::Login);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(AddressError::Query { given: owned() });
        }
        Ok(ServerAddress::Service(url))
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerAddress::Service(url) => f.write_str(url.as_str().trim_end_matches('/')),
            ServerAddress::Directory(dir) => write!(f, "file://{}", dir.display()),
        }
    }
}

impl ServerAddress {
    /// Where a repository's metadata lives (Notary's layout:
    /// `<base>/v2/<gun>/_trust/tuf/`), as a URL the transports take.
    pub fn metadata_url(&self, gun: &Gun) -> String {
        crate::image::metadata_url(&self.to_string(), gun)
    }

    /// The directory of a `file://` repository's metadata for `gun`.
    pub fn metadata_dir(&self, gun: &Gun) -> Option<PathBuf> {
        match self {
            // A Gun has no empty, `.` or `..` component: it stays inside DIR.
            ServerAddress::Directory(dir) => {
                Some(dir.join("v2").join(gun.as_str()).join("_trust/tuf"))
            }
            ServerAddress::Service(_) => None,
        }
    }

    /// The directory, for a `file://` repository.
    pub fn directory(&self) -> Option<&Path> {
        match self {
            ServerAddress::Directory(dir) => Some(dir),
            ServerAddress::Service(_) => None,
        }
    }

    /// Whether this is a trust service (not a directory).
    pub fn is_service(&self) -> bool {
        matches!(self, ServerAddress::Service(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n8_only_http_https_and_absolute_file_urls_are_trust_servers() {
        let gun = |s: &str| Gun::new(s).unwrap();
        let ok = |s: &str| s.parse::<ServerAddress>().unwrap();
        assert_eq!(
            ok("http://127.0.0.1:4443").metadata_url(&gun("r:5000/a/b")),
            "http://127.0.0.1:4443/v2/r:5000/a/b/_trust/tuf/"
        );
        assert_eq!(
            ok("https://trust.example.com/").to_string(),
            "https://trust.example.com"
        );
        assert!(ok("HTTPS://trust.example.com").is_service());
        assert_eq!(
            ok("file:///srv/trust").metadata_dir(&gun("r/a")),
            Some(PathBuf::from("/srv/trust/v2/r/a/_trust/tuf"))
        );
        let err = |s: &str| s.parse::<ServerAddress>().unwrap_err();
        assert!(matches!(
            err("127.0.0.1:4443"),
            AddressError::NoScheme { .. }
        ));
        assert!(
            err("127.0.0.1:4443")
                .to_string()
                .contains("did you mean http://127.0.0.1:4443?")
        );
        assert!(matches!(
            err("htp://127.0.0.1:1"),
            AddressError::Scheme { .. }
        ));
        assert!(matches!(err("ftp://host"), AddressError::Scheme { .. }));
        assert!(matches!(err("http://"), AddressError::Malformed { .. }));
        assert!(matches!(err("http://a b"), AddressError::Malformed { .. }));
        assert!(matches!(
            err("https://alice:pw@trust.example.com"),
            AddressError::Login
        ));
        assert!(!err("https://alice:pw@h").to_string().contains("pw@"));
        assert!(matches!(err("http://h/?x=1"), AddressError::Query { .. }));
        assert!(matches!(
            err("file://srv/trust"),
            AddressError::RelativeDirectory { .. }
        ));
    }
}
