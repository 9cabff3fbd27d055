//! CycloneDX 1.6 JSON (ECMA-424 1st edition; schema
//! `http://cyclonedx.org/schema/bom-1.6.schema.json`).
//!
//! - The image is `metadata.component` (type `container`, its `oci` purl;
//!   §"metadata"), the distribution an `operating-system` component, and
//!   each package a `library` component with its purl and `properties`
//!   for the layer (`clearance:layer:index`, `clearance:layer:diff_id`)
//!   and the file that lists it (`clearance:path`) — property names in
//!   the `clearance:` namespace, as the CycloneDX Property Taxonomy asks
//!   of tools.
//! - With a report, `vulnerabilities[]` (§"vulnerabilities"): one entry
//!   per finding, its `ratings`, `affects` pointing at the package's
//!   `bom-ref`, KEV and EPSS as `properties`, and for a finding a VEX
//!   statement suppressed, `analysis` (§"analysis": `state`,
//!   `justification`, `detail`), so the document doubles as CycloneDX VEX.
//! - `serialNumber` is a name-based `urn:uuid` (reproducible, see the
//!   [module above](super)); `version` is 1.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{Listed, Subject, Vex, alias_source, keys_by_package, plain_http_url, truncate};
use crate::advisory::{CvssScore, Severity};
use crate::matcher::Finding;

/// `$schema` of the documents written.
pub const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

/// Longest `version` the schema allows (`definitions.version.maxLength`).
const MAX_VERSION_CHARS: usize = 1024;

/// The subject as a CycloneDX 1.6 BOM: always the SBOM, and
/// `vulnerabilities` when the subject carries a report.
pub fn render(subject: &Subject<'_>) -> Value {
    let listed = subject.listed();
    let flavour = if subject.report.is_some() {
        "cyclonedx-1.6+vulnerabilities"
    } else {
        "cyclonedx-1.6"
    };
    let mut components: Vec<Value> = Vec::new();
    if let Some(distro) = &subject.inventory.distro {
        let mut os = Map::new();
        os.insert("type".into(), json!("operating-system"));
        os.insert("bom-ref".into(), json!(format!("os:{}", distro.id)));
        os.insert("name".into(), json!(distro.id));
        if let Some(v) = &distro.version_id {
            os.insert("version".into(), json!(truncate(v, MAX_VERSION_CHARS)));
        }
        if let Some(pretty) = &distro.pretty_name {
            os.insert("description".into(), json!(pretty));
        }
        os.insert(
            "properties".into(),
            json!([property("clearance:distro:source", &distro.source)]),
        );
        components.push(Value::Object(os));
    }
    components.extend(listed.iter().map(|l| component(subject, l)));

    let mut bom = Map::new();
    bom.insert("$schema".into(), json!(SCHEMA));
    bom.insert("bomFormat".into(), json!("CycloneDX"));
    bom.insert("specVersion".into(), json!("1.6"));
    bom.insert(
        "serialNumber".into(),
        json!(format!("urn:uuid:{}", subject.document_uuid(flavour))),
    );
    bom.insert("version".into(), json!(1));
    bom.insert("metadata".into(), metadata(subject));
    bom.insert("components".into(), Value::Array(components));
    if subject.report.is_some() {
        bom.insert(
            "vulnerabilities".into(),
            Value::Array(vulnerabilities(subject, &listed)),
        );
    }
    Value::Object(bom)
}

/// `metadata`: when, which tool, and the image as the BOM's subject.
fn metadata(subject: &Subject<'_>) -> Value {
    let purl = subject.image_purl();
    let mut properties = vec![property("clearance:image:reference", subject.reference)];
    for layer in subject.layers {
        let prefix = format!("clearance:layer:{}", layer.index);
        properties.push(property(&format!("{prefix}:digest"), &layer.digest));
        properties.push(property(&format!("{prefix}:diff_id"), &layer.diff_id));
        if let Some(created_by) = &layer.created_by {
            properties.push(property(&format!("{prefix}:created_by"), created_by));
        }
    }
    json!({
        "timestamp": subject.timestamp.as_str(),
        "tools": {
            "components": [{
                "type": "application",
                "name": "clearance",
                "version": truncate(subject.tool_version, MAX_VERSION_CHARS),
            }]
        },
        "component": {
            "type": "container",
            "bom-ref": purl,
            "name": subject.image_name(),
            "version": truncate(subject.manifest_digest, MAX_VERSION_CHARS),
            "purl": purl,
            "properties": properties,
        }
    })
}

