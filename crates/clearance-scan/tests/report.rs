//! CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 output, validated against the
//! official JSON schemas (fetched into target/schemas by
//! scripts/fetch-schemas.sh, never committed) and checked for the content
//! a consumer relies on: purls, references between objects, rule ids,
//! levels, VEX suppressions. The input is built by hand: an inventory of
//! a Debian image with OS and language packages (one owned by a Debian
//! package, one removed by a later layer) and a report with findings of
//! each severity band and one finding a VEX statement suppressed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use clearance_scan::advisory::{CvssScore, DistroState, EpssScore, KevEntry, Severity};
use clearance_scan::catalog::{self, Package, PackageType, SourcePackage};
use clearance_scan::inventory::{Found, Inventory, Owner, Removed};
use clearance_scan::matcher::{Finding, FindingPackage, MatchedAs, Report, Suppressed};
use clearance_scan::os::{Distro, parse_os_release};
use clearance_scan::report::{
    LayerRef, RemovedPackages, Subject, Timestamp, cyclonedx, sarif, spdx,
};

// --- schemas -----------------------------------------------------------------

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/schemas")
}

fn load(file: &str) -> Value {
    let path = schema_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/fetch-schemas.sh (scripts/install-test-deps.sh runs it) to fetch the official schemas",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// The schema's own URI: `$id` (draft-06 and later) or `id` (draft-04).
fn id_of(schema: &Value) -> String {
    schema
        .get("$id")
        .or_else(|| schema.get("id"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

/// Errors of `doc` against the schema in `main`, with `others` loaded by
/// their ids so `$ref`s between the files resolve offline. Format
/// assertions are on (`date-time`, `uri`, `iri-reference`).
fn errors(doc: &Value, main: &str, others: &[&str]) -> Option<String> {
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let main = load(main);
    let main_id = id_of(&main);
    compiler.add_resource(&main_id, main).unwrap();
    for other in others {
        let schema = load(other);
        compiler.add_resource(&id_of(&schema), schema).unwrap();
    }
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile(&main_id, &mut schemas)
        .unwrap_or_else(|e| panic!("{main_id} does not compile: {e:#}"));
    schemas.validate(doc, index).err().map(|e| format!("{e:#}"))
}

fn cyclonedx_errors(doc: &Value) -> Option<String> {
    errors(
        doc,
        "bom-1.6.schema.json",
        &["spdx.schema.json", "jsf-0.82.schema.json"],
    )
}

fn spdx_errors(doc: &Value) -> Option<String> {
    errors(doc, "spdx-2.3.schema.json", &[])
}

fn sarif_errors(doc: &Value) -> Option<String> {
    errors(doc, "sarif-schema-2.1.0.json", &[])
}

fn assert_valid(what: &str, doc: &Value, errors: Option<String>) {
    if let Some(errors) = errors {
        panic!(
            "{what} is not valid against its schema:\n{errors}\n{}",
            serde_json::to_string_pretty(doc).unwrap()
        );
    }
}

// --- input -------------------------------------------------------------------

const DIGEST: &str = "sha256:592e1b0dc1d7f9e5cd4e6fbc53cd9c1fbbcb9fd2dc7e6a26ff5bb2bb70f723ae";

fn debian() -> Distro {
    parse_os_release(
        b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        "usr/lib/os-release",
    )
    .unwrap()
}

fn layers() -> Vec<LayerRef> {
    (0..3)
        .map(|i| LayerRef {
            index: i,
            digest: format!("sha256:{}", format!("{i}b").repeat(32)),
            diff_id: format!("sha256:{}", format!("{i}d").repeat(32)),
            created_by: Some(format!("RUN step {i}")),
        })
        .collect()
}

fn deb(name: &str, version: &str, source: &str, layer: usize) -> Found {
    let distro = debian();
    let mut package = Package {
        name: name.into(),
        version: version.into(),
        kind: PackageType::Deb,
        arch: Some("amd64".into()),
        source: Some(SourcePackage {
            name: source.into(),
            version: version.into(),
        }),
        purl: String::new(),
        path: "/var/lib/dpkg/status".into(),
    };
    package.purl = catalog::package_purl(&package, Some(&distro));
    Found {
        package,
        layer,
        owned_by: None,
    }
}

fn language(kind: PackageType, name: &str, version: &str, path: &str, layer: usize) -> Found {
    Found {
        package: Package::language(kind, name.into(), version.into(), path),
        layer,
        owned_by: None,
    }
}

/// Debian 12: libssl3 and openssl (base layer), Debian's
/// python3-requests and the `requests` it ships (layer 1), a pip-installed
/// `urllib3` and an npm `@types/node` (layer 2); `curl` was installed in
/// layer 1 and removed in layer 2.
fn inventory() -> Inventory {
    let mut owned = language(
        PackageType::Python,
        "requests",
        "2.28.1",
        "/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO",
        1,
    );
    owned.owned_by = Some(Owner {
        kind: PackageType::Deb,
        name: "python3-requests".into(),
    });
    let curl = deb("curl", "7.88.1-10+deb12u5", "curl", 1).package;
    Inventory {
        distro: Some(debian()),
        packages: vec![
            deb("libssl3", "3.0.11-1~deb12u2", "openssl", 0),
            deb("openssl", "3.0.11-1~deb12u2", "openssl", 0),
            deb("python3-requests", "2.28.1+dfsg-1", "requests", 1),
            owned,
            language(
                PackageType::Python,
                "urllib3",
                "1.26.5",
                "/usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA",
                2,
            ),
            language(
                PackageType::Npm,
                "@types/node",
                "20.1.0",
                "/app/node_modules/@types/node/package.json",
                2,
            ),
        ],
        removed: vec![Removed {
            package: curl,
            layer: 1,
            removed_in: 2,
        }],
        ..Inventory::default()
    }
}

fn finding(found: &Found, id: &str, severity: Severity) -> Finding {
    let p = &found.package;
    Finding {
        id: id.into(),
        aliases: Vec::new(),
        package: FindingPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            kind: p.kind,
            purl: p.purl.clone(),
            path: p.path.clone(),
            layer: found.layer,
        },
        matched: MatchedAs {
            ecosystem: "Debian:12".into(),
            package: p.name.clone(),
            version: p.version.clone(),
        },
        severity,
        severity_source: "advisory".into(),
        cvss: None,
        fixed_version: None,
        state: None,
        kev: None,
        epss: None,
        summary: None,
        urls: Vec::new(),
        sources: vec!["osv:test".into()],
    }
}

/// CVE-2024-0001 (critical, CVSS 3.1, KEV, EPSS, rated by Debian) in
/// libssl3 and openssl; GHSA-…(medium, no fix) in @types/node;
/// CVE-2024-0003 (low, CVSS 4.0) in urllib3; CVE-2024-0005 in urllib3
/// suppressed by VEX.
fn report(inv: &Inventory) -> Report {
    let [libssl3, openssl, _, _, urllib3, types_node] = &inv.packages[..] else {
        panic!("inventory changed");
    };
    let cve1 = |found: &Found| Finding {
        aliases: vec!["DSA-5678-1".into()],
        severity_source: "debian-tracker".into(),
        cvss: CvssScore::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        fixed_version: Some("3.0.13-1~deb12u1".into()),
        kev: Some(KevEntry {
            cve: "CVE-2024-0001".into(),
            date_added: "2024-03-01".into(),
            due_date: Some("2024-03-22".into()),
            ransomware: true,
            required_action: None,
        }),
        epss: Some(EpssScore {
            probability: 0.97,
            percentile: 0.999,
        }),
        summary: Some("openssl: remote code execution".into()),
        urls: vec![
            "not a url".into(),
            "https://security-tracker.debian.org/tracker/CVE-2024-0001".into(),
        ],
        sources: vec!["debian-tracker".into(), "osv:Debian".into()],
        ..finding(found, "CVE-2024-0001", Severity::Critical)
    };
    let ghsa = Finding {
        state: Some(DistroState::Open),
        urls: vec!["https://github.com/advisories/GHSA-aaaa-bbbb-cccc".into()],
        ..finding(types_node, "GHSA-aaaa-bbbb-cccc", Severity::Medium)
    };
    let low = Finding {
        cvss: CvssScore::parse("CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"),
        severity_source: "CVSS 1.0 from osv:PyPI".into(),
        fixed_version: Some("1.26.18".into()),
        ..finding(urllib3, "CVE-2024-0003", Severity::Low)
    };
    let vexed = finding(urllib3, "CVE-2024-0005", Severity::High);
    Report {
        findings: vec![cve1(libssl3), cve1(openssl), ghsa, low],
        suppressed: vec![Suppressed {
            finding: vexed,
            vex_status: "not_affected".into(),
            justification: Some("vulnerable_code_not_in_execute_path".into()),
            vex_document: "vex.openvex.json".into(),
        }],
        ..Report::default()
    }
}

fn timestamp() -> Timestamp {
    Timestamp::parse("2024-05-01T12:00:00Z").unwrap()
}

fn subject<'a>(
    inv: &'a Inventory,
    report: Option<&'a Report>,
    layers: &'a [LayerRef],
    ts: &'a Timestamp,
) -> Subject<'a> {
    Subject {
        reference: "registry.example:5000/library/debian:12",
        manifest_digest: DIGEST,
        repository: Some("registry.example:5000/library/debian"),
        tag: Some("12"),
        arch: Some("amd64"),
        layers,
        inventory: inv,
        removed: RemovedPackages::Omit,
        report,
        secrets: None,
        timestamp: ts,
        tool_version: "0.1.0",
    }
}

fn props(v: &Value) -> Vec<(String, String)> {
    v["properties"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        p["value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn prop(v: &Value, name: &str) -> Option<String> {
    props(v)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

// --- CycloneDX ---------------------------------------------------------------

#[test]
fn cyclonedx_sbom_is_valid_and_names_image_packages_and_layers() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let doc = cyclonedx::render(&subject(&inv, None, &layers, &ts));
    assert_valid("CycloneDX SBOM", &doc, cyclonedx_errors(&doc));

    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["timestamp"], "2024-05-01T12:00:00Z");
    assert!(doc.get("vulnerabilities").is_none());

    let image = &doc["metadata"]["component"];
    assert_eq!(image["type"], "container");
    assert_eq!(image["name"], "debian");
    assert_eq!(image["version"], DIGEST);
    assert_eq!(
        image["purl"],
        "pkg:oci/debian@sha256:592e1b0dc1d7f9e5cd4e6fbc53cd9c1fbbcb9fd2dc7e6a26ff5bb2bb70f723ae\
         ?arch=amd64&repository_url=registry.example:5000%2Flibrary%2Fdebian&tag=12"
    );
    assert_eq!(
        prop(image, "clearance:layer:1:diff_id").as_deref(),
        Some(layers[1].diff_id.as_str())
    );

    let components = doc["components"].as_array().unwrap();
    assert_eq!(components[0]["type"], "operating-system");
    assert_eq!(components[0]["name"], "debian");
    assert_eq!(components[0]["version"], "12");
    // The OS, then the six packages in the image; curl (removed) is not.
    assert_eq!(components.len(), 7);
    assert!(components.iter().all(|c| c["name"] != "curl"));
    let libssl3 = &components[1];
    assert_eq!(libssl3["type"], "library");
    assert_eq!(
        libssl3["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    assert_eq!(libssl3["bom-ref"], libssl3["purl"]);
    assert_eq!(prop(libssl3, "clearance:layer:index").as_deref(), Some("0"));
    assert_eq!(
        prop(libssl3, "clearance:layer:diff_id").as_deref(),
        Some(layers[0].diff_id.as_str())
    );
    assert_eq!(
        prop(libssl3, "clearance:path").as_deref(),
        Some("/var/lib/dpkg/status")
    );
    let owned = &components[4];
    assert_eq!(owned["purl"], "pkg:pypi/requests@2.28.1");
    assert_eq!(
        prop(owned, "clearance:owned_by").as_deref(),
        Some("deb:python3-requests")
    );
    assert_eq!(components[6]["purl"], "pkg:npm/%40types/node@20.1.0");

    // Reproducible: the same input gives the same document; another time
    // another serial number.
    let again = cyclonedx::render(&subject(&inv, None, &layers, &ts));
    assert_eq!(doc, again);
    let serial = doc["serialNumber"].as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:"), "{serial}");
    assert_eq!(&serial[23..24], "8", "version 8 UUID: {serial}");
    let later = Timestamp::parse("2024-05-01T12:00:01Z").unwrap();
    let other = cyclonedx::render(&subject(&inv, None, &layers, &later));
    assert_ne!(other["serialNumber"], doc["serialNumber"]);
}

#[test]
fn cyclonedx_lists_removed_packages_only_when_asked() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let doc = cyclonedx::render(&Subject {
        removed: RemovedPackages::List,
        ..subject(&inv, None, &layers, &ts)
    });
    assert_valid(
        "CycloneDX SBOM with removed packages",
        &doc,
        cyclonedx_errors(&doc),
    );
    let curl = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "curl")
        .expect("curl listed");
    assert_eq!(prop(curl, "clearance:removed_in").as_deref(), Some("2"));
    assert_eq!(prop(curl, "clearance:layer:index").as_deref(), Some("1"));
}

#[test]
fn cyclonedx_vulnerabilities_rate_affect_and_analyse() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let rep = report(&inv);
    let doc = cyclonedx::render(&subject(&inv, Some(&rep), &layers, &ts));
    assert_valid(
        "CycloneDX with vulnerabilities",
        &doc,
        cyclonedx_errors(&doc),
    );

    let sbom = cyclonedx::render(&subject(&inv, None, &layers, &ts));
    assert_ne!(doc["serialNumber"], sbom["serialNumber"]);

    let refs: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 5);
    for v in vulns {
        for a in v["affects"].as_array().unwrap() {
            let r = a["ref"].as_str().unwrap();
            assert!(refs.contains(&r), "affects {r} which is no component");
        }
    }

    let cve1 = &vulns[0];
    assert_eq!(cve1["id"], "CVE-2024-0001");
    assert_eq!(cve1["affects"][0]["ref"], inv.packages[0].package.purl);
    assert_eq!(
        cve1["affects"][0]["versions"][0]["version"],
        "3.0.11-1~deb12u2"
    );
    assert_eq!(cve1["references"][0]["id"], "DSA-5678-1");
    assert_eq!(cve1["ratings"][0]["method"], "CVSSv31");
    assert_eq!(cve1["ratings"][0]["score"], 9.8);
    assert_eq!(cve1["ratings"][0]["severity"], "critical");
    assert_eq!(cve1["ratings"][1]["source"]["name"], "debian-tracker");
    assert_eq!(
        cve1["advisories"],
        serde_json::json!([{ "url": "https://security-tracker.debian.org/tracker/CVE-2024-0001" }])
    );
    assert_eq!(prop(cve1, "clearance:kev").as_deref(), Some("true"));
    assert_eq!(
        prop(cve1, "clearance:kev:date_added").as_deref(),
        Some("2024-03-01")
    );
    assert_eq!(
        prop(cve1, "clearance:kev:ransomware").as_deref(),
        Some("true")
    );
    assert_eq!(
        prop(cve1, "clearance:epss:probability").as_deref(),
        Some("0.97")
    );
    assert_eq!(
        prop(cve1, "clearance:fixed_version").as_deref(),
        Some("3.0.13-1~deb12u1")
    );
    assert!(cve1.get("analysis").is_none());
    assert_eq!(vulns[1]["affects"][0]["ref"], inv.packages[1].package.purl);

    let ghsa = &vulns[2];
    assert_eq!(ghsa["ratings"][0]["severity"], "medium");
    assert_eq!(
        prop(ghsa, "clearance:distro_state").as_deref(),
        Some("open")
    );

    let low = &vulns[3];
    assert_eq!(low["ratings"].as_array().unwrap().len(), 1);
    assert_eq!(low["ratings"][0]["method"], "CVSSv4");

    let vexed = &vulns[4];
    assert_eq!(vexed["id"], "CVE-2024-0005");
    assert_eq!(vexed["analysis"]["state"], "not_affected");
    assert_eq!(vexed["analysis"]["justification"], "code_not_reachable");
    assert!(
        vexed["analysis"]["detail"]
            .as_str()
            .unwrap()
            .contains("vex.openvex.json")
    );
}

