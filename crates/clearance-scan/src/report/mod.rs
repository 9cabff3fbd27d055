//! Reports in the formats other tools read: an image's packages as a
//! CycloneDX 1.6 or SPDX 2.3 SBOM (JSON), and its vulnerabilities in
//! CycloneDX 1.6 (`vulnerabilities`) or SARIF 2.1.0.
//!
//! Each renderer is a pure function from a [`Subject`] (the image, its
//! layers, its [`Inventory`] and, when matched, its [`Report`]) to a
//! [`serde_json::Value`]:
//! - [`cyclonedx::render`]: CycloneDX 1.6 JSON (ECMA-424);
//! - [`spdx::render`]: SPDX 2.3 JSON;
//! - [`sarif::render`]: SARIF 2.1.0 (OASIS, errata 01).
//!
//! Output is reproducible: the same subject and timestamp give the same
//! bytes. Serial numbers and namespaces are name-based UUIDs (RFC 9562
//! §5.8, version 8, SHA-256) of the manifest digest, the timestamp and the
//! kind of document, never random. Text from the image (package names,
//! versions, paths) goes into JSON strings only, where serde escapes it;
//! where a schema constrains a string (CycloneDX `version` ≤ 1024
//! characters, SARIF `uri`, CycloneDX `iri-reference`, SPDX ids), it is
//! cut, percent-encoded or left out so the document stays valid.
//!
//! Each output is validated against the official JSON schema in
//! `tests/report.rs` (schemas fetched by `scripts/fetch-schemas.sh`);
//! `docs/report-formats.md` describes the mapping.

pub mod cyclonedx;
pub mod sarif;
pub mod spdx;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::catalog::Package;
use crate::inventory::{Inventory, Owner};
use crate::matcher::{Finding, Report};

/// Why a report input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A timestamp that is not `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds).
    #[error(
        "{value:?} is not a UTC timestamp of the form YYYY-MM-DDThh:mm:ssZ (as SPDX 2.3 §6.9 requires)"
    )]
    Timestamp {
        /// The text given (at most 64 characters of it).
        value: String,
    },
    /// Seconds since the epoch outside the years 1970–9999.
    #[error("{seconds} seconds since 1970 is outside the years 1970-9999")]
    OutOfRange {
        /// The value given.
        seconds: i64,
    },
}

/// When a document was made: UTC, whole seconds, written
/// `YYYY-MM-DDThh:mm:ssZ`. That is the one form both SPDX 2.3 (§6.9
/// "Created") and CycloneDX (`date-time`, RFC 3339 §5.6) accept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(String);

impl Timestamp {
    /// A timestamp written `YYYY-MM-DDThh:mm:ssZ`, with a real calendar
    /// date and a time of day below 24:00:00.
    ///
    /// # Errors
    ///
    /// [`ReportError::Timestamp`] for any other text.
    pub fn parse(text: &str) -> Result<Timestamp, ReportError> {
        let fail = || ReportError::Timestamp {
            value: text.chars().take(64).collect(),
        };
        let b = text.as_bytes();
        let shape = b.len() == 20
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if !shape {
            return Err(fail());
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
        let days_ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        if !days_ok || hour > 23 || minute > 59 || second > 59 {
            return Err(fail());
        }
        Ok(Timestamp(text.to_owned()))
    }

    /// The timestamp `seconds` after 1970-01-01T00:00:00Z (for
    /// `SystemTime::now()` or `SOURCE_DATE_EPOCH`).
    ///
    /// # Errors
    ///
    /// [`ReportError::OutOfRange`] before 1970 or after 9999.
    pub fn from_unix(seconds: i64) -> Result<Timestamp, ReportError> {
        // 9999-12-31T23:59:59Z
        const LAST: i64 = 253_402_300_799;
        if !(0..=LAST).contains(&seconds) {
            return Err(ReportError::OutOfRange { seconds });
        }
        Ok(Timestamp(clearance_oci::time::rfc3339_signed(seconds)))
    }

    /// The text, `YYYY-MM-DDThh:mm:ssZ`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether packages a later layer removed are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovedPackages {
    /// Left out (the default): an SBOM describes what a container runs.
    #[default]
    Omit,
    /// Listed, marked with the layer that removed them (`--all-layers`):
    /// they are still in the registry's blobs.
    List,
}

/// One layer of the image, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// Position in the manifest, 0 for the base.
    pub index: usize,
    /// The layer blob's digest (`sha256:…`, compressed).
    pub digest: String,
    /// The uncompressed digest the config lists (`rootfs.diff_ids`).
    pub diff_id: String,
    /// The history line that made it (`RUN apt-get install …`), if any.
    pub created_by: Option<String>,
}