/// One package as a `library` component.
fn component(subject: &Subject<'_>, listed: &Listed<'_>) -> Value {
    let p = listed.package;
    let mut properties = vec![property("clearance:layer:index", &listed.layer.to_string())];
    if let Some(layer) = subject.layer(listed.layer) {
        properties.push(property("clearance:layer:diff_id", &layer.diff_id));
    }
    properties.push(property("clearance:path", &p.path));
    if let Some(source) = &p.source {
        properties.push(property(
            "clearance:source",
            &format!("{}@{}", source.name, source.version),
        ));
    }
    if let Some(owner) = listed.owned_by {
        properties.push(property(
            "clearance:owned_by",
            &format!("{}:{}", owner.kind, owner.name),
        ));
    }
    if let Some(removed_in) = listed.removed_in {
        properties.push(property("clearance:removed_in", &removed_in.to_string()));
    }
    json!({
        "type": "library",
        "bom-ref": listed.key,
        "name": p.name,
        "version": truncate(&p.version, MAX_VERSION_CHARS),
        "purl": p.purl,
        "properties": properties,
    })
}

/// `vulnerabilities[]`: each finding, then each suppressed one with its
/// `analysis`. A finding whose package the inventory does not list points
/// at its purl.
fn vulnerabilities(subject: &Subject<'_>, listed: &[Listed<'_>]) -> Vec<Value> {
    let keys = keys_by_package(listed);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (finding, vex) in subject.findings() {
        let package = &finding.package;
        let key = keys
            .get(&(package.purl.as_str(), package.path.as_str()))
            .copied()
            .unwrap_or(package.purl.as_str());
        // `vulnerabilities` and `affects` are `uniqueItems`.
        if !seen.insert((finding.id.as_str(), key, vex.is_some())) {
            continue;
        }
        out.push(vulnerability(finding, key, vex));
    }
    out
}

fn vulnerability(finding: &Finding, key: &str, vex: Option<Vex<'_>>) -> Value {
    let mut v = Map::new();
    v.insert("id".into(), json!(finding.id));
    if let Some(source) = finding.sources.first() {
        v.insert("source".into(), json!({ "name": source }));
    }
    let references: Vec<Value> = finding
        .aliases
        .iter()
        .filter(|a| **a != finding.id)
        .map(|a| json!({ "id": a, "source": { "name": alias_source(a) } }))
        .collect();
    if !references.is_empty() {
        v.insert("references".into(), Value::Array(references));
    }
    v.insert("ratings".into(), Value::Array(ratings(finding)));
    if let Some(summary) = &finding.summary {
        v.insert("description".into(), json!(summary));
    }
    v.insert("recommendation".into(), json!(recommendation(finding)));
    let advisories: Vec<Value> = finding
        .urls
        .iter()
        .filter(|u| plain_http_url(u))
        .map(|u| json!({ "url": u }))
        .collect();
    if !advisories.is_empty() {
        v.insert("advisories".into(), Value::Array(advisories));
    }
    if let Some(vex) = vex {
        v.insert("analysis".into(), analysis(vex));
    }
    v.insert(
        "affects".into(),
        json!([{
            "ref": key,
            "versions": [{
                "version": truncate(&finding.package.version, MAX_VERSION_CHARS),
                "status": "affected",
            }],
        }]),
    );
    v.insert(
        "properties".into(),
        Value::Array(finding_properties(finding)),
    );
    Value::Object(v)
}

/// `ratings[]`: the CVSS vector and score when one is known, and the
/// severity Clearance reports when it comes from elsewhere (a
/// distribution's rating, an advisory's word).
fn ratings(finding: &Finding) -> Vec<Value> {
    let mut ratings = Vec::new();
    if let Some(cvss) = finding.cvss.as_ref().filter(|c| c.score.is_finite()) {
        ratings.push(json!({
            "score": cvss.score,
            "severity": cvss_severity(cvss.score),
            "method": cvss_method(cvss),
            "vector": cvss.vector,
        }));
    }
    if finding.cvss.is_none() || !finding.severity_source.starts_with("CVSS") {
        ratings.push(json!({
            "source": { "name": finding.severity_source },
            "severity": severity(finding.severity),
        }));
    }
    ratings
}

