//! Metadata versions: a checked type, so a version can neither be zero nor
//! wrap when stored.
//!
//! TUF 1.0 (§4.2, "version"): "An integer that is greater than 0." The
//! specification sets no upper bound; Clearance refuses versions above
//! `i64::MAX` when a document is parsed, because the trust service keeps
//! versions in a signed 64-bit database column (SQLite and PostgreSQL
//! `BIGINT`), where a larger one would wrap to a negative number and sort
//! below every honest version (review finding B-3).

use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

/// A role's version: `1..=i64::MAX`, checked when built (and so when a
/// document is parsed: serde goes through [`Version::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Version(NonZeroU64);

/// Why a number is not a [`Version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// 0 (TUF versions start at 1).
    #[error("version must be at least 1")]
    Zero,
    /// Above `i64::MAX` (what the service's database column holds: review B-3).
    #[error("version {0} is above {max}, the largest version Clearance stores", max = i64::MAX)]
    TooLarge(u64),
}

impl Version {
    /// Version 1, what every role starts at.
    pub const FIRST: Version = Version(NonZeroU64::MIN);
    /// The largest version: `i64::MAX`.
    pub const MAX: u64 = i64::MAX as u64;

    /// `n` as a version: refused when 0 or above [`Version::MAX`].
    pub fn new(n: u64) -> Result<Version, VersionError> {
        match NonZeroU64::new(n) {
            None => Err(VersionError::Zero),
            Some(_) if n > Version::MAX => Err(VersionError::TooLarge(n)),
            Some(v) => Ok(Version(v)),
        }
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The version after this one; an error past [`Version::MAX`].
    pub fn next(self) -> Result<Version, VersionError> {
        // No overflow: self ≤ i64::MAX < u64::MAX.
        Version::new(self.get() + 1)
    }

    /// The version as the store's signed column holds it (never negative).
    pub fn to_i64(self) -> i64 {
        // Cannot fail: new() keeps every version ≤ i64::MAX.
        i64::try_from(self.get()).unwrap_or(i64::MAX)
    }
}

impl TryFrom<u64> for Version {
    type Error = VersionError;

    fn try_from(n: u64) -> Result<Version, VersionError> {
        Version::new(n)
    }
}

impl TryFrom<i64> for Version {
    type Error = VersionError;

    /// A version read back from a signed column: negative is as bad as zero.
    fn try_from(n: i64) -> Result<Version, VersionError> {
        u64::try_from(n)
            .map_err(|_| VersionError::Zero)
            .and_then(Version::new)
    }
}

impl From<Version> for u64 {
    fn from(v: Version) -> u64 {
        v.get()
    }
}

impl PartialEq<u64> for Version {
    fn eq(&self, other: &u64) -> bool {
        self.get() == *other
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b3_versions_are_refused_at_parse_when_zero_or_beyond_i64() {
        assert_eq!(Version::new(0), Err(VersionError::Zero));
        assert_eq!(Version::new(1), Ok(Version::FIRST));
        assert_eq!(Version::new(i64::MAX as u64).unwrap().to_i64(), i64::MAX);
        assert_eq!(Version::new(1 << 63), Err(VersionError::TooLarge(1 << 63)));
        assert_eq!(
            serde_json::from_str::<Version>("9223372036854775808")
                .unwrap_err()
                .to_string(),
            "version 9223372036854775808 is above 9223372036854775807, the largest version Clearance stores"
        );
        assert!(serde_json::from_str::<Version>("0").is_err());
        assert!(serde_json::from_str::<Version>("-1").is_err());
        assert_eq!(serde_json::to_string(&Version::FIRST).unwrap(), "1");
        assert_eq!(Version::try_from(-5i64), Err(VersionError::Zero));
    }

    #[test]
    fn b3_next_version_is_checked() {
        let max = Version::new(Version::MAX).unwrap();
        assert_eq!(max.next(), Err(VersionError::TooLarge(1 << 63)));
        assert_eq!(Version::FIRST.next().unwrap(), 2);
    }
}
