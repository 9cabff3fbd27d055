//! Finding secrets in text: a keyword prefilter picks the rules whose
//! words occur, each picked regex runs once over the text, and each match
//! passes the entropy floor and the allowlists before it is kept. Where
//! findings overlap, the more specific rule's is kept.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, Input};
use regex::bytes::{CaptureLocations, Regex, RegexBuilder};

use super::allow::{PLACEHOLDERS, is_placeholder_shape, shannon_entropy};
use super::mask::Masked;
use super::rules::{REGEX_RULES, RegexRule, RuleInfo};
use super::stopwords::GENERIC_STOPWORDS;
use super::{SecretsError, files, scanner};

/// Compiled size a rule's regex may take (`RegexBuilder::size_limit`); the
/// largest rule needs about a tenth of it.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache of each regex, per thread that uses it
/// (`RegexBuilder::dfa_size_limit`). Small, as there are ~40 rules and
/// several layers may be read at once; a search that outgrows it falls
/// back to a slower engine, still linear.
const DFA_SIZE_LIMIT: usize = 1 << 20;
/// Longest match a rule may make, in bytes: a secret is shorter (the
/// largest, a private key block, is about 12 KiB at 16,384 bits), and a
/// longer match (a value running on for a megabyte) is not one and would
/// cost time to take apart.
const MAX_MATCH_BYTES: usize = 64 << 10;
/// Findings [`scan_text`] returns for one text at most; the rest are
/// counted.
pub const MAX_FINDINGS_PER_TEXT: usize = 1_000;

/// A secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFinding {
    /// The rule that found it.
    pub rule: RuleInfo,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// The secret, masked.
    pub masked: Masked,
}

/// The secrets in `bytes`, the content of the file at `path` (an image
/// path, with or without its leading `/`; its name selects the credential
/// file parsers). Sorted by position; at most [`MAX_FINDINGS_PER_TEXT`].
/// Pure and bounded: linear in `bytes` for each rule whose keywords occur
/// (the regexes are small, see `docs/secrets.md`).
pub fn scan_text(path: &str, bytes: &[u8]) -> Vec<TextFinding> {
    scan(path, bytes, MAX_FINDINGS_PER_TEXT).findings
}

/// Rules that failed to compile, or the prefilter if it failed: empty
/// unless the rule table is broken (a test checks it). A broken rule finds
/// nothing; the others still run.
pub fn rule_errors() -> &'static [SecretsError] {
    &detector().errors
}

/// What [`scan`] found, and how many findings it dropped for the cap.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub findings: Vec<TextFinding>,
    pub dropped: u64,
}

/// [`scan_text`] with a cap on findings, counting those dropped.
pub(super) fn scan(path: &str, bytes: &[u8], cap: usize) -> Scan {
    let (_, third_party) = scanner::in_package_tree(path.trim_start_matches('/'));
    let mut hits = detector().hits(bytes, MAX_FINDINGS_PER_TEXT, third_party);
    hits.extend(files::file_hits(path, bytes));
    resolve(bytes, hits, cap)
}

/// The pattern rules' hits in `bytes`, overlaps not yet resolved.
pub(super) fn pattern_hits(bytes: &[u8]) -> Vec<Hit> {
    detector().hits(bytes, MAX_FINDINGS_PER_TEXT, false)
}

/// A candidate: the rule and the byte range of the secret.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub rule: RuleInfo,
    pub span: Range<usize>,
}

/// Keep the most specific of overlapping hits, then the first `cap` by
/// position, with line numbers and masks.
pub(super) fn resolve(bytes: &[u8], mut hits: Vec<Hit>, cap: usize) -> Scan {
    hits.sort_by_key(|h| (h.rule.priority, h.span.start, usize::MAX - h.span.end));
    // Kept spans, by start; they never overlap, so the one that starts
    // last before a span's end is the only one that can overlap it.
    let mut kept: BTreeMap<usize, (usize, RuleInfo)> = BTreeMap::new();
    for h in hits {
        let Range { start, end } = h.span;
        let end = end.max(start + 1);
        let overlaps = kept
            .range(..end)
            .next_back()
            .is_some_and(|(_, (e, _))| *e > start);
        if !overlaps {
            kept.insert(start, (end, h.rule));
        }
    }
    let dropped = kept.len().saturating_sub(cap) as u64;
    let mut lines = Lines::new(bytes);
    let findings = kept
        .into_iter()
        .take(cap)
        .map(|(start, (end, rule))| TextFinding {
            rule,
            line: lines.line_of(start),
            masked: Masked::new(bytes.get(start..end).unwrap_or_default()),
        })
        .collect();
    Scan { findings, dropped }
}

