//! Calendar dates (`YYYY-MM-DD`, UTC) for exception expiry, and the day a
//! Unix time falls on, on the workspace's one copy of civil-calendar
//! arithmetic ([`clearance_oci::time`]).

use std::fmt;

use clearance_oci::time::{civil_from_days, days_from_civil};

/// A day of the proleptic Gregorian calendar, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

impl Date {
    /// The date `YYYY-MM-DD` names, or `None` when it is not one (`2027-02-30`,
    /// `27-1-1`, a year before 1970 or after 9999).
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |s: &str| -> Option<i64> {
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten()
        };
        let (y, m, d) = (num(&text[..4])?, num(&text[5..7])?, num(&text[8..])?);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m)
        {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// The day a Unix time (seconds) falls on, in UTC.
    pub fn of_unix(secs: i64) -> Date {
        Date(secs.div_euclid(86_400))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_print_and_count_days() {
        let d = Date::parse("2027-01-31").unwrap();
        assert_eq!(d.to_string(), "2027-01-31");
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2027-13-01",
            "2027-1-31",
            "27-01-31",
            "2027-01-32",
            "+027-01-31",
            "1969-12-31",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        // 2026-12-01T00:00:00Z
        assert_eq!(Date::of_unix(1_796_083_200).to_string(), "2026-12-01");
        assert_eq!(Date::of_unix(1_796_083_199).to_string(), "2026-11-30");
    }
}