// --- SPDX --------------------------------------------------------------------

fn is_spdx_id(id: &str) -> bool {
    id.strip_prefix("SPDXRef-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    })
}

fn relationships(doc: &Value) -> Vec<(String, String, String)> {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spdxElementId"].as_str().unwrap().to_owned(),
                r["relationshipType"].as_str().unwrap().to_owned(),
                r["relatedSpdxElement"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn spdx_document_is_valid_and_relates_image_and_packages() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let doc = spdx::render(&Subject {
        removed: RemovedPackages::List,
        ..subject(&inv, None, &layers, &ts)
    });
    assert_valid("SPDX document", &doc, spdx_errors(&doc));

    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["creationInfo"]["created"], "2024-05-01T12:00:00Z");
    assert_eq!(
        doc["creationInfo"]["creators"],
        serde_json::json!(["Tool: clearance-0.1.0"])
    );
    let namespace = doc["documentNamespace"].as_str().unwrap();
    assert!(namespace.starts_with(spdx::NAMESPACE_BASE), "{namespace}");
    assert!(!namespace.contains('#'));
    assert_eq!(
        doc,
        spdx::render(&Subject {
            removed: RemovedPackages::List,
            ..subject(&inv, None, &layers, &ts)
        })
    );

    let packages = doc["packages"].as_array().unwrap();
    for p in packages {
        let id = p["SPDXID"].as_str().unwrap();
        assert!(is_spdx_id(id), "{id}");
        assert_eq!(p["filesAnalyzed"], false);
        assert_eq!(p["supplier"], "NOASSERTION");
        assert_eq!(p["downloadLocation"], "NOASSERTION");
    }
    let image = &packages[0];
    assert_eq!(image["SPDXID"], spdx::IMAGE_ID);
    assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(image["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(image["checksums"][0]["checksumValue"], &DIGEST[7..]);
    assert!(
        image["externalRefs"][0]["referenceLocator"]
            .as_str()
            .unwrap()
            .starts_with("pkg:oci/debian@sha256:592e")
    );
    assert_eq!(packages[1]["primaryPackagePurpose"], "OPERATING_SYSTEM");

    let types_node = packages
        .iter()
        .find(|p| p["name"] == "@types/node")
        .unwrap();
    assert_eq!(types_node["versionInfo"], "20.1.0");
    assert_eq!(
        types_node["externalRefs"],
        serde_json::json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:npm/%40types/node@20.1.0",
        }])
    );
    assert!(
        types_node["SPDXID"]
            .as_str()
            .unwrap()
            .starts_with("SPDXRef-Package-npm--types-node-")
    );

    // DOCUMENT DESCRIBES the image; the image CONTAINS the OS and the six
    // packages in it, not the removed curl.
    let rels = relationships(&doc);
    assert_eq!(
        rels[0],
        (
            "SPDXRef-DOCUMENT".to_owned(),
            "DESCRIBES".to_owned(),
            spdx::IMAGE_ID.to_owned()
        )
    );
    let contained: Vec<&str> = rels
        .iter()
        .filter(|(from, kind, _)| from == spdx::IMAGE_ID && kind == "CONTAINS")
        .map(|(_, _, to)| to.as_str())
        .collect();
    assert_eq!(contained.len(), 7);
    let curl = packages.iter().find(|p| p["name"] == "curl").unwrap();
    assert!(!contained.contains(&curl["SPDXID"].as_str().unwrap()));
    assert!(
        curl["comment"]
            .as_str()
            .unwrap()
            .contains("removed by layer 2")
    );
    let ids: std::collections::BTreeSet<&str> = packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), packages.len(), "SPDX ids are unique");
}

