//! Packagist (Composer) versions: normalised as Composer's
//! `VersionParser::normalize` does (composer/semver `src/VersionParser.php`),
//! then ordered by PHP's `version_compare` (`ext/standard/versioning.c`), as
//! Composer's `Comparator` does.
//!
//! Normalisation (classical form): optional `v`, 1–5 digits, up to three more
//! `.digits` parts, padded to four (`1.2` → `1.2.0.0`); then an optional
//! stability modifier `[._-]?(stable|beta|b|RC|alpha|a|patch|pl|p)` with
//! optional numbers, and an optional `[.-]?dev` (`1.0.0-beta.2` →
//! `1.0.0.0-beta2`, `v2.0RC1` → `2.0.0.0-RC1`, `1.0-dev` → `1.0.0.0-dev`).
//! Date form: `YYYY[.:-]MM…` (up to 9 numbers), non-digits read as dots. Build
//! metadata after `+` is dropped. Branch versions (`dev-main`, `1.x-dev`,
//! `master`) have no order and are refused.
//!
//! `version_compare`: `-`, `_`, `+` and other non-alphanumerics become `.`, a
//! `.` is put between digits and letters; parts compare pairwise, numbers
//! numerically, words by their special form (`dev < alpha = a < beta = b <
//! RC = rc < number < pl = p`, matched by prefix, anything else first); a
//! leftover part decides against the end: a number or `p…` is newer, a word is
//! older. Numbers here are compared at any length; PHP's `strtol` saturates
//! past `i64::MAX`.
//!
//! No crate fits: `semver-php` orders pre-releases wrongly and
//! `composer-semver` is EUPL-1.2.

use std::cmp::Ordering;

use super::numeric::cmp_digits;

/// A Composer version: its normalised text, split as `version_compare` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerVersion {
    parts: Vec<String>,
}

const STABILITIES: [&str; 9] = [
    "stable", "beta", "b", "rc", "alpha", "a", "patch", "pl", "p",
];

impl ComposerVersion {
    /// Parses and normalises a Composer version.
    ///
    /// # Errors
    /// A lower-case reason: a branch version, or text Composer calls an
    /// "invalid version string".
    pub fn parse(text: &str) -> Result<ComposerVersion, String> {
        let normalised = normalize(text)?;
        Ok(ComposerVersion {
            parts: canonical_parts(&normalised),
        })
    }

