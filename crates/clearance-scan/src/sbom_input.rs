//! Reading an SBOM back into an [`Inventory`], for `clearance scan
//! sbom:FILE`: CycloneDX JSON (1.2–1.6: `components[]`, nested
//! `components`), SPDX 2.x JSON (`packages[].externalRefs` of type
//! `purl`), and Clearance's own `clearance.sbom/v1`.
//!
//! Each package comes from its purl (package-url spec): the type gives the
//! [`PackageType`] (`deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, `gem`,
//! `composer`, `nuget`; others are counted as unsupported), the namespace
//! and name the package's name (`@types/node`, `symfony/console`), the
//! `distro` qualifier (`debian-12`, `alpine-3.19.1`) the distribution, and
//! the `upstream` qualifier the source package, as Syft and Clearance
//! write them. What Clearance's own SBOMs say besides is read too: the
//! layer and the file that lists each package (CycloneDX `clearance:`
//! properties, SPDX `sourceInfo`, `clearance.sbom/v1` fields), the OS
//! package that installed a language package (`owned_by`: matched through
//! it, as an image scan matches it), and that a package was removed by a
//! later layer (`sbom --all-layers`: not in the image, so not read). Other
//! SBOMs' packages are in layer 0.

use std::str::FromStr;

use serde::Deserialize;

use crate::catalog::{Package, PackageType, SourcePackage};
use crate::inventory::{Found, Inventory, Owner};
use crate::os::Distro;

/// Largest SBOM read, in bytes.
pub const MAX_SBOM_BYTES: usize = 256 << 20;
/// Most components read.
pub const MAX_COMPONENTS: usize = 500_000;

/// Why an SBOM could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// Over [`MAX_SBOM_BYTES`].
    #[error("the SBOM is {0} bytes, over the {MAX_SBOM_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON of a known shape.
    #[error(
        "not a CycloneDX, SPDX or clearance.sbom JSON document ({0}); give `sbom:FILE` a JSON SBOM (XML and tag-value are not read)"
    )]
    Invalid(String),
    /// More than [`MAX_COMPONENTS`].
    #[error("more than {MAX_COMPONENTS} components")]
    TooMany,
}