/// Line numbers of byte offsets, the newlines found once when first asked.
struct Lines<'a> {
    bytes: &'a [u8],
    newlines: Option<Vec<usize>>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            newlines: None,
        }
    }

    fn line_of(&mut self, offset: usize) -> usize {
        let bytes = self.bytes;
        let newlines = self.newlines.get_or_insert_with(|| {
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        newlines.partition_point(|&n| n < offset) + 1
    }
}

struct Compiled {
    regex: Regex,
    allow_secret: Vec<Regex>,
    allow_match: Vec<Regex>,
}

/// What a prefilter word stands for.
#[derive(Debug, Clone, Copy)]
enum Word {
    /// A keyword of rule `i`.
    Keyword(usize),
    /// The word rule `i` requires besides a keyword.
    Required(usize),
}

struct Detector {
    /// Per rule of [`REGEX_RULES`]; `None` if it did not compile.
    rules: Vec<Option<Compiled>>,
    /// Every keyword and required word, searched for in any case, and
    /// what each stands for. (Measured: faster than a lower-cased copy
    /// searched with SIMD, which the ~60 short words defeat.)
    prefilter: Option<(AhoCorasick, Vec<Word>)>,
    stopwords: Option<AhoCorasick>,
    placeholders: Option<AhoCorasick>,
    errors: Vec<SecretsError>,
}

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(Detector::build)
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
}

fn case_insensitive<I, P>(patterns: I) -> Result<AhoCorasick, aho_corasick::BuildError>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
}

impl Detector {
    fn build() -> Detector {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(REGEX_RULES.len());
        for rule in REGEX_RULES {
            let compiled = (|| -> Result<Compiled, regex::Error> {
                Ok(Compiled {
                    regex: compile(rule.regex)?,
                    allow_secret: rule
                        .allow_secret
                        .iter()
                        .map(|p| compile(p))
                        .collect::<Result<_, _>>()?,
                    allow_match: rule
                        .allow_match
                        .iter()
                        .map(|p| compile(p))
                        .collect::<Result<_, _>>()?,
                })
            })();
            rules.push(
                compiled
                    .map_err(|e| {
                        errors.push(SecretsError::RuleDoesNotCompile {
                            rule: rule.info.id,
                            message: e.to_string(),
                        });
                    })
                    .ok(),
            );
        }
        let mut words: Vec<&'static str> = Vec::new();
        let mut meaning: Vec<Word> = Vec::new();
        for (i, rule) in REGEX_RULES.iter().enumerate() {
            for k in rule.keywords {
                words.push(k);
                meaning.push(Word::Keyword(i));
            }
            if let Some(r) = rule.requires {
                words.push(r);
                meaning.push(Word::Required(i));
            }
        }
        let mut automaton = |what: &'static str, result| match result {
            Ok(ac) => Some(ac),
            Err(e) => {
                errors.push(SecretsError::Prefilter {
                    what,
                    message: format!("{e}"),
                });
                None
            }
        };
        let prefilter = automaton("keywords", case_insensitive(&words)).map(|ac| (ac, meaning));
        let stopwords = automaton(
            "stopwords",
            case_insensitive(GENERIC_STOPWORDS.split_ascii_whitespace()),
        );
        let placeholders = automaton("placeholders", case_insensitive(PLACEHOLDERS));
        Detector {
            rules,
            prefilter,
            stopwords,
            placeholders,
            errors,
        }
    }

    /// Which rules to run on `bytes`: a keyword occurs, and the required
    /// word if the rule has one.
    fn triggered(&self, bytes: &[u8]) -> Vec<bool> {
        let n = REGEX_RULES.len();
        let mut keyword = vec![false; n];
        let mut required = vec![false; n];
        let Some((ac, meaning)) = &self.prefilter else {
            return keyword;
        };
        let Ok(found) = ac.try_find_overlapping_iter(Input::new(bytes)) else {
            return keyword;
        };
        for m in found {
            match meaning.get(m.pattern().as_usize()) {
                Some(Word::Keyword(i)) => keyword[*i] = true,
                Some(Word::Required(i)) => required[*i] = true,
                None => {}
            }
        }
        (0..n)
            .map(|i| keyword[i] && (REGEX_RULES[i].requires.is_none() || required[i]))
            .collect()
    }

    /// Every accepted match of every triggered rule, at most `cap` per rule;
    /// in `third_party` code, the generic rules are not run.
    fn hits(&self, bytes: &[u8], cap: usize, third_party: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (i, run) in self.triggered(bytes).into_iter().enumerate() {
            if third_party && REGEX_RULES[i].generic {
                continue;
            }
            if let (true, Some(Some(compiled))) = (run, self.rules.get(i)) {
                self.rule_hits(&REGEX_RULES[i], compiled, bytes, cap, &mut hits);
            }
        }
        hits
    }

    fn rule_hits(
        &self,
        rule: &RegexRule,
        compiled: &Compiled,
        bytes: &[u8],
        cap: usize,
        hits: &mut Vec<Hit>,
    ) {
        let mut locations = compiled.regex.capture_locations();
        let mut at = 0;
        let mut accepted = 0;
        while at <= bytes.len() && accepted < cap {
            // The match alone first (a DFA, fast); its groups only for a
            // match of a sensible length, as finding groups is slower.
            let Some(m) = compiled.regex.find_at(bytes, at) else {
                break;
            };
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            if m.len() > MAX_MATCH_BYTES {
                continue;
            }
            let Some(m) = compiled
                .regex
                .captures_read_at(&mut locations, bytes, m.start())
            else {
                continue;
            };
            let span = secret_span(&locations, rule.secret_group)
                .unwrap_or_else(|| trim_newlines(bytes, m.range()));
            let secret = &bytes[span.clone()];
            let matched = if rule.name_before {
                &bytes[name_start(bytes, m.start())..m.end()]
            } else {
                m.as_bytes()
            };
            if self.accepts(rule, compiled, secret, matched) {
                hits.push(Hit {
                    rule: rule.info,
                    span,
                });
                accepted += 1;
            }
        }
    }

    fn accepts(
        &self,
        rule: &RegexRule,
        compiled: &Compiled,
        secret: &[u8],
        matched: &[u8],
    ) -> bool {
        if secret.is_empty() {
            return false;
        }
        if let Some(floor) = rule.entropy
            && shannon_entropy(secret) <= floor
        {
            return false;
        }
        if self.is_placeholder(secret)
            || compiled.allow_secret.iter().any(|r| r.is_match(secret))
            || compiled.allow_match.iter().any(|r| r.is_match(matched))
        {
            return false;
        }
        !(rule.stopwords
            && self
                .stopwords
                .as_ref()
                .is_some_and(|ac| ac.is_match(secret)))
    }

    /// Whether a value is a placeholder: it holds one of [`PLACEHOLDERS`],
    /// or is shaped like a variable or template (`$VAR`, `%VAR%`, `<token>`,
    /// `@VAR@`, `{0}`), a constant (`true`, `null`), or one byte repeated
    /// (gitleaks' global allowlist).
    fn is_placeholder(&self, secret: &[u8]) -> bool {
        if self
            .placeholders
            .as_ref()
            .is_some_and(|ac| ac.is_match(secret))
        {
            return true;
        }
        is_placeholder_shape(secret)
    }
}