/// What a report is about: one image, its packages and, when matched,
/// its vulnerabilities.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The image as the user named it, normalised (`oci:./layout:v1`,
    /// `registry.example/library/debian:12`).
    pub reference: &'a str,
    /// The manifest read (`sha256:…`); for a multi-platform image the
    /// chosen platform's.
    pub manifest_digest: &'a str,
    /// Registry and repository, when the image came from one
    /// (`docker.io/library/debian`): the purl's `repository_url`.
    pub repository: Option<&'a str>,
    /// The tag the reference named (`12`): the purl's `tag`.
    pub tag: Option<&'a str>,
    /// The image's architecture (`amd64`): the purl's `arch`.
    pub arch: Option<&'a str>,
    /// Every layer, in manifest order.
    pub layers: &'a [LayerRef],
    /// The packages found.
    pub inventory: &'a Inventory,
    /// Whether removed packages are listed.
    pub removed: RemovedPackages,
    /// Matching's outcome, when the image was matched (`scan`); `None`
    /// for an SBOM alone.
    pub report: Option<&'a Report>,
    /// The secrets found (`scan`): SARIF lists them as results; the SBOM
    /// formats leave them out.
    pub secrets: Option<&'a crate::secrets::SecretsReport>,
    /// When the document is made.
    pub timestamp: &'a Timestamp,
    /// Clearance's version (`0.1.0`), for the documents' tool fields.
    pub tool_version: &'a str,
}

/// One package as the documents list it: in the image, or (with
/// [`RemovedPackages::List`]) removed by a later layer.
#[derive(Debug, Clone)]
pub(crate) struct Listed<'a> {
    pub package: &'a Package,
    pub layer: usize,
    pub removed_in: Option<usize>,
    pub owned_by: Option<&'a Owner>,
    /// A reference unique in the document: the purl, with `#N` added
    /// when an earlier package has the same purl.
    pub key: String,
}

