//! NuGet versions, after NuGet's "Package versioning"
//! (<https://learn.microsoft.com/nuget/concepts/package-versioning>) and
//! `NuGet.Versioning`'s `NuGetVersion.TryParse` and `VersionComparer`:
//!
//! - one to four numeric parts (`Major.Minor[.Patch[.Revision]]`, a missing
//!   part is 0, so `1.0` = `1.0.0` = `1.0.0.0`), each at most `i32::MAX`,
//!   leading zeros allowed (legacy versions);
//! - an optional `-` release label of dot-separated identifiers
//!   (`[0-9A-Za-z-]+`) and optional `+` metadata, which is ignored;
//! - a version with a release label is older than the same version without;
//!   labels compare part by part, a part that `Int32.TryParse` reads as a
//!   number numerically and before any text, text parts case-insensitively
//!   (`StringComparer.OrdinalIgnoreCase`), a shorter label first.
//!
//! No crate implements this; `semver` cannot parse `1.0` or `1.0.0.1`.

use std::cmp::Ordering;

use super::numeric::is_digits;

/// A parsed NuGet version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NuGetVersion {
    numbers: [u32; 4],
    labels: Vec<String>,
}

impl NuGetVersion {
    /// Parses a NuGet version.
    ///
    /// # Errors
    /// A lower-case reason naming the part that is wrong.
    pub fn parse(text: &str) -> Result<NuGetVersion, String> {
        let (rest, metadata) = match text.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (text, None),
        };
        if let Some(metadata) = metadata
            && !valid_identifiers(metadata)
        {
            return Err("the metadata after '+' must be dot-separated [0-9A-Za-z-] parts".into());
        }
        let (core, label) = match rest.split_once('-') {
            Some((core, label)) => (core, Some(label)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 4 {
            return Err("more than four numeric parts".into());
        }
        let mut numbers = [0_u32; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if !is_digits(part) {
                return Err(format!("numeric part {part:?} is not a number"));
            }
            *slot = part
                .parse::<u32>()
                .ok()
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(|| format!("numeric part {part:?} is larger than Int32.MaxValue"))?;
        }
        let labels = match label {
            Some(label) if valid_identifiers(label) => {
                label.split('.').map(str::to_owned).collect()
            }
            Some(_) => {
                return Err("the release label must be dot-separated [0-9A-Za-z-] parts".into());
            }
            None => Vec::new(),
        };
        Ok(NuGetVersion { numbers, labels })
    }

    /// Orders two versions as `VersionComparer.Default` does.
    pub fn compare(&self, other: &NuGetVersion) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_labels(&self.labels, &other.labels),
            }
        })
    }
}

fn valid_identifiers(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn compare_labels(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x.parse::<i32>(), y.parse::<i32>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x
                .bytes()
                .map(|c| c.to_ascii_uppercase())
                .cmp(y.bytes().map(|c| c.to_ascii_uppercase())),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}
