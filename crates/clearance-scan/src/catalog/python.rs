//! Python distributions: the core metadata installers write beside each
//! installed project (PyPA "Recording installed projects"; core metadata
//! spec): `NAME-VERSION.dist-info/METADATA` (wheels, pip), and for older
//! installs `NAME.egg-info/PKG-INFO` or a single `NAME.egg-info` file.
//! Each is an RFC 822 header block: `Name:` and `Version:` before the first
//! blank line.

use super::{CatalogError, Cataloger, Package, PackageType};
use crate::os::Distro;

/// The Python cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Python;

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(".dist-info/METADATA")
            || path.ends_with(".egg-info/PKG-INFO")
            || (path.ends_with(".egg-info") && path.contains("-packages/"))
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(bytes);
        let mut name = None;
        let mut version = None;
        for line in text.lines().take_while(|l| !l.trim().is_empty()) {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let value = value.trim();
            if key.eq_ignore_ascii_case("Name") && name.is_none() && !value.is_empty() {
                name = Some(value.to_owned());
            } else if key.eq_ignore_ascii_case("Version") && version.is_none() && !value.is_empty()
            {
                version = Some(value.to_owned());
            }
        }
        let missing = |field| CatalogError::MissingField {
            path: path.to_owned(),
            line: 1,
            field,
        };
        let (Some(name), Some(version)) = (name, version) else {
            warnings.push(missing(if text.contains("Name:") {
                "Version"
            } else {
                "Name"
            }));
            return Ok(Vec::new());
        };
        Ok(vec![Package::language(
            PackageType::Python,
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
    fn dist_info_and_egg_info_metadata() {
        let p = Python;
        assert!(p.wants("usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA"));
        assert!(p.wants("usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO"));
        assert!(p.wants("usr/lib/python3/dist-packages/chardet-5.1.0.egg-info"));
        assert!(!p.wants("app/docs/x.egg-info"));
        assert!(!p.wants("usr/lib/python3/dist-packages/requests/__init__.py"));
        let metadata = b"Metadata-Version: 2.1\nName: Flask_SQLAlchemy\nVersion: 3.0.5\nSummary: x\nLicense: BSD\n  continued\n\nName: NotThis\n";
        let mut warnings = Vec::new();
        let got = p
            .read(
                "/site-packages/Flask_SQLAlchemy-3.0.5.dist-info/METADATA",
                metadata,
                None,
                &mut warnings,
            )
            .unwrap();
        assert_eq!(
            (got[0].name.as_str(), got[0].version.as_str()),
            ("Flask_SQLAlchemy", "3.0.5")
        );
        assert_eq!(got[0].purl, "pkg:pypi/flask-sqlalchemy@3.0.5");
        assert!(warnings.is_empty());
        let got = p
            .read("/x.egg-info/PKG-INFO", b"Name: x\n", None, &mut warnings)
            .unwrap();
        assert!(got.is_empty());
        assert!(matches!(
            warnings.as_slice(),
            [CatalogError::MissingField {
                field: "Version",
                ..
            }]
        ));
    }
}
