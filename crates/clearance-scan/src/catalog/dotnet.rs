//! .NET packages: the `APP.deps.json` the .NET SDK writes beside each
//! application it publishes (dotnet/sdk `GenerateDepsFile`; the host reads
//! it, docs "runtime configuration: deps.json"). Its `libraries` object has
//! one entry per library the application loads, keyed `NAME/VERSION`, with
//! a `type`: `package` for a NuGet package, `project` for the
//! application's own projects, `reference` for a referenced assembly,
//! `runtimepack` for the runtime a self-contained application carries.
//! Only packages are listed; the others are not on nuget.org.
//!
//! ```json
//! "libraries": {
//!   "webapp/1.0.0": { "type": "project", "serviceable": false, "sha512": "" },
//!   "Newtonsoft.Json/13.0.3": { "type": "package", "serviceable": true,
//!     "sha512": "sha512-…", "path": "newtonsoft.json/13.0.3" }
//! }
//! ```

use serde::Deserialize;

use super::lenient::{Keyed, Skipped, Text, usable};
use super::{CatalogError, Cataloger, Package, PackageType, json_reason};
use crate::os::Distro;

/// The deps.json cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Dotnet;

/// The part of a deps.json read; `targets` and the rest are skipped.
#[derive(Deserialize)]
struct DepsJson {
    #[serde(default)]
    libraries: Keyed<Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type")]
    kind: Option<Text>,
}

impl Cataloger for Dotnet {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn wants(&self, path: &str) -> bool {
        path.strip_suffix(".deps.json").is_some_and(|p| {
            let file = p.rsplit('/').next().unwrap_or(p);
            !file.is_empty()
        })
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        // The SDK writes a byte-order mark; System.Text.Json skips it.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let invalid = |reason: String| CatalogError::Invalid {
            path: path.to_owned(),
            reason,
        };
        // serde would read a struct from an array too; the file is an object.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(invalid("not a JSON object".to_owned()));
        }
        let deps: DepsJson =
            serde_json::from_slice(bytes).map_err(|e| invalid(json_reason("deps.json", &e)))?;
        if deps.libraries.too_many() {
            return Err(CatalogError::TooManyPackages {
                path: path.to_owned(),
            });
        }
        let mut out = Vec::new();
        let mut skipped = Skipped::default();
        for (key, library) in &deps.libraries.0 {
            if library.kind != Some(Text::Str("package".to_owned())) {
                continue;
            }
            let (name, version) = match key.split_once('/') {
                Some((n, v)) => (Text::Str(n.to_owned()), Text::Str(v.to_owned())),
                None => (Text::Str(key.clone()), Text::Other("missing")),
            };
            let (Some(n), Some(v)) = (usable(Some(&name)), usable(Some(&version))) else {
                skipped.note(
                    || format!("library {}", super::quoted(key)),
                    Some(&name),
                    Some(&version),
                );
                continue;
            };
            out.push(Package::language(
                PackageType::Nuget,
                n.to_owned(),
                v.to_owned(),
                path,
            ));
        }
        warnings.extend(skipped.warning(path, "package libraries"));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deps.json as `dotnet publish` writes it for a .NET 8 web app.
    const DEPS: &str = r#"{
  "runtimeTarget": {
    "name": ".NETCoreApp,Version=v8.0",
    "signature": ""
  },
  "compilationOptions": {},
  "targets": {
    ".NETCoreApp,Version=v8.0": {
      "webapp/1.0.0": {
        "dependencies": {
          "Newtonsoft.Json": "13.0.3",
          "Serilog.AspNetCore": "8.0.0",
          "Shared": "1.0.0"
        },
        "runtime": {
          "webapp.dll": {}
        }
      },
      "Newtonsoft.Json/13.0.3": {
        "runtime": {
          "lib/net6.0/Newtonsoft.Json.dll": {
            "assemblyVersion": "13.0.0.0",
            "fileVersion": "13.0.3.27908"
          }
        }
      },
      "Serilog.AspNetCore/8.0.0": {},
      "Shared/1.0.0": {
        "runtime": {
          "Shared.dll": {}
        }
      }
    }
  },
  "libraries": {
    "webapp/1.0.0": {
      "type": "project",
      "serviceable": false,
      "sha512": ""
    },
    "Newtonsoft.Json/13.0.3": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ==",
      "path": "newtonsoft.json/13.0.3",
      "hashPath": "newtonsoft.json.13.0.3.nupkg.sha512"
    },
    "Serilog.AspNetCore/8.0.0": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-FAjtKPZ4IzqFQBqZKPv6evcXK/F0ls7RoXI/62Pnx2igkDZ6nZ/jn/C/FxVATqQbEQvtqP+KViWYIe4NZIHa2w==",
      "path": "serilog.aspnetcore/8.0.0",
      "hashPath": "serilog.aspnetcore.8.0.0.nupkg.sha512"
    },
    "Shared/1.0.0": {
      "type": "project",
      "serviceable": false,
      "sha512": ""
    },
    "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {
      "type": "runtimepack",
      "serviceable": false,
      "sha512": ""
    }
  }
}"#;

    fn read(text: &[u8], w: &mut Vec<CatalogError>) -> Result<Vec<Package>, CatalogError> {
        Dotnet.read("/app/webapp.deps.json", text, None, w)
    }

    #[test]
    fn package_libraries_are_listed_and_projects_skipped() {
        let mut w = Vec::new();
        let got = read(DEPS.as_bytes(), &mut w).unwrap();
        assert_eq!(
            crate::catalog::listed(&got),
            [
                (
                    "Newtonsoft.Json",
                    "13.0.3",
                    "pkg:nuget/Newtonsoft.Json@13.0.3"
                ),
                (
                    "Serilog.AspNetCore",
                    "8.0.0",
                    "pkg:nuget/Serilog.AspNetCore@8.0.0"
                ),
            ]
        );
        assert!(w.is_empty(), "{w:?}");
        // With the byte-order mark the SDK writes.
        let bom = [b"\xef\xbb\xbf".as_slice(), DEPS.as_bytes()].concat();
        assert_eq!(read(&bom, &mut w).unwrap(), got);
        assert!(read(b"{}", &mut w).unwrap().is_empty());
    }

    #[test]
    fn any_deps_json_is_wanted() {
        assert!(Dotnet.wants("app/webapp.deps.json"));
        assert!(Dotnet.wants(
            "usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json"
        ));
        assert!(!Dotnet.wants("app/.deps.json"));
        assert!(!Dotnet.wants("app/webapp.runtimeconfig.json"));
        assert!(!Dotnet.wants("app/deps.json"));
    }

    #[test]
    fn bad_libraries_are_one_warning_and_bad_files_an_error() {
        let mut w = Vec::new();
        let text = br#"{"libraries": {"NoVersion": {"type": "package"}, "A/": {"type": "package"}, "B/1.0": {"type": 3}, "C/2.0": {"type": "package"}}}"#;
        let got = read(text, &mut w).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].purl, "pkg:nuget/C@2.0");
        let [CatalogError::Invalid { reason, .. }] = w.as_slice() else {
            panic!("{w:?}");
        };
        assert!(
            reason.starts_with("2 package libraries without")
                && reason.contains("library \"NoVersion\""),
            "{reason}"
        );
        for bad in [
            b"not json".as_slice(),
            b"[]",
            br#"{"libraries": []}"#,
            br#"{"libraries": {"A/1": 5}}"#,
            br#"{"libraries": {}, "libraries": {}}"#,
        ] {
            let e = read(bad, &mut Vec::new());
            assert!(
                matches!(e, Err(CatalogError::Invalid { .. })),
                "{} {e:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