/// CycloneDX `severity` for a level.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

fn cvss_severity(score: f64) -> &'static str {
    if score <= 0.0 {
        "none"
    } else {
        severity(Severity::from_cvss(score))
    }
}

/// CycloneDX `scoreMethod` of a vector: `CVSS:3.1/…` → `CVSSv31`,
/// `CVSS:3.0/…` → `CVSSv3`, `CVSS:4.0/…` → `CVSSv4`, unprefixed → `CVSSv2`.
fn cvss_method(cvss: &CvssScore) -> &'static str {
    match cvss.vector.get(..9) {
        Some("CVSS:3.1/") => "CVSSv31",
        Some("CVSS:3.0/") => "CVSSv3",
        Some("CVSS:4.0/") => "CVSSv4",
        _ if cvss.vector.starts_with("CVSS:") => "other",
        _ => "CVSSv2",
    }
}

fn recommendation(finding: &Finding) -> String {
    let p = &finding.package;
    match (&finding.fixed_version, finding.state) {
        (Some(fixed), _) => format!("Upgrade {} from {} to {fixed} or later.", p.name, p.version),
        (None, Some(state)) => format!("No fixed version of {} is known ({state}).", p.name),
        (None, None) => format!("No fixed version of {} is known.", p.name),
    }
}

/// `analysis` for a suppressed finding (CycloneDX §"analysis"): the VEX
/// status as an `impactAnalysisState`, its justification as an
/// `impactAnalysisJustification` when it names one (OpenVEX
/// justifications mapped), and the statement in `detail`.
fn analysis(vex: Vex<'_>) -> Value {
    let state = match vex.status {
        "false_positive" => "false_positive",
        "fixed" | "resolved" => "resolved",
        _ => "not_affected",
    };
    let mut a = Map::new();
    a.insert("state".into(), json!(state));
    if let Some(j) = vex.justification.and_then(justification) {
        a.insert("justification".into(), json!(j));
    }
    a.insert("detail".into(), json!(vex.describe()));
    Value::Object(a)
}

/// A CycloneDX justification for a VEX justification: CycloneDX's own
/// names as they are, OpenVEX's mapped (OpenVEX spec §"Status
/// Justifications"); `None` for free text.
fn justification(text: &str) -> Option<&'static str> {
    Some(match text {
        "code_not_present" | "component_not_present" | "vulnerable_code_not_present" => {
            "code_not_present"
        }
        "code_not_reachable" | "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "requires_environment" | "vulnerable_code_cannot_be_controlled_by_adversary" => {
            "requires_environment"
        }
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        "protected_by_mitigating_control" | "inline_mitigations_already_exist" => {
            "protected_by_mitigating_control"
        }
        _ => return None,
    })
}

/// What CycloneDX has no field for: fix, distribution state, how it was
/// matched, KEV and EPSS.
fn finding_properties(finding: &Finding) -> Vec<Value> {
    let mut props = vec![
        property("clearance:severity", finding.severity.as_str()),
        property("clearance:severity_source", &finding.severity_source),
        property("clearance:matched:ecosystem", &finding.matched.ecosystem),
        property("clearance:matched:package", &finding.matched.package),
        property("clearance:matched:version", &finding.matched.version),
    ];
    if let Some(fixed) = &finding.fixed_version {
        props.push(property("clearance:fixed_version", fixed));
    }
    if let Some(state) = finding.state {
        props.push(property("clearance:distro_state", state.as_str()));
    }
    if let Some(kev) = &finding.kev {
        props.push(property("clearance:kev", "true"));
        props.push(property("clearance:kev:date_added", &kev.date_added));
        if let Some(due) = &kev.due_date {
            props.push(property("clearance:kev:due_date", due));
        }
        props.push(property(
            "clearance:kev:ransomware",
            if kev.ransomware { "true" } else { "false" },
        ));
    }
    if let Some(epss) = &finding.epss {
        props.push(property(
            "clearance:epss:probability",
            &epss.probability.to_string(),
        ));
        props.push(property(
            "clearance:epss:percentile",
            &epss.percentile.to_string(),
        ));
    }
    props
}

fn property(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}
