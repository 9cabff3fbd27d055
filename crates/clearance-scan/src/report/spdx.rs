//! SPDX 2.3 JSON (SPDX specification v2.3; schema
//! `http://spdx.org/rdf/terms/2.3`, `schemas/spdx-schema.json` of the
//! spec's 2.3 branch).
//!
//! - The document (§6 "Document creation information"): `SPDXRef-DOCUMENT`,
//!   `dataLicense` CC0-1.0 (§6.2, fixed by the spec), a
//!   `documentNamespace` (§6.5) derived from the manifest digest and the
//!   timestamp, `creationInfo` with `creators: ["Tool: clearance-VERSION"]`
//!   (§6.8) and the caller's `created` time (§6.9).
//! - One package for the image (§7, `primaryPackagePurpose` CONTAINER,
//!   §7.24), one for the distribution (OPERATING_SYSTEM, as the JSON schema
//!   spells it) and one per package (LIBRARY): `versionInfo` (§7.3), `supplier` and `downloadLocation`
//!   NOASSERTION where Clearance does not know them (§7.5, §7.7),
//!   `filesAnalyzed: false` (§7.8: no file list follows), the purl as a
//!   PACKAGE-MANAGER `externalRefs` entry (§7.21, Annex F.3.5), the layer and
//!   database path in `sourceInfo` (§7.12).
//! - `relationships` (§11): DOCUMENT DESCRIBES the image; the image
//!   CONTAINS the distribution and each package in it. Removed packages
//!   (when listed) carry a `comment` and no CONTAINS.
//! - SPDX identifiers match `SPDXRef-[A-Za-z0-9.-]+` (§7.2): every other
//!   character of a package name becomes `-`, and an index keeps them
//!   unique.

use serde_json::{Map, Value, json};

use super::{Listed, Subject};

/// Where document namespaces live: `…/NAME-UUID` (§6.5 asks for a unique
/// absolute URI; `.invalid` (RFC 2606) can never be someone else's site).
pub const NAMESPACE_BASE: &str = "https://clearance.invalid/spdx/";

/// The id of the image's package.
pub const IMAGE_ID: &str = "SPDXRef-Image";

const NOASSERTION: &str = "NOASSERTION";

/// The subject's packages as an SPDX 2.3 document.
pub fn render(subject: &Subject<'_>) -> Value {
    let listed = subject.listed();
    let image_name = subject.image_name();
    let mut packages = vec![image_package(subject)];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID)];
    if let Some(distro) = &subject.inventory.distro {
        let id = format!("SPDXRef-OperatingSystem-{}", sanitize(&distro.id));
        let mut os = base_package(&id, &distro.id, distro.version_id.as_deref());
        os.insert("primaryPackagePurpose".into(), json!("OPERATING_SYSTEM"));
        if let Some(pretty) = &distro.pretty_name {
            os.insert("description".into(), json!(pretty));
        }
        os.insert(
            "sourceInfo".into(),
            json!(format!("named by {}", distro.source)),
        );
        packages.push(Value::Object(os));
        relationships.push(relationship(IMAGE_ID, "CONTAINS", &id));
    }
    for (i, l) in listed.iter().enumerate() {
        let id = package_id(i, l);
        packages.push(package(subject, &id, l));
        if l.removed_in.is_none() {
            relationships.push(relationship(IMAGE_ID, "CONTAINS", &id));
        }
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.reference,
        "documentNamespace": format!(
            "{NAMESPACE_BASE}{}-{}",
            sanitize(&image_name),
            subject.document_uuid("spdx-2.3")
        ),
        "creationInfo": {
            "created": subject.timestamp.as_str(),
            "creators": [format!("Tool: clearance-{}", subject.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

/// `SPDXRef-Package-TYPE-NAME-N`: N (1-based) makes it unique.
fn package_id(index: usize, l: &Listed<'_>) -> String {
    let name: String = sanitize(&l.package.name).chars().take(64).collect();
    format!(
        "SPDXRef-Package-{}-{name}-{}",
        l.package.kind.purl_type(),
        index + 1
    )
}

/// `text` with every character outside `[A-Za-z0-9.-]` as `-`
/// (§7.2 `idstring`).
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn image_package(subject: &Subject<'_>) -> Value {
    let mut image = base_package(IMAGE_ID, subject.reference, Some(subject.manifest_digest));
    image.insert("primaryPackagePurpose".into(), json!("CONTAINER"));
    if let Some(hex) = subject
        .manifest_digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        image.insert(
            "checksums".into(),
            json!([{ "algorithm": "SHA256", "checksumValue": hex }]),
        );
    }
    image.insert(
        "externalRefs".into(),
        json!([purl_ref(&subject.image_purl())]),
    );
    let layers: Vec<String> = subject
        .layers
        .iter()
        .map(|l| format!("layer {}: {} (diff_id {})", l.index, l.digest, l.diff_id))
        .collect();
    if !layers.is_empty() {
        image.insert("comment".into(), json!(layers.join("\n")));
    }
    Value::Object(image)
}

fn package(subject: &Subject<'_>, id: &str, l: &Listed<'_>) -> Value {
    let p = l.package;
    let mut package = base_package(id, &p.name, Some(&p.version));
    package.insert("primaryPackagePurpose".into(), json!("LIBRARY"));
    package.insert("externalRefs".into(), json!([purl_ref(&p.purl)]));
    if let Some(source) = &p.source {
        package.insert(
            "summary".into(),
            json!(format!(
                "built from source package {} {}",
                source.name, source.version
            )),
        );
    }
    let layer = match subject.layer(l.layer) {
        Some(layer) => format!("layer {} (diff_id {})", l.layer, layer.diff_id),
        None => format!("layer {}", l.layer),
    };
    let owner = l
        .owned_by
        .map(|o| format!("; installed by {} package {}", o.kind, o.name))
        .unwrap_or_default();
    package.insert(
        "sourceInfo".into(),
        json!(format!("listed in {} in {layer}{owner}", p.path)),
    );
    if let Some(removed_in) = l.removed_in {
        package.insert(
            "comment".into(),
            json!(format!(
                "removed by layer {removed_in}: not in the image's final filesystem, still in its layer blobs"
            )),
        );
    }
    Value::Object(package)
}

/// The fields every package has: what Clearance does not know is
/// NOASSERTION (§7.5 supplier, §7.7 download location, §7.13 and §7.15
/// licences, §7.17 copyright), and no files are listed (§7.8).
fn base_package(id: &str, name: &str, version: Option<&str>) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("SPDXID".into(), json!(id));
    p.insert("name".into(), json!(name));
    if let Some(version) = version {
        p.insert("versionInfo".into(), json!(version));
    }
    p.insert("supplier".into(), json!(NOASSERTION));
    p.insert("downloadLocation".into(), json!(NOASSERTION));
    p.insert("filesAnalyzed".into(), json!(false));
    p.insert("licenseConcluded".into(), json!(NOASSERTION));
    p.insert("licenseDeclared".into(), json!(NOASSERTION));
    p.insert("copyrightText".into(), json!(NOASSERTION));
    p
}

/// A PACKAGE-MANAGER `purl` external reference (§7.21, Annex F.3.5).
fn purl_ref(purl: &str) -> Value {
    json!({
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    })
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({
        "spdxElementId": from,
        "relationshipType": kind,
        "relatedSpdxElement": to,
    })
}
