//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format,
//! errata 01; schema `sarif-schema-2.1.0.json`), as code-scanning
//! dashboards read it.
//!
//! - One run (§3.14) whose `tool.driver` (§3.18–§3.19) is `clearance` with
//!   one rule (`reportingDescriptor`, §3.49) per vulnerability id:
//!   `shortDescription` (§3.49.9), `helpUri` (§3.49.12, the first plain
//!   http(s) reference), `defaultConfiguration.level`, and `properties`
//!   with `security-severity` (the highest CVSS base score, as GitHub code
//!   scanning reads it) and `tags`.
//! - One `result` (§3.27) per finding: `ruleId`/`ruleIndex`, `level`
//!   (§3.27.10: `error` for critical and high, `warning` for medium,
//!   `note` otherwise), a message naming the package, the installed and
//!   the fixed version, and a location: the package database's image path
//!   as a relative `artifactLocation.uri` (§3.4.3, percent-encoded, no
//!   leading `/`) against the `uriBaseId` `IMAGE_ROOT` (§3.4.4, described
//!   in `originalUriBaseIds`, §3.14.14), and the layer as a
//!   `logicalLocation` (§3.33).
//! - One rule per secret rule that matched (`secret/npm-access-token`,
//!   with `security-severity` from the severity: 9.5, 8.0, 5.5, 2.0) and
//!   one result per secret: the masked prefix only, the file as above
//!   with its line as a `region` (§3.30), or only a logical location for
//!   the configuration's `Env` and history; a secret in a file a later
//!   layer deleted says so.
//! - Text people read (`message.text`, `shortDescription.text`, a
//!   suppression's `justification`) carries no control or invisible
//!   format characters: names, versions and paths from the image (and
//!   feed text) are escaped as the terminal output escapes them
//!   ([`clean`]: `\u{1b}`); URIs are percent-encoded (RFC 3986 §2.1).
//! - A finding a VEX statement suppressed is still a result, with
//!   `suppressions: [{kind: "external", status: "accepted",
//!   justification}]` (§3.35), so dashboards show it as dismissed.

use std::collections::BTreeMap;

use clearance_oci::text::clean;
use serde_json::{Map, Value, json};

use super::{Subject, Vex, percent_encode, plain_http_url};
use crate::advisory::Severity;
use crate::matcher::Finding;

/// `$schema` of the documents written: the errata 01 OASIS Standard
/// schema's `id`.
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The `uriBaseId` result locations are relative to: the root of the
/// image's filesystem.
pub const IMAGE_ROOT: &str = "IMAGE_ROOT";

/// The subject's findings (and suppressed findings) as a SARIF 2.1.0 log
/// with one run; a subject without a report gives a run without results.
pub fn render(subject: &Subject<'_>) -> Value {
    let findings = subject.findings();
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<Vec<&Finding>> = Vec::new();
    for (finding, _) in &findings {
        let next = rules.len();
        let index = *rule_index.entry(finding.id.as_str()).or_insert(next);
        if index == next {
            rules.push(Vec::new());
        }
        if let Some(group) = rules.get_mut(index) {
            group.push(finding);
        }
    }
    let mut results: Vec<Value> = findings
        .iter()
        .map(|(finding, vex)| {
            let index = rule_index.get(finding.id.as_str()).copied().unwrap_or(0);
            result(subject, finding, index, *vex)
        })
        .collect();
    let mut rules: Vec<Value> = rules.iter().map(|group| rule(group)).collect();
    if let Some(secrets) = subject.secrets {
        let (secret_rules, secret_results) = secrets_run(subject, secrets, rules.len());
        rules.extend(secret_rules);
        results.extend(secret_results);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "clearance",
                    "version": subject.tool_version,
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {
                IMAGE_ROOT: {
                    "description": {
                        "text": format!(
                            "The root of the filesystem of image {} (manifest {}).",
                            subject.reference, subject.manifest_digest
                        )
                    }
                }
            },
            "properties": {
                "imageReference": subject.reference,
                "manifestDigest": subject.manifest_digest,
                "imagePurl": subject.image_purl(),
            },
            "results": results,
        }]
    })
}

/// SARIF `level` of a severity (§3.27.10, §3.50.3).
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Negligible | Severity::Unknown => "note",
    }
}

/// GitHub code scanning's `security-severity` for a severity that has no
/// CVSS score behind it (its bands: critical over 9.0, high 7.0–8.9,
/// medium 4.0–6.9, low below).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        _ => "2.0",
    }
}

