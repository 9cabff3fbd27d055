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
//! `not_affected`, `false_positive` and `resolved`. Statements are read in
//! order (documents in the order given, statements in document order) and
//! the last one about a (vulnerability, package) decides, as OpenVEX says
//! later statements override earlier ones: an `affected` after a
//! `not_affected` brings the finding back. Vulnerability ids compare
//! case-insensitively. A status the formats do not define is an error, not
//! a statement silently ignored. CycloneDX `affects[].ref` may be a purl, a
//! component's `bom-ref` or a BOM-link (`urn:cdx:…#REF`); refs that resolve
//! to no purl are counted in [`Parsed::unresolved`].

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
    #[serde(default)]
    components: Vec<CdxComponent>,
    metadata: Option<CdxMetadata>,
}

#[derive(Deserialize)]
struct CdxMetadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxComponent {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
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

/// OpenVEX statuses (spec "Status Labels").
const OPENVEX_STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];
/// CycloneDX `analysis.state` values (1.4–1.6).
const CYCLONEDX_STATES: [&str; 6] = [
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
];

/// Read a VEX document (OpenVEX or CycloneDX VEX).
///
/// # Errors
///
/// [`VexError`] naming the document.
pub fn parse(bytes: &[u8], document: &str) -> Result<Vec<Statement>, VexError> {
    Ok(parse_counted(bytes, document)?.statements)
}

/// A VEX document read, with what could not be tied to a package.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The statements, in document order.
    pub statements: Vec<Statement>,
    /// CycloneDX `affects` refs that resolve to no purl.
    pub unresolved: usize,
}

/// As [`parse`], counting unresolved refs.
///
/// # Errors
///
/// [`VexError`] naming the document.
pub fn parse_counted(bytes: &[u8], document: &str) -> Result<Parsed, VexError> {
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
        if let Some(bad) = doc
            .statements
            .iter()
            .find(|s| !OPENVEX_STATUSES.contains(&s.status.as_str()))
        {
            return Err(invalid(format!(
                "status {:?} is not an OpenVEX status (not_affected, affected, fixed, under_investigation)",
                crate::advisory::bounded(&bad.status, 40)
            )));
        }
        let statements = doc
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
            .collect();
        return Ok(Parsed {
            statements,
            unresolved: 0,
        });
    }
    if value.get("bomFormat").is_some() {
        let doc: CycloneDx = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if doc.bom_format != "CycloneDX" {
            return Err(invalid(format!("bomFormat {:?}", doc.bom_format)));
        }
        // bom-ref → purl, over every component.
        let mut refs = std::collections::HashMap::new();
        let mut stack: Vec<CdxComponent> = doc.components;
        stack.extend(doc.metadata.and_then(|m| m.component));
        while let Some(c) = stack.pop() {
            if let (Some(r), Some(p)) = (c.bom_ref, c.purl) {
                refs.insert(r, p);
            }
            stack.extend(c.components);
        }
        let mut unresolved = 0;
        let mut statements = Vec::new();
        for v in doc.vulnerabilities {
            let Some(analysis) = v.analysis else { continue };
            let Some(state) = analysis.state else {
                continue;
            };
            if !CYCLONEDX_STATES.contains(&state.as_str()) {
                return Err(invalid(format!(
                    "analysis.state {:?} is not a CycloneDX state",
                    crate::advisory::bounded(&state, 40)
                )));
            }
            let mut products = Vec::new();
            for a in v.affects {
                // A BOM-link names a component of a BOM: `urn:cdx:SERIAL/VERSION#REF`.
                let r = match a.reference.split_once('#') {
                    Some((urn, fragment)) if urn.starts_with("urn:cdx:") => fragment.to_owned(),
                    _ => a.reference,
                };
                if r.starts_with("pkg:") {
                    products.push(r);
                } else if let Some(p) = refs.get(&r) {
                    products.push(p.clone());
                } else {
                    unresolved += 1;
                }
            }
            statements.push(Statement {
                vulnerabilities: std::iter::once(v.id)
                    .chain(v.references.into_iter().map(|r| r.id))
                    .collect(),
                products,
                status: state,
                justification: analysis.justification.or(analysis.detail),
                document: document.to_owned(),
            });
        }
        return Ok(Parsed {
            statements,
            unresolved,
        });
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

/// The statement that decides `finding` when it suppresses it, with its
/// document: the last statement about the finding's vulnerability and
/// package, if that one suppresses.
pub fn suppressing<'a>(
    statements: &'a [Statement],
    finding: &Finding,
) -> Option<(&'a Statement, &'a str)> {
    deciding(statements, finding)
        .map(|i| &statements[i])
        .filter(|s| s.suppresses())
        .map(|s| (s, s.document.as_str()))
}

