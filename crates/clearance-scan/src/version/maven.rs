//! Maven versions, ordered by the POM reference's "Version Order
//! Specification" (<https://maven.apache.org/pom.html#version-order-specification>),
//! which Maven's `ComparableVersion` implements and OSV's Maven records assume.
//!
//! - The text is split into tokens at `.`, at `-`, and at every change between
//!   digits and non-digits (which counts as a `-`); each token keeps the
//!   separator before it. An empty token is `0`. Qualifiers are
//!   case-insensitive; `cr` is `rc`; `ga`, `final` and `release` are the empty
//!   qualifier; `a`, `b`, `m` directly followed by a number are `alpha`,
//!   `beta`, `milestone`.
//! - Trailing "null" tokens (`0`, the empty qualifier) are trimmed from the
//!   end, and again before each remaining `-`, from the end to the start:
//!   `1.0.0` → `1`, `1.0.0-foo.0.0` → `1-foo`.
//! - Tokens are compared in turn; the shorter list is padded with nulls
//!   (`0` after `.`, the empty qualifier after `-`). With the same separator,
//!   numbers compare numerically, qualifiers as `alpha < beta < milestone < rc
//!   < snapshot < "" < sp` and then any other qualifier alphabetically, and a
//!   number is newer than a qualifier. With different separators,
//!   `.qualifier = -qualifier < -number < .number` (the specification's
//!   current wording, and what Maven 3.8.7's `ComparableVersion` answers:
//!   `1-alpha < 1 < 1.sp`).
//!
//! Written here (as DESIGN plans): the only crate, `mvn_version`, had one
//! release in 2021 and pulls num-bigint. A padded null meeting a qualifier is
//! the empty qualifier, as in `ComparableVersion` (so `1.sp > 1` and
//! `1.alpha < 1`). OSV's Python port differs in two corners: it ranks
//! `.qualifier` below `-qualifier`, and reads a padded null against a
//! qualifier as the text `0` (so it says `1.sp < 1`); which, with its
//! separator rule, makes its order cyclic (`1.sp < 1-alpha < 1 < 1.sp`).

use std::cmp::Ordering;

use super::numeric::{cmp_digits, is_digits};

/// A parsed Maven version: its trimmed token list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenVersion {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Dot,
    Dash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros (`""` is zero).
    Number(String),
    /// A lower-case qualifier after aliasing (`""` is the release).
    Qualifier(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    sep: Sep,
    item: Item,
}

/// Qualifiers with a fixed rank; the release (`""`) has rank 5.
const KNOWN: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

impl Token {
    fn is_null(&self) -> bool {
        match &self.item {
            Item::Number(n) => n.is_empty(),
            Item::Qualifier(q) => q.is_empty(),
        }
    }
}

impl MavenVersion {
    /// Parses a Maven version. Any text of printable ASCII without whitespace
    /// is a Maven version; only empty text and other characters are refused.
    ///
    /// # Errors
    /// A lower-case reason.
    pub fn parse(text: &str) -> Result<MavenVersion, String> {
        if text.is_empty() {
            return Err("empty".into());
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!("character {c:?} is not allowed"));
        }
        let lower = text.to_ascii_lowercase();
        let mut tokens = Vec::new();
        for (sep, part) in parts(&lower) {
            let runs: Vec<&str> = super::numeric::digit_runs(part).collect();
            if runs.is_empty() {
                tokens.push(Token {
                    sep,
                    item: Item::Number(String::new()),
                });
                continue;
            }
            for (j, run) in runs.iter().enumerate() {
                let followed_by_digit = runs.get(j + 1).is_some();
                let item = item(run, followed_by_digit);
                // "a transition between digits and characters is equivalent
                // to a hyphen"; and, as Maven reads it, so is a `.` before a
                // qualifier (`1.0.RC2` is `1-rc-2`), which also lets the
                // null before it be trimmed.
                let sep = if j > 0 || (matches!(item, Item::Qualifier(_)) && !tokens.is_empty()) {
                    Sep::Dash
                } else {
                    sep
                };
                tokens.push(Token { sep, item });
            }
        }
        trim_nulls(&mut tokens);
        Ok(MavenVersion { tokens })
    }

    /// Orders two versions by the Version Order Specification.
    pub fn compare(&self, other: &MavenVersion) -> Ordering {
        let len = self.tokens.len().max(other.tokens.len());
        for i in 0..len {
            let ord = match (self.tokens.get(i), other.tokens.get(i)) {
                (Some(a), Some(b)) => cmp_token(a, b),
                (Some(a), None) => cmp_to_null(a),
                (None, Some(b)) => cmp_to_null(b).reverse(),
                (None, None) => Ordering::Equal,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

/// `s` split at `.` and `-`, each part with the separator before it (the
/// first part counts as after a `.`).
fn parts(s: &str) -> Vec<(Sep, &str)> {
    let mut out = Vec::new();
    let mut sep = Sep::Dot;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'.' || b == b'-' {
            out.push((sep, s.get(start..i).unwrap_or_default()));
            sep = if b == b'-' { Sep::Dash } else { Sep::Dot };
            start = i + 1;
        }
    }
    out.push((sep, s.get(start..).unwrap_or_default()));
    out
}

fn item(run: &str, followed_by_digit: bool) -> Item {
    if is_digits(run) {
        return Item::Number(run.trim_start_matches('0').to_owned());
    }
    let q = match run {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "cr" => "rc",
        "ga" | "final" | "release" => "",
        other => other,
    };
    Item::Qualifier(q.to_owned())
}

/// "starting from the end of the version, the trailing null values are
/// trimmed. This process is repeated at each remaining hyphen from end to
/// start." The first token is always kept.
fn trim_nulls(tokens: &mut Vec<Token>) {
    let mut i = tokens.len();
    while i > 1 {
        if tokens.get(i - 1).is_some_and(Token::is_null) {
            tokens.remove(i - 1);
            i -= 1;
            continue;
        }
        // Skip back over this `-`-group to the token before its hyphen.
        while i > 0 && tokens.get(i - 1).is_some_and(|t| t.sep != Sep::Dash) {
            i -= 1;
        }
        i = i.saturating_sub(1);
    }
}

fn qualifier_rank(q: &str) -> usize {
    KNOWN.iter().position(|k| *k == q).unwrap_or(KNOWN.len())
}

fn cmp_qualifiers(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (qualifier_rank(a), qualifier_rank(b));
    if ra == KNOWN.len() && rb == KNOWN.len() {
        a.cmp(b)
    } else {
        ra.cmp(&rb)
    }
}

fn cmp_token(a: &Token, b: &Token) -> Ordering {
    match (&a.item, &b.item) {
        // ".qualifier" = "-qualifier": Maven reads `1.sp` as `1-sp`.
        (Item::Qualifier(x), Item::Qualifier(y)) => cmp_qualifiers(x, y),
        (Item::Number(x), Item::Number(y)) if a.sep == b.sep => cmp_digits(x, y),
        // "-number" < ".number"
        (Item::Number(_), Item::Number(_)) => {
            if a.sep == Sep::Dash {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        // a qualifier is older than a number
        (Item::Number(_), Item::Qualifier(_)) => Ordering::Greater,
        (Item::Qualifier(_), Item::Number(_)) => Ordering::Less,
    }
}

/// `t` against the null the other list is padded with (same separator): a
/// number against `0`, a qualifier against the release qualifier `""`.
fn cmp_to_null(t: &Token) -> Ordering {
    match &t.item {
        Item::Number(n) => cmp_digits(n, ""),
        Item::Qualifier(q) => cmp_qualifiers(q, ""),
    }
}
