//! npm packages: the `package.json` of each package directory under a
//! `node_modules` directory (`node_modules/NAME/package.json`,
//! `node_modules/@SCOPE/NAME/package.json`, nested at any depth), which
//! npm, yarn and pnpm all write. A `package.json` without `name` and
//! `version` (a nested `{"type": "module"}` marker) is not a package.
//!
//! Debian installs its `node-*` packages' modules elsewhere (Debian
//! JavaScript Policy; Node's global folders): `/usr/share/nodejs/NAME`
//! (architecture-independent), `/usr/lib/TRIPLET/nodejs/NAME`
//! (architecture-dependent) and the older `/usr/lib/nodejs/NAME`, each
//! with its `package.json`; these are read as package directories too.
//! The inventory then names the Debian package that owns each.

use super::{CatalogError, Cataloger, Package, PackageType};
use crate::os::Distro;

/// The npm cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Npm;

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn wants(&self, path: &str) -> bool {
        // Asked of every entry of every layer: no allocation.
        let Some(dir) = path.strip_suffix("/package.json") else {
            return false;
        };
        let (above, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        if name.starts_with('.') {
            return false;
        }
        if holds_packages(above) {
            return true;
        }
        // node_modules/@SCOPE/NAME/package.json
        let (above_scope, scope) = above.rsplit_once('/').unwrap_or(("", above));
        scope.starts_with('@') && holds_packages(above_scope)
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            path: path.to_owned(),
            reason,
        };
        // Node's loader strips a byte-order mark and, as JSON.parse, keeps
        // the last of duplicate keys: serde_json's map does the same.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let manifest: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(invalid(format!("not valid JSON ({e})")));
                return Ok(Vec::new());
            }
        };
        let field = |key: &str| manifest.get(key);
        match (field("name"), field("version")) {
            // A directory's `{"type": "module"}` marker: not a package.
            (None, None) => Ok(Vec::new()),
            (Some(serde_json::Value::String(name)), Some(serde_json::Value::String(version)))
                if !name.is_empty()
                    && !version.is_empty()
                    && name.len() <= 214
                    && version.len() <= 256 =>
            {
                Ok(vec![Package::language(
                    PackageType::Npm,
                    name.clone(),
                    version.clone(),
                    path,
                )])
            }
            (name, version) => {
                warnings.push(invalid(format!(
                    "name {} and version {} are not both non-empty strings",
                    shown(name),
                    shown(version)
                )));
                Ok(Vec::new())
            }
        }
    }
}

/// Whether an image path (no leading `/`) is a directory whose
/// subdirectories are npm packages: a `node_modules`, or one of Debian's
/// module directories (`usr/share/nodejs`, `usr/lib/nodejs`,
/// `usr/lib/TRIPLET/nodejs`).
pub fn holds_packages(dir: &str) -> bool {
    dir == "node_modules"
        || dir.ends_with("/node_modules")
        || dir == "usr/share/nodejs"
        || dir == "usr/lib/nodejs"
        || dir
            .strip_prefix("usr/lib/")
            .and_then(|d| d.strip_suffix("/nodejs"))
            .is_some_and(|triplet| !triplet.is_empty() && !triplet.contains('/'))
}

/// A JSON value for a message: short, escaped.
fn shown(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "missing".to_owned(),
        Some(v) => {
            let text = v.to_string();
            let cut: String = text.chars().take(64).collect();
            format!("{cut:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_of_each_package_directory() {
        let n = Npm;
        assert!(n.wants("app/node_modules/lodash/package.json"));
        assert!(n.wants("app/node_modules/@types/node/package.json"));
        assert!(n.wants("node_modules/a/node_modules/b/package.json"));
        assert!(n.wants("usr/lib/node_modules/npm/package.json"));
        assert!(!n.wants("app/package.json"));
        assert!(!n.wants("app/node_modules/lodash/fp/package.json"));
        assert!(!n.wants("app/node_modules/.bin/package.json"));
        assert!(!n.wants("app/node_modules/@types/node/ts4.8/package.json"));
        // Debian's module directories.
        assert!(n.wants("usr/share/nodejs/semver/package.json"));
        assert!(n.wants("usr/share/nodejs/@babel/core/package.json"));
        assert!(n.wants("usr/lib/nodejs/undici/package.json"));
        assert!(n.wants("usr/lib/x86_64-linux-gnu/nodejs/bufferutil/package.json"));
        assert!(n.wants("usr/share/nodejs/npm/node_modules/abbrev/package.json"));
        assert!(!n.wants("usr/share/nodejs/semver/functions/package.json"));
        assert!(!n.wants("usr/share/nodejs/package.json"));
        assert!(!n.wants("usr/local/share/nodejs/x/package.json"));
        assert!(!n.wants("usr/lib/a/b/nodejs/x/package.json"));
        assert!(!n.wants("usr/lib//nodejs/x/package.json"));
        let mut w = Vec::new();
        let got = n
            .read(
                "/app/node_modules/@types/node/package.json",
                br#"{"name":"@types/node","version":"20.1.0","dependencies":{"x":"1"}}"#,
                None,
                &mut w,
            )
            .unwrap();
        assert_eq!(got[0].purl, "pkg:npm/%40types/node@20.1.0");
        assert!(
            n.read("/x", br#"{"type":"module"}"#, None, &mut w)
                .unwrap()
                .is_empty()
        );
        assert!(n.read("/x", b"not json", None, &mut w).unwrap().is_empty());
    }
}