/// An SBOM read: its packages as an inventory, and what was left out.
#[derive(Debug, Default)]
pub struct SbomInventory {
    /// The packages (all in "layer" 0).
    pub inventory: Inventory,
    /// The format read (`CycloneDX 1.6`, `SPDX-2.3`, `clearance.sbom/v1`).
    pub format: String,
    /// Components without a purl.
    pub without_purl: usize,
    /// Components whose purl type is not one Clearance matches, by type.
    pub unsupported: std::collections::BTreeMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CdxBom {
    spec_version: Option<String>,
    metadata: Option<CdxMetadata>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxMetadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxComponent {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    properties: Vec<CdxProperty>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxProperty {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDoc {
    spdx_version: String,
    #[serde(default)]
    creation_info: Option<SpdxCreation>,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
}

#[derive(Deserialize)]
struct SpdxCreation {
    #[serde(default)]
    creators: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(default)]
    external_refs: Vec<SpdxRef>,
    #[serde(default)]
    source_info: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    primary_package_purpose: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRef {
    reference_type: String,
    reference_locator: String,
}

#[derive(Deserialize)]
struct OwnSbom {
    #[serde(default)]
    packages: Vec<OwnPackage>,
}

#[derive(Deserialize)]
struct OwnPackage {
    purl: String,
    #[serde(default)]
    removed_in: Option<usize>,
    #[serde(default)]
    layer: Option<usize>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    owned_by: Option<OwnOwner>,
}

#[derive(Deserialize)]
struct OwnOwner {
    #[serde(rename = "type")]
    kind: String,
    name: String,
}

/// One package an SBOM lists, with what Clearance's own SBOMs say of it
/// besides its purl: the layer, the file that lists it, and the OS package
/// that installed it (its fixes are the distribution's: it is matched
/// through that package, as an image scan matches it).
#[derive(Default)]
struct Listed {
    purl: String,
    layer: Option<usize>,
    path: Option<String>,
    owner: Option<Owner>,
}

/// `deb`, `apk` or `rpm` and a name, as an owner.
fn owner(kind: &str, name: &str) -> Option<Owner> {
    let kind = match kind {
        "deb" => PackageType::Deb,
        "apk" => PackageType::Apk,
        "rpm" => PackageType::Rpm,
        _ => return None,
    };
    (!name.is_empty()).then(|| Owner {
        kind,
        name: name.to_owned(),
    })
}

/// What Clearance's SPDX writer says of a package in `sourceInfo`
/// (`listed in PATH in layer N (diff_id …); installed by KIND package
/// NAME`): the path, the layer, the owner.
fn spdx_source_info(text: &str) -> (Option<String>, Option<usize>, Option<Owner>) {
    let (listed, installed) = match text.split_once("; installed by ") {
        Some((l, i)) => (l, Some(i)),
        None => (text, None),
    };
    let owner = installed.and_then(|i| {
        let (kind, name) = i.split_once(" package ")?;
        owner(kind, name)
    });
    let Some(rest) = listed.strip_prefix("listed in ") else {
        return (None, None, owner);
    };
    match rest.rsplit_once(" in layer ") {
        Some((path, layer)) => {
            let index = layer.split(' ').next().and_then(|n| n.parse().ok());
            (Some(path.to_owned()), index, owner)
        }
        None => (None, None, owner),
    }
}

/// Read an SBOM.
///
/// # Errors
///
/// [`SbomError`] naming what is wrong.
pub fn read(bytes: &[u8]) -> Result<SbomInventory, SbomError> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(SbomError::TooLarge(bytes.len()));
    }
    let top: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| SbomError::Invalid(e.to_string()))?;
    let mut purls: Vec<Listed> = Vec::new();
    let mut out = SbomInventory::default();
    let mut os: Option<(String, Option<String>)> = None;
    if top.get("bomFormat").and_then(|v| v.as_str()) == Some("CycloneDX") {
        let bom: CdxBom = serde_json::from_value(serde_json::Value::Object(top))
            .map_err(|e| SbomError::Invalid(e.to_string()))?;
        out.format = format!("CycloneDX {}", bom.spec_version.unwrap_or_default());
        let mut stack: Vec<CdxComponent> = bom.components;
        if let Some(c) = bom.metadata.and_then(|m| m.component) {
            stack.extend(c.components);
        }
        while let Some(c) = stack.pop() {
            if purls.len() > MAX_COMPONENTS {
                return Err(SbomError::TooMany);
            }
            if c.kind.as_deref() == Some("operating-system") {
                os = c
                    .name
                    .clone()
                    .map(|n| (n.to_lowercase(), c.version.clone()));
            }
            let property = |name: &str| {
                c.properties
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.value.as_str())
            };
            // A package a later layer removed (`sbom --all-layers`) is
            // not in the image.
            let removed = property("clearance:removed_in").is_some();
            let listed = c.purl.as_ref().map(|purl| Listed {
                purl: purl.clone(),
                layer: property("clearance:layer:index").and_then(|l| l.parse().ok()),
                path: property("clearance:path").map(str::to_owned),
                owner: property("clearance:owned_by")
                    .and_then(|o| o.split_once(':'))
                    .and_then(|(kind, name)| owner(kind, name)),
            });
            match listed {
                Some(_) if removed => {}
                Some(l) => purls.push(l),
                None if c.kind.as_deref() != Some("operating-system") => out.without_purl += 1,
                None => {}
            }
            stack.extend(c.components);
        }
    } else if let Some(version) = top.get("spdxVersion").and_then(|v| v.as_str()) {
        out.format = version.to_owned();
        let doc: SpdxDoc = serde_json::from_value(serde_json::Value::Object(top))
            .map_err(|e| SbomError::Invalid(e.to_string()))?;
        out.format = doc.spdx_version;
        let ours = doc
            .creation_info
            .is_some_and(|c| c.creators.iter().any(|t| t.starts_with("Tool: clearance-")));
        for p in doc.packages {
            // The image and its distribution are what the document is
            // about, not packages to match (SPDX 2.3 §7.24).
            if matches!(
                p.primary_package_purpose.as_deref(),
                Some("CONTAINER" | "OPERATING_SYSTEM")
            ) {
                continue;
            }
            // Clearance's own SPDX says a removed package in `comment`,
            // and where each was listed in `sourceInfo`.
            if ours
                && p.comment
                    .as_deref()
                    .is_some_and(|c| c.starts_with("removed by layer "))
            {
                continue;
            }
            let (path, layer, owner) = match (&p.source_info, ours) {
                (Some(info), true) => spdx_source_info(info),
                _ => (None, None, None),
            };
            match p
                .external_refs
                .into_iter()
                .find(|r| r.reference_type == "purl")
            {
                Some(r) => purls.push(Listed {
                    purl: r.reference_locator,
                    layer,
                    path,
                    owner,
                }),
                None => out.without_purl += 1,
            }
        }
    } else if top.get("schema").and_then(|v| v.as_str()) == Some("clearance.sbom/v1") {
        out.format = "clearance.sbom/v1".into();
        let own: OwnSbom = serde_json::from_value(serde_json::Value::Object(top))
            .map_err(|e| SbomError::Invalid(e.to_string()))?;
        purls.extend(
            own.packages
                .into_iter()
                .filter(|p| p.removed_in.is_none())
                .map(|p| Listed {
                    owner: p.owned_by.and_then(|o| owner(&o.kind, &o.name)),
                    purl: p.purl,
                    layer: p.layer,
                    path: p.path,
                }),
        );
    } else {
        return Err(SbomError::Invalid(
            "it has neither bomFormat CycloneDX, spdxVersion nor schema clearance.sbom/v1".into(),
        ));
    }
    if purls.len() > MAX_COMPONENTS {
        return Err(SbomError::TooMany);
    }
    for listed in purls {
        match package(&listed.purl) {
            Ok((mut p, distro)) => {
                if out.inventory.distro.is_none() {
                    out.inventory.distro = distro;
                }
                if let Some(path) = listed.path {
                    p.path = path;
                }
                // An OS package is owned by no other.
                let owned_by = listed.owner.filter(|_| !p.kind.is_os());
                out.inventory.packages.push(Found {
                    package: p,
                    layer: listed.layer.unwrap_or(0),
                    owned_by,
                });
            }
            Err(ty) => *out.unsupported.entry(ty).or_default() += 1,
        }
    }
    if out.inventory.distro.is_none()
        && let Some((id, version)) = os
    {
        out.inventory.distro = Some(distro(&id, version.as_deref()));
    }
    Ok(out)
}

