//! CISA's Known Exploited Vulnerabilities catalog
//! (`known_exploited_vulnerabilities.json`): `{catalogVersion,
//! dateReleased, count, vulnerabilities: [{cveID, dateAdded, dueDate,
//! knownRansomwareCampaignUse, requiredAction, …}]}`.

use serde::Deserialize;

use crate::advisory::{KevEntry, bounded, is_cve};

/// Largest catalog read, in bytes (the real one is about 1.5 MiB).
pub const MAX_KEV_BYTES: usize = 64 << 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    catalog_version: Option<String>,
    date_released: Option<String>,
    vulnerabilities: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    required_action: Option<String>,
}

/// The catalog read.
#[derive(Debug, Default)]
pub struct Catalog {
    /// `catalogVersion`.
    pub version: Option<String>,
    /// `dateReleased`.
    pub released: Option<String>,
    /// Its entries (those with a valid CVE id).
    pub entries: Vec<KevEntry>,
}

/// Why the catalog could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KevError {
    /// Over [`MAX_KEV_BYTES`].
    #[error("the catalog is {0} bytes, over the {MAX_KEV_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not the catalog's shape.
    #[error("not a CISA KEV catalog: {0}")]
    Invalid(String),
}

/// Read the catalog from JSON bytes.
///
/// # Errors
///
/// [`KevError`] naming what is wrong.
pub fn parse(bytes: &[u8]) -> Result<Catalog, KevError> {
    if bytes.len() > MAX_KEV_BYTES {
        return Err(KevError::TooLarge(bytes.len()));
    }
    let raw: RawCatalog =
        serde_json::from_slice(bytes).map_err(|e| KevError::Invalid(e.to_string()))?;
    Ok(Catalog {
        version: raw.catalog_version.map(|v| bounded(&v, 64)),
        released: raw.date_released.map(|v| bounded(&v, 64)),
        entries: raw
            .vulnerabilities
            .into_iter()
            .filter(|e| is_cve(&e.cve_id))
            .map(|e| KevEntry {
                cve: e.cve_id,
                date_added: bounded(&e.date_added, 32),
                due_date: e.due_date.map(|d| bounded(&d, 32)),
                ransomware: e.known_ransomware_campaign_use.as_deref() == Some("Known"),
                required_action: e.required_action.map(|a| bounded(&a, 512)),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_entries_are_read() {
        let json = r#"{"title": "CISA Catalog of Known Exploited Vulnerabilities",
          "catalogVersion": "2024.11.29", "dateReleased": "2024-11-29T17:00:00.000Z", "count": 2,
          "vulnerabilities": [
            {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
             "dateAdded": "2021-12-10", "dueDate": "2021-12-24", "knownRansomwareCampaignUse": "Known",
             "requiredAction": "Apply updates per vendor instructions.", "notes": "", "cwes": ["CWE-20"]},
            {"cveID": "not-a-cve", "dateAdded": "2021-12-10"}
          ]}"#;
        let c = parse(json.as_bytes()).unwrap();
        assert_eq!(c.version.as_deref(), Some("2024.11.29"));
        assert_eq!(c.entries.len(), 1);
        assert!(c.entries[0].ransomware);
        assert_eq!(c.entries[0].due_date.as_deref(), Some("2021-12-24"));
        assert!(matches!(parse(b"{}"), Err(KevError::Invalid(_))));
    }
}
