//! How long a publisher's signatures last: whole days, checked when built,
//! so an expiry is never in the past, never overflows and is always a date
//! TUF's `YYYY-MM-DDTHH:MM:SSZ` can write (review finding B-18).

use std::fmt;
use std::str::FromStr;

use crate::time::UtcTime;

/// The longest lifetime a role may be given: a hundred years.
pub const MAX_DAYS: u32 = 36_500;

/// A lifetime in whole days, `1..=MAX_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Days(u32);

/// Why a number of days is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaysError {
    /// Not a whole number.
    #[error("{0:?} is not a number of days (a whole number from 1 to {MAX_DAYS})")]
    NotANumber(String),
    /// Below 1 or above [`MAX_DAYS`].
    #[error("a lifetime of {0} days is out of range: use 1 to {MAX_DAYS} days")]
    OutOfRange(u64),
}

impl Days {
    /// `days`, when it is between 1 and [`MAX_DAYS`].
    pub fn new(days: u32) -> Result<Days, DaysError> {
        if (1..=MAX_DAYS).contains(&days) {
            Ok(Days(days))
        } else {
            Err(DaysError::OutOfRange(u64::from(days)))
        }
    }

    /// The number of days, 1..=[`MAX_DAYS`].
    pub fn get(self) -> u32 {
        self.0
    }

    /// The instant this many days after `now` (no overflow: at most
    /// 36,500 × 86,400 seconds, added saturating).
    pub fn after(self, now: UtcTime) -> UtcTime {
        now.plus_seconds(i64::from(self.0) * 86_400)
    }
}

impl FromStr for Days {
    type Err = DaysError;

    /// A decimal number of days; a sign, fraction or overlong number is refused.
    fn from_str(s: &str) -> Result<Days, DaysError> {
        let n: u64 = s
            .parse()
            .map_err(|_| DaysError::NotANumber(s.chars().take(32).collect()))?;
        u32::try_from(n)
            .map_err(|_| DaysError::OutOfRange(n))
            .and_then(Days::new)
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How long each role's signatures last. Notary's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiries {
    /// Root: ten years by default.
    pub root_days: Days,
    /// Targets, delegated roles and hash bins: three years.
    pub targets_days: Days,
    /// Snapshot: three years.
    pub snapshot_days: Days,
    /// Timestamp: 14 days.
    pub timestamp_days: Days,
}

impl Default for Expiries {
    fn default() -> Self {
        Expiries {
            root_days: Days(3650),
            targets_days: Days(3 * 365),
            snapshot_days: Days(3 * 365),
            timestamp_days: Days(14),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b18_expiry_days_are_never_negative_zero_or_overflowing() {
        for bad in [
            "-1",
            "0",
            "36501",
            "4294967296",
            "99999999999999999999",
            "1.5",
            "",
        ] {
            assert!(bad.parse::<Days>().is_err(), "{bad}");
        }
        let most: Days = "36500".parse().unwrap();
        let now = UtcTime::now();
        assert!(most.after(now) > now);
        // Still a four-digit year, so TUF's time format can write it.
        assert_eq!(most.after(now).to_string().find('-'), Some(4));
        assert_eq!(Days::new(0), Err(DaysError::OutOfRange(0)));
        assert_eq!(
            Days::new(14).unwrap().after(UtcTime::from_unix(0)).unix(),
            14 * 86_400
        );
    }
}