/// The index of the statement that decides `finding` (the last about its
/// vulnerability and package), whatever its status.
pub fn deciding(statements: &[Statement], finding: &Finding) -> Option<usize> {
    let same_id = |v: &String| {
        v.eq_ignore_ascii_case(&finding.id)
            || finding.aliases.iter().any(|a| a.eq_ignore_ascii_case(v))
    };
    statements.iter().rposition(|s| {
        s.vulnerabilities.iter().any(same_id)
            && s.products
                .iter()
                .any(|p| same_package(p, &finding.package.purl))
    })
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
    fn the_last_statement_about_a_finding_decides_and_refs_resolve() {
        let old = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "cve-2021-25900"}, "products": ["pkg:cargo/smallvec@1.6.0"], "status": "not_affected", "justification": "component_not_present"}]}"#;
        let new = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-2021-25900"}, "products": ["pkg:cargo/smallvec@1.6.0"], "status": "affected"}]}"#;
        let finding = crate::matcher::Finding {
            id: "CVE-2021-25900".into(),
            aliases: vec!["RUSTSEC-2021-0003".into()],
            package: crate::matcher::FindingPackage {
                name: "smallvec".into(),
                version: "1.6.0".into(),
                kind: crate::catalog::PackageType::Cargo,
                purl: "pkg:cargo/smallvec@1.6.0".into(),
                path: "/app/Cargo.lock".into(),
                layer: 0,
            },
            matched: crate::matcher::MatchedAs {
                ecosystem: "crates.io".into(),
                package: "smallvec".into(),
                version: "1.6.0".into(),
            },
            severity: crate::advisory::Severity::High,
            severity_source: String::new(),
            cvss: None,
            fixed_version: None,
            state: None,
            kev: None,
            epss: None,
            summary: None,
            urls: Vec::new(),
            sources: Vec::new(),
        };
        let mut statements = parse(old, "old.json").unwrap();
        assert!(same_package(
            "pkg:cargo/smallvec@1.6.0",
            &finding.package.purl
        ));
        assert!(statements[0].vulnerabilities[0].eq_ignore_ascii_case(&finding.id));
        assert!(
            suppressing(&statements, &finding).is_some(),
            "ids compare case-insensitively"
        );
        statements.extend(parse(new, "new.json").unwrap());
        assert!(
            suppressing(&statements, &finding).is_none(),
            "the later affected wins"
        );
        // CycloneDX refs by bom-ref and BOM-link.
        let cdx = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
          "components": [{"bom-ref": "c1", "purl": "pkg:cargo/smallvec@1.6.0"}],
          "vulnerabilities": [{"id": "CVE-2021-25900", "analysis": {"state": "not_affected"},
            "affects": [{"ref": "c1"}, {"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#c1"}, {"ref": "nowhere"}]}]}"#;
        let read = parse_counted(cdx, "bom.json").unwrap();
        assert_eq!(read.statements[0].products.len(), 2);
        assert_eq!(read.unresolved, 1);
        assert!(suppressing(&read.statements, &finding).is_some());
        let bad = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": "CVE-1", "products": ["pkg:npm/a"], "status": "totally_fine"}]}"#;
        assert!(matches!(
            parse(bad, "x.json"),
            Err(VexError::Invalid { .. })
        ));
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
