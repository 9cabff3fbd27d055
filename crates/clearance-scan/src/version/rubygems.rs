//! RubyGems versions, after `Gem::Version` (rubygems `lib/rubygems/version.rb`).
//!
//! - Valid text matches `ANCHORED_VERSION_PATTERN`:
//!   `\s*([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*`
//!   (this parser refuses the empty version, which RubyGems reads as `0`).
//! - Each `-` is read as `.pre.` (`1.0.0-alpha1` = `1.0.0.pre.alpha1`); the
//!   segments are the runs of digits (numbers) and of letters (strings).
//! - `canonical_segments`: trailing zeros are dropped from the leading numeric
//!   segments and from the rest (`1.0` = `1`).
//! - `<=>`: segment by segment, a missing one counting as `0`; a string is
//!   older than a number (`1.0.a < 1.0`); strings compare byte-wise.
//!
//! Written here rather than taken from `gem_version` 1.0: it reads a numeric
//! segment over `u32::MAX` as a string, so `1.99999999999 < 1.1`, where Ruby
//! (with bignums) says the opposite.

use std::cmp::Ordering;

use super::numeric::{cmp_digits, digit_runs};

/// A parsed RubyGems version: its canonical segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemVersion {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Digits without leading zeros (`""` is zero).
    Number(String),
    String(String),
}

impl GemVersion {
    /// Parses a gem version (surrounding whitespace allowed, as Ruby).
    ///
    /// # Errors
    /// A lower-case reason when the text does not match RubyGems' pattern.
    pub fn parse(text: &str) -> Result<GemVersion, String> {
        let body = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
        if body.is_empty() {
            return Err("empty".into());
        }
        let (head, tail) = match body.split_once('-') {
            Some((head, tail)) => (head, Some(tail)),
            None => (body, None),
        };
        let mut head_parts = head.split('.');
        let first = head_parts.next().unwrap_or_default();
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must start with digits".into());
        }
        if head_parts.any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err("each '.' part must be letters and digits".into());
        }
        if let Some(tail) = tail
            && tail
                .split('.')
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err("each part after '-' must be letters, digits and '-'".into());
        }
        let expanded = body.replace('-', ".pre.");
        let segments: Vec<Segment> = digit_runs(&expanded)
            .flat_map(|run| run.split(|c: char| !c.is_ascii_alphanumeric()))
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.bytes().all(|b| b.is_ascii_digit()) {
                    Segment::Number(s.trim_start_matches('0').to_owned())
                } else {
                    Segment::String(s.to_owned())
                }
            })
            .collect();
        Ok(GemVersion {
            segments: canonical(segments),
        })
    }

    /// Orders two versions as Ruby's `Gem::Version#<=>` does.
    pub fn compare(&self, other: &GemVersion) -> Ordering {
        let zero = Segment::Number(String::new());
        let len = self.segments.len().max(other.segments.len());
        for i in 0..len {
            let a = self.segments.get(i).unwrap_or(&zero);
            let b = other.segments.get(i).unwrap_or(&zero);
            let ord = match (a, b) {
                (Segment::Number(x), Segment::Number(y)) => cmp_digits(x, y),
                (Segment::String(x), Segment::String(y)) => x.cmp(y),
                (Segment::String(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::String(_)) => Ordering::Greater,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

/// `canonical_segments`: split at the first string segment, drop trailing
/// zeros from each half, join.
fn canonical(segments: Vec<Segment>) -> Vec<Segment> {
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::String(_)))
        .unwrap_or(segments.len());
    let mut numbers = segments;
    let mut rest = numbers.split_off(split);
    let is_zero = |s: &Segment| matches!(s, Segment::Number(n) if n.is_empty());
    while numbers.last().is_some_and(is_zero) {
        numbers.pop();
    }
    while rest.last().is_some_and(is_zero) {
        rest.pop();
    }
    numbers.extend(rest);
    numbers
}