/// The rules (one per secret rule that matched, indexed from
/// `first_index`) and results for the secrets found.
fn secrets_run(
    subject: &Subject<'_>,
    secrets: &crate::secrets::SecretsReport,
    first_index: usize,
) -> (Vec<Value>, Vec<Value>) {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for f in &secrets.findings {
        let id = format!("secret/{}", f.rule_id);
        let next = first_index + rules.len();
        let rule_index = *index.entry(f.rule_id.as_str()).or_insert(next);
        if rule_index == next {
            rules.push(json!({
                "id": id,
                "shortDescription": { "text": clean(&f.title) },
                "defaultConfiguration": { "level": level(f.severity) },
                "properties": {
                    "tags": ["security", "secret", f.severity.as_str()],
                    "security-severity": security_severity(f.severity),
                },
            }));
        }
        let deleted = match f.deleted_in {
            Some(d) => format!(
                "; layer {d} deleted the file, but layer {} still holds it and can be pulled",
                f.layer
            ),
            None => String::new(),
        };
        let text = format!(
            "{} ({}) in {} line {}, layer {}{deleted}. Remove it from the layer that adds it and rotate it.",
            f.title, f.masked, f.path, f.line, f.layer
        );
        let layer = match subject.layer(f.layer) {
            Some(l) => format!("layer {} (diff_id {})", f.layer, l.diff_id),
            None => format!("layer {}", f.layer),
        };
        let mut location = Map::new();
        if let Some(path) = f.path.strip_prefix('/') {
            location.insert(
                "physicalLocation".into(),
                json!({
                    "artifactLocation": {
                        "uri": percent_encode(path, true),
                        "uriBaseId": IMAGE_ROOT,
                    },
                    "region": { "startLine": f.line.max(1) },
                }),
            );
        }
        let mut logical = vec![json!({
            "name": format!("layer {}", f.layer),
            "fullyQualifiedName": layer,
            "kind": "layer",
        })];
        if !f.path.starts_with('/') {
            logical.push(json!({ "name": f.path, "kind": "configuration" }));
        }
        location.insert("logicalLocations".into(), json!(logical));
        results.push(json!({
            "ruleId": id,
            "ruleIndex": rule_index,
            "level": level(f.severity),
            "message": { "text": clean(&text) },
            "locations": [Value::Object(location)],
            "partialFingerprints": {
                "clearanceSecret/v1": format!("{}|{}|{}|{}", f.rule_id, f.path, f.line, f.layer),
            },
            "properties": {
                "severity": f.severity.as_str(),
                "masked": f.masked,
                "layer": f.layer,
                "deletedIn": f.deleted_in,
            },
        }));
    }
    (rules, results)
}

/// The rule for one vulnerability id, from every finding of it.
fn rule(findings: &[&Finding]) -> Value {
    let Some(first) = findings.first() else {
        return json!({ "id": "" });
    };
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or_default();
    let score = findings
        .iter()
        .filter_map(|f| f.cvss.as_ref().map(|c| c.score))
        .filter(|s| s.is_finite())
        .fold(None, |max: Option<f64>, s| {
            Some(max.map_or(s, |m| m.max(s)))
        });
    let summary = findings
        .iter()
        .find_map(|f| f.summary.as_deref())
        .unwrap_or(first.id.as_str());
    let mut tags = vec!["security", "vulnerability", severity.as_str()];
    if findings.iter().any(|f| f.kev.is_some()) {
        tags.push("known-exploited");
    }
    let mut properties = Map::new();
    properties.insert("tags".into(), json!(tags));
    if let Some(score) = score {
        properties.insert("security-severity".into(), json!(format!("{score:.1}")));
    }
    let mut rule = Map::new();
    rule.insert("id".into(), json!(first.id));
    rule.insert("shortDescription".into(), json!({ "text": clean(summary) }));
    if let Some(url) = findings
        .iter()
        .flat_map(|f| f.urls.iter())
        .find(|u| plain_http_url(u))
    {
        rule.insert("helpUri".into(), json!(url));
    }
    rule.insert(
        "defaultConfiguration".into(),
        json!({ "level": level(severity) }),
    );
    rule.insert("properties".into(), Value::Object(properties));
    Value::Object(rule)
}

fn result(
    subject: &Subject<'_>,
    finding: &Finding,
    rule_index: usize,
    vex: Option<Vex<'_>>,
) -> Value {
    let p = &finding.package;
    let fix = match (&finding.fixed_version, finding.state) {
        (Some(fixed), _) => format!("fixed in {fixed}"),
        (None, Some(state)) => format!("no fixed version is known ({state})"),
        (None, None) => "no fixed version is known".to_owned(),
    };
    let text = format!(
        "{} {} ({}) is affected by {}; {fix}.",
        p.name, p.version, p.kind, finding.id
    );
    let layer = match subject.layer(p.layer) {
        Some(l) => format!("layer {} (diff_id {})", p.layer, l.diff_id),
        None => format!("layer {}", p.layer),
    };
    let mut properties = Map::new();
    properties.insert("purl".into(), json!(p.purl));
    properties.insert("installedVersion".into(), json!(p.version));
    if let Some(fixed) = &finding.fixed_version {
        properties.insert("fixedVersion".into(), json!(fixed));
    }
    properties.insert("severity".into(), json!(finding.severity.as_str()));
    properties.insert("layer".into(), json!(p.layer));
    properties.insert("kev".into(), json!(finding.kev.is_some()));
    if let Some(epss) = finding.epss.filter(|e| e.probability.is_finite()) {
        properties.insert("epss".into(), json!(epss.probability));
    }
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.id));
    result.insert("ruleIndex".into(), json!(rule_index));
    result.insert("level".into(), json!(level(finding.severity)));
    result.insert("message".into(), json!({ "text": clean(&text) }));
    result.insert(
        "locations".into(),
        json!([{
            "physicalLocation": {
                "artifactLocation": {
                    "uri": percent_encode(p.path.trim_start_matches('/'), true),
                    "uriBaseId": IMAGE_ROOT,
                }
            },
            "logicalLocations": [{
                "name": format!("layer {}", p.layer),
                "fullyQualifiedName": layer,
                "kind": "layer",
            }],
        }]),
    );
    result.insert(
        "partialFingerprints".into(),
        json!({ "clearanceFinding/v1": format!("{}|{}|{}", finding.id, p.purl, p.path) }),
    );
    if let Some(vex) = vex {
        result.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": clean(&vex.describe()),
            }]),
        );
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}