impl<'a> Subject<'a> {
    /// The packages to list: those in the image in inventory order, then
    /// the removed ones when asked, each with a unique key.
    pub(crate) fn listed(&self) -> Vec<Listed<'a>> {
        let inventory = self.inventory;
        let present = inventory
            .packages
            .iter()
            .map(|f| (&f.package, f.layer, None, f.owned_by.as_ref()));
        let removed = inventory
            .removed
            .iter()
            .filter(|_| self.removed == RemovedPackages::List)
            .map(|r| (&r.package, r.layer, Some(r.removed_in), None));
        let mut seen: HashMap<&str, usize> = HashMap::new();
        present
            .chain(removed)
            .map(|(package, layer, removed_in, owned_by)| {
                let count = seen.entry(package.purl.as_str()).or_insert(0);
                *count += 1;
                let key = match *count {
                    1 if !package.purl.is_empty() => package.purl.clone(),
                    n => format!("{}#{n}", package.purl),
                };
                Listed {
                    package,
                    layer,
                    removed_in,
                    owned_by,
                    key,
                }
            })
            .collect()
    }

    /// The layer at `index`, when the subject lists it.
    pub(crate) fn layer(&self, index: usize) -> Option<&'a LayerRef> {
        self.layers.iter().find(|l| l.index == index)
    }

    /// The image's name in its purl: the repository's last path segment
    /// (package-url `oci` type: "the last fragment of the repository
    /// name"), else the reference's, without tag or digest, lower-cased.
    pub(crate) fn image_name(&self) -> String {
        // A local image is named by its layout or archive file
        // (`oci:/srv/images/app:v1` → `app`), not by the transport.
        let local = ["oci:", "oci-archive:", "docker-archive:"]
            .iter()
            .find_map(|t| self.reference.strip_prefix(t))
            .unwrap_or(self.reference);
        let source = self.repository.unwrap_or(local);
        let source = source.split('@').next().unwrap_or(source);
        let last = source.rsplit('/').next().unwrap_or(source);
        let bare = match (self.repository, last.rsplit_once(':')) {
            (None, Some((name, _tag))) => name,
            _ => last,
        };
        let name: String = bare
            .chars()
            .filter(|c| !c.is_control())
            .flat_map(char::to_lowercase)
            .take(128)
            .collect();
        if name.is_empty() {
            "image".to_owned()
        } else {
            name
        }
    }

    /// The image's package URL (package-url spec, type `oci`):
    /// `pkg:oci/NAME@sha256:…?arch=…&repository_url=…&tag=…`, percent-encoded
    /// by the `packageurl` crate.
    pub fn image_purl(&self) -> String {
        let name = self.image_name();
        let built = (|| {
            let mut purl = packageurl::PackageUrl::new("oci", name.as_str()).ok()?;
            purl.with_version(self.manifest_digest).ok()?;
            for (key, value) in [
                ("arch", self.arch),
                ("repository_url", self.repository),
                ("tag", self.tag),
            ] {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    purl.add_qualifier(key, value).ok()?;
                }
            }
            Some(purl.to_string())
        })();
        built.unwrap_or_else(|| format!("pkg:oci/{}", percent_encode(&name, false)))
    }

    /// A name-based UUID for one document about this subject: SHA-256 of
    /// `kind`, the manifest digest and the timestamp, as RFC 9562 §5.8
    /// (version 8) and Appendix B.2 describe. The same inputs give the
    /// same UUID; another image, time or kind of document another.
    pub(crate) fn document_uuid(&self, kind: &str) -> String {
        let name = format!(
            "clearance report\0{kind}\0{}\0{}",
            self.manifest_digest, self.timestamp
        );
        let digest = clearance_oci::Digest::sha256_of(name.as_bytes());
        let hex = digest.hex();
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
        // RFC 9562 §5.8: version 8 in the high nibble of octet 6, variant
        // `10` in the two high bits of octet 8.
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Every finding, then every suppressed one with its VEX statement.
    pub(crate) fn findings(&self) -> Vec<(&'a Finding, Option<Vex<'a>>)> {
        let Some(report) = self.report else {
            return Vec::new();
        };
        report
            .findings
            .iter()
            .map(|f| (f, None))
            .chain(report.suppressed.iter().map(|s| {
                (
                    &s.finding,
                    Some(Vex {
                        status: &s.vex_status,
                        justification: s.justification.as_deref(),
                        document: &s.vex_document,
                    }),
                )
            }))
            .collect()
    }
}

/// The VEX statement that suppressed a finding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vex<'a> {
    pub status: &'a str,
    pub justification: Option<&'a str>,
    pub document: &'a str,
}

impl Vex<'_> {
    /// One line: `not_affected: vulnerable_code_not_present (VEX vex.json)`.
    pub fn describe(&self) -> String {
        match self.justification {
            Some(j) => format!("{}: {j} (VEX {})", self.status, self.document),
            None => format!("{} (VEX {})", self.status, self.document),
        }
    }
}

/// Keys of the listed packages by (purl, path), the first listing
/// winning, so a finding finds its package.
pub(crate) fn keys_by_package<'a>(
    listed: &'a [Listed<'a>],
) -> BTreeMap<(&'a str, &'a str), &'a str> {
    let mut keys = BTreeMap::new();
    for l in listed {
        keys.entry((l.package.purl.as_str(), l.package.path.as_str()))
            .or_insert(l.key.as_str());
    }
    keys
}

