//! Date-times as Go's `time.Time` decodes them from JSON: RFC 3339
//! (`time.RFC3339Nano` layout, `2006-01-02T15:04:05.999999999Z07:00`).
//! containerd and Docker decode an image config's `created` fields into
//! `time.Time`, so a config with any other text there does not load.

/// Whether `s` is a date-time Go's `time.Time.UnmarshalJSON` accepts: a
/// four-digit year, month 01–12, a day that exists in that month, hour
/// 00–23, minute and second 00–59, optional fractional seconds (1–9
/// digits), and `Z` or a `±hh:mm` offset (hours ≤ 23, minutes ≤ 59). `T`
/// and `Z` are upper case, as Go requires.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        part.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let punct = |at: usize, c: u8| b.get(at) == Some(&c);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0, 4),
        digits(5, 2),
        digits(8, 2),
        digits(11, 2),
        digits(14, 2),
        digits(17, 2),
    ) else {
        return false;
    };
    if !(punct(4, b'-') && punct(7, b'-') && punct(10, b'T') && punct(13, b':') && punct(16, b':'))
    {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut at = 19;
    if punct(at, b'.') {
        let fraction = b[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if !(1..=9).contains(&fraction) {
            return false;
        }
        at += 1 + fraction;
    }
    match b.get(at) {
        Some(b'Z') => at + 1 == b.len(),
        Some(b'+' | b'-') => {
            at + 6 == b.len()
                && punct(at + 3, b':')
                && digits(at + 1, 2).is_some_and(|h| h <= 23)
                && digits(at + 4, 2).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_rfc3339;

    #[test]
    fn date_times_go_accepts() {
        for ok in [
            "2020-01-01T00:00:00Z",
            "2024-02-29T23:59:59.123456789Z",
            "1970-01-01T00:00:00+01:00",
            "2023-06-01T12:00:00.5-07:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
    }

    #[test]
    fn text_go_refuses() {
        for bad in [
            "yesterday",
            "",
            "2020-01-01",
            "2020-01-01 00:00:00Z",
            "2020-01-01t00:00:00z",
            "2023-02-29T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00.1234567890Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01T00:00:00Z\u{1b}[31m",
            "２020-01-01T00:00:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad:?}");
        }
    }
}