    /// Orders two versions as PHP's `version_compare` orders their normalised
    /// forms.
    pub fn compare(&self, other: &ComposerVersion) -> Ordering {
        for (a, b) in self.parts.iter().zip(&other.parts) {
            let ord = match (starts_digit(a), starts_digit(b)) {
                (true, true) => cmp_digits(a, b),
                (false, false) => special_form(a).cmp(&special_form(b)),
                (true, false) => special_form("#").cmp(&special_form(b)),
                (false, true) => special_form(a).cmp(&special_form("#")),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let (a, b) = (self.parts.len(), other.parts.len());
        match a.cmp(&b) {
            Ordering::Equal => Ordering::Equal,
            Ordering::Greater => leftover(self.parts.get(b)),
            Ordering::Less => leftover(other.parts.get(a)).reverse(),
        }
    }
}

/// A part left over after the other version ended, against that end.
fn leftover(part: Option<&String>) -> Ordering {
    match part {
        Some(p) if starts_digit(p) => Ordering::Greater,
        Some(p) => special_form(p).cmp(&special_form("#")),
        None => Ordering::Equal,
    }
}

fn starts_digit(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// PHP's `compare_special_version_forms` rank, matched by prefix in this order;
/// `-1` when nothing matches.
fn special_form(part: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| part.starts_with(name))
        .map_or(-1, |(_, rank)| *rank)
}

/// `php_canonicalize_version` (`s/[-_+]/./g`, a `.` between digits and
/// non-digits, other non-alphanumerics to `.`, no two dots in a row; the
/// first character is kept as it is), then split at `.`.
fn canonical_parts(v: &str) -> Vec<String> {
    let digit = |x: char| x.is_ascii_digit();
    let non_digit = |x: char| !x.is_ascii_digit() && x != '.';
    let mut chars = v.chars();
    let mut out = String::with_capacity(v.len() * 2);
    let Some(mut lp) = chars.next() else {
        return Vec::new();
    };
    out.push(lp);
    for c in chars {
        let dot_needed = !out.ends_with('.');
        if matches!(c, '-' | '_' | '+') {
            if dot_needed {
                out.push('.');
            }
        } else if (non_digit(lp) && digit(c)) || (digit(lp) && non_digit(c)) {
            if dot_needed {
                out.push('.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if dot_needed {
                out.push('.');
            }
        } else {
            out.push(c);
        }
        lp = c;
    }
    out.split('.').map(str::to_owned).collect()
}

/// Composer's `VersionParser::normalize`, for versions (not constraints).
fn normalize(text: &str) -> Result<String, String> {
    let v = text.trim();
    if v.is_empty() {
        return Err("empty".into());
    }
    let lower = v.to_ascii_lowercase();
    if matches!(lower.as_str(), "master" | "trunk" | "default") || lower.starts_with("dev-") {
        return Err("a branch version has no order".into());
    }
    // "strip off build metadata"
    let v = match v.split_once('+') {
        Some((head, tail)) if !head.is_empty() && !tail.is_empty() && !head.contains(',') => head,
        _ => v,
    };
    if let Some(normalised) = classical(v).or_else(|| date(v)) {
        return Ok(normalised);
    }
    if lower.ends_with("dev") {
        return Err("a branch version has no order".into());
    }
    Err("not a version Composer can normalise".into())
}

fn strip_v(v: &str) -> &str {
    v.strip_prefix(['v', 'V']).unwrap_or(v)
}

fn leading_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `^v?(\d{1,5}+)(\.\d++)?(\.\d++)?(\.\d++)?` + modifier.
fn classical(v: &str) -> Option<String> {
    let mut rest = strip_v(v);
    let n = leading_digits(rest);
    if n == 0 || n > 5 {
        return None;
    }
    let mut numbers = vec![rest.get(..n)?];
    rest = rest.get(n..)?;
    while numbers.len() < 4 {
        let Some(after) = rest.strip_prefix('.') else {
            break;
        };
        let n = leading_digits(after);
        if n == 0 {
            break;
        }
        numbers.push(after.get(..n)?);
        rest = after.get(n..)?;
    }
    let mut out = numbers.join(".");
    for _ in numbers.len()..4 {
        out.push_str(".0");
    }
    modifier(rest).map(|m| out + &m)
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + modifier, with
/// non-digits in the date read as dots. The longest date prefix whose rest is
/// a valid modifier wins, as the greedy regular expression's first match.
fn date(v: &str) -> Option<String> {
    let body = strip_v(v);
    let max = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b':' | b'-'))
        .count()
        // The longest date: 4 digits, six `-dd`, two `-ddd`.
        .min(4 + 6 * 3 + 2 * 4);
    (4..=max).rev().find_map(|end| {
        let (head, rest) = (body.get(..end)?, body.get(end..)?);
        if !date_shape(head) {
            return None;
        }
        let mut out = String::with_capacity(head.len());
        for c in head.chars() {
            out.push(if c.is_ascii_digit() { c } else { '.' });
        }
        modifier(rest).map(|m| out + &m)
    })
}

/// Whether `s` is `\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2}` entirely.
fn date_shape(s: &str) -> bool {
    fn groups(s: &str, two_digit: usize, tail: usize) -> bool {
        if s.is_empty() {
            return two_digit >= 1;
        }
        let body = s.strip_prefix(['.', ':', '-']).unwrap_or(s);
        let n = leading_digits(body);
        if tail == 0 && two_digit < 6 && n >= 2 && groups(&body[2..], two_digit + 1, 0) {
            return true;
        }
        two_digit >= 1
            && tail < 2
            && (1..=n.min(3)).any(|k| groups(&body[k..], two_digit, tail + 1))
    }
    leading_digits(s) >= 4 && s.is_char_boundary(4) && groups(&s[4..], 0, 0)
}

/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$`,
/// case-insensitive, rendered as Composer appends it: `-stability` +
/// numbers (leading `.`/`-` trimmed) and `-dev`; `stable` adds nothing.
fn modifier(rest: &str) -> Option<String> {
    let starts = [rest.strip_prefix(['.', '_', '-']), Some(rest)];
    for start in starts.into_iter().flatten() {
        let lower = start.to_ascii_lowercase();
        for stability in STABILITIES.iter().map(Some).chain([None]) {
            let (after, name) = match stability {
                Some(s) => match lower.strip_prefix(*s) {
                    Some(after) => (after, Some(*s)),
                    None => continue,
                },
                None => (lower.as_str(), None),
            };
            // `((?:[.-]?\d+)*+)`, possessive.
            let mut numbers = after;
            let mut consumed = 0;
            if name.is_some() {
                loop {
                    let body = numbers.strip_prefix(['.', '-']).unwrap_or(numbers);
                    let n = leading_digits(body);
                    if n == 0 {
                        break;
                    }
                    let step = (numbers.len() - body.len()) + n;
                    consumed += step;
                    numbers = numbers.get(step..)?;
                }
            }
            let digits_text = after.get(..consumed)?;
            let tail = numbers;
            let dev = match tail {
                "" => false,
                "dev" | ".dev" | "-dev" => true,
                _ => continue,
            };
            let mut out = String::new();
            match name {
                Some("stable") => return Some(out),
                Some(s) => {
                    out.push('-');
                    out.push_str(match s {
                        "a" => "alpha",
                        "b" => "beta",
                        "p" | "pl" => "patch",
                        "rc" => "RC",
                        other => other,
                    });
                    out.push_str(digits_text.trim_start_matches(['.', '-']));
                }
                None => {}
            }
            if dev {
                out.push_str("-dev");
            }
            return Some(out);
        }
    }
    None
}