fn distro(id: &str, version: Option<&str>) -> Distro {
    Distro {
        id: id.to_owned(),
        version_id: version.map(str::to_owned),
        codename: None,
        id_like: Vec::new(),
        pretty_name: None,
        source: "sbom".into(),
    }
}

/// The Go module path of a `pkg:golang/` purl (namespace and name as
/// written, percent-decoded), `None` when it does not decode to UTF-8. A
/// subpath is the rest of the module path, as Syft writes a major-version
/// suffix (`pkg:golang/github.com/Masterminds/semver@v3.2.1#v3` is module
/// `github.com/Masterminds/semver/v3`).
fn golang_module(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let (_, rest) = rest.split_once('/')?;
    let end = rest.find(['@', '?', '#']).unwrap_or(rest.len());
    let mut module = percent_decoded(rest[..end].trim_matches('/'))?;
    if let Some((_, subpath)) = rest.split_once('#') {
        let subpath = percent_decoded(subpath.trim_matches('/'))?;
        if !subpath.is_empty() {
            module.push('/');
            module.push_str(&subpath);
        }
    }
    Some(module)
}

/// `encoded` with its `%XX` escapes decoded; `None` when an escape is cut
/// or the result is not UTF-8.
fn percent_decoded(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut it = encoded.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex = [it.next()?, it.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// A package from its purl, and the distribution its `distro` qualifier
/// names; `Err(type)` for a purl Clearance does not match (or not a purl).
fn package(purl: &str) -> Result<(Package, Option<Distro>), String> {
    let parsed = packageurl::PackageUrl::from_str(purl).map_err(|_| "invalid".to_owned())?;
    let kind = match parsed.ty() {
        "deb" => PackageType::Deb,
        "apk" => PackageType::Apk,
        "rpm" => PackageType::Rpm,
        "pypi" => PackageType::Python,
        "npm" => PackageType::Npm,
        "cargo" => PackageType::Cargo,
        "gem" => PackageType::Gem,
        "composer" => PackageType::Composer,
        "nuget" => PackageType::Nuget,
        "golang" => PackageType::Golang,
        "maven" => PackageType::Maven,
        other => return Err(other.to_owned()),
    };
    let Some(version) = parsed.version() else {
        return Err(format!("{} without a version", parsed.ty()));
    };
    let name = match (kind, parsed.namespace()) {
        (PackageType::Npm | PackageType::Composer, Some(ns)) => format!("{ns}/{}", parsed.name()),
        (PackageType::Maven, Some(group)) => format!("{group}:{}", parsed.name()),
        // The `packageurl` crate lower-cases a golang namespace; Go module
        // paths are case-sensitive, so the path is read from the purl itself.
        (PackageType::Golang, _) => golang_module(purl).ok_or_else(|| "invalid".to_owned())?,
        _ => parsed.name().to_owned(),
    };
    let qualifier = |key: &str| {
        parsed
            .qualifiers()
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.to_string())
    };
    let mut version = version.to_owned();
    if kind == PackageType::Rpm
        && let Some(epoch) = qualifier("epoch")
    {
        version = format!("{epoch}:{version}");
    }
    let distro = qualifier("distro").and_then(|d| {
        // `debian-12`, `alpine-3.19.1`, `ubuntu-22.04`, `rhel-9.3`, `wolfi`.
        let (id, v) = match d.split_once('-') {
            Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => (id, Some(v)),
            _ => (d.as_str(), None),
        };
        (!id.is_empty()).then(|| distro(id, v))
    });
    let source = match kind {
        PackageType::Deb | PackageType::Apk => {
            qualifier("upstream").map(|u| match u.split_once('@') {
                Some((n, v)) => SourcePackage {
                    name: n.to_owned(),
                    version: v.to_owned(),
                },
                None => SourcePackage {
                    name: u,
                    version: version.clone(),
                },
            })
        }
        _ => None,
    };
    let os = matches!(kind, PackageType::Deb | PackageType::Apk | PackageType::Rpm);
    Ok((
        Package {
            name,
            version,
            kind,
            arch: qualifier("arch").filter(|_| os),
            source,
            purl: purl.to_owned(),
            path: "sbom".into(),
        },
        distro.filter(|_| os),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_of_go_modules_and_maven_artifacts_give_the_names_advisories_use() {
        let name = |purl: &str| package(purl).map(|(p, _)| (p.kind, p.name, p.version));
        // Syft puts a major-version suffix in the subpath.
        assert_eq!(
            name("pkg:golang/github.com/Masterminds/semver@v3.2.1#v3"),
            Ok((
                PackageType::Golang,
                "github.com/Masterminds/semver/v3".to_owned(),
                "v3.2.1".to_owned()
            ))
        );
        assert_eq!(
            name("pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible").map(|p| p.1),
            Ok("github.com/Azure/go-autorest".to_owned())
        );
        assert_eq!(
            name("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            Ok((
                PackageType::Maven,
                "org.apache.logging.log4j:log4j-core".to_owned(),
                "2.14.1".to_owned()
            ))
        );
    }

    #[test]
    fn cyclonedx_components_become_packages_with_their_distribution_and_source() {
        let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
          "components": [
            {"type": "library", "name": "libssl3", "version": "3.0.11-1~deb12u2",
             "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"},
            {"type": "library", "name": "node", "purl": "pkg:npm/%40types/node@20.1.0"},
            {"type": "library", "name": "x", "purl": "pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible"},
            {"type": "library", "name": "x", "purl": "pkg:hex/phoenix@1.7.0"},
            {"type": "library", "name": "nopurl"},
            {"type": "operating-system", "name": "debian", "version": "12"}
          ]}"#;
        let read = read(bom).unwrap();
        assert_eq!(read.format, "CycloneDX 1.6");
        let distro = read.inventory.distro.unwrap();
        assert_eq!(
            (distro.id.as_str(), distro.version_id.as_deref()),
            ("debian", Some("12"))
        );
        let names: Vec<_> = read
            .inventory
            .packages
            .iter()
            .map(|f| f.package.name.as_str())
            .collect();
        assert!(
            names.contains(&"@types/node") && names.contains(&"libssl3"),
            "{names:?}"
        );
        let ssl = read
            .inventory
            .packages
            .iter()
            .find(|f| f.package.name == "libssl3")
            .unwrap();
        assert_eq!(ssl.package.source.as_ref().unwrap().name, "openssl");
        assert_eq!(read.without_purl, 1);
        assert_eq!(read.unsupported.get("hex"), Some(&1));
        // A Go module keeps its path's case (the purl crate would lower it).
        let go = read
            .inventory
            .packages
            .iter()
            .find(|f| f.package.kind == PackageType::Golang)
            .unwrap();
        assert_eq!(
            (go.package.name.as_str(), go.package.version.as_str()),
            ("github.com/Azure/go-autorest", "v14.2.0+incompatible")
        );
    }

    #[test]
    fn spdx_and_own_sboms_are_read_and_others_refused() {
        let spdx = br#"{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "SPDXRef-a",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": "pkg:pypi/requests@2.19.1"}]}]}"#;
        let r = read(spdx).unwrap();
        assert_eq!(r.inventory.packages[0].package.kind, PackageType::Python);
        let own = br#"{"schema": "clearance.sbom/v1", "packages": [
            {"purl": "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.19.1"},
            {"purl": "pkg:apk/alpine/curl@8.0-r0?distro=alpine-3.19.1", "removed_in": 2}]}"#;
        let r = read(own).unwrap();
        assert_eq!(
            r.inventory.packages.len(),
            1,
            "removed packages are not in the image"
        );
        assert_eq!(
            r.inventory.distro.unwrap().version_id.as_deref(),
            Some("3.19.1")
        );
        assert!(matches!(read(b"{}"), Err(SbomError::Invalid(_))));
        assert!(matches!(read(b"<bom/>"), Err(SbomError::Invalid(_))));
    }
}
