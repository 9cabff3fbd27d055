//! npm packages: the `package.json` of each package directory under a
//! `node_modules` directory (`node_modules/NAME/package.json`,
//! `node_modules/@SCOPE/NAME/package.json`, nested at any depth), which
//! npm, yarn and pnpm all write. A `package.json` without `name` and
//! `version` (a nested `{"type": "module"}` marker) is not a package.

use serde::Deserialize;

use super::{CatalogError, Cataloger, Package, PackageType};
use crate::os::Distro;

/// The npm cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Npm;

#[derive(Deserialize)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
}

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn wants(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.rsplitn(4, '/').collect();
        // Reversed: package.json, NAME, node_modules | @SCOPE, rest.
        match parts.as_slice() {
            ["package.json", name, "node_modules", ..] => !name.starts_with('.'),
            ["package.json", name, scope, rest] => {
                scope.starts_with('@')
                    && !name.starts_with('.')
                    && (*rest == "node_modules" || rest.ends_with("/node_modules"))
            }
            _ => false,
        }
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        _warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        // Keys other than these two are skipped, whatever their size.
        let Ok(Manifest {
            name: Some(name),
            version: Some(version),
        }) = serde_json::from_slice::<Manifest>(bytes)
        else {
            return Ok(Vec::new());
        };
        if name.is_empty() || version.is_empty() || name.len() > 214 || version.len() > 256 {
            return Ok(Vec::new());
        }
        Ok(vec![Package::language(
            PackageType::Npm,
            name,
            version,
            path,
        )])
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