/// Whether a value is a placeholder (see `docs/secrets.md`): used by the
/// credential file and configuration checks too.
pub(super) fn is_placeholder(secret: &[u8]) -> bool {
    detector().is_placeholder(secret)
}

/// The span of the secret group: group `n`, or with 0 the first non-empty
/// group; `None` when the regex has no groups (the match is the secret).
fn secret_span(locations: &CaptureLocations, group: usize) -> Option<Range<usize>> {
    if group > 0 {
        return locations.get(group).map(|(s, e)| s..e);
    }
    (1..locations.len())
        .filter_map(|g| locations.get(g))
        .find(|(s, e)| e > s)
        .map(|(s, e)| s..e)
}

/// Where gitleaks' `[\w.-]{0,50}?` would have begun a match that starts at
/// `start`: up to 50 name bytes back.
fn name_start(bytes: &[u8], start: usize) -> usize {
    let floor = start.saturating_sub(50);
    let mut s = start;
    while s > floor
        && matches!(bytes[s - 1], b'_' | b'.' | b'-' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
    {
        s -= 1;
    }
    s
}

/// gitleaks trims newlines off a whole-match secret.
fn trim_newlines(bytes: &[u8], mut span: Range<usize>) -> Range<usize> {
    while span.start < span.end && bytes[span.start] == b'\n' {
        span.start += 1;
    }
    while span.end > span.start && bytes[span.end - 1] == b'\n' {
        span.end -= 1;
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        assert!(rule_errors().is_empty(), "{:?}", rule_errors());
    }

    #[test]
    fn rule_ids_are_unique_and_keywords_lower_case() {
        let mut ids: Vec<&str> = super::super::rules::all_rules().map(|r| r.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for r in REGEX_RULES {
            for k in r.keywords.iter().chain(r.requires.iter()) {
                assert_eq!(*k, k.to_ascii_lowercase(), "{}", r.info.id);
            }
        }
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "${NPM_TOKEN}",
            "$NPM_TOKEN",
            "<token>",
            "%API_KEY%",
            "@TOKEN@",
            "{0}",
            "changeme",
            "xxxxxxxxxxxx",
            "your_api_key_here",
            "null",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        assert!(!is_placeholder(b"q8Vz3kR1tY6wP0mN"));
    }

    #[test]
    fn overlapping_findings_keep_the_more_specific_rule() {
        let token = ["npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"].concat();
        let text = format!("//registry.npmjs.org/:_authToken={token}\n");
        let found = scan_text("/root/.npmrc", text.as_bytes());
        assert_eq!(
            found.iter().map(|f| f.rule.id).collect::<Vec<_>>(),
            ["npm-access-token"]
        );
    }
}
