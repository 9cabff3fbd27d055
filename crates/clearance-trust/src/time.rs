//! UTC times in TUF's one format, `YYYY-MM-DDTHH:MM:SSZ`, as seconds since
//! the Unix epoch. In-house: a few lines, no calendar crate.
//!
//! Code that decides by the time (the trust service's signatures and
//! re-signing, the client's reference time, TUF 5.1) reads it from a
//! [`Clock`] it is handed: [`SystemClock`] in production, a [`ManualClock`]
//! that tests set, so no test waits for time to pass.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use clearance_oci::time::days_from_civil;

/// Where the current time comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, to the second.
    fn now(&self) -> UtcTime;
}

/// A clock shared by everything that reads it.
pub type SharedClock = Arc<dyn Clock>;

/// The system's clock: what production runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UtcTime {
        UtcTime::now()
    }
}

/// A clock that says the time it was last set to, for tests: it moves only
/// when told. Clones share one time, so a test keeps a clone to move the
/// clock a service or client was handed.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: UtcTime) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(at.unix())))
    }

    /// Set the clock to `at`.
    pub fn set(&self, at: UtcTime) {
        self.0.store(at.unix(), Ordering::SeqCst);
    }

    /// Move the clock by `secs` seconds (back when negative).
    pub fn advance(&self, secs: i64) {
        self.set(self.now().plus_seconds(secs));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UtcTime {
        UtcTime(self.0.load(Ordering::SeqCst))
    }
}

/// A point in time, to the second, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(i64);

/// A time that is not TUF's `YYYY-MM-DDTHH:MM:SSZ` (or Notary's RFC 3339),
/// with the text given.
#[derive(Debug, thiserror::Error)]
#[error("invalid time {0:?}: expected YYYY-MM-DDTHH:MM:SSZ")]
pub struct TimeError(pub String);

impl UtcTime {
    /// The system's time. Code that decides by the time takes a [`Clock`]
    /// instead, so that tests can set it.
    pub fn now() -> UtcTime {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        UtcTime(secs)
    }

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> UtcTime {
        UtcTime(secs)
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix(self) -> i64 {
        self.0
    }

    /// `secs` seconds later (earlier when negative), saturating.
    pub fn plus_seconds(self, secs: i64) -> UtcTime {
        UtcTime(self.0.saturating_add(secs))
    }

    /// RFC 3339 as Go writes it (Notary): fractional seconds (dropped, so
    /// an expiry is never later than written) and `Z` or a `±HH:MM` offset.
    pub fn parse_rfc3339(s: &str) -> Result<UtcTime, TimeError> {
        let fail = || TimeError(s.chars().take(64).collect());
        let (Some(base), Some(mut rest)) = (s.get(..19), s.get(19..)) else {
            return Err(fail());
        };
        let base: UtcTime = format!("{base}Z").parse().map_err(|_| fail())?;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(fail());
            }
            rest = &fraction[digits..];
        }
        let offset = match rest.as_bytes() {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
            {
                let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
                let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                if hours > 23 || minutes > 59 {
                    return Err(fail());
                }
                let secs = hours * 3600 + minutes * 60;
                if *sign == b'+' { secs } else { -secs }
            }
            _ => return Err(fail()),
        };
        Ok(UtcTime(base.0 - offset))
    }
}

impl FromStr for UtcTime {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = || TimeError(s.chars().take(64).collect());
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(fail());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(fail());
            }
            part.parse().map_err(|_| fail())
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in_month = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month[(mo - 1) as usize]
            || h > 23
            || mi > 59
            || se > 60
        {
            return Err(fail());
        }
        Ok(UtcTime(
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se,
        ))
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clearance_oci::time::rfc3339_signed(self.0))
    }
}

impl serde::Serialize for UtcTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for UtcTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_instants() {
        for (s, unix) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2030-01-01T00:00:00Z", 1_893_456_000),
            ("2024-02-29T12:34:56Z", 1_709_210_096),
        ] {
            let t: UtcTime = s.parse().unwrap();
            assert_eq!(t.unix(), unix, "{s}");
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let at: UtcTime = "2030-01-01T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(at);
        let handed: SharedClock = Arc::new(clock.clone());
        assert_eq!(handed.now(), at);
        clock.advance(86_400);
        assert_eq!(handed.now().to_string(), "2030-01-02T00:00:00Z");
        clock.set(at);
        assert_eq!(handed.now(), at);
    }

    #[test]
    fn refuses_other_formats_and_impossible_dates() {
        for s in [
            "2030-01-01",
            "2030-01-01T00:00:00+00:00",
            "2030-01-01T00:00:00.5Z",
            "2023-02-29T00:00:00Z",
            "2030-13-01T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "203a-01-01T00:00:00Z",
        ] {
            assert!(s.parse::<UtcTime>().is_err(), "{s}");
        }
    }
}
