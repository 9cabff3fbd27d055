//! VEX: statements that a vulnerability does not affect a product, read
//! from OpenVEX (<https://github.com/openvex/spec>, v0.2.0 and the older
//! v0.0.x shape where `vulnerability` is a string) and CycloneDX VEX
//! (CycloneDX 1.4–1.6 `vulnerabilities[]` with `analysis` and `affects`).
//!
//! A statement suppresses a finding when its vulnerability is the
//! finding's id or one of its aliases, and one of its products (or an
//! OpenVEX product's `subcomponents`) is the finding's package: the purls'
//! type, namespace and name are equal, and the version too when the
//! statement's purl gives one (qualifiers are ignored). Statements about a
//! whole image (`pkg:oci/…` without subcomponents) are not applied: they
//! would silence every package, including ones added after the statement
//! was written.
//!
//! Suppressing statuses: OpenVEX `not_affected` and `fixed`; CycloneDX
//! `not_affected`, `false_positive` and `resolved`.

use serde::Deserialize;

use crate::matcher::Finding;

/// Largest VEX document read, in bytes.
pub const MAX_VEX_BYTES: usize = 16 << 20;

/// One statement, normalised from either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The vulnerability id (`CVE-2023-0464`), and its aliases.
    pub vulnerabilities: Vec<String>,
    /// Product purls the statement covers.
    pub products: Vec<String>,
    /// The status as the document writes it (`not_affected`).
    pub status: String,
    /// The justification or detail, if given.
    pub justification: Option<String>,
    /// The document's path, for reports.
    pub document: String,
}

impl Statement {
    /// Whether this status suppresses a finding.
    pub fn suppresses(&self) -> bool {
        matches!(
            self.status.as_str(),
            "not_affected" | "fixed" | "false_positive" | "resolved"
        )
    }
}

/// Why a VEX document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// Over [`MAX_VEX_BYTES`].
    #[error("{document}: over the {MAX_VEX_BYTES}-byte limit for a VEX document")]
    TooLarge {
        /// The path.
        document: String,
    },
    /// Neither OpenVEX nor CycloneDX VEX.
    #[error("{document}: not an OpenVEX or CycloneDX VEX document: {message}")]
    Invalid {
        /// The path.
        document: String,
        /// What serde said.
        message: String,
    },
}