/// The first `max` characters of `text`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// Whether `url` is a plain `http(s)` URL that is valid both as an RFC
/// 3986 URI (SARIF's `format: uri`) and as a WHATWG URL (CycloneDX's
/// `iri-reference`): a host of letters, digits, dots and hyphens, an
/// optional numeric port, and path, query and fragment made of RFC 3986
/// `pchar`s, `/` and `?` with well-formed percent escapes. Feed URLs that
/// are anything else are left out of reports rather than repaired.
pub(crate) fn plain_http_url(url: &str) -> bool {
    if url.len() > 2048 {
        return false;
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    // A last label that is a number (or `0x…`) makes WHATWG parse the
    // host as IPv4; accept that only for a real dotted quad.
    let last = host.rsplit('.').next().unwrap_or(host);
    let numeric_tail = last.bytes().all(|b| b.is_ascii_digit())
        || last.starts_with("0x")
        || last.starts_with("0X");
    let host_ok = host.split('.').all(label_ok)
        && (!numeric_tail || host.parse::<std::net::Ipv4Addr>().is_ok());
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let (before, fragment) = tail.split_once('#').unwrap_or((tail, ""));
    host_ok && port_ok && !fragment.contains('#') && uri_chars_ok(before) && uri_chars_ok(fragment)
}

/// RFC 3986 `pchar`s, `/` and `?`, with `%` only as `%HH`.
fn uri_chars_ok(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            c if unreserved(c) || sub_delim(c) || matches!(c, b':' | b'@' | b'/' | b'?') => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// `text` percent-encoded (RFC 3986 §2.1) so it is a valid path: every
/// byte but unreserved characters, sub-delims, `@` and (when `slashes`)
/// `/` becomes `%HH`. `:` is always encoded, so a relative reference's
/// first segment is never read as a scheme (§4.2).
pub(crate) fn percent_encode(text: &str, slashes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if unreserved(b) || sub_delim(b) || b == b'@' || (slashes && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The ids other sources give the vulnerability, with the source each
/// prefix names (`GHSA-…` → `GHSA`).
pub(crate) fn alias_source(alias: &str) -> &str {
    alias.split_once('-').map_or(alias, |(prefix, _)| prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_checked_and_made_from_unix_seconds() {
        assert!(Timestamp::parse("2024-02-29T23:59:59Z").is_ok());
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+01:00",
            "2024-01-01T00:00:00.5Z",
            "",
        ] {
            assert!(
                matches!(Timestamp::parse(bad), Err(ReportError::Timestamp { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            Timestamp::from_unix(0).map(|t| t.to_string()),
            Ok("1970-01-01T00:00:00Z".to_owned())
        );
        assert_eq!(
            Timestamp::from_unix(1_709_251_199).map(|t| t.to_string()),
            Ok("2024-02-29T23:59:59Z".to_owned())
        );
        assert_eq!(
            Timestamp::from_unix(-1),
            Err(ReportError::OutOfRange { seconds: -1 })
        );
        assert!(Timestamp::from_unix(253_402_300_800).is_err());
    }

    #[test]
    fn plain_urls_pass_and_others_do_not() {
        for good in [
            "https://security-tracker.debian.org/tracker/CVE-2024-1",
            "http://127.0.0.1:8080/a?b=c&d#frag",
            "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
            "https://example.org/a%20b",
        ] {
            assert!(plain_http_url(good), "{good}");
        }
        for bad in [
            "ftp://example.org/",
            "https://exa mple.org/",
            "https://example.org/a b",
            "https://example.org/%zz",
            "https://user@example.org/",
            "https://example.org:port/",
            "https://1.2.3.999/",
            "https://example.0x1f/",
            "https://[::1]/",
            "https://example.org/\u{7f}",
            "https://example.org/\"",
            "https://example.org/a#b#c",
            "https://-a.org/",
            "https:///path",
        ] {
            assert!(!plain_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn paths_are_percent_encoded_with_colons_escaped() {
        assert_eq!(
            percent_encode("usr/lib/a b:c/\u{e9}\"%", true),
            "usr/lib/a%20b%3Ac/%C3%A9%22%25"
        );
        assert_eq!(percent_encode("a/b", false), "a%2Fb");
    }

    #[test]
    fn a_local_images_name_is_its_layouts_not_the_transports() {
        let layers = [];
        let inventory = crate::inventory::Inventory::default();
        let name = |reference: &str, repository: Option<&str>| {
            Subject {
                reference,
                manifest_digest: "sha256:00",
                repository,
                tag: None,
                arch: None,
                layers: &layers,
                inventory: &inventory,
                removed: RemovedPackages::Omit,
                report: None,
                secrets: None,
                timestamp: &Timestamp::from_unix(0).unwrap(),
                tool_version: "0",
            }
            .image_name()
        };
        assert_eq!(name("oci:img:j", None), "img");
        assert_eq!(name("oci:/srv/images/App:v1", None), "app");
        assert_eq!(name("oci-archive:/tmp/app.tar", None), "app.tar");
        assert_eq!(
            name(
                "docker.io/library/debian:12",
                Some("docker.io/library/debian")
            ),
            "debian"
        );
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("h\u{e9}llo", 2), "h\u{e9}");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