// --- SARIF -------------------------------------------------------------------

#[test]
fn sarif_log_is_valid_with_one_rule_per_vulnerability() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let rep = report(&inv);
    let doc = sarif::render(&subject(&inv, Some(&rep), &layers, &ts));
    assert_valid("SARIF log", &doc, sarif_errors(&doc));

    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "clearance");
    assert_eq!(driver["version"], "0.1.0");
    let rules = driver["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        rule_ids,
        [
            "CVE-2024-0001",
            "GHSA-aaaa-bbbb-cccc",
            "CVE-2024-0003",
            "CVE-2024-0005"
        ]
    );
    assert_eq!(
        rules[0]["shortDescription"]["text"],
        "openssl: remote code execution"
    );
    assert_eq!(
        rules[0]["helpUri"],
        "https://security-tracker.debian.org/tracker/CVE-2024-0001"
    );
    assert_eq!(rules[0]["properties"]["security-severity"], "9.8");
    assert!(
        rules[0]["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"known-exploited".into())
    );
    assert!(rules[1]["properties"].get("security-severity").is_none());
    assert_eq!(rules[1]["shortDescription"]["text"], "GHSA-aaaa-bbbb-cccc");

    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(r["ruleId"], rules[index]["id"]);
    }
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "error", "warning", "note", "error"]);

    let first = &results[0];
    let text = first["message"]["text"].as_str().unwrap();
    for part in [
        "libssl3",
        "3.0.11-1~deb12u2",
        "3.0.13-1~deb12u1",
        "CVE-2024-0001",
    ] {
        assert!(text.contains(part), "{text} names {part}");
    }
    let location = &first["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/dpkg/status"
    );
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uriBaseId"],
        sarif::IMAGE_ROOT
    );
    assert_eq!(location["logicalLocations"][0]["name"], "layer 0");
    assert!(
        location["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap()
            .contains(&layers[0].diff_id)
    );
    assert!(first.get("suppressions").is_none());
    assert!(
        results[2]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("no fixed version is known (open)")
    );
    assert_eq!(
        results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA"
    );

    let vexed = &results[4];
    assert_eq!(vexed["ruleId"], "CVE-2024-0005");
    assert_eq!(vexed["suppressions"][0]["kind"], "external");
    assert_eq!(vexed["suppressions"][0]["status"], "accepted");
    assert!(
        vexed["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .contains("vulnerable_code_not_in_execute_path")
    );
}

#[test]
fn sarif_without_a_report_is_a_valid_empty_run() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let doc = sarif::render(&subject(&inv, None, &layers, &ts));
    assert_valid("empty SARIF log", &doc, sarif_errors(&doc));
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

#[test]
fn sarif_lists_secrets_masked_with_their_line_after_the_vulnerabilities() {
    use clearance_scan::advisory::Severity;
    use clearance_scan::secrets::{ScanStats, SecretFinding, SecretsReport};
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let rep = report(&inv);
    let secret = |rule: &str, path: &str, line, layer, deleted_in, masked: &str| SecretFinding {
        rule_id: rule.to_owned(),
        title: format!("{rule} title"),
        severity: Severity::High,
        layer,
        path: path.to_owned(),
        line,
        masked: masked.parse().unwrap(),
        deleted_in,
    };
    let secrets = SecretsReport {
        findings: vec![
            secret(
                "npm-access-token",
                "/root/.npmrc",
                3,
                0,
                Some(1),
                "npm_****",
            ),
            secret("github-pat", "config:Env", 1, 1, None, "ghp_****"),
            secret(
                "npm-access-token",
                "/srv/my app/.npmrc",
                1,
                1,
                None,
                "npm_****",
            ),
        ],
        stats: ScanStats::default(),
        incomplete: Vec::new(),
    };
    let doc = sarif::render(&Subject {
        secrets: Some(&secrets),
        ..subject(&inv, Some(&rep), &layers, &ts)
    });
    assert_valid("SARIF log with secrets", &doc, sarif_errors(&doc));
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let vulnerabilities = rules.len() - 2;
    assert_eq!(rules[vulnerabilities]["id"], "secret/npm-access-token");
    assert_eq!(rules[vulnerabilities + 1]["id"], "secret/github-pat");
    assert_eq!(
        rules[vulnerabilities]["properties"]["security-severity"],
        "8.0"
    );
    let results = run["results"].as_array().unwrap();
    let secret_results = &results[results.len() - 3..];
    let indexes: Vec<usize> = secret_results
        .iter()
        .map(|r| r["ruleIndex"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(
        indexes,
        [vulnerabilities, vulnerabilities + 1, vulnerabilities],
        "one rule per secret rule, each result pointing at its own"
    );
    let npmrc = &secret_results[0];
    let place = &npmrc["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], "root/.npmrc");
    assert_eq!(place["region"]["startLine"], 3);
    let text = npmrc["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("npm_****") && text.contains("layer 1 deleted the file"),
        "{text}"
    );
    let env = &secret_results[1]["locations"][0];
    assert!(env.get("physicalLocation").is_none(), "{env}");
    assert_eq!(env["logicalLocations"][1]["name"], "config:Env");
    assert_eq!(
        secret_results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "srv/my%20app/.npmrc"
    );
}

/// Break-it (issue 9): a file name in a layer such as `etc/a\x1b[2Jb`
/// reached SARIF's message text with its escape sequence whole (JSON
/// escapes it, and the dashboard that decodes it shows it raw). Text
/// people read is escaped as the terminal output escapes it; URIs are
/// percent-encoded.
#[test]
fn b9_sarif_text_from_the_image_has_no_control_characters() {
    use clearance_scan::secrets::{ScanStats, SecretFinding, SecretsReport};
    let (layers, ts) = (layers(), timestamp());
    let hostile = "etc/a\u{1b}[2Jb\u{202e}";
    let mut inv = inventory();
    let package = &mut inv.packages[0].package;
    package.name = "lib\u{1b}]0;pwned\u{7}ssl3".to_owned();
    package.path = format!("/{hostile}/status");
    let rep = report(&inv);
    let secrets = SecretsReport {
        findings: vec![SecretFinding {
            rule_id: "npm-access-token".to_owned(),
            title: "npm access token".to_owned(),
            severity: Severity::High,
            layer: 1,
            path: format!("/{hostile}/.npmrc"),
            line: 1,
            masked: "npm_****".parse().unwrap(),
            deleted_in: None,
        }],
        stats: ScanStats::default(),
        incomplete: Vec::new(),
    };
    let doc = sarif::render(&Subject {
        secrets: Some(&secrets),
        ..subject(&inv, Some(&rep), &layers, &ts)
    });
    assert_valid("SARIF log with hostile names", &doc, sarif_errors(&doc));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let mut texts = Vec::new();
    for r in results {
        texts.push(r["message"]["text"].as_str().unwrap().to_owned());
        if let Some(uri) = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
        {
            texts.push(uri.to_owned());
        }
    }
    for text in &texts {
        assert!(
            !text.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{text:?}"
        );
    }
    let hostile_package = results
        .iter()
        .find(|r| r["properties"]["purl"] == inv.packages[0].package.purl)
        .unwrap();
    let text = hostile_package["message"]["text"].as_str().unwrap();
    assert!(text.contains("lib\\u{1b}]0;pwned\\u{7}ssl3"), "{text}");
    assert_eq!(
        hostile_package["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "etc/a%1B%5B2Jb%E2%80%AE/status"
    );
    let secret = results.last().unwrap();
    let text = secret["message"]["text"].as_str().unwrap();
    assert!(text.contains("/etc/a\\u{1b}[2Jb\\u{202e}/.npmrc"), "{text}");
}

// --- the validator can fail --------------------------------------------------

#[test]
fn schemas_reject_broken_documents() {
    let (inv, layers, ts) = (inventory(), layers(), timestamp());
    let rep = report(&inv);
    let s = subject(&inv, Some(&rep), &layers, &ts);

    let mut bom = cyclonedx::render(&s);
    bom["components"][1]["type"] = "package".into();
    assert!(cyclonedx_errors(&bom).is_some(), "unknown component type");
    let mut bom = cyclonedx::render(&s);
    bom["metadata"]["timestamp"] = "2024-05-01 12:00".into();
    assert!(
        cyclonedx_errors(&bom).is_some(),
        "timestamp not a date-time"
    );
    let mut bom = cyclonedx::render(&s);
    bom["vulnerabilities"][0]["advisories"][0]["url"] = "https://exa mple.org/\\".into();
    assert!(cyclonedx_errors(&bom).is_some(), "advisory url not an IRI");

    let mut doc = spdx::render(&s);
    doc["packages"][1]
        .as_object_mut()
        .unwrap()
        .remove("downloadLocation");
    assert!(
        spdx_errors(&doc).is_some(),
        "package without downloadLocation"
    );

    let mut log = sarif::render(&s);
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(sarif_errors(&log).is_some(), "unknown level");
    let mut log = sarif::render(&s);
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "var/lib/a b".into();
    assert!(sarif_errors(&log).is_some(), "uri with a space");
}

// --- hostile text --------------------------------------------------------------

#[test]
fn hostile_text_still_yields_valid_documents() {
    let nasty = "evil\u{0}\u{1b}[31m\"quoted\"\n\t\\#?%zz:\u{202e}\u{7f}é漢";
    let long = format!("{nasty}{}", "x".repeat(20_000));
    let distro = Distro {
        id: format!("deb:ian {nasty}"),
        version_id: Some(long.clone()),
        pretty_name: Some(nasty.into()),
        ..debian()
    };
    let hostile = |kind: PackageType, layer: usize| {
        let mut p = Package {
            name: format!("{nasty}{}", kind.purl_type()),
            version: long.clone(),
            kind,
            arch: Some(nasty.into()),
            source: Some(SourcePackage {
                name: nasty.into(),
                version: nasty.into(),
            }),
            purl: String::new(),
            path: format!("//{nasty}/var lib/{long}"),
        };
        p.purl = catalog::package_purl(&p, Some(&distro));
        Found {
            package: p,
            layer,
            owned_by: Some(Owner {
                kind: PackageType::Deb,
                name: nasty.into(),
            }),
        }
    };
    let found = vec![
        hostile(PackageType::Deb, 0),
        hostile(PackageType::Python, 1),
        hostile(PackageType::Npm, 99),
        // The same package twice: bom-refs and SPDX ids must still differ.
        hostile(PackageType::Deb, 0),
    ];
    let inv = Inventory {
        distro: Some(distro.clone()),
        packages: found.clone(),
        removed: vec![Removed {
            package: found[0].package.clone(),
            layer: 0,
            removed_in: 1,
        }],
        ..Inventory::default()
    };
    let mut bad = finding(&found[0], nasty, Severity::Critical);
    bad.aliases = vec![nasty.into(), long.clone()];
    bad.summary = Some(long.clone());
    bad.urls = vec![
        "javascript:alert(1)".into(),
        "https://exa mple.org/".into(),
        format!("https://example.org/{nasty}"),
        "https://1.2.3.999/x".into(),
        "https://example.org/%zz".into(),
    ];
    bad.severity_source = nasty.into();
    bad.fixed_version = Some(long.clone());
    bad.epss = Some(EpssScore {
        probability: f64::NAN,
        percentile: f64::INFINITY,
    });
    bad.cvss = Some(CvssScore {
        vector: nasty.into(),
        score: f64::NAN,
    });
    let rep = Report {
        findings: vec![
            bad.clone(),
            bad.clone(),
            finding(&found[2], &long, Severity::Unknown),
        ],
        suppressed: vec![Suppressed {
            finding: bad.clone(),
            vex_status: nasty.into(),
            justification: Some(long.clone()),
            vex_document: nasty.into(),
        }],
        ..Report::default()
    };
    let layers = vec![LayerRef {
        index: 0,
        digest: nasty.into(),
        diff_id: long.clone(),
        created_by: Some(nasty.into()),
    }];
    let ts = timestamp();
    let s = Subject {
        reference: nasty,
        manifest_digest: "sha256:NOT-A-DIGEST\"",
        repository: Some(nasty),
        tag: Some(nasty),
        arch: Some(nasty),
        layers: &layers,
        inventory: &inv,
        removed: RemovedPackages::List,
        report: Some(&rep),
        secrets: None,
        timestamp: &ts,
        tool_version: nasty,
    };

    let bom = cyclonedx::render(&s);
    assert_valid("hostile CycloneDX", &bom, cyclonedx_errors(&bom));
    for c in bom["components"].as_array().unwrap() {
        if let Some(v) = c["version"].as_str() {
            assert!(v.chars().count() <= 1024);
        }
    }
    let refs: std::collections::BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), bom["components"].as_array().unwrap().len());
    assert!(bom["vulnerabilities"][0].get("advisories").is_none());

    let doc = spdx::render(&s);
    assert_valid("hostile SPDX", &doc, spdx_errors(&doc));
    for p in doc["packages"].as_array().unwrap() {
        let id = p["SPDXID"].as_str().unwrap();
        assert!(is_spdx_id(id), "{id:?}");
    }
    assert!(doc["packages"][0].get("checksums").is_none());
    let namespace = doc["documentNamespace"].as_str().unwrap();
    assert!(
        namespace
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'"'),
        "{namespace:?}"
    );

    let log = sarif::render(&s);
    assert_valid("hostile SARIF", &log, sarif_errors(&log));
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 2, "one rule per id");
    assert!(rules[0].get("helpUri").is_none());
}