#[derive(Deserialize)]
struct OpenVex {
    #[serde(rename = "@context")]
    context: String,
    #[serde(default)]
    statements: Vec<OpenVexStatement>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OpenVexVulnerability {
    Name(String),
    Object {
        name: String,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OpenVexProduct {
    Id(String),
    Object {
        #[serde(rename = "@id")]
        id: Option<String>,
        #[serde(default)]
        identifiers: Option<Identifiers>,
        #[serde(default)]
        subcomponents: Vec<OpenVexProduct>,
    },
}

#[derive(Deserialize)]
struct Identifiers {
    purl: Option<String>,
}

#[derive(Deserialize)]
struct OpenVexStatement {
    vulnerability: OpenVexVulnerability,
    #[serde(default)]
    products: Vec<OpenVexProduct>,
    status: String,
    justification: Option<String>,
    impact_statement: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CycloneDx {
    bom_format: String,
    #[serde(default)]
    vulnerabilities: Vec<CdxVulnerability>,
}

#[derive(Deserialize)]
struct CdxVulnerability {
    id: String,
    #[serde(default)]
    references: Vec<CdxReference>,
    analysis: Option<CdxAnalysis>,
    #[serde(default)]
    affects: Vec<CdxAffects>,
}

#[derive(Deserialize)]
struct CdxReference {
    id: String,
}

#[derive(Deserialize)]
struct CdxAnalysis {
    state: Option<String>,
    justification: Option<String>,
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "ref")]
struct CdxAffects {
    #[serde(rename = "ref")]
    reference: String,
}

/// Read a VEX document (OpenVEX or CycloneDX VEX).
///
/// # Errors
///
/// [`VexError`] naming the document.
pub fn parse(bytes: &[u8], document: &str) -> Result<Vec<Statement>, VexError> {
    if bytes.len() > MAX_VEX_BYTES {
        return Err(VexError::TooLarge {
            document: document.to_owned(),
        });
    }
    let invalid = |message: String| VexError::Invalid {
        document: document.to_owned(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if value.get("@context").is_some() {
        let doc: OpenVex = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if !doc.context.starts_with("https://openvex.dev/ns") {
            return Err(invalid(format!("unknown @context {:?}", doc.context)));
        }
        return Ok(doc
            .statements
            .into_iter()
            .map(|s| {
                let vulnerabilities = match s.vulnerability {
                    OpenVexVulnerability::Name(n) => vec![n],
                    OpenVexVulnerability::Object { name, aliases } => {
                        std::iter::once(name).chain(aliases).collect()
                    }
                };
                let mut products = Vec::new();
                for p in s.products {
                    collect_products(p, &mut products);
                }
                Statement {
                    vulnerabilities,
                    products,
                    status: s.status,
                    justification: s.justification.or(s.impact_statement),
                    document: document.to_owned(),
                }
            })
            .collect());
    }
    if value.get("bomFormat").is_some() {
        let doc: CycloneDx = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if doc.bom_format != "CycloneDX" {
            return Err(invalid(format!("bomFormat {:?}", doc.bom_format)));
        }
        return Ok(doc
            .vulnerabilities
            .into_iter()
            .filter_map(|v| {
                let analysis = v.analysis?;
                Some(Statement {
                    vulnerabilities: std::iter::once(v.id)
                        .chain(v.references.into_iter().map(|r| r.id))
                        .collect(),
                    products: v.affects.into_iter().map(|a| a.reference).collect(),
                    status: analysis.state?,
                    justification: analysis.justification.or(analysis.detail),
                    document: document.to_owned(),
                })
            })
            .collect());
    }
    Err(invalid(
        "it has neither an OpenVEX @context nor a CycloneDX bomFormat".into(),
    ))
}

fn collect_products(product: OpenVexProduct, out: &mut Vec<String>) {
    match product {
        OpenVexProduct::Id(id) => out.push(id),
        OpenVexProduct::Object {
            id,
            identifiers,
            subcomponents,
        } => {
            if subcomponents.is_empty() {
                out.extend(id);
                out.extend(identifiers.and_then(|i| i.purl));
            } else {
                for s in subcomponents {
                    collect_products(s, out);
                }
            }
        }
    }
}

/// The first suppressing statement that covers `finding`, with its
/// document.
pub fn suppressing<'a>(
    statements: &'a [Statement],
    finding: &Finding,
) -> Option<(&'a Statement, &'a str)> {
    statements
        .iter()
        .filter(|s| s.suppresses())
        .find(|s| {
            s.vulnerabilities
                .iter()
                .any(|v| *v == finding.id || finding.aliases.contains(v))
                && s.products
                    .iter()
                    .any(|p| same_package(p, &finding.package.purl))
        })
        .map(|s| (s, s.document.as_str()))
}

/// Whether a statement's product purl names the finding's package: type,
/// namespace and name equal, and the version when the statement gives one.
fn same_package(product: &str, package: &str) -> bool {
    use std::str::FromStr;
    let (Ok(a), Ok(b)) = (
        packageurl::PackageUrl::from_str(product),
        packageurl::PackageUrl::from_str(package),
    ) else {
        return false;
    };
    if a.ty() == "oci" {
        return false;
    }
    a.ty() == b.ty()
        && a.namespace() == b.namespace()
        && a.name() == b.name()
        && a.version().is_none_or(|v| Some(v) == b.version())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openvex_statements_and_subcomponents_are_read() {
        let doc = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
          "statements": [
            {"vulnerability": {"name": "CVE-2023-0001", "aliases": ["GHSA-x"]},
             "products": [{"@id": "pkg:oci/app@sha256:abc", "subcomponents": [{"@id": "pkg:pypi/example-pkg@1.0"}]}],
             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
            {"vulnerability": "CVE-2023-0002", "products": ["pkg:npm/left-pad"], "status": "affected"}
          ]}"#;
        let s = parse(doc.as_bytes(), "vex.json").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].products, ["pkg:pypi/example-pkg@1.0"]);
        assert!(s[0].suppresses());
        assert!(!s[1].suppresses());
        assert_eq!(s[1].vulnerabilities, ["CVE-2023-0002"]);
    }

    #[test]
    fn cyclonedx_vex_is_read() {
        let doc = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
          "vulnerabilities": [{"id": "CVE-2023-0003", "analysis": {"state": "false_positive", "detail": "not reachable"},
            "affects": [{"ref": "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"}]}]}"#;
        let s = parse(doc.as_bytes(), "bom.json").unwrap();
        assert_eq!(s[0].status, "false_positive");
        assert_eq!(s[0].justification.as_deref(), Some("not reachable"));
        assert!(same_package(
            &s[0].products[0],
            "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"
        ));
        assert!(!same_package(
            &s[0].products[0],
            "pkg:deb/debian/openssl@3.0.11-2?arch=amd64"
        ));
        assert!(!same_package("pkg:oci/app", "pkg:oci/app"));
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(matches!(
            parse(b"{\"a\": 1}", "x.json"),
            Err(VexError::Invalid { .. })
        ));
        assert!(matches!(
            parse(b"not json", "x.json"),
            Err(VexError::Invalid { .. })
        ));
    }
}
