//! dpkg versions (Debian, Ubuntu): `[epoch:]upstream_version[-debian_revision]`.
//!
//! Grammar and order are deb-version(7) and dpkg's `lib/dpkg/version.c`
//! (`dpkg_version_compare`, `verrevcmp`):
//!
//! - the epoch is compared first, as a number (absent means 0);
//! - then the upstream version, then the revision (absent means `""`, which
//!   compares equal to `0`), each with `verrevcmp`: alternately a run of
//!   non-digits compared character by character, where `~` sorts before
//!   everything (even the end of the string), letters before non-letters, and
//!   then a run of digits compared numerically.
//!
//! Written here rather than taken from the `debversion` crate: the algorithm is
//! short and fully specified, and `debversion` brings chrono, lazy-regex (a
//! proc-macro) and num-bigint for it. Digit runs are compared as strings, so
//! `1.99999999999999999999999` neither overflows nor needs a bignum.

use std::cmp::Ordering;

use super::numeric::cmp_digits;

/// A parsed dpkg version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgVersion {
    epoch: u32,
    upstream: String,
    revision: String,
}

impl DpkgVersion {
    /// Parses `[epoch:]upstream[-revision]` as dpkg's `parseversion` does: the
    /// epoch is the digits before the first `:` (at most `i32::MAX`, as dpkg),
    /// the revision follows the last `-`.
    ///
    /// Refused: empty text, whitespace, an empty or non-numeric epoch, an empty
    /// upstream version or revision, and characters dpkg rejects (upstream:
    /// alphanumerics and `.+-~:`; revision: alphanumerics and `.+~`). dpkg only
    /// warns about an upstream version that does not start with a digit, and so
    /// does not this parser refuse it.
    ///
    /// # Errors
    /// A lower-case reason naming what is wrong.
    pub fn parse(text: &str) -> Result<DpkgVersion, String> {
        if text.is_empty() {
            return Err("empty".into());
        }
        if text.contains(|c: char| c.is_whitespace()) {
            return Err("contains whitespace".into());
        }
        let (epoch, rest) = match text.split_once(':') {
            Some((epoch, rest)) => {
                if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("the epoch before ':' must be digits".into());
                }
                let epoch = epoch
                    .parse::<u32>()
                    .ok()
                    .filter(|e| i32::try_from(*e).is_ok())
                    .ok_or_else(|| "the epoch is too big".to_owned())?;
                (epoch, rest)
            }
            None => (0, text),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err("the revision after '-' is empty".into()),
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err("the upstream version is empty".into());
        }
        if let Some(c) = upstream
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+-~:".contains(*c)))
        {
            return Err(format!(
                "character {c:?} is not allowed in the upstream version"
            ));
        }
        if let Some(c) = revision
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+~".contains(*c)))
        {
            return Err(format!("character {c:?} is not allowed in the revision"));
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }

    /// Orders two versions as `dpkg --compare-versions` does.
    pub fn compare(&self, other: &DpkgVersion) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

/// The weight of one character in a non-digit run (dpkg's `order()`): `~`
/// below the end of the string (0), letters by their code, anything else
/// after all letters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` over one part (upstream version or revision).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // "First the initial part of each string consisting entirely of
        // non-digit characters is determined ... compared lexically" (with
        // the modified order above).
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (ac, bc) = (order(a.first().copied()), order(b.first().copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        // "Then the initial part of the remainder of each string which
        // consists entirely of digit characters is determined. The numerical
        // values of these two parts are compared."
        let an = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let bn = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let (ad, rest_a) = a.split_at(an);
        let (bd, rest_b) = b.split_at(bn);
        // Both runs are ASCII digits, so these conversions cannot fail.
        let ord = cmp_digits(
            std::str::from_utf8(ad).unwrap_or_default(),
            std::str::from_utf8(bd).unwrap_or_default(),
        );
        if ord != Ordering::Equal {
            return ord;
        }
        a = rest_a;
        b = rest_b;
    }
    Ordering::Equal
}
