//! Repository patterns of access rules: `team/*`, `mirror/**`, `library/alpine`.
//!
//! `*` matches within one path segment (never a `/`), `**` matches across
//! segments, every other character is literal. Matching is a dynamic programme
//! over pattern and name, so no pattern can make it exponential.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::name::{MAX_NAME_LEN, excerpt};

/// A glob over repository names, checked when built.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `*`: any run of characters without `/`.
    Star,
    /// `**`: any run of characters.
    Globstar,
}

/// Why a repository pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository pattern {pattern:?}: {reason}")]
pub struct PatternError {
    /// The refused pattern, shortened when long.
    pub pattern: String,
    /// What rule it broke.
    pub reason: PatternRule,
}

/// The rule of the pattern syntax a refused pattern broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatternRule {
    #[error("the pattern is empty")]
    Empty,
    #[error("the pattern is longer than 255 characters")]
    TooLong,
    #[error("use '*' or '**', not three stars or more")]
    ThreeStars,
    #[error("only lower-case letters, digits, '.', '_', '-', ':', '/' and '*' are allowed")]
    Character,
}

impl Pattern {
    /// Parses a pattern made of lower-case letters, digits, `.`, `_`, `-`,
    /// `:` (for a registry's port), `/` and the wildcards `*` and `**`.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let refuse = |reason| PatternError {
            pattern: excerpt(text),
            reason,
        };
        if text.is_empty() {
            return Err(refuse(PatternRule::Empty));
        }
        if text.len() > MAX_NAME_LEN {
            return Err(refuse(PatternRule::TooLong));
        }
        if text.contains("***") {
            return Err(refuse(PatternRule::ThreeStars));
        }
        let bytes = text.as_bytes();
        let mut tokens = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'*' if bytes.get(i + 1) == Some(&b'*') => {
                    tokens.push(Token::Globstar);
                    i += 2;
                    continue;
                }
                b'*' => tokens.push(Token::Star),
                b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b':' | b'/' => {
                    tokens.push(Token::Byte(b))
                }
                _ => {
                    return Err(refuse(PatternRule::Character));
                }
            }
            i += 1;
        }
        Ok(Pattern {
            source: text.to_owned(),
            tokens,
        })
    }

    /// Whether `name` matches the whole pattern: a dynamic programme over
    /// (token, name position), `tokens × (name length + 1)` cells whatever
    /// the stars, so no input backtracks.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.as_bytes();
        // row[j]: the tokens seen so far match name[..j].
        let mut row = vec![false; name.len() + 1];
        row[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; name.len() + 1];
            match *token {
                Token::Byte(b) => {
                    for (j, &c) in name.iter().enumerate() {
                        next[j + 1] = row[j] && c == b;
                    }
                }
                Token::Star | Token::Globstar => {
                    let crosses = *token == Token::Globstar;
                    next[0] = row[0];
                    for (j, &c) in name.iter().enumerate() {
                        next[j + 1] = row[j + 1] || (next[j] && (crosses || c != b'/'));
                    }
                }
            }
            row = next;
        }
        row[name.len()]
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl TryFrom<String> for Pattern {
    type Error = PatternError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Pattern::parse(&text)
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(name)
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(matches("library/alpine", "library/alpine"));
        assert!(!matches("library/alpine", "library/alpine2"));
        assert!(!matches("library/alpine", "library"));
        assert!(!matches("a.b", "axb"));
    }

    #[test]
    fn star_stays_within_one_segment() {
        assert!(matches("team/*", "team/app"));
        assert!(!matches("team/*", "team/app/sub"));
        assert!(!matches("team/*", "other/app"));
        assert!(matches("team/*-dev", "team/app-dev"));
        assert!(!matches("team/*-dev", "team/app/x-dev"));
        assert!(matches("*/app", "team/app"));
        assert!(!matches("*", "a/b"));
        assert!(matches("*", "a"));
    }

    #[test]
    fn globstar_crosses_segments() {
        assert!(matches("team/**", "team/app"));
        assert!(matches("team/**", "team/app/sub/deep"));
        assert!(!matches("team/**", "teams/app"));
        assert!(matches("**", "anything/at/all"));
        assert!(matches("**/base", "org/images/base"));
        assert!(!matches("**/base", "org/images/base2"));
    }

    #[test]
    fn patterns_may_name_a_registry_port() {
        assert!(matches("localhost:5000/team/*", "localhost:5000/team/app"));
        assert!(!matches("localhost:5000/team/*", "localhost:5001/team/app"));
        assert!(!matches("localhost:5000/team/*", "localhost/team/app"));
        assert!(matches("*/team/app", "localhost:5000/team/app"));
    }

    /// The meaning of a pattern, written the obvious (backtracking) way:
    /// only for short inputs.
    fn reference(tokens: &[Token], name: &[u8]) -> bool {
        match tokens.split_first() {
            None => name.is_empty(),
            Some((Token::Byte(b), rest)) => name.first() == Some(b) && reference(rest, &name[1..]),
            Some((star, rest)) => (0..=name.len())
                .take_while(|&k| *star == Token::Globstar || !name[..k].contains(&b'/'))
                .any(|k| reference(rest, &name[k..])),
        }
    }

    /// The matcher agrees with the obvious reading on every pattern and
    /// name over a small alphabet (a wrong DP cell fails it).
    #[test]
    fn the_matcher_agrees_with_the_obvious_reading() {
        let alphabet = ["a", "/", "*", "**"];
        let names: Vec<String> = (0..4u32)
            .flat_map(|len| {
                (0..2usize.pow(len)).map(move |bits| {
                    (0..len)
                        .map(|i| if bits >> i & 1 == 1 { '/' } else { 'a' })
                        .collect::<String>()
                })
            })
            .collect();
        let mut checked = 0;
        for len in 1..=4u32 {
            for code in 0..alphabet.len().pow(len) {
                let text: String = (0..len)
                    .map(|i| alphabet[code / alphabet.len().pow(i) % alphabet.len()])
                    .collect();
                let Ok(pattern) = Pattern::parse(&text) else {
                    continue;
                };
                for name in &names {
                    assert_eq!(
                        pattern.matches(name),
                        reference(&pattern.tokens, name.as_bytes()),
                        "{text} on {name:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// Review A.6: patterns a backtracking matcher needs exponential time
    /// for are answered by the DP (tokens × name length cells).
    #[test]
    fn many_stars_stay_fast() {
        for text in [
            "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab",
            "**a**a**a**a**a**a**a**a**a**a**a**a**ab",
            "*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/x",
        ] {
            let pattern = Pattern::parse(text).unwrap();
            for name in ["a".repeat(250), "a/".repeat(125), "a/".repeat(62)] {
                assert!(!pattern.matches(&name), "{text} {name}");
            }
        }
    }

    #[test]
    fn refuses_bad_patterns() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for (text, reason) in [
            ("", PatternRule::Empty),
            (long.as_str(), PatternRule::TooLong),
            ("Team/*", PatternRule::Character),
            ("team/***", PatternRule::ThreeStars),
            ("a b", PatternRule::Character),
            ("team/?", PatternRule::Character),
        ] {
            let err = Pattern::parse(text).unwrap_err();
            assert_eq!(err.reason, reason, "{text:?}");
            assert_eq!(err.pattern, excerpt(text), "{text:?}");
        }
    }

    #[test]
    fn deserializes_from_a_string() {
        let p: Pattern = serde_json::from_str("\"team/*\"").unwrap();
        assert_eq!(p.as_str(), "team/*");
        assert!(serde_json::from_str::<Pattern>("\"Team\"").is_err());
    }
}
