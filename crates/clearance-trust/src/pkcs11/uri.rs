//! RFC 7512 `pkcs11:` URIs, as far as Clearance reads them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use super::Pkcs11Error;

/// A parsed `pkcs11:` URI: `token` and `object` in the path, and
/// `module-path`, `pin-value` or `pin-source` in the query. `object` (the
/// key's label) may be left out for the caller to choose one, as `trust`
/// does: a label per repository (review B-7).
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The token's label (`token=`).
    pub token: String,
    /// The key's label (`object=`), if given.
    pub object: Option<String>,
    /// The PKCS#11 module (`module-path=`), if given.
    pub module_path: Option<PathBuf>,
    pin_value: Option<String>,
    /// A file holding the PIN (`pin-source=`), if given.
    pub pin_source: Option<PathBuf>,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("module_path", &self.module_path)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "****"))
            .finish()
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| Pkcs11Error::Uri {
            uri: uri.split('?').next().unwrap_or("").to_owned(),
            reason: reason.to_owned(),
        };
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| fail("must start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut attrs = HashMap::new();
        for pair in path
            .split(';')
            .chain(query.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| fail("attributes are name=value"))?;
            attrs.insert(
                k.to_owned(),
                crate::client::unquote(v).ok_or_else(|| fail("bad percent-encoding"))?,
            );
        }
        Ok(Pkcs11Uri {
            token: attrs.remove("token").ok_or_else(|| fail("no token="))?,
            object: attrs.remove("object"),
            module_path: attrs.remove("module-path").map(PathBuf::from),
            pin_value: attrs.remove("pin-value"),
            pin_source: attrs.remove("pin-source").map(PathBuf::from),
        })
    }
}

impl Pkcs11Uri {
    /// The user PIN: `pin-value`, else the file named by `pin-source`.
    pub fn pin(&self) -> Result<Option<String>, Pkcs11Error> {
        if let Some(p) = &self.pin_value {
            return Ok(Some(p.clone()));
        }
        match &self.pin_source {
            Some(path) => std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|e| Pkcs11Error::Token {
                    token: self.token.clone(),
                    message: format!("reading pin-source {}: {e}", path.display()),
                }),
            None => Ok(None),
        }
    }
}
