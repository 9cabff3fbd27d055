//! Arbitrary-length unsigned numbers, compared without parsing them into an
//! integer type (so no overflow, no bignum crate).

use std::cmp::Ordering;

/// Orders two runs of ASCII digits by their numeric value: leading zeros are
/// ignored, then the longer run is the larger number, then the digits decide.
/// An empty run counts as zero.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `s` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `s` split into maximal runs of ASCII digits and of everything else, in
/// order: `"1.0rc2"` → `["1", ".", "0", "rc", "2"]`.
pub(crate) fn digit_runs(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_by_value() {
        assert_eq!(cmp_digits("010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("000", ""), Ordering::Equal);
        assert_eq!(
            cmp_digits("99999999999999999999999999", "100000000000000000000000000"),
            Ordering::Less
        );
        assert_eq!(
            digit_runs("1.0rc2").collect::<Vec<_>>(),
            ["1", ".", "0", "rc", "2"]
        );
    }
}
