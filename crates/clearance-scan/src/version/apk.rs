//! apk versions (Alpine, Wolfi, Chainguard), after apk-tools 3's
//! `src/version.c`: `digits{.digits}…{letter}{_suffix{digits}}…{~hash}{-rN}`.
//!
//! No crate implements this order, so it is written here from apk-tools' rules
//! (checked by hand against the ordering cases of its `test/unit/version.data`):
//!
//! - tokens, in the only order they may follow each other: the first number;
//!   `.`-numbers; one lower-case letter; `_`-suffixes (exactly `alpha`,
//!   `beta`, `pre`, `rc`, `cvs`, `svn`, `git`, `hg`, `p`), each with an
//!   optional number; `~` and a hexadecimal commit hash; `-r` and the
//!   revision number.
//! - equal kinds compare by value: numbers numerically, except that a
//!   `.`-number with a leading zero in either version compares as text
//!   (`1.0.1 < 1.06`, `8.2.0015 < 8.2.002`); letters and hashes as text;
//!   suffixes `_alpha < _beta < _pre < _rc` < no suffix < `_cvs < _svn < _git
//!   < _hg < _p`.
//! - when one version goes on with a token kind the other does not have at
//!   that place, the one going on with a pre-release suffix is older;
//!   otherwise the kind that comes earlier in the order above is newer
//!   (`1.2.3.1 > 1.2.3a > 1.2.3_p1 > 1.2.3-r1 > 1.2.3 > 1.2.3_rc1`).
//!
//! apk-tools 2 (Alpine up to 3.22) differs in two corners this code does not
//! follow: it orders a `.`-number with leading zeros by a count of the zeros
//! (so it says `1.0.1 > 1.06`), and it accepts digits after the letter.

use std::cmp::Ordering;

use super::numeric::cmp_digits;

/// A parsed apk version: its token list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion {
    tokens: Vec<Token>,
}

/// Kinds of token, in apk-tools' order (the enum's order matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialNumber,
    DotNumber,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    Revision,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: Kind,
    /// The token's text: digits, the letter, the suffix name, the hash.
    text: String,
}

/// Suffix names by rank; the release (no suffix) ranks between `rc` and `cvs`.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const RELEASE_RANK: usize = 4;

fn suffix_rank(name: &str) -> usize {
    // Every stored suffix name is one of SUFFIXES (checked when parsed).
    let i = SUFFIXES
        .iter()
        .position(|s| *s == name)
        .unwrap_or(RELEASE_RANK);
    if i >= RELEASE_RANK { i + 1 } else { i }
}

impl ApkVersion {
    /// Parses an apk version.
    ///
    /// # Errors
    /// A lower-case reason naming the first thing apk-tools' grammar does not
    /// allow.
    pub fn parse(text: &str) -> Result<ApkVersion, String> {
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let mut tokens = Vec::new();
        let n = digits(text);
        if n == 0 {
            return Err("must start with a digit".into());
        }
        tokens.push(Token {
            kind: Kind::InitialNumber,
            text: text[..n].to_owned(),
        });
        let mut rest = &text[n..];
        let mut last = Kind::InitialNumber;
        while let Some(c) = rest.chars().next() {
            let (kind, body, taken) = match c {
                '.' if last <= Kind::DotNumber => {
                    let n = digits(&rest[1..]);
                    if n == 0 {
                        return Err("'.' must be followed by digits".into());
                    }
                    (Kind::DotNumber, &rest[1..1 + n], 1 + n)
                }
                'a'..='z' if last <= Kind::DotNumber => (Kind::Letter, &rest[..1], 1),
                '_' if last <= Kind::SuffixNumber => {
                    let n = rest[1..].bytes().take_while(u8::is_ascii_lowercase).count();
                    let name = &rest[1..1 + n];
                    if !SUFFIXES.contains(&name) {
                        return Err(format!("unknown suffix {name:?}"));
                    }
                    tokens.push(Token {
                        kind: Kind::Suffix,
                        text: name.to_owned(),
                    });
                    let m = digits(&rest[1 + n..]);
                    if m > 0 {
                        tokens.push(Token {
                            kind: Kind::SuffixNumber,
                            text: rest[1 + n..1 + n + m].to_owned(),
                        });
                    }
                    last = if m > 0 {
                        Kind::SuffixNumber
                    } else {
                        Kind::Suffix
                    };
                    rest = &rest[1 + n + m..];
                    continue;
                }
                '~' if last < Kind::CommitHash => {
                    let n = rest[1..].bytes().take_while(u8::is_ascii_hexdigit).count();
                    if n == 0 {
                        return Err("'~' must be followed by a hexadecimal hash".into());
                    }
                    (Kind::CommitHash, &rest[1..1 + n], 1 + n)
                }
                '-' if last < Kind::Revision && rest[1..].starts_with('r') => {
                    let n = digits(&rest[2..]);
                    if n == 0 {
                        return Err("'-r' must be followed by digits".into());
                    }
                    (Kind::Revision, &rest[2..2 + n], 2 + n)
                }
                _ => return Err(format!("{c:?} is not allowed here")),
            };
            tokens.push(Token {
                kind,
                text: body.to_owned(),
            });
            last = kind;
            rest = &rest[taken..];
        }
        Ok(ApkVersion { tokens })
    }

    /// Orders two versions as `apk version -t` does.
    pub fn compare(&self, other: &ApkVersion) -> Ordering {
        let end = Token {
            kind: Kind::End,
            text: String::new(),
        };
        let len = self.tokens.len().max(other.tokens.len());
        for i in 0..=len {
            let a = self.tokens.get(i).unwrap_or(&end);
            let b = other.tokens.get(i).unwrap_or(&end);
            if a.kind != b.kind {
                // "the non-terminating version is greater unless it's a
                // suffix indicating pre-release"
                if is_pre_release(a) {
                    return Ordering::Less;
                }
                if is_pre_release(b) {
                    return Ordering::Greater;
                }
                return b.kind.cmp(&a.kind);
            }
            let ord = match a.kind {
                Kind::End => return Ordering::Equal,
                Kind::DotNumber if a.text.starts_with('0') || b.text.starts_with('0') => {
                    a.text.cmp(&b.text)
                }
                Kind::InitialNumber | Kind::DotNumber | Kind::SuffixNumber | Kind::Revision => {
                    cmp_digits(&a.text, &b.text)
                }
                Kind::Suffix => suffix_rank(&a.text).cmp(&suffix_rank(&b.text)),
                Kind::Letter | Kind::CommitHash => a.text.cmp(&b.text),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

fn is_pre_release(t: &Token) -> bool {
    t.kind == Kind::Suffix && suffix_rank(&t.text) < RELEASE_RANK
}
